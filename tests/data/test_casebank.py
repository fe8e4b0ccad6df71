"""The case bank's size and hygiene, and the rule judge's independence from the generator's wording."""

from __future__ import annotations

import re
from collections import Counter

import pytest

from mrrml.data.synth import filter as F
from mrrml.data.synth.answers import render
from mrrml.data.synth.casebank import shipped_casebank
from mrrml.data.synth.phrasing import shipped_phrasing
from mrrml.data.synth.template import OPERATORS, make_case

P = shipped_phrasing()
CASEBANK = shipped_casebank().disciplines
GENERIC_POOL = shipped_casebank().generic_pool
MODIFIERS = shipped_casebank().modifiers

TRIAGE = {"emergency", "urgent", "routine"}
WHO = {"self", "child", "carer", "event"}


def _answer_texts() -> list[str]:
    """Every piece of bank content that a *good* answer can contain."""
    texts: list[str] = []
    for c in GENERIC_POOL:
        texts += [c.name, c.direct, c.escalation, c.rationale[0], c.differential, *c.elements, *c.red_flags]
        texts += [good for good, _ in c.facts]
    for m in MODIFIERS.values():
        texts += [m.tailored, m.ask]
    return texts


def test_every_discipline_has_at_least_five_complete_conditions(healthbench_matrix, mrrml_matrix):
    for discipline in set(healthbench_matrix.discipline_ids) | set(mrrml_matrix.discipline_ids):
        assert len(CASEBANK.get(discipline, ())) >= 5, discipline
    for c in GENERIC_POOL:
        assert c.id and c.name and c.direct and c.escalation and c.differential, c.id
        assert c.triage in TRIAGE and c.who in WHO, c.id
        assert len(c.symptoms) >= 2 and len(c.facts) >= 3 and len(c.elements) >= 3 and len(c.red_flags) >= 3, c.id
        assert all(s.strip() for s in (*c.symptoms, *c.elements, *c.red_flags)), c.id
        for good, wrong in (*c.facts, c.rationale):
            assert good and wrong and good != wrong and good not in wrong and wrong not in good, (c.id, good)
        assert c.modifiers and all(m in MODIFIERS for m in c.modifiers), c.id
        assert len(set(c.modifiers)) == len(c.modifiers), c.id
        if c.who == "child" or {"child", "infant"} & set(c.modifiers):  # read as "My child has {symptom}."
            assert not any(re.search(r"\b(?:my|I|me|I'm|I've)\b", s) for s in c.symptoms), c.id


def test_condition_content_is_distinct_across_the_bank():
    """No copy-paste: condition-specific sentences occur once in the whole bank (warning signs and
    escalation lines may legitimately repeat between conditions, so they are not checked)."""
    assert len({c.id for c in GENERIC_POOL}) == len({c.name for c in GENERIC_POOL}) == len(GENERIC_POOL)
    sentences = Counter()
    for c in GENERIC_POOL:
        sentences.update([c.direct, c.differential, *c.rationale, *c.symptoms, *c.elements])
        sentences.update(s for pair in c.facts for s in pair)
    assert [text for text, n in sentences.items() if n > 1] == []


def test_modifiers_are_many_distinct_and_all_used():
    assert len(MODIFIERS) >= 14
    used = {m for c in GENERIC_POOL for m in c.modifiers}
    assert used == set(MODIFIERS), set(MODIFIERS) - used
    texts = Counter()
    for m in MODIFIERS.values():
        assert len(m.statements) >= 2 and m.tailored and m.contradict and m.ask, m.id
        texts.update([*m.statements, m.tailored, m.contradict, m.ask])
    assert [t for t, n in texts.items() if n > 1] == []


def test_good_content_trips_none_of_the_judges_negative_cues():
    """A good answer must not look jargon-laden, falsely reassuring or dismissive to the rule judge,
    and no judged sentence may hide inside another piece of content (which would blur the counts)."""
    negative = F._REASSURE + F._DISMISSIVE
    for text in _answer_texts():
        assert not F._JARGON.search(text), (F._JARGON.findall(text), text)
        assert not any(cue in text.lower() for cue in negative), text
    judged = [s for c in GENERIC_POOL for pair in (*c.facts, c.rationale) for s in pair]
    judged += [e for c in GENERIC_POOL for e in c.elements] + [m.tailored for m in MODIFIERS.values()]
    judged += [m.contradict for m in MODIFIERS.values()]
    everything = set(_answer_texts()) | set(judged)
    for sentence in judged:
        hosts = [t for t in everything if sentence in t and t != sentence]
        assert not hosts, (sentence, hosts)


def test_judge_jargon_lexicon_is_its_own_but_covers_every_generator_rewrite():
    """The judge does not import the generator's jargon table, yet recognises every rewrite it makes."""
    source = open(F.__file__, encoding="utf-8").read()
    assert "jargon_markers" not in source and ".phrasing" not in source and "import phrasing" not in source
    for plain, _ in P.jargon:
        assert F._JARGON.search(P.to_jargon(f"Ask about the {plain}.")), plain
    assert F._JARGON.search(P.to_jargon("Rest and keep warm."))  # the shorthand fallback


def test_phrase_set_counts_like_a_plain_scan():
    """The indexed phrase counter agrees with a naive substring scan on real generated answers."""
    sets = {
        "correct": [g for c in GENERIC_POOL for g, _ in c.facts],
        "wrong": [w for c in GENERIC_POOL for _, w in c.facts],
        "elements": [e for c in GENERIC_POOL for e in c.elements],
        "flags": [f for c in GENERIC_POOL for f in c.red_flags],
    }
    indexed = {k: F.PhraseSet(v) for k, v in sets.items()}
    for i in range(120):
        case = make_case(
            3, i, "complex_responses", list(CASEBANK)[i % len(CASEBANK)], OPERATORS[i % len(OPERATORS)], True
        )
        for answer in (case.good, case.medium, case.poor, case.neutral):
            text = render(answer)
            for k, phrases in sets.items():
                assert indexed[k].count(text) == sum(1 for p in set(phrases) if p in text), (k, text)


@pytest.mark.parametrize(
    "scenario",
    [
        "emergency_referrals",
        "context_seeking",
        "global_health",
        "pediatric_consultation",
        "health_data_tasks",
        "hedging",
    ],
)
def test_every_condition_renders_clean_prompts(scenario):
    """Every condition and modifier fills its templates (no stray braces) under each prompt style."""
    seen: set[str] = set()
    for discipline in CASEBANK:
        for i in range(60):
            case = make_case(1, i, scenario, discipline, "context", neutral=False)
            seen.add(case.condition.id)
            assert not re.search(r"[{}]", case.prompt), case.prompt
            assert not re.search(r"[{}]", render(case.good)), case.condition.id
            if scenario == "global_health" and {"remote", "low_resource"} & set(case.condition.modifiers):
                assert case.modifier.id in ("remote", "low_resource")
    assert seen == {c.id for c in GENERIC_POOL}
