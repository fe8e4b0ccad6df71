"""Every command line the README, docs/ and examples/ show uses today's option names.

Earlier spellings still run (rewritten with a note), so a stale page would go unnoticed by users
until the rewriting is retired; this reads each shown ``mrrml COMMAND ...`` line and checks its
options against the command's parser. ``fit``-family and ``demo`` lines go through Lightning's parser
and are run by their own tests.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from mrrml.cli._parsing import build_parser
from tests.cli.test_parsing import _commands
from tests.conftest import REPO_ROOT

PAGES = [
    REPO_ROOT / "README.md",
    *sorted((REPO_ROOT / "docs").glob("*.md")),
    *sorted((REPO_ROOT / "examples").glob("*")),
]
INVOCATION = re.compile(r'(?:^|[\s;&|(])(?:mrrml|"\$MRRML"|\$MRRML)\s+(.*)')


def shell_text(page: Path) -> str:
    """A script whole; of a page, the lines of its shell code blocks."""
    text = page.read_text(encoding="utf-8")
    if page.suffix != ".md":
        return text
    kept, language = [], None
    for line in text.splitlines():
        if line.startswith("```"):
            language = None if language is not None else line[3:].strip()
        elif language in ("", "bash", "sh", "console"):
            kept.append(line)
    return "\n".join(kept)


def command_lines() -> list[tuple[str, int, list[str]]]:
    """(page, line, argv after ``mrrml``) for every invocation, continuation lines joined."""
    found = []
    for page in PAGES:
        if not page.is_file() or page.suffix not in (".md", ".sh"):
            continue
        lines = shell_text(page).replace("\\\n", " ").splitlines()
        for number, line in enumerate(lines, 1):
            match = INVOCATION.search(line.split(" #")[0])
            if not match:
                continue
            try:
                argv = shlex.split(match.group(1), comments=True)
            except ValueError:
                continue  # not a shell line (prose quoting a command)
            cut = next((i for i, token in enumerate(argv) if token in ("|", "||", "&&", ">", "&", ";")), len(argv))
            found.append((page.relative_to(REPO_ROOT).as_posix(), number, argv[:cut]))
    return found


def resolve(argv: list[str]) -> tuple[str, list[str]] | None:
    commands = _commands()
    for width in (2, 1):
        name = " ".join(argv[:width])
        if name in commands:
            return name, argv[width:]
    return None


LINES = [(page, number, argv) for page, number, argv in command_lines() if resolve(argv)]


def test_the_pages_show_command_lines():
    pages = {page for page, _, _ in LINES}
    assert {"README.md", "docs/cli.md"} <= pages and len(LINES) >= 20, pages


@pytest.mark.parametrize(("page", "number", "argv"), LINES, ids=[f"{p}:{n}" for p, n, _ in LINES])
def test_a_shown_command_line_uses_todays_options(page, number, argv):
    name, rest = resolve(argv)
    command = _commands()[name]
    parser = build_parser(command, f"mrrml {name}")
    known = set(parser._option_string_actions)
    earlier = command.spellings_for(rest)
    for token in rest:
        if not token.startswith("--"):
            continue
        option = token.split("=", 1)[0]
        assert option not in earlier, f"{page}:{number}: mrrml {name} {option} is an earlier spelling"
        assert option in known, f"{page}:{number}: mrrml {name} has no option {option}"
