"""``mrrml export MODEL_DIR --format token-classification|sequence-classification --out DIR``.

Writes a plain transformers checkpoint (LoRA merged, heads folded into the classifier) that vLLM and
other engines load without mrrml; see :mod:`mrrml.serve.export` for how scores are recovered.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

from ..errors import ConfigError
from ._parsing import Command, run_command


def export(
    model_dir: str,
    *,
    format: Literal["token-classification", "sequence-classification"],
    out: str,
    dtype: Literal["float32", "bfloat16", "float16"] | None = None,
    trust_remote_code: bool = False,
    force: bool = False,
) -> int:
    """Export a reward model for serving engines (vLLM, ...).

    Args:
        model_dir: a saved mrrml model directory.
        format: token-classification (any model) or sequence-classification (models built with anchor=False).
        out: output directory.
        dtype: weights dtype (default: the model's).
        trust_remote_code: allow the model directory to run its own code (only for models you trust).
        force: write into a non-empty --out.
    """
    target = Path(out)
    if target.exists() and any(target.iterdir()) and not force:
        raise ConfigError(f"--out {target}: not empty (pass --force to overwrite)")

    from ..model.reward_model import load
    from ..serve.export import export_model

    model = load(model_dir, device="cpu", dtype=dtype, trust_remote_code=trust_remote_code)
    export_model(model, target, format)
    recipe = json.loads((target / "config.json").read_text(encoding="utf-8"))["mrrml"]
    print(f"mrrml export: wrote {format} checkpoint to {target}")
    print(f"  dimensions: {', '.join(recipe['dimensions'])}")
    print(f"  score = {recipe['score']}")
    return 0


COMMAND = Command(export)


def run(argv: list[str]) -> int:
    return run_command("mrrml export", COMMAND, argv)
