"""Spurious-feature variants: deterministic, content-preserving, and unlike anything the template
generator (the training data) produces."""

from __future__ import annotations

import re

import pytest

from mrrml.data.records import TripletRecord, read_records
from mrrml.data.synth.runner import SynthSettings, run_synthesis
from mrrml.data.synth.template_backend import TemplateBackend
from mrrml.errors import ConfigError
from mrrml.eval.quality.variants import (
    FILLER_SENTENCES,
    POLITE_OPENINGS,
    POLITE_SIGN_OFFS,
    VARIANT_KINDS,
    asks_for_format,
    make_variant,
)
from mrrml.resources import shipped_matrix
from mrrml.standards.loader import load_matrix


@pytest.fixture(scope="module")
def template_records(tmp_path_factory) -> list[TripletRecord]:
    """Records of both shipped matrices (every template operator), all with a neutral rewrite."""
    records: list[TripletRecord] = []
    for name in ("healthbench", "mr-rml"):
        matrix = load_matrix(shipped_matrix(name))
        out = tmp_path_factory.mktemp(f"synth-{name}")
        run_synthesis(
            matrix, TemplateBackend(matrix, 3), SynthSettings(n=160, seed=3, neutral_rate=1.0), out, fsync=False
        )
        for split in ("train", "val", "test"):
            records += read_records(out / f"{split}.jsonl").records
    return records


def _answers(record: TripletRecord) -> list[str]:
    return [a for a in (record.good, record.medium, record.poor, record.neutral) if a is not None]


def test_variant_wording_and_markup_never_occur_in_generated_answers(template_records):
    """The evaluation variants differ in wording and kind from the generator's surface rewrites."""
    phrases = (*FILLER_SENTENCES, *POLITE_OPENINGS, *POLITE_SIGN_OFFS)
    for record in template_records:
        for answer in _answers(record):
            assert not any(p in answer for p in phrases), record.id
            assert not re.search(r"^\* |^#{1,6} ", answer, re.M), record.id  # no `*` bullets, no ATX headings
            assert not re.search(r"^[-*]\s+\*\*", answer, re.M), record.id  # no bold lead-ins


def test_variants_are_not_the_neutral_rewrite(template_records):
    for record in template_records[:40]:
        for kind in VARIANT_KINDS:
            variant = make_variant(record.good, kind, key=record.id, prompt=record.prompt)
            assert variant != record.neutral


def _words(text: str) -> list[str]:
    return re.sub(r"[*#]|^\s*(\d+[.)]|-)\s", " ", text, flags=re.M).split()


def test_variants_keep_the_content(template_records):
    for record in template_records[:40]:
        answer = record.poor
        filler = make_variant(answer, "filler", key=record.id)
        polite = make_variant(answer, "polite", key=record.id)
        reordered = make_variant(answer, "reorder", key=record.id)
        paragraphs = answer.split("\n\n")
        # filler: every original paragraph, in order, plus a block of about half the length again
        kept = [p for p in filler.split("\n\n") if p in paragraphs]
        assert kept == paragraphs
        assert len(filler.split()) >= 1.5 * len(answer.split())
        assert answer in polite and len(polite.split("\n\n")) == len(paragraphs) + 2
        # reorder: same words, same first and last paragraph, different text
        assert reordered is not None and reordered != answer
        assert sorted(_words(reordered)) == sorted(_words(answer))
        assert reordered.split("\n\n")[0] == paragraphs[0] and reordered.split("\n\n")[-1] == paragraphs[-1]
        if not asks_for_format(record.prompt):
            markdown = make_variant(answer, "markdown", key=record.id, prompt=record.prompt)
            assert sorted(_words(markdown)) == sorted(_words(answer))
            assert all(line.startswith(("* ", "### ")) for line in markdown.splitlines() if line)


def test_reorder_keeps_list_numbering():
    text = "Opening line.\n\n1. Alpha one.\n2. Beta two.\n3. Gamma three.\n4. Delta four.\n\nClosing line."
    out = make_variant(text, "reorder", key="r")
    middle = out.split("\n\n")[1].splitlines()
    assert [line.split(" ", 1)[0] for line in middle] == ["1.", "2.", "3.", "4."]
    assert sorted(line.split(" ", 1)[1] for line in middle) == sorted(
        line.split(" ", 1)[1] for line in text.split("\n\n")[1].splitlines()
    )


def test_variants_are_deterministic_per_seed_and_key(template_records):
    record = template_records[0]
    for kind in ("filler", "polite", "reorder"):
        first = make_variant(record.good, kind, key=record.id, seed=5)
        assert first == make_variant(record.good, kind, key=record.id, seed=5)
    draws = {make_variant(record.good, "filler", key=record.id, seed=s) for s in range(6)}
    assert len(draws) > 1  # the seed matters


def test_where_a_kind_could_change_quality_it_is_not_applied():
    answer = "Hello.\n\n- one thing.\n- two things.\n\nBye."
    assert asks_for_format("Please answer in bullet points.")
    assert asks_for_format([{"role": "system", "content": "x"}, {"role": "user", "content": "Write it as prose."}])
    assert not asks_for_format("What should I do about my cough?")
    assert make_variant(answer, "markdown", key="k", prompt="Use bullet points please.") is None
    assert make_variant(answer, "markdown", key="k", prompt="What should I do?") is not None
    assert make_variant(answer, "polite", key="k", operator="empathy") is None
    assert make_variant(answer, "polite", key="k", operator="accuracy") is not None
    assert make_variant(answer, "reorder", key="k") is None  # no block of three to reorder
    with pytest.raises(ConfigError, match="variants"):
        make_variant(answer, "shouting", key="k")
