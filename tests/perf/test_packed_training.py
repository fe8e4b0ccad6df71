"""The training module's ``packing`` option: same loss, terms and gradients as one row per answer.

A real collated batch (the data module's encoder and collate) mixing a triplet with a neutral rewrite on
a multi-turn prompt, a dimension pair, an overall pair and a rated record, so every loss branch reads
packed embeddings through the unpacked batch's index maps.
"""

from __future__ import annotations

import torch

from mrrml.data.batching import collate
from mrrml.data.datamodule import encode_record
from mrrml.data.records import PairRecord, RatedRecord, TripletRecord
from mrrml.model.backbone import BackboneConfig

TOL = dict(rtol=1e-5, atol=1e-5)


def test_module_packing_matches_unpacked(tiny_qwen3_dir, conversations):
    from mrrml.training.module import RewardModelModule

    torch.manual_seed(0)
    module = RewardModelModule(BackboneConfig(str(tiny_qwen3_dir)), matrix="healthbench", compile_loss=False)
    assert module.packing == "auto"  # the default: packs where the estimate says it pays
    module.reward_model.eval()
    (multi, (good, medium, poor)), (plain, (chosen, rejected)) = conversations
    records = [
        TripletRecord(
            id="t",
            prompt=multi,
            dimension="accuracy",
            scenario="context_seeking",
            discipline="internal_medicine",
            good=good,
            poor=poor,
            medium=medium,
            neutral=good + " Please see a clinician if unsure.",
        ),
        PairRecord(prompt=plain, chosen=chosen, rejected=rejected, dimension="completeness", id="p"),
        PairRecord(
            prompt=plain, chosen=chosen, rejected=rejected, id="o", scenario="communication", discipline="pharmacy"
        ),
        RatedRecord(prompt=multi, response=medium, scores={"accuracy": 0.5}, id="r"),
    ]
    encoded = [encode_record(r, module.reward_model.encoder, module.matrix, f"rec{i}") for i, r in enumerate(records)]
    batch = collate(encoded, module.reward_model.tokenizer.pad_token_id, len(module.dimensions))

    def run(packing: bool):
        module.packing = packing
        module.zero_grad(set_to_none=True)
        loss, terms, scores = module.losses(batch)
        loss.backward()
        grads = {n: p.grad.detach().clone() for n, p in module.named_parameters() if p.grad is not None}
        return loss.detach(), {k: v.detach() for k, v in terms.items()}, scores.detach(), grads

    loss_u, terms_u, scores_u, grads_u = run(False)
    loss_p, terms_p, scores_p, grads_p = run(True)
    torch.testing.assert_close(scores_p, scores_u, **TOL)
    torch.testing.assert_close(loss_p, loss_u, **TOL)
    assert {"gprc", "overall", "rated", "neutral"} <= set(terms_u) and set(terms_p) == set(terms_u)
    for key in terms_u:
        torch.testing.assert_close(terms_p[key], terms_u[key], **TOL)
    assert set(grads_p) == set(grads_u) and any("layers" in n for n in grads_u)
    for name, grad in grads_u.items():
        torch.testing.assert_close(grads_p[name], grad, **TOL, msg=lambda m, n=name: f"{n}: {m}")
