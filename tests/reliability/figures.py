"""Measured figures (kill points survived, load held) collected during a session for the terminal summary."""

from __future__ import annotations

FIGURES: list[str] = []


def report(line: str) -> None:
    """Record one figure and print it at once (visible with ``-s``, and in the summary at the end)."""
    FIGURES.append(line)
    print(line, flush=True)
