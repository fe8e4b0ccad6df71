"""The standards matrix (DESIGN §1): typed model, located-error loader, JSON Schema and scaffold.

This layer sits at the bottom of the data flow and imports nothing heavier than PyYAML, so
validating a matrix never pays for torch.
"""
from __future__ import annotations

from .loader import load_matrix, load_matrix_text
from .matrix import Cell, Criterion, Dimension, Discipline, Scenario, StandardsMatrix

__all__ = [
    "Cell",
    "Criterion",
    "Dimension",
    "Discipline",
    "Scenario",
    "StandardsMatrix",
    "load_matrix",
    "load_matrix_text",
]
