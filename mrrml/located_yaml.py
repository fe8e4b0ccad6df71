"""YAML read with a position for every key and value, validated with every problem reported at once.

Files that people other than programmers write — standards matrices, the synthetic generator's
clinical content — must report every mistake in one run, each as ``file:line: key.path: message``.
``yaml.safe_load`` cannot do that: it forgets line numbers and silently keeps the last of two
duplicate keys. So we *compose* the document with the safe loader into a node tree, which keeps a
position for every key and value, and walk it with :class:`LocatedReader`, collecting
:class:`~mrrml.errors.Problem` objects instead of stopping at the first. A loader subclasses the
reader with its own sections and checks; the node readers here return ``None`` (or :data:`MISSING`)
after recording a problem, so a walk always finishes.
"""

from __future__ import annotations

import contextlib
import difflib
import re
import string
from collections.abc import Sequence
from dataclasses import dataclass
from os import PathLike
from pathlib import Path
from typing import Any

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from .errors import DocumentError, Problem

ID_PATTERN = r"^[a-z][a-z0-9_]*$"
_ID_RE = re.compile(ID_PATTERN)
MISSING: Any = object()
"""What :meth:`LocatedReader.scalar` returns for an absent or ill-typed value (a problem is recorded)."""


@dataclass(frozen=True)
class Section:
    """The keys one YAML mapping accepts (with a one-line description each) and which are required."""

    title: str
    keys: dict[str, str]
    required: tuple[str, ...]


def read_source(path: str | PathLike[str], error: type[DocumentError], what: str) -> str:
    """The text of ``path``; an unreadable file raises ``error`` naming it (``cannot read the <what> file``)."""
    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise error([Problem(str(path), None, "", f"cannot read the {what} file: {exc}")]) from None


def compose(text: str, source: str, error: type[DocumentError], expected: str, *, libyaml: bool = False) -> Node:
    """The node tree of one YAML document; a syntax error or an empty document raises ``error``.

    ``expected`` says what the document should hold (``a standards matrix``) for the empty case.
    ``libyaml``: parse with libyaml's C parser when PyYAML has it (several times faster; for large
    files read at every start, such as the shipped synthesis content). A document it rejects is parsed
    again by the pure-Python parser, so the reported error is the same either way.
    """
    root = None
    parsed = False
    if libyaml and hasattr(yaml, "CSafeLoader"):
        with contextlib.suppress(yaml.YAMLError):  # a rejected document is parsed again below, for the message
            root, parsed = yaml.compose(text, Loader=yaml.CSafeLoader), True
    if not parsed:
        try:
            root = yaml.compose(text, Loader=yaml.SafeLoader)
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            what = " ".join(x for x in (exc.context, exc.problem) if x)
            line = mark.line + 1 if mark is not None else None
            raise error([Problem(source, line, "", f"YAML syntax error: {what}")]) from None
        except yaml.YAMLError as exc:
            raise error([Problem(source, None, "", f"YAML syntax error: {exc}")]) from None
    if root is None:
        raise error([Problem(source, 1, "", f"the document is empty; expected {expected}")])
    return root


def node_kind(node: Node) -> str:
    """What a node holds, in words (``a mapping``, ``a list``, ``an integer``...)."""
    if isinstance(node, MappingNode):
        return "a mapping"
    if isinstance(node, SequenceNode):
        return "a list"
    tag = node.tag.rsplit(":", 1)[-1]
    return {"str": "a string", "int": "an integer", "float": "a number", "bool": "a boolean", "null": "null"}.get(
        tag, f"a {tag}"
    )


def suggest(word: str, choices: Sequence[str]) -> str:
    """``; did you mean 'x'?`` for a close choice, else the list of choices (empty if there are none)."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    if close:
        return f"; did you mean '{close[0]}'?"
    return f"; expected one of: {', '.join(choices)}" if choices else ""


def join(path: str, key: str) -> str:
    """A key path one level down (``dimensions[accuracy]`` + ``name``)."""
    return f"{path}.{key}" if path else key


def peek_id(node: Node) -> str | None:
    """The item's id if it has a well-formed one, to name the item in problems found before it is read."""
    if isinstance(node, MappingNode):
        for key, value in node.value:
            if isinstance(key, ScalarNode) and key.value == "id" and isinstance(value, ScalarNode):
                return value.value if value.tag.endswith(":str") and _ID_RE.match(value.value) else None
    return None


@dataclass
class Entry:
    """A key and its value node, as found in a mapping."""

    key: Node
    value: Node


class LocatedReader:
    """One validation pass over one document; collects problems located by file, line and key path."""

    def __init__(self, source: str, problems: list[Problem] | None = None):
        """``problems``: a list shared with the readers of other files, for checks across files."""
        self.source = source
        self.problems: list[Problem] = [] if problems is None else problems
        self._constructor = SafeConstructor()
        # value node id -> its key node: a problem with a whole list or mapping points at its key.
        self._key_of: dict[int, Node] = {}

    # ---- reporting ------------------------------------------------------------------------
    def line(self, node: Node) -> int:
        """1-based line to blame: a list or mapping value is blamed on its key's line."""
        if isinstance(node, (MappingNode, SequenceNode)) and id(node) in self._key_of:
            node = self._key_of[id(node)]
        return node.start_mark.line + 1

    def problem(self, node: Node | None, key: str, message: str) -> None:
        line = self.line(node) if node is not None else None
        self.problems.append(Problem(self.source, line, key, message))

    # ---- node readers (each returns None or MISSING after recording a problem) ----------------
    def mapping(self, node: Node | None, path: str, section: Section) -> dict[str, Node] | None:
        """Check a mapping against its section: duplicate, unknown and missing keys."""
        entries = self.entries(node, path)
        if entries is None:
            return None
        out: dict[str, Node] = {}
        for key, entry in entries.items():
            if key not in section.keys:
                self.problem(
                    entry.key,
                    join(path, key),
                    f"unknown key '{key}' in {section.title}" + suggest(key, list(section.keys)),
                )
            else:
                out[key] = entry.value
        for key in section.required:
            if key not in entries:
                self.problem(node, path or "<top>", f"missing required key '{key}' in {section.title}")
        return out

    def entries(self, node: Node | None, path: str) -> dict[str, Entry] | None:
        """The entries of a mapping node with string keys; duplicates and non-string keys are problems."""
        if node is None:
            return None
        if not isinstance(node, MappingNode):
            self.problem(node, path or "<top>", f"expected a mapping, got {node_kind(node)}")
            return None
        out: dict[str, Entry] = {}
        for key_node, value_node in node.value:
            if not (isinstance(key_node, ScalarNode) and key_node.tag.endswith(":str")):
                self.problem(key_node, path or "<top>", f"keys must be plain names, got {node_kind(key_node)}")
                continue
            key = key_node.value
            if key in out:
                first = out[key].key.start_mark.line + 1
                self.problem(key_node, join(path, key), f"duplicate key '{key}' (first given at line {first})")
                continue
            out[key] = Entry(key_node, value_node)
            self._key_of[id(value_node)] = key_node
        return out

    def sequence(self, node: Node | None, path: str, *, what: str, one: str) -> list[Node] | None:
        if node is None:
            return None
        if not isinstance(node, SequenceNode):
            self.problem(node, path, f"expected a list of {what}, got {node_kind(node)}")
            return None
        if not node.value:
            self.problem(node, path, f"must list at least one {one}")
            return None
        return list(node.value)

    def scalar(self, node: Node | None, path: str, accept: tuple[str, ...], expected: str) -> Any:
        if node is None:
            return MISSING
        if isinstance(node, ScalarNode) and node.tag.rsplit(":", 1)[-1] in accept:
            return self._constructor.construct_object(node)
        self.problem(node, path, f"expected {expected}, got {node_kind(node)}")
        return MISSING

    def text(self, node: Node | None, path: str) -> str:
        """A non-empty string, stripped (``""`` after a problem)."""
        value = self.scalar(node, path, ("str",), "text")
        if value is MISSING:
            return ""
        if not value.strip():
            self.problem(node, path, "must not be empty")
        return value.strip()

    def wording(
        self,
        node: Node | None,
        path: str,
        placeholders: Sequence[str] = (),
        *,
        needs: Sequence[str] = (),
        allow_empty: bool = False,
    ) -> str | None:
        """A string used *exactly as written* (spaces kept), whose ``{name}`` fields are limited to
        ``placeholders`` and use at least one of ``needs``; a text without placeholders may hold no braces."""
        value = self.scalar(node, path, ("str",), "text")
        if value is MISSING:
            return None
        if not value.strip() and not allow_empty:
            self.problem(node, path, "must not be empty")
            return None
        if not placeholders:
            if "{" in value or "}" in value:
                self.problem(node, path, "braces are not allowed here: this text is used as written")
                return None
            return value
        try:
            fields = [f for _, f, _, _ in string.Formatter().parse(value) if f is not None]
        except ValueError as exc:
            self.problem(node, path, f"broken placeholder ({exc}); placeholders look like {{{placeholders[0]}}}")
            return None
        unknown = [f for f in fields if f not in placeholders]
        for field in unknown:
            allowed = ", ".join(f"{{{p}}}" for p in placeholders)
            self.problem(node, path, f"unknown placeholder '{{{field}}}'; this text may use {allowed}")
        if needs and not set(fields) & set(needs):
            self.problem(node, path, "must contain " + " or ".join(f"{{{p}}}" for p in needs))
            return None
        return None if unknown else value

    def wordings(
        self,
        node: Node | None,
        path: str,
        *,
        one: str,
        placeholders: Sequence[str] = (),
        needs: Sequence[str] = (),
        at_least: int = 1,
        repeats: bool = False,
        allow_empty: bool = False,
    ) -> tuple[str, ...] | None:
        """A list of :meth:`wording` strings with at least ``at_least`` items; an item listed twice is a
        problem unless ``repeats`` (a repeat then weighs that item more when one is drawn at random)."""
        items = self.sequence(node, path, what=f"{one}s", one=one)
        if items is None:
            return None
        out: list[str] = []
        seen: dict[str, int] = {}
        for i, item in enumerate(items):
            value = self.wording(item, f"{path}[{i}]", placeholders, needs=needs, allow_empty=allow_empty)
            if value is None:
                continue
            if value in seen and not repeats:
                self.problem(item, f"{path}[{i}]", f"listed twice (first given at line {seen[value]})")
                continue
            seen.setdefault(value, item.start_mark.line + 1)
            out.append(value)
        if len(out) != len(items):
            return None
        if len(out) < at_least:
            self.problem(node, path, f"must list at least {at_least} {one}s, got {len(out)}")
            return None
        return tuple(out)

    def ident(self, node: Node | None, path: str) -> str | None:
        value = self.scalar(node, path, ("str",), "an id")
        if value is MISSING:
            return None
        if not _ID_RE.match(value):
            self.problem(
                node,
                path,
                f"invalid id '{value}': use lowercase letters, digits and underscores, starting with a letter",
            )
            return None
        return value

    def choice(self, node: Node | None, path: str, choices: tuple[str, ...]) -> str | None:
        value = self.scalar(node, path, ("str",), f"one of {', '.join(choices)}")
        if value is MISSING:
            return None
        if value not in choices:
            self.problem(node, path, f"unknown value '{value}'" + suggest(value, choices))
            return None
        return value

    def reference(self, node: Node | None, path: str, known: Sequence[str], what: str) -> str | None:
        """An id that must name one of ``known`` (``unknown <what> 'x'; did you mean ...``)."""
        ident = self.ident(node, path)
        if ident is None:
            return None
        if ident not in known:
            self.problem(node, path, f"unknown {what} '{ident}'" + suggest(ident, known))
            return None
        return ident

    def items_with_ids(
        self, node: Node | None, section_key: str, section: Section
    ) -> list[tuple[str, str, dict[str, Node], Node]]:
        """List items of a section that are well-formed mappings with a valid, unique id, as
        ``(id, path, mapping, node)``; the path names the item by its id (``dimensions[accuracy]``)."""
        items = self.sequence(node, section_key, what=section_key, one=section.title)
        if items is None:
            return []
        seen: dict[str, int] = {}
        out = []
        for i, item in enumerate(items):
            peeked = peek_id(item)
            named = f"{section_key}[{peeked}]" if peeked and peeked not in seen else f"{section_key}[{i}]"
            m = self.mapping(item, named, section)
            if m is None:
                continue
            ident = self.ident(m.get("id"), f"{section_key}[{i}].id")
            if ident is None:
                continue
            if ident in seen:
                self.problem(
                    m["id"],
                    f"{section_key}[{i}].id",
                    f"duplicate {section.title} id '{ident}' (first given at line {seen[ident]})",
                )
                continue
            seen[ident] = m["id"].start_mark.line + 1
            out.append((ident, named, m, item))
        return out
