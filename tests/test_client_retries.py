"""The retry policy: what is retried, how often, how long it waits, and that DELETE is
never repeated once its outcome is unknown. Sleep and clock are fakes: no test waits."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from test_sim_support import K7, NO_RELATION_KEY, SECOND_KEY
from toobit_follower import (
    APIConnectionError,
    APITimeoutError,
    AsyncFollowerClient,
    ErrorCode,
    FollowConfigUpdate,
    FollowerClient,
    FollowerNotFoundError,
    IPBannedError,
    OutcomeUnknownError,
    RateLimitError,
    TimestampError,
    UnexpectedResponseError,
    UnknownServerError,
    constants,
)
from toobit_follower.spec import spec_dict
from toobit_follower_sim import SimOptions
from toobit_follower_sim.testing import (
    BASE_URL,
    DEMO_API_KEY,
    DEMO_API_SECRET,
    DEMO_LEADER_ID,
    SimExchange,
)

MODES = ["sync", "async"]
NOW_MS = 1717200000000  # the fake clock's start
CONFIG_EXAMPLE: dict[str, Any] = spec_dict()["paths"]["/api/v2/copy-trading/follower/config"][
    "put"
]["requestBody"]["content"]["application/json"]["examples"]["followConfig"]["value"]
CONFIG = FollowConfigUpdate.model_validate(CONFIG_EXAMPLE)

# One call of each kind: (client method, args, HTTP method). The DELETE is the second
# follower's (SECOND_KEY): it has no open positions, so the cancel succeeds.
GET_CALL = ("list_leaders", (), "GET")
PUT_CALLS = [
    ("update_follow_config", (CONFIG,), "PUT"),
    ("update_stop_profit_loss", (DEMO_LEADER_ID, "BTC-SWAP-USDT", 1), "PUT"),
]
DELETE_CALL = ("cancel_leader", (K7,), "DELETE")
KWARGS = {"update_stop_profit_loss": {"stop_profit_rate": "0.1"}}


class Env:
    """Clients of the demo follower and of the second follower (for the DELETE), one
    simulator, one fake clock."""

    def __init__(self, mode: str, exchange: SimExchange | None = None, **kwargs: Any) -> None:
        self.exchange = exchange or SimExchange()
        self.clock = self.exchange.clock
        self.client: Any = self._client(mode, DEMO_API_KEY, kwargs)
        self.second: Any = self._client(mode, SECOND_KEY, kwargs)

    def _client(self, mode: str, key: str, kwargs: dict[str, Any]) -> Any:
        if mode == "sync":
            return FollowerClient(
                key,
                DEMO_API_SECRET,
                base_url=BASE_URL,
                transport=self.exchange.transport(),
                sleep=self.clock.sleep,
                clock=self.clock.time,
                **kwargs,
            )
        return AsyncFollowerClient(
            key,
            DEMO_API_SECRET,
            base_url=BASE_URL,
            transport=self.exchange.async_transport(),
            sleep=self.clock.async_sleep,
            clock=self.clock.time,
            **kwargs,
        )

    def client_for(self, name: str) -> Any:
        return self.second if name == "cancel_leader" else self.client

    async def call(self, name: str, *args: Any, client: Any = None) -> Any:
        client = client or self.client_for(name)
        result = getattr(client, name)(*args, **KWARGS.get(name, {}))
        if inspect.isawaitable(result):
            result = await result
        return result

    @property
    def sent(self) -> list[httpx.Request]:
        return self.exchange.requests

    def paths(self) -> list[str]:
        return [request.url.path for request in self.sent]


def server_error(status: int = 500) -> httpx.Response:
    return httpx.Response(status, json={"code": ErrorCode.UNKNOWN, "msg": "An unknown error."})


def html_502() -> httpx.Response:
    return httpx.Response(
        502, content=b"<html>502 Bad Gateway</html>", headers={"Content-Type": "text/html"}
    )


def too_many(
    reset_ms: int | None = None, retry_after: str | None = None, status: int = 429
) -> httpx.Response:
    headers = {"X-Api-Limit-Status": "0", "X-Api-Limit": "3000"}
    if reset_ms is not None:
        headers["X-Api-Limit-Reset-Timestamp"] = str(reset_ms)
    if retry_after is not None:
        headers["Retry-After"] = retry_after
    body = {"code": ErrorCode.TOO_MANY_REQUESTS, "msg": "Too many requests"}
    return httpx.Response(status, json=body, headers=headers)


def raising(exc_type: type[httpx.TransportError]) -> Callable[[httpx.Request], httpx.Response]:
    def answer(request: httpx.Request) -> httpx.Response:
        raise exc_type("boom", request=request)

    return answer


def assert_fresh_signatures(requests: list[httpx.Request]) -> None:
    timestamps = [r.url.params["timestamp"] for r in requests]
    signatures = [r.url.params["signature"] for r in requests]
    assert len(set(timestamps)) == len(requests), timestamps
    assert len(set(signatures)) == len(requests)
    for request in requests:
        assert request.url.params.get_list("signature") == [request.url.params["signature"]]
        assert list(request.url.params.keys())[-1] == "signature"


# ---- constants --------------------------------------------------------------------------
def test_policy_constants() -> None:
    assert constants.DEFAULT_MAX_RETRIES == 2
    assert constants.INITIAL_RETRY_DELAY < constants.MAX_RETRY_DELAY
    assert 0 <= constants.JITTER < 1
    assert constants.MAX_RATE_LIMIT_WAIT >= 60
    assert constants.DEFAULT_RECV_WINDOW == 5000
    assert constants.MAX_RECV_WINDOW == 60000
    assert constants.DEFAULT_TIMEOUT > 0


# ---- GET: retried on 5XX, timeouts, connection errors --------------------------------------
@pytest.mark.parametrize("mode", MODES)
async def test_get_5xx_is_retried_then_raises(mode: str) -> None:
    env = Env(mode)
    env.exchange.script(server_error(), html_502(), server_error(503))
    with pytest.raises(UnknownServerError) as caught:
        await env.call("list_leaders")
    assert caught.value.status_code == 503
    assert len(env.sent) == 1 + constants.DEFAULT_MAX_RETRIES
    # exponential backoff with jitter in [1 - JITTER, 1] of the nominal delay
    first, second = env.clock.sleeps
    assert (1 - constants.JITTER) * 0.5 <= first <= 0.5
    assert (1 - constants.JITTER) * 1.0 <= second <= 1.0
    assert_fresh_signatures(env.sent)


@pytest.mark.parametrize("mode", MODES)
async def test_get_5xx_then_success(mode: str) -> None:
    env = Env(mode)
    env.exchange.script(html_502())
    leaders = await env.call("list_leaders")
    assert len(leaders) == 1
    assert len(env.sent) == 2
    assert_fresh_signatures(env.sent)
    assert env.client.last_response.status_code == 200


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    ("exc_type", "raised"),
    [
        (httpx.ReadTimeout, APITimeoutError),
        (httpx.ConnectTimeout, APITimeoutError),
        (httpx.ConnectError, APIConnectionError),
        (httpx.RemoteProtocolError, APIConnectionError),
    ],
)
async def test_get_transport_errors_are_retried(
    mode: str, exc_type: type[httpx.TransportError], raised: type[Exception]
) -> None:
    env = Env(mode)
    env.exchange.script(raising(exc_type))
    assert len(await env.call("list_leaders")) == 1
    assert len(env.sent) == 2
    env.exchange.script(*[raising(exc_type)] * 3)
    with pytest.raises(raised):
        await env.call("list_leaders")
    assert len(env.sent) == 2 + 3
    assert env.client.last_response is None


@pytest.mark.parametrize("mode", MODES)
async def test_business_errors_are_not_retried(mode: str) -> None:
    env = Env(mode)
    nobody = env._client(mode, NO_RELATION_KEY, {})  # follows nobody
    with pytest.raises(FollowerNotFoundError):
        await env.call("list_leaders", client=nobody)
    assert len(env.sent) == 1
    assert env.clock.sleeps == []


@pytest.mark.parametrize("mode", MODES)
async def test_max_retries_zero(mode: str) -> None:
    env = Env(mode, max_retries=0)
    env.exchange.script(server_error())
    with pytest.raises(UnknownServerError):
        await env.call("list_leaders")
    assert len(env.sent) == 1


def test_max_retries_must_not_be_negative() -> None:
    with pytest.raises(ValueError, match="max_retries"):
        FollowerClient(DEMO_API_KEY, DEMO_API_SECRET, max_retries=-1)


# ---- PUT: full replacements, retried; outcome unknown when every attempt fails -----------
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(("name", "args", "method"), PUT_CALLS)
async def test_put_5xx_then_success_resends_the_same_body(
    mode: str, name: str, args: tuple[Any, ...], method: str
) -> None:
    env = Env(mode)
    env.exchange.script(server_error())
    assert await env.call(name, *args) is None
    assert [r.method for r in env.sent] == [method, method]
    assert env.sent[0].content == env.sent[1].content
    assert_fresh_signatures(env.sent)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(("name", "args", "method"), PUT_CALLS)
@pytest.mark.parametrize("failure", ["500", "timeout"])
async def test_put_failing_every_time_is_outcome_unknown(
    mode: str, name: str, args: tuple[Any, ...], method: str, failure: str
) -> None:
    env = Env(mode)
    answer = server_error() if failure == "500" else raising(httpx.ReadTimeout)
    env.exchange.script(*[answer] * 3)
    with pytest.raises(OutcomeUnknownError) as caught:
        await env.call(name, *args)
    assert len(env.sent) == 3
    expected = UnknownServerError if failure == "500" else APITimeoutError
    assert isinstance(caught.value.error, expected)
    assert caught.value.method == "PUT"


# ---- DELETE: never repeated after 5XX or timeout ------------------------------------------
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("failure", ["500", "502-html", "503-empty", "read-timeout", "read-error"])
async def test_delete_outcome_unknown_sends_exactly_one_request(mode: str, failure: str) -> None:
    env = Env(mode)
    answer: Any = {
        "500": server_error(),
        "502-html": html_502(),
        "503-empty": httpx.Response(503),
        "read-timeout": raising(httpx.ReadTimeout),
        "read-error": raising(httpx.ReadError),
    }[failure]
    env.exchange.script(answer)
    with pytest.raises(OutcomeUnknownError) as caught:
        await env.call("cancel_leader", K7)
    assert len(env.sent) == 1
    assert env.clock.sleeps == []
    assert caught.value.method == "DELETE"
    assert caught.value.path == f"/api/v2/copy-trading/follower/leaders/{K7}"
    if failure == "502-html":
        assert isinstance(caught.value.error, UnexpectedResponseError)
        assert caught.value.status_code == 502
    # the scripted failure applied nothing, the client did not repeat: still following
    assert [
        leader.leader_user_id for leader in await env.call("list_leaders", client=env.second)
    ] == [K7]


@pytest.mark.parametrize("mode", MODES)
async def test_delete_not_sent_is_retried(mode: str) -> None:
    env = Env(mode)
    env.exchange.script(raising(httpx.ConnectError))
    assert await env.call("cancel_leader", K7) is None
    assert len(env.sent) == 2
    with pytest.raises(FollowerNotFoundError):  # the simulator applied it: follows nobody
        await env.call("list_leaders", client=env.second)


@pytest.mark.parametrize("mode", MODES)
async def test_delete_rate_limited_is_retried(mode: str) -> None:
    # a 429 means the server refused the request: nothing changed, repeating is safe
    env = Env(mode)
    env.exchange.script(too_many(reset_ms=NOW_MS + 250))
    assert await env.call("cancel_leader", K7) is None
    assert env.clock.sleeps == [0.25]
    assert len(env.sent) == 2


# ---- rate limits ------------------------------------------------------------------------
@pytest.mark.parametrize("mode", MODES)
async def test_429_waits_until_the_reset_timestamp(mode: str) -> None:
    env = Env(mode)
    env.exchange.script(too_many(reset_ms=NOW_MS + 1500))
    assert len(await env.call("list_leaders")) == 1
    assert env.clock.sleeps == [1.5]
    assert len(env.sent) == 2
    assert_fresh_signatures(env.sent)
    assert env.sent[1].url.params["timestamp"] == str(NOW_MS + 1500)


@pytest.mark.parametrize("mode", MODES)
async def test_429_reset_uses_the_synced_server_clock(mode: str) -> None:
    env = Env(mode, SimExchange(server_offset_ms=10_000))
    await env.call("sync_time")
    env.exchange.script(too_many(reset_ms=NOW_MS + 10_000 + 2000))
    await env.call("list_leaders")
    assert env.clock.sleeps == [2.0]


@pytest.mark.parametrize("mode", MODES)
async def test_429_with_too_long_a_wait_raises_at_once(mode: str) -> None:
    env = Env(mode)
    env.exchange.script(too_many(reset_ms=NOW_MS + 120_000))
    with pytest.raises(RateLimitError) as caught:
        await env.call("list_leaders")
    assert caught.value.retry_after == 120.0
    assert caught.value.code == -1003 and caught.value.status_code == 429
    assert caught.value.rate_limit.reset_timestamp_ms == NOW_MS + 120_000
    assert env.clock.sleeps == []
    assert len(env.sent) == 1


@pytest.mark.parametrize("mode", MODES)
async def test_max_rate_limit_wait_is_configurable(mode: str) -> None:
    env = Env(mode, max_rate_limit_wait=1.0)
    env.exchange.script(too_many(reset_ms=NOW_MS + 1500))
    with pytest.raises(RateLimitError):
        await env.call("list_leaders")
    assert env.clock.sleeps == []


@pytest.mark.parametrize("mode", MODES)
async def test_429_retry_after_when_no_reset_header(mode: str) -> None:
    env = Env(mode)
    env.exchange.script(too_many(retry_after="3"))
    await env.call("list_leaders")
    assert env.clock.sleeps == [3.0]


@pytest.mark.parametrize("mode", MODES)
async def test_429_every_time_gives_up_after_max_retries(mode: str) -> None:
    env = Env(mode)
    env.exchange.script(*[too_many(reset_ms=NOW_MS + 100)] * 3)
    with pytest.raises(RateLimitError):
        await env.call("list_leaders")
    assert len(env.sent) == 3
    assert len(env.clock.sleeps) == 2


@pytest.mark.parametrize("mode", MODES)
async def test_418_ban_raises_without_waiting(mode: str) -> None:
    env = Env(mode)
    env.exchange.script(too_many(reset_ms=NOW_MS + 180_000, status=418))
    with pytest.raises(IPBannedError) as caught:
        await env.call("list_leaders")
    assert caught.value.retry_after == 180.0
    assert env.clock.sleeps == []
    assert len(env.sent) == 1


@pytest.mark.parametrize("mode", MODES)
async def test_rate_limit_in_a_200_envelope(mode: str) -> None:
    env = Env(mode)
    env.exchange.script(too_many(reset_ms=NOW_MS + 500, status=200))
    await env.call("list_leaders")
    assert env.clock.sleeps == [0.5]


# ---- -1021: re-sync the clock once, retry once -------------------------------------------
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("skew_ms", [30_000, -30_000])
@pytest.mark.parametrize(("name", "args", "method"), [GET_CALL, *PUT_CALLS, DELETE_CALL])
async def test_timestamp_error_resyncs_and_retries_once(
    mode: str, skew_ms: int, name: str, args: tuple[Any, ...], method: str
) -> None:
    env = Env(mode, SimExchange(server_offset_ms=skew_ms))
    await env.call(name, *args)
    first, time_request, retry = env.sent
    assert time_request.url.path == "/api/v1/time"
    assert first.method == retry.method == method
    assert first.url.path == retry.url.path
    assert first.content == retry.content
    assert int(retry.url.params["timestamp"]) - int(first.url.params["timestamp"]) == skew_ms
    assert retry.url.params["signature"] != first.url.params["signature"]
    assert env.client_for(name).clock_offset_ms == skew_ms
    assert env.clock.sleeps == []
    # later calls are signed with the synced clock right away
    if method != "DELETE":
        await env.call(name, *args)
        assert len(env.sent) == 4


@pytest.mark.parametrize("mode", MODES)
async def test_timestamp_error_twice_raises(mode: str) -> None:
    env = Env(mode)
    refused = httpx.Response(
        401, json={"code": ErrorCode.INVALID_TIMESTAMP, "msg": "Timestamp outside recvWindow."}
    )
    env.exchange.script(refused, httpx.Response(200, json={"serverTime": NOW_MS}), refused)
    with pytest.raises(TimestampError):
        await env.call("list_leaders")
    assert [r.url.path for r in env.sent][1] == "/api/v1/time"
    assert len(env.sent) == 3


@pytest.mark.parametrize("mode", MODES)
async def test_a_clock_that_drifts_later_is_resynced(mode: str) -> None:
    env = Env(mode)
    await env.call("list_leaders")
    env.exchange.server_offset_ms = 8000  # the local clock falls 8 s behind the server's
    await env.call("list_leaders")
    assert env.paths()[1:] == [env.paths()[0], "/api/v1/time", env.paths()[0]]
    assert env.client.clock_offset_ms == 8000


# ---- the simulator's own failures ---------------------------------------------------------
@pytest.mark.parametrize("mode", MODES)
async def test_the_used_up_weight_is_waited_out_without_a_429(mode: str) -> None:
    env = Env(mode, SimExchange(options=SimOptions(rate_limit=1)))
    await env.call("list_leaders")  # X-Api-Limit-Status: 0 left in this minute
    env.clock.advance(0.5)
    assert len(await env.call("list_leaders")) == 1  # sent when the next minute starts
    assert env.clock.sleeps == [59.5]
    assert len(env.sent) == 2


@pytest.mark.parametrize("mode", MODES)
async def test_the_simulators_429_is_waited_out(mode: str) -> None:
    # another client of the key (another process) spends the weight this one counted on
    env = Env(mode, SimExchange(options=SimOptions(rate_limit=2, rate_window_ms=2000)))
    await env.call("list_leaders")
    await env.call("list_leaders", client=env._client(mode, DEMO_API_KEY, {}))
    env.clock.advance(0.5)
    assert len(await env.call("list_leaders")) == 1  # 429, wait for the next window, retry
    assert env.clock.sleeps == [1.5]
    assert len(env.sent) == 4


@pytest.mark.parametrize("mode", MODES)
async def test_the_simulators_dropped_connections_are_retried_then_raised(mode: str) -> None:
    env = Env(mode, SimExchange(options=SimOptions(faults="drop=1")))
    with pytest.raises(APIConnectionError):
        await env.call("list_leaders")
    assert len(env.sent) == 1 + constants.DEFAULT_MAX_RETRIES
    with pytest.raises(OutcomeUnknownError):  # a DELETE whose connection broke: not repeated
        await env.call("cancel_leader", K7)
    assert len(env.sent) == 2 + constants.DEFAULT_MAX_RETRIES
