"""A local Hugging Face causal LM as a synthesis backend (offline; local directories or cached ids only).

Decoding is seeded per plan item (``seed``, index), so a resumed run regenerates the same text on the
same machine and library versions. Small models often return malformed JSON; those replies are
counted as malformed by the shared parser, never kept.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from ...errors import BackendError, ModelLoadError
from .base import GenResult
from .llm import result_from_reply
from .planner import PlanItem
from .prompts import generation_messages

if TYPE_CHECKING:
    from ...standards.matrix import StandardsMatrix


class TransformersGenerator:
    """``complete(messages, seed) -> str`` with a local causal LM and its chat template."""

    def __init__(
        self, model_path: str, *, max_new_tokens: int = 512, temperature: float = 0.7, device: str | None = None
    ):
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        try:
            self.tokenizer = AutoTokenizer.from_pretrained(model_path, local_files_only=True)
            self.model = AutoModelForCausalLM.from_pretrained(model_path, local_files_only=True)
        except (OSError, ValueError) as error:
            raise ModelLoadError(f"{model_path}: cannot load a causal LM for synthesis: {error}") from None
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        self.model.to(self.device).eval()
        self.model_path, self.max_new_tokens, self.temperature = model_path, max_new_tokens, temperature

    def complete(self, messages: list[dict[str, str]], seed: int = 0) -> str:
        import torch

        try:
            ids = self.tokenizer.apply_chat_template(
                messages, add_generation_prompt=True, return_tensors="pt", return_dict=True
            )
        except Exception as error:  # a tokenizer without a chat template
            raise BackendError(f"{self.model_path}: cannot render the chat template: {error}") from None
        ids = {k: v.to(self.device) for k, v in ids.items()}
        torch.manual_seed(seed)
        with torch.no_grad():
            out = self.model.generate(
                **ids,
                max_new_tokens=self.max_new_tokens,
                do_sample=self.temperature > 0,
                temperature=self.temperature if self.temperature > 0 else None,
                pad_token_id=self.tokenizer.pad_token_id or self.tokenizer.eos_token_id,
            )
        return self.tokenizer.decode(out[0, ids["input_ids"].shape[1] :], skip_special_tokens=True)


class TransformersBackend:
    name = "transformers"

    def __init__(self, matrix: StandardsMatrix, seed: int, generator: TransformersGenerator):
        self.matrix, self.seed, self.generator = matrix, seed, generator

    def generate(self, items: list[PlanItem]) -> Iterator[GenResult]:
        source = f"mrrml-synth:transformers:{self.generator.model_path}"
        for item in items:
            try:
                reply = self.generator.complete(
                    generation_messages(self.matrix, item), seed=self.seed * 1_000_003 + item.index
                )
            except BackendError as error:
                yield GenResult(item.index, None, f"backend error: {error}", retryable=True)
                continue
            yield result_from_reply(self.matrix, self.seed, source, item, reply)
