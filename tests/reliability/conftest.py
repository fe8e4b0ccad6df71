"""Fixtures of the reliability tests (a tiny saved reward model) and the summary of their figures.

Budgets come from the environment so CI and the hand-run campaign use the same tests:
``HYPOTHESIS_PROFILE=full`` (or ``MRRML_FUZZ_EXAMPLES=N``) fuzzes harder; ``MRRML_KILL_POINTS=N`` sets
the kill points per job (default 3; the campaign is 20+); ``MRRML_LOAD_SECONDS`` sets the load test length.
"""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def healthbench_matrix():
    from mrrml.resources import shipped_matrix
    from mrrml.standards.loader import load_matrix

    return load_matrix(shipped_matrix("healthbench"))


@pytest.fixture(scope="session")
def tiny_rm_dir(tiny_qwen3_dir, tmp_path_factory, healthbench_matrix) -> Path:
    """A saved tiny reward model (random Qwen3 backbone, healthbench heads), built once per session."""
    import torch

    from mrrml.model.backbone import BackboneConfig
    from mrrml.model.reward_model import RewardModel

    torch.manual_seed(3)
    model = RewardModel.build(BackboneConfig(name_or_path=str(tiny_qwen3_dir)), healthbench_matrix)
    return model.save_pretrained(tmp_path_factory.mktemp("reliability-rm"))


@pytest.fixture(scope="session")
def tiny_rm(tiny_rm_dir):
    from mrrml.model.reward_model import load

    return load(tiny_rm_dir)


def pytest_terminal_summary(terminalreporter) -> None:
    """Print the fuzzing and load figures gathered by the tests (the numbers the closing note quotes)."""
    from tests.reliability.figures import FIGURES
    from tests.reliability.fuzzing import FUZZED

    if FUZZED:
        terminalreporter.write_line(
            "fuzzed inputs per target: " + ", ".join(f"{k}={v}" for k, v in sorted(FUZZED.items()))
        )
    for line in FIGURES:
        terminalreporter.write_line(line)
