"""``mrrml serve MODEL_DIR``: the HTTP reward server (see :mod:`mrrml.serve.server`).

The bearer token is read from an environment variable, never from the command line (argv is
visible to every user of the machine through ``ps``). By default the server binds 127.0.0.1; to
expose it, pass ``--host`` explicitly and set a token.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys

from ..errors import ConfigError
from ._options import add_trust_remote_code

DEFAULT_TOKEN_ENV = "MRRML_SERVE_TOKEN"


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="mrrml serve",
        description="Serve a reward model over HTTP: POST /score, POST /get_reward (OpenRLHF), GET /info, GET /health.",
    )
    p.add_argument("model_dir", help="a saved mrrml model directory")
    p.add_argument("--host", default="127.0.0.1", help="bind address (default: loopback only)")
    p.add_argument("--port", type=int, default=8000, help="port; 0 picks a free one (default: 8000)")
    p.add_argument(
        "--token-env",
        default=None,
        metavar="VAR",
        help=f"environment variable holding the bearer token (default: {DEFAULT_TOKEN_ENV} when set; "
        "naming a variable makes it required)",
    )
    p.add_argument("--max-batch", type=int, default=32, help="rows per model call (default: 32)")
    p.add_argument(
        "--max-wait-ms",
        type=float,
        default=5.0,
        help="how long a batch waits for more requests after its first (default: 5)",
    )
    p.add_argument(
        "--max-body-bytes", type=int, default=8 * 1024 * 1024, help="largest accepted request body (default: 8 MiB)"
    )
    p.add_argument(
        "--max-rows-per-request",
        type=int,
        default=1024,
        help="most rows (prompt/response pairs) in one request; more get a 413 (default: 1024)",
    )
    p.add_argument(
        "--request-timeout",
        type=float,
        default=300.0,
        help="seconds a request may wait for its scores before a 503 (default: 300)",
    )
    p.add_argument("--scenario", default=None, help="default scenario for the reward (requests may override)")
    p.add_argument("--discipline", default=None, help="default discipline for the reward (requests may override)")
    p.add_argument("--device", default=None, help="torch device (default: where the model loads)")
    add_trust_remote_code(p)
    p.add_argument("--dtype", default=None, choices=["float32", "bfloat16", "float16"], help="backbone dtype override")
    p.add_argument(
        "--torch-threads",
        type=int,
        default=None,
        metavar="N",
        help="torch intra-op threads for the model (default: torch's choice). On a CPU shared with "
        "other work, 1 avoids OpenMP threads spinning against the HTTP threads",
    )
    p.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    return p


def _token(token_env: str | None) -> str | None:
    name = token_env or DEFAULT_TOKEN_ENV
    value = os.environ.get(name, "")
    if token_env is not None and not value:
        raise ConfigError(f"--token-env {token_env}: the environment variable is unset or empty")
    return value or None


def run(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=args.log_level, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    for name, value in (
        ("--max-batch", args.max_batch),
        ("--max-body-bytes", args.max_body_bytes),
        ("--max-rows-per-request", args.max_rows_per_request),
    ):
        if value < 1:
            raise ConfigError(f"{name} must be >= 1, got {value}")
    if args.max_wait_ms < 0 or args.request_timeout <= 0:
        raise ConfigError("--max-wait-ms must be >= 0 and --request-timeout > 0")
    if args.torch_threads is not None and args.torch_threads < 1:
        raise ConfigError(f"--torch-threads must be >= 1, got {args.torch_threads}")
    token = _token(args.token_env)
    if args.torch_threads is not None:
        import torch

        torch.set_num_threads(args.torch_threads)

    from ..model.reward_model import load
    from ..serve.server import RewardServer
    from ..serve.service import ServeSettings

    settings = ServeSettings(
        host=args.host,
        port=args.port,
        token=token,
        max_batch=args.max_batch,
        max_wait_ms=args.max_wait_ms,
        max_body_bytes=args.max_body_bytes,
        max_rows_per_request=args.max_rows_per_request,
        scenario=args.scenario,
        discipline=args.discipline,
        request_timeout_s=args.request_timeout,
    )
    model = load(args.model_dir, device=args.device, dtype=args.dtype, trust_remote_code=args.trust_remote_code)
    try:
        server = RewardServer(model, settings)
    except OSError as error:
        raise ConfigError(f"cannot bind {args.host}:{args.port}: {error}") from error
    log = logging.getLogger("mrrml.serve")
    if token is None and args.host not in ("127.0.0.1", "localhost", "::1"):
        log.warning("serving on %s without a token: anyone who can reach it can use it", args.host)
    # One parseable line for scripts that start the server on port 0 and need the address.
    print(f"mrrml serve: listening on {server.url} (auth: {'bearer token' if token else 'none'})", flush=True)
    server.serve_until_signal()
    print("mrrml serve: stopped", flush=True)
    return 0
