"""A local Hugging Face causal LM as a synthesis backend (offline; local directories or cached ids only).

It runs the same counterfactual pipeline as the OpenAI backend (:class:`~.llm.TripletWriter`), one
request at a time, with the local model as generator and (by default, greedy) as judge. Decoding is
seeded per request, so a resumed run regenerates the same text on the same machine and library
versions. Small models often return malformed JSON; those replies are counted as malformed by the
step parsers, never kept.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from ...errors import ModelLoadError
from ...openai_client import ChatError, Reply, strip_think, with_length_retry
from .base import GenResult
from .llm import LLMSynthSettings, TripletWriter, run_in_thread
from .planner import PlanItem
from .prompts import Messages

if TYPE_CHECKING:
    from ...standards.matrix import StandardsMatrix


class TransformersGenerator:
    """A local causal LM with its chat template: ``reply(messages, seed, ...) -> Reply``."""

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

    def reply(
        self, messages: Messages, seed: int = 0, max_new_tokens: int | None = None, temperature: float | None = None
    ) -> Reply:
        """One reply; ``finish_reason`` is ``"length"`` when it used the whole budget without ending."""
        import torch

        budget = max_new_tokens or self.max_new_tokens
        temperature = self.temperature if temperature is None else temperature
        try:
            ids = self.tokenizer.apply_chat_template(
                messages, add_generation_prompt=True, return_tensors="pt", return_dict=True
            )
        except Exception as error:  # a tokenizer without a chat template: no request of this run can work
            raise ChatError(f"{self.model_path}: cannot render the chat template: {error}", transient=False) from None
        ids = {k: v.to(self.device) for k, v in ids.items()}
        torch.manual_seed(seed)
        with torch.no_grad():
            out = self.model.generate(
                **ids,
                max_new_tokens=budget,
                do_sample=temperature > 0,
                temperature=temperature if temperature > 0 else None,
                pad_token_id=self.tokenizer.pad_token_id or self.tokenizer.eos_token_id,
            )
        new = out[0, ids["input_ids"].shape[1] :]
        ended = self.tokenizer.eos_token_id is not None and int(new[-1]) == self.tokenizer.eos_token_id
        finish = "length" if len(new) >= budget and not ended else "stop"
        return Reply(strip_think(self.tokenizer.decode(new, skip_special_tokens=True)), finish)

    def complete(self, messages: Messages, seed: int = 0) -> str:
        """The reply text alone (e.g. for an :class:`~.llm.LLMJudge` consistency filter)."""
        return self.reply(messages, seed).text


class LocalChat:
    """A :class:`~.llm.Completer` over a :class:`TransformersGenerator` (generation runs in a worker thread,
    so the event loop stays free; the pipeline's window of 1 keeps one generation at a time)."""

    def __init__(
        self, generator: TransformersGenerator, temperature: float | None = None, length_retry_factor: float = 2.0
    ):
        self.generator, self.temperature, self.length_retry_factor = generator, temperature, length_retry_factor

    async def complete(
        self, messages: Messages, *, schema: dict[str, Any] | None = None, seed: int | None = None
    ) -> Reply:
        def call(max_tokens: int):
            return asyncio.to_thread(self.generator.reply, messages, seed or 0, max_tokens, self.temperature)

        return await with_length_retry(
            call, self.generator.max_new_tokens, self.length_retry_factor, f"{self.generator.model_path}: "
        )


class TransformersBackend:
    """The counterfactual pipeline with a local model as generator and judge (the judge decodes greedily).

    Args:
        matrix: the standards matrix.
        seed: the run seed.
        generator: the local model.
        judge: a second local model as judge; None judges with the generator.
        settings: how triplets are written and judged.
    """

    name = "transformers"

    def __init__(
        self,
        matrix: StandardsMatrix,
        seed: int,
        generator: TransformersGenerator,
        *,
        judge: TransformersGenerator | None = None,
        settings: LLMSynthSettings | None = None,
    ):
        self.settings = settings or LLMSynthSettings()
        self.settings.validate()
        self.matrix, self.seed, self.generator, self.judge = matrix, seed, generator, judge or generator

    def generate(self, items: list[PlanItem]) -> Iterator[GenResult]:
        source = f"mrrml-synth:transformers:{self.generator.model_path}"

        async def produce(emit: Callable[[GenResult], None], stop: threading.Event) -> None:
            writer = TripletWriter(
                self.matrix,
                self.seed,
                source,
                LocalChat(self.generator),
                LocalChat(self.judge, temperature=0.0),
                self.settings,
                window=1,
                outage_retries=0,
            )
            await writer.run(items, emit, stop)

        return run_in_thread(produce)
