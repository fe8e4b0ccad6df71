"""How every ``mrrml`` command reads its options: jsonargparse over typed functions, as ``mrrml fit`` does.

A command is a typed function whose docstring is its help. Its options come from its signature;
a parameter typed as a dataclass becomes a dotted group (``--grader.base_url``). So every command
takes ``-c/--config FILE`` (YAML with OmegaConf ``${...}`` interpolation, in the ``omegaconf`` parser
mode that ``mrrml fit`` uses too) and ``--print_config``, whose output is itself a config file.

Two things happen to argv before jsonargparse sees it:

* a boolean option given bare (``--quiet``) means ``--quiet true``, as the earlier flags did;
* command lines written for the earlier argparse spellings still run: a renamed option is
  rewritten, with a note on stderr naming the new spelling; a removed one stops with a message
  that says what to write instead.
"""

from __future__ import annotations

import inspect
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Optional

from docstring_parser import parse as parse_docstring
from jsonargparse import ActionConfigFile, ArgumentParser

PARSER_MODE = "omegaconf"
CONFIG_HELP = "YAML config file (--print_config writes one; ${...} interpolation allowed); options after it override it"
BOOL_WORDS = frozenset({"true", "false", "yes", "no", "null"})


@dataclass(frozen=True)
class Renamed:
    """What an earlier option spelling is now.

    ``to``: the option(s) that take its value. ``value``: for an earlier flag without a value, the
    value it stands for. ``announce``: False for short aliases that stay (no note printed).
    """

    to: tuple[str, ...]
    value: str | None = None
    announce: bool = True


@dataclass(frozen=True)
class Removed:
    """An earlier option with no direct replacement; ``hint`` says what to write instead."""

    hint: str


Spellings = Mapping[str, Renamed | Removed]


@dataclass(frozen=True)
class Command:
    """One command: the typed function that runs it and the earlier spellings of its options.

    ``spellings`` may be a function of argv where an old option's meaning depended on another
    option. ``variadic`` names a list parameter given as trailing positionals (``FILE...``).
    ``short_config`` adds ``-c`` for ``--config`` (off where ``-c`` already meant something else).
    """

    function: Callable[..., int]
    spellings: Spellings | Callable[[list[str]], Spellings] = field(default_factory=dict)
    variadic: str | None = None
    short_config: bool = True

    def spellings_for(self, argv: list[str]) -> Spellings:
        return self.spellings(argv) if callable(self.spellings) else self.spellings

    def summary(self) -> str:
        return parse_docstring(inspect.getdoc(self.function) or "").short_description or ""


def build_parser(command: Command, prog: str) -> ArgumentParser:
    """The jsonargparse parser of ``command``: its signature and docstring, plus ``--config``."""
    doc = parse_docstring(inspect.getdoc(command.function) or "")
    description = "\n\n".join(p for p in (doc.short_description, doc.long_description) if p)
    parser = ArgumentParser(prog=prog, description=description, parser_mode=PARSER_MODE)
    parser.add_argument(
        *(["-c"] if command.short_config else []), "--config", action=ActionConfigFile, help=CONFIG_HELP
    )
    skip = {command.variadic} if command.variadic else set()
    parser.add_function_arguments(command.function, as_group=False, as_positional=True, skip=skip)
    if command.variadic:
        help_ = next(p.description for p in doc.params if p.arg_name == command.variadic)
        parser.add_argument(command.variadic, nargs="+", type=str, help=help_)
    return parser


def run_command(prog: str, command: Command, argv: list[str]) -> int:
    """Parse ``argv`` for ``command`` (config files, earlier spellings) and run it."""
    parser = build_parser(command, prog)
    config = parser.parse_args(modernize(argv, parser, command.spellings_for(argv), prog))
    values = parser.instantiate_classes(config)  # option groups become their dataclasses
    return int(command.function(**{name: values[name] for name in inspect.signature(command.function).parameters}) or 0)


def run_group(prog: str, description: str, commands: Mapping[str, Command], argv: list[str]) -> int:
    """A command with sub-commands (``mrrml standards validate ...``): pick one, then run it."""
    if not argv or argv[0] in ("-h", "--help"):
        print(group_usage(prog, description, commands), file=sys.stdout if argv else sys.stderr)
        return 0 if argv else 2
    name, rest = argv[0], argv[1:]
    if name not in commands:
        print(f"{prog}: unknown command '{name}'\n\n{group_usage(prog, description, commands)}", file=sys.stderr)
        return 2
    return run_command(f"{prog} {name}", commands[name], rest)


def group_usage(prog: str, description: str, commands: Mapping[str, Command]) -> str:
    width = max(map(len, commands))
    lines = [f"usage: {prog} COMMAND [OPTIONS]", "", description, "", "commands:"]
    lines += [f"  {name:<{width}}  {command.summary()}" for name, command in commands.items()]
    lines += ["", f"Run '{prog} COMMAND --help' for a command's options."]
    return "\n".join(lines)


# ------------------------------------------------------------------------------ argv rewriting
def modernize(argv: list[str], parser: ArgumentParser, spellings: Spellings, prog: str) -> list[str]:
    """``argv`` in today's spelling: earlier option names rewritten, bare booleans given ``true``."""
    options: dict[str, Any] = parser._option_string_actions
    out: list[str] = []
    notes: list[str] = []
    rest = list(argv)
    while rest:
        token = rest.pop(0)
        if token == "--":
            out += [token, *rest]
            break
        if not _is_option(token):
            out.append(token)
            continue
        name, eq, value = token.partition("=")
        # An earlier spelling wins over a group's own option of the same name (``--data X`` named
        # the dataset before; today ``--data`` alone would load a config file for the data group).
        change = spellings.get(name) or (None if name in options else _underscored(name, options))
        if isinstance(change, Removed):
            parser.error(f"{name} is no longer an option of {prog}: {change.hint}")
        if change is not None:
            if change.announce:
                notes.append(f"{name}{f' {change.value}' if change.value else ''} -> {_spelled(change)}")
            if change.value is not None or len(change.to) > 1:
                given = [change.value] if change.value is not None else [value] if eq else rest[:1]
                if change.value is None and not eq:
                    del rest[:1]
                out += [part for new in change.to for part in (new, *given)]
                continue
            name = change.to[0]
        out.append(f"{name}={value}" if eq else name)
        if not eq and _is_bool(options.get(name)) and not (rest and rest[0].lower() in BOOL_WORDS):
            out.append("true")
    if notes:
        print(f"{prog}: note: earlier option spellings rewritten: {'; '.join(notes)}", file=sys.stderr)
    return out


def _spelled(change: Renamed) -> str:
    return " and ".join(f"{new} {change.value}" if change.value else new for new in change.to)


def _is_option(token: str) -> bool:
    if not token.startswith("-") or token == "-":
        return False
    try:
        float(token)
    except ValueError:
        return True
    return False  # a negative number is a value


def _underscored(name: str, options: Mapping[str, Any]) -> Renamed | None:
    """``--max-batch`` for ``--max_batch``: the earlier argparse commands spelled words with dashes."""
    if not name.startswith("--"):
        return None
    candidate = "--" + name[2:].replace("-", "_")
    return Renamed((candidate,)) if candidate in options else None


def _is_bool(action: Any) -> bool:
    return getattr(action, "_typehint", None) in (bool, Optional[bool])  # noqa: UP045 (a runtime typing object)
