"""Test-only access to the reference scoring functions of the installed ``simple_evals`` package.

Importing ``simple_evals.evals.healthbench_eval`` needs packages this project does not install
(pandas, jinja2, openai, ...), so the few pure functions we compare against are taken from the
file's syntax tree and executed alone, with numpy and stand-in result containers in scope.
"""

from __future__ import annotations

import ast
import importlib.util
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np

FUNCTIONS = ("calculate_score", "_compute_clipped_stats", "_aggregate_get_clipped_mean")


@dataclass
class SingleEvalResult:
    score: float | None
    metrics: dict[str, float] = field(default_factory=dict)
    html: str = ""
    convo: list = field(default_factory=list)


@dataclass
class EvalResult:
    task_name: str
    score: float | None
    metrics: dict[str, Any]
    htmls: list
    convos: list


def reference_source() -> Path | None:
    spec = importlib.util.find_spec("simple_evals")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "evals" / "healthbench_eval.py"
    return path if path.is_file() else None


def load_reference() -> SimpleNamespace | None:
    path = reference_source()
    if path is None:
        return None
    tree = ast.parse(path.read_text(encoding="utf-8"))
    wanted = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name in FUNCTIONS]
    if len(wanted) != len(FUNCTIONS):
        return None
    namespace: dict[str, Any] = {
        "np": np,
        "defaultdict": defaultdict,
        "SingleEvalResult": SingleEvalResult,
        "EvalResult": EvalResult,
        "RubricItem": Any,
    }
    module = ast.Module(body=wanted, type_ignores=[])
    exec(compile(module, str(path), "exec"), namespace)
    return SimpleNamespace(**{name: namespace[name] for name in FUNCTIONS}, path=path)
