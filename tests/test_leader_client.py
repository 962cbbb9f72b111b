"""LeaderClient and AsyncLeaderClient against the simulator playing both sides of one
exchange (toobit_follower_sim.testing): every leader operation through the generated
methods, typed; the paging helpers; the role errors as typed exceptions; the raw twins;
and the two roles kept apart (one key is one account). Operations are iterated from the
generated table, so an added leader operation needs no edit here."""

from __future__ import annotations

import inspect
from typing import Any

import pytest
from toobit_follower import (
    AsyncFollowerClient,
    AsyncLeaderClient,
    FollowerClient,
    LeaderClient,
    NotALeaderError,
    RawResponse,
)
from toobit_follower_models.operations import OPERATIONS
from toobit_follower_sim.testing import (
    BASE_URL,
    DEMO_API_KEY,
    DEMO_API_SECRET,
    LEADER_API_KEY,
    LEADER_API_SECRET,
    SECOND_LEADER_API_KEY,
    SECOND_LEADER_ID,
    SimExchange,
    default_seed,
)

MODES = ["sync", "async"]
LEADER_OPS = [op for op in OPERATIONS if op.tag == "leader"]
FOLLOWER_OPS = [op for op in OPERATIONS if op.tag == "follower"]


def _client(mode: str, exchange: SimExchange, key: str, secret: str, role: str = "leader") -> Any:
    sync, asyncio_ = (
        (LeaderClient, AsyncLeaderClient)
        if role == "leader"
        else (
            FollowerClient,
            AsyncFollowerClient,
        )
    )
    cls = sync if mode == "sync" else asyncio_
    transport = exchange.transport() if mode == "sync" else exchange.async_transport()
    return cls(key, secret, base_url=BASE_URL, transport=transport, clock=exchange.clock.time)


async def _call(client: Any, name: str, *args: Any, **kwargs: Any) -> Any:
    result = getattr(client, name)(*args, **kwargs)
    return await result if inspect.isawaitable(result) else result


async def _collect(iterator: Any) -> list[Any]:
    if hasattr(iterator, "__aiter__"):
        return [item async for item in iterator]
    return list(iterator)


def _returns(op: Any) -> Any:
    return op.response_model.model_fields["data"].annotation


def test_the_roles_are_separate_classes() -> None:
    assert LEADER_OPS and FOLLOWER_OPS
    for op in LEADER_OPS:
        assert hasattr(LeaderClient, op.python_name) and hasattr(AsyncLeaderClient, op.python_name)
        assert not hasattr(FollowerClient, op.python_name), op.operation_id
    for op in FOLLOWER_OPS:
        name = op.extensions.get("x-python", {}).get("name", op.python_name)  # type: ignore[union-attr]
        assert hasattr(FollowerClient, name)
        if name != "server_time":  # the clock is on both
            assert not hasattr(LeaderClient, name), op.operation_id


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    "op", [o for o in LEADER_OPS if o.method == "GET"], ids=lambda o: o.operation_id
)
async def test_every_leader_read_is_typed(mode: str, op: Any) -> None:
    exchange = SimExchange()
    client = _client(mode, exchange, LEADER_API_KEY, LEADER_API_SECRET)
    result = await _call(client, op.python_name)
    expected = _returns(op)
    origin = getattr(expected, "__origin__", None)
    if origin is list:
        assert isinstance(result, list)
        (item_type,) = expected.__args__
        assert all(isinstance(item, item_type) for item in result)
    else:
        assert isinstance(result, expected)
    (request,) = exchange.requests
    assert (request.method, request.url.path) == (op.method, op.path)
    assert request.headers["X-BB-APIKEY"] == LEADER_API_KEY


@pytest.mark.parametrize("mode", MODES)
async def test_the_paging_helpers_read_every_page(mode: str) -> None:
    exchange = SimExchange()
    client = _client(mode, exchange, LEADER_API_KEY, LEADER_API_SECRET)
    for iterate, read in (
        ("iter_followers", "list_followers"),
        ("iter_history_lead_orders", "list_history_lead_orders"),
    ):
        first = await _call(client, read, 1, 1)
        exchange.requests.clear()
        items = await _collect(getattr(client, iterate)(size=1))
        assert len(items) == int(first.total)
        pages = int(first.pages)
        assert len(exchange.requests) == max(pages, 1)


@pytest.mark.parametrize("mode", MODES)
async def test_a_follower_key_on_a_leader_endpoint_is_not_a_leader(mode: str) -> None:
    exchange = SimExchange()
    client = _client(mode, exchange, DEMO_API_KEY, DEMO_API_SECRET)
    with pytest.raises(NotALeaderError) as caught:
        await _call(client, "get_leader_config")
    assert caught.value.code is not None and caught.value.status_code == 400


@pytest.mark.parametrize("mode", MODES)
async def test_raw_twins_of_the_leader_client(mode: str) -> None:
    exchange = SimExchange()
    client = _client(mode, exchange, LEADER_API_KEY, LEADER_API_SECRET)
    for op in LEADER_OPS:
        assert callable(getattr(client.with_raw_response, op.python_name))
    config, response = await _call(client.with_raw_response, "get_leader_config")
    assert isinstance(await _call(client.with_raw_response, "server_time"), RawResponse)
    assert response.status_code == 200 and config == await _call(client, "get_leader_config")


@pytest.mark.parametrize("mode", MODES)
async def test_remove_follower_ends_the_relation_on_both_sides(mode: str) -> None:
    exchange = SimExchange()
    seed = default_seed()
    follower_id = next(
        f["followerId"] for f in seed["follows"] if f["leaderUserId"] == SECOND_LEADER_ID
    )
    follower_key = next(
        k["key"]
        for k in seed["apiKeys"]
        if k["accountId"] == follower_id and k["permission"] == "READ_WRITE"
    )
    follower = _client(mode, exchange, follower_key, DEMO_API_SECRET, role="follower")
    leader = _client(mode, exchange, SECOND_LEADER_API_KEY, DEMO_API_SECRET)
    assert SECOND_LEADER_ID in {int(x.leader_user_id) for x in await _followed(follower)}
    before = await _collect(leader.iter_followers())
    await _call(leader, "remove_follower", follower_id)
    after = await _collect(leader.iter_followers())
    assert len(after) == len(before) - 1
    assert SECOND_LEADER_ID not in {int(x.leader_user_id) for x in await _followed(follower)}


async def _followed(follower: Any) -> list[Any]:
    from toobit_follower import FollowerNotFoundError

    try:
        return list(await _call(follower, "list_leaders"))
    except FollowerNotFoundError:  # no relation left at all
        return []
