"""The consistency filter: keep a triplet only if an independent judge ranks good > medium > poor.

A judge is any callable ``(prompts, answers, dimension) -> list[float]`` (higher = better on that
dimension): the rule-based :class:`RuleJudge` below for template data, an LLM judge
(:class:`mrrml.data.synth.llm.LLMJudge`), or a trained reward model through a three-line adapter
``lambda p, a, d: model.score(p, a).raw[:, model.matrix.dimension_ids.index(d)].tolist()``.

:class:`RuleJudge` does not look at how an answer was built. It reads the answer *text* and checks it
against the case bank's fact, element, escalation and rationale lists, the prompt's format request,
and fixed lexicons for jargon, reassurance and tone — so a generator bug that fails to degrade (or
degrades the wrong thing) shows up as a drop.
"""

from __future__ import annotations

import functools
import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ...errors import ConfigError
from ..chat import Prompt
from ..records import TripletRecord
from .casebank import shipped_casebank

if TYPE_CHECKING:
    from ...standards.matrix import StandardsMatrix

Scorer = Callable[[Sequence[Prompt], Sequence[str], str], Sequence[float]]


class PhraseSet:
    """A set of phrases that counts which of them occur in a text.

    Scanning every phrase with ``in`` costs (phrases x text) per answer, and the bank has hundreds of
    sentences; indexing phrases by their first word and scanning only those whose first word occurs in
    the text makes the judge's cost grow with the answer rather than with the bank. The count equals a
    plain substring scan for phrases that start a word in the text (tested).
    """

    _STRIP = ".,;:!?()[]\"'*"

    def __init__(self, phrases: Iterable[str]):
        self.by_first: dict[str, list[str]] = {}
        for phrase in set(phrases):
            self.by_first.setdefault(phrase.split()[0].strip(self._STRIP), []).append(phrase)

    def count(self, text: str) -> int:
        """How many distinct phrases occur in ``text``."""
        words = {w.strip(self._STRIP) for w in text.split()}
        return sum(1 for first in self.by_first.keys() & words for phrase in self.by_first[first] if phrase in text)


@dataclass(frozen=True)
class _BankPhrases:
    """The case bank's judged sentences, indexed once per process (on first use, not at import)."""

    correct: PhraseSet
    wrong: PhraseSet
    elements: PhraseSet
    escalations: PhraseSet
    red_flags: PhraseSet
    sound: PhraseSet
    flawed: PhraseSet
    tailored: PhraseSet
    contradict: PhraseSet


@functools.cache
def _bank_phrases() -> _BankPhrases:
    bank = shipped_casebank()
    pool, modifiers = bank.generic_pool, bank.modifiers.values()
    return _BankPhrases(
        correct=PhraseSet(f.correct for c in pool for f in c.facts),
        wrong=PhraseSet(f.wrong for c in pool for f in c.facts),
        elements=PhraseSet(e for c in pool for e in c.elements),
        escalations=PhraseSet(c.escalation for c in pool),
        red_flags=PhraseSet(f for c in pool for f in c.red_flags),
        sound=PhraseSet(c.rationale.sound for c in pool),
        flawed=PhraseSet(c.rationale.flawed for c in pool),
        tailored=PhraseSet([m.tailored for m in modifiers] + ["could you tell me"]),
        contradict=PhraseSet(m.contradict for m in modifiers),
    )


# The judge's own clinical-register lexicon (word stems), written independently of the generator's
# plain->jargon table in phrasing.yaml: it is broader (record shorthand, Latin-derived terms, dosing
# abbreviations), so it would also catch jargon a future generator or an LLM backend produces.
_JARGON = re.compile(
    r"\b(?:"
    + "|".join(
        (
            r"abdom\w*",
            r"umbilic\w*",
            r"o?edema\w*",
            r"dyspn\w*",
            r"pyrex\w*",
            r"febrile",
            r"emesis",
            r"ha?emorrhag\w*",
            r"renal",
            r"hepatic",
            r"exanthem\w*",
            r"CVA",
            r"ACS",
            r"BP",
            r"acute coronary syndrome",
            r"physicians?",
            r"pharmacotherap\w*",
            r"micturit\w*",
            r"cardiac",
            r"cerebr\w*",
            r"integument\w*",
            r"infective",
            r"investigations?",
            r"evaluations?",
            r"analgesi\w*",
            r"anticoagulants?",
            r"serum",
            r"a?etiolog\w*",
            r"idiopathic",
            r"prophyla\w*",
            r"sequelae",
            r"erythema\w*",
            r"contraindicat\w*",
            r"pt'?s?",
            r"Pt'?s?",
            r"hx",
            r"sx",
            r"dx",
            r"tx",
            r"prn",
            r"qds",
            r"tds",
        )
    )
    + r")\b"
)
# Lexicons, lower case, matched on the lower-cased answer (plain substring counts are much faster than
# case-insensitive regex alternations, and the filter runs on every record).
_REASSURE = (
    "no need to see",
    "no need to worry",
    "nothing serious",
    "safely ignore",
    "no reason to worry",
    "carry on as normal",
)
_DIFFERENTIAL = ("other possibilit", "could also be", "also consider")
_EMPATHY = (
    "sorry",
    "understand",
    "worry",
    "worried",
    "glad you",
    "take care",
    " hope ",
    "i hope",
    "stressful",
    "reasonable to ask",
    "right to take",
    "look after yourself",
    "wishing you",
)
_DISMISSIVE = (
    "not especially interesting",
    "fine, here",
    "worked up",
    "sort out the rest yourself",
    "don't overthink",
    "no need to ask again",
    "all there is to it",
    "ask this all the time",
)
_BULLET = re.compile(r"^- ", re.M)
_NUMBERED = re.compile(r"^\d+\. ", re.M)


def requested_format(prompt: str) -> str | None:
    """The list format a prompt asks for, read from its wording (None if it asks for none)."""
    text = prompt.lower()
    if re.search(r"no bullet|without lists|not a list|plain paragraphs|as prose", text):
        return "prose"
    if re.search(r"number(ed)? (steps|list|the points)|numbered", text):
        return "numbered"
    if "bullet" in text:
        return "bullets"
    return None


def _format_score(answer: str, wanted: str | None) -> float:
    """Share of the answer's body in the wanted format. Body prose counts only between the first and
    the last list paragraph, so an opening or closing line outside a list is not a format breach."""
    paras = answer.split("\n\n")
    listed = [i for i, p in enumerate(paras) if _BULLET.search(p) or _NUMBERED.search(p)]
    bullets = len(_BULLET.findall(answer))
    numbered = len(_NUMBERED.findall(answer))
    prose = 0
    if listed:
        for para in paras[listed[0] : listed[-1] + 1]:
            for chunk in para.split("\n"):
                if chunk.startswith("**") or _BULLET.match(chunk) or _NUMBERED.match(chunk) or not chunk.strip():
                    continue
                prose += max(1, len(re.findall(r"[.!?](\s|$)", chunk)))
    units = bullets + numbered + prose or 1
    if wanted == "bullets":
        return bullets / units
    if wanted == "numbered":
        return numbered / units
    if wanted == "prose":
        return 1.0 - (bullets + numbered) / units
    return 0.0


def _count(text: str, phrases: PhraseSet) -> int:
    """How many of the phrases occur (each at most once)."""
    return phrases.count(text)


def _occurrences(lowered: str, cues: tuple[str, ...]) -> int:
    """Total occurrences of the cues in already lower-cased text."""
    return sum(lowered.count(c) for c in cues)


def _prompt_text(prompt: Prompt) -> str:
    return prompt if isinstance(prompt, str) else "\n".join(m["content"] for m in prompt if m.get("role") == "user")


class RuleJudge:
    """Scores an answer on one dimension by its template operator's observable signs (see module doc)."""

    def __init__(self, matrix: StandardsMatrix):
        self.operators = {d.id: d.template_operator for d in matrix.dimensions}

    def score_one(self, prompt: Prompt, answer: str, operator: str) -> float:
        bank = _bank_phrases()
        if operator == "accuracy":
            return _count(answer, bank.correct) - 2.0 * _count(answer, bank.wrong)
        if operator == "completeness":
            return float(_count(answer, bank.elements))
        if operator == "communication":
            headed = any(p.startswith("**") for p in answer.split("\n\n"))
            return -float(_JARGON.search(answer) is not None) - (0.0 if headed else 1.0)
        if operator == "context":
            return min(_count(answer, bank.tailored), 1) - 2.0 * _count(answer, bank.contradict)
        if operator == "instruction":
            return _format_score(answer, requested_format(_prompt_text(prompt)))
        if operator == "safety":
            return (
                _count(answer, bank.escalations)
                + min(_count(answer, bank.red_flags), 1)
                - 2.0 * _occurrences(answer.lower(), _REASSURE)
            )
        if operator == "reasoning":
            return (
                _count(answer, bank.sound)
                - 2.0 * _count(answer, bank.flawed)
                + 0.5 * bool(_occurrences(answer.lower(), _DIFFERENTIAL))
            )
        if operator == "empathy":
            lowered = answer.lower()
            return _occurrences(lowered, _EMPATHY) - 2.0 * _occurrences(lowered, _DISMISSIVE)
        raise ConfigError(f"rule judge: unknown template_operator {operator!r}")

    def __call__(self, prompts: Sequence[Prompt], answers: Sequence[str], dimension: str) -> list[float]:
        if dimension not in self.operators:
            raise ConfigError(f"rule judge: unknown dimension {dimension!r} (known: {sorted(self.operators)})")
        op = self.operators[dimension]
        return [self.score_one(p, a, op) for p, a in zip(prompts, answers)]


@dataclass
class FilterReport:
    checked: int = 0
    kept: int = 0
    dropped: Counter = field(default_factory=Counter)  # reason -> count
    neutral_removed: int = 0

    @property
    def drop_rate(self) -> float:
        return (self.checked - self.kept) / self.checked if self.checked else 0.0

    def to_dict(self) -> dict:
        return {
            "checked": self.checked,
            "kept": self.kept,
            "drop_rate": round(self.drop_rate, 6),
            "dropped": dict(sorted(self.dropped.items())),
            "neutral_removed": self.neutral_removed,
        }


class ConsistencyFilter:
    """Judge each triplet; :meth:`check` returns a drop reason or None (keep).

    ``neutral_tolerance``: when set, a neutral rewrite scored further than this from ``good`` is
    removed from the record (the triplet itself is kept) and counted.
    """

    def __init__(self, scorer: Scorer, neutral_tolerance: float | None = None):
        self.scorer, self.neutral_tolerance = scorer, neutral_tolerance
        self.report = FilterReport()

    def check(self, record: TripletRecord) -> str | None:
        answers = [record.good] + ([record.medium] if record.medium is not None else []) + [record.poor]
        check_neutral = self.neutral_tolerance is not None and record.neutral is not None
        if check_neutral:
            answers.append(record.neutral)  # type: ignore[arg-type]
        scores = list(self.scorer([record.prompt] * len(answers), answers, record.dimension))
        self.report.checked += 1
        if check_neutral and abs(scores.pop() - scores[0]) > self.neutral_tolerance:  # type: ignore[operator]
            record.neutral = None
            self.report.neutral_removed += 1
        reason = None
        if record.medium is not None:
            good, medium, poor = scores
            if not good > medium:
                reason = "judge: good <= medium"
            elif not medium > poor:
                reason = "judge: medium <= poor"
        elif not scores[0] > scores[1]:
            reason = "judge: good <= poor"
        if reason is None:
            self.report.kept += 1
        else:
            self.report.dropped[f"{reason} ({record.dimension})"] += 1
        return reason
