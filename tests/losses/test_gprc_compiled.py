"""The compiled loss: same values and gradients as the eager reference, one graph for every batch size."""

from __future__ import annotations

import pytest
import torch
from torch._dynamo.utils import counters

from mrrml.losses import gprc
from mrrml.losses.gprc import TERMS, GPRCConfig, gprc_loss, gprc_loss_reference

from .conftest import make_batch

pytestmark = pytest.mark.filterwarnings("ignore:Converting a tensor with requires_grad")

CFG = GPRCConfig(margin=0.8, axis=0.3, perp=0.2, ortho=0.05, neutral=0.4, center=0.02)


def values_and_grads(fn, batch, config=CFG) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    leaves = batch.leaves()
    for t in leaves.values():
        t.grad = None
    out = fn(*batch.args(), config=config)
    out.loss.backward()
    values = {"loss": out.loss.detach(), **{k: v.detach() for k, v in out.terms.items()}}
    return values, {k: t.grad.clone() for k, t in leaves.items()}


def assert_compiled_matches_reference(batch) -> None:
    """Every term and every gradient of the compiled loss equals the eager reference's (fp32, tight)."""
    eager_values, eager_grads = values_and_grads(gprc_loss_reference, batch)
    compiled_values, compiled_grads = values_and_grads(gprc_loss, batch)
    assert set(compiled_values) == {"loss", *TERMS}
    for name, value in eager_values.items():
        torch.testing.assert_close(
            compiled_values[name], value, rtol=1e-5, atol=1e-6, msg=lambda m, name=name: f"{name}: {m}"
        )
    for name, grad in eager_grads.items():
        assert torch.isfinite(grad).all(), name
        torch.testing.assert_close(
            compiled_grads[name], grad, rtol=1e-5, atol=1e-6, msg=lambda m, name=name: f"{name}: {m}"
        )


@pytest.mark.parametrize("neutral", [True, False], ids=["with-neutral", "no-neutral"])
def test_compiled_matches_eager_in_value_and_gradient(neutral):
    # P = 45 is not a multiple of the SIMD width.
    assert_compiled_matches_reference(make_batch(37, 45, 5, seed=11, neutral=neutral))


@pytest.mark.parametrize("heads", [8, gprc.UNROLL_HEADS_BELOW + 5], ids=["8-heads", "above-unroll-limit"])
def test_compiled_matches_eager_for_many_heads(heads):
    """The head sums are unrolled into pointwise code below UNROLL_HEADS_BELOW heads and stay
    reductions above it; both lowerings must give the reference's values and gradients."""
    assert_compiled_matches_reference(make_batch(19, 40, heads, seed=5))


@pytest.mark.parametrize("width", [40, 96], ids=["P-unrolled", "P-reduced"])
def test_compiled_matches_eager_with_heads_as_a_parameter(width):
    """As in training (``W = heads.weight``): Dynamo keeps a parameter's shape static, so P is a
    constant, and for P < UNROLL_HEADS_BELOW the sums over P are unrolled too."""
    batch = make_batch(23, width, 8, seed=7)
    batch.W = torch.nn.Parameter(batch.W.detach().clone())
    assert_compiled_matches_reference(batch)


@pytest.mark.parametrize(
    "config", [CFG, GPRCConfig(axis=0, perp=0, ortho=0, neutral=0, center=0)], ids=["all-terms", "rank-only"]
)
def test_compiled_matches_eager_when_no_row_has_a_neutral_rewrite(config):
    """Regression: with ``z_neutral`` passed but every ``has_neutral`` False, a former formulation
    compiled to a zero gradient for ``z_good`` (the value was right, the training signal was not)."""
    batch = make_batch(6, 32, 5, seed=3, neutral=True)
    batch.has_neutral = torch.zeros_like(batch.has_neutral)
    eager_values, eager_grads = values_and_grads(gprc_loss_reference, batch, config)
    compiled_values, compiled_grads = values_and_grads(gprc_loss, batch, config)
    torch.testing.assert_close(compiled_values["loss"], eager_values["loss"], rtol=1e-5, atol=1e-6)
    assert eager_grads["z_good"].abs().sum() > 0
    for name, grad in eager_grads.items():
        torch.testing.assert_close(
            compiled_grads[name], grad, rtol=1e-5, atol=1e-6, msg=lambda m, name=name: f"{name}: {m}"
        )


@pytest.mark.parametrize("first_shape", [(6, 32), (37, 45)], ids=["first-6x32", "first-37x45"])
def test_fresh_compilation_is_right_whatever_shape_comes_first(first_shape):
    """Regression: an earlier formulation compiled to wrong gradients or right ones depending only on
    the (K, P) of the first call. Compile afresh from each first shape, then check later shapes."""
    core = gprc.compile_core()
    rank_only = GPRCConfig(axis=0, perp=0, ortho=0, neutral=0, center=0)
    for (K, P), config, no_neutral_rows in (
        (first_shape, CFG, False),
        ((6, 32), rank_only, True),
        ((37, 45), CFG, False),
    ):
        batch = make_batch(K, P, 5, seed=11, neutral=True)
        if no_neutral_rows:
            batch.has_neutral = torch.zeros_like(batch.has_neutral)
        _, eager_grads = values_and_grads(gprc_loss_reference, batch, config)
        _, compiled_grads = values_and_grads(lambda *args, config: gprc._run(core, *args, config=config), batch, config)
        for name, grad in eager_grads.items():
            torch.testing.assert_close(
                compiled_grads[name], grad, rtol=1e-5, atol=1e-6, msg=lambda m, name=name, K=K: f"K={K} {name}: {m}"
            )


def test_compiled_gradients_stay_finite_at_degenerate_points():
    batch = make_batch(4, 16, 3, seed=12)
    batch.z_poor = batch.z_good.detach().clone().requires_grad_()  # v = 0
    batch.W = torch.zeros(3, 16, requires_grad=True)  # zero heads
    _, grads = values_and_grads(gprc_loss, batch)
    assert all(torch.isfinite(g).all() for g in grads.values())


def test_one_graph_for_every_batch_size_and_no_graph_breaks():
    """Fails on any graph break (fullgraph), on any recompile (error_on_recompile) or on a second graph."""
    torch._dynamo.reset()
    counters.clear()
    with torch._dynamo.config.patch(error_on_recompile=True):
        for i, K in enumerate((3, 5, 17, 64)):
            batch = make_batch(K, 24, 4, seed=K)
            config = GPRCConfig(margin=1.0 + i, axis=0.1 * i)  # a λ schedule must not recompile either
            values, _grads = values_and_grads(gprc_loss, batch, config)
            reference, _ = values_and_grads(gprc_loss_reference, batch, config)
            torch.testing.assert_close(values["loss"], reference["loss"], rtol=1e-5, atol=1e-6)
    assert counters["stats"]["unique_graphs"] == 1
    assert sum(counters["graph_break"].values()) == 0


def test_eager_switches_skip_compilation(monkeypatch):
    batch = make_batch(6, 8, 2, seed=13)
    torch._dynamo.reset()
    counters.clear()
    gprc_loss(*batch.args(), eager=True)
    monkeypatch.setenv(gprc.EAGER_ENV, "1")
    assert gprc.eager_forced()
    gprc_loss(*batch.args())
    assert counters["stats"]["unique_graphs"] == 0
    monkeypatch.setenv(gprc.EAGER_ENV, "0")
    gprc_loss(*batch.args())
    assert counters["stats"]["unique_graphs"] == 1


def test_one_process_can_compile_the_loss_for_many_models():
    """Each (D, P) of a model is its own graph. With Dynamo's global limit lowered to 1, three head
    counts in a row still compile (the loss sets its own limit, GRAPHS_PER_PROCESS) instead of failing."""
    torch._dynamo.reset()
    with torch._dynamo.config.patch(recompile_limit=1):
        for heads in (3, 4, 6):
            batch = make_batch(9, 16, heads, seed=heads)
            batch.W = torch.nn.Parameter(batch.W.detach().clone())
            values, _ = values_and_grads(gprc_loss, batch)
            reference, _ = values_and_grads(gprc_loss_reference, batch)
            torch.testing.assert_close(values["loss"], reference["loss"], rtol=1e-5, atol=1e-6)


def test_torch_without_a_per_function_recompile_limit_raises_dynamos(monkeypatch):
    """Older torch (2.11, common on GPU images) has no ``torch.compile(recompile_limit=)``: the loss then
    raises Dynamo's process-wide limit instead, and several head counts still compile."""
    real_compile = torch.compile

    def compile_without_recompile_limit(model=None, *, fullgraph=False, dynamic=None, backend="inductor", options=None):
        return real_compile(model, fullgraph=fullgraph, dynamic=dynamic, backend=backend, options=options)

    monkeypatch.setattr(torch, "compile", compile_without_recompile_limit)
    torch._dynamo.reset()
    with torch._dynamo.config.patch(recompile_limit=1):
        core = gprc.compile_core()
        assert torch._dynamo.config.recompile_limit == gprc.GRAPHS_PER_PROCESS
        for heads in (3, 4, 6):
            batch = make_batch(9, 16, heads, seed=heads)
            batch.W = torch.nn.Parameter(batch.W.detach().clone())
            values, _ = values_and_grads(lambda *args, config: gprc._run(core, *args, config=config), batch)
            reference, _ = values_and_grads(gprc_loss_reference, batch)
            torch.testing.assert_close(values["loss"], reference["loss"], rtol=1e-5, atol=1e-6)
