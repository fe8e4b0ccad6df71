"""The matrix file's vocabulary: which keys each section accepts, and a JSON Schema built from it.

One table drives both the loader (unknown-key detection, "did you mean" suggestions, required
keys) and the exported JSON Schema, so editor autocompletion can never drift from what
``mrrml standards validate`` accepts. Cross-references (a weight naming an existing dimension,
a cell naming an existing scenario) are beyond JSON Schema; the loader checks them.
"""

from __future__ import annotations

from typing import Any

from ..located_yaml import ID_PATTERN, Section
from .matrix import CRITERION_KINDS, LEVELS, TEMPLATE_OPERATORS

TOP = Section(
    "standards matrix",
    {
        "name": "short name of the matrix (shown in reports and saved with models)",
        "version": "version of this matrix document (string; bump on every clinical change)",
        "description": "what the matrix is for and who reviewed it",
        "dimensions": "what is scored: one reward head per dimension",
        "scenarios": "situations of care, each weighting the dimensions",
        "disciplines": "clinical fields, each scaling weights and adding criteria",
        "cells": "optional per (scenario, discipline) overrides or exclusions",
    },
    ("name", "version", "description", "dimensions", "scenarios", "disciplines"),
)
DIMENSION = Section(
    "dimension",
    {
        "id": "identifier (lowercase letters, digits, underscores)",
        "name": "human-readable name",
        "description": "what this dimension measures (used to generate data and in reports)",
        "template_operator": "degradation family used by the template synthesis backend",
        "levels": "what a good, medium and poor answer looks like on this dimension",
        "criteria": "rubric items: text, signed integer points, kind",
    },
    ("id", "name", "description", "template_operator", "levels", "criteria"),
)
CRITERION = Section(
    "criterion",
    {
        "text": "what the grader checks in the answer",
        "points": "signed non-zero integer: positive rewards, negative penalises when met",
        "kind": "hard_rule (non-negotiable) or principle (judgement)",
    },
    ("text", "points", "kind"),
)
LEVEL = Section(
    "levels",
    {
        "good": "what a good answer looks like",
        "medium": "what a partly adequate answer looks like",
        "poor": "what a poor answer looks like",
    },
    LEVELS,
)
SCENARIO = Section(
    "scenario",
    {
        "id": "identifier (lowercase letters, digits, underscores)",
        "name": "human-readable name",
        "description": "the situation of care",
        "weights": "dimension id -> non-negative weight; unlisted dimensions weigh 0",
    },
    ("id", "name", "description", "weights"),
)
DISCIPLINE = Section(
    "discipline",
    {
        "id": "identifier (lowercase letters, digits, underscores)",
        "name": "human-readable name",
        "description": "the clinical field and what it changes",
        "scale": "dimension id -> non-negative multiplier of scenario weights (default 1)",
        "criteria": "dimension id -> extra rubric items for this discipline",
    },
    ("id", "name", "description"),
)
CELL = Section(
    "cell",
    {
        "scenario": "scenario id",
        "discipline": "discipline id",
        "applicable": "false excludes this pair from synthesis and reward mixing (default true)",
        "weights": "dimension id -> weight replacing the computed weight of that dimension",
        "reason": "why this cell is overridden or excluded (required when applicable is false)",
    },
    ("scenario", "discipline"),
)


def _object(section: Section, properties: dict[str, Any]) -> dict[str, Any]:
    for key, text in section.keys.items():
        properties[key] = {**properties[key], "description": text}
    return {
        "type": "object",
        "description": section.title,
        "properties": properties,
        "required": list(section.required),
        "additionalProperties": False,
    }


def json_schema() -> dict[str, Any]:
    """A JSON Schema (draft 2020-12) of a matrix file, for editors (YAML language servers) and CI."""
    text = {"type": "string", "minLength": 1}
    ident = {"type": "string", "pattern": ID_PATTERN}
    weight_map = {
        "type": "object",
        "minProperties": 1,
        "propertyNames": {"pattern": ID_PATTERN},
        "additionalProperties": {"type": "number", "minimum": 0},
    }
    criterion = _object(
        CRITERION,
        {"text": text, "points": {"type": "integer", "not": {"const": 0}}, "kind": {"enum": list(CRITERION_KINDS)}},
    )
    criteria = {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/criterion"}}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://mrrml.invalid/schemas/standards-matrix.json",
        "title": "mrrml standards matrix",
        "$defs": {
            "criterion": criterion,
            "dimension": _object(
                DIMENSION,
                {
                    "id": ident,
                    "name": text,
                    "description": text,
                    "template_operator": {"enum": list(TEMPLATE_OPERATORS)},
                    "levels": _object(LEVEL, dict.fromkeys(LEVELS, text)),
                    "criteria": criteria,
                },
            ),
            "scenario": _object(SCENARIO, {"id": ident, "name": text, "description": text, "weights": weight_map}),
            "discipline": _object(
                DISCIPLINE,
                {
                    "id": ident,
                    "name": text,
                    "description": text,
                    "scale": weight_map,
                    "criteria": {
                        "type": "object",
                        "propertyNames": {"pattern": ID_PATTERN},
                        "additionalProperties": criteria,
                    },
                },
            ),
            "cell": _object(
                CELL,
                {
                    "scenario": ident,
                    "discipline": ident,
                    "applicable": {"type": "boolean"},
                    "weights": weight_map,
                    "reason": text,
                },
            ),
        },
        **_object(
            TOP,
            {
                "name": text,
                "version": {"type": ["string", "number"]},
                "description": text,
                "dimensions": {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/dimension"}},
                "scenarios": {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/scenario"}},
                "disciplines": {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/discipline"}},
                "cells": {"type": "array", "items": {"$ref": "#/$defs/cell"}},
            },
        ),
    }
