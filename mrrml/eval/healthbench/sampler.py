"""The policy under test: an OpenAI-compatible endpoint or a local transformers causal LM.

Both expose ``describe() -> dict`` (recorded in the report and in every cache key) and
``generate(conversations) -> list[str]``. An optional system message is prepended to every
conversation and recorded, because it changes the scores.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol

from ...errors import ConfigError, ModelLoadError
from ...openai_client import ChatClient

Conversation = list[dict[str, str]]


class Sampler(Protocol):
    batch_size: int

    def describe(self) -> dict[str, Any]: ...

    def generate(self, conversations: Sequence[Conversation]) -> list[str]: ...


def with_system(conversation: Conversation, system_message: str | None) -> Conversation:
    return ([{"role": "system", "content": system_message}] if system_message else []) + list(conversation)


class OpenAISampler:
    """Sample from an OpenAI-compatible server; requests of a batch run concurrently."""

    def __init__(
        self,
        client: ChatClient,
        *,
        system_message: str | None = None,
        temperature: float = 0.0,
        max_tokens: int = 2048,
        concurrency: int = 8,
    ):
        self.client, self.system_message = client, system_message
        self.params = {"temperature": temperature, "max_tokens": max_tokens}
        self.batch_size = max(1, concurrency)

    def describe(self) -> dict[str, Any]:
        return {
            "kind": "openai",
            **self.client.describe(),
            "system_message": self.system_message,
            "params": self.params,
        }

    def generate(self, conversations: Sequence[Conversation]) -> list[str]:
        with ThreadPoolExecutor(max_workers=self.batch_size) as pool:
            return list(
                pool.map(
                    lambda c: self.client.complete(with_system(c, self.system_message), **self.params).text,
                    conversations,
                )
            )


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
