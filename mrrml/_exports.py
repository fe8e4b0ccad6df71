"""Lazy package exports: every ``mrrml`` package names its public objects the same way.

A package ``__init__`` lists ``{name: module}`` and gets ``__getattr__``/``__dir__``/``__all__`` from
:func:`lazy_exports`; the module is imported on first access (PEP 562), so ``import mrrml.serve`` or
``mrrml standards validate`` does not pay for torch, and ``from mrrml.model import RewardModel`` works
as with an eager import.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module
from typing import Any


def lazy_exports(
    package: str, exports: dict[str, str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]], list[str]]:
    """``(__getattr__, __dir__, __all__)`` for ``package``; ``exports`` maps a name to its module,
    relative to the package (``".reward_model"``) or absolute."""

    def __getattr__(name: str) -> Any:
        if name not in exports:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(import_module(exports[name], package), name)

    def __dir__() -> list[str]:
        return sorted(exports)

    return __getattr__, __dir__, sorted(exports)
