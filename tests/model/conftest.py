"""Fixtures for the model tests: a builtin cache per test session and the shipped HealthBench matrix."""

from __future__ import annotations

import os

import pytest


@pytest.fixture(scope="session", autouse=True)
def _builtin_cache(tmp_path_factory):
    """Materialise builtins into a per-session directory so tests never touch ~/.cache."""
    old = os.environ.get("MRRML_CACHE_DIR")
    os.environ["MRRML_CACHE_DIR"] = str(tmp_path_factory.mktemp("mrrml-cache"))
    yield
    if old is None:
        os.environ.pop("MRRML_CACHE_DIR", None)
    else:
        os.environ["MRRML_CACHE_DIR"] = old


@pytest.fixture(scope="session")
def matrix():
    from mrrml.resources import shipped_matrix
    from mrrml.standards.loader import load_matrix

    return load_matrix(shipped_matrix("healthbench"))


@pytest.fixture(scope="session")
def tiny_backbone(tiny_qwen3_dir):
    """(backbone, tokenizer) of the shared tiny Qwen3 fixture, loaded through load_backbone."""
    from mrrml.model.backbone import BackboneConfig, load_backbone

    model, tokenizer = load_backbone(BackboneConfig(str(tiny_qwen3_dir)))
    return model.eval(), tokenizer
