"""The reward server's HTTP API as a FastAPI application (served by :mod:`mrrml.serve.server`).

Endpoints (JSON in, JSON out):

* ``GET /health`` — liveness and batching counters; open without the token, so orchestrators can probe it.
* ``GET /info`` — dimensions, matrix name/version, model settings, server limits.
* ``POST /score`` — ``{"prompts", "responses", "scenario"?, "discipline"?}`` → per-dimension scores.
* ``POST /get_reward`` — OpenRLHF's remote reward protocol, ``{"query": [...]}`` → ``{"rewards": [...]}``.
* ``GET /docs`` (Swagger UI) and ``GET /openapi.json`` — the API description, open without the token:
  a browser cannot send a bearer header when it opens a page, and the description holds nothing the
  README does not (no model, matrix or data details: those are behind ``/info``).

Order of checks for each request, cheapest and least revealing first: shutting down (503) → token
(401) → route (404/405) → ``Content-Length`` present and within limit, *before* the body is read
(411/413) → JSON (400) → fields (400, naming the field). The first two are in :class:`_Gate`, an ASGI
middleware in front of routing; the token is compared in constant time and never logged.

Every error is ``{"error": message, "status": code}`` and closes the connection; an error answered
before the request body was read first drains it (bounded), because closing a socket with unread
input makes the kernel send a reset, and the client would see a broken pipe instead of the answer.

Request bodies are read, validated and shaped on the event loop; only the model runs elsewhere (the
batcher's thread). A request waiting for its batch holds no thread.
"""

from __future__ import annotations

import asyncio
import hmac
import inspect
import logging
import threading
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .. import __version__
from ..jsonutil import JsonTextError, loads_json
from .service import RequestError, RewardService, ScoringJob

logger = logging.getLogger("mrrml.serve")

ENDPOINTS = ("/get_reward", "/health", "/info", "/score")
# Paths open without the token (see the module docstring).
OPEN_PATHS = frozenset({"/health", "/docs", "/openapi.json"})
# An error answered before the body was read drains at most this much of it (discarded, never
# buffered), waiting at most _DRAIN_IDLE_S for each piece; beyond that the connection is just closed.
_DRAIN_LIMIT = 64 * 1024 * 1024
_DRAIN_IDLE_S = 2.0
_CLOSE = (b"connection", b"close")


def error_payload(status: int, message: str) -> dict[str, Any]:
    """The body of every error answer, including the HTTP layer's own (malformed request lines)."""
    return {"error": message, "status": status}


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(error_payload(status, message), status_code=status, headers=headers)


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope["headers"]:
        if key == name:
            return value
    return None


async def _discard_body(receive: Receive, declared: int) -> None:
    """Read and drop what is left of the request body (see the module docstring)."""
    if not 0 < declared <= _DRAIN_LIMIT:
        return
    while True:
        try:
            message = await asyncio.wait_for(receive(), _DRAIN_IDLE_S)
        except asyncio.TimeoutError:
            return
        if message["type"] != "http.request" or not message.get("more_body", False):
            return


class _Gate:
    """ASGI middleware for what comes before routing: refusal while shutting down, the bearer token,
    ``/path/`` served as ``/path`` (no redirect), and closing the connection after every error."""

    def __init__(self, app: ASGIApp, token: str | None, draining: threading.Event):
        self.app = app
        self.token = None if token is None else token.encode("utf-8")
        self.draining = draining

    def _authorized(self, scope: Scope) -> bool:
        scheme, _, supplied = (_header(scope, b"authorization") or b"").partition(b" ")
        if scheme.lower() != b"bearer":
            return False
        return hmac.compare_digest(supplied.strip(), self.token)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"].rstrip("/") or "/"
        if path != scope["path"]:
            scope = {**scope, "path": path}
        body_done = False

        async def tracked_receive() -> Message:
            nonlocal body_done
            message = await receive()
            body_done = message["type"] != "http.request" or not message.get("more_body", False)
            return message

        async def closing_send(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] >= 400:
                if not body_done:
                    try:
                        declared = int(_header(scope, b"content-length") or 0)
                    except ValueError:
                        declared = 0
                    await _discard_body(receive, declared)
                message = {**message, "headers": [*message.get("headers", []), _CLOSE]}
            await send(message)

        if self.draining.is_set():
            response = _error(503, "the server is shutting down", {"Retry-After": "1"})
        elif self.token is not None and path not in OPEN_PATHS and not self._authorized(scope):
            response = _error(401, "missing or wrong bearer token", {"WWW-Authenticate": 'Bearer realm="mrrml"'})
        else:
            await self.app(scope, tracked_receive, closing_send)
            return
        await response(scope, tracked_receive, closing_send)


async def _read_json(request: Request, limit: int) -> Any:
    """The request body as JSON; its declared size is checked before a byte of it is read."""
    if "transfer-encoding" in request.headers:
        raise RequestError(411, "chunked bodies are not accepted; send Content-Length")
    declared = request.headers.get("content-length")
    if declared is None:
        raise RequestError(411, "Content-Length is required")
    # The HTTP parser has already refused a Content-Length that is not a non-negative integer.
    if int(declared) > limit:
        raise RequestError(413, f"body of {declared} bytes exceeds the limit of {limit} bytes")
    raw = await request.body()
    try:
        return loads_json(raw)
    except JsonTextError as error:
        raise RequestError(400, f"body: not valid UTF-8 JSON: {error}") from None


# ---- the OpenAPI description (documentation only: the rules are in RewardService) -----------------
class ScoreRequest(BaseModel):
    prompts: list[str | list[dict[str, str]]] = Field(
        description="one prompt per row: a user message, or chat messages ({'role', 'content'})"
    )
    responses: list[str] = Field(description="one response per prompt")
    scenario: str | None = Field(None, description="matrix scenario id for the weights (default: the server's)")
    discipline: str | None = Field(None, description="matrix discipline id for the weights (default: the server's)")


class RowScore(BaseModel):
    raw: dict[str, float] = Field(description="head output per dimension")
    normalized: dict[str, float] = Field(description="the same, standardised with the training statistics")
    reward: float = Field(description="normalized scores weighted by the matrix cell")


class ScoreAnswer(BaseModel):
    dimensions: list[str]
    scenario: str | None
    discipline: str | None
    weights: dict[str, float]
    results: list[RowScore]


class RewardRequest(BaseModel):
    query: list[str] = Field(description="whole decoded sequences: chat-templated prompt followed by the response")
    prompts: list[str] | None = Field(None, description="the templated prompt of each query (cut there if given)")
    scenario: str | None = None
    discipline: str | None = None


class RewardAnswer(BaseModel):
    rewards: list[float]
    normalized: dict[str, list[float]]


class ErrorAnswer(BaseModel):
    error: str = Field(description="what is wrong, naming the field")
    status: int


def _body(model: type[BaseModel]) -> dict[str, Any]:
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": model.model_json_schema()}}}}


_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorAnswer, "description": text}
    for code, text in {
        400: "malformed JSON or a field that breaks the rules (named in the message)",
        401: "missing or wrong bearer token",
        411: "no Content-Length (or a chunked body)",
        413: "body or rows over the server's limit",
        503: "shutting down, or no result within the request timeout",
    }.items()
}


def _openapi(app: FastAPI, with_token: bool) -> Callable[[], dict[str, Any]]:
    """FastAPI's generated description, plus the bearer scheme on every closed path when a token is set."""

    def build() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
            if with_token:
                schema.setdefault("components", {})["securitySchemes"] = {
                    "bearer": {"type": "http", "scheme": "bearer"}
                }
                for path, operations in schema["paths"].items():
                    if path not in OPEN_PATHS:
                        for operation in operations.values():
                            operation["security"] = [{"bearer": []}]
            app.openapi_schema = schema
        return app.openapi_schema

    return build


# FastAPI releases with built-in OpenTelemetry ask the global providers on every request whether they
# are configured (environment lookups, header propagation): a measurable share of a one-row request's
# CPU on the event loop. The reward server exports no telemetry, so it switches that off where the
# release has the option (older releases have neither the hooks nor the option).
_NO_TELEMETRY: dict[str, Any] = (
    {"telemetry": {"tracing": False, "metrics": False, "logs": False}}
    if "telemetry" in inspect.signature(FastAPI.__init__).parameters
    else {}
)


def build_app(service: RewardService, draining: threading.Event) -> FastAPI:
    """The FastAPI application over ``service``; ``draining`` set = every new request gets a 503."""
    app = FastAPI(
        title="mrrml reward server",
        version=__version__,
        description="Multidimensional medical reward model: per-dimension scores and OpenRLHF rewards.",
        redoc_url=None,
        swagger_ui_oauth2_redirect_url=None,
        **_NO_TELEMETRY,
    )
    app.openapi = _openapi(app, service.settings.token is not None)  # type: ignore[method-assign]
    app.add_middleware(_Gate, token=service.settings.token, draining=draining)
    limit = service.settings.max_body_bytes

    @app.exception_handler(HTTPException)
    async def route_error(request: Request, error: HTTPException) -> JSONResponse:
        if error.status_code == 404:
            return _error(404, f"no endpoint {request.url.path}; known: {list(ENDPOINTS)}")
        if error.status_code == 405:
            allowed = (error.headers or {}).get("Allow", "")
            return _error(405, f"{request.url.path} accepts {allowed} only", error.headers)
        return _error(error.status_code, str(error.detail), error.headers)

    async def serve(request: Request, prepare: Callable[[Any], ScoringJob]) -> JSONResponse:
        try:
            return JSONResponse(await service.answer(prepare(await _read_json(request, limit))))
        except RequestError as error:
            return _error(error.status, str(error))
        except ClientDisconnect:  # nobody is left to answer
            logger.info("%s: client went away", request.client)
            return _error(400, "client disconnected")
        except Exception as error:  # a bug or a model failure: say so, keep serving
            logger.exception("internal error on %s %s", request.method, request.url.path)
            return _error(500, f"internal error: {type(error).__name__}: {error}")

    @app.get("/health", summary="liveness and batching counters (no token needed)")
    async def health() -> JSONResponse:
        return JSONResponse(service.health())

    @app.get("/info", summary="dimensions, matrix, model settings and server limits", responses=_ERRORS)
    async def info() -> JSONResponse:
        return JSONResponse(service.info())

    @app.post(
        "/score",
        summary="per-dimension raw and normalised scores and the weighted reward of each row",
        openapi_extra=_body(ScoreRequest),
        responses={200: {"model": ScoreAnswer}, **_ERRORS},
    )
    async def score(request: Request) -> JSONResponse:
        return await serve(request, service.score_job)

    @app.post(
        "/get_reward",
        summary="OpenRLHF's remote reward protocol: one reward per query",
        openapi_extra=_body(RewardRequest),
        responses={200: {"model": RewardAnswer}, **_ERRORS},
    )
    async def get_reward(request: Request) -> JSONResponse:
        return await serve(request, service.reward_job)

    return app
