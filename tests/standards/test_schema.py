"""The exported JSON Schema accepts the shipped matrices and rejects malformed ones.

The ``jsonschema`` package is used when installed. It is not a dependency of mrrml, so the
same checks also run through a small validator of exactly the keywords our schema uses; a
test makes sure the schema uses no keyword that validator would silently ignore.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from mrrml.resources import shipped_matrix
from mrrml.standards.scaffold import scaffold
from mrrml.standards.schema import CELL, CRITERION, DIMENSION, DISCIPLINE, SCENARIO, TOP, json_schema

ANNOTATIONS = {"$schema", "$id", "title", "description", "$defs"}
CHECKED = {
    "$ref",
    "type",
    "minLength",
    "pattern",
    "enum",
    "const",
    "not",
    "minItems",
    "items",
    "minProperties",
    "propertyNames",
    "additionalProperties",
    "properties",
    "required",
    "minimum",
}
_TYPES = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "boolean": lambda v: isinstance(v, bool),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
}


def subset_errors(schema: dict[str, Any], value: Any, root: dict[str, Any], path: str = "$") -> Iterator[str]:
    """Errors of ``value`` against ``schema``, for the keywords in CHECKED (draft 2020-12 semantics)."""
    if "$ref" in schema:
        target = root
        for part in schema["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        yield from subset_errors(target, value, root, path)
    if "type" in schema:
        types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        if not any(_TYPES[t](value) for t in types):
            yield f"{path}: not of type {types}"
            return
    if "enum" in schema and value not in schema["enum"]:
        yield f"{path}: not in enum"
    if "const" in schema and not (value == schema["const"] and type(value) is type(schema["const"])):
        yield f"{path}: not const"
    if "not" in schema and not list(subset_errors(schema["not"], value, root, path)):
        yield f"{path}: matches 'not'"
    if isinstance(value, str):
        if len(value) < schema.get("minLength", 0):
            yield f"{path}: too short"
        if "pattern" in schema and not re.search(schema["pattern"], value):
            yield f"{path}: does not match pattern"
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value < schema.get("minimum", value):
        yield f"{path}: below minimum"
    if isinstance(value, list):
        if len(value) < schema.get("minItems", 0):
            yield f"{path}: too few items"
        for i, item in enumerate(value):
            if "items" in schema:
                yield from subset_errors(schema["items"], item, root, f"{path}[{i}]")
    if isinstance(value, dict):
        if len(value) < schema.get("minProperties", 0):
            yield f"{path}: too few properties"
        for key in schema.get("required", []):
            if key not in value:
                yield f"{path}: missing {key}"
        for key, item in value.items():
            if "propertyNames" in schema:
                yield from subset_errors(schema["propertyNames"], key, root, f"{path}.<{key}>")
            if key in schema.get("properties", {}):
                yield from subset_errors(schema["properties"][key], item, root, f"{path}.{key}")
            elif schema.get("additionalProperties") is False:
                yield f"{path}: unexpected property {key}"
            elif isinstance(schema.get("additionalProperties"), dict):
                yield from subset_errors(schema["additionalProperties"], item, root, f"{path}.{key}")


def keywords(schema: Any) -> set[str]:
    """Every keyword used anywhere in the schema (not counting property names)."""
    found: set[str] = set()
    if isinstance(schema, dict):
        for key, value in schema.items():
            found.add(key)
            if key in ("properties", "$defs"):
                for sub in value.values():
                    found |= keywords(sub)
            elif isinstance(value, (dict, list)):
                found |= keywords(value)
    elif isinstance(schema, list):
        for item in schema:
            found |= keywords(item)
    return found


def all_errors(document: Any) -> list[str]:
    schema = json_schema()
    errors = list(subset_errors(schema, document, schema))
    try:
        import jsonschema
    except ImportError:
        return errors
    official = [e.message for e in jsonschema.Draft202012Validator(schema).iter_errors(document)]
    assert bool(official) == bool(errors), (official, errors)
    return errors


def test_schema_is_json_and_uses_only_checked_keywords():
    schema = json_schema()
    assert json.loads(json.dumps(schema)) == schema
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert keywords(schema) <= ANNOTATIONS | CHECKED
    try:
        import jsonschema
    except ImportError:
        return
    jsonschema.Draft202012Validator.check_schema(schema)


def test_schema_properties_are_the_loaders_keys():
    schema = json_schema()
    defs = schema["$defs"]
    assert set(schema["properties"]) == set(TOP.keys) and schema["required"] == list(TOP.required)
    for name, section in (
        ("dimension", DIMENSION),
        ("scenario", SCENARIO),
        ("discipline", DISCIPLINE),
        ("cell", CELL),
        ("criterion", CRITERION),
    ):
        assert set(defs[name]["properties"]) == set(section.keys)
        assert defs[name]["required"] == list(section.required)
        assert defs[name]["additionalProperties"] is False


@pytest.mark.parametrize("name", ["healthbench", "mr-rml"])
def test_shipped_matrices_validate_against_the_schema(name):
    document = yaml.safe_load(shipped_matrix(name).read_text(encoding="utf-8"))
    assert all_errors(document) == []


def test_scaffold_validates_against_the_schema():
    assert all_errors(yaml.safe_load(scaffold("x"))) == []


@pytest.mark.parametrize(
    "line, replacement, fragment",
    [
        (28, "    descripton: Urgency decisions.", "unexpected property descripton"),
        (12, "      - {text: States a wrong fact., points: 0, kind: principle}", "matches 'not'"),
        (34, "      accuracy: -1", "below minimum"),
        (8, "    template_operator: acuracy", "not in enum"),
        (37, "  - id: Nursing", "does not match pattern"),
        (53, '    applicable: "no"', "not of type"),
    ],
)
def test_schema_rejects_malformed_documents(tiny_with, line, replacement, fragment):
    errors = all_errors(yaml.safe_load(tiny_with(line, replacement)))
    assert any(fragment in e for e in errors), errors
