"""``mrrml export MODEL_DIR --format token-classification|sequence-classification --out DIR``.

Writes a plain transformers checkpoint (LoRA merged, heads folded into the classifier) that vLLM and
other engines load without mrrml; see :mod:`mrrml.serve.export` for how scores are recovered.
"""

from __future__ import annotations

import argparse
import json

from ..errors import ConfigError
from ._options import add_trust_remote_code


def _parser() -> argparse.ArgumentParser:
    from ..serve.export import FORMATS

    p = argparse.ArgumentParser(prog="mrrml export", description="Export a reward model for serving engines.")
    p.add_argument("model_dir", help="a saved mrrml model directory")
    p.add_argument(
        "--format",
        required=True,
        choices=FORMATS,
        dest="fmt",
        help="token-classification (any model) or sequence-classification (anchor=False models)",
    )
    p.add_argument("--out", required=True, help="output directory")
    add_trust_remote_code(p)
    p.add_argument(
        "--dtype", default=None, choices=["float32", "bfloat16", "float16"], help="weights dtype (default: the model's)"
    )
    p.add_argument("--force", action="store_true", help="write into a non-empty --out")
    return p


def run(argv: list[str]) -> int:
    from pathlib import Path

    args = _parser().parse_args(argv)
    out = Path(args.out)
    if out.exists() and any(out.iterdir()) and not args.force:
        raise ConfigError(f"--out {out}: not empty (pass --force to overwrite)")

    from ..model.reward_model import load
    from ..serve.export import export_model

    model = load(args.model_dir, device="cpu", dtype=args.dtype, trust_remote_code=args.trust_remote_code)
    export_model(model, out, args.fmt)
    recipe = json.loads((out / "config.json").read_text(encoding="utf-8"))["mrrml"]
    print(f"mrrml export: wrote {args.fmt} checkpoint to {out}")
    print(f"  dimensions: {', '.join(recipe['dimensions'])}")
    print(f"  score = {recipe['score']}")
    return 0
