"""``mrrml content``: check the template generator's clinical content (case bank and phrasing YAML).

Clinicians review and edit those files as data (docs/design.md §4); this is their edit–validate loop,
as ``mrrml standards validate`` is for matrices. It imports the data layer's content readers only.
"""

from __future__ import annotations

from pathlib import Path

from ._parsing import Command, run_group


def validate(root: str | None = None) -> int:
    """Validate the case bank and phrasing files; print every problem as file:line (exit 1 if any).

    The template generator reads the same files through the same checks, so files that pass here load.

    Args:
        root: content folder (conditions/, disciplines.yaml, modifiers.yaml, phrasing.yaml); default:
            the shipped one inside the package.
    """
    from ..data.synth.content_files import CONTENT_DIR
    from ..data.synth.template import validate_content

    folder = Path(root) if root else CONTENT_DIR
    problems = validate_content(folder)
    for problem in problems:
        print(problem)
    print(f"{'FAILED' if problems else 'OK'} {folder}: {len(problems)} problem(s)")
    return 1 if problems else 0


COMMANDS = {"validate": Command(validate)}


def run(argv: list[str]) -> int:
    return run_group("mrrml content", "Check the template generator's case bank and phrasing files.", COMMANDS, argv)
