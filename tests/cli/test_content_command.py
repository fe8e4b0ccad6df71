"""``mrrml content validate``: the shipped content passes; a broken copy fails with every located problem."""

from __future__ import annotations

import shutil

from mrrml.cli import main
from mrrml.data.synth.content_files import CONTENT_DIR


def test_shipped_content_passes(capsys):
    assert main(["content", "validate"]) == 0
    assert capsys.readouterr().out.strip() == f"OK {CONTENT_DIR}: 0 problem(s)"


def test_a_broken_copy_fails_naming_file_line_and_key(tmp_path, capsys):
    root = shutil.copytree(CONTENT_DIR, tmp_path / "content")
    modifiers = root / "modifiers.yaml"
    text = modifiers.read_text(encoding="utf-8")
    line = text.splitlines().index("  - id: pregnancy") + 1
    modifiers.write_text(text.replace("  - id: pregnancy", "  - idd: pregnancy", 1), encoding="utf-8")
    (root / "phrasing.yaml").unlink()
    assert main(["content", "validate", "--root", str(root)]) == 1
    out = capsys.readouterr().out
    assert f"{modifiers}:{line}: modifiers[0].idd: unknown key 'idd' in modifier; did you mean 'id'?" in out
    assert f"{root / 'phrasing.yaml'}: cannot read the content file" in out  # every file's problems, at once
    assert out.rstrip().endswith("problem(s)") and f"FAILED {root}" in out
