"""Keep a test set honest about what the model saw in training.

"Held-out prompts" should be new prompts about conditions the model trained on; "held-out
conditions" should be case-bank conditions it never trained on. The recipe that gives both for one
model: train on the train split of ``mrrml synth --holdout conditions --seed S``; its test split is
the held-out conditions; the held-out prompts are the test split of a second run with another seed
(``mrrml synth --holdout prompt --seed S+1``). Runs with the same seed hold the same records split
two ways, so a same-seed ``--holdout prompt`` test record sits in the ``--holdout conditions`` train
split whenever its condition does. Given the training records, :func:`filter_held_out` drops every
test record that breaks its set's promise and counts why:

* ``prompt_in_train`` — its prompt text occurs in training (both kinds);
* ``condition_not_in_train`` — (held-out prompts) its condition never occurs in training, so it
  belongs to the other column;
* ``condition_in_train`` — (held-out conditions) its condition occurs in training.

The condition of a record is read from the template backend's ``source`` tag; where the test record
or the training data has none (other backends), only the prompt is checked.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Literal

from ...data.records import TripletRecord
from ...data.synth.template_backend import condition_of
from .candidates import prompt_key

HoldoutKind = Literal["prompts", "conditions"]


def filter_held_out(
    records: Sequence[TripletRecord], train: Sequence[TripletRecord], kind: HoldoutKind
) -> tuple[list[TripletRecord], dict[str, int]]:
    """``records`` without those that ``train`` makes not held out, and the count dropped per reason."""
    seen_prompts = {prompt_key(r.prompt) for r in train}
    seen_conditions = {c for c in map(condition_of, train) if c is not None}
    kept: list[TripletRecord] = []
    dropped: Counter[str] = Counter()
    for record in records:
        condition = condition_of(record) if seen_conditions else None
        if prompt_key(record.prompt) in seen_prompts:
            dropped["prompt_in_train"] += 1
        elif condition is not None and kind == "prompts" and condition not in seen_conditions:
            dropped["condition_not_in_train"] += 1
        elif condition is not None and kind == "conditions" and condition in seen_conditions:
            dropped["condition_in_train"] += 1
        else:
            kept.append(record)
    return kept, dict(sorted(dropped.items()))
