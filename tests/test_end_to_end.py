"""End to end: the overlay client against the simulator, over real loopback HTTP (sync)
and in process through ASGI (async). Two independent implementations of the same
contract meeting on the wire: the client signs, the simulator verifies on its own.
With the simulator's variants mode, every answer comes in a tolerant shape the spec
allows, and the client reads each one typed exactly."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from decimal import Decimal
from typing import Any

import httpx
import pytest
import uvicorn
from test_reader import CALLS, TOLERANT_SHAPES, check_outcome
from test_sim_support import (
    DEMO_KEY,
    K7,
    NO_RELATION_KEY,
    READ_ONLY_KEY,
    S5,
    SECOND_KEY,
)
from test_sim_support import SECRET as DEMO_SECRET_BYTES
from toobit_follower import (
    AsyncFollowerClient,
    AsyncLeaderClient,
    AuthenticationError,
    FollowerClient,
    FollowerNotFoundError,
    HasOpenPositionsError,
    InvalidRequestError,
    LeaderClient,
    PermissionDeniedError,
    RateLimitError,
)
from toobit_follower.spec import spec_dict
from toobit_follower_models import FollowConfig, FollowConfigUpdate
from toobit_follower_models.errors import BY_NAME
from toobit_follower_models.operations import BY_ID
from toobit_follower_sim import SimOptions, create_app
from toobit_follower_sim.testing import (
    LEADER_API_KEY,
    SECOND_LEADER_API_KEY,
    SECOND_LEADER_ID,
    SimExchange,
    default_seed,
)

DEMO_SECRET = DEMO_SECRET_BYTES.decode()


def _example(operation_id: str, status: str | None = None) -> Any:
    for path_item in spec_dict()["paths"].values():
        for op in path_item.values():
            if isinstance(op, dict) and op.get("operationId") == operation_id:
                holder = op["requestBody"] if status is None else op["responses"][status]
                examples = holder["content"]["application/json"]["examples"]
                return next(iter(examples.values()))["value"]
    raise KeyError(operation_id)


def _error(name: str) -> tuple[int, int]:
    """(code, HTTP status) of an error, as the spec's x-error-table gives them."""
    row = BY_NAME[name]
    return row.code, row.http_status


def _json(model: Any) -> Any:
    """A pydantic model (or list of them) as the exchange's JSON: the fields the answer
    had (an optional field added to the spec, absent from the page's example and the
    seed, is not dumped as null)."""
    if isinstance(model, list):
        return [_json(m) for m in model]
    return model.model_dump(mode="json", by_alias=True, exclude_unset=True)


class Server:
    """The simulator on 127.0.0.1 and a free port, in a thread of this process."""

    def __init__(self, **options: Any) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        app = create_app(options=SimOptions(admin=True, **options))
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            assert time.monotonic() < deadline, "simulator did not start"
            time.sleep(0.02)

    def admin(self, method: str, path: str, **kwargs: Any) -> Any:
        response = httpx.request(method, f"{self.url}/_sim/{path}", **kwargs)
        assert response.status_code == 200, response.text
        return response.json()

    def digest(self) -> str:
        return str(self.admin("GET", "state")["digest"])

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    sim = Server()
    yield sim
    sim.stop()


@pytest.fixture
def sim(server: Server) -> Server:
    server.admin("POST", "reset")
    return server


def client(sim: Server, key: str = DEMO_KEY, **kwargs: Any) -> FollowerClient:
    cls = LeaderClient if key in _LEADER_KEYS else FollowerClient  # one key, one role
    return cls(key, DEMO_SECRET, base_url=sim.url, **kwargs)  # type: ignore[return-value]


# ---- every operation, sync, over loopback ------------------------------------------
def test_every_query_returns_the_page_examples(sim: Server) -> None:
    with client(sim) as c:
        assert _json(c.list_leaders()) == _example("listLeaders", "200")["data"]
        assert _json(c.list_current_orders()) == _example("listCurrentOrders", "200")["data"]
        assert _json(c.get_follow_config(S5)) == _example("getFollowConfig", "200")["data"]
        page = c.list_history_orders(page=1, size=10)
        assert _json(page) == _example("listHistoryOrders", "200")["data"]
        assert [_json(row) for row in c.iter_history_orders(size=1)] == page.model_dump(
            mode="json", by_alias=True
        )["list"]
        assert abs(c.server_time() - time.time() * 1000) < 5_000
        assert c.rate_limit.limit == 3000 and c.rate_limit.remaining is not None


def test_money_is_decimal_end_to_end(sim: Server) -> None:
    with client(sim) as c:
        (leader,) = c.list_leaders()
        assert leader.net_profit == Decimal("-0.58") and isinstance(leader.net_profit, Decimal)
        (position,) = c.list_current_orders()
        assert position.liquidation_price is None  # the exchange's "": not set


def test_config_update_is_stored_exactly_as_sent(sim: Server) -> None:
    """Every decimal of the follow config, sent with a trailing zero (the same number, so
    every rule still holds), comes back as the exact string sent: no float on the way."""
    body = _example("updateFollowConfig")
    served = set(FollowConfig.model_fields)
    fields = _fields(body)
    decimals = {
        name: Decimal(f"{value}0" if "." in str(value) else f"{value}.0")
        for name, value in fields.items()
        if isinstance(value, Decimal) and name in served
    }
    assert decimals  # the page's config has decimal fields
    with client(sim) as c:
        c.update_follow_config(**{**fields, **decimals})
        stored = c.get_follow_config(S5)
    wire = _json(stored)
    for name, sent in decimals.items():
        assert wire[FollowConfig.model_fields[name].alias or name] == str(sent), name


def test_stop_profit_loss_reaches_the_position(sim: Server) -> None:
    with client(sim) as c:
        c.update_stop_profit_loss(S5, "BTC-SWAP-USDT", 1, stop_profit_rate="0.15")
        (position,) = c.list_current_orders()
        assert position.stop_profit_rate == Decimal("0.15")
        assert position.stop_loss_rate is None  # left out: keeps its stored (unset) value


def test_cancel_leader_with_and_without_positions(sim: Server) -> None:
    with client(sim) as c:
        with pytest.raises(HasOpenPositionsError) as info:
            c.cancel_leader(S5)
        assert (info.value.code, info.value.status_code) == _error("FOLLOWER_HAS_POSITIONS")
        assert [x.leader_user_id for x in c.list_leaders()] == [S5]
    with client(sim, SECOND_KEY) as c:
        c.cancel_leader(K7)
        with pytest.raises(FollowerNotFoundError):  # no relation left at all
            c.list_leaders()


# ---- errors, typed --------------------------------------------------------------------
def test_read_only_key_reads_and_every_write_is_refused_unchanged(sim: Server) -> None:
    before = sim.digest()
    with client(sim, READ_ONLY_KEY) as c:
        assert len(c.list_leaders()) == 1
        for write in (
            lambda: c.update_follow_config(**_fields(_example("updateFollowConfig"))),
            lambda: c.update_stop_profit_loss(S5, "BTC-SWAP-USDT", 1, stop_loss_rate="0.3"),
            lambda: c.cancel_leader(S5),
        ):
            with pytest.raises(PermissionDeniedError) as info:
                write()
            assert (info.value.code, info.value.status_code) == _error("NOT_SUPPORTED")
    assert sim.digest() == before


def test_follower_without_relation_and_wrong_secret(sim: Server) -> None:
    with client(sim, NO_RELATION_KEY) as c, pytest.raises(FollowerNotFoundError):
        c.list_current_orders()
    with FollowerClient(DEMO_KEY, "not-the-secret", base_url=sim.url) as c:
        with pytest.raises(AuthenticationError) as info:
            c.list_leaders()
        assert (info.value.code, info.value.status_code) == _error("INVALID_SIGNATURE")
        assert "not-the-secret" not in repr(info.value) + str(info.value) + repr(c)


def test_a_rule_broken_on_the_server_is_an_invalid_request(sim: Server) -> None:
    before = sim.digest()
    with client(sim) as c, pytest.raises(InvalidRequestError) as info:
        # a stop rate of 0.005 passes the models' checks but breaks the config's "0 or
        # >= 0.01" (on stop-profit-loss it is accepted: spec 2.0.0, issue 14)
        fields = _fields(_example("updateFollowConfig"))
        c.update_follow_config(**{**fields, "stop_loss_rate": "0.005"})
    assert (info.value.code, info.value.status_code) == _error("INVALID_PARAMETER")
    assert "stopLossRate" in info.value.msg
    assert sim.digest() == before


def test_query_only_body_signing_is_refused_by_a_server_following_the_rule(sim: Server) -> None:
    with client(sim, body_signing="query-only") as c:
        assert len(c.list_leaders()) == 1  # no body: both rules sign the same message
        with pytest.raises(AuthenticationError) as info:
            c.update_stop_profit_loss(S5, "BTC-SWAP-USDT", 1, stop_loss_rate="0.3")
        assert info.value.code == _error("INVALID_SIGNATURE")[0]


def test_clock_skew_is_resynced_once(sim: Server) -> None:
    sim.admin("POST", "clock", json={"offsetMs": 30_000})  # the server runs 30 s ahead
    with client(sim) as c:
        assert len(c.list_leaders()) == 1  # -1021, then /api/v1/time, then a fresh signature
        assert 25_000 < c.clock_offset_ms < 35_000
    sim.admin("POST", "clock", json={"offsetMs": 0})
    with FollowerClient(DEMO_KEY, DEMO_SECRET, base_url=sim.url, clock=lambda: 0.0) as c:
        # a local clock stuck at 1970: the first request is -1021, the one re-sync measures
        # the whole offset, and the retry, signed afresh, is accepted
        assert len(c.list_leaders()) == 1
        assert c.clock_offset_ms > 1_700_000_000_000


def test_rate_limit_raises_with_the_reset_time() -> None:
    limited = Server(rate_limit=2)
    try:
        sent = time.time() * 1000
        with client(limited, max_rate_limit_wait=0) as c:  # waiting up to a minute: no
            c.list_leaders()
            c.list_leaders()
            with pytest.raises(RateLimitError) as info:
                c.list_leaders()
        assert (info.value.code, info.value.status_code) == _error("TOO_MANY_REQUESTS")
        assert c.rate_limit.remaining == 0
        reset = c.rate_limit.reset_timestamp_ms
        assert reset is not None and sent < reset <= sent + 61_000
        assert info.value.retry_after is not None and 0 < info.value.retry_after <= 61
    finally:
        limited.stop()


def test_errors_as_http_200_are_still_typed() -> None:
    gateway_like = Server(assumptions={"error-status-per-code": "alternative"})
    try:
        with FollowerClient(NO_RELATION_KEY, DEMO_SECRET, base_url=gateway_like.url) as c:
            with pytest.raises(FollowerNotFoundError) as info:
                c.list_leaders()
        assert (info.value.status_code, info.value.code) == (200, _error("FOLLOWER_NOT_FOUND")[0])
    finally:
        gateway_like.stop()


# ---- async, in process through ASGI --------------------------------------------------
@pytest.fixture
async def async_client() -> AsyncIterator[AsyncFollowerClient]:
    app = create_app()
    transport = httpx.ASGITransport(app=app)
    async with AsyncFollowerClient(
        DEMO_KEY, DEMO_SECRET, base_url="http://simulator", transport=transport
    ) as c:
        yield c


async def test_async_client_every_operation(async_client: AsyncFollowerClient) -> None:
    c = async_client
    assert _json(await c.list_leaders()) == _example("listLeaders", "200")["data"]
    assert _json(await c.get_follow_config(S5)) == _example("getFollowConfig", "200")["data"]
    assert len(await c.list_current_orders()) == 1
    assert [row.symbol_id async for row in c.iter_history_orders(size=100)] == ["BTC-SWAP-USDT"]
    await c.update_follow_config(**_fields(_example("updateFollowConfig")))
    await c.update_stop_profit_loss(S5, "BTC-SWAP-USDT", 1, stop_profit_rate="0.1")
    assert (await c.list_current_orders())[0].stop_profit_rate == Decimal("0.1")
    with pytest.raises(HasOpenPositionsError):
        await c.cancel_leader(S5)


async def test_async_client_errors_are_typed() -> None:
    transport = httpx.ASGITransport(app=create_app())
    async with AsyncFollowerClient(
        NO_RELATION_KEY, DEMO_SECRET, base_url="http://simulator", transport=transport
    ) as c:
        with pytest.raises(FollowerNotFoundError) as info:
            await c.list_leaders()
        assert (info.value.code, info.value.status_code) == _error("FOLLOWER_NOT_FOUND")
    async with AsyncFollowerClient(
        READ_ONLY_KEY, DEMO_SECRET, base_url="http://simulator", transport=transport
    ) as c:
        with pytest.raises(PermissionDeniedError):
            await c.cancel_leader(S5)


def _fields(body: dict[str, Any]) -> dict[str, Any]:
    """The page's camelCase body as the client's keyword arguments (the generated model's)."""
    model = FollowConfigUpdate.model_validate(body)
    return {name: getattr(model, name) for name in model.model_fields_set}


# ---- variants: every answer in another shape the spec allows -------------------------
VARIANT_ROUNDS = 15


_LEADER_KEYS = (LEADER_API_KEY, SECOND_LEADER_API_KEY)
_SEED = default_seed()
# the follower of the second leader: no open position, so it can be removed
_REMOVABLE = next(
    f["followerId"] for f in _SEED["follows"] if f["leaderUserId"] == SECOND_LEADER_ID
)


def _variant_call(op_id: str) -> tuple[str, str, tuple[Any, ...], dict[str, Any]]:
    """(key, client method, args, kwargs) of an operation that succeeds on the seed: the
    reader fuzz's call, made with a key of the operation's role; the cancel is of a
    leader without positions, the removal of a follower without positions."""
    method, args, kwargs = CALLS[op_id]
    if op_id == "cancelLeader":
        return SECOND_KEY, method, args, {**kwargs, "leader_user_id": K7}
    if op_id == "removeFollower":
        return SECOND_LEADER_API_KEY, method, args, {**kwargs, "follower_user_id": _REMOVABLE}
    if BY_ID[op_id].tag == "leader":
        return LEADER_API_KEY, method, args, kwargs
    return DEMO_KEY, method, args, kwargs


def _assert_every_tolerant_shape(seen: dict[str, Counter[str]]) -> None:
    for op_id, shapes in TOLERANT_SHAPES.items():
        assert shapes <= set(seen[op_id]), (op_id, shapes - set(seen[op_id]))
        assert seen[op_id]["success"] == VARIANT_ROUNDS, op_id


def test_variants_every_answer_is_read_typed_exactly() -> None:
    """The simulator with --variants over loopback: every operation's answer ("" and null
    decimals, 64-bit integers as numbers, unlisted enum values, extra fields, nickname or
    avatar left out, writes without data) is read by the sync client, each value typed
    as the wire says (tests/test_reader.py's check_outcome: "" -> None, "7" or 7 -> 7)."""
    sim = Server(variants=True, variants_seed=7)
    clients = {key: client(sim, key) for key in (DEMO_KEY, SECOND_KEY, *_LEADER_KEYS)}
    seen: dict[str, Counter[str]] = {op_id: Counter() for op_id in CALLS}
    try:
        for _ in range(VARIANT_ROUNDS):
            sim.admin("POST", "reset")
            for op_id in CALLS:
                key, method, args, kwargs = _variant_call(op_id)
                if BY_ID[op_id].write:  # each write starts from the seed (two end one relation)
                    sim.admin("POST", "reset")
                raw = getattr(clients[key].with_raw_response, method)
                parsed, response = raw(*args, **kwargs)
                check_outcome(op_id, json.loads(response.content), parsed, seen[op_id])
    finally:
        for c in clients.values():
            c.close()
        sim.stop()
    _assert_every_tolerant_shape(seen)


def _async_client(exchange: SimExchange, key: str) -> Any:
    cls = AsyncLeaderClient if key in _LEADER_KEYS else AsyncFollowerClient
    return cls(
        key, DEMO_SECRET, base_url="http://simulator", transport=exchange.async_transport(),
        clock=exchange.clock.time, sleep=exchange.clock.async_sleep,
    )  # fmt: skip


async def test_variants_async_client_reads_every_answer() -> None:
    exchange = SimExchange(options=SimOptions(variants=True, variants_seed=8))
    clients = {key: _async_client(exchange, key) for key in (DEMO_KEY, SECOND_KEY, *_LEADER_KEYS)}
    seen: dict[str, Counter[str]] = {op_id: Counter() for op_id in CALLS}
    try:
        for _ in range(VARIANT_ROUNDS):
            exchange.sim.reset()
            for op_id in CALLS:
                key, method, args, kwargs = _variant_call(op_id)
                if BY_ID[op_id].write:  # each write starts from the seed (two end one relation)
                    exchange.sim.reset()
                raw = getattr(clients[key].with_raw_response, method)
                parsed, response = await raw(*args, **kwargs)
                check_outcome(op_id, json.loads(response.content), parsed, seen[op_id])
    finally:
        for c in clients.values():
            await c.close()
        exchange.close()
    _assert_every_tolerant_shape(seen)
