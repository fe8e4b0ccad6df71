"""One forward pass gives the same anchor and answer vectors as separate runs, under any padding."""

from __future__ import annotations

import pytest
import torch

from mrrml.data.encoder import ConversationEncoder, pad_batch
from mrrml.model.pooling import backbone_hidden, pool_answer_and_anchor

PROMPTS = [
    "What should I do about a mild sprained ankle?",
    [
        {"role": "system", "content": "Answer as a nurse."},
        {"role": "user", "content": "My child has a fever of 39C."},
        {"role": "assistant", "content": "How old is your child?"},
        {"role": "user", "content": "Four years old, and drinking well."},
    ],
    "Hi",
]
ANSWERS = [
    "Rest, ice, compression and elevation; see a doctor if you cannot bear weight.",
    "Give fluids and paracetamol if uncomfortable; seek care if drowsy or the fever lasts over 3 days.",
    "Hello! How can I help?",
]


def _last_hidden_alone(model, ids: list[int]) -> torch.Tensor:
    x = torch.tensor([ids])
    return backbone_hidden(model, x, torch.ones_like(x))[0, -1]


@pytest.mark.parametrize("side", ["right", "left"])
def test_anchor_and_answer_match_separate_runs(tiny_backbone, side):
    model, tokenizer = tiny_backbone
    enc = ConversationEncoder(tokenizer)
    examples = [enc.encode(p, a) for p, a in zip(PROMPTS, ANSWERS)]
    assert len({len(e.input_ids) for e in examples}) == 3  # real padding in the batch
    batch = pad_batch(examples, tokenizer.pad_token_id, side)
    with torch.no_grad():
        hidden = backbone_hidden(model, batch["input_ids"], batch["attention_mask"], batch.get("position_ids"))
        answer, anchor = pool_answer_and_anchor(hidden, batch["prompt_index"], batch["answer_index"])
        for row, ex in enumerate(examples):
            prompt_alone = _last_hidden_alone(model, ex.input_ids[: ex.prompt_last + 1])
            full_alone = _last_hidden_alone(model, ex.input_ids)
            torch.testing.assert_close(anchor[row], prompt_alone, atol=1e-5, rtol=0)
            torch.testing.assert_close(answer[row], full_alone, atol=1e-5, rtol=0)
    assert anchor.dtype == torch.float32
