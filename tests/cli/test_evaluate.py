"""``mrrml evaluate`` run for real: a tiny saved reward model (real Qwen3 backbone and tokenizer) on
small template test sets made as the methodology says (held-out conditions from ``--holdout
conditions``, held-out prompts from a second seed, both filtered with the training split)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mrrml.cli import main
from mrrml.data.records import read_records
from mrrml.eval.quality.bootstrap import Estimate
from mrrml.eval.quality.holdout import filter_held_out
from mrrml.eval.quality.summary import fmt

DIMS = ["accuracy", "communication_quality", "completeness", "context_awareness", "instruction_following"]


@pytest.fixture(scope="module")
def test_sets(tmp_path_factory) -> dict[str, Path]:
    """`mrrml synth --holdout conditions --seed 0` (train + held-out conditions) and `--seed 1` (prompts)."""
    root = tmp_path_factory.mktemp("evaluate-data")
    for holdout, seed in (("conditions", 0), ("prompt", 1)):
        argv = ["synth", "--out", str(root / holdout), "--n", "60", "--seed", str(seed), "--holdout", holdout]
        assert main([*argv, "--val_frac", "0.1", "--test_frac", "0.15", "--quiet"]) == 0
    return {
        "train": root / "conditions" / "train.jsonl",
        "held_out_conditions": root / "conditions" / "test.jsonl",
        "held_out_prompts": root / "prompt" / "test.jsonl",
    }


def _argv(rm_dir: Path, sets: dict[str, Path], **extra: str) -> list[str]:
    argv = ["evaluate", "--model", str(rm_dir), "--device", "cpu", "--variants", "[filler, markdown]"]
    argv += ["--best_of_n", "[1, 2]", "--draws", "10", "--n_boot", "50", "--healthbench_limit", "3"]
    for name, path in sets.items():
        argv += [f"--{name}", str(path)]
    for name, value in extra.items():
        argv += [f"--{name}", value]
    return argv


def test_evaluate_writes_the_report_and_prints_its_tables(rm_dir, test_sets, tmp_path, capsys):
    out = tmp_path / "quality.json"
    config = tmp_path / "evaluate.yaml"
    capsys.readouterr()
    assert main([*_argv(rm_dir, test_sets, out=str(out)), "--print_config"]) == 0
    config.write_text(capsys.readouterr().out)
    assert main(["evaluate", "-c", str(config)]) == 0  # the printed config runs the same job
    printed = capsys.readouterr().out
    report = json.loads(out.read_text())

    assert report["inputs"]["model"] == str(rm_dir) and report["inputs"]["healthbench_limit"] == 3
    assert report["settings"]["variants"] == ["filler", "markdown"] and report["settings"]["best_of_n"] == [1, 2]
    train = read_records(test_sets["train"], kind="triplet").records
    for name, kind in (("held_out_prompts", "prompts"), ("held_out_conditions", "conditions")):
        kept, dropped = filter_held_out(read_records(test_sets[name], kind="triplet").records, train, kind)
        result = report["test_sets"][name]
        assert (result["records"], result["dropped"]) == (len(kept), dropped) and kept
        accuracy = result["views"]["head"]["accuracy"]
        assert set(accuracy) <= {*DIMS, "all"} and "all" in accuracy
        order = accuracy["all"]["order"]
        assert 0 <= order["low"] <= order["value"] <= order["high"] <= 1
        robustness = result["views"]["head"]["robustness"]["all"]["outrank"]
        assert {"filler", "markdown"} <= set(robustness) and "polite" not in robustness
        curve = result["views"]["reward"]["best_of_n"]["all"]
        assert curve["n"] == [1, 2] and all(0 <= e["value"] <= 2 for e in curve["model"])
    judges = report["physician"]["judges"]
    assert {"model", "random", "prefer_longer", "prefer_more_markdown"} <= set(judges)
    assert judges["random"]["overall"]["value"] == 0.5 and judges["model"]["overall"]["count"] > 0

    # the console shows the same numbers as the file
    assert "Accuracy per dimension" in printed and "Physician preference by theme" in printed
    order = report["test_sets"]["held_out_conditions"]["views"]["head"]["accuracy"]["all"]["order"]
    assert fmt(Estimate(order["value"], order["low"], order["high"], order["units"], order["count"])) in printed


def test_a_second_evaluation_reads_the_feature_cache(rm_dir, test_sets, tmp_path):
    """--feature_cache_dir: the same report as scoring through the model; a second evaluation of a model
    on the same backbone adds nothing to the cache (every answer's features are read back)."""
    plain, cold, warm = (tmp_path / f"{name}.json" for name in ("plain", "cold", "warm"))
    cache = tmp_path / "features"
    assert main(_argv(rm_dir, test_sets, out=str(plain), healthbench="none")) == 0
    assert main(_argv(rm_dir, test_sets, out=str(cold), healthbench="none", feature_cache_dir=str(cache))) == 0
    shards = sorted(p.name for p in cache.rglob("*") if p.is_file())
    assert shards
    assert main(_argv(rm_dir, test_sets, out=str(warm), healthbench="none", feature_cache_dir=str(cache))) == 0
    assert sorted(p.name for p in cache.rglob("*") if p.is_file()) == shards
    reports = [json.loads(path.read_text())["test_sets"] for path in (plain, cold, warm)]
    for name in ("held_out_prompts", "held_out_conditions"):
        orders = [r[name]["views"]["head"]["accuracy"]["all"]["order"]["value"] for r in reports]
        curves = [[e["value"] for e in r[name]["views"]["reward"]["best_of_n"]["all"]["model"]] for r in reports]
        assert orders[0] == orders[1] == orders[2]
        assert curves[0] == pytest.approx(curves[1], abs=1e-6) and curves[1] == curves[2]


def test_missing_file_is_named(rm_dir, test_sets, tmp_path, capsys):
    missing = tmp_path / "nope.jsonl"
    sets = {**test_sets, "held_out_conditions": missing}
    assert main(_argv(rm_dir, sets, healthbench="none")) == 1
    assert f"--held_out_conditions {missing}: no such file" in capsys.readouterr().err
    assert main(_argv(tmp_path / "no-model", test_sets)) == 1
    assert "--model" in capsys.readouterr().err


def test_records_of_another_matrix_fail_naming_the_key(rm_dir, test_sets, tmp_path, capsys):
    lines = test_sets["held_out_conditions"].read_text().splitlines()
    record = json.loads(lines[1])
    record["dimension"] = "bedside_manner"  # not a dimension of the model's matrix
    bad = tmp_path / "other-matrix.jsonl"
    bad.write_text("\n".join([lines[0], json.dumps(record), *lines[2:]]) + "\n")
    assert main(_argv(rm_dir, {**test_sets, "held_out_conditions": bad}, healthbench="none")) == 1
    err = capsys.readouterr().err
    assert f"{bad}:2: dimension: unknown dimension 'bedside_manner'" in err


def test_bad_settings_fail_before_scoring(rm_dir, test_sets, capsys):
    assert main(_argv(rm_dir, test_sets, variants="[filler, emoji]", healthbench="none")) == 1
    assert "variants" in capsys.readouterr().err
    assert main(["evaluate", "--held_out_conditions", str(test_sets["held_out_conditions"])]) == 2  # no --model
