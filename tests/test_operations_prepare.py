"""``_operations.prepare``: one function builds every operation's request from the table.

For every operation of ``toobit_follower_models.operations`` (iterated, never listed), the
spec's own examples (parameter ``example``, request and 200 examples) are passed by wire
name, and the request must be what the operation defines: method, path with its parameters
substituted and percent-encoded, the query in the spec's order (defaults applied, the
signer's ``recvWindow`` never taken from the caller), the body as :func:`request_body` of
the validated model, and the 200 example parsed with the operation's model. The generic
refusals (unknown name, float, bool or odd digits for an integer, invalid values) are
checked on every operation that has an argument of the kind, and on synthetic rows.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from types import MappingProxyType
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from toobit_follower._operations import Prepared, prepare, request_body
from toobit_follower.constants import SUCCESS_CODE
from toobit_follower.signing import SIGNING_PARAMS
from toobit_follower.spec import spec_dict
from toobit_follower_models import EmptyResponse
from toobit_follower_models.operations import OPERATIONS, Operation, Param

SPEC = spec_dict()
SIGNER = {name.decode() for name in SIGNING_PARAMS}


def _deref(node: Any) -> Any:
    while isinstance(node, dict) and "$ref" in node:
        target: Any = SPEC
        for part in node["$ref"][2:].split("/"):
            target = target[part]
        node = target
    return node


def _raw(op: Operation) -> dict[str, Any]:
    for item in SPEC["paths"].values():
        for raw in item.values():
            if isinstance(raw, dict) and raw.get("operationId") == op.operation_id:
                return raw
    raise AssertionError(f"{op.operation_id} is not in the spec")


def _first_example(media: dict[str, Any]) -> Any:
    return next(iter(media["examples"].values()))["value"]


def _param_examples(op: Operation) -> dict[str, Any]:
    """Every path and query parameter's ``example`` (the signer's left out)."""
    params = (_deref(p) for p in _raw(op).get("parameters", []))
    return {p["name"]: p["example"] for p in params if "example" in p and p["name"] not in SIGNER}


def _body_example(op: Operation) -> dict[str, Any] | None:
    body = _raw(op).get("requestBody")
    return None if body is None else _first_example(_deref(body)["content"]["application/json"])


def _answer_example(op: Operation) -> bytes:
    media = _raw(op)["responses"]["200"]["content"]["application/json"]
    return json.dumps(_first_example(media)).encode()


def _expected_target(op: Operation, given: dict[str, Any]) -> tuple[str, str]:
    path = op.path
    for param in op.params:
        if param.location == "path":
            path = path.replace("{" + param.name + "}", quote(str(given[param.name]), safe=""))
    pairs = []
    for param in op.params:
        if param.location != "query" or param.name in SIGNER:
            continue
        value = given.get(param.name, param.default)
        if value is not None:
            pairs.append((param.name, str(value)))
    return path, f"{path}?{urlencode(pairs, quote_via=quote)}" if pairs else path


def _arguments(op: Operation) -> dict[str, Any]:
    return {**_param_examples(op), **(_body_example(op) or {})}


IDS = [op.operation_id for op in OPERATIONS]


def _integer_arguments() -> Iterator[tuple[Operation, str]]:
    """(operation, wire name) of every integer argument, typed by a model of the table."""
    for op in OPERATIONS:
        for model in (op.query_model, op.body_model):
            for name, field in (model.model_fields if model else {}).items():
                wire = field.alias or name
                if field.annotation in (int, int | None) and wire not in SIGNER:
                    yield op, wire


def _decimal_fields() -> Iterator[tuple[Operation, str]]:
    for op in OPERATIONS:
        for name, field in (op.body_model.model_fields if op.body_model else {}).items():
            if field.annotation in (Decimal, Decimal | None):
                yield op, field.alias or name


INTEGERS = list(_integer_arguments())
DECIMALS = list(_decimal_fields())
INTEGER_IDS = [f"{op.operation_id}.{wire}" for op, wire in INTEGERS]
DECIMAL_IDS = [f"{op.operation_id}.{wire}" for op, wire in DECIMALS]
WITH_BODY = [op for op in OPERATIONS if op.body_model]
BODY_REQUIRED = [op for op in OPERATIONS if op.body_required]
WITHOUT_BODY = [op for op in OPERATIONS if not op.body_model]


def test_the_table_has_what_these_tests_exercise() -> None:
    assert OPERATIONS
    assert WITH_BODY and BODY_REQUIRED and WITHOUT_BODY
    assert any(p.location == "path" for op in OPERATIONS for p in op.params)
    assert INTEGERS and DECIMALS


@pytest.mark.parametrize("op", OPERATIONS, ids=IDS)
def test_every_operation_is_prepared_from_its_examples(op: Operation) -> None:
    arguments = _arguments(op)
    prepared = prepare(op, arguments)
    path, target = _expected_target(op, arguments)
    assert isinstance(prepared, Prepared)
    assert (prepared.method, prepared.path, prepared.target) == (op.method, path, target)
    assert prepared.signed is op.signed
    body = _body_example(op)
    if body is None:
        assert prepared.json is None and prepared.headers is None
    else:
        assert op.body_model is not None
        assert prepared.json == request_body(op.body_model.model_validate(body))
        assert json.loads(prepared.json) == body  # compact, the wire names, nothing added
        assert dict(prepared.headers or {}) == {"Content-Type": "application/json"}
    answer = _answer_example(op)
    parsed = prepared.parse(answer)
    assert parsed.code == SUCCESS_CODE
    whole = op.response_model.model_validate_json(answer)
    if "data" in op.response_model.model_fields:
        assert parsed.data == whole.data  # type: ignore[attr-defined]
    else:  # no envelope: x-python names the property returned
        result = op.extensions["x-python"]["result"]  # type: ignore[index]
        assert parsed.data == json.loads(answer)[result]


@pytest.mark.parametrize("op", OPERATIONS, ids=IDS)
def test_spec_defaults_fill_the_query_and_none_is_not_given(op: Operation) -> None:
    required = {p.name for p in op.params if p.required}
    given = {k: v for k, v in _param_examples(op).items() if k in required}
    nones = {p.name: None for p in op.params if not p.required and p.name not in SIGNER}
    prepared = prepare(op, {**given, **nones, **(_body_example(op) or {})})
    assert prepared.target == _expected_target(op, given)[1]


@pytest.mark.parametrize("op", OPERATIONS, ids=IDS)
def test_the_signer_parameters_are_never_the_callers(op: Operation) -> None:
    prepared = prepare(op, _arguments(op))
    assert not SIGNER & {
        pair.split("=")[0] for pair in prepared.target.partition("?")[2].split("&")
    }
    for name in SIGNER:
        with pytest.raises(TypeError, match=repr(name)):
            prepare(op, {**_arguments(op), name: 5000})


@pytest.mark.parametrize("op", OPERATIONS, ids=IDS)
def test_an_unknown_argument_is_a_type_error(op: Operation) -> None:
    with pytest.raises(TypeError, match="'noSuchArgument'"):
        prepare(op, {**_arguments(op), "noSuchArgument": 1})


@pytest.mark.parametrize(
    ("op", "wire"), INTEGERS, ids=[f"{o.operation_id}.{w}" for o, w in INTEGERS]
)
@pytest.mark.parametrize("bad", [True, 1.0, " 12", "+12", "9_8_7", "١٢٣", "12a", "-5", ""])
def test_integers_refuse_what_pydantic_would_read_laxly(op: Operation, wire: str, bad: Any) -> None:
    with pytest.raises((TypeError, ValueError)):
        prepare(op, {**_arguments(op), wire: bad})


@pytest.mark.parametrize(
    ("op", "wire"), INTEGERS, ids=[f"{o.operation_id}.{w}" for o, w in INTEGERS]
)
def test_integers_take_a_string_of_digits(op: Operation, wire: str) -> None:
    arguments = _arguments(op)
    as_text = prepare(op, {**arguments, wire: str(arguments.get(wire, 7))})
    as_int = prepare(op, {**arguments, wire: int(arguments.get(wire, 7))})
    assert (as_text.target, as_text.json) == (as_int.target, as_int.json)


@pytest.mark.parametrize(
    ("op", "wire"), DECIMALS, ids=[f"{o.operation_id}.{w}" for o, w in DECIMALS]
)
def test_money_is_exact(op: Operation, wire: str) -> None:
    arguments = _arguments(op)
    with pytest.raises(TypeError, match="float"):
        prepare(op, {**arguments, wire: 0.1})
    with pytest.raises(ValidationError):  # nine decimal places
        prepare(op, {**arguments, wire: "0.000000001"})
    sent = prepare(op, {**arguments, wire: Decimal("1E-8")})
    assert f'"{wire}":"0.00000001"'.encode() in (sent.json or b"")


@pytest.mark.parametrize(
    ("op", "wire"), DECIMALS, ids=[f"{o.operation_id}.{w}" for o, w in DECIMALS]
)
def test_a_body_model_with_fields_over_it(op: Operation, wire: str) -> None:
    assert op.body_model is not None
    model = op.body_model.model_validate(_body_example(op))
    alone = prepare(op, _param_examples(op), model)
    assert alone.json == request_body(model)
    over = prepare(op, {**_param_examples(op), wire: "0.00000002"}, model)
    assert json.loads(over.json or b"") == {**json.loads(alone.json or b""), wire: "0.00000002"}
    with pytest.raises(TypeError, match="takes a"):
        prepare(op, _param_examples(op), EmptyResponse(code=200, msg="success"))


@pytest.mark.parametrize(
    "op", [op for op in OPERATIONS if op.body_required], ids=lambda o: o.operation_id
)
def test_a_missing_body_field_is_refused_by_the_model(op: Operation) -> None:
    assert op.body_model is not None
    required = {
        field.alias or name
        for name, field in op.body_model.model_fields.items()
        if field.is_required()
    }
    with pytest.raises(ValidationError) as caught:
        prepare(op, _param_examples(op))
    assert {str(e["loc"][0]) for e in caught.value.errors()} == required


@pytest.mark.parametrize(
    "op", [op for op in OPERATIONS if not op.body_model], ids=lambda o: o.operation_id
)
def test_no_body_where_the_operation_has_none(op: Operation) -> None:
    with pytest.raises(TypeError, match="takes no body"):
        prepare(op, _param_examples(op), EmptyResponse(code=200, msg="success"))


# ---- synthetic rows: what no operation of today's spec has ---------------------------
class _Query(BaseModel):
    size: int | None = 10


def _row(**changes: Any) -> Operation:
    base = Operation(
        operation_id="syntheticRow",
        python_name="synthetic_row",
        method="GET",
        path="/x/{symbolId}/y",
        tag="t",
        summary="",
        description="",
        signed=True,
        write=False,
        weight=1,
        params=(
            Param("symbolId", "symbol_id", "path", True, None, "", modelled=False),
            Param("size", "size", "query", False, 10, ""),
            Param("recvWindow", "recv_window", "query", False, 5000, "", signer=True),
        ),
        query_model=_Query,
        body_model=None,
        body_required=False,
        response_model=EmptyResponse,
        error_codes=frozenset(),
        extensions=MappingProxyType({}),
    )
    return base._replace(**changes)


def test_a_path_parameter_is_one_percent_encoded_segment() -> None:
    prepared = prepare(_row(), {"symbolId": "a/b c?d", "size": 3})
    assert prepared.path == "/x/a%2Fb%20c%3Fd/y"
    assert prepared.target == "/x/a%2Fb%20c%3Fd/y?size=3"


@pytest.mark.parametrize("bad", [True, 1.5, b"x", ""])
def test_an_untyped_path_parameter_is_an_int_or_a_string(bad: Any) -> None:
    with pytest.raises((TypeError, ValueError)):
        prepare(_row(), {"symbolId": bad})
    with pytest.raises(TypeError, match="'symbolId'"):
        prepare(_row(), {})


def test_the_query_writes_the_name_the_table_encoded() -> None:
    """A row's ``encoded`` is what goes on the wire; a row built by hand without it has
    its name encoded as urlencode would."""

    class Odd(BaseModel):
        model_config = ConfigDict(populate_by_name=True)
        size: int | None = None
        odd: str | None = Field(None, alias="odd[ä]")

    size = Param("size", "size", "query", False, None, "", encoded="SIZE")
    odd = Param("odd[ä]", "odd", "query", False, None, "")  # encoded left empty
    row = _row(params=(_row().params[0], size, odd), query_model=Odd)
    prepared = prepare(row, {"symbolId": "s", "size": 3, "odd[ä]": "a b"})
    assert prepared.target == "/x/s/y?SIZE=3&" + urlencode({"odd[ä]": "a b"}, quote_via=quote)


def test_check_false_sends_what_the_spec_forbids() -> None:
    class Strict(BaseModel):
        size: int | None = None

        @classmethod
        def model_validate(cls, *args: Any, **kwargs: Any) -> Any:
            raise AssertionError("validated with check=False")

    assert prepare(_row(query_model=Strict), {"symbolId": "0", "size": 0}, check=False).target == (
        "/x/0/y?size=0"
    )
    with pytest.raises(ValueError, match="size"):
        prepare(_row(query_model=_Query), {"symbolId": "0", "size": "x"})


def test_a_row_is_prepared_from_its_own_table() -> None:
    """Nothing is cached by operationId: another row with the same id (a drill's table in
    the same process) is prepared from its own fields."""
    first = prepare(_row(), {"symbolId": "s"})
    second = prepare(_row(path="/other/{symbolId}"), {"symbolId": "s"})
    assert (first.path, second.path) == ("/x/s/y", "/other/s")
