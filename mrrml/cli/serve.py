"""``mrrml serve MODEL_DIR``: the HTTP reward server (see :mod:`mrrml.serve.server`).

The bearer token is read from an environment variable, never from the command line (argv is
visible to every user of the machine through ``ps``) nor from a config file. By default the server
binds 127.0.0.1; to expose it, pass ``--host`` explicitly and set a token.
"""

from __future__ import annotations

import logging
import os
import sys
from dataclasses import dataclass
from typing import Literal

from ..errors import ConfigError
from ._parsing import Command, Renamed, run_command

DEFAULT_TOKEN_ENV = "MRRML_SERVE_TOKEN"


@dataclass(frozen=True)
class Batching:
    """How concurrent requests are batched into model calls.

    Args:
        max_batch: rows per model call.
        max_wait_ms: how long a batch waits for more requests after its first.
    """

    max_batch: int = 32
    max_wait_ms: float = 5.0


@dataclass(frozen=True)
class Limits:
    """What one request may ask for.

    Args:
        max_body_bytes: largest accepted request body (default: 8 MiB).
        max_rows_per_request: most rows (prompt/response pairs) in one request; more get a 413.
        request_timeout: seconds a request may wait for its scores before a 503.
    """

    max_body_bytes: int = 8 * 1024 * 1024
    max_rows_per_request: int = 1024
    request_timeout: float = 300.0


def serve(
    model_dir: str,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    token_env: str | None = None,
    batching: Batching = Batching(),
    limits: Limits = Limits(),
    scenario: str | None = None,
    discipline: str | None = None,
    device: str | None = None,
    dtype: Literal["float32", "bfloat16", "float16"] | None = None,
    trust_remote_code: bool = False,
    torch_threads: int | None = None,
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO",
) -> int:
    """Serve a reward model over HTTP: POST /score, POST /get_reward (OpenRLHF), GET /info, GET /health.

    Prints one line "mrrml serve: listening on URL" once the port is bound (scripts that pass
    --port 0 read the address from it) and stops gracefully on SIGTERM or SIGINT.

    Args:
        model_dir: a saved mrrml model directory.
        host: bind address (default: loopback only).
        port: port; 0 picks a free one.
        token_env: environment variable holding the bearer token (default: MRRML_SERVE_TOKEN when
            set; naming a variable makes it required). The token itself is never an option.
        batching: how concurrent requests are batched into model calls.
        limits: what one request may ask for.
        scenario: default scenario of the reward (requests may override it).
        discipline: default discipline of the reward (requests may override it).
        device: torch device (default: cuda when available, else cpu; without it a QLoRA model scores
            4-bit where bitsandbytes is installed, else over its unquantised base).
        dtype: backbone dtype override (default: the model's).
        trust_remote_code: allow the model directory to run its own code (only for models you trust).
        torch_threads: torch intra-op threads for the model (default: torch's choice). On a CPU shared
            with other work, 1 avoids OpenMP threads spinning against the HTTP threads.
        log_level: logging level.
    """
    logging.basicConfig(level=log_level, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for name, value in (
        ("--batching.max_batch", batching.max_batch),
        ("--limits.max_body_bytes", limits.max_body_bytes),
        ("--limits.max_rows_per_request", limits.max_rows_per_request),
    ):
        if value < 1:
            raise ConfigError(f"{name} must be >= 1, got {value}")
    if batching.max_wait_ms < 0 or limits.request_timeout <= 0:
        raise ConfigError("--batching.max_wait_ms must be >= 0 and --limits.request_timeout > 0")
    if torch_threads is not None and torch_threads < 1:
        raise ConfigError(f"--torch_threads must be >= 1, got {torch_threads}")
    token = _token(token_env)
    if torch_threads is not None:
        import torch

        torch.set_num_threads(torch_threads)

    from ..serve.device import load_for_scoring
    from ..serve.server import RewardServer
    from ..serve.service import ServeSettings

    settings = ServeSettings(
        host=host,
        port=port,
        token=token,
        max_batch=batching.max_batch,
        max_wait_ms=batching.max_wait_ms,
        max_body_bytes=limits.max_body_bytes,
        max_rows_per_request=limits.max_rows_per_request,
        scenario=scenario,
        discipline=discipline,
        request_timeout_s=limits.request_timeout,
    )
    model = load_for_scoring(model_dir, device=device, dtype=dtype, trust_remote_code=trust_remote_code)
    try:
        server = RewardServer(model, settings)
    except OSError as error:
        raise ConfigError(f"cannot bind {host}:{port}: {error}") from error
    log = logging.getLogger("mrrml.serve")
    if token is None and host not in ("127.0.0.1", "localhost", "::1"):
        log.warning("serving on %s without a token: anyone who can reach it can use it", host)
    # One parseable line for scripts that start the server on port 0 and need the address.
    print(f"mrrml serve: listening on {server.url} (auth: {'bearer token' if token else 'none'})", flush=True)
    server.serve_until_signal()
    print("mrrml serve: stopped", flush=True)
    return 0


def _token(token_env: str | None) -> str | None:
    name = token_env or DEFAULT_TOKEN_ENV
    value = os.environ.get(name, "")
    if token_env is not None and not value:
        raise ConfigError(f"--token_env {token_env}: the environment variable is unset or empty")
    return value or None


COMMAND = Command(
    serve,
    {
        "--max-batch": Renamed(("--batching.max_batch",)),
        "--max-wait-ms": Renamed(("--batching.max_wait_ms",)),
        "--max-body-bytes": Renamed(("--limits.max_body_bytes",)),
        "--max-rows-per-request": Renamed(("--limits.max_rows_per_request",)),
        "--request-timeout": Renamed(("--limits.request_timeout",)),
    },
)


def run(argv: list[str]) -> int:
    return run_command("mrrml serve", COMMAND, argv)
