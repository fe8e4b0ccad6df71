"""Reports (JSON + HTML with inline SVG) and the demo end to end at toy size."""

from __future__ import annotations

import html
import json
import math
import re
import shlex
import xml.etree.ElementTree as ET

import pytest

from mrrml.cli import main
from mrrml.training.report import CHAR_WIDTH, bar_chart, figure, line_chart, linear_ticks, log_ticks, write_report

SVG = "{http://www.w3.org/2000/svg}"


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


def _texts(svg: str) -> list[tuple[float, float, str]]:
    return [
        (float(t.get("x")), float(t.get("y")), "".join(t.itertext())) for t in ET.fromstring(svg).iter(f"{SVG}text")
    ]


def test_log_axis_ticks_read_as_plain_numbers():
    """The loss chart's y axis read "1e0.3"; a reader wants 2, 1, 0.5, 0.2 ..."""
    chart = line_chart("terms", [0, 1, 2], {"loss": [2.0, 0.9, 0.3], "axis": [0.05, 0.04, 0.02]}, log_y=True)
    labels = [text for x, _, text in _texts(chart) if x == 50]  # the y-axis labels sit left of the plot
    assert labels == ["0.02", "0.05", "0.1", "0.2", "0.5", "1", "2"]
    assert log_ticks(1e-4, 10.0) == [1e-4, 1e-3, 1e-2, 1e-1, 1.0, 10.0]  # wide ranges: decades only
    assert linear_ticks(0.0, 2.0) == [0.0, 0.5, 1.0, 1.5, 2.0]
    leakage = bar_chart("leakage", ["a"], {"GPRC": [3.9]}, y_max=3.905)  # read "1.46541" before
    assert [text for x, _, text in _texts(leakage) if x == 42] == ["0", "1", "2", "3", "4"]


def test_legend_entries_never_overlap():
    """Seven loss terms: the seventh legend entry ("center") was drawn on top of the first ("loss")."""
    terms = ("loss", "rank", "axis", "perp", "ortho", "neutral", "center")
    chart = line_chart("terms", [0, 1], {t: [1.0, 0.5] for t in terms}, log_y=True)
    legend = [(x, y, text) for x, y, text in _texts(chart) if text in terms]
    assert sorted(text for *_, text in legend) == sorted(terms)
    for i, (x, y, text) in enumerate(legend):
        for x2, y2, _ in legend[i + 1 :]:
            assert y2 != y or x2 >= x + CHAR_WIDTH * len(text), (text, legend)
    colors = [r.get("fill") for r in ET.fromstring(chart).iter(f"{SVG}rect") if r.get("height") == "3"]
    assert len(set(colors)) == len(terms)  # and no two terms share a colour
    narrow = bar_chart("acc", ["a"], {f"a long series name {i}": [0.5] for i in range(6)}, width=300)
    rows = {round(y) for _, y, text in _texts(narrow) if text.startswith("a long series")}
    assert len(rows) > 1  # wrapped into rows instead of running off the chart


def test_intervals_references_and_commands():
    chart = bar_chart("pref", ["model"], {"GPRC": [0.6]}, intervals={"GPRC": [(0.5, 0.7)]}, reference=0.5)
    root = ET.fromstring(chart)
    assert len(list(root.iter(f"{SVG}path"))) == 1  # the error bar
    assert any(line.get("stroke-dasharray") for line in root.iter(f"{SVG}line"))  # chance
    assert "[0.500, 0.700]" in "".join(root.itertext())
    band = line_chart("bon", [1, 2, 4], {"model": [1.0, 1.2, 1.3]}, bands={"model": [(0.9, 1.1)] * 3}, log_x=True)
    assert len(list(ET.fromstring(band).iter(f"{SVG}polygon"))) == 1
    html = figure(chart, "mrrml evaluate --model 'a b'\nmrrml evaluate --model <c>")
    assert html.count("<code>") == 2 and "&lt;c&gt;" in html and "reproduce" in html


def test_write_report_files(tmp_path):
    json_path, html_path = write_report(
        tmp_path, {"title": "t <x>", "value": 1.5}, [("Section", bar_chart("c", ["d"], {"r": [0.5]}))]
    )
    assert json.loads(json_path.read_text())["value"] == 1.5
    page = html_path.read_text()
    assert "<svg" in page and "t &lt;x&gt;" in page and "matplotlib" not in page
    # A long command wraps; as inline boxes, each line's background covered the underscores of the one above.
    assert re.search(r"p\.cmd code\{[^}]*display:block", page)


@pytest.mark.slow
def test_demo_at_toy_size(tmp_path, capsys):
    """The demo through the fit CLI wiring, run from the config its --print_config wrote, with the
    ablation; the evaluation of each run is in report.json, its figures in report.html, and the command
    printed under them reproduces the numbers."""
    out = tmp_path / "demo"
    tiny = "{hidden_size: 32, intermediate_size: 64, num_hidden_layers: 1, num_attention_heads: 2, "
    tiny += "num_key_value_heads: 1, head_dim: 16}"
    overrides = ["--out", str(out), "--n", "60", "--trainer.max_steps", "3", "--model.backbone.tiny", tiny]
    overrides += ["--data.batch_size", "4", "--model.max_answer_tokens", "96", "--healthbench_limit", "3"]
    overrides += ["--held_out_prompts", "40", "--held_out_conditions", "4", "--quality_draws", "10"]
    overrides += ["--quality_n_boot", "50", "--ablation"]
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
    assert (out / "model" / "heads.safetensors").exists()
    assert (out / "config.yaml").exists()  # written by the fit wiring, as for `mrrml fit`

    # the evaluation of both runs: both test sets, robustness, best-of-N and physicians, with numbers
    assert [r["label"] for r in report["runs"]] == ["GPRC", "rank only"]
    for r in report["runs"]:
        quality = r["quality"]
        assert set(quality["test_sets"]) == {"held_out_prompts", "held_out_conditions"}
        for test_set in quality["test_sets"].values():
            assert test_set["records"] > 0
            head = test_set["views"]["head"]
            assert 0 <= head["accuracy"]["all"]["order"]["value"] <= 1
            assert 0 <= head["robustness"]["all"]["outrank"]["any"]["value"] <= 1
            assert head["best_of_n"]["all"]["n"] == [1, 2, 4, 8, 16]
            assert all(0 <= e["value"] <= 2 for e in head["best_of_n"]["all"]["model"])
        judges = quality["physician"]["judges"]
        assert judges["prefer_longer"]["overall"]["count"] == judges["model"]["overall"]["count"] > 0
    assert report["synthesis"]["held_out_prompts"]["seed"] == 1  # --seed 0 + 1
    sample = (out / "held_out_conditions.jsonl").read_text().splitlines()
    test_split = (out / "data" / "test.jsonl").read_text().splitlines()
    assert len(sample) == 4 and set(sample) <= set(test_split)  # the seeded sample of the test split
    assert run["quality"]["test_sets"]["held_out_conditions"]["records"] == 4

    page = (out / "report.html").read_text()
    for heading in (
        "Held-out prompts vs held-out conditions",
        "Spurious-feature robustness",
        "GPRC vs rank only: share of pairs outranked",
        "Best-of-N",
        "Physician preference on real HealthBench rows",
        "Loss terms over training (rank only)",
    ):
        assert f"{heading}</h" in page, heading
    svgs = page.count("<svg")
    assert svgs >= 8 and page.count('class="cmd"') >= svgs  # a command under every figure
    assert "1e0." not in page and "1e-0." not in page

    # the command printed under the evaluation figures gives the numbers of the report
    command = shlex.split(report["commands"]["evaluate GPRC"])
    assert html.escape(report["commands"]["evaluate GPRC"]) in page
    assert command[:2] == ["mrrml", "evaluate"]
    again = tmp_path / "again.json"
    assert main([*command[1:], "--out", str(again)]) == 0
    assert json.loads(again.read_text())["test_sets"] == run["quality"]["test_sets"]


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
