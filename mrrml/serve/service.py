"""The reward service without HTTP: validate request bodies, batch rows, shape responses.

Kept apart from :mod:`mrrml.serve.app` so the request rules (which field is wrong, which cell of
the matrix is meant) are plain functions of JSON values, and the HTTP layer only maps errors to
status codes. Every rejected body raises :class:`RequestError` naming the offending field, before
anything reaches the model: a batch mixes rows of many clients, so one bad row must never get in.

A request is served in two steps: :meth:`RewardService.score_job` / :meth:`~RewardService.reward_job`
validate the body into a :class:`ScoringJob` (its rows, and how their scores become the answer), and
:meth:`RewardService.answer` hands the rows to the micro-batcher and awaits them on the event loop —
no thread is held while a request waits for its batch.
"""

from __future__ import annotations

import asyncio
import gc
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .. import __version__
from ..data.chat import Prompt, PromptError, check_prompt
from ..errors import ConfigError, MrrmlError
from .batcher import BatcherClosed, MicroBatcher
from .openrlhf import QuerySplitError, QuerySplitter

if TYPE_CHECKING:
    from ..model.reward_model import RewardModel


class RequestError(MrrmlError):
    """A request the server refuses; ``status`` is the HTTP status to answer with."""

    def __init__(self, status: int, message: str):
        self.status = status
        super().__init__(message)


@dataclass(frozen=True)
class ServeSettings:
    """Server settings. ``token`` is excluded from repr so it never reaches a log line."""

    host: str = "127.0.0.1"
    port: int = 8000
    token: str | None = field(default=None, repr=False)
    max_batch: int = 32
    max_wait_ms: float = 5.0
    max_body_bytes: int = 8 * 1024 * 1024
    max_rows_per_request: int = 1024  # a small body can still carry many rows; each costs model time
    scenario: str | None = None
    discipline: str | None = None
    request_timeout_s: float = 300.0


@dataclass(frozen=True)
class RowScores:
    """One scored row, as plain floats (what the batcher hands back to each request)."""

    raw: list[float]
    normalized: list[float]


# A row on its way to the model: the prompt rendered by the chat template (validated), and the answer.
RenderedRow = tuple[str, str]


@dataclass(frozen=True)
class ScoringJob:
    """A validated request: the rows for the model and how their scores become the JSON answer."""

    rows: list[RenderedRow]
    answer: Callable[[list[RowScores]], dict[str, Any]]


def _check_prompt(value: Any, where: str) -> Prompt:
    try:
        return check_prompt(value)
    except PromptError as error:
        raise RequestError(400, f"{where}{error.where}: {error.message}") from None


def _string_list(body: dict[str, Any], key: str) -> list[str]:
    value = body.get(key)
    if not isinstance(value, list):
        raise RequestError(400, f"{key}: expected a list of strings, got {type(value).__name__}")
    for i, item in enumerate(value):
        if not isinstance(item, str):
            raise RequestError(400, f"{key}[{i}]: expected a string, got {type(item).__name__}")
    return value


def _optional_id(body: dict[str, Any], key: str, default: str | None) -> str | None:
    value = body.get(key, default)
    if value is not None and not isinstance(value, str):
        raise RequestError(400, f"{key}: expected a string or null, got {type(value).__name__}")
    return value


def _finite(values: Sequence[float], where: str) -> list[float]:
    out = [float(v) for v in values]
    if not all(math.isfinite(v) for v in out):
        raise RuntimeError(f"the model produced a non-finite score ({where})")
    return out


def _model_info(model: RewardModel) -> dict[str, Any]:
    """What a client needs to know about the scorer (no paths beyond the backbone reference)."""
    cfg = model.backbone_config
    return {
        "backbone": cfg.name_or_path,
        "dtype": cfg.dtype,
        "lora": cfg.lora is not None,
        "quantization": cfg.quantization,
        "anchor": bool(model.anchor),
        "hidden_size": model.heads.hidden_size,
        "projection_dim": model.heads.projection_dim,
        "device": str(model.device),
        "encoder": model.encoder.settings(),
        "normalization": {"mean": model.norm_mean.tolist(), "std": model.norm_std.tolist()},
    }


class RewardService:
    """Request handling shared by every endpoint; owns the micro-batcher (the only model caller)."""

    def __init__(self, model: RewardModel, settings: ServeSettings):
        self.model = model
        self.settings = settings
        self.dimensions: list[str] = list(model.matrix.dimension_ids)
        self.splitter = QuerySplitter.from_tokenizer(model.tokenizer)
        self._weights: dict[tuple[str | None, str | None], list[float]] = {}
        self._in_flight = 0  # changed on the event loop only
        # Fail at start-up, not on the first request, when the default cell is wrong.
        self.weights(settings.scenario, settings.discipline)
        self.batcher: MicroBatcher[RenderedRow, RowScores] = MicroBatcher(
            self._score_rows, max_batch=settings.max_batch, max_wait_ms=settings.max_wait_ms
        )

    # ---- model side (batcher thread only) ---------------------------------------------------
    def _score_rows(self, rows: list[RenderedRow]) -> list[RowScores]:
        encoder = self.model.encoder
        examples = [encoder.encode_rendered(prompt_text, answer) for prompt_text, answer in rows]
        scores = self.model.raw_scores(examples, batch_size=self.settings.max_batch)
        raw, normalized = scores.tolist(), self.model.normalize(scores).tolist()
        return [RowScores(_finite(r, "raw"), _finite(n, "normalized")) for r, n in zip(raw, normalized)]

    # ---- request side (the event loop) ------------------------------------------------------
    def weights(self, scenario: str | None, discipline: str | None) -> list[float]:
        """The matrix weight vector for a cell (cached); unknown or inapplicable cells are a 400."""
        key = (scenario, discipline)
        if key not in self._weights:
            try:
                self._weights[key] = list(self.model.matrix.weight_vector(scenario, discipline))
            except ConfigError as error:
                raise RequestError(400, f"scenario/discipline: {error}") from error
        return self._weights[key]

    def _render(self, prompts: list[Prompt], answers: list[str], field_name: str) -> list[RenderedRow]:
        """The rows with their prompts rendered: the chat template can reject what the schema allows
        (role order, missing user turn), and the model thread then tokenizes the text without
        rendering it a second time."""
        rows = []
        for i, (prompt, answer) in enumerate(zip(prompts, answers)):
            try:
                rows.append((self.model.encoder.render_prompt(prompt), answer))
            except Exception as error:  # template errors come as jinja/ValueError, not MrrmlError
                raise RequestError(400, f"{field_name}[{i}]: the chat template rejects this prompt: {error}") from error
        return rows

    @property
    def in_flight(self) -> int:
        """Requests waiting for their scores."""
        return self._in_flight

    async def answer(self, job: ScoringJob) -> dict[str, Any]:
        """Score the job's rows through the batcher and shape the answer. 503 when the server is
        shutting down or no result comes within ``request_timeout_s`` (the job is then withdrawn if
        the model has not started on it); 400 when the model rejects the rows."""
        try:
            scores = self.batcher.submit_async(job.rows)
        except BatcherClosed as error:
            raise RequestError(503, str(error)) from error
        self._in_flight += 1
        try:
            rows = await asyncio.wait_for(scores, self.settings.request_timeout_s)
        except asyncio.TimeoutError:
            raise RequestError(503, f"no result within {self.settings.request_timeout_s:g} s") from None
        except MrrmlError as error:
            raise RequestError(400, str(error)) from error
        finally:
            self._in_flight -= 1
        return job.answer(rows)

    def _limit_rows(self, rows: int, where: str) -> None:
        """413 for a request with more rows than one request may hold: one request must not occupy the
        batcher for long enough to starve every other client."""
        limit = self.settings.max_rows_per_request
        if rows > limit:
            raise RequestError(
                413, f"{where}: {rows} rows exceed the limit of {limit} rows per request; split the request"
            )

    def score_job(self, body: Any) -> ScoringJob:
        """``POST /score``: per-dimension raw and normalised scores and the weighted reward."""
        if not isinstance(body, dict):
            raise RequestError(400, "body: expected a JSON object with 'prompts' and 'responses'")
        unknown = set(body) - {"prompts", "responses", "scenario", "discipline"}
        if unknown:
            raise RequestError(
                400, f"unknown field(s) {sorted(unknown)}; expected prompts, responses, scenario, discipline"
            )
        raw_prompts = body.get("prompts")
        if not isinstance(raw_prompts, list):
            raise RequestError(400, f"prompts: expected a list, got {type(raw_prompts).__name__}")
        self._limit_rows(len(raw_prompts), "prompts")
        prompts = [_check_prompt(p, f"prompts[{i}]") for i, p in enumerate(raw_prompts)]
        responses = _string_list(body, "responses")
        if len(prompts) != len(responses):
            raise RequestError(400, f"responses: {len(responses)} responses for {len(prompts)} prompts")
        scenario = _optional_id(body, "scenario", self.settings.scenario)
        discipline = _optional_id(body, "discipline", self.settings.discipline)
        weights = self.weights(scenario, discipline)
        rendered = self._render(prompts, responses, "prompts")

        def answer(rows: list[RowScores]) -> dict[str, Any]:
            return {
                "dimensions": self.dimensions,
                "scenario": scenario,
                "discipline": discipline,
                "weights": dict(zip(self.dimensions, weights)),
                "results": [
                    {
                        "raw": dict(zip(self.dimensions, row.raw)),
                        "normalized": dict(zip(self.dimensions, row.normalized)),
                        "reward": sum(w * n for w, n in zip(weights, row.normalized)),
                    }
                    for row in rows
                ],
            }

        return ScoringJob(rendered, answer)

    def reward_job(self, body: Any) -> ScoringJob:
        """``POST /get_reward`` (OpenRLHF): full query strings in, one reward per query out.

        Fields other than ``query``, ``prompts``, ``scenario`` and ``discipline`` (OpenRLHF also sends
        ``labels``) are ignored, so newer OpenRLHF versions keep working.
        """
        if not isinstance(body, dict):
            raise RequestError(400, "body: expected a JSON object with 'query'")
        raw_queries = body.get("query")
        if isinstance(raw_queries, list):  # checked before validating (and splitting) every row
            self._limit_rows(len(raw_queries), "query")
        queries = _string_list(body, "query")
        prompt_texts = _string_list(body, "prompts") if body.get("prompts") is not None else None
        if prompt_texts is not None and len(prompt_texts) != len(queries):
            raise RequestError(400, f"prompts: {len(prompt_texts)} prompts for {len(queries)} queries")
        scenario = _optional_id(body, "scenario", self.settings.scenario)
        discipline = _optional_id(body, "discipline", self.settings.discipline)
        weights = self.weights(scenario, discipline)
        prompts, answers = [], []
        for i, query in enumerate(queries):
            try:
                prompt, answer = self.splitter.split(i, query, None if prompt_texts is None else prompt_texts[i])
            except QuerySplitError as error:
                raise RequestError(400, str(error)) from error
            prompts.append(_check_prompt(prompt, f"query[{i}] (prompt part)"))
            answers.append(answer)
        rendered = self._render(prompts, answers, "query")

        def answer(rows: list[RowScores]) -> dict[str, Any]:
            return {
                "rewards": [sum(w * n for w, n in zip(weights, row.normalized)) for row in rows],
                "normalized": {d: [row.normalized[j] for row in rows] for j, d in enumerate(self.dimensions)},
            }

        return ScoringJob(rendered, answer)

    def health(self) -> dict[str, Any]:
        stats = self.batcher.stats
        return {
            "status": "draining" if self.batcher.closed else "ok",
            "in_flight": self.in_flight,
            "batches": stats.calls,
            "rows": stats.rows,
            "requests": stats.jobs,
            "failed_batches": stats.failed_calls,
            # Full collections stop every thread; the objects frozen at start-up are not walked.
            "gc": {"frozen_objects": gc.get_freeze_count(), "full_collections": gc.get_stats()[2]["collections"]},
        }

    def info(self) -> dict[str, Any]:
        matrix = self.model.matrix
        return {
            "mrrml_version": __version__,
            "dimensions": [{"id": d.id, "name": d.name} for d in matrix.dimensions],
            "matrix": {
                "name": matrix.name,
                "version": matrix.version,
                "scenarios": matrix.scenario_ids,
                "disciplines": matrix.discipline_ids,
            },
            "model": _model_info(self.model),
            "defaults": {"scenario": self.settings.scenario, "discipline": self.settings.discipline},
            "batching": {"max_batch": self.settings.max_batch, "max_wait_ms": self.settings.max_wait_ms},
            "max_body_bytes": self.settings.max_body_bytes,
            "max_rows_per_request": self.settings.max_rows_per_request,
            "assistant_marker": self.splitter.marker,
        }

    def close(self, timeout: float | None = None) -> bool:
        """Refuse new rows, finish the accepted ones."""
        return self.batcher.close(timeout)
