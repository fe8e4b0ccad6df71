"""The typed matrix: cell weights exactly as docs/design.md §1 says, look-ups, criteria and round-trips."""

from __future__ import annotations

import math
import subprocess
import sys

import pytest

from mrrml.errors import ConfigError
from mrrml.resources import shipped_matrix
from mrrml.standards.loader import load_matrix, load_matrix_text
from mrrml.standards.matrix import Cell, Criterion, Dimension, Discipline, Scenario, StandardsMatrix

HEALTHBENCH_DIMS = ["accuracy", "completeness", "communication_quality", "context_awareness", "instruction_following"]
HEALTHBENCH_SCENARIOS = [
    "emergency_referrals",
    "context_seeking",
    "global_health",
    "health_data_tasks",
    "hedging",
    "communication",
    "complex_responses",
]
HEALTHBENCH_DISCIPLINES = [
    "internal_medicine",
    "pediatrics",
    "obstetrics",
    "cardiology",
    "psychiatry",
    "pharmacy",
    "nursing",
    "emergency_medicine",
    "surgery",
    "infectious_disease",
]
MRRML_DIMS = ["information_quality", "clinical_reasoning", "safety_compliance", "communication_empathy"]
MRRML_SCENARIOS = [
    "chronic_disease_management",
    "pediatric_consultation",
    "emergency_triage",
    "medication_consultation",
    "preventive_care",
    "mental_health_support",
]
MRRML_DISCIPLINES = [
    "internal_medicine",
    "surgery",
    "pharmacy",
    "nursing",
    "pediatrics",
    "cardiology",
    "psychiatry",
    "obstetrics",
]


@pytest.fixture(scope="module", params=["healthbench", "mr-rml"])
def shipped(request) -> StandardsMatrix:
    return load_matrix(shipped_matrix(request.param))


def test_shipped_ids_match_the_contract():
    hb = load_matrix(shipped_matrix("healthbench"))
    assert (hb.dimension_ids, hb.scenario_ids, hb.discipline_ids) == (
        HEALTHBENCH_DIMS,
        HEALTHBENCH_SCENARIOS,
        HEALTHBENCH_DISCIPLINES,
    )
    assert [d.template_operator for d in hb.dimensions] == [
        "accuracy",
        "completeness",
        "communication",
        "context",
        "instruction",
    ]
    mr = load_matrix(shipped_matrix("mr-rml"))
    assert (mr.dimension_ids, mr.scenario_ids, mr.discipline_ids) == (MRRML_DIMS, MRRML_SCENARIOS, MRRML_DISCIPLINES)
    assert [d.template_operator for d in mr.dimensions] == ["accuracy", "reasoning", "safety", "empathy"]


def test_shipped_rubrics_are_substantial(shipped):
    for dim in shipped.dimensions:
        assert len(dim.criteria) >= 6, dim.id
        assert any(c.points > 0 for c in dim.criteria) and any(c.points < 0 for c in dim.criteria), dim.id
        assert {c.kind for c in dim.criteria} == {"hard_rule", "principle"}, dim.id
        assert set(dim.levels) == {"good", "medium", "poor"}
    assert any(d.scale for d in shipped.disciplines)
    assert any(d.criteria for d in shipped.disciplines)
    assert any(c.weights for c in shipped.cells)
    assert any(not c.applicable and c.reason for c in shipped.cells)


def test_every_applicable_cell_sums_to_one(shipped):
    cells = shipped.applicable_cells()
    assert len(cells) == len(shipped.scenarios) * len(shipped.disciplines) - sum(
        not c.applicable for c in shipped.cells
    )
    for s, c in cells:
        weights = shipped.cell_weights(s, c)
        assert list(weights) == shipped.dimension_ids
        assert math.isclose(sum(weights.values()), 1.0, abs_tol=1e-12), (s, c)
        assert all(w >= 0 for w in weights.values())
    for scenario, discipline in [(None, None), (shipped.scenario_ids[0], None), (None, shipped.discipline_ids[-1])]:
        assert math.isclose(sum(shipped.weight_vector(scenario, discipline)), 1.0, abs_tol=1e-12)


def test_round_trip_through_yaml(shipped):
    again = load_matrix_text(shipped.to_yaml(), source="again.yaml")
    assert again == shipped
    assert again.source == "again.yaml"
    assert again.to_yaml() == shipped.to_yaml()


def _matrix(cells=()) -> StandardsMatrix:
    crit = (Criterion("ok", 1, "principle"),)
    levels = {"good": "g", "medium": "m", "poor": "p"}
    return StandardsMatrix(
        name="m",
        version="1",
        description="d",
        dimensions=tuple(Dimension(d, d, d, crit, levels, "accuracy") for d in ("a", "b", "c")),
        scenarios=(
            Scenario("s1", "S1", "", {"a": 2.0, "b": 1.0}),
            Scenario("s2", "S2", "", {"a": 1.0, "b": 1.0, "c": 2.0}),
        ),
        disciplines=(
            Discipline("x", "X", "", {"b": 3.0}, {"a": (Criterion("extra", -2, "hard_rule"),)}),
            Discipline("y", "Y", "", {}, {}),
        ),
        cells=tuple(cells),
    )


def test_cell_weight_formula_by_hand():
    m = _matrix([Cell("s2", "x", True, {"c": 0.0}), Cell("s2", "y", False, None, "n/a")])
    # s1 x: a=2*1, b=1*3, c absent -> 0 (scale cannot revive an unlisted dimension)
    assert m.cell_weights("s1", "x") == pytest.approx({"a": 0.4, "b": 0.6, "c": 0.0})
    assert m.raw_cell_weights("s1", "x") == {"a": 2.0, "b": 3.0, "c": 0.0}
    # s2 x with override c=0: a=1, b=3, c=0
    assert m.cell_weights("s2", "x") == pytest.approx({"a": 0.25, "b": 0.75, "c": 0.0})
    assert m.cell_weights("s1", "y") == pytest.approx({"a": 2 / 3, "b": 1 / 3, "c": 0.0})
    assert not m.is_applicable("s2", "y") and m.is_applicable("s1", "y")
    assert m.applicable_cells() == [("s1", "x"), ("s1", "y"), ("s2", "x")]
    with pytest.raises(ConfigError, match=r"not applicable \(n/a\)"):
        m.cell_weights("s2", "y")
    # the mean over s1's disciplines, and over x's scenarios
    assert m.weight_vector("s1") == pytest.approx([(0.4 + 2 / 3) / 2, (0.6 + 1 / 3) / 2, 0.0])
    assert m.weight_vector(discipline="x") == pytest.approx([(0.4 + 0.25) / 2, (0.6 + 0.75) / 2, 0.0])
    assert m.weight_vector("s1", "x") == pytest.approx([0.4, 0.6, 0.0])
    with pytest.raises(ConfigError, match="no applicable cell"):
        m.weight_vector("s2", "y")


def test_all_zero_cell_built_in_code_is_an_error():
    m = _matrix([Cell("s1", "y", True, {"a": 0.0, "b": 0.0})])
    with pytest.raises(ConfigError, match="all-zero weights"):
        m.cell_weights("s1", "y")


def test_lookups_name_the_unknown_id():
    m = _matrix()
    assert m.dimension("b").id == "b" and m.scenario("s2").id == "s2" and m.discipline("y").id == "y"
    for call, what in ((m.dimension, "dimension"), (m.scenario, "scenario"), (m.discipline, "discipline")):
        with pytest.raises(ConfigError, match=rf"no {what} 'zz'"):
            call("zz")
    with pytest.raises(ConfigError, match="no scenario 'nope'"):
        m.is_applicable("nope", "x")


def test_criteria_for_adds_discipline_criteria():
    m = _matrix()
    assert [c.text for c in m.criteria_for("a")] == ["ok"]
    assert [c.text for c in m.criteria_for("a", "x")] == ["ok", "extra"]
    assert [c.text for c in m.criteria_for("b", "x")] == ["ok"]
    hb = load_matrix(shipped_matrix("healthbench"))
    peds = hb.criteria_for("accuracy", "pediatrics")
    assert len(peds) == len(hb.dimension("accuracy").criteria) + 3
    assert any("Reye" in c.text and c.points < 0 for c in peds)


def test_version_keeps_its_written_form(tiny_with):
    assert load_matrix_text(tiny_with(2, "version: 1.10")).version == "1.10"
    m = load_matrix_text(tiny_with(2, "version: 2"))
    assert m.version == "2" and load_matrix_text(m.to_yaml()).version == "2"


def test_standards_layer_does_not_import_torch():
    code = (
        "import sys; import mrrml.standards, mrrml.standards.schema, mrrml.standards.scaffold, mrrml.cli.standards; "
        "print('torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_matrix_pickles_and_hashes(shipped):
    import pickle

    again = pickle.loads(pickle.dumps(shipped))  # DataLoader workers and checkpoints pickle it
    assert again == shipped and hash(again) == hash(shipped)
    s, c = again.applicable_cells()[-1]
    assert again.cell_weights(s, c) == shipped.cell_weights(s, c)
    assert {shipped: 1}[again] == 1
