"""What the simulator reads from openapi.yaml at startup (never per request).

The operations are the generated table's (`toobit_follower_models.operations`): each
row's method, path, weight, read/write, error codes and models. The spec the simulator
serves must be the one that table was generated from (`make generate`); an operation in
one and not the other stops the simulator at startup.

The generated pydantic models are laxer than the spec (they take JSON numbers,
exponents and booleans where the spec wants decimal strings or integers), so the
request rules here (JSON type, enum, range, pattern, maxLength) come straight
from the spec's schemas and are enforced on the raw JSON before the models run.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import re
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml
from toobit_follower_models import spec as packaged_spec
from toobit_follower_models.operations import OPERATIONS
from toobit_follower_models.operations import Operation as TableOperation

SPEC_ENV = "TOOBIT_FOLLOWER_SPEC"
_HTTP_METHODS = ("get", "put", "post", "delete", "patch")


class SpecError(RuntimeError):
    """openapi.yaml is missing or lacks something the simulator relies on."""


def find_spec_path(explicit: str | os.PathLike[str] | None = None) -> Path:
    """openapi.yaml: explicit path, $TOOBIT_FOLLOWER_SPEC, the repo checkout, or the wheel copy."""
    candidates: list[Path] = []
    if explicit:
        candidates.append(Path(explicit))
    if os.environ.get(SPEC_ENV):
        candidates.append(Path(os.environ[SPEC_ENV]))
    # simulator/toobit_follower_sim/spec.py -> repository root
    candidates.append(Path(__file__).resolve().parents[2] / "openapi.yaml")
    # The wheel force-includes the spec as toobit_follower_models/openapi.yaml.
    with contextlib.suppress(FileNotFoundError):
        candidates.append(packaged_spec.spec_path())
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise SpecError("openapi.yaml not found; pass --spec or set " + SPEC_ENV)


@dataclass(frozen=True, slots=True)
class FieldRule:
    """How one request field (body property, query or path parameter) is checked."""

    name: str
    required: bool
    kind: str  # "integer" | "string" | "boolean" | "null" | "array" | "any" (an anyOf)
    schema_name: str | None
    enum: frozenset[Any] | None
    minimum: int | Decimal | None
    maximum: int | Decimal | None
    pattern: re.Pattern[str] | None
    max_length: int | None
    is_decimal: bool
    default: Any = None
    any_of: tuple[FieldRule, ...] | None = None  # a value passes when one alternative does
    items: FieldRule | None = None  # an array's items (scalars only)


@dataclass(frozen=True, slots=True)
class ObjectRules:
    """An object schema of scalar properties or arrays of scalars (a response item or a
    request body)."""

    name: str
    properties: dict[str, FieldRule]  # in the spec's order
    required: frozenset[str]


@dataclass(frozen=True, slots=True)
class Operation:
    """One row of the generated operation table, with the request rules read from the spec."""

    table: TableOperation  # the generated row: models, weight, read/write, error codes
    operation_id: str
    method: str
    path: str
    is_write: bool
    error_codes: frozenset[int]
    query: tuple[FieldRule, ...]  # the business query parameters (not recvWindow), spec order
    query_names: frozenset[str]  # every query parameter it declares, signing ones included
    path_params: tuple[FieldRule, ...]
    body: tuple[FieldRule, ...] | None
    body_schema_name: str | None
    weight: int  # x-request-weight: what one request costs of the rate limit


@dataclass(frozen=True, slots=True)
class SpecData:
    path: Path
    yaml_bytes: bytes
    json_bytes: bytes
    document: dict[str, Any]
    operations: dict[str, Operation]
    recv_window: FieldRule
    patterns: dict[str, re.Pattern[str]]
    schemas: dict[str, ObjectRules]  # every object schema whose properties are scalars


def node_parts(pointer: str) -> list[str]:
    """The keys of a JSON pointer such as an x-assumption's `where` (`#/paths/~1a/get`)."""
    text = pointer.removeprefix("#").removeprefix("/")
    return [part.replace("~1", "/").replace("~0", "~") for part in text.split("/")] if text else []


def node_at(document: dict[str, Any], pointer: str) -> Any:
    """The node a JSON pointer names, its $refs followed; None where there is none."""
    node: Any = document
    for part in node_parts(pointer):
        if isinstance(node, dict):
            node = node.get(part)
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return None
    if isinstance(node, dict) and "$ref" in node:
        node, _ = _Resolver(document).resolve(node)
    return node


def _yaml_load(text: bytes) -> Any:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return yaml.load(text, Loader=loader)  # noqa: S506 - a safe loader


class _Resolver:
    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document

    def ref(self, ref: str) -> dict[str, Any]:
        if not ref.startswith("#/"):
            raise SpecError(f"external $ref not supported: {ref}")
        node: Any = self.document
        for part in ref[2:].split("/"):
            node = node[part]
        if not isinstance(node, dict):
            raise SpecError(f"$ref {ref} is not an object")
        return node

    def resolve(self, schema: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
        """Follow $ref chains; siblings of $ref (3.1) override the target. -> (schema, name)."""
        name: str | None = None
        merged: dict[str, Any] = {}
        seen = 0
        while "$ref" in schema:
            ref = schema["$ref"]
            if name is None and ref.startswith("#/components/schemas/"):
                name = ref.rsplit("/", 1)[1]
            siblings = {k: v for k, v in schema.items() if k != "$ref"}
            merged = {**siblings, **merged}
            schema = self.ref(ref)
            seen += 1
            if seen > 20:
                raise SpecError(f"$ref loop at {ref}")
        return {**schema, **merged}, name


def _bound(kind: str, value: Any) -> int | Decimal | None:
    # Integers compare with ints (cheaper per request); decimals with Decimal.
    if value is None:
        return None
    return int(value) if kind == "integer" else Decimal(str(value))


def _field_rule(
    resolver: _Resolver, name: str, schema: dict[str, Any], required: bool
) -> FieldRule:
    resolved, schema_name = resolver.resolve(schema)
    if "anyOf" in resolved:
        alternatives = tuple(
            _field_rule(resolver, name, alt, required) for alt in resolved["anyOf"]
        )
        return FieldRule(name, required, "any", schema_name, None, None, None, None, None, False,
                         any_of=alternatives)  # fmt: skip
    kind = resolved.get("type")
    if kind == "array":  # of scalars (an array of objects is not a field: SpecError below)
        items = _field_rule(resolver, name, resolved.get("items", {}), True)
        return FieldRule(name, required, kind, schema_name, None, None, None, None, None, False,
                         items=items)  # fmt: skip
    if kind not in ("integer", "string", "boolean", "null"):  # null: an unset answer value
        raise SpecError(f"field {name}: unsupported type {kind!r}")
    pattern = resolved.get("pattern")
    enum = resolved.get("enum")
    minimum = resolved.get("minimum")
    maximum = resolved.get("maximum")
    return FieldRule(
        name=name,
        required=required,
        kind=kind,
        schema_name=schema_name,
        enum=frozenset(enum) if enum is not None else None,
        minimum=_bound(kind, minimum),
        maximum=_bound(kind, maximum),
        pattern=re.compile(pattern) if pattern is not None else None,
        max_length=resolved.get("maxLength"),
        is_decimal=resolved.get("format") == "decimal",
        default=resolved.get("default"),
    )


def _object_rules(resolver: _Resolver, name: str, schema: dict[str, Any]) -> ObjectRules:
    required = frozenset(schema.get("required", []))
    return ObjectRules(
        name=name,
        properties={
            prop: _field_rule(resolver, prop, sub, prop in required)
            for prop, sub in schema.get("properties", {}).items()
        },
        required=required,
    )


def _declared(
    resolver: _Resolver, item: dict[str, Any], op: dict[str, Any]
) -> list[dict[str, Any]]:
    """The operation's parameters: the path item's, overridden by its own (name and `in`)."""
    merged: dict[tuple[str, str], dict[str, Any]] = {}
    for param in [*item.get("parameters", []), *op.get("parameters", [])]:
        param, _ = resolver.resolve(param)
        merged[(param.get("in", ""), param["name"])] = param
    return list(merged.values())


def _query_names(
    document: dict[str, Any], op: dict[str, Any], declared: list[dict[str, Any]]
) -> frozenset[str]:
    """The operation's query parameters and the query-borne API keys of its security."""
    names = {param["name"] for param in declared if param.get("in") == "query"}
    schemes = document.get("components", {}).get("securitySchemes", {})
    for requirement in op.get("security", document.get("security", [])):
        for scheme in requirement:
            if schemes.get(scheme, {}).get("in") == "query":
                names.add(schemes[scheme]["name"])
    return frozenset(names)


def _parameters(
    resolver: _Resolver, declared: list[dict[str, Any]], where: str
) -> tuple[FieldRule, ...]:
    """The rules of the parameters `in` where (a path parameter is always required)."""
    return tuple(
        _field_rule(
            resolver,
            param["name"],
            param.get("schema", {}),
            where == "path" or bool(param.get("required")),
        )
        for param in declared
        if param.get("in") == where
    )


def _same_operations(spec_path: Path, document: dict[str, Any]) -> None:
    """The spec served and the generated table list the same operations."""
    served = {
        (method.upper(), path)
        for path, item in document["paths"].items()
        if isinstance(item, dict)
        for method in _HTTP_METHODS
        if isinstance(item.get(method), dict)
    }
    generated = {(row.method, row.path) for row in OPERATIONS}
    if served != generated:
        only = [f"{m} {p}" for m, p in sorted(served - generated)]
        gone = [f"{m} {p}" for m, p in sorted(generated - served)]
        raise SpecError(
            f"{spec_path} and the generated operation table (toobit_follower_models.operations)"
            f" differ: only in the spec {only or 'none'}, only in the table {gone or 'none'}."
            " Regenerate from this spec (make generate) or serve the spec the table came from"
        )


@functools.lru_cache(maxsize=8)
def load_spec(path: str | None = None) -> SpecData:
    """Parse openapi.yaml once per process (cached by path)."""
    spec_path = find_spec_path(path)
    raw = spec_path.read_bytes()
    document = _yaml_load(raw)
    if not isinstance(document, dict) or "paths" not in document:
        raise SpecError(f"{spec_path} is not an OpenAPI document")
    resolver = _Resolver(document)
    recv = resolver.ref("#/components/parameters/RecvWindow")
    recv_window = _field_rule(resolver, recv["name"], recv["schema"], False)
    _same_operations(spec_path, document)
    operations: dict[str, Operation] = {}
    for row in OPERATIONS:
        item = document["paths"][row.path]
        op = item[row.method.lower()]
        declared = _declared(resolver, item, op)
        body_rules: tuple[FieldRule, ...] | None = None
        body_schema_name: str | None = None
        if "requestBody" in op:
            media = op["requestBody"]["content"]["application/json"]
            schema, body_schema_name = resolver.resolve(media["schema"])
            body_rules = tuple(
                _object_rules(
                    resolver, body_schema_name or row.operation_id, schema
                ).properties.values()
            )
            if schema.get("additionalProperties", True) is not False:
                raise SpecError(f"{row.operation_id}: the body must forbid additional properties")
        operations[row.operation_id] = Operation(
            table=row,
            operation_id=row.operation_id,
            method=row.method,
            path=row.path,
            is_write=row.write,
            error_codes=row.error_codes,
            query=tuple(
                r for r in _parameters(resolver, declared, "query") if r.name != recv_window.name
            ),
            query_names=_query_names(document, op, declared),
            path_params=_parameters(resolver, declared, "path"),
            body=body_rules,
            body_schema_name=body_schema_name,
            weight=row.weight,
        )
    patterns = {
        name: re.compile(schema["pattern"])
        for name, schema in document["components"]["schemas"].items()
        if isinstance(schema, dict) and "pattern" in schema
    }
    schemas: dict[str, ObjectRules] = {}
    for name, schema in document["components"]["schemas"].items():
        if isinstance(schema, dict) and schema.get("type") == "object" and "properties" in schema:
            try:
                schemas[name] = _object_rules(resolver, name, schema)
            except SpecError:
                continue  # not a flat object of scalars (an envelope, a page): not stored
    json_bytes = json.dumps(document, ensure_ascii=False, indent=2).encode()
    return SpecData(
        path=spec_path,
        yaml_bytes=raw,
        json_bytes=json_bytes,
        document=document,
        operations=operations,
        recv_window=recv_window,
        patterns=patterns,
        schemas=schemas,
    )
