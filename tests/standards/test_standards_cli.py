"""``mrrml standards``: exit codes and output of validate, show, new and schema, via the real entry point."""

from __future__ import annotations

import json
import re

import pytest

from mrrml.cli import main
from mrrml.resources import shipped_matrix
from mrrml.standards.loader import load_matrix, load_matrix_text
from mrrml.standards.scaffold import scaffold

HB = str(shipped_matrix("healthbench"))
MR = str(shipped_matrix("mr-rml"))


@pytest.fixture(autouse=True)
def wide_terminal(monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")


def test_validate_shipped_matrices_ok(capsys):
    assert main(["standards", "validate", HB, MR]) == 0
    out = capsys.readouterr().out
    assert f"OK {HB}: healthbench v1.0: 5 dimensions, 7 scenarios, 10 disciplines, 69/70 applicable cells" in out
    assert f"OK {MR}: mr-rml v1.0: 4 dimensions, 6 scenarios, 8 disciplines, 47/48 applicable cells" in out


def test_validate_reports_every_problem_and_fails(tmp_path, tiny_with, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text(tiny_with(8, "    template_operator: acuracy").replace("points: 5", "points: 0"), encoding="utf-8")
    assert main(["standards", "validate", HB, str(bad)]) == 1
    out = capsys.readouterr().out
    assert f"OK {HB}" in out
    assert f"FAILED {bad}: 2 problem(s)" in out
    assert f"{bad}:8: dimensions[accuracy].template_operator: unknown value 'acuracy'" in out
    assert f"{bad}:11: dimensions[accuracy].criteria[0].points: points must not be 0" in out


def test_validate_yaml_syntax_error(tmp_path, capsys):
    bad = tmp_path / "broken.yaml"
    bad.write_text("name: x\ndimensions: [a, b\n", encoding="utf-8")
    assert main(["standards", "validate", str(bad)]) == 1
    assert re.search(rf"{re.escape(str(bad))}:3: YAML syntax error", capsys.readouterr().out)


def test_show_cell_weights_sum_to_one(capsys):
    assert main(["standards", "show", HB, "--scenario", "communication", "--discipline", "psychiatry"]) == 0
    out = capsys.readouterr().out
    weights = load_matrix(HB).cell_weights("communication", "psychiatry")
    for dim, w in weights.items():
        assert re.search(rf"{dim}\b.*{w:.3f}", out), dim
    assert re.search(r"total.*1\.000", out)
    assert "How a mental-health message is phrased" in out


def test_show_full_matrix_lists_every_applicable_cell(capsys):
    assert main(["standards", "show", MR]) == 0
    out = capsys.readouterr().out
    matrix = load_matrix(MR)
    rows = [line for line in out.splitlines() if re.match(r"^│ \w+\s+│ \w+\s+│\s+\d\.\d{3}", line)]
    assert len(rows) == len(matrix.applicable_cells())
    for row in rows:
        numbers = [float(x) for x in re.findall(r"\d\.\d{3}", row)]
        assert len(numbers) == 4 and abs(sum(numbers) - 1) < 3e-3
    assert "Dimensions of mr-rml" in out and "Cells marked not applicable" in out


def test_show_scenario_only_and_errors(capsys):
    assert main(["standards", "show", HB, "-s", "hedging"]) == 0
    out = capsys.readouterr().out
    assert out.count("│ hedging ") == 10
    assert main(["standards", "show", HB, "-s", "hedgin"]) == 1
    assert "no scenario 'hedgin'" in capsys.readouterr().err
    assert main(["standards", "show", HB, "-s", "global_health", "-c", "surgery"]) == 1
    assert "marked not applicable" in capsys.readouterr().err


def test_new_scaffold_validates_and_refuses_to_overwrite(tmp_path, capsys):
    out = tmp_path / "mine.yaml"
    assert main(["standards", "new", "cardiac rehab: v2", "--out", str(out)]) == 0
    text = out.read_text(encoding="utf-8")
    assert text.count("#") > 15
    matrix = load_matrix(out)
    assert matrix.name == "cardiac rehab: v2"
    assert main(["standards", "validate", str(out)]) == 0
    assert main(["standards", "new", "other", "--out", str(out)]) == 1
    assert "exists" in capsys.readouterr().err
    assert out.read_text(encoding="utf-8") == text
    assert main(["standards", "new", "other", "--out", str(out), "--force"]) == 0
    assert load_matrix(out).name == "other"


def test_new_to_stdout_matches_scaffold(capsys):
    assert main(["standards", "new", "demo"]) == 0
    text = capsys.readouterr().out
    assert text == scaffold("demo")
    assert load_matrix_text(text).applicable_cells() == [
        ("emergency_triage", "nursing"),
        ("emergency_triage", "pharmacy"),
        ("chronic_care", "nursing"),
    ]


def test_schema_command(tmp_path, capsys):
    assert main(["standards", "schema"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["$schema"].endswith("2020-12/schema")
    out = tmp_path / "schema.json"
    assert main(["standards", "schema", "--out", str(out)]) == 0
    assert json.loads(out.read_text(encoding="utf-8")) == printed


def test_usage_errors_exit_2(capsys):
    # main returns the exit status of usage errors (it no longer leaks argparse's SystemExit)
    assert main(["standards"]) == 2
    assert main(["standards", "frobnicate"]) == 2
    assert "unknown command 'frobnicate'" in capsys.readouterr().err
    assert main(["standards", "validate"]) == 2  # FILE... is required
