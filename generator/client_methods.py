"""What the client-method templates (``generator/templates/``) need and openapi-python-client
does not keep: one entry per operation, rendered as a Jinja file (``_methods.jinja``) next
to a copy of the templates before openapi-python-client runs.

openapi-python-client 0.29.1 parses the spec into ``Endpoint`` objects that drop what the
methods are made of: the operationId as written (only ``name``, its snake_case
``PythonIdentifier``, is kept), every ``x-*`` extension, a string's ``format`` (so a
``format: decimal`` field is ``str``) and an integer's ``format``; its types are those of its
attrs models, which are not shipped. So the signature of each method (argument names,
Python types, defaults, the order), its return type and the ``x-python`` choices are read
here from the spec, and the templates render them per tag with openapi-python-client's
``endpoint_collection`` (which operations a tag has, their method, summary, description).

Python types (one model family: the pydantic models of datamodel-code-generator):
  * ``format: decimal`` strings (money, rates) -> ``Decimal | str | int`` (never float);
  * ``format: int64`` integers -> ``int | str`` (the exchange writes them as digits too);
  * an integer ``enum`` -> ``int``, and ``bool | int`` when it is exactly ``[0, 1]``;
  * other integers ``int``, strings ``str``, booleans ``bool``, a ``$ref`` to an object
    schema its model class, arrays ``list[...]``, ``type: null`` ``None``.

``x-python`` (an operation's, see generator/README.md):
  * ``name``: the method's name (default: snake_case of the operationId);
  * ``result``: the answer is not an envelope; the method returns this property of it;
  * ``body_model``: the body may be passed whole as one model, the method's first argument,
    positional-only, of this name; its fields stay keyword-only arguments that override it;
  * ``pages``: a paged read (``page`` and ``size`` arguments, an answer with a ``list`` of
    items and the number of ``pages``); the clients get a method of this name that yields
    every item, page after page.
Without ``body_model`` the body's fields are the arguments: the required ones positional,
the optional ones keyword-only. A parameter whose ``x-python`` says ``signer: true`` (the
spec's ``recvWindow``) is set by the client's signer and is no method's argument.
"""

from __future__ import annotations

import json
import keyword
import re
from collections.abc import Mapping
from typing import Any

from openapi_python_client.strings import PythonIdentifier
from operation_table import (
    OperationTableError,
    _json_schema,
    _parameters,
    _response_model,
    _schema_name,
    _Spec,
    snake_case,
)

_HTTP_METHODS = ("get", "put", "post", "delete", "patch")
_X_PYTHON_KEYS = {"name", "result", "body_model", "pages"}
_ENVELOPE_KEYS = {"code", "data"}
# openapi-python-client's default `field_prefix`: how it names an endpoint (Endpoint.name)
_FIELD_PREFIX = "field_"


class ClientMethodsError(OperationTableError):
    """An operation the method templates cannot render; the message says which and why."""


def _x_python(node: Mapping[str, Any], allowed: set[str], where: str) -> dict[str, Any]:
    value = node.get("x-python", {})
    if not isinstance(value, dict) or not set(value) <= allowed:
        raise ClientMethodsError(
            f"{where}: x-python must be a mapping with keys among {sorted(allowed)}, got {value!r}"
        )
    return value


def _identifier(name: object, where: str) -> str:
    if not isinstance(name, str) or not name.isidentifier() or keyword.iskeyword(name):
        raise ClientMethodsError(f"{where}: {name!r} is not a Python identifier")
    return name


class _Types:
    """Python annotations of schemas, and the model classes they name."""

    def __init__(self, spec: _Spec) -> None:
        self.spec = spec
        self.models: set[str] = set()

    def argument(self, schema: Any, where: str) -> str:
        """The type a method takes for a value of ``schema``."""
        return self._type(schema, where, argument=True)

    def result(self, schema: Any, where: str) -> str:
        """The type of a value of ``schema`` in an answer, as the models read it."""
        return self._type(schema, where, argument=False)

    def _type(self, schema: Any, where: str, *, argument: bool) -> str:
        name = _schema_name(schema)
        node = self.spec.deref(schema, where)
        if not isinstance(node, dict):
            raise ClientMethodsError(f"{where}: a schema must be a mapping")
        for combinator in ("anyOf", "oneOf"):
            if combinator in node:
                types = [self._type(b, where, argument=argument) for b in node[combinator]]
                return " | ".join(dict.fromkeys(t for part in types for t in part.split(" | ")))
        kind = node.get("type")
        if kind == "object" or "properties" in node or "allOf" in node:
            if name is None:
                raise ClientMethodsError(f"{where}: an inline object has no model name")
            self.models.add(name)
            return name
        if kind == "array":
            return f"list[{self._type(node.get('items', {}), where, argument=argument)}]"
        if kind == "integer":
            if "enum" in node:
                return "bool | int" if argument and sorted(node["enum"]) == [0, 1] else "int"
            return "int | str" if argument and node.get("format") == "int64" else "int"
        if kind == "string":
            if node.get("format") == "decimal":
                return "Decimal | str | int" if argument else "Decimal"
            return "str"
        if kind == "number":
            return "Decimal | int" if argument else "Decimal"
        if kind == "boolean":
            return "bool"
        if kind == "null":
            return "None"
        raise ClientMethodsError(f"{where}: no Python type for the schema {node!r}")


def _properties(spec: _Spec, schema: Any, where: str) -> tuple[dict[str, Any], set[str]]:
    """An object schema's properties and required names, ``allOf`` merged."""
    node = spec.deref(schema, where)
    properties: dict[str, Any] = {}
    required: set[str] = set()
    for part in node.get("allOf", []):
        more, needed = _properties(spec, part, where)
        properties.update(more)
        required |= needed
    properties.update(node.get("properties", {}))
    required |= set(node.get("required", []))
    return properties, required


def _argument(
    python_name: str, wire: str, annotation: str, *, required: bool, default: Any, kw_only: bool
) -> dict[str, Any]:
    if required:
        text = None
    elif default is None:
        annotation, text = f"{annotation} | None", "None"
    else:
        text = repr(default)
    return {
        "name": python_name,
        "wire": wire,
        "annotation": annotation,
        "default": text,
        "keyword": kw_only,
    }


def _result(
    spec: _Spec,
    types: _Types,
    operation: Mapping[str, Any],
    x_python: Mapping[str, Any],
    where: str,
) -> str:
    envelope = spec.deref(
        {"$ref": f"#/components/schemas/{_response_model(spec, operation, None, where)}"}, where
    )
    properties, _ = _properties(spec, envelope, where)
    result = x_python.get("result")
    if result is not None:
        if result not in properties:
            raise ClientMethodsError(f"{where}: x-python result {result!r} is not in the answer")
        return types.result(properties[result], f"{where} {result}")
    if not _ENVELOPE_KEYS <= set(properties):
        raise ClientMethodsError(
            f"{where}: the 200 answer is no envelope (code, data): name the property the"
            " method returns with x-python result"
        )
    data = properties["data"]
    return types.result(data, f"{where} data") if data else "object"


def _pages(
    spec: _Spec,
    types: _Types,
    operation: Mapping[str, Any],
    name: object,
    arguments: list[dict[str, Any]],
    where: str,
) -> dict[str, str]:
    """The iterator of a paged read (``x-python: {pages: <name>}``): its name and the type
    of its items."""
    wires = {a["wire"] for a in arguments}
    if not {"page", "size"} <= wires:
        raise ClientMethodsError(f"{where}: x-python pages needs the page and size arguments")
    envelope = spec.deref(
        {"$ref": f"#/components/schemas/{_response_model(spec, operation, None, where)}"}, where
    )
    data = _properties(spec, envelope, where)[0].get("data", {})
    properties = _properties(spec, data, where)[0] if data else {}
    items = spec.deref(properties.get("list", {}), where)
    if items.get("type") != "array" or "pages" not in properties:
        raise ClientMethodsError(
            f"{where}: x-python pages needs an answer whose data has a list and pages"
        )
    return {
        "name": _identifier(name, f"{where} x-python pages"),
        "item": types.result(items.get("items", {}), f"{where} data list"),
    }


def _method(
    spec: _Spec, types: _Types, path: str, item: Mapping[str, Any], method: str
) -> dict[str, Any]:
    operation = item[method]
    op_id = operation["operationId"]
    where = f"{method.upper()} {path} ({op_id})"
    x_python = _x_python(operation, _X_PYTHON_KEYS, where)
    positional: list[dict[str, Any]] = []
    optional: list[dict[str, Any]] = []
    keyword_only: list[dict[str, Any]] = []
    for param in _parameters(spec, path, item, operation, where):
        at = f"{where} parameter {param['name']}"
        if _x_python(param, {"signer"}, at).get("signer"):
            continue
        schema = param.get("schema", {})
        default = spec.deref(schema, at).get("default")
        required = param["in"] == "path" or bool(param.get("required", False))
        argument = _argument(
            snake_case(param["name"]),
            param["name"],
            types.argument(schema, at),
            required=required,
            default=default,
            kw_only=False,
        )
        (positional if required else optional).append(argument)
    body_model = body_arg = None
    if "requestBody" in operation:
        body = spec.deref(operation["requestBody"], f"{where} requestBody")
        schema = _json_schema(spec, body, f"{where} requestBody")
        body_model = _schema_name(schema)
        if schema is None or body_model is None:
            raise ClientMethodsError(f"{where}: the JSON request body must be a $ref to a model")
        properties, required_fields = _properties(spec, schema, f"{where} requestBody")
        types.models.add(body_model)  # exported with the others, taken whole or not
        if "body_model" in x_python:
            body_arg = _identifier(x_python["body_model"], f"{where} x-python body_model")
            positional, optional, keyword_only = (
                [],
                [],
                [{**a, "keyword": True} for a in positional + optional],
            )
        for wire, field in properties.items():
            at = f"{where} body {wire}"
            needed = body_arg is None and wire in required_fields and bool(body.get("required"))
            argument = _argument(
                snake_case(wire),
                wire,
                types.argument(field, at),
                required=needed,
                default=None,
                kw_only=not needed,
            )
            (positional if needed else keyword_only).append(argument)
    arguments = positional + optional + keyword_only
    pages = None
    if "pages" in x_python:
        pages = _pages(spec, types, operation, x_python["pages"], arguments, where)
    names = [a["name"] for a in arguments] + ([body_arg] if body_arg else [])
    for name in names:
        _identifier(name, where)
    if len(set(names)) != len(names) or "self" in names:
        raise ClientMethodsError(f"{where}: two arguments share a Python name: {names}")
    return {
        "operation_id": op_id,
        "method_name": _identifier(x_python.get("name", snake_case(op_id)), where),
        "constant": "_" + snake_case(op_id).upper(),
        "http_method": method.upper(),
        "path": path,
        "arguments": arguments,
        "body_model": body_model,
        "body_arg": body_arg,
        "returns": _result(spec, types, operation, x_python, where),
        "pages": pages,
    }


def _annotations(entry: Mapping[str, Any]) -> list[str]:
    body = [f"{entry['body_model']} | None"] if entry["body_arg"] else []
    pages = [entry["pages"]["item"]] if entry["pages"] else []
    return [a["annotation"] for a in entry["arguments"]] + body + [entry["returns"], *pages]


def client_methods(document: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """Every operation's method, keyed by openapi-python-client's name of its endpoint,
    and the model classes the methods name (sorted)."""
    spec = _Spec(document)
    types = _Types(spec)
    methods: dict[str, Any] = {}
    for path, item in document.get("paths", {}).items():
        for method in _HTTP_METHODS:
            if isinstance(item, dict) and isinstance(item.get(method), dict):
                entry = _method(spec, types, path, item, method)
                methods[PythonIdentifier(entry["operation_id"], _FIELD_PREFIX)] = entry
    for entry in methods.values():  # the model classes each method's annotations name
        words = set(re.findall(r"\w+", " ".join(_annotations(entry))))
        entry["models"] = sorted(words & types.models)
        entry["decimal"] = "Decimal" in words
    taken = [m["method_name"] for m in methods.values()]
    taken += [m["pages"]["name"] for m in methods.values() if m["pages"]]
    if len(set(taken)) != len(taken):
        raise ClientMethodsError(f"two operations have the same method name: {sorted(taken)}")
    return methods, sorted(types.models)


def _literal(value: Any) -> str:
    """``value`` as a Jinja literal (JSON, with Jinja's true/false/none)."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_literal(k)}: {_literal(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_literal(v) for v in value) + "]"
    if value is None or isinstance(value, bool):
        return {None: "none", True: "true", False: "false"}[value]
    if isinstance(value, int | str):
        return json.dumps(value)
    raise ClientMethodsError(f"no Jinja literal for {value!r}")


def client_roles(document: Mapping[str, Any]) -> dict[str, str]:
    """Tag (as openapi-python-client names its module) -> the client class whose methods
    it gives (``x-python: {client: FollowerClient}`` on the tag: a role; one key is one
    account). A tag without one is common to every client."""
    roles: dict[str, str] = {}
    for tag in document.get("tags", []):
        where = f"tag {tag.get('name')!r}"
        client = _x_python(tag, {"client"}, where).get("client")
        if client is not None:
            roles[PythonIdentifier(str(tag["name"]), _FIELD_PREFIX)] = _identifier(client, where)
    return roles


def render_methods_template(document: Mapping[str, Any], *, legacy: bool) -> str:
    """``_methods.jinja``: ``METHODS`` (by endpoint name), ``MODELS`` (every model a method
    takes or returns, request bodies included: what ``types.py`` exports), ``LEGACY``
    (whether openapi-python-client's own modules are shipped too) and ``ROLES`` (tag ->
    client class, :func:`client_roles`), for the templates to import."""
    methods, models = client_methods(document)
    return (
        "{# Generated by generator/client_methods.py for the templates; never committed. #}\n"
        f"{{% set METHODS = {_literal(methods)} %}}\n"
        f"{{% set MODELS = {_literal(models)} %}}\n"
        f"{{% set LEGACY = {_literal(legacy)} %}}\n"
        f"{{% set ROLES = {_literal(client_roles(document))} %}}\n"
    )
