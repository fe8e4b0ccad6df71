"""Reward functions for TRL's ``GRPOTrainer``: one per dimension, plus the matrix-weighted total.

TRL calls each reward function as ``f(prompts=..., completions=..., completion_ids=..., **columns)``
and logs its mean/std under ``f.__name__``; it sums the functions' outputs with
``GRPOConfig.reward_weights`` (1 each by default). The per-dimension functions are there to *log*
each dimension (``rewards/mrrml_accuracy/mean``, ...), the total is what should be optimised, so
pass ``reward_weights=grpo_reward_weights(funcs)`` (0 for the dimensions, 1 for the total) or pick
your own mixture — the default of 1 each would count every dimension twice.

All functions of one :func:`make_reward_funcs` call share one scorer that remembers the last batch,
so the model runs once per GRPO step, not once per function. Prompts and completions may be plain
strings or TRL's conversational format (lists of ``{"role", "content"}`` messages). A dataset column
named ``scenario`` / ``discipline`` selects the matrix cell per row unless the functions were built
for a fixed cell.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError

if TYPE_CHECKING:
    from ..model.reward_model import RewardModel

Prompt = str | list[dict[str, str]]


def _text(content: Any, where: str) -> str:
    """A message's content as text: a string, or TRL/OpenAI content parts ``[{"type": "text", ...}]``."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = [p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") == "text"]
        return "".join(parts)
    raise ConfigError(
        f"{where}: message content must be a string or a list of text parts, got {type(content).__name__}"
    )


def _prompt(prompt: Any, where: str) -> Prompt:
    if isinstance(prompt, str):
        return prompt
    if isinstance(prompt, list):
        return [
            {"role": str(m["role"]), "content": _text(m.get("content", ""), f"{where}[{i}]")}
            for i, m in enumerate(prompt)
        ]
    raise ConfigError(f"{where}: expected a string or a list of chat messages, got {type(prompt).__name__}")


def _completion(completion: Any, where: str) -> str:
    """The assistant text of a completion (conversational completions are message lists)."""
    if isinstance(completion, str):
        return completion
    if isinstance(completion, list):
        return "".join(
            _text(m.get("content", ""), f"{where}[{i}]")
            for i, m in enumerate(completion)
            if m.get("role", "assistant") == "assistant"
        )
    raise ConfigError(f"{where}: expected a string or a list of messages, got {type(completion).__name__}")


class _SharedScorer:
    """Scores a batch once and serves every reward function of that batch from a one-entry cache."""

    def __init__(self, model: RewardModel, batch_size: int):
        self.model = model
        self.batch_size = batch_size
        self.dimensions: list[str] = list(model.matrix.dimension_ids)
        self._lock = threading.Lock()
        self._key: tuple | None = None
        self._normalized: list[list[float]] = []
        self._weights: dict[tuple[str | None, str | None], list[float]] = {}
        self.model_calls = 0

    def normalized(self, prompts: Sequence[Any], completions: Sequence[Any]) -> list[list[float]]:
        if len(prompts) != len(completions):
            raise ConfigError(f"{len(prompts)} prompts but {len(completions)} completions")
        key = (
            json.dumps(list(prompts), sort_keys=True, default=str),
            json.dumps(list(completions), sort_keys=True, default=str),
        )
        with self._lock:
            if key != self._key:
                texts = [_prompt(p, f"prompts[{i}]") for i, p in enumerate(prompts)]
                answers = [_completion(c, f"completions[{i}]") for i, c in enumerate(completions)]
                result = self.model.score(texts, answers, batch_size=self.batch_size)
                self.model_calls += 1
                self._normalized = result.normalized.tolist()
                self._key = key
            return self._normalized

    def weights(self, scenario: str | None, discipline: str | None) -> list[float]:
        key = (scenario, discipline)
        if key not in self._weights:
            self._weights[key] = list(self.model.matrix.weight_vector(scenario, discipline))
        return self._weights[key]


def _column(kwargs: dict[str, Any], name: str, fixed: str | None, n: int) -> list[str | None]:
    """The cell id for each row: the fixed one, else the dataset column of that name, else None."""
    if fixed is not None:
        return [fixed] * n
    column = kwargs.get(name)
    if column is None:
        return [None] * n
    if len(column) != n:
        raise ConfigError(f"column '{name}' has {len(column)} values for {n} completions")
    return [None if v in (None, "") else str(v) for v in column]


class MrrmlReward:
    """One reward function: a dimension's normalised score, or (``dimension=None``) the weighted total.

    ``__name__`` is what TRL logs it under: ``mrrml_<dimension>`` or ``mrrml_reward``.
    """

    def __init__(self, scorer: _SharedScorer, dimension: str | None, scenario: str | None, discipline: str | None):
        self._scorer = scorer
        self.dimension = dimension
        self.scenario = scenario
        self.discipline = discipline
        self._index = None if dimension is None else scorer.dimensions.index(dimension)
        self.__name__ = f"mrrml_{dimension}" if dimension is not None else "mrrml_reward"

    def __call__(self, prompts: Sequence[Any], completions: Sequence[Any], **kwargs: Any) -> list[float]:
        rows = self._scorer.normalized(prompts, completions)
        if self._index is not None:
            return [row[self._index] for row in rows]
        scenarios = _column(kwargs, "scenario", self.scenario, len(rows))
        disciplines = _column(kwargs, "discipline", self.discipline, len(rows))
        return [
            sum(w * s for w, s in zip(self._scorer.weights(sc, dc), row))
            for row, sc, dc in zip(rows, scenarios, disciplines)
        ]

    def __repr__(self) -> str:
        return f"MrrmlReward({self.__name__})"


def make_reward_funcs(
    model_or_path: RewardModel | str | Path,
    scenario: str | None = None,
    discipline: str | None = None,
    *,
    batch_size: int = 16,
    device: str | None = None,
) -> list[MrrmlReward]:
    """``[one function per dimension (matrix order)..., the weighted total]`` for ``GRPOTrainer``.

    ``model_or_path`` is a :class:`~mrrml.model.reward_model.RewardModel` or a saved model directory,
    loaded on ``device`` (default: CUDA when available; see :mod:`mrrml.serve.device`). The policy's
    trainer never sees the reward model, so it is not moved later. A fixed ``scenario``/``discipline``
    is checked against the matrix now, not mid-training.
    """
    if isinstance(model_or_path, (str, Path)):
        from .device import load_for_scoring

        model = load_for_scoring(model_or_path, device=device)
    else:
        model = model_or_path
    model.matrix.weight_vector(scenario, discipline)  # raises ConfigError for an unknown/inapplicable cell
    scorer = _SharedScorer(model, batch_size)
    funcs = [MrrmlReward(scorer, d, scenario, discipline) for d in scorer.dimensions]
    return [*funcs, MrrmlReward(scorer, None, scenario, discipline)]


def grpo_reward_weights(funcs: Sequence[MrrmlReward]) -> list[float]:
    """``GRPOConfig.reward_weights`` that optimise the total and only log the dimensions."""
    return [0.0 if f.dimension is not None else 1.0 for f in funcs]
