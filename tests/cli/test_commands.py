"""Every command runs for real from a config file: ``--print_config`` output fed back with ``--config``
gives the same config and the same run; ``${...}`` interpolation works; earlier spellings still run.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import yaml

from mrrml.cli import main
from mrrml.resources import shipped_matrix
from tests.serve.serve_helpers import http


def _printed(argv: list[str], capsys, path: Path) -> str:
    """Run ``argv --print_config``, save the output as a config file and return it."""
    capsys.readouterr()
    assert main([*argv, "--print_config"]) == 0
    text = capsys.readouterr().out
    path.write_text(text)
    return text


def _round_trips(command: list[str], argv: list[str], capsys, tmp_path: Path) -> Path:
    """The printed config, read back with --config, prints the same config again."""
    config = tmp_path / f"{'-'.join(command)}.yaml"
    text = _printed([*command, *argv], capsys, config)
    assert main([*command, "--config", str(config), "--print_config"]) == 0
    assert capsys.readouterr().out == text
    return config


def test_synth_from_its_printed_config_makes_the_same_data(tmp_path, capsys):
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    config = _round_trips(["synth"], ["--out", str(a), "--n", "40", "--seed", "2", "--quiet"], capsys, tmp_path)
    assert yaml.safe_load(config.read_text())["generator"]["api_key_env"] == "OPENAI_API_KEY"  # a name, no key
    assert main(["synth", "--config", str(config)]) == 0
    assert main(["synth", "--out", str(b), "--n", "40", "--seed", "2", "--quiet", "--matrix", "healthbench"]) == 0
    # the argparse-era spelling, with the matrix as a path: the same records
    matrix = str(shipped_matrix("healthbench"))
    argv = ["--out", str(c), "--n", "40", "--seed", "2", "--quiet", "--neutral-rate", "0.3", "--matrix", matrix]
    assert main(["synth", *argv]) == 0
    assert "--neutral-rate -> --neutral_rate" in capsys.readouterr().err
    for split in ("train", "val", "test"):
        assert (a / f"{split}.jsonl").read_text() == (b / f"{split}.jsonl").read_text()
        assert (a / f"{split}.jsonl").read_text() == (c / f"{split}.jsonl").read_text()


def test_synth_config_interpolates(tmp_path):
    config = tmp_path / "synth.yaml"
    config.write_text(f"n: 30\nseed: 4\nquiet: true\nroot: {tmp_path}\nout: ${{root}}/synth-seed-${{seed}}\n")
    # ``root`` is not an option of synth: a key only there to be interpolated is an error, as it should be
    assert main(["synth", "--config", str(config)]) == 2
    config.write_text(f"n: 30\nseed: 4\nquiet: true\nout: {tmp_path}/synth-seed-${{seed}}-n${{n}}\n")
    assert main(["synth", "--config", str(config)]) == 0
    assert (tmp_path / "synth-seed-4-n30" / "train.jsonl").stat().st_size > 0


def test_synth_unknown_matrix_name_is_a_clear_error(tmp_path, capsys):
    assert main(["synth", "--out", str(tmp_path), "--n", "5", "--matrix", "healthbnch"]) == 1
    assert "no shipped matrix 'healthbnch'" in capsys.readouterr().err


def test_standards_commands_from_their_printed_configs(tmp_path, capsys):
    for command, argv in (
        (["standards", "validate"], ["healthbench", "mr-rml"]),
        (["standards", "show"], ["healthbench", "-s", "hedging", "-c", "pharmacy"]),
        (["standards", "new"], ["my matrix", "--out", str(tmp_path / "new.yaml")]),
        (["standards", "schema"], ["--out", str(tmp_path / "schema.json")]),
    ):
        config = _round_trips(command, argv, capsys, tmp_path)
        direct = main([*command, *argv, *(["--force"] if command[1] == "new" else [])])
        output = capsys.readouterr().out
        assert main([*command, "--config", str(config), *(["--force"] if command[1] == "new" else [])]) == direct == 0
        assert capsys.readouterr().out == output
    assert (tmp_path / "new.yaml").exists() and json.loads((tmp_path / "schema.json").read_text())


def test_healthbench_score_from_a_config_and_with_earlier_spellings(tmp_path, capsys):
    grades = tmp_path / "graded.jsonl"
    rows = [
        {
            "prompt_id": f"p{i}",
            "prompt": [{"role": "user", "content": f"question {i}"}],
            "completion": "answer " * (20 * i + 1),
            "example_tags": ["theme:hedging"],
            "rubrics": [
                {"criterion": "a", "points": 5, "tags": ["axis:accuracy"], "criteria_met": i % 2 == 0},
                {"criterion": "b", "points": 3, "tags": ["axis:completeness"], "criteria_met": True},
            ],
        }
        for i in range(4)
    ]
    grades.write_text("".join(json.dumps(r) + "\n" for r in rows))
    argv = ["--grades", str(grades), "--out", str(tmp_path / "m1.json"), "--scoring.length_center", "40"]
    config = _round_trips(["healthbench", "score"], argv, capsys, tmp_path)
    assert main(["healthbench", "score", "--config", str(config)]) == 0
    old = ["--grades", str(grades), "--out", str(tmp_path / "m2.json"), "--length-center", "40"]
    assert main(["healthbench", "score", *old]) == 0
    first, second = (json.loads((tmp_path / f"m{i}.json").read_text())["metrics"] for i in (1, 2))
    assert first == second and first["overall_score"] < 1


def test_export_from_its_printed_config(tmp_path, capsys, rm_dir):
    argv = [str(rm_dir), "--format", "token-classification", "--out", str(tmp_path / "a")]
    config = _round_trips(["export"], argv, capsys, tmp_path)
    assert main(["export", "--config", str(config)]) == 0
    assert main(["export", str(rm_dir), "--format", "token-classification", "--out", str(tmp_path / "b")]) == 0
    for name in ("config.json", "model.safetensors"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    # --force given bare, as the argparse flag was
    assert (
        main(["export", str(rm_dir), "--format", "token-classification", "--out", str(tmp_path / "a"), "--force"]) == 0
    )


def test_serve_from_its_printed_config(tmp_path, capsys, rm_dir):
    argv = [str(rm_dir), "--port", "0", "--batching.max_batch", "4", "--scenario", "hedging", "--torch_threads", "1"]
    config = _round_trips(["serve"], argv, capsys, tmp_path)
    assert yaml.safe_load(config.read_text())["token_env"] is None  # the token itself is never in a config
    command = [sys.executable, "-c", "import sys; from mrrml.cli import main; sys.exit(main())", "serve"]
    process = subprocess.Popen(
        [*command, "--config", str(config), "--log_level", "WARNING"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={k: v for k, v in os.environ.items() if k != "MRRML_SERVE_TOKEN"},
    )
    try:
        line = process.stdout.readline()
        url = re.search(r"listening on (http://\S+)", line).group(1)
        status, info = http("GET", f"{url}/info")
        assert status == 200 and info["batching"]["max_batch"] == 4 and info["defaults"]["scenario"] == "hedging"
        process.send_signal(signal.SIGTERM)
        assert process.wait(60) == 0
    finally:
        if process.poll() is None:
            process.kill()
