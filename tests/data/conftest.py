"""Fixtures for the data-area tests: the two shipped matrices, loaded once."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def healthbench_matrix():
    from mrrml.resources import shipped_matrix
    from mrrml.standards.loader import load_matrix

    return load_matrix(shipped_matrix("healthbench"))


@pytest.fixture(scope="session")
def mrrml_matrix():
    from mrrml.resources import shipped_matrix
    from mrrml.standards.loader import load_matrix

    return load_matrix(shipped_matrix("mr-rml"))
