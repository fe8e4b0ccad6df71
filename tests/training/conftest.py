"""Fixtures of the training tests (record files written by the tests themselves)."""

from __future__ import annotations

from pathlib import Path

import pytest

from mrrml.data.records import PairRecord, RatedRecord
from tests.training.training_helpers import TINY_RECIPE, TOPICS, make_triplets, write_jsonl


@pytest.fixture(scope="session")
def triplet_file(tmp_path_factory) -> Path:
    return write_jsonl(tmp_path_factory.mktemp("data") / "triplets.jsonl", make_triplets(40))


@pytest.fixture(scope="session")
def mixed_files(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("mixed")
    pairs = [
        PairRecord(
            prompt=f"Question {i} about {t}?",
            chosen=f"Careful advice on {t}.",
            rejected="No idea.",
            dimension=None if i % 2 else "accuracy",
            id=f"p{i}",
            scenario="hedging" if i % 2 else None,
        )
        for i, t in enumerate(TOPICS[:8])
    ]
    rated = [
        RatedRecord(prompt=f"Rate {t}", response=f"Answer about {t}.", scores={"accuracy": 0.5 + i / 10}, id=f"r{i}")
        for i, t in enumerate(TOPICS[:6])
    ]
    return {
        "triplets": write_jsonl(root / "t.jsonl", make_triplets(20, neutral=True)),
        "pairs": write_jsonl(root / "p.jsonl", pairs),
        "rated": write_jsonl(root / "r.jsonl", rated),
    }


@pytest.fixture(scope="session")
def recipe_data(tmp_path_factory) -> dict[str, Path]:
    """Train/val/test files for the GPU recipes' tiny runs; the builtin is materialised here once."""
    from mrrml.model.builtins import materialize_builtin

    materialize_builtin("builtin:tiny-qwen3", TINY_RECIPE)
    root = tmp_path_factory.mktemp("recipe-data")
    return {
        "train": write_jsonl(root / "train.jsonl", make_triplets(24)),
        "val": write_jsonl(root / "val.jsonl", make_triplets(4, seed=100)),
        "test": write_jsonl(root / "test.jsonl", make_triplets(4, seed=200)),
    }
