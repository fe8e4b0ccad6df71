"""Print mrrml's requirements with the declared floors of the pure-Python ML stack pinned (make test-min).

transformers, lightning, peft and torchmetrics are installed at exactly the version pyproject.toml
declares as their minimum, so the floors cannot drift from what CI runs; everything else (torch
aside: the caller installs the one CPU build first) resolves as usual. Extras named on the command line
are added (``python .ci/min_requirements.py qlora dev``).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import tomllib

PINNED_AT_FLOOR = ("transformers", "lightning", "peft", "torchmetrics")


def main(extras: list[str]) -> int:
    project = tomllib.loads((Path(__file__).resolve().parent.parent / "pyproject.toml").read_text())["project"]
    requirements = list(project["dependencies"])
    for extra in extras:
        requirements += project["optional-dependencies"][extra]
    for requirement in requirements:
        name = re.split(r"[\[<>=!~; ]", requirement, maxsplit=1)[0].lower()
        if name == "torch":
            continue
        if name in PINNED_AT_FLOOR:
            floor = re.search(r">=\s*([0-9][^,;\s]*)", requirement)
            if floor is None:
                raise SystemExit(f"pyproject.toml: {requirement!r} declares no >= floor")
            requirement = f"{name}=={floor.group(1)}"
        print(requirement)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
