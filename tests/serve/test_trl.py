"""mrrml reward functions inside a real TRL GRPOTrainer (tiny random Qwen3 policy, CPU, 2 steps)."""

from __future__ import annotations

import math

import pytest
import torch

from mrrml.errors import ConfigError
from mrrml.serve.trl import grpo_reward_weights, make_reward_funcs

CONVERSATIONS = [
    [{"role": "user", "content": "Is a resting heart rate of 110 normal?"}],
    [{"role": "user", "content": "How much water should an adult drink?"}],
]


def test_functions_match_the_python_api(reward_model):
    funcs = make_reward_funcs(reward_model, scenario="hedging")
    dims = reward_model.dimensions
    assert [f.__name__ for f in funcs] == [f"mrrml_{d}" for d in dims] + ["mrrml_reward"]
    completions = [
        [{"role": "assistant", "content": "Usually not; see a doctor."}],
        [{"role": "assistant", "content": [{"type": "text", "text": "About 2 litres a day."}]}],
    ]
    expected = reward_model.score(
        CONVERSATIONS, ["Usually not; see a doctor.", "About 2 litres a day."], scenario="hedging"
    )
    for j, f in enumerate(funcs[:-1]):
        assert f(prompts=CONVERSATIONS, completions=completions) == pytest.approx(
            expected.normalized[:, j].tolist(), abs=1e-5
        )
    assert funcs[-1](prompts=CONVERSATIONS, completions=completions, trainer_state=None) == pytest.approx(
        expected.reward.tolist(), abs=1e-5
    )
    assert funcs[0]._scorer.model_calls == 1  # one model call serves every function of the batch
    assert grpo_reward_weights(funcs) == [0.0] * len(dims) + [1.0]


def test_per_row_cell_columns(reward_model):
    total = make_reward_funcs(reward_model)[-1]
    prompts, answers = ["q1", "q2"], ["a1", "a2"]
    got = total(
        prompts=prompts, completions=answers, scenario=["hedging", "global_health"], discipline=["pediatrics", None]
    )
    first = reward_model.score(prompts[:1], answers[:1], scenario="hedging", discipline="pediatrics").reward
    second = reward_model.score(prompts[1:], answers[1:], scenario="global_health").reward
    assert got == pytest.approx([float(first[0]), float(second[0])], abs=1e-5)


def test_unknown_cell_fails_early(reward_model):
    with pytest.raises(ConfigError, match="no_such"):
        make_reward_funcs(reward_model, scenario="no_such")


def test_grpo_trainer_runs_with_mrrml_rewards(tiny_qwen3_dir, qwen_tokenizer, rm_dir, tmp_path):
    from datasets import Dataset
    from transformers import AutoModelForCausalLM
    from trl import GRPOConfig, GRPOTrainer

    torch.manual_seed(0)
    funcs = make_reward_funcs(rm_dir, scenario="emergency_referrals")  # loads the saved directory
    policy = AutoModelForCausalLM.from_pretrained(tiny_qwen3_dir, local_files_only=True)
    dataset = Dataset.from_list([{"prompt": c} for c in CONVERSATIONS] * 2)
    config = GRPOConfig(
        output_dir=str(tmp_path),
        max_steps=2,
        per_device_train_batch_size=2,
        num_generations=2,
        max_completion_length=6,
        learning_rate=1e-3,
        logging_steps=1,
        report_to=[],
        use_cpu=True,
        save_strategy="no",
        reward_weights=grpo_reward_weights(funcs),
        disable_tqdm=True,
        seed=0,
    )
    trainer = GRPOTrainer(
        model=policy, reward_funcs=funcs, args=config, train_dataset=dataset, processing_class=qwen_tokenizer
    )
    before = {n: p.detach().clone() for n, p in policy.named_parameters()}
    trainer.train()
    assert trainer.state.global_step == 2
    logged = {k for entry in trainer.state.log_history for k in entry}
    for f in funcs:
        assert f"rewards/{f.__name__}/mean" in logged
    rewards = [entry["reward"] for entry in trainer.state.log_history if "reward" in entry]
    assert rewards and all(math.isfinite(r) for r in rewards)
    assert any(not torch.equal(before[n], p) for n, p in policy.named_parameters()), "the policy never updated"
