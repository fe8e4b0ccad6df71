"""Safe loading: no code in the package can execute what it reads.

Source checks walk the AST of every module under ``mrrml/`` (so ``model.eval()`` is not mistaken for
``eval(...)`` and a comment cannot hide or fake a call). Artefact checks look at saved model
directories; behaviour checks hand the loader hostile model directories (a pickle that would run
code, a config asking for remote code) and require that nothing runs.
"""

from __future__ import annotations

import ast
import json
import pickle
import shutil
import sys
from pathlib import Path

from mrrml.errors import MrrmlError

PACKAGE = Path(__file__).resolve().parents[2] / "mrrml"
SAFE_SUFFIXES = {".safetensors", ".json", ".yaml", ".yml", ".jinja", ".txt", ".model", ".tiktoken", ".md"}
PICKLE_MODULES = {"pickle", "cPickle", "_pickle", "dill", "cloudpickle", "joblib", "shelve", "marshal"}
SAFE_YAML_LOADERS = {"SafeLoader", "CSafeLoader"}


def _calls(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            yield node


def _dotted(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    return ""


def _keyword(call: ast.Call, name: str) -> ast.AST | None:
    return next((k.value for k in call.keywords if k.arg == name), None)


def source_findings() -> list[str]:
    """Every unsafe construct in the package source, as ``file:line: what``."""
    findings = []
    for file in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(file.read_text(encoding="utf-8"), filename=str(file))
        where = lambda node: f"{file.relative_to(PACKAGE.parent)}:{node.lineno}"  # noqa: E731
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.split(".")[0] in PICKLE_MODULES:
                        findings.append(f"{where(node)}: imports {alias.name}")
            elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in PICKLE_MODULES:
                findings.append(f"{where(node)}: imports from {node.module}")
        for call in _calls(tree):
            name = _dotted(call.func)
            if name in ("eval", "exec", "compile", "__import__"):
                findings.append(f"{where(call)}: calls {name}()")
            if name == "torch.load":
                flag = _keyword(call, "weights_only")
                if not (isinstance(flag, ast.Constant) and flag.value is True):
                    findings.append(f"{where(call)}: torch.load without weights_only=True")
            if name.endswith(("yaml.unsafe_load", "yaml.full_load", "yaml.unsafe_load_all", "yaml.full_load_all")):
                findings.append(f"{where(call)}: {name}")
            if name in ("yaml.load", "yaml.load_all"):
                loader = _keyword(call, "Loader") or (call.args[1] if len(call.args) > 1 else None)
                if _dotted(loader).split(".")[-1] not in SAFE_YAML_LOADERS if loader is not None else True:
                    findings.append(f"{where(call)}: {name} without SafeLoader")
            remote = _keyword(call, "trust_remote_code")
            if isinstance(remote, ast.Constant) and remote.value is True:
                findings.append(f"{where(call)}: trust_remote_code=True hard-coded")
            shell = _keyword(call, "shell")
            if name.startswith("subprocess.") and isinstance(shell, ast.Constant) and shell.value is True:
                findings.append(f"{where(call)}: subprocess with shell=True")
            if name in ("os.system", "os.popen"):
                findings.append(f"{where(call)}: {name}")
    return findings


def test_package_source_has_no_unsafe_loading():
    assert source_findings() == []


def test_source_check_catches_what_it_claims(tmp_path, monkeypatch):
    """The checker itself: each construct it bans is found in a planted module."""
    planted = tmp_path / "mrrml"
    planted.mkdir()
    (planted / "bad.py").write_text(
        "import pickle\nimport torch, yaml\n"
        "torch.load('x')\ntorch.load('x', weights_only=False)\nyaml.load(s)\nyaml.load(s, Loader=yaml.Loader)\n"
        "yaml.full_load(s)\neval(data)\nexec(data)\nf(trust_remote_code=True)\n"
        "import subprocess\nsubprocess.run(c, shell=True)\n"
        "torch.load('x', weights_only=True)\nyaml.load(s, Loader=yaml.SafeLoader)\nmodel.eval()\n"
    )
    monkeypatch.setattr(sys.modules[__name__], "PACKAGE", planted)
    found = source_findings()
    assert len(found) == 10, found
    assert not any(":13:" in f or ":14:" in f or ":15:" in f for f in found), found


def _saved_files(model_dir: Path) -> list[Path]:
    return [p for p in model_dir.rglob("*") if p.is_file()]


def test_saved_model_dirs_hold_no_pickle(tiny_rm_dir, tiny_qwen3_dir, tmp_path, healthbench_matrix):
    from mrrml.model.backbone import BackboneConfig, LoraSettings
    from mrrml.model.reward_model import RewardModel

    lora_dir = RewardModel.build(
        BackboneConfig(name_or_path=str(tiny_qwen3_dir), lora=LoraSettings(r=2, alpha=4)),
        healthbench_matrix,
        projection_dim=8,
    ).save_pretrained(tmp_path / "lora")
    for model_dir in (tiny_rm_dir, lora_dir):
        unsafe = [p.relative_to(model_dir) for p in _saved_files(model_dir) if p.suffix not in SAFE_SUFFIXES]
        assert not unsafe, f"{model_dir}: files outside safetensors/JSON/YAML/tokenizer: {unsafe}"
        assert any(p.suffix == ".safetensors" for p in _saved_files(model_dir))


class _RunsCode:
    """Unpickling this calls ``open(marker, 'w')``: proof that a loader executed file contents."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


def test_pickled_weights_are_never_unpickled(tiny_rm_dir, tmp_path):
    """A model directory whose backbone weights are a code-running pickle: loading may fail (with the
    package's error) but must not execute it."""
    from mrrml.model.reward_model import load

    hostile = tmp_path / "hostile"
    shutil.copytree(tiny_rm_dir, hostile)
    marker = tmp_path / "pwned-by-pickle"
    for weights in (hostile / "backbone").glob("*.safetensors"):
        weights.unlink()
    (hostile / "backbone" / "pytorch_model.bin").write_bytes(pickle.dumps({"x": _RunsCode(marker)}))
    try:
        load(hostile)
        error: BaseException | None = None
    except Exception as raised:
        error = raised
    assert not marker.exists(), "loading a model directory executed a pickle"
    assert isinstance(error, MrrmlError), f"expected ModelLoadError, got {type(error).__name__}: {str(error)[:200]}"


def test_model_dir_cannot_switch_on_remote_code(tiny_rm_dir, tmp_path):
    """trust_remote_code is the user's decision (a flag), never the downloaded directory's: a model
    directory from someone else that says ``trust_remote_code: true`` and ships a tokenizer class in
    Python must not get that Python run by ``mrrml.load``."""
    from mrrml.model.reward_model import load

    hostile = tmp_path / "hostile"
    shutil.copytree(tiny_rm_dir, hostile)
    marker = tmp_path / "pwned-by-remote-code"
    config_file = hostile / "mrrml_config.json"
    config = json.loads(config_file.read_text())
    config["backbone"]["trust_remote_code"] = True
    config_file.write_text(json.dumps(config))
    (hostile / "evil_tokenizer.py").write_text(
        f"open({str(marker)!r}, 'w').write('ran')\n"
        "from transformers import PreTrainedTokenizerFast\n"
        "class EvilTokenizer(PreTrainedTokenizerFast):\n    pass\n"
    )
    tok_config_file = hostile / "tokenizer_config.json"
    tok_config = json.loads(tok_config_file.read_text())
    tok_config["auto_map"] = {"AutoTokenizer": [None, "evil_tokenizer.EvilTokenizer"]}
    tok_config_file.write_text(json.dumps(tok_config))
    try:
        load(hostile)
    except MrrmlError:
        pass  # refusing the directory is fine too
    assert not marker.exists(), (
        "mrrml.load ran Python shipped inside a model directory (trust_remote_code from its config)"
    )
