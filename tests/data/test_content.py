"""The template generator's content files: shipped files valid and documented, every mistake in a
copy reported at once as file:line: key.path: message, and output unchanged by the move to YAML."""

from __future__ import annotations

import hashlib
import re
import shutil
from pathlib import Path

import pytest

from mrrml.data.synth.casebank import CONDITION, MODIFIER, read_casebank, shipped_casebank
from mrrml.data.synth.content_files import CONTENT_DIR, require
from mrrml.data.synth.filter import ConsistencyFilter, RuleJudge
from mrrml.data.synth.phrasing import PHRASING
from mrrml.data.synth.runner import SynthSettings, run_synthesis
from mrrml.data.synth.template import generator_fingerprint, validate_content
from mrrml.data.synth.template_backend import TemplateBackend
from mrrml.errors import ContentError, MrrmlError
from mrrml.resources import shipped_matrix
from mrrml.standards.loader import load_matrix, load_matrix_text
from tests.standards.conftest import TINY


@pytest.fixture
def content(tmp_path) -> Path:
    """A private copy of the shipped content folder, to break."""
    return Path(shutil.copytree(CONTENT_DIR, tmp_path / "content"))


def edit(path: Path, old: str, new: str) -> int:
    """Replace the first occurrence of ``old`` after the header comment; the 1-based line it starts on."""
    text = path.read_text(encoding="utf-8")
    at = text.index(old, text.index("\n\n"))
    path.write_text(text[:at] + new + text[at + len(old) :], encoding="utf-8")
    return text.count("\n", 0, at) + 1


def append(path: Path, line: str) -> int:
    """Add ``line`` at the end of the file; its 1-based line number."""
    text = path.read_text(encoding="utf-8")
    path.write_text(text + line + "\n", encoding="utf-8")
    return text.count("\n") + 1


def test_shipped_content_is_valid_and_loads():
    assert validate_content() == []
    bank = shipped_casebank()
    assert len(bank.generic_pool) >= 50 and len(bank.modifiers) >= 14


def test_every_shipped_file_documents_its_fields_at_the_top():
    """A clinician opening any file finds each field it may hold explained in its header comment."""
    files = {
        "phrasing.yaml": PHRASING.keys,
        "modifiers.yaml": MODIFIER.keys,
        "disciplines.yaml": {"disciplines": ""},
        **{f"conditions/{p.name}": CONDITION.keys for p in (CONTENT_DIR / "conditions").glob("*.yaml")},
    }
    assert len(files) >= 13
    for name, keys in files.items():
        text = (CONTENT_DIR / name).read_text(encoding="utf-8")
        header = text[: text.index("\n\n", text.index("\n#\n"))]
        assert all(line.startswith("#") for line in header.splitlines()), name
        for key in keys:
            assert re.search(rf"^#\s+{key}\s", header, re.M), (name, key)


def test_every_kind_of_mistake_is_located_and_all_are_reported_at_once(content):
    """One copy with a dozen mistakes spread over every file: one call reports each at its line."""
    im = content / "conditions" / "internal_medicine.yaml"
    ped = content / "conditions" / "pediatrics.yaml"
    mods, phr, index = content / "modifiers.yaml", content / "phrasing.yaml", content / "disciplines.yaml"
    t2dm = "conditions[t2dm_hyperglycaemia]"
    first = edit(im, "  - id: t2dm_hyperglycaemia", "  - id: t2dm_hyperglycaemia")
    expected = [  # (file, line, key path, message) of each mistake made below
        (im, edit(im, "    triage: urgent\n", "    triage: [urgent]\n"), f"{t2dm}.triage",
         "expected one of emergency, urgent, routine, got a list"),
        (im, edit(im, "        wrong: High blood sugar only matters if you feel unwell; readings alone do no harm.\n", "") - 1,
         f"{t2dm}.facts[0]", "missing required key 'wrong' in fact"),
        (im, edit(im, "        wrong: An HbA1c test shows your blood sugar at the exact moment the sample is taken.",
                  "        wrong: An HbA1c test shows your average blood sugar"), f"{t2dm}.facts[1].wrong",
         "the wrong version must differ from the correct one and neither may contain the other"),
        (im, edit(im, "    differential: an infection", "    diferential: an infection"), f"{t2dm}.diferential",
         "unknown key 'diferential' in condition; did you mean 'differential'?"),
        (im, first, t2dm, "missing required key 'differential' in condition"),
        (im, edit(im, "modifiers: [ckd, elderly, remote]", "modifiers: [ckd, eldery, remote]"), f"{t2dm}.modifiers[1]",
         "unknown modifier 'eldery'; did you mean 'elderly'?"),
        (ped, edit(ped, "  - id: toddler_fever", "  - id: t2dm_hyperglycaemia"), f"{t2dm}.id",
         f"duplicate condition id 't2dm_hyperglycaemia' (first given at conditions/internal_medicine.yaml:{first})"),
        (mods, edit(mods, "  hours: [2, 3, 4, 5, 6]", "  hours: [2, [3], 4, 5, 6]"), "placeholders.hours[1]",
         "expected a number or text, got a list"),
        (mods, edit(mods, "  - I'm {weeks} weeks pregnant", "  - I'm {week} weeks pregnant"),
         "modifiers[pregnancy].statements[0]", "unknown placeholder '{week}'; this text may use {weeks}, {child_age}"),
        (mods, edit(mods, "    patient_is_child: true", '    patient_is_child: "yes"'),
         "modifiers[child].patient_is_child", "expected true or false, got a string"),
        (mods, append(mods, "  - {id: pregnancy, statements: [x], tailored: t, contradict: c, ask: a}"),
         "modifiers[21].id", "duplicate modifier id 'pregnancy' (first given at line"),
        (mods, edit(mods, "preferred_in_scenarios: [global_health]", "preferred_in_scenarios: [global_helth]"),
         "modifiers[remote].preferred_in_scenarios[0]", "unknown scenario 'global_helth'; did you mean 'global_health'?"),
        (index, edit(index, "  - nursing\n", "  - nursng\n"), "disciplines[6]",
         "unknown discipline 'nursng'; did you mean 'nursing'?"),
        (phr, edit(phr, "  emergency_referrals:", "  emergency_referral:"), "framings.emergency_referral",
         "unknown scenario 'emergency_referral'; did you mean 'emergency_referrals'?"),
        (phr, edit(phr, "  routine:", "  routin:"), "triage_leads.routin",
         "unknown key 'routin' in triage_leads; did you mean 'routine'?"),
        (phr, edit(phr, "  - Get urgent help if you notice {flags}.", "  - Get urgent help."), "red_flag_leads[0]",
         "must contain {flags}"),
        (phr, edit(phr, "  - A clinician will also consider {differential}.", "  - A clinician will also consider {differential."),
         "differential_leads[2]", "broken placeholder ("),
    ]  # fmt: skip
    problems = validate_content(content)
    reported = [str(p) for p in problems]
    for path, line, key, message in expected:
        assert any(r.startswith(f"{path}:{line}: {key}: {message}") for r in reported), (line, key, reported)
    text = "\n".join(reported)
    assert "missing required key 'routine' in triage_leads" in text
    # a misspelt id is reported once, not again as an uncovered discipline or scenario or an unread file
    assert "nursing.yaml: not listed" not in text and "of the shipped matrix" not in text
    assert len(problems) == len(expected) + 1, text
    # the generator refuses the copy with the same problems (those of the case bank's files)
    with pytest.raises(ContentError) as info:
        require(read_casebank(content))
    assert isinstance(info.value, MrrmlError)
    assert [str(p) for p in info.value.problems] == [r for r in reported if "phrasing.yaml" not in r]


def test_syntax_errors_and_missing_files_do_not_hide_other_files_problems(content):
    surgery = content / "conditions" / "surgery.yaml"
    line = edit(surgery, "  - id: ", "  - id: [unclosed\n  - id: ")
    (content / "conditions" / "psychiatry.yaml").unlink()
    (content / "conditions" / "dermatology.yaml").write_text("conditions: []\n", encoding="utf-8")
    (content / "phrasing.yaml").write_text("# nothing yet\n", encoding="utf-8")
    index = content / "disciplines.yaml"
    psych = index.read_text().splitlines().index("  - psychiatry") + 1
    text = "\n".join(str(p) for p in validate_content(content))
    assert re.search(rf"{re.escape(str(surgery))}:{line + 1}: YAML syntax error: ", text), text
    assert f"{index}:{psych}: disciplines[4]: no file conditions/psychiatry.yaml for 'psychiatry'" in text
    assert f"{content}/conditions/dermatology.yaml: not listed in disciplines.yaml, so it is never read" in text
    assert f"{content}/phrasing.yaml:1: the document is empty; expected a phrasing file" in text


def test_jargon_entry_that_could_never_apply_is_reported(content):
    phr = content / "phrasing.yaml"
    line = edit(phr, "  blood sugar: serum glucose\n", "  blood sugar: serum glucose\n  blood sugar level: glycaemia\n")
    assert f"{phr}:{line + 1}: jargon.blood sugar level: never applies: the earlier entry 'blood sugar'" in "\n".join(
        str(p) for p in validate_content(content)
    )


def test_fingerprint_covers_the_content_files(content):
    before = generator_fingerprint(content)
    assert before == generator_fingerprint(CONTENT_DIR)
    edit(content / "phrasing.yaml", "  - Fine, here are the facts.", "  - Fine, here are the facts, then.")
    assert generator_fingerprint(content) != before


# Digests of train/val/test.jsonl written by main's Python case bank and phrasing tables (before the
# move to YAML) for these settings: the move must not change a byte of output. The tiny matrix adds a
# discipline the bank does not know to its two unknown scenarios, so the generic fallbacks are pinned too.
UNKNOWN_IDS = TINY.replace("cells:\n", "  - id: dermatology\n    name: Dermatology\n    description: Skin.\ncells:\n")
PINNED = [
    ("healthbench", dict(n=200, seed=0), "915a3dc5f893f252a78ae6833420b1790b731ae2178c4c54e673c06a673ca407"),
    (
        "healthbench",
        dict(n=200, seed=0, holdout="conditions"),
        "2a3a026b2c4f66cb46b62f3039860f343e9da70d76f3a2f01b1e67aa81ba4d22",
    ),
    (
        "unknown-ids",
        dict(n=100, seed=3, holdout="conditions"),
        "2b8290a260aad0d4daa2483acce6cb465b65fbafa124735ff89c4f49f06119db",
    ),
]


@pytest.mark.parametrize(("matrix", "settings", "digest"), PINNED, ids=["prompt", "conditions", "generic"])
def test_synthesis_output_is_byte_identical_to_the_python_tables(tmp_path, matrix, settings, digest):
    m = load_matrix(shipped_matrix(matrix)) if matrix == "healthbench" else load_matrix_text(UNKNOWN_IDS)
    run_synthesis(
        m,
        TemplateBackend(m, settings["seed"]),
        SynthSettings(val_frac=0.1, test_frac=0.1, **settings),
        tmp_path,
        judge=ConsistencyFilter(RuleJudge(m), neutral_tolerance=0.0),
        fsync=False,
    )
    got = hashlib.sha256(b"".join((tmp_path / f"{s}.jsonl").read_bytes() for s in ("train", "val", "test")))
    assert got.hexdigest() == digest, "template output changed; if content or generator changed on purpose, re-pin"
