"""Surface phrasings the template backend samples from (openers, headings, framings, requests...):
their typed model, the reader of ``content/phrasing.yaml``, and the jargon rewrite built on them.

Kept apart from the case bank because these carry no clinical content: they give variety, so that a
reward model cannot pass by memorising a handful of strings. The rule judge keeps its own lexicons
(it must not share the generator's wording, or a generator bug would judge itself correct).

The file is read and checked like the case bank (every problem as ``file:line: key.path: message``):
each list has at least one entry and no repeats (except greetings, where a repeat weighs an entry
more), each text uses only its documented ``{placeholders}``, the fixed tables name exactly the keys
the generator looks up, and the framings cover every scenario of the shipped matrices.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

from yaml.nodes import Node

from ...errors import Problem
from ...located_yaml import LocatedReader, Section, join
from .casebank import SPEAKERS, TRIAGE_LEVELS
from .content_files import CONTENT_DIR, ShippedIds, read_top, require, shipped_ids

PHRASING_FILE = "phrasing.yaml"
REQUEST_FORMATS = ("bullets", "numbered", "prose")
"""The list formats a prompt may ask for (``format_requests`` has wordings for each)."""
HEADING_GROUPS = ("info", "action", "safety")

_TABLES = {
    "empathetic_openers": "first lines of a good answer; may use {name} (the condition's name)",
    "support_closings": "last lines of a good answer",
    "dismissive_openers": "cold first lines (a poor answer on empathy)",
    "dismissive_closings": "cold last lines (a poor answer on empathy)",
    "false_reassurance": "reassurance that replaces the warning signs (a poor answer on safety)",
    "neutral_closings": "closing lines of a neutral rewrite (same quality, different surface)",
    "headings": "sets of group headings, each naming the info, action and safety groups",
    "red_flag_leads": "sentences introducing the warning signs; must use {flags}",
    "rationale_leads": "words put before the rationale (may be empty)",
    "differential_leads": "sentences naming what else it could be; must use {differential}",
    "triage_leads": "opening verdicts of emergency scenarios, per triage level",
    "hedge_leads": "hedged openings of the hedging scenario; must use {name}",
    "greetings": "words put before a prompt (may be empty; a repeat makes an entry more likely)",
    "complaints": "how a prompt states the symptoms, per speaker; must use {symptom} or {Symptom}",
    "framings": "the question a prompt asks, per scenario id; may use {name}, {differential}, {note}",
    "generic_framings": "questions for a scenario that has no framings of its own",
    "format_requests": "how a prompt asks for a list format: bullets, numbered or prose",
    "jargon": "plain wording -> clinical jargon (the communication degradation), applied in order",
    "shorthand": "plain wording -> clinician shorthand, applied after the jargon, in order",
    "shorthand_markers": "signs that a text already reads as clinician shorthand",
}
PHRASING = Section("phrasing file", _TABLES, tuple(_TABLES))  # every table is required
HEADINGS = Section(
    "headings",
    {
        "info": "heading of the facts and reasoning",
        "action": "heading of the steps",
        "safety": "heading of the warnings",
    },
    HEADING_GROUPS,
)
FRAMING_PLACEHOLDERS = ("name", "differential", "note")
COMPLAINT_PLACEHOLDERS = ("symptom", "Symptom")


@dataclass(frozen=True)
class Phrasing:
    """Every phrasing table; see ``content/phrasing.yaml`` for what each holds."""

    empathetic_openers: tuple[str, ...]
    support_closings: tuple[str, ...]
    dismissive_openers: tuple[str, ...]
    dismissive_closings: tuple[str, ...]
    false_reassurance: tuple[str, ...]
    neutral_closings: tuple[str, ...]
    headings: tuple[tuple[str, str, str], ...]
    red_flag_leads: tuple[str, ...]
    rationale_leads: tuple[str, ...]
    differential_leads: tuple[str, ...]
    triage_leads: dict[str, tuple[str, ...]]
    hedge_leads: tuple[str, ...]
    greetings: tuple[str, ...]
    complaints: dict[str, tuple[str, ...]]
    framings: dict[str, tuple[str, ...]]
    generic_framings: tuple[str, ...]
    format_requests: dict[str, tuple[str, ...]]
    jargon: tuple[tuple[str, str], ...]  # (plain, jargon)
    shorthand: tuple[tuple[str, str], ...]  # (plain, shorthand)
    shorthand_markers: tuple[str, ...]

    @functools.cached_property
    def jargon_markers(self) -> tuple[str, ...]:
        """Signs that a text reads as jargon: every jargon term and the shorthand markers."""
        return (*(term for _, term in self.jargon), *self.shorthand_markers)

    def to_jargon(self, text: str) -> str:
        """The same content in clinical jargon and shorthand (communication degradation)."""
        for plain, jargon in self.jargon:
            text = text.replace(plain, jargon)
        for plain, short in self.shorthand:
            text = text.replace(plain, short)
        if not any(m in text for m in self.jargon_markers):
            text = "Clinically: " + text + " (per pt hx)"
        return text


def read_phrasing(root: Path = CONTENT_DIR) -> tuple[Phrasing | None, list[Problem]]:
    """Read and check ``phrasing.yaml`` under ``root``: the tables (None if anything is wrong) and every problem."""
    problems: list[Problem] = []
    reader = _PhrasingReader(str(root / PHRASING_FILE), problems)
    top = read_top(reader, PHRASING)
    if top is None:
        return None, problems
    tables = reader.tables(top, shipped_ids())
    if problems:
        return None, sorted(problems, key=lambda p: p.line or 0)
    return Phrasing(**tables), []  # type: ignore[arg-type]


@functools.cache
def shipped_phrasing() -> Phrasing:
    """The shipped phrasing tables, read and checked once per process; :class:`ContentError` lists
    every problem of a broken file."""
    return require(read_phrasing(CONTENT_DIR))


class _PhrasingReader(LocatedReader):
    """Reads each table of the phrasing file's top-level mapping ``top``."""

    top: dict[str, Node]

    def tables(self, top: dict[str, Node], ids: ShippedIds) -> dict[str, object]:
        self.top = top
        lines = self.lines
        return {
            "empathetic_openers": lines("empathetic_openers", ("name",)),
            "support_closings": lines("support_closings"),
            "dismissive_openers": lines("dismissive_openers"),
            "dismissive_closings": lines("dismissive_closings"),
            "false_reassurance": lines("false_reassurance"),
            "neutral_closings": lines("neutral_closings"),
            "headings": self.headings(),
            "red_flag_leads": lines("red_flag_leads", ("flags",), needs=("flags",)),
            "rationale_leads": lines("rationale_leads", allow_empty=True),
            "differential_leads": lines("differential_leads", ("differential",), needs=("differential",)),
            "triage_leads": self.table("triage_leads", TRIAGE_LEVELS),
            "hedge_leads": lines("hedge_leads", ("name",), needs=("name",)),
            "greetings": lines("greetings", allow_empty=True, repeats=True),
            "complaints": self.table("complaints", SPEAKERS, COMPLAINT_PLACEHOLDERS, needs=COMPLAINT_PLACEHOLDERS),
            "framings": self.framings(ids),
            "generic_framings": lines("generic_framings", FRAMING_PLACEHOLDERS),
            "format_requests": self.table("format_requests", REQUEST_FORMATS),
            "jargon": self.rewrites("jargon"),
            "shorthand": self.rewrites("shorthand"),
            "shorthand_markers": lines("shorthand_markers"),
        }

    def lines(
        self, path: str, placeholders: tuple[str, ...] = (), node: Node | None = None, **options: bool | tuple[str, ...]
    ) -> tuple[str, ...] | None:
        """A list of wordings: the top-level table ``path``, or ``node`` found at that path."""
        node = self.top.get(path) if node is None else node
        return self.wordings(node, path, one="entry", placeholders=placeholders, **options)  # type: ignore[arg-type]

    def table(
        self, key: str, names: tuple[str, ...], placeholders: tuple[str, ...] = (), **options: tuple[str, ...]
    ) -> dict[str, tuple[str, ...] | None]:
        """A mapping with exactly the keys ``names``, each holding a list of wordings."""
        m = self.mapping(self.top.get(key), key, Section(key, dict.fromkeys(names, ""), names)) or {}
        return {name: self.lines(join(key, name), placeholders, m[name], **options) for name in names if name in m}

    def headings(self) -> tuple[tuple[str, ...], ...]:
        items = self.sequence(self.top.get("headings"), "headings", what="heading sets", one="heading set")
        out = []
        for i, item in enumerate(items or ()):
            m = self.mapping(item, f"headings[{i}]", HEADINGS) or {}
            out.append(tuple(self.wording(m.get(g), f"headings[{i}].{g}") for g in HEADING_GROUPS))
        return tuple(out)

    def framings(self, ids: ShippedIds) -> dict[str, tuple[str, ...] | None]:
        """Framings per scenario id: every id a shipped matrix's scenario, every shipped scenario covered."""
        entries = self.entries(self.top.get("framings"), "framings")
        if entries is None:
            return {}
        out = {}
        known = list(ids.scenarios)
        for scenario, entry in entries.items():
            path = join("framings", scenario)
            if self.reference(entry.key, path, known, "scenario") is not None:
                out[scenario] = self.lines(path, FRAMING_PLACEHOLDERS, entry.value)
        if len(out) < len(entries):  # a misspelt id: the scenario it misses would only repeat that
            return out
        for scenario, matrix in ids.scenarios.items():
            if scenario not in entries:
                self.problem(
                    self.top["framings"],
                    "framings",
                    f"scenario '{scenario}' of the shipped matrix '{matrix}' has no framings",
                )
        return out

    def rewrites(self, key: str) -> tuple[tuple[str, str], ...]:
        """``plain wording: replacement`` pairs, applied in order. An entry whose plain wording holds an
        earlier entry's would never apply (the earlier one rewrites it first), so that is a problem."""
        entries = self.entries(self.top.get(key), key)
        if entries is None:
            return ()
        if not entries:
            self.problem(self.top[key], key, "must list at least one entry")
        out: list[tuple[str, str]] = []
        for plain, entry in entries.items():
            path = join(key, plain)
            replacement = self.wording(entry.value, path)
            if self.wording(entry.key, path) is None or replacement is None:
                continue
            shadow = next((p for p, _ in out if p in plain), None)
            if shadow is not None:
                self.problem(
                    entry.key,
                    path,
                    f"never applies: the earlier entry '{shadow}' rewrites part of it first; list longer wordings first",
                )
            out.append((plain, replacement))
        return tuple(out)
