"""The standards matrix (docs/design.md §1): typed model, located-error loader,
JSON Schema and scaffold.

This layer sits at the bottom of the data flow and imports nothing heavier than PyYAML, so
validating a matrix never pays for torch.
"""

from __future__ import annotations

from .._exports import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(
    __name__,
    {
        "Cell": ".matrix",
        "Criterion": ".matrix",
        "Dimension": ".matrix",
        "Discipline": ".matrix",
        "Scenario": ".matrix",
        "StandardsMatrix": ".matrix",
        "load_matrix": ".loader",
        "load_matrix_text": ".loader",
    },
)
