"""Panther's published OpenAPI document, as JSON Schema validators for the detection endpoints.

Source: Panther's OpenAPI 3.0.3 document "Panther REST API" v1.0, published inline on
https://docs.panther.com/panther-developer-workflows/api/rest (sync-contract.md §0 [OAS]).
The package ships only the part this project uses — the paths of :data:`KINDS` and the component
schemas they reference — in ``panther_rest_openapi_subset.json``; :func:`extract_subset` makes
that file from the full document, and a test checks the two still agree.

OAS 3.0 schema objects are a dialect of JSON Schema draft 4 (boolean ``exclusiveMinimum``) with
one extra keyword that matters for validation, ``nullable: true``; :func:`translate_nullable`
turns it into a ``"null"`` member of ``type``. ``format: int64`` and ``example`` are annotations.
"""
from __future__ import annotations

import json
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft4Validator

__all__ = [
    "KINDS",
    "SOURCE",
    "SUBSET_PATH",
    "extract_subset",
    "load_subset",
    "operation_schemas",
    "translate_nullable",
    "validate",
]

#: URL collection segments of the detection-content endpoints (sync-contract.md §1.2).
KINDS: tuple[str, ...] = (
    "rules", "scheduled-rules", "simple-rules", "policies", "globals", "data-models", "queries",
)

#: The shipped subset of the OpenAPI document (JSON).
SUBSET_PATH = Path(__file__).with_name("panther_rest_openapi_subset.json")

#: Where the subset comes from (kept in the shipped file as ``x-source``).
SOURCE = (
    "Panther REST API OpenAPI 3.0.3 document (Copyright (C) 2022 Panther Labs, Inc.), published on "
    "https://docs.panther.com/panther-developer-workflows/api/rest; subset made by "
    "pytest_panther.sync.standin.oas.extract_subset"
)


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str):
            yield ref
        for value in node.values():
            yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def extract_subset(document: dict[str, Any]) -> dict[str, Any]:
    """The paths of :data:`KINDS` and every component schema they reach, from the full document.

    ``document`` is the parsed OpenAPI YAML. Raises ``KeyError`` when a path or a ``$ref`` target
    is missing from it.
    """
    paths = {
        path: document["paths"][path] for kind in KINDS for path in (f"/{kind}", f"/{kind}/{{id}}")
    }
    schemas: dict[str, Any] = {}
    pending = list(_refs(paths))
    while pending:
        name = pending.pop().rsplit("/", 1)[-1]
        if name not in schemas:
            schemas[name] = document["components"]["schemas"][name]
            pending.extend(_refs(schemas[name]))
    return {
        "x-source": SOURCE,
        "openapi": document["openapi"],
        "info": document["info"],
        "paths": paths,
        "components": {"schemas": dict(sorted(schemas.items()))},
    }


def translate_nullable(schema: Any) -> Any:
    """A copy of an OAS 3.0 schema with ``nullable: true`` turned into JSON Schema ``type`` lists."""
    if isinstance(schema, list):
        return [translate_nullable(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out = {key: translate_nullable(value) for key, value in schema.items() if key != "nullable"}
    if schema.get("nullable") is True and "type" in out:
        types = out["type"] if isinstance(out["type"], list) else [out["type"]]
        out["type"] = [*types, "null"]
        if "enum" in out:
            out["enum"] = [*out["enum"], None]
    return out


@cache
def load_subset() -> dict[str, Any]:
    """The shipped subset, with ``nullable`` translated (cached; do not mutate)."""
    subset: dict[str, Any] = translate_nullable(json.loads(SUBSET_PATH.read_text(encoding="utf-8")))
    return subset


def _inline(node: Any, schemas: dict[str, Any], trail: tuple[str, ...] = ()) -> Any:
    """``node`` with every ``#/components/schemas/X`` reference replaced by that schema (the
    detection schemas have no cycles; inlined validators run about twice as fast)."""
    if isinstance(node, list):
        return [_inline(item, schemas, trail) for item in node]
    if not isinstance(node, dict):
        return node
    ref = node.get("$ref")
    if isinstance(ref, str):
        name = ref.rsplit("/", 1)[-1]
        if name in trail:
            raise ValueError(f"schema {name!r} refers to itself: {' -> '.join((*trail, name))}")
        return _inline(schemas[name], schemas, (*trail, name))
    return {key: _inline(value, schemas, trail) for key, value in node.items()}


@cache
def _validator(schema_name: str) -> Draft4Validator:
    schemas = load_subset()["components"]["schemas"]
    if schema_name not in schemas:
        raise KeyError(f"no component schema {schema_name!r} in the OpenAPI subset")
    return Draft4Validator(_inline(schemas[schema_name], schemas, (schema_name,)))


def validate(schema_name: str, instance: Any) -> list[str]:
    """Messages for every way ``instance`` breaks component schema ``schema_name`` (empty = valid).

    Each message is ``"<json path>: <jsonschema message>"``, e.g.
    ``"$.severity: 'Low' is not one of ['INFO', 'LOW', 'MEDIUM', 'HIGH', 'CRITICAL']"``.
    """
    errors = sorted(_validator(schema_name).iter_errors(instance), key=lambda e: list(e.path))
    return [f"{e.json_path}: {e.message}" for e in errors]


def _closed(node: Any) -> Any:
    """``node`` with ``additionalProperties: false`` on every object schema that lists its
    ``properties`` and says nothing about others (the document never uses allOf/anyOf/oneOf)."""
    if isinstance(node, list):
        return [_closed(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: _closed(value) for key, value in node.items()}
    if isinstance(node.get("properties"), dict) and "additionalProperties" not in node:
        out["additionalProperties"] = False
    return out


@cache
def _request_validator(schema_name: str) -> Draft4Validator:
    schemas = load_subset()["components"]["schemas"]
    if schema_name not in schemas:
        raise KeyError(f"no component schema {schema_name!r} in the OpenAPI subset")
    return Draft4Validator(_closed(_inline(schemas[schema_name], schemas, (schema_name,))))


def validate_request(schema_name: str, instance: Any) -> list[str]:
    """Like :func:`validate`, and a field the schema does not define is an error too: the API
    rejects unknown fields with 400 instead of storing and echoing them (issue 11 §7)."""
    errors = sorted(_request_validator(schema_name).iter_errors(instance), key=lambda e: list(e.path))
    return [f"{e.json_path}: {e.message}" for e in errors]


def request_fields(kind: str) -> frozenset[str]:
    """Top-level fields of the write body of ``kind`` (PUT, or POST for queries)."""
    schemas = load_subset()["components"]["schemas"]
    method, item = ("POST", False) if kind == "queries" else ("PUT", True)
    name, _ = operation_schemas(kind, method, item)
    return frozenset((schemas.get(name or "", {}).get("properties") or {}).keys())


def _schema_name(content: dict[str, Any] | None) -> str | None:
    if not content:
        return None
    ref = content.get("content", {}).get("application/json", {}).get("schema", {}).get("$ref")
    return ref.rsplit("/", 1)[-1] if ref else None


def operation_schemas(kind: str, method: str, item: bool) -> tuple[str | None, dict[int, str | None]]:
    """``(request schema, {status: response schema})`` of one operation, by component name.

    ``item`` selects ``/{kind}/{id}`` over ``/{kind}``. Raises ``KeyError`` when the document
    has no such operation (e.g. ``PUT /queries/{id}``).
    """
    path = f"/{kind}/{{id}}" if item else f"/{kind}"
    operation = load_subset()["paths"][path][method.lower()]
    responses = {
        int(status): _schema_name(response) for status, response in operation["responses"].items()
    }
    return _schema_name(operation.get("requestBody")), responses

