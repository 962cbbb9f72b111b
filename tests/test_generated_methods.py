"""The client methods openapi-python-client generates with generator/templates/.

For every operation of the table (iterated, never listed): the sync and the async mixin of
its tag, and the classes of ``toobit_follower_api.api`` that gather every tag, have its
method; the parameters are the spec's (names as the models name them, required or not,
the spec's defaults, the body model first where ``x-python`` says so); the return type is
the success data's type; the docstring starts with the method and path, then the
summary; each method hands the transport core (``_call``) the operation's row, the
arguments by wire name (``None`` left out) and the body model; the ``with_raw_response``
twin returns ``RawResponse(parsed, http_response)``.
"""

from __future__ import annotations

import importlib
import inspect
import typing
from collections.abc import Mapping
from typing import Any

import httpx
import pytest
from pydantic import BaseModel
from toobit_follower.signing import SIGNING_PARAMS
from toobit_follower.spec import spec_dict
from toobit_follower_api import api
from toobit_follower_api.types import RawResponse
from toobit_follower_api.types import keep as _keep
from toobit_follower_models.operations import OPERATIONS, Operation

SPEC = spec_dict()
SIGNER = {name.decode() for name in SIGNING_PARAMS}
IDS = [op.operation_id for op in OPERATIONS]
WITH_BODY = [op for op in OPERATIONS if op.body_model]
EMPTY = inspect.Parameter.empty
P = inspect.Parameter


def _x_python(op: Operation) -> Mapping[str, Any]:
    value = op.extensions.get("x-python", {})
    assert isinstance(value, Mapping)
    return value


def _name(op: Operation) -> str:
    return str(_x_python(op).get("name", op.python_name))


def _tag_classes(op: Operation) -> tuple[type, type, type, type]:
    module = importlib.import_module(f"toobit_follower_api.api.{op.tag}")
    tag = "".join(part.capitalize() for part in op.tag.split("_"))
    return (
        getattr(module, f"{tag}Operations"),
        getattr(module, f"Async{tag}Operations"),
        getattr(module, f"{tag}OperationsWithRawResponse"),
        getattr(module, f"Async{tag}OperationsWithRawResponse"),
    )


def _expected(op: Operation) -> list[tuple[str, Any, Any]]:
    """(name, kind, default) of every parameter after ``self``, as the spec gives them."""
    body_arg = _x_python(op).get("body_model")
    wanted: list[tuple[str, Any, Any]] = []
    if body_arg:
        wanted.append((str(body_arg), P.POSITIONAL_ONLY, None))
    params = [p for p in op.params if p.name not in SIGNER]
    fields = op.body_model.model_fields if op.body_model else {}
    first = P.KEYWORD_ONLY if body_arg else P.POSITIONAL_OR_KEYWORD
    required = [(p.python_name, first, EMPTY) for p in params if p.required]
    required += [
        (name, P.POSITIONAL_OR_KEYWORD, EMPTY)
        for name, field in fields.items()
        if field.is_required() and op.body_required and not body_arg
    ]
    optional = [(p.python_name, first, p.default) for p in params if not p.required]
    keyword = [
        (name, P.KEYWORD_ONLY, None)
        for name, field in fields.items()
        if not (field.is_required() and op.body_required and not body_arg)
    ]
    return wanted + required + optional + keyword


def _data_type(op: Operation) -> Any:
    result = _x_python(op).get("result")
    fields = op.response_model.model_fields
    if result is not None:
        return next(f.annotation for n, f in fields.items() if (f.alias or n) == result)
    return fields["data"].annotation


def _raw_operation(op: Operation) -> dict[str, Any]:
    return next(
        raw
        for item in SPEC["paths"].values()
        for raw in item.values()
        if isinstance(raw, dict) and raw.get("operationId") == op.operation_id
    )


def _examples(op: Operation) -> dict[str, Any]:
    """Every parameter's example and the body example, by wire name."""
    found: dict[str, Any] = {}
    raw = _raw_operation(op)
    for param in raw.get("parameters", []):
        if "$ref" not in param and "example" in param:
            found[param["name"]] = param["example"]
    body = raw.get("requestBody", {}).get("content", {}).get("application/json", {})
    if body:
        found.update(next(iter(body["examples"].values()))["value"])
    return found


@pytest.mark.parametrize("op", OPERATIONS, ids=IDS)
def test_every_mixin_has_the_method_with_the_specs_parameters(op: Operation) -> None:
    sync, asynchronous, _, _ = _tag_classes(op)
    for cls, gathered in ((sync, api.Operations), (asynchronous, api.AsyncOperations)):
        method = getattr(cls, _name(op))
        assert getattr(gathered, _name(op)) is method
        assert inspect.iscoroutinefunction(method) is (cls is asynchronous)
        parameters = list(inspect.signature(method).parameters.values())
        assert parameters[0].name == "self"
        got = [(p.name, p.kind, p.default) for p in parameters[1:]]
        assert got == _expected(op)


@pytest.mark.parametrize("op", OPERATIONS, ids=IDS)
def test_the_return_type_is_the_success_data(op: Operation) -> None:
    sync, asynchronous, _, _ = _tag_classes(op)
    expected = _data_type(op)
    for cls in (sync, asynchronous):
        hint = typing.get_type_hints(getattr(cls, _name(op)))["return"]
        assert hint == (type(None) if expected is None else expected)


@pytest.mark.parametrize("op", OPERATIONS, ids=IDS)
def test_the_docstring_is_method_path_then_summary(op: Operation) -> None:
    sync, asynchronous, _, _ = _tag_classes(op)
    for cls in (sync, asynchronous):
        doc = inspect.getdoc(getattr(cls, _name(op))) or ""
        first, _, rest = doc.partition("\n\n")
        assert first == f"{op.method} {op.path}"
        assert rest.startswith(op.summary)
        assert op.description.splitlines()[0] in rest


class _Recorder:
    """The transport core, faked: records each call and leaves a response for the raw
    wrappers, as the client's does."""

    def __init__(self) -> None:
        self.calls: list[tuple[Operation, Mapping[str, object], BaseModel | None]] = []
        self.response = httpx.Response(200)

    def _record(self, operation: Operation, arguments: Mapping[str, object], body: Any) -> str:
        self.calls.append((operation, dict(arguments), body))
        _keep(self.response)
        return "parsed"


class _Sync(api.Operations, _Recorder):
    def _call(self, operation: Operation, arguments: Mapping[str, object], body: Any, /) -> Any:
        return self._record(operation, arguments, body)


class _Async(api.AsyncOperations, _Recorder):
    async def _call(
        self, operation: Operation, arguments: Mapping[str, object], body: Any, /
    ) -> Any:
        return self._record(operation, arguments, body)


def _keywords(op: Operation) -> dict[str, Any]:
    """The examples as the method's keywords (the body model's Python names)."""
    examples = _examples(op)
    names = {p.name: p.python_name for p in op.params}
    if op.body_model is not None:
        fields = op.body_model.model_fields.items()
        names.update({(field.alias or name): name for name, field in fields})
    return {names[wire]: value for wire, value in examples.items()}


@pytest.mark.parametrize("op", OPERATIONS, ids=IDS)
async def test_each_method_hands_the_core_its_row_and_wire_named_arguments(op: Operation) -> None:
    sync, asynchronous = _Sync(), _Async()
    keywords = _keywords(op)
    returned = None if _data_type(op) in (None, type(None)) else "parsed"  # a write's data is None
    assert getattr(sync, _name(op))(**keywords) == returned
    assert await getattr(asynchronous, _name(op))(**keywords) == returned
    # what the method hands on: the examples given, and the spec's defaults of the
    # parameters not given (a shared $ref parameter carries no inline example)
    wire = {p.python_name: p.name for p in op.params}
    signature = inspect.signature(getattr(type(sync), _name(op)))
    defaults = {
        wire[name]: parameter.default
        for name, parameter in signature.parameters.items()
        if name in wire and parameter.default not in (inspect.Parameter.empty, None)
    }
    for recorder in (sync, asynchronous):
        ((operation, arguments, body),) = recorder.calls
        assert operation is op
        assert arguments == {**defaults, **_examples(op)}
        assert body is None


@pytest.mark.parametrize(
    "op", [op for op in OPERATIONS if op.body_model], ids=lambda o: o.operation_id
)
def test_the_body_model_goes_positionally_and_none_is_not_given(op: Operation) -> None:
    assert op.body_model is not None
    sync = _Sync()
    method = getattr(sync, _name(op))
    keywords = _keywords(op)
    if _x_python(op).get("body_model"):
        model = op.body_model.model_validate(_examples(op))
        method(model)
        method(model, **dict.fromkeys(keywords))
        assert sync.calls == [(op, {}, model), (op, {}, model)]
    else:
        optional = {
            name: None
            for name, field in op.body_model.model_fields.items()
            if not field.is_required()
        }
        method(**{**keywords, **optional})
        ((_, arguments, _),) = sync.calls
        assert set(arguments) == {
            field.alias or name
            for name, field in op.body_model.model_fields.items()
            if field.is_required()
        }
    with pytest.raises(TypeError, match="'no_such_field'"):
        method(**keywords, no_such_field=1)


@pytest.mark.parametrize("op", OPERATIONS, ids=IDS)
async def test_the_raw_twins_return_the_parsed_value_and_the_response(op: Operation) -> None:
    _, _, sync_raw, async_raw = _tag_classes(op)
    sync, asynchronous = _Sync(), _Async()
    returned = None if _data_type(op) in (None, type(None)) else "parsed"
    for raw in (sync_raw(sync), api.OperationsWithRawResponse(sync)):
        got = getattr(raw, _name(op))(**_keywords(op))
        assert isinstance(got, RawResponse)
        assert (got.parsed, got.http_response) == (returned, sync.response)
    for raw in (async_raw(asynchronous), api.AsyncOperationsWithRawResponse(asynchronous)):
        got = await getattr(raw, _name(op))(**_keywords(op))
        assert isinstance(got, RawResponse)
        assert (got.parsed, got.http_response) == (returned, asynchronous.response)


def test_every_operation_is_bound_once_in_the_generated_package() -> None:
    """The generated modules name each operation once, by its id, from the table."""
    bound = {}
    for op in OPERATIONS:
        module = importlib.import_module(f"toobit_follower_api.api.{op.tag}")
        source = inspect.getsource(module)
        assert source.count(f'BY_ID["{op.operation_id}"]') == 1
        bound[op.operation_id] = module
    assert len(bound) == len(OPERATIONS)
    names = [_name(op) for op in OPERATIONS]
    assert len(set(names)) == len(names)


@pytest.mark.parametrize("op", OPERATIONS, ids=IDS)
def test_the_client_package_exports_every_model_the_method_takes_or_returns(
    op: Operation,
) -> None:
    """The export list is generated (``toobit_follower_api.types.__all__``): an operation's
    models reach ``from toobit_follower import ...`` with no hand-kept list."""
    import toobit_follower

    sync, _, _, _ = _tag_classes(op)
    hints = typing.get_type_hints(getattr(sync, _name(op)))
    named = {op.body_model} if op.body_model is not None else set()
    for hint in hints.values():
        for arg in (hint, *typing.get_args(hint)):
            if isinstance(arg, type) and issubclass(arg, BaseModel):
                named.add(arg)
    for model in named:
        assert getattr(toobit_follower, model.__name__) is model
        assert model.__name__ in toobit_follower.__all__
