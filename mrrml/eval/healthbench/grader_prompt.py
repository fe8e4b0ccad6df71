"""The grader prompt: the official one when available, else one written for mrrml.

Order of preference: a file the user names; the ``GRADER_TEMPLATE`` constant of the installed
``simple_evals`` package (``nvidia-simple-evals``), read from its source with :mod:`ast` *without
importing it* (its imports need packages we do not install); the built-in fallback below. Scores
from different prompts are not comparable, so the report always names the source.
Placeholders: ``<<conversation>>`` and ``<<rubric_item>>``.
"""

from __future__ import annotations

import ast
import importlib.util
from dataclasses import dataclass
from pathlib import Path

from ...errors import ConfigError
from .data import RubricItem

PLACEHOLDERS = ("<<conversation>>", "<<rubric_item>>")

BUILTIN_TEMPLATE = """You are grading one reply of an AI assistant in a health conversation against one rubric item.

# Conversation (the final assistant turn is the reply being graded)
<<conversation>>

# Rubric item (points in brackets)
<<rubric_item>>

# How to decide
Decide only whether the final assistant turn satisfies the rubric item as written.
- If the item lists several requirements, all of them must hold for criteria_met to be true.
- Words such as "for example", "such as" or "including" introduce illustrations: the reply need not
  mention every illustration to satisfy the item.
- Some items describe a fault and carry negative points (e.g. "gives a dangerous dosage"). Still
  answer whether the described behaviour is present: true when the reply shows the fault, false
  when it does not. Never answer based on whether the reply is good overall.

# Answer format
Reply with only a JSON object, optionally inside a ```json fenced block:
{"explanation": "<one or two sentences of reasoning>", "criteria_met": true or false}"""


@dataclass(frozen=True)
class GraderTemplate:
    text: str
    source: str  # "file:PATH", "package:nvidia-simple-evals (PATH)" or "builtin"

    def render(self, conversation: list[dict[str, str]], item: RubricItem | str) -> str:
        """Fill the template; the conversation is ``role: content`` turns joined by blank lines."""
        convo = "\n\n".join(f"{m['role']}: {m['content']}" for m in conversation)
        return self.text.replace("<<conversation>>", convo).replace("<<rubric_item>>", str(item))


def official_template_from_package() -> GraderTemplate | None:
    """``GRADER_TEMPLATE`` from simple_evals/evals/healthbench_eval.py, or None when absent."""
    try:
        spec = importlib.util.find_spec("simple_evals")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "evals" / "healthbench_eval.py"
    if not path.is_file():
        return None
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "GRADER_TEMPLATE" for t in node.targets
        ):
            # The constant is written as a literal, possibly followed by .strip().
            value = node.value
            strip = isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute) and value.func.attr == "strip"
            if strip:
                value = value.func.value
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                text = value.value.strip() if strip else value.value
                return GraderTemplate(text, f"package:nvidia-simple-evals ({path})")
    return None


def load_grader_template(path: str | None = None, *, allow_package: bool = True) -> GraderTemplate:
    if path is not None:
        file = Path(path)
        if not file.is_file():
            raise ConfigError(f"--grader-template: no such file '{path}'")
        text = file.read_text(encoding="utf-8")
        missing = [p for p in PLACEHOLDERS if p not in text]
        if missing:
            raise ConfigError(f"{path}: grader template lacks placeholder(s) {', '.join(missing)}")
        return GraderTemplate(text, f"file:{file}")
    if allow_package:
        official = official_template_from_package()
        if official is not None:
            return official
    return GraderTemplate(BUILTIN_TEMPLATE, "builtin")
