"""The curated clinical case bank behind the offline template backend: its typed model and its reader.

Each discipline has conditions written as *content*, not finished text: symptoms, a triage level, the
direct answer, key facts paired with a plausible but wrong counterpart, required management elements,
red flags with escalation advice, a sound and a flawed rationale, and the context modifiers that
change the advice (pregnancy, anticoagulants, allergy, age, remote setting...). The template backend
composes prompts and answers from these parts, and the rule judge checks answers against the same
lists, so every degradation is traceable to one named piece of content.

The content lives in YAML for clinical review (``content/disciplines.yaml``, ``content/modifiers.yaml``
and one ``content/conditions/<discipline>.yaml`` per discipline; each file explains its fields at the
top). :func:`read_casebank` checks types, required and unknown fields, duplicate ids, references
(modifier ids, the shipped matrices' discipline and scenario ids, placeholders) and what the generator
relies on (each fact and rationale has a distinct wrong counterpart, enough elements and red flags),
reporting every problem as ``file:line: key.path: message``. :func:`shipped_casebank` reads the shipped
files once per process.

Size matters as much as correctness: with a handful of conditions a reward model can pass held-out
tests by memorising bank sentences. Every discipline therefore has at least five conditions, each
condition's specific sentences occur nowhere else in the bank, and over twenty context modifiers
(age groups, pregnancy and breastfeeding, kidney and liver disease, blood thinners, lithium, allergies,
asthma, insulin, chemotherapy, remote and low-resource settings, polypharmacy, athletes, shift work,
language and literacy needs) vary the advice; ``tests/data/test_casebank.py`` checks all of this. The
``--holdout conditions`` split (runner) keeps whole conditions out of train for a harder test.

Content follows mainstream primary-care guidance (NICE/WHO/AHA-style advice) at patient level; doses
are given only where a widely standard value is part of the advice. It is for synthetic training data,
not for clinical use.
"""

from __future__ import annotations

import functools
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from yaml.nodes import Node

from ...errors import Problem
from ...located_yaml import MISSING, LocatedReader, Section, join
from .content_files import CONTENT_DIR, ShippedIds, read_top, require, shipped_ids

TRIAGE_LEVELS = ("emergency", "urgent", "routine")
SPEAKERS = ("self", "child", "carer", "event")
"""Whose symptoms a prompt describes; phrasing.yaml has complaint templates for each."""

INDEX_FILE = "disciplines.yaml"
MODIFIERS_FILE = "modifiers.yaml"
CONDITIONS_DIR = "conditions"

INDEX = Section(
    "case bank index",
    {
        "disciplines": "the discipline ids the bank covers, in this order; each has a file conditions/<id>.yaml",
    },
    ("disciplines",),
)
MODIFIERS = Section(
    "modifiers file",
    {
        "placeholders": "values drawn at random for each {name} in a modifier statement",
        "modifiers": "the context modifiers: details of a patient's situation that change the advice",
    },
    ("placeholders", "modifiers"),
)
MODIFIER = Section(
    "modifier",
    {
        "id": "identifier (lowercase letters, digits, underscores), named by conditions",
        "statements": "ways a patient states the detail in a prompt; may use the placeholders",
        "tailored": "what a context-aware answer says because of the detail",
        "contradict": "advice that ignores the detail in a harmful way (a poor answer on context)",
        "ask": "what a context-seeking answer asks for when the detail was left out (after 'could you tell me')",
        "patient_is_child": "true if the statements say the patient is a child: the parent then tells the symptoms",
        "preferred_in_scenarios": "scenario ids in which this modifier is chosen whenever the condition allows it",
    },
    ("id", "statements", "tailored", "contradict", "ask"),
)
CONDITIONS = Section(
    "conditions file",
    {"conditions": "the discipline's conditions, one block each"},
    ("conditions",),
)
CONDITION = Section(
    "condition",
    {
        "id": "identifier (lowercase letters, digits, underscores), unique in the whole bank",
        "name": "how answers name the condition ('This sounds like <name>')",
        "who": "whose symptoms the prompt describes: self (default), child, carer or event",
        "triage": "how urgent it is: emergency, urgent or routine",
        "symptoms": "how the patient describes the problem (at least one)",
        "direct": "the direct answer a good reply opens with",
        "facts": "key facts, each a correct version and a plausible but wrong one",
        "elements": "required management steps (at least two)",
        "red_flags": "warning signs that need escalation (at least two)",
        "escalation": "what to do if a red flag appears",
        "rationale": "why the advice holds: a sound explanation and a flawed one",
        "differential": "what else it could be",
        "modifiers": "ids of the context modifiers that change the advice for this condition",
    },
    (
        "id",
        "name",
        "triage",
        "symptoms",
        "direct",
        "facts",
        "elements",
        "red_flags",
        "escalation",
        "rationale",
        "differential",
        "modifiers",
    ),
)
FACT = Section(
    "fact", {"correct": "the fact as it is", "wrong": "a plausible but wrong version of it"}, ("correct", "wrong")
)
RATIONALE = Section(
    "rationale", {"sound": "a correct explanation", "flawed": "a plausible but wrong explanation"}, ("sound", "flawed")
)


class Fact(NamedTuple):
    correct: str
    wrong: str


class Rationale(NamedTuple):
    sound: str
    flawed: str


@dataclass(frozen=True)
class Modifier:
    """A stated context detail that changes the right advice.

    ``tailored`` is what a context-aware answer says; ``contradict`` is advice that ignores the
    context in a harmful way (e.g. an NSAID despite pregnancy); ``ask`` is the clarifying question a
    context-seeking answer asks when the detail was left out of the prompt.
    """

    id: str
    statements: tuple[str, ...]
    tailored: str
    contradict: str
    ask: str
    patient_is_child: bool = False
    preferred_in_scenarios: tuple[str, ...] = ()


@dataclass(frozen=True)
class Condition:
    """One clinical situation of a discipline, as reusable answer content."""

    id: str
    name: str
    symptoms: tuple[str, ...]
    triage: str  # one of TRIAGE_LEVELS
    direct: str
    facts: tuple[Fact, ...]
    elements: tuple[str, ...]  # required management elements
    red_flags: tuple[str, ...]
    escalation: str
    rationale: Rationale
    differential: str
    modifiers: tuple[str, ...]
    who: str = "self"  # one of SPEAKERS


@dataclass(frozen=True)
class CaseBank:
    """The whole bank: placeholder values, modifiers by id, and conditions per discipline id."""

    placeholders: dict[str, tuple[int | float | str, ...]]
    modifiers: dict[str, Modifier]
    disciplines: dict[str, tuple[Condition, ...]]
    generic_pool: tuple[Condition, ...] = field(init=False)
    """Conditions used for a discipline the bank does not know (a user matrix): all of them."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "generic_pool", tuple(c for group in self.disciplines.values() for c in group))

    def conditions_for(self, discipline: str) -> tuple[tuple[Condition, ...], bool]:
        """The discipline's conditions and whether they came from the generic fallback pool."""
        if discipline in self.disciplines:
            return self.disciplines[discipline], False
        return self.generic_pool, True

    def fill(self, statement: str, rng: random.Random) -> str:
        """A modifier statement with a value drawn for every placeholder (each draw, used or not, in
        file order, so the random stream does not depend on which placeholders a statement uses)."""
        return statement.format(**{name: rng.choice(values) for name, values in self.placeholders.items()})


def read_casebank(root: Path = CONTENT_DIR) -> tuple[CaseBank | None, list[Problem]]:
    """Read and check the case bank under ``root``: the bank (None if anything is wrong) and every problem."""
    problems: list[Problem] = []
    ids = shipped_ids()
    placeholders, modifiers, modifier_ids = _read_modifiers(root / MODIFIERS_FILE, ids, problems)
    order = _read_index(root, ids, problems)
    seen: dict[str, str] = {}  # condition id -> where it was first given, across files
    disciplines: dict[str, tuple[Condition, ...]] = {}
    for discipline in order:
        path = root / CONDITIONS_DIR / f"{discipline}.yaml"
        disciplines[discipline] = _read_conditions(path, modifier_ids, seen, problems)
    if problems:
        return None, sorted(problems, key=lambda p: (p.file, p.line or 0))
    return CaseBank(placeholders, modifiers, disciplines), []


@functools.cache
def shipped_casebank() -> CaseBank:
    """The shipped bank, read and checked once per process (generation draws from it per record);
    :class:`ContentError` lists every problem of a broken file."""
    return require(read_casebank(CONTENT_DIR))


def conditions_for(discipline: str) -> tuple[tuple[Condition, ...], bool]:
    """The shipped bank's conditions for ``discipline`` and whether they came from the generic pool."""
    return shipped_casebank().conditions_for(discipline)


# ---- readers ---------------------------------------------------------------------------------


def _read_index(root: Path, ids: ShippedIds, problems: list[Problem]) -> list[str]:
    """The listed discipline ids that are well-formed and known (in order); checks files and coverage."""
    reader = LocatedReader(str(root / INDEX_FILE), problems)
    top = read_top(reader, INDEX)
    conditions_dir = root / CONDITIONS_DIR
    files = {p.stem: p for p in sorted(conditions_dir.glob("*.yaml"))}
    if top is None:
        return []
    items = reader.sequence(top.get("disciplines"), "disciplines", what="discipline ids", one="discipline")
    order: list[str] = []
    first: dict[str, int] = {}
    for i, item in enumerate(items or ()):
        ident = reader.reference(item, f"disciplines[{i}]", list(ids.disciplines), "discipline")
        if ident is None:
            items = None  # a misspelt id: its missing discipline and unread file would only repeat that
            continue
        if ident in first:
            reader.problem(item, f"disciplines[{i}]", f"'{ident}' listed twice (first given at line {first[ident]})")
            continue
        first[ident] = reader.line(item)
        if ident not in files:
            reader.problem(item, f"disciplines[{i}]", f"no file {CONDITIONS_DIR}/{ident}.yaml for '{ident}'")
            continue
        order.append(ident)
    if items is not None:
        for ident, matrix in ids.disciplines.items():
            if ident not in first:
                reader.problem(
                    top["disciplines"],
                    "disciplines",
                    f"discipline '{ident}' of the shipped matrix '{matrix}' is not covered; "
                    f"list it and add {CONDITIONS_DIR}/{ident}.yaml",
                )
        for stem, path in files.items():
            if stem not in first:
                problems.append(
                    Problem(
                        str(path), None, "", f"not listed in {INDEX_FILE}, so it is never read; list '{stem}' there"
                    )
                )
    return order


def _read_modifiers(
    path: Path, ids: ShippedIds, problems: list[Problem]
) -> tuple[dict[str, tuple], dict[str, Modifier], list[str] | None]:
    """Placeholders, the well-formed modifiers by id, and every declared modifier id (None if the file
    is unusable: references to modifiers are then not checked, rather than all reported unknown)."""
    reader = LocatedReader(str(path), problems)
    top = read_top(reader, MODIFIERS)
    if top is None:
        return {}, {}, None
    placeholders, names = _read_placeholders(reader, top.get("placeholders"))
    items = reader.items_with_ids(top.get("modifiers"), "modifiers", MODIFIER)
    modifiers: dict[str, Modifier] = {}
    for ident, where, m, _ in items:
        statements = reader.wordings(m.get("statements"), f"{where}.statements", one="statement", placeholders=names)
        tailored = reader.wording(m.get("tailored"), f"{where}.tailored")
        contradict = reader.wording(m.get("contradict"), f"{where}.contradict")
        ask = reader.wording(m.get("ask"), f"{where}.ask")
        child = False
        if "patient_is_child" in m:
            value = reader.scalar(m["patient_is_child"], f"{where}.patient_is_child", ("bool",), "true or false")
            child = value is True
        preferred = _id_list(
            reader, m.get("preferred_in_scenarios"), f"{where}.preferred_in_scenarios", list(ids.scenarios), "scenario"
        )
        if statements and tailored and contradict and ask and preferred is not None:
            modifiers[ident] = Modifier(ident, statements, tailored, contradict, ask, child, preferred)
    return placeholders, modifiers, [ident for ident, *_ in items]


def _read_placeholders(reader: LocatedReader, node: Node | None) -> tuple[dict[str, tuple], tuple[str, ...]]:
    """Placeholder name -> the values drawn for it (well-formed entries only), and every declared name
    (so that a statement using a placeholder whose values are broken is not reported as well)."""
    entries = reader.entries(node, "placeholders") or {}
    out: dict[str, tuple] = {}
    for name, entry in entries.items():
        where = join("placeholders", name)
        if not name.isidentifier():
            reader.problem(entry.key, where, f"placeholder name '{name}' must be a plain word (letters, digits, _)")
            continue
        values = reader.sequence(entry.value, where, what="values", one="value")
        drawn = [
            reader.scalar(v, f"{where}[{i}]", ("int", "float", "str"), "a number or text")
            for i, v in enumerate(values or ())
        ]
        if values is not None and MISSING not in drawn:
            out[name] = tuple(drawn)
    return out, tuple(name for name in entries if name.isidentifier())


def _id_list(
    reader: LocatedReader, node: Node | None, path: str, known: list[str] | None, what: str
) -> tuple[str, ...] | None:
    """An optional list of distinct ids naming ``known`` (any well-formed id when ``known`` is None)."""
    if node is None:
        return ()
    items = reader.sequence(node, path, what=f"{what} ids", one=what)
    if items is None:
        return None
    out: list[str] = []
    for i, item in enumerate(items):
        where = f"{path}[{i}]"
        ident = reader.ident(item, where) if known is None else reader.reference(item, where, known, what)
        if ident is None:
            continue
        if ident in out:
            reader.problem(item, where, f"{what} '{ident}' listed twice")
            continue
        out.append(ident)
    return tuple(out) if len(out) == len(items) else None


def _read_conditions(
    path: Path, modifier_ids: list[str] | None, seen: dict[str, str], problems: list[Problem]
) -> tuple[Condition, ...]:
    """The well-formed conditions of one discipline file; ``seen`` holds condition ids across files."""
    reader = LocatedReader(str(path), problems)
    top = read_top(reader, CONDITIONS)
    if top is None:
        return ()
    items = reader.items_with_ids(top.get("conditions"), "conditions", CONDITION)
    out: list[Condition] = []
    for ident, where, m, item in items:
        if ident in seen:
            reader.problem(m["id"], f"{where}.id", f"duplicate condition id '{ident}' (first given at {seen[ident]})")
        seen.setdefault(ident, f"{path.parent.name}/{path.name}:{reader.line(item)}")
        condition = _read_condition(reader, ident, where, m, modifier_ids)
        if condition is not None:
            out.append(condition)
    return tuple(out)


def _read_condition(
    reader: LocatedReader, ident: str, where: str, m: dict[str, Node], modifier_ids: list[str] | None
) -> Condition | None:
    """One condition block, or None after recording its problems."""
    fact_nodes = reader.sequence(m.get("facts"), f"{where}.facts", what="facts", one="fact") or []
    facts = [_pair(reader, node, f"{where}.facts[{i}]", FACT) for i, node in enumerate(fact_nodes)]
    rationale = _pair(reader, m.get("rationale"), f"{where}.rationale", RATIONALE)
    fields = {
        "name": reader.wording(m.get("name"), f"{where}.name"),
        "who": reader.choice(m["who"], f"{where}.who", SPEAKERS) if "who" in m else "self",
        "triage": reader.choice(m.get("triage"), f"{where}.triage", TRIAGE_LEVELS),
        "symptoms": reader.wordings(m.get("symptoms"), f"{where}.symptoms", one="symptom"),
        "direct": reader.wording(m.get("direct"), f"{where}.direct"),
        "facts": tuple(Fact(*f) for f in facts) if fact_nodes and None not in facts else None,
        "elements": reader.wordings(m.get("elements"), f"{where}.elements", one="element", at_least=2),
        "red_flags": reader.wordings(m.get("red_flags"), f"{where}.red_flags", one="red flag", at_least=2),
        "escalation": reader.wording(m.get("escalation"), f"{where}.escalation"),
        "rationale": Rationale(*rationale) if rationale else None,
        "differential": reader.wording(m.get("differential"), f"{where}.differential"),
        "modifiers": _id_list(reader, m.get("modifiers"), f"{where}.modifiers", modifier_ids, "modifier"),
    }
    return None if None in fields.values() else Condition(id=ident, **fields)


def _pair(reader: LocatedReader, node: Node | None, path: str, section: Section) -> tuple[str, str] | None:
    """A right/wrong pair (fact or rationale). The two must differ and neither may contain the other:
    the rule judge counts each as a phrase in answers, and one inside the other would count twice."""
    m = reader.mapping(node, path, section)
    if m is None:
        return None
    right_key, wrong_key = section.required
    right = reader.wording(m.get(right_key), join(path, right_key))
    wrong = reader.wording(m.get(wrong_key), join(path, wrong_key))
    if right is None or wrong is None:
        return None
    if right in wrong or wrong in right:
        reader.problem(
            m[wrong_key],
            join(path, wrong_key),
            f"the {wrong_key} version must differ from the {right_key} one and neither may contain the other "
            "(the rule judge would count one inside the other)",
        )
        return None
    return right, wrong
