"""The policy under test: an OpenAI-compatible endpoint or a local transformers causal LM.

Both expose ``describe() -> dict`` (recorded in the report and in every cache key) and
``sample(conversations, on_answer) -> failures``, which hands each answer to ``on_answer`` the moment
it exists, so the caller can store it at once: a failed request, or a kill, loses no other answer.
An optional system message is prepended to every conversation and recorded, because it changes the
scores.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from ...errors import ConfigError, ModelLoadError
from ...openai_client import ChatClient, Reply, gather_bounded

Conversation = list[dict[str, str]]
OnAnswer = Callable[[int, str], None]


class Sampler(Protocol):
    def describe(self) -> dict[str, Any]: ...

    def sample(self, conversations: Sequence[Conversation], on_answer: OnAnswer) -> dict[int, str]:
        """Answer every conversation; ``on_answer(index, text)`` as each answer arrives. Returns the
        conversations that got no answer, ``{index: why}``."""
        ...


def with_system(conversation: Conversation, system_message: str | None) -> Conversation:
    return ([{"role": "system", "content": system_message}] if system_message else []) + list(conversation)


class OpenAISampler:
    """Sample from an OpenAI-compatible server, ``concurrency`` requests in flight.

    ``temperature`` and ``max_tokens``, when given, replace the client's own settings. An answer cut at
    ``max_tokens`` is kept as it is: the budget is part of the policy under test.
    """

    def __init__(
        self,
        client: ChatClient,
        *,
        system_message: str | None = None,
        temperature: float | None = None,
        max_tokens: int | None = None,
        concurrency: int = 64,
    ):
        overrides = {k: v for k, v in (("temperature", temperature), ("max_tokens", max_tokens)) if v is not None}
        self.client = client.with_settings(**overrides) if overrides else client
        self.system_message = system_message
        self.concurrency = max(1, concurrency)

    def describe(self) -> dict[str, Any]:
        params = self.client.settings.request_settings()
        params.pop("model")
        return {"kind": "openai", **self.client.describe(), "system_message": self.system_message, "params": params}

    def sample(self, conversations: Sequence[Conversation], on_answer: OnAnswer) -> dict[int, str]:
        async def run() -> list[Any]:
            async with self.client.session() as chat:
                calls = [
                    lambda c=c: chat.complete(with_system(c, self.system_message), on_length="accept")
                    for c in conversations
                ]

                def store(index: int, result: Any) -> Any:  # off the event loop: the cache fsyncs
                    return asyncio.to_thread(on_answer, index, result.text) if isinstance(result, Reply) else None

                return await gather_bounded(calls, self.concurrency, store)

        return {i: str(r) for i, r in enumerate(asyncio.run(run())) if not isinstance(r, Reply)}


class TransformersSampler:
    """Batched generation with a local causal LM and its chat template (left padding)."""

    def __init__(
        self,
        model_path: str,
        *,
        system_message: str | None = None,
        max_new_tokens: int = 512,
        temperature: float = 0.0,
        batch_size: int = 4,
        device: str | None = None,
        dtype: str = "auto",
        seed: int = 0,
    ):
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        try:
            self.tokenizer = AutoTokenizer.from_pretrained(model_path, local_files_only=True)
            self.model = AutoModelForCausalLM.from_pretrained(
                model_path, local_files_only=True, dtype=dtype if dtype == "auto" else getattr(torch, dtype)
            )
        except (OSError, ValueError) as error:
            raise ModelLoadError(f"cannot load sampler model '{model_path}': {error}") from error
        if self.tokenizer.chat_template is None:
            raise ConfigError(f"sampler model '{model_path}' has no chat template")
        if self.tokenizer.pad_token_id is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self.tokenizer.padding_side = "left"  # generation continues from the right edge of each row
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        self.model.to(self.device).eval()
        self.model_path, self.system_message = model_path, system_message
        self.max_new_tokens, self.temperature, self.batch_size, self.seed = (
            max_new_tokens,
            temperature,
            batch_size,
            seed,
        )

    def describe(self) -> dict[str, Any]:
        return {
            "kind": "transformers",
            "model": self.model_path,
            "system_message": self.system_message,
            "params": {"max_new_tokens": self.max_new_tokens, "temperature": self.temperature, "seed": self.seed},
        }

    def sample(self, conversations: Sequence[Conversation], on_answer: OnAnswer) -> dict[int, str]:
        """Batches of ``batch_size``; each answer is handed over when its batch is done."""
        for start in range(0, len(conversations), self.batch_size):
            for offset, text in enumerate(self.generate(conversations[start : start + self.batch_size])):
                on_answer(start + offset, text)
        return {}

    def generate(self, conversations: Sequence[Conversation]) -> list[str]:
        import torch

        texts = [
            self.tokenizer.apply_chat_template(
                with_system(c, self.system_message), tokenize=False, add_generation_prompt=True
            )
            for c in conversations
        ]
        batch = self.tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False).to(self.device)
        sampling = self.temperature > 0
        torch.manual_seed(self.seed)
        with torch.no_grad():
            output = self.model.generate(
                **batch,
                max_new_tokens=self.max_new_tokens,
                do_sample=sampling,
                temperature=self.temperature if sampling else None,
                top_p=None,
                top_k=None,
                pad_token_id=self.tokenizer.pad_token_id,
            )
        new_tokens = output[:, batch["input_ids"].shape[1] :]
        return [t.strip() for t in self.tokenizer.batch_decode(new_tokens, skip_special_tokens=True)]
