"""Forward+backward time and peak memory of the GPRC loss, compiled vs eager, side by side.

Usage: ``python benchmarks/gprc_loss.py [--device cpu|cuda] [--threads N] [--repeats N] [--cases K,H,D ...]``

Prints ONE JSON object (one line): per case the median time of eager and compiled (warm-up and
compilation excluded), ``speedup = eager / compiled``, their peak memory above the inputs and
``memory_ratio = compiled / eager``, and the machine it ran on. Eager and compiled repeats are
interleaved so that load from other processes hits both alike.

Two allocator regimes on CPU, both reported because they rank the paths differently:

* ``speedup`` — glibc's default allocator, which is what a training process runs with: freed blocks
  below its (dynamic, ≤ 32 MiB) mmap threshold are reused without new page faults.
* ``mmap_regime`` — every block over 64 KiB mapped on its own (``MALLOC_MMAP_THRESHOLD_=65536``, in a
  child process), as tensors over 32 MiB always are. Every allocation then pays its page faults, which
  taxes the path that allocates more (eager). Peak memory is measured here: the kernel's peak-RSS
  counter (VmHWM, reset through /proc/self/clear_refs) then follows torch's allocations, whereas
  tracemalloc does not see torch's allocator and sampling RSS misses short peaks.

On CUDA there is one regime: ``torch.cuda.max_memory_allocated`` gives the peaks.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

try:  # sets the Inductor cache dir before torch is imported
    from benchmarks._harness import machine as host
except ImportError:  # run as a script: benchmarks/ is on sys.path
    from _harness import machine as host  # type: ignore[no-redef]

import torch

from mrrml.losses.gprc import GPRCConfig, gprc_loss

DEFAULT_CASES = ((4096, 1024, 8), (256, 5120, 5))


def make_inputs(K: int, P: int, D: int, device: torch.device, seed: int = 0) -> dict:
    """A batch of K triplets (≈75 % with a medium answer, ≈50 % with a neutral rewrite)."""
    g = torch.Generator().manual_seed(seed)

    def leaf(*shape: int) -> torch.Tensor:
        return torch.randn(*shape, generator=g).to(device).requires_grad_()

    has_medium = torch.rand(K, generator=g) < 0.75
    z_medium = torch.randn(K, P, generator=g) * has_medium.unsqueeze(1)
    # W and b are parameters, as in training (heads.weight / heads.bias): Dynamo keeps their shapes
    # static, so the compiled graph is the one a training run gets.
    return dict(
        z_good=leaf(K, P),
        z_medium=z_medium.to(device).requires_grad_(),
        z_poor=leaf(K, P),
        W=torch.nn.Parameter(leaf(D, P).detach()),
        b=torch.nn.Parameter(leaf(D).detach()),
        dim_idx=torch.randint(0, D, (K,), generator=g).to(device),
        has_medium=has_medium.to(device),
        z_neutral=leaf(K, P),
        has_neutral=(torch.rand(K, generator=g) < 0.5).to(device),
    )


def step(inputs: dict, eager: bool) -> torch.Tensor:
    """One forward+backward; gradients are dropped first so each step allocates them afresh."""
    for t in inputs.values():
        if t.requires_grad:
            t.grad = None
    out = gprc_loss(**inputs, config=GPRCConfig(), eager=eager)
    out.loss.backward()
    return out.loss.detach()


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def peak_bytes(inputs: dict, eager: bool, device: torch.device) -> int:
    """Peak bytes allocated during one step, above what was allocated when it started."""
    for t in inputs.values():
        t.grad = None  # freed before the baseline is read, not during the measured step
    if device.type == "cuda":
        sync(device)
        base = torch.cuda.memory_allocated()
        torch.cuda.reset_peak_memory_stats()
        step(inputs, eager)
        sync(device)
        return torch.cuda.max_memory_allocated() - base
    # Peak RSS is reset, then read back after the step (Linux /proc). glibc is told (MMAP_THRESHOLD,
    # see mmap_regime) to map every large block separately, so a freed tensor leaves RSS at once and
    # RSS follows the live allocations.
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    base = _status_kib("VmRSS")
    step(inputs, eager)
    peak = (_status_kib("VmHWM") - base) * 1024
    return peak


def _status_kib(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"/proc/self/status has no {field}")


def bench_case(K: int, P: int, D: int, device: torch.device, repeats: int, warmup: int, memory: bool) -> dict:
    """Timings (and, with ``memory``, peak memory) of one case; the max |diff| of loss and grads."""
    inputs = make_inputs(K, P, D, device)
    loss_eager = step(inputs, eager=True)
    grads_eager = {k: t.grad.clone() for k, t in inputs.items() if t.requires_grad}
    loss_compiled = step(inputs, eager=False)  # compiles on the very first case
    grad_diff = max(float((inputs[k].grad - g).abs().max()) for k, g in grads_eager.items())
    for _ in range(warmup):
        step(inputs, eager=True)
        step(inputs, eager=False)
    times: dict[bool, list[float]] = {True: [], False: []}
    for _ in range(repeats):
        for eager in (True, False):
            sync(device)
            start = time.perf_counter()
            step(inputs, eager)
            sync(device)
            times[eager].append(time.perf_counter() - start)
    eager_ms = statistics.median(times[True]) * 1e3
    compiled_ms = statistics.median(times[False]) * 1e3
    row = {
        "K": K,
        "H": P,
        "D": D,
        "eager_ms": round(eager_ms, 3),
        "compiled_ms": round(compiled_ms, 3),
        "speedup": round(eager_ms / compiled_ms, 3),
        "max_abs_loss_diff": float((loss_eager - loss_compiled).abs()),
        "max_abs_grad_diff": grad_diff,
    }
    if memory:
        eager_peak = peak_bytes(inputs, True, device)
        compiled_peak = peak_bytes(inputs, False, device)
        row.update(
            eager_peak_mib=round(eager_peak / 2**20, 2),
            compiled_peak_mib=round(compiled_peak / 2**20, 2),
            memory_ratio=round(compiled_peak / eager_peak, 3) if eager_peak else None,
        )
    return row


def mmap_regime(argv: list[str]) -> list[dict]:
    """The same cases in a child process whose allocator maps every block over 64 KiB on its own."""
    env = {**os.environ, "MALLOC_MMAP_THRESHOLD_": "65536"}
    proc = subprocess.run(
        [sys.executable, __file__, *argv, "--mmap-child"], env=env, capture_output=True, text=True, check=False
    )
    if proc.returncode != 0:
        raise RuntimeError(f"mmap-regime child failed (exit {proc.returncode}): {proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])["cases"]


def machine(device: torch.device) -> dict:
    """The host (CPU model, cores, torch threads, versions, GPU name) and the device benchmarked."""
    return {**host(), "device": str(device)}


def parse_case(text: str) -> tuple[int, int, int]:
    try:
        K, H, D = (int(x) for x in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected K,H,D (three integers), got {text!r}") from None
    return K, H, D


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="benchmarks/gprc_loss.py", description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's own choice)")
    parser.add_argument("--cases", type=parse_case, nargs="+", default=list(DEFAULT_CASES))
    parser.add_argument("--mmap-child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.device == "cuda" and not torch.cuda.is_available():
        print(json.dumps({"error": "--device cuda: no CUDA device is available"}))
        return 2
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    started = time.perf_counter()
    on_cpu = device.type == "cpu"
    cases = [
        bench_case(K, H, D, device, args.repeats, args.warmup, memory=not on_cpu or args.mmap_child)
        for K, H, D in args.cases
    ]
    if on_cpu and not args.mmap_child:
        for row, child in zip(cases, mmap_regime(argv if argv is not None else sys.argv[1:])):
            row["mmap_regime"] = {k: child[k] for k in ("eager_ms", "compiled_ms", "speedup")}
            for key in ("eager_peak_mib", "compiled_peak_mib", "memory_ratio"):
                row[key] = child[key]
    print(
        json.dumps(
            {
                "benchmark": "gprc_loss forward+backward",
                "machine": machine(device),
                "repeats": args.repeats,
                "warmup": args.warmup,
                "cases": cases,
                "wall_s": round(time.perf_counter() - started, 1),
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
