"""Render ``toobit_follower_models/operations.py``: every operation of the spec as data.

One row per operation, in the spec's order: its id and Python name, method, path
template, tag, summary, description, whether it is signed or writes, its request weight
(``x-request-weight``), its path and query parameters, the generated pydantic models of
its query, body and 200 answer, its ``x-error-codes`` and its other ``x-*`` extensions;
then what a client needs to build a request without looking into the models: which
parameter the signer owns (``x-python: {signer: true}``), which argument is an integer,
which the query model reads, each parameter's wire name percent-encoded, the body's
fields (wire name, Python name, integer), and the Python attribute of the answer an
``x-python: {result: ...}`` returns. Path parameters come first, in the template's order.
Every layer that needs "the operations" (the client, the simulator's routing and
dispatch, the CLI, fuzzing, bench) iterates this table instead of listing operation ids.

Models are named as datamodel-code-generator names them (``generate.py`` runs it first
and passes the class names it wrote, so a name that does not exist stops generation
here, not at import time):

* the path and query parameters: ``<OperationId>Parameters`` (``--use-operation-id-as-name``,
  ``--include-path-parameters``);
* the body: the ``$ref`` of the JSON request body, else ``<OperationId>Request``;
* the answer: the ``$ref`` of the 200 JSON answer; when that is an ``anyOf``/``oneOf`` of
  the success envelope and the error envelope (the schema the operation's error
  responses use), the success envelope; else ``<OperationId>Response``.

Fields are named as it names them (``--snake-case-field``): snake_case of the wire name.
A field is an integer where the model reads it as ``int`` or ``int | None``: a
``type: integer`` without ``enum`` (an enum is a ``Literal``), ``null`` aside; and a
scalar with ``x-python-type`` (a type of ``generator/scalars.py``) whose schema is the
``Int64`` form, an ``anyOf`` of integers and strings of digits. The query model has
every path and query parameter (``--include-path-parameters``). A wire name is encoded
as one query component is (``quote(name, safe="")``). tests/test_operation_table.py
checks every flag against the generated models.
"""

from __future__ import annotations

import keyword
import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import quote

_HTTP_METHODS = ("get", "put", "post", "delete", "patch")
_LOCATIONS = ("path", "query")
_FIXED_KEYS = ("x-request-weight", "x-error-codes")  # fields of their own in the table
_SCHEMA_REF = "#/components/schemas/"
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_TEMPLATE_PARAM = re.compile(r"\{([^{}/]+)\}")
# a string pattern of digits only, as Int64's: ^-?[0-9]{1,19}$, ^[0-9]+$, ^\d+$
_DIGITS_PATTERN = re.compile(r"\^(-\??)?(\[0-9\]|\\d)(\+|\{\d+(,\d*)?\})\$")


class OperationTableError(ValueError):
    """An operation the table cannot describe; the message says which and why."""


def snake_case(name: str) -> str:
    """``getFollowConfig`` -> ``get_follow_config``; ``leaderUserId`` -> ``leader_user_id``."""
    snake = re.sub(r"[^0-9A-Za-z_]+", "_", _CAMEL.sub("_", name)).strip("_").lower()
    if not snake or snake[0].isdigit():
        snake = "_" + snake
    return snake + "_" if keyword.iskeyword(snake) else snake


def _class_prefix(operation_id: str) -> str:
    return operation_id[:1].upper() + operation_id[1:]


class _Spec:
    def __init__(self, document: Mapping[str, Any]) -> None:
        self.document = document

    def deref(self, node: Any, where: str) -> Any:
        """Follow local ``$ref`` chains (siblings of a ``$ref`` are kept, as in 3.1)."""
        seen = 0
        while isinstance(node, dict) and "$ref" in node:
            ref = node["$ref"]
            if not isinstance(ref, str) or not ref.startswith("#/"):
                raise OperationTableError(f"{where}: only local $refs are read, got {ref!r}")
            target: Any = self.document
            for part in ref[2:].split("/"):
                part = part.replace("~1", "/").replace("~0", "~")
                if not isinstance(target, dict) or part not in target:
                    raise OperationTableError(f"{where}: $ref {ref} does not resolve")
                target = target[part]
            siblings = {k: v for k, v in node.items() if k != "$ref"}
            node = {**target, **siblings} if isinstance(target, dict) else target
            seen += 1
            if seen > 32:
                raise OperationTableError(f"{where}: $ref loop at {ref}")
        return node


def _schema_name(schema: Any) -> str | None:
    ref = schema.get("$ref") if isinstance(schema, dict) else None
    if isinstance(ref, str) and ref.startswith(_SCHEMA_REF) and "/" not in ref[len(_SCHEMA_REF) :]:
        return ref[len(_SCHEMA_REF) :]
    return None


def _json_schema(spec: _Spec, holder: Any, where: str) -> Any:
    """The ``application/json`` schema of a response or request body, or None."""
    holder = spec.deref(holder, where)
    content = holder.get("content") if isinstance(holder, dict) else None
    if not isinstance(content, dict):
        return None
    media = content.get("application/json")
    if not isinstance(media, dict) or "schema" not in media:
        return None
    return media["schema"]


def _error_schemas(spec: _Spec, responses: Mapping[str, Any], where: str) -> set[str]:
    """The schemas the operation's error responses (4XX, 5XX, default) answer with."""
    names = set()
    for status, response in responses.items():
        if str(status)[:1] in ("4", "5") or status == "default":
            name = _schema_name(_json_schema(spec, response, f"{where} {status}"))
            if name:
                names.add(name)
    return names


def _parameters(
    spec: _Spec, path: str, item: Mapping[str, Any], operation: Mapping[str, Any], where: str
) -> list[dict[str, Any]]:
    """Path-item parameters overridden by the operation's (same name and location): the
    path ones in the template's order, then the query ones."""
    merged: dict[tuple[str, str], dict[str, Any]] = {}
    for source in (item.get("parameters", []), operation.get("parameters", [])):
        for index, raw in enumerate(source or []):
            param = spec.deref(raw, f"{where} parameters[{index}]")
            if not isinstance(param, dict) or "name" not in param or "in" not in param:
                raise OperationTableError(f"{where}: parameters[{index}] has no name or in")
            if param["in"] not in _LOCATIONS:
                raise OperationTableError(
                    f"{where}: parameter {param['name']!r} is in {param['in']}; the table"
                    f" reads {' and '.join(_LOCATIONS)} parameters only"
                )
            merged[(param["in"], param["name"])] = param
    declared = {name for (location, name) in merged if location == "path"}
    template = _TEMPLATE_PARAM.findall(path)
    if declared != set(template):
        raise OperationTableError(
            f"{where}: the path template names {sorted(set(template))} but the path parameters"
            f" are {sorted(declared)}"
        )
    ordered = [merged[("path", name)] for name in dict.fromkeys(template)]  # template's order
    return ordered + [p for p in merged.values() if p["in"] == "query"]


def _types(node: Mapping[str, Any]) -> list[Any]:
    """A schema's ``type`` as a list (3.1 allows several), ``null`` left out."""
    kind = node.get("type")
    return [k for k in (kind if isinstance(kind, list) else [kind]) if k != "null"]


def _integer(spec: _Spec, schema: Any, where: str) -> bool:
    """Whether the generated models read a value of ``schema`` as ``int`` (or ``int | None``):
    see the module's docstring."""
    node = spec.deref(schema, where)
    if not isinstance(node, dict):
        return False
    branches = [spec.deref(b, where) for b in node.get("anyOf", node.get("oneOf", []))]
    branches = [b for b in branches if isinstance(b, dict) and b.get("type") != "null"]
    if "x-python-type" in node:  # the scalar reads the schema's values: Int64 is an int
        digits = [
            b
            for b in branches
            if _types(b) == ["string"] and _DIGITS_PATTERN.fullmatch(str(b.get("pattern", "")))
        ]
        wholes = [b for b in branches if b not in digits and _integer(spec, b, where)]
        return bool(wholes) and len(wholes) + len(digits) == len(branches)
    if "anyOf" in node or "oneOf" in node:  # T | None
        return len(branches) == 1 and _integer(spec, branches[0], where)
    return _types(node) == ["integer"] and "enum" not in node and "const" not in node


def _param_row(spec: _Spec, param: Mapping[str, Any], modelled: bool, where: str) -> str:
    at = f"{where} {param['name']}"
    schema = spec.deref(param.get("schema", {}), at)
    default = schema.get("default") if isinstance(schema, dict) else None
    required = True if param["in"] == "path" else bool(param.get("required", False))
    x_python = param.get("x-python", {})
    if not isinstance(x_python, dict):
        raise OperationTableError(f"{at}: x-python must be a mapping, got {x_python!r}")
    return (
        f"Param(name={param['name']!r}, python_name={snake_case(param['name'])!r},"
        f" location={param['in']!r}, required={required!r}, default={default!r},"
        f" description={str(param.get('description', '')).strip()!r},"
        f" integer={_integer(spec, param.get('schema', {}), at)!r},"
        f" signer={x_python.get('signer') is True!r},"
        f" modelled={modelled!r}, encoded={quote(param['name'], safe='')!r})"
    )


def _properties(spec: _Spec, schema: Any, where: str) -> dict[str, Any]:
    """An object schema's properties by wire name, ``allOf`` merged."""
    node = spec.deref(schema, where)
    properties: dict[str, Any] = {}
    for part in node.get("allOf", []) if isinstance(node, dict) else []:
        properties.update(_properties(spec, part, where))
    properties.update(node.get("properties", {}) if isinstance(node, dict) else {})
    return properties


def _body_fields(spec: _Spec, operation: Mapping[str, Any], where: str) -> str:
    """The ``body_fields`` of a row: the body model's fields by wire name."""
    if "requestBody" not in operation:
        return "MappingProxyType({})"
    at = f"{where} requestBody"
    schema = _json_schema(spec, spec.deref(operation["requestBody"], at), at)
    fields = "".join(
        f"{wire!r}: BodyField(name={wire!r}, python_name={snake_case(wire)!r},"
        f" integer={_integer(spec, field, f'{at} {wire}')!r}),"
        for wire, field in _properties(spec, schema, at).items()
    )
    return f"MappingProxyType({{{fields}}})"


def _result_attribute(
    spec: _Spec, operation: Mapping[str, Any], response_model: str, where: str
) -> str | None:
    """The Python name of the answer's property ``x-python: {result: ...}`` names, or None."""
    x_python = operation.get("x-python", {})
    result = x_python.get("result") if isinstance(x_python, dict) else None
    if result is None:
        return None
    properties = _properties(spec, {"$ref": _SCHEMA_REF + response_model}, where)
    if result not in properties:
        raise OperationTableError(f"{where}: x-python result {result!r} is not in the answer")
    return snake_case(str(result))


def _model(name: str, models: set[str] | None, where: str, what: str) -> str:
    if models is not None and name not in models:
        raise OperationTableError(
            f"{where}: the {what} model {name} is not among the generated models"
        )
    return name


def _body_model(
    spec: _Spec, operation: Mapping[str, Any], models: set[str] | None, where: str
) -> tuple[str | None, bool]:
    if "requestBody" not in operation:
        return None, False
    body = spec.deref(operation["requestBody"], f"{where} requestBody")
    schema = _json_schema(spec, body, f"{where} requestBody")
    if schema is None:
        raise OperationTableError(f"{where}: the request body has no application/json schema")
    name = _schema_name(schema) or _class_prefix(operation["operationId"]) + "Request"
    return _model(name, models, where, "request body"), bool(body.get("required", False))


def _response_model(
    spec: _Spec, operation: Mapping[str, Any], models: set[str] | None, where: str
) -> str:
    responses = operation.get("responses")
    if not isinstance(responses, dict) or ("200" not in responses and 200 not in responses):
        raise OperationTableError(f"{where}: no 200 response")
    schema = _json_schema(spec, responses.get("200", responses.get(200)), f"{where} 200")
    if schema is None:
        raise OperationTableError(f"{where}: the 200 response has no application/json schema")
    name = _schema_name(schema)
    if name is None:
        errors = _error_schemas(spec, responses, where)
        for combinator in ("anyOf", "oneOf"):
            branches = schema.get(combinator) if isinstance(schema, dict) else None
            if isinstance(branches, list):
                success = [b for b in branches if _schema_name(b) not in errors]
                if len(success) == 1 and _schema_name(success[0]):
                    name = _schema_name(success[0])
    if name is None:
        name = _class_prefix(operation["operationId"]) + "Response"
    return _model(name, models, where, "200 response")


def _error_codes(operation: Mapping[str, Any], names: Mapping[int, str], where: str) -> str:
    codes = operation.get("x-error-codes", [])
    if not isinstance(codes, list):
        raise OperationTableError(f"{where}: x-error-codes must be a list")
    members = []
    for code in sorted(set(codes), reverse=True):
        if code not in names:
            raise OperationTableError(f"{where}: x-error-code {code!r} is not in the error table")
        members.append(f"ErrorCode.{names[code]}")
    return f"frozenset({{{', '.join(members)}}})" if members else "frozenset()"


def _error_names(document: Mapping[str, Any]) -> dict[int, str]:
    """Each code's ErrorCode member (its first row; error_table.py checks the table)."""
    rows = document.get("components", {}).get("schemas", {}).get("ErrorCode", {})
    names: dict[int, str] = {}
    for row in rows.get("x-error-table", []) if isinstance(rows, dict) else []:
        if isinstance(row, dict) and "code" in row and "name" in row:
            names.setdefault(row["code"], row["name"])
    return names


def _rows(document: Mapping[str, Any], models: set[str] | None) -> tuple[list[str], set[str]]:
    spec = _Spec(document)
    names = _error_names(document)
    rows: list[str] = []
    used: set[str] = set()
    seen_ids: dict[str, str] = {}
    seen_python: dict[str, str] = {}
    paths = document.get("paths")
    if not isinstance(paths, dict):
        raise OperationTableError("the spec has no paths")
    for path, item in paths.items():
        if not isinstance(item, dict):
            continue
        for method in _HTTP_METHODS:
            operation = item.get(method)
            if not isinstance(operation, dict):
                continue
            where = f"{method.upper()} {path}"
            op_id = operation.get("operationId")
            if not isinstance(op_id, str) or not op_id:
                raise OperationTableError(f"{where}: no operationId")
            where = f"{where} ({op_id})"
            if op_id in seen_ids:
                raise OperationTableError(f"{where}: operationId also used by {seen_ids[op_id]}")
            seen_ids[op_id] = where
            python_name = snake_case(op_id)
            if python_name in seen_python:
                raise OperationTableError(
                    f"{where}: its Python name {python_name} is also {seen_python[python_name]}'s"
                )
            seen_python[python_name] = where
            weight = operation.get("x-request-weight")
            if isinstance(weight, bool) or not isinstance(weight, int) or weight < 1:
                raise OperationTableError(
                    f"{where}: x-request-weight must be a positive integer, got {weight!r}"
                )
            params = _parameters(spec, path, item, operation, where)
            query_model = None
            if any(p["in"] in ("query", "path") for p in params):
                query_model = _model(_class_prefix(op_id) + "Parameters", models, where, "query")
            body_model, body_required = _body_model(spec, operation, models, where)
            response_model = _response_model(spec, operation, models, where)
            result_attribute = _result_attribute(spec, operation, response_model, where)
            used.update(n for n in (query_model, body_model, response_model) if n)
            security = operation.get("security", document.get("security", []))
            tags = operation.get("tags") or [""]
            extensions = {
                k: v for k, v in operation.items() if k.startswith("x-") and k not in _FIXED_KEYS
            }
            modelled = query_model is not None  # it has them all (--include-path-parameters)
            param_rows = "".join(f"{_param_row(spec, p, modelled, where)}," for p in params)
            signed = any(bool(requirement) for requirement in security or [])
            write = method != "get"
            rows.append(
                "    Operation(\n"
                f"        operation_id={op_id!r},\n"
                f"        python_name={python_name!r},\n"
                f"        method={method.upper()!r},\n"
                f"        path={path!r},\n"
                f"        tag={str(tags[0])!r},\n"
                f"        summary={str(operation.get('summary', '')).strip()!r},\n"
                f"        description={str(operation.get('description', '')).strip()!r},\n"
                f"        signed={signed!r},\n"
                f"        write={write!r},\n"
                f"        weight={weight!r},\n"
                f"        params=({param_rows}),\n"
                f"        query_model={query_model or 'None'},\n"
                f"        body_model={body_model or 'None'},\n"
                f"        body_required={body_required!r},\n"
                f"        response_model={response_model},\n"
                f"        error_codes={_error_codes(operation, names, where)},\n"
                f"        extensions=MappingProxyType({extensions!r}),\n"
                f"        body_fields={_body_fields(spec, operation, where)},\n"
                f"        result_attribute={result_attribute!r},\n"
                "    ),\n"
            )
    if not rows:
        raise OperationTableError("the spec has no operations")
    return rows, used


def render_operations_module(
    spec: Mapping[str, Any], model_names: Iterable[str] | None = None
) -> str:
    """The Python source of ``toobit_follower_models/operations.py`` (ruff formats it after).

    ``model_names``: the classes datamodel-code-generator wrote; a model the table would
    reference that is not among them is an ``OperationTableError``."""
    rows, used = _rows(spec, set(model_names) if model_names is not None else None)
    imports = "".join(f"    {name},\n" for name in sorted(used))
    return f'''"""The contract's operations, one row each, in the spec's order.

Every layer that needs "the operations" reads ``OPERATIONS`` (or ``BY_ID`` with an id
taken from it): method, path template, parameters, the generated models of the query,
the body and the 200 answer, the request weight, read or write, the error codes. The
type of a success answer's data is ``op.response_model.model_fields["data"].annotation``.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final, NamedTuple

from pydantic import BaseModel

from toobit_follower_models import (
{imports})
from toobit_follower_models.errors import ErrorCode

__all__ = ["BY_ID", "OPERATIONS", "BodyField", "Operation", "Param"]


class Param(NamedTuple):
    """A path or query parameter."""

    name: str
    """The wire name, e.g. ``leaderUserId``."""
    python_name: str
    """``leader_user_id``: snake_case of the wire name, as the generated models name it."""
    location: str
    """``path`` or ``query``."""
    required: bool
    default: object
    """The schema's default, or None."""
    description: str
    integer: bool = False
    """The query model reads it as ``int``: a bool is no value of it, its string is digits."""
    signer: bool = False
    """``x-python: {{signer: true}}``: the signer sets it (``recvWindow``), never a caller."""
    modelled: bool = True
    """The query model has it, as ``python_name`` (the generated ones have every parameter)."""
    encoded: str = ""
    """The wire name percent-encoded as one query component; empty in a row built by hand."""


class BodyField(NamedTuple):
    """A field of the JSON request body's model."""

    name: str
    """The wire name, e.g. ``leaderUserId``."""
    python_name: str
    """The model's attribute: snake_case of the wire name."""
    integer: bool
    """The model reads it as ``int``: a bool is no value of it, its string is digits."""


class Operation(NamedTuple):
    """One operation of the spec."""

    operation_id: str
    python_name: str
    """snake_case of the operationId (``get_follow_config``)."""
    method: str
    """Upper case: ``GET``, ``PUT``, ``POST``, ``DELETE``, ``PATCH``."""
    path: str
    """The template, e.g. ``/api/v2/copy-trading/follower/leaders/{{leaderUserId}}``."""
    tag: str
    """The first tag."""
    summary: str
    description: str
    signed: bool
    """The operation has a non-empty ``security`` requirement."""
    write: bool
    """The method is not GET."""
    weight: int
    """``x-request-weight``: what one request costs of the rate limit."""
    params: tuple[Param, ...]
    """Path parameters in the template's order, then query parameters in the spec's."""
    query_model: type[BaseModel] | None
    """The generated model of the path and query parameters (``<OperationId>Parameters``)."""
    body_model: type[BaseModel] | None
    """The generated model of the JSON request body."""
    body_required: bool
    response_model: type[BaseModel]
    """The 200 answer's model: the success envelope where the 200 may be either envelope."""
    error_codes: frozenset[int]
    """``x-error-codes`` (``ErrorCode`` members); empty when the operation lists none."""
    extensions: Mapping[str, object]
    """The operation's other ``x-*`` extensions, as in the spec."""
    body_fields: Mapping[str, BodyField] = MappingProxyType({{}})
    """The body model's fields by wire name, in the schema's order; empty without a body."""
    result_attribute: str | None = None
    """``x-python: {{result: ...}}``: the answer is no envelope, and a client returns this
    attribute of ``response_model`` (the property's Python name); None for an envelope."""


OPERATIONS: Final[tuple[Operation, ...]] = (
{"".join(rows)})
"""Every operation, in the spec's order."""

BY_ID: Final[Mapping[str, Operation]] = MappingProxyType(
    {{op.operation_id: op for op in OPERATIONS}}
)
"""Operation by operationId."""
'''
