"""Where a command's caches go: the user cache directory, never the installed package or a temp dir."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO_ROOT


def test_fit_points_inductor_at_the_mrrml_cache_dir(tmp_path: Path) -> None:
    """Importing Lightning (as ``mrrml fit`` does) fixes Inductor's cache directory as a side effect,
    so the default must be set before any command module is imported, not inside the command."""
    env = {k: v for k, v in os.environ.items() if k not in ("TORCHINDUCTOR_CACHE_DIR", "PYTHONPATH")}
    env.update(MRRML_CACHE_DIR=str(tmp_path / "user-cache"), PYTHONPATH=str(REPO_ROOT))
    script = (
        "import contextlib, io, os\n"
        "from mrrml.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    main(['fit', '--help'])\n"
        "print(os.environ['TORCHINDUCTOR_CACHE_DIR'])\n"
    )
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == str(tmp_path / "user-cache" / "inductor")
