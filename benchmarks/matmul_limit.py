"""The machine's practical compute ceiling: plain ``torch.matmul`` FLOP/s at a transformer's GEMM shapes.

Usage: ``python benchmarks/matmul_limit.py [--hidden 512] [--tokens 1024] [--repeats 5]``

A training step is mostly the GEMMs of the linear layers ([tokens, hidden] x [hidden, 3·hidden] and
back). Timing exactly those shapes with nothing else around them gives the FLOP/s this machine can
reach for that work; a training benchmark divides its achieved model FLOP/s by this number to say how
far it is from the limit. Prints ONE JSON object.
"""

from __future__ import annotations

import argparse
import json
import time

try:
    from benchmarks._harness import machine
except ImportError:  # run as a script: benchmarks/ is on sys.path
    from _harness import machine  # type: ignore[no-redef]

import torch


def gemm_shapes(hidden: int, tokens: int) -> list[tuple[int, int, int]]:
    """(m, k, n) of the MLP up/down projections and the attention projections of one layer."""
    return [(tokens, hidden, 3 * hidden), (tokens, 3 * hidden, hidden), (tokens, hidden, hidden)]


def matmul_flops(
    hidden: int, tokens: int, repeats: int = 5, dtype: torch.dtype = torch.float32, device: str = "cpu"
) -> dict[str, float]:
    """Best-of-``repeats`` FLOP/s per shape and over all shapes (the ceiling: least disturbed run)."""
    results: dict[str, float] = {}
    total_flops, total_best = 0.0, 0.0
    for m, k, n in gemm_shapes(hidden, tokens):
        a = torch.randn(m, k, dtype=dtype, device=device)
        b = torch.randn(k, n, dtype=dtype, device=device)
        torch.matmul(a, b)  # warm-up (thread pool, packing buffers)
        best = float("inf")
        for _ in range(repeats):
            if device == "cuda":
                torch.cuda.synchronize()
            start = time.perf_counter()
            torch.matmul(a, b)
            if device == "cuda":
                torch.cuda.synchronize()
            best = min(best, time.perf_counter() - start)
        flops = 2.0 * m * k * n
        results[f"{m}x{k}x{n}"] = flops / best
        total_flops += flops
        total_best += best
    results["all_shapes"] = total_flops / total_best
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hidden", type=int, default=512)
    parser.add_argument("--tokens", type=int, default=1024)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    flops = matmul_flops(args.hidden, args.tokens, args.repeats)
    print(
        json.dumps(
            {
                "benchmark": "matmul_limit",
                "machine": machine(),
                "hidden": args.hidden,
                "tokens": args.tokens,
                "dtype": "float32",
                "gflops": {k: round(v / 1e9, 2) for k, v in flops.items()},
            }
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
