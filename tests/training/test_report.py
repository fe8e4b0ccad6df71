"""Reports (JSON + HTML with inline SVG) and the demo end to end at toy size."""

from __future__ import annotations

import json
import math
import xml.etree.ElementTree as ET

import pytest

from mrrml.cli import main
from mrrml.training.report import bar_chart, line_chart, write_report


def test_charts_are_well_formed_svg():
    bars = bar_chart("acc", ["a", "b"], {"GPRC": [0.9, float("nan")], "rank only": [0.5, 0.7]})
    root = ET.fromstring(bars)
    rects = [
        r
        for r in root.iter("{http://www.w3.org/2000/svg}rect")
        if r.find("{http://www.w3.org/2000/svg}title") is not None
    ]
    assert len(rects) == 3  # the NaN bar is left out
    heights = sorted(float(r.get("height")) for r in rects)
    assert heights[-1] == pytest.approx(0.9 / 0.5 * heights[0])
    lines = line_chart("terms", [0, 1, 2], {"rank": [1.0, 0.5, 0.25], "axis": [0.1, 0.1, 0.05]}, log_y=True)
    assert len(list(ET.fromstring(lines).iter("{http://www.w3.org/2000/svg}polyline"))) == 2


def test_write_report_files(tmp_path):
    json_path, html_path = write_report(
        tmp_path, {"title": "t <x>", "value": 1.5}, [("Section", bar_chart("c", ["d"], {"r": [0.5]}))]
    )
    assert json.loads(json_path.read_text())["value"] == 1.5
    page = html_path.read_text()
    assert "<svg" in page and "t &lt;x&gt;" in page and "matplotlib" not in page


@pytest.mark.slow
def test_demo_at_toy_size(tmp_path, capsys):
    """The demo through the fit CLI wiring, run from the config its --print_config wrote."""
    out = tmp_path / "demo"
    tiny = "{hidden_size: 32, intermediate_size: 64, num_hidden_layers: 1, num_attention_heads: 2, "
    tiny += "num_key_value_heads: 1, head_dim: 16}"
    overrides = ["--out", str(out), "--n", "50", "--trainer.max_steps", "3", "--model.backbone.tiny", tiny]
    overrides += ["--data.batch_size", "4", "--model.max_answer_tokens", "96", "--healthbench_limit", "4"]
    assert main(["demo", *overrides, "--print_config"]) == 0
    config = tmp_path / "demo.yaml"
    config.write_text(capsys.readouterr().out)
    assert main(["demo", "-c", str(config)]) == 0
    report = json.loads((out / "report.json").read_text())
    run = report["runs"][0]
    assert run["steps"] == 3 and report["synthesis"]["kept"] > 0
    assert report["settings"]["model"]["backbone"]["tiny"]["hidden_size"] == 32
    assert report["settings"]["data"]["train"][0]["path"] == str(out / "data" / "train.jsonl")
    assert "test/pairwise_acc/mean" in run["test"] and report["dimensions"][0] == "accuracy"
    assert run["healthbench"]["overall"]["pairs"] > 0 and 0 <= run["healthbench"]["overall"]["accuracy"] <= 1
    assert all(math.isfinite(h["loss"]) for h in report["history"]["GPRC"])
    assert (out / "model" / "heads.safetensors").exists() and "<svg" in (out / "report.html").read_text()
    assert (out / "config.yaml").exists()  # written by the fit wiring, as for `mrrml fit`


def test_export_recovers_from_a_kill_between_the_two_renames(tmp_path):
    """A kill after the old model was moved aside, before the new one arrived, must lose nothing."""
    from mrrml.training.callbacks import _recover_interrupted_export, export_model_dir

    class Saver:  # stands in for RewardModel.save_pretrained: only the directory swap is under test
        def save_pretrained(self, path):
            (path / "weights.txt").write_text("new")

    target = tmp_path / "model"
    old = tmp_path / ".model-old"
    old.mkdir()
    (old / "weights.txt").write_text("old")
    stale = tmp_path / ".model-abc123"
    stale.mkdir()
    _recover_interrupted_export(target, old)
    assert (target / "weights.txt").read_text() == "old" and not stale.exists()
    export_model_dir(Saver(), target)
    assert (target / "weights.txt").read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]
