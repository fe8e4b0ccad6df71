"""Where the template generator's content files live, how one is read, and the ids they may name.

The clinical content (:mod:`.casebank`) and the surface wording (:mod:`.phrasing`) are YAML files in
``content/`` inside the package, written for clinical review: a change to the bank is a data diff,
not a Python diff. Each file is read into a located node tree (:mod:`mrrml.located_yaml`) and every
problem of every file is collected before anything is raised, so one run lists all mistakes.

The content is keyed to the shipped standards matrices: a discipline's conditions and a scenario's
framings are found by the matrix's ids, so a misspelt id would silently fall back to generic content.
The readers therefore check the ids they meet against :func:`shipped_ids`.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TypeVar

from yaml.nodes import Node

from ...errors import ContentError, Problem
from ...located_yaml import LocatedReader, Section, compose, read_source
from ...resources import shipped_matrix, shipped_matrix_names
from ...standards.loader import load_matrix

CONTENT_DIR = Path(str(resources.files("mrrml.data.synth") / "content"))
"""The shipped content folder (package data)."""

T = TypeVar("T")


def require(read: tuple[T | None, list[Problem]]) -> T:
    """What a content reader read, or :class:`ContentError` with every problem it found."""
    value, problems = read
    if value is None:
        raise ContentError(problems)
    return value


def read_top(reader: LocatedReader, section: Section) -> dict[str, Node] | None:
    """The top-level mapping of the content file ``reader.source``, checked against ``section``; None
    (with the problem recorded) if the file cannot be read or parsed, or is not a mapping."""
    try:
        text = read_source(reader.source, ContentError, "content")
        root = compose(text, reader.source, ContentError, f"a {section.title}", libyaml=True)
    except ContentError as error:
        reader.problems.extend(error.problems)
        return None
    return reader.mapping(root, "", section)


@dataclass(frozen=True)
class ShippedIds:
    """The discipline and scenario ids of the shipped matrices, in matrix order, each with the first
    matrix that declares it (named in "not covered" problems)."""

    disciplines: dict[str, str]
    scenarios: dict[str, str]


@functools.cache
def shipped_ids() -> ShippedIds:
    """The ids the content may name, read once per process from the shipped matrices."""
    disciplines: dict[str, str] = {}
    scenarios: dict[str, str] = {}
    for name in shipped_matrix_names():
        matrix = load_matrix(shipped_matrix(name))
        for ident in matrix.discipline_ids:
            disciplines.setdefault(ident, matrix.name)
        for ident in matrix.scenario_ids:
            scenarios.setdefault(ident, matrix.name)
    return ShippedIds(disciplines, scenarios)
