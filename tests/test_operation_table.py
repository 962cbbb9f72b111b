"""generator/operation_table.py: every operation of the spec becomes a row of
toobit_follower_models.operations, and an operation the table cannot describe stops
generation with a message that says which and why.

Nothing here names an operation of today's spec: every check iterates the spec."""

from __future__ import annotations

import copy
import re
import subprocess
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from types import UnionType
from typing import Annotated, Any, Union, get_args, get_origin
from urllib.parse import quote, urlencode

import pytest
import toobit_follower_models as models
import yaml
from pydantic import BaseModel

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "generator"))

import operation_table  # noqa: E402
from operation_table import (  # noqa: E402
    OperationTableError,
    render_operations_module,
    snake_case,
)
from toobit_follower.signing import SIGNING_PARAMS  # noqa: E402
from toobit_follower_models.errors import ErrorCode  # noqa: E402
from toobit_follower_models.operations import BY_ID, OPERATIONS, Operation  # noqa: E402

SPEC: dict[str, Any] = yaml.safe_load((ROOT / "openapi.yaml").read_text(encoding="utf-8"))
METHODS = ("get", "put", "post", "delete", "patch")


def _spec_operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, item[method])
        for path, item in spec["paths"].items()
        for method in METHODS
        if isinstance(item.get(method), dict)
    ]


def _deref(node: Any) -> Any:
    while isinstance(node, dict) and "$ref" in node:
        target: Any = SPEC
        for part in node["$ref"][2:].split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        node = target
    return node


def _module(spec: dict[str, Any]) -> dict[str, Any]:
    """The table rendered from `spec`, executed (its models are the repo's generated ones)."""
    namespace: dict[str, Any] = {"__name__": "drill_operations"}
    source = render_operations_module(spec, {n for n in dir(models) if n[:1].isupper()})
    exec(compile(source, "operations.py", "exec"), namespace)
    return namespace


def _operation(spec: dict[str, Any], index: int) -> dict[str, Any]:
    return _spec_operations(spec)[index][2]


# ---- the table is the spec ---------------------------------------------------------------
def test_one_row_per_operation_in_spec_order() -> None:
    assert [(op.method, op.path) for op in OPERATIONS] == [
        (method.upper(), path) for path, method, _ in _spec_operations(SPEC)
    ]
    assert list(BY_ID) == [op["operationId"] for _, _, op in _spec_operations(SPEC)]
    assert all(BY_ID[op.operation_id] is op for op in OPERATIONS)


@pytest.mark.parametrize("index", range(len(_spec_operations(SPEC))))
def test_each_row_says_what_the_spec_says(index: int) -> None:
    path, method, spec_op = _spec_operations(SPEC)[index]
    op = OPERATIONS[index]
    security = spec_op.get("security", SPEC.get("security", []))
    assert op.operation_id == spec_op["operationId"]
    assert op.python_name == snake_case(spec_op["operationId"])
    assert op.python_name.isidentifier() and op.python_name == op.python_name.lower()
    assert (op.method, op.path) == (method.upper(), path)
    assert op.tag == spec_op.get("tags", [""])[0]
    assert op.summary == spec_op.get("summary", "").strip()
    assert op.description == spec_op.get("description", "").strip()
    assert op.signed == any(bool(requirement) for requirement in security)
    assert op.write == (method != "get")
    assert op.weight == spec_op["x-request-weight"]
    assert op.error_codes == frozenset(spec_op.get("x-error-codes", []))
    assert all(isinstance(code, ErrorCode) for code in op.error_codes)
    assert dict(op.extensions) == {
        k: v
        for k, v in spec_op.items()
        if k.startswith("x-") and k not in ("x-request-weight", "x-error-codes")
    }
    params = [_deref(p) for p in spec_op.get("parameters", [])]
    template = re.findall(r"\{([^{}/]+)\}", path)  # path parameters in the template's order
    expected = [p for name in template for p in params if (p["in"], p["name"]) == ("path", name)]
    expected += [p for p in params if p["in"] == "query"]
    assert [(p.name, p.location) for p in op.params] == [(p["name"], p["in"]) for p in expected]
    for row, param in zip(op.params, expected, strict=True):
        assert row.required == (param["in"] == "path" or bool(param.get("required", False)))
        assert row.default == _deref(param.get("schema", {})).get("default")
        assert row.description == param.get("description", "").strip()
        assert row.python_name == snake_case(param["name"])
    body = spec_op.get("requestBody")
    assert (op.body_model is None) == (body is None)
    assert op.body_required == bool(body and _deref(body).get("required", False))


def test_every_model_reference_resolves_to_the_generated_models() -> None:
    for op in OPERATIONS:
        for model in (op.query_model, op.body_model, op.response_model):
            if model is not None:
                assert issubclass(model, BaseModel), (op.operation_id, model)
                assert getattr(models, model.__name__) is model, (op.operation_id, model)
        query = [p for p in op.params if p.location == "query"]
        assert (op.query_model is None) == (not query), op.operation_id
        if op.query_model is not None:
            fields = op.query_model.model_fields
            for param in query:  # the model's attribute for the wire name is the python_name
                assert param.python_name in fields, (op.operation_id, param.name)
                info = fields[param.python_name]
                assert (info.alias or param.python_name) == param.name
                assert info.is_required() == param.required, (op.operation_id, param.name)


def test_the_response_model_is_the_success_answer_of_the_200() -> None:
    for (_, _, spec_op), op in zip(_spec_operations(SPEC), OPERATIONS, strict=True):
        schema = spec_op["responses"]["200"]["content"]["application/json"]["schema"]
        refs = [schema.get("$ref")] + [b.get("$ref") for b in schema.get("anyOf", [])]
        names = {ref.rsplit("/", 1)[1] for ref in refs if ref}
        assert op.response_model.__name__ in names, op.operation_id
        assert op.response_model is not models.ErrorResponse
        if "data" in op.response_model.model_fields:  # an envelope: its data is typed
            assert op.response_model.model_fields["data"].annotation is not None


# ---- what a client reads of a row instead of the models -----------------------------------
def _reads_int(annotation: Any) -> bool:
    """``int`` or ``int | None``: where a model reads an integer (``Int64``, an
    ``Annotated[int, ...]``, too; pydantic unwraps it only outside a union)."""
    if annotation is int:
        return True
    members = [
        get_args(a)[0] if get_origin(a) is Annotated else a
        for a in get_args(annotation)
        if a is not type(None)
    ]
    return get_origin(annotation) in (Union, UnionType) and members == [int]


def _as_models_say(model: type[BaseModel] | None) -> dict[str, tuple[str, bool]]:
    """Each field of ``model`` by wire name: its attribute, and whether it reads an int."""
    fields = model.model_fields if model is not None else {}
    return {
        info.alias or name: (name, _reads_int(info.annotation)) for name, info in fields.items()
    }


def _disagreements(table: Iterable[Operation]) -> list[str]:
    """Where the rows say of a field other than the generated models: the parameters the
    query model reads (``modelled``), their and the body's Python names and integer flags,
    the attribute an ``x-python`` result reads."""
    wrong = []
    for op in table:
        params = {p.name: (p.python_name, p.integer) for p in op.params if p.modelled}
        if params != _as_models_say(op.query_model):
            wrong.append(f"{op.operation_id} params {params} != {_as_models_say(op.query_model)}")
        body = {wire: (f.python_name, f.integer) for wire, f in op.body_fields.items()}
        if body != _as_models_say(op.body_model) or any(
            wire != f.name for wire, f in op.body_fields.items()
        ):
            wrong.append(f"{op.operation_id} body {body} != {_as_models_say(op.body_model)}")
        x_python: Any = op.extensions.get("x-python", {})
        result = {wire: name for wire, (name, _) in _as_models_say(op.response_model).items()}
        expected = result.get(x_python["result"]) if "result" in x_python else None
        if op.result_attribute != expected:
            wrong.append(f"{op.operation_id} result {op.result_attribute!r} != {expected!r}")
    return wrong


def test_what_a_row_says_of_its_fields_is_what_the_models_say() -> None:
    assert _disagreements(OPERATIONS) == []
    assert _disagreements(_module(SPEC)["OPERATIONS"]) == []
    flags = [p.integer for op in OPERATIONS for p in op.params]
    flags += [f.integer for op in OPERATIONS for f in op.body_fields.values()]
    assert True in flags and False in flags  # both kinds are checked
    assert any(op.result_attribute for op in OPERATIONS)
    assert any(p.modelled and p.location == "path" for op in OPERATIONS for p in op.params)


def test_a_wrong_modelled_flag_is_a_disagreement(monkeypatch: pytest.MonkeyPatch) -> None:
    right = operation_table._param_row

    def wrong(spec: Any, param: Any, modelled: bool, where: str) -> str:
        return right(spec, param, modelled and param["in"] != "path", where)

    monkeypatch.setattr(operation_table, "_param_row", wrong)
    paths = {p.name for op in OPERATIONS for p in op.params if p.location == "path"}
    wrong_lines = _disagreements(_module(SPEC)["OPERATIONS"])
    assert wrong_lines and all(any(name in line for name in paths) for line in wrong_lines)


# ---- how the query writes a parameter's name ------------------------------------------------
ODD_NAME = "drill filter[ä]/~x"  # what urlencode must percent-encode


def _with_odd_name() -> tuple[dict[str, Any], int]:
    spec = copy.deepcopy(SPEC)
    index = next(i for i, (_, _, op) in enumerate(_spec_operations(spec)) if "parameters" in op)
    _operation(spec, index)["parameters"].append(
        {"name": ODD_NAME, "in": "query", "schema": {"type": "string"}}
    )
    return spec, index


def _misencoded(table: Iterable[Operation]) -> list[str]:
    """Parameters whose ``encoded`` is not what ``urlencode(..., quote_via=quote)`` writes."""
    return [
        f"{op.operation_id} {p.name!r}: {p.encoded!r}"
        for op in table
        for p in op.params
        if f"{p.encoded}=" != urlencode({p.name: ""}, quote_via=quote)
    ]


def test_each_parameter_carries_its_wire_name_encoded() -> None:
    spec, index = _with_odd_name()
    drill = _module(spec)["OPERATIONS"]
    assert _misencoded(OPERATIONS) == [] and _misencoded(drill) == []
    (odd,) = [p for p in drill[index].params if p.name == ODD_NAME]
    assert odd.encoded == "drill%20filter%5B%C3%A4%5D%2F~x"


def test_a_wrong_encoding_is_found(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(operation_table, "quote", lambda name, safe="": name)
    spec, _ = _with_odd_name()
    assert [line for line in _misencoded(_module(spec)["OPERATIONS"]) if ODD_NAME in line]


def test_the_integer_rule_agrees_with_every_generated_model() -> None:
    """The rule the rows' flags come from, on every schema with a model of its own (the
    answers' too: ``Int64``, ``Int64 | None``, integer enums, decimals, booleans)."""
    spec = operation_table._Spec(SPEC)
    checked = set()
    for name, schema in SPEC["components"]["schemas"].items():
        model = getattr(models, name, None)
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            continue
        if "root" in model.model_fields:  # a scalar's RootModel
            continue
        properties = operation_table._properties(spec, schema, name)
        said = {wire: operation_table._integer(spec, s, name) for wire, s in properties.items()}
        models_say = {wire: flag for wire, (_, flag) in _as_models_say(model).items()}
        assert said == models_say, name
        checked |= {(name, wire, flag) for wire, flag in said.items()}
    assert {flag for _, _, flag in checked} == {True, False}


def test_the_signer_owns_what_the_spec_marks() -> None:
    for (_, _, spec_op), op in zip(_spec_operations(SPEC), OPERATIONS, strict=True):
        for param in op.params:
            raw = next(
                _deref(p) for p in spec_op.get("parameters", []) if _deref(p)["name"] == param.name
            )
            assert param.signer == (raw.get("x-python", {}).get("signer") is True)
            assert not param.signer or param.name.encode() in SIGNING_PARAMS
    assert any(p.signer for op in OPERATIONS for p in op.params)


def _flip_one(wires: set[str]) -> Callable[..., bool]:
    """``operation_table._integer``, wrong for the fields and parameters named ``wires``."""
    right = operation_table._integer

    def wrong(spec: Any, schema: Any, where: str) -> bool:
        return right(spec, schema, where) != (where.rsplit(" ", 1)[-1] in wires)

    return wrong


def _one_of_each_kind() -> list[tuple[str, set[str]]]:
    """One integer parameter, one integer body field, one body field that is no integer."""
    params = [p.name for op in OPERATIONS for p in op.params if p.integer and not p.signer]
    fields = [f for op in OPERATIONS for f in op.body_fields.values()]
    whole = next(f.name for f in fields if f.integer and f.name not in params)
    other = next(f.name for f in fields if not f.integer and f.name not in params)
    return [("parameter", {params[0]}), ("integer field", {whole}), ("other field", {other})]


@pytest.mark.parametrize(("kind", "wires"), _one_of_each_kind(), ids=lambda v: str(v))
def test_a_wrong_integer_flag_is_a_disagreement(
    kind: str, wires: set[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(operation_table, "_integer", _flip_one(wires))
    wrong = _disagreements(_module(SPEC)["OPERATIONS"])
    assert wrong and all(any(w in line for w in wires) for line in wrong), kind


def test_a_wrong_result_attribute_is_a_disagreement(monkeypatch: pytest.MonkeyPatch) -> None:
    right = operation_table._result_attribute

    def wrong(*args: Any) -> str | None:
        attribute = right(*args)
        return None if attribute is None else attribute + "_"

    monkeypatch.setattr(operation_table, "_result_attribute", wrong)
    assert _disagreements(_module(SPEC)["OPERATIONS"])


# ---- what the drills add -----------------------------------------------------------------
def test_an_optional_query_parameter_without_default_is_not_required() -> None:
    spec = copy.deepcopy(SPEC)
    index = next(
        i
        for i, (_, _, op) in enumerate(_spec_operations(spec))
        if any(_deref(p)["in"] == "query" for p in op.get("parameters", []))
    )
    operation = _operation(spec, index)
    operation["parameters"].insert(
        0,
        {
            "name": "drillFilter",
            "in": "query",
            "required": False,
            "description": "A filter the drill adds.",
            "schema": {"type": "string", "maxLength": 20},
        },
    )
    table = _module(spec)["OPERATIONS"]
    (param,) = [p for p in table[index].params if p.name == "drillFilter"]
    assert (param.required, param.default, param.python_name) == (False, None, "drill_filter")
    assert next(p.name for p in table[index].params if p.location == "query") == "drillFilter"


def test_several_path_parameters_and_a_post_with_inline_models() -> None:
    spec = copy.deepcopy(SPEC)
    spec["paths"]["/api/v2/drill/{groupId}/items/{itemId}"] = {  # declared out of order
        "parameters": [{"name": "itemId", "in": "path", "required": True, "schema": {}}],
        "post": {
            "operationId": "createDrillItem",
            "x-request-weight": 3,
            "security": [{"ApiKey": []}],
            "parameters": [
                {"name": "groupId", "in": "path", "required": True, "schema": {"type": "string"}}
            ],
            "requestBody": {"$ref": "#/components/requestBodies/DrillBody"},
            "responses": {"200": {"$ref": "#/components/responses/DrillAnswer"}},
        },
    }
    components = spec["components"]
    components["requestBodies"] = {
        "DrillBody": {
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Leader"}}}
        }
    }
    components.setdefault("responses", {})["DrillAnswer"] = {
        "description": "ok",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ServerTime"}}},
    }
    # datamodel-code-generator would write CreateDrillItemParameters (the path parameters'
    # model); the repo's generated models stand in for it here with another parameters model
    namespace: dict[str, Any] = {"__name__": "drill_operations"}
    names = {n for n in dir(models) if n[:1].isupper()} | {"CreateDrillItemParameters"}
    source = render_operations_module(spec, names).replace(
        "CreateDrillItemParameters", "ListLeadersParameters"
    )
    exec(compile(source, "operations.py", "exec"), namespace)
    row = namespace["BY_ID"]["createDrillItem"]
    assert (row.method, row.python_name, row.weight, row.signed, row.write) == (
        "POST",
        "create_drill_item",
        3,
        True,
        True,
    )
    assert [(p.name, p.location, p.required, p.modelled) for p in row.params] == [
        ("groupId", "path", True, True),  # the template's order
        ("itemId", "path", True, True),
    ]
    assert (row.query_model, row.body_model, row.response_model) == (
        models.ListLeadersParameters,
        models.Leader,
        models.ServerTime,
    )
    assert row.body_required is False and row.error_codes == frozenset()


# ---- what the generator refuses ----------------------------------------------------------
def _broken(change: str) -> dict[str, Any]:
    spec = copy.deepcopy(SPEC)
    op = _operation(spec, len(_spec_operations(spec)) - 1)
    if change == "operationId":
        del op["operationId"]
    elif change == "weight":
        del op["x-request-weight"]
    elif change == "zero-weight":
        op["x-request-weight"] = 0
    elif change == "200":
        del op["responses"]["200"]
    elif change == "200-not-json":
        op["responses"]["200"] = {"description": "text", "content": {"text/plain": {}}}
    elif change == "header-parameter":
        op.setdefault("parameters", []).append({"name": "X-Drill", "in": "header"})
    elif change == "template":
        op.setdefault("parameters", []).append(
            {"name": "nowhere", "in": "path", "required": True, "schema": {}}
        )
    elif change == "model":
        op["operationId"] = "drillWithoutModels"
    return spec


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("operationId", "no operationId"),
        ("weight", "x-request-weight must be a positive integer, got None"),
        ("zero-weight", "x-request-weight must be a positive integer, got 0"),
        ("200", "no 200 response"),
        ("200-not-json", "the 200 response has no application/json schema"),
        ("header-parameter", "parameter 'X-Drill' is in header"),
        ("template", "the path template names"),
        ("model", "is not among the generated models"),
    ],
)
def test_an_operation_the_table_cannot_describe_is_refused(change: str, message: str) -> None:
    last = _spec_operations(SPEC)[-1]
    with pytest.raises(OperationTableError, match=message) as refused:
        render_operations_module(_broken(change), {n for n in dir(models) if n[:1].isupper()})
    assert last[0] in str(refused.value)  # says where


def test_generate_stops_on_an_operation_without_a_weight(tmp_path: Path) -> None:
    spec_path = tmp_path / "openapi.yaml"
    spec_path.write_text(yaml.safe_dump(_broken("weight"), sort_keys=False), encoding="utf-8")
    result = subprocess.run(
        [sys.executable, str(ROOT / "generator" / "generate.py"), "--spec", str(spec_path),
         "--output", str(tmp_path / "generated")],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert result.returncode != 0
    assert "generator failed" in result.stderr and "x-request-weight" in result.stderr
    assert not (tmp_path / "generated" / "toobit_follower_models").exists()


def test_snake_case() -> None:
    assert snake_case("getFollowConfig") == "get_follow_config"
    assert snake_case("listHTTPOrders") == "list_http_orders"
    assert snake_case("leaderUserId") == "leader_user_id"
    assert snake_case("class") == "class_"
    assert isinstance(OPERATIONS[0], Operation)
