"""A tiny saved reward model for the command tests (the one the serving tests use)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.serve.conftest import _build


@pytest.fixture(scope="session")
def rm_dir(tiny_qwen3_dir, tmp_path_factory) -> Path:
    return _build(tiny_qwen3_dir, tmp_path_factory.mktemp("cli-rm"))
