"""A tiny valid matrix whose line numbers the malformed-matrix tests rely on (do not reflow it)."""

from __future__ import annotations

import pytest

# Line numbers matter: tests replace one line at a time and assert the reported line.
TINY = """\
name: tiny
version: "1"
description: A tiny matrix for tests.
dimensions:
  - id: accuracy
    name: Accuracy
    description: Correct facts.
    template_operator: accuracy
    levels: {good: Right., medium: Mostly right., poor: Wrong.}
    criteria:
      - {text: States correct facts., points: 5, kind: hard_rule}
      - {text: States a wrong fact., points: -5, kind: principle}
  - id: empathy
    name: Empathy
    description: Kind words.
    template_operator: empathy
    levels:
      good: Kind.
      medium: Neutral.
      poor: Cold.
    criteria:
      - text: Acknowledges feelings.
        points: 3
        kind: principle
scenarios:
  - id: triage
    name: Triage
    description: Urgency decisions.
    weights: {accuracy: 0.7, empathy: 0.3}
  - id: chronic
    name: Chronic care
    description: Long-term conditions.
    weights:
      accuracy: 1
      empathy: 1
disciplines:
  - id: nursing
    name: Nursing
    description: Practical care.
    scale: {empathy: 2}
    criteria:
      empathy:
        - {text: Gives practical steps., points: 2, kind: principle}
  - id: pharmacy
    name: Pharmacy
    description: Medicines.
cells:
  - scenario: triage
    discipline: pharmacy
    weights: {empathy: 0}
  - scenario: chronic
    discipline: pharmacy
    applicable: false
    reason: Not covered.
"""


def _tiny_with(line: int, replacement: str | None) -> str:
    """TINY with 1-based ``line`` replaced (``None`` deletes it; a replacement may hold several lines)."""
    lines = TINY.splitlines()
    assert 1 <= line <= len(lines)
    if replacement is None:
        del lines[line - 1]
    else:
        lines[line - 1 : line] = replacement.split("\n")
    return "\n".join(lines) + "\n"


@pytest.fixture
def tiny_text() -> str:
    return TINY


@pytest.fixture
def tiny_with():
    """``tiny_with(line, replacement)``: TINY with one line replaced or deleted."""
    return _tiny_with
