"""The tolerant reader (issue 14): every answer the contract admits is read, typed exactly.

1. Reader fuzz: for every operation, answers generated from the spec's 200 response
   schema (schemathesis' JSON Schema generator, pinned; the tolerant shapes are in the
   schemas: "" and null decimals, 64-bit integers as JSON numbers, absent or null
   nicknames, open enums, extra fields, writes without `data`, error envelopes) go
   through the client, sync and async. A success is returned typed (an `int` for every
   `Int64`, a `Decimal` or None for every `DecimalString`, an open enum's value as
   sent); an error envelope raises its typed error with its code. Nothing else.
2. A malformed envelope raises UnexpectedResponseError quoting the start of the body
   (a write: OutcomeUnknownError around it, since it may have been applied).
3. The issue's nine numbered answers, replayed: each is valid under the spec, and the
   typed result is stated.

Operations, schemas and fields come from openapi.yaml; the call of each operation
(CALLS) is made from its row of the generated operation table and the spec's examples,
so an operation added to the spec is read here with no edit.
"""

from __future__ import annotations

import asyncio
import functools
import json
from collections import Counter
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import jsonschema_rs
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator
from pydantic import BaseModel
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012
from schemathesis.generation.jsonschema.builder import build
from toobit_follower import (
    APIError,
    AsyncFollowerClient,
    AsyncLeaderClient,
    FollowerClient,
    FollowerNotFoundError,
    InvalidRequestError,
    LeaderClient,
    OutcomeUnknownError,
    UnexpectedResponseError,
)
from toobit_follower_models.operations import OPERATIONS as TABLE
from toobit_follower_sim.testing import DEMO_API_KEY, DEMO_API_SECRET, DEMO_LEADER_ID, FakeClock

ROOT = Path(__file__).resolve().parent.parent
SPEC: dict[str, Any] = yaml.safe_load((ROOT / "openapi.yaml").read_text(encoding="utf-8"))
SCHEMAS: dict[str, Any] = SPEC["components"]["schemas"]
BASE_URL = "https://reader.test"
METHODS = ("get", "put", "delete")
EXAMPLES_PER_OPERATION = 50  # each read by a sync and an async client
SUCCESS = 200


def _operations() -> dict[str, tuple[str, str, dict[str, Any]]]:
    return {
        op["operationId"]: (method.upper(), path, op)
        for path, item in SPEC["paths"].items()
        for method, op in item.items()
        if method in METHODS
    }


OPERATIONS = _operations()


def _method_name(op: Any) -> str:
    x_python = op.extensions.get("x-python", {})
    return str(x_python.get("name", op.python_name))


def _call_of(op: Any) -> tuple[str, tuple[Any, ...], dict[str, Any]]:
    """The call of an operation, from its row of the generated table and the spec's
    examples: required parameters from their examples, the body from the request
    example (the model itself where the method takes it whole: x-python.body_model)."""
    kwargs: dict[str, Any] = {}
    fields = op.query_model.model_fields if op.query_model is not None else {}
    for param in op.params:
        if param.required and param.python_name in fields:
            kwargs[param.python_name] = fields[param.python_name].examples[0]
    args: tuple[Any, ...] = ()
    if op.body_model is not None:
        spec_op = OPERATIONS[op.operation_id][2]
        content = spec_op["requestBody"]["content"]["application/json"]
        body = op.body_model.model_validate(next(iter(content["examples"].values()))["value"])
        if "body_model" in op.extensions.get("x-python", {}):
            args = (body,)
        else:
            kwargs |= {name: getattr(body, name) for name in body.model_fields_set}
    return _method_name(op), args, kwargs


# The call of each operation: (client method, positional args, keyword args).
CALLS: dict[str, tuple[str, tuple[Any, ...], dict[str, Any]]] = {
    op.operation_id: _call_of(op) for op in TABLE
}


def test_every_operation_of_the_spec_has_a_call() -> None:
    assert set(CALLS) == set(OPERATIONS)


# ---- answers: the 200 schema of each operation ---------------------------------------
def success_schema(op_id: str) -> dict[str, Any]:
    return dict(OPERATIONS[op_id][2]["responses"]["200"]["content"]["application/json"]["schema"])


EXTRA_FIELD: dict[str, Any] = {"type": ["string", "integer", "boolean", "null"], "maxLength": 8}


def _for_drawing(node: Any) -> Any:
    """The schemas as drawn here: 1 to 3 items per array, and fields the schema does not
    name (an object admits any) drawn as scalars. The shapes of answers, not the sizes of
    lists or of unknown fields, are under test (an empty list is drawn most often
    otherwise, and deep values make drawing slow)."""
    if isinstance(node, dict):
        copy = {key: _for_drawing(value) for key, value in node.items()}
        if copy.get("type") == "array":
            copy["minItems"], copy["maxItems"] = 1, 3
        if copy.get("type") == "object" and "additionalProperties" not in copy:
            copy["additionalProperties"] = EXTRA_FIELD
        return copy
    if isinstance(node, list):
        return [_for_drawing(value) for value in node]
    return node


def answers(op_id: str) -> st.SearchStrategy[Any]:
    """Answers the operation's 200 schema admits (with the components, so $refs resolve).
    Most carry the success code: `code` is any integer in the envelope's schema, and only
    200 makes a success whose data the client returns."""
    schema = {**success_schema(op_id), "components": _for_drawing(SPEC["components"])}
    generated = build(schema, draft=jsonschema_rs.Draft202012, formats={})

    def as_success(answer: Any) -> Any:
        if isinstance(answer, dict) and "code" in answer:
            success = {**answer, "code": SUCCESS}
            if admitted(op_id, success):
                return success
        return answer

    success = generated.map(as_success)
    return st.one_of(success, success, generated)  # two in three draws a success, if it can


REGISTRY: Registry = Registry().with_resource(
    "urn:spec", Resource(contents=SPEC, specification=DRAFT202012)
)


@functools.cache
def _answer_validator(op_id: str) -> Draft202012Validator:
    method, path, _ = OPERATIONS[op_id]
    ptr = f"/paths/{path.replace('~', '~0').replace('/', '~1')}/{method.lower()}"
    schema = {"$ref": f"urn:spec#{ptr}/responses/200/content/application~1json/schema"}
    return Draft202012Validator(schema, registry=REGISTRY)


def admitted(op_id: str, answer: Any) -> bool:
    """Whether the spec's 200 schema of the operation admits the answer."""
    return _answer_validator(op_id).is_valid(answer)


# ---- the typed result, field by field from the spec -----------------------------------
def _ref_name(schema: dict[str, Any]) -> str | None:
    ref = schema.get("$ref", "")
    return ref.rsplit("/", 1)[1] if ref.startswith("#/components/schemas/") else None


def _is_open_enum(schema: dict[str, Any]) -> bool:
    return any("enum" in SCHEMAS.get(_ref_name(alt) or "", {}) for alt in schema.get("anyOf", []))


def check_typed(
    schema: dict[str, Any], value: Any, wire: Any, where: str, seen: Counter[str]
) -> None:
    """`value` (what the client returned) is the typed reading of `wire` (the answer)."""
    name = _ref_name(schema)
    if name == "Int64":
        assert type(value) is int and value == int(wire), (where, value, wire)
        seen["int64 as a JSON number" if isinstance(wire, int) else "int64 as digits"] += 1
        return
    if name == "DecimalString":
        if wire in ("", None):
            assert value is None, (where, value, wire)
            seen["decimal null" if wire is None else 'decimal ""'] += 1
        else:
            assert isinstance(value, Decimal) and value == Decimal(wire), (where, value, wire)
        return
    if name is not None:
        check_typed(SCHEMAS[name], value, wire, where, seen)
        return
    members = schema.get("anyOf", [])
    if any(m.get("type") == "null" for m in members) and len(members) == 2:  # nullable
        if wire is None:
            assert value is None, (where, value, wire)
            seen["nullable null"] += 1
            return
        (other,) = [m for m in members if m.get("type") != "null"]
        check_typed(other, value, wire, where, seen)
        return
    if _is_open_enum(schema):
        listed = next(SCHEMAS[_ref_name(a) or ""]["enum"] for a in schema["anyOf"] if _ref_name(a))
        assert type(value) is int and value == wire, (where, value, wire)
        seen["enum value listed" if wire in listed else "enum value not listed"] += 1
        return
    if schema.get("type") == "array":
        assert len(value) == len(wire), where
        for i, (item, raw) in enumerate(zip(value, wire, strict=True)):
            check_typed(schema["items"], item, raw, f"{where}[{i}]", seen)
        return
    if schema.get("type") == "object":
        assert isinstance(value, BaseModel), where
        attribute = {info.alias or n: n for n, info in type(value).model_fields.items()}
        for alias, prop in schema["properties"].items():
            if alias not in wire:
                seen[f"{alias} absent"] += 1
            check_typed(
                prop, getattr(value, attribute[alias]), wire.get(alias), f"{where}.{alias}", seen
            )
        if set(wire) - set(schema["properties"]):
            seen["extra fields"] += 1
        return
    assert value == wire, (where, value, wire)  # strings, booleans, opaque integers, null


def check_outcome(op_id: str, answer: Any, outcome: Any, seen: Counter[str]) -> None:
    """A success is returned typed; an error envelope raises its typed error; nothing else."""
    if op_id == "getServerTime":
        assert outcome == answer["serverTime"] and type(outcome) is int, outcome
        seen["success"] += 1
        return
    if answer["code"] != SUCCESS:
        assert isinstance(outcome, APIError), repr(outcome)
        assert not isinstance(outcome, UnexpectedResponseError), repr(outcome)
        assert outcome.code == answer["code"] and outcome.status_code == 200, repr(outcome)
        seen["error envelope"] += 1
        return
    assert not isinstance(outcome, BaseException), repr(outcome)
    seen["success"] += 1
    if "data" not in answer:
        seen["write without data"] += 1
    check_typed(data_schema(op_id), outcome, answer.get("data"), op_id, seen)


def data_schema(op_id: str) -> dict[str, Any]:
    """The schema of `data` in the operation's success envelope."""
    schema = success_schema(op_id)
    envelope = SCHEMAS[_ref_name(schema.get("anyOf", [schema])[0]) or ""]
    return next(
        p["data"] for p in (s.get("properties", {}) for s in envelope["allOf"]) if "data" in p
    )


# ---- the clients, over a transport that serves the answer under test ------------------
class Wire:
    """Answers every request with the current answer, but GET /api/v1/time with the clock
    when that is not the operation under test (a -1021 makes the client re-sync)."""

    def __init__(self, clock: FakeClock, op_id: str) -> None:
        self.clock = clock
        self.op_id = op_id
        self.time_path = None if op_id == "getServerTime" else OPERATIONS["getServerTime"][1]
        self.answer: bytes = b""
        self.status = 200
        self.requests: list[httpx.Request] = []
        self.transport = httpx.MockTransport(self.handle)

    def handle(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == self.time_path:
            return httpx.Response(200, json={"serverTime": self.clock.ms()})
        self.requests.append(request)
        return httpx.Response(
            self.status, content=self.answer, headers={"Content-Type": "application/json"}
        )


def _role(op_id: str, sync: bool) -> Any:
    """The client whose generated methods include the operation's (follower or leader)."""
    name = CALLS[op_id][0]
    roles = (FollowerClient, LeaderClient) if sync else (AsyncFollowerClient, AsyncLeaderClient)
    return next(cls for cls in roles if hasattr(cls, name))


def sync_client(wire: Wire) -> Any:
    return _role(wire.op_id, True)(
        DEMO_API_KEY, DEMO_API_SECRET, base_url=BASE_URL, transport=wire.transport,
        max_retries=0, clock=wire.clock.time, sleep=wire.clock.sleep,
    )  # fmt: skip


def async_client(wire: Wire) -> Any:
    return _role(wire.op_id, False)(
        DEMO_API_KEY, DEMO_API_SECRET, base_url=BASE_URL, transport=wire.transport,
        max_retries=0, clock=wire.clock.time, sleep=wire.clock.async_sleep,
    )  # fmt: skip


class Reader:
    """Calls one operation with a sync or an async client; returns its result or error."""

    def __init__(self, op_id: str, mode: str) -> None:
        self.method, self.args, self.kwargs = CALLS[op_id]
        self.mode = mode
        self.wire = Wire(FakeClock(), op_id)
        self.runner = asyncio.Runner() if mode == "async" else None
        self.client: Any = None

    def read(self, content: bytes) -> Any:
        self.wire.answer = content
        if self.client is None:  # a new client after a rate-limit error: a fresh gate
            self.client = (sync_client if self.mode == "sync" else async_client)(self.wire)
        call: Callable[..., Any] = getattr(self.client, self.method)
        try:
            if self.runner is None:
                return call(*self.args, **self.kwargs)
            return self.runner.run(call(*self.args, **self.kwargs))
        except Exception as exc:  # the outcome under test
            if isinstance(exc, APIError) and exc.code in {-1003}:
                self.close_client()
            return exc

    def close_client(self) -> None:
        if self.client is not None:
            closing = self.client.close()
            if self.runner is not None:
                self.runner.run(closing)
            self.client = None

    def close(self) -> None:
        self.close_client()
        if self.runner is not None:
            self.runner.close()


@pytest.fixture
def readers(request: pytest.FixtureRequest) -> Iterator[tuple[Reader, Reader]]:
    """The operation's sync and async readers: every answer goes through both."""
    op_id = request.node.callspec.params["op_id"]
    pair = (Reader(op_id, "sync"), Reader(op_id, "async"))
    yield pair
    for reader in pair:
        reader.close()


# What the generated answers must have shown, where the operation's schema has it.
TOLERANT_SHAPES: dict[str, set[str]] = {
    "listCurrentOrders": {"int64 as a JSON number", "decimal null", 'decimal ""',
                          "enum value not listed", "leaderNickname absent", "extra fields"},
    "listHistoryOrders": {"int64 as a JSON number", "decimal null", 'decimal ""',
                          "enum value not listed", "leaderAvatar absent"},
    "getFollowConfig": {"int64 as a JSON number", "decimal null", 'decimal ""',
                        "enum value not listed", "extra fields"},
    "listLeaders": {"int64 as a JSON number", "decimal null", 'decimal ""',
                    "leaderNickname absent", "extra fields"},
    "updateStopProfitLoss": {"write without data"},
    "updateFollowConfig": {"write without data"},
    "cancelLeader": {"write without data"},
    "getServerTime": set(),
}  # fmt: skip


@pytest.mark.parametrize("op_id", sorted(OPERATIONS))
def test_reader_fuzz_no_valid_answer_fails(op_id: str, readers: tuple[Reader, Reader]) -> None:
    seen: Counter[str] = Counter()

    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(answer=answers(op_id))
    def read_one(answer: Any) -> None:
        assert admitted(op_id, answer)  # the generator keeps to the spec
        seen["answers"] += 1
        content = json.dumps(answer).encode()
        sync, async_ = readers
        check_outcome(op_id, answer, sync.read(content), seen)
        check_outcome(op_id, answer, async_.read(content), Counter())  # the same, counted once

    read_one()
    print(f"{op_id}: {dict(sorted(seen.items()))}")  # the counts of the report (pytest -s)
    assert seen["answers"] >= EXAMPLES_PER_OPERATION // 2
    assert seen["success"] > 0
    # an operation this table does not name (a new one): what every write must show
    expected = TOLERANT_SHAPES.get(
        op_id, {"write without data"} if OPERATIONS[op_id][0] != "GET" else set()
    )
    assert expected <= set(seen), expected - set(seen)
    if op_id != "getServerTime":
        assert seen["error envelope"] > 0


# ---- a malformed envelope -------------------------------------------------------------
MALFORMED: list[tuple[str, bytes]] = [
    ("empty", b""),
    ("html", b"<html><body><h1>502 Bad Gateway</h1>\n<p>nginx</p></body></html>"),
    ("truncated", b'{"code":200,"msg":"success","data":[{"leaderUserId":"1'),
    ("not an object", b'[200, "success"]'),
    ("no code", b'{"msg":"success","data":null}'),
    ("data of another shape", b'{"code":200,"msg":"success","data":"garbage"}'),
]


def excerpt_of(content: bytes) -> str:
    return " ".join(content[:200].decode("utf-8", "replace").split())


@pytest.mark.parametrize("op_id", sorted(OPERATIONS))
@pytest.mark.parametrize(("what", "content"), MALFORMED, ids=[m[0] for m in MALFORMED])
def test_a_malformed_envelope_raises_with_the_excerpt(
    op_id: str, what: str, content: bytes
) -> None:
    is_write = OPERATIONS[op_id][0] != "GET"
    if what == "data of another shape" and op_id == "getServerTime":
        content = b'{"serverTime":"soon"}'  # not enveloped: its own shape
    for mode in ("sync", "async"):
        reader = Reader(op_id, mode)
        try:
            outcome = reader.read(content)
        finally:
            reader.close()
        if is_write and what == "data of another shape":
            # code 200 says the write was applied; its (documented null) data is ignored
            assert outcome is None, (mode, repr(outcome))
            continue
        if is_write:  # it may have been applied: outcome unknown, the cause inside
            assert isinstance(outcome, OutcomeUnknownError), (mode, repr(outcome))
            outcome = outcome.error
        assert isinstance(outcome, UnexpectedResponseError), (mode, repr(outcome))
        assert (outcome.status_code, outcome.code) == (200, None)
        assert outcome.excerpt == excerpt_of(content), (mode, outcome.excerpt)
        assert outcome.excerpt in str(outcome)


# ---- the nine answers, replayed -------------------------------------------------
def replay(op_id: str, answer: Any, *, status: int = 200) -> Any:
    """The answer (valid under the spec) read by a sync and an async client: the same
    outcome from both, returned (an exception is returned, not raised)."""
    assert admitted(op_id, answer) or status != 200, answer
    content = json.dumps(answer).encode()
    outcomes = []
    for mode in ("sync", "async"):
        reader = Reader(op_id, mode)
        reader.wire.status = status
        try:
            outcomes.append(reader.read(content))
        finally:
            reader.close()
    sync, async_ = outcomes
    if isinstance(sync, BaseException):
        assert (type(async_), getattr(async_, "code", None)) == (
            type(sync),
            getattr(sync, "code", None),
        )
    else:
        assert async_ == sync
    return sync


def page_example(op_id: str) -> dict[str, Any]:
    """The page's example answer of a read (the spec's 200 example), to vary."""
    content = OPERATIONS[op_id][2]["responses"]["200"]["content"]["application/json"]
    return json.loads(json.dumps(next(iter(content["examples"].values()))["value"]))


def test_answer_1_config_without_stop_rates() -> None:
    answer = page_example("getFollowConfig")
    answer["data"] |= {"stopProfitRate": "", "stopLossRate": ""}
    config = replay("getFollowConfig", answer)
    assert (config.stop_profit_rate, config.stop_loss_rate) == (None, None)  # not set
    assert config.invest_amount == Decimal("100") and config.leader_user_id == 123456789


def test_answer_2_leader_without_avatar_or_nickname_or_with_a_long_one() -> None:
    signed_url = "https://cdn.example.com/a.png?" + "X-Amz-Signature=" + "f" * 4000
    answer = page_example("listLeaders")
    first = answer["data"][0]
    answer["data"] = [
        first | {"leaderAvatar": None},
        {k: v for k, v in first.items() if k not in ("leaderNickname", "leaderAvatar")},
        first | {"leaderNickname": "N" * 300, "leaderAvatar": signed_url},
    ]
    leaders = replay("listLeaders", answer)
    assert [(x.leader_nickname, x.leader_avatar) for x in leaders] == [
        ("S5", None),
        (None, None),
        ("N" * 300, signed_url),
    ]
    for op_id in ("listCurrentOrders", "listHistoryOrders"):
        answer = page_example(op_id)
        rows = answer["data"] if op_id == "listCurrentOrders" else answer["data"]["list"]
        rows[0] |= {"leaderAvatar": None, "leaderNickname": None}
        result = replay(op_id, answer)
        row = (result if op_id == "listCurrentOrders" else result.list_)[0]
        assert (row.leader_nickname, row.leader_avatar) == (None, None)


def test_answer_3_other_decimals_empty_or_null() -> None:
    answer = page_example("listLeaders")
    answer["data"][0] |= {"marginBalance": "", "netProfit": None, "unrealisedPnl": "-0.03"}
    (leader,) = replay("listLeaders", answer)
    assert (leader.margin_balance, leader.net_profit, leader.unrealised_pnl) == (
        None, None, Decimal("-0.03"),
    )  # fmt: skip
    answer = page_example("listCurrentOrders")
    answer["data"][0] |= {"markPrice": None, "liquidationPrice": "", "margin": "1E-8"}
    (order,) = replay("listCurrentOrders", answer)
    assert (order.mark_price, order.liquidation_price, order.margin) == (
        None,
        None,
        Decimal("1E-8"),
    )


def test_answer_4_int64_as_json_numbers_in_all_four_reads() -> None:
    history = page_example("listHistoryOrders")
    history["data"] |= {"total": 1, "pages": 1}
    history["data"]["list"][0] |= {"openTimeMs": 1717200000000, "lastCloseTimeMs": 1717203600000}
    page = replay("listHistoryOrders", history)
    assert (page.total, page.pages) == (1, 1)
    assert (page.list_[0].open_time_ms, page.list_[0].last_close_time_ms) == (
        1717200000000,
        1717203600000,
    )
    for op_id in ("listCurrentOrders", "listLeaders", "getFollowConfig"):
        answer = page_example(op_id)
        rows = answer["data"] if isinstance(answer["data"], list) else [answer["data"]]
        rows[0]["leaderUserId"] = 123456789
        result = replay(op_id, answer)
        typed = result[0] if isinstance(result, list) else result
        assert type(typed.leader_user_id) is int and typed.leader_user_id == 123456789, op_id


def test_answer_5_enum_values_the_page_does_not_list() -> None:
    answer = page_example("getFollowConfig")
    answer["data"] |= {"followAmountMode": 2, "followMarginType": 3}
    config = replay("getFollowConfig", answer)
    assert (config.follow_amount_mode, config.follow_margin_type) == (2, 3)  # kept as sent
    for op_id in ("listCurrentOrders", "listHistoryOrders"):
        answer = page_example(op_id)
        rows = answer["data"] if op_id == "listCurrentOrders" else answer["data"]["list"]
        rows[0]["isLong"] = 2
        result = replay(op_id, answer)
        assert (result if op_id == "listCurrentOrders" else result.list_)[0].is_long == 2


@pytest.mark.parametrize("op_id", ["updateStopProfitLoss", "updateFollowConfig", "cancelLeader"])
def test_answer_6_write_success_without_data(op_id: str) -> None:
    reader = Reader(op_id, "sync")
    try:
        assert reader.read(b'{"code":200,"msg":"success"}') is None  # done, not an error
        assert len(reader.wire.requests) == 1  # and not sent again (a DELETE would get -32045)
    finally:
        reader.close()
    assert replay(op_id, {"code": 200, "msg": "success"}) is None


def test_answer_7_a_code_the_table_does_not_list() -> None:
    error = replay("listLeaders", {"code": -1121, "msg": "Invalid symbol."}, status=400)
    assert isinstance(error, InvalidRequestError)  # the family of HTTP 400
    assert (error.code, error.msg, error.info) == (-1121, "Invalid symbol.", None)


def test_answer_8_lower_case_symbols_are_sent_and_read() -> None:
    reader = Reader("updateStopProfitLoss", "sync")
    try:
        reader.read(b'{"code":200,"msg":"success","data":null}')  # warm: a client exists
        reader.client.update_stop_profit_loss(
            DEMO_LEADER_ID, "btc-swap-usdt", 1, stop_loss_rate="0.3"
        )
        _, _, config_fields = CALLS["updateFollowConfig"]
        (config,) = CALLS["updateFollowConfig"][1]
        reader.client.update_follow_config(
            config, **{**config_fields, "follow_symbol_ids": "btc-swap-usdt, eth-swap-usdt"}
        )
        bodies = [json.loads(r.content) for r in reader.wire.requests[-2:]]
    finally:
        reader.close()
    assert bodies[0]["symbolId"] == "btc-swap-usdt"  # sent as given, not refused before
    assert bodies[1]["followSymbolIds"] == "btc-swap-usdt, eth-swap-usdt"
    answer = page_example("listCurrentOrders")
    answer["data"][0]["symbolId"] = "btc-swap-usdt"
    assert replay("listCurrentOrders", answer)[0].symbol_id == "btc-swap-usdt"
    config = page_example("getFollowConfig")
    config["data"]["followSymbolIds"] = "btc-swap-usdt, eth-swap-usdt"
    assert replay("getFollowConfig", config).follow_symbol_ids == "btc-swap-usdt, eth-swap-usdt"


@pytest.mark.parametrize(
    "op_id", ["listCurrentOrders", "listHistoryOrders", "getFollowConfig", "listLeaders"]
)
def test_answer_9_a_gateway_error_with_http_200(op_id: str) -> None:
    answer = {"code": -32045, "msg": "Copy trading follower not found.", "data": None}
    error = replay(op_id, answer)  # valid under the 200 schema (checked in replay)
    assert isinstance(error, FollowerNotFoundError)
    assert (error.code, error.status_code) == (-32045, 200)
