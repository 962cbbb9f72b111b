"""Issue 17, items 1-5: one regression test per defect found against real sockets.

Every test talks to the scriptable server of ``loopback.py`` on 127.0.0.1 (started and
stopped by the test), with a key of its own (clients of one key and host share a
rate-limit gate) and, unless the test is about the bounds, a sleep that barely sleeps.
A call that the gate would hold for good is stopped by ``SleepGuard`` (``Stranded``) or
``asyncio.wait_for``, so a regression fails in seconds instead of hanging.

a. an empty body (Content-Length: 0) is a typed error; an empty 5XX read is retried, an
   empty 502 PUT too, a DELETE is outcome-unknown; the CLI exits 9, not 1.
b. the first call of a key (the gate's probe) ending in an empty body or a raw exception
   leaves the key usable, for any client of it.
c. an empty-bodied 429 / 418 is a rate limit and blocks the key.
d. a cancelled call, a Ctrl-C, and 50 cancelled calls give back what they hold.
e. a stalled attempt is retried within the call's bound (``attempt_timeout``), and no
   call runs past ``timeout``.
f. a write answered code 200 is a success whatever its ``data``.
g. absurd rate-limit headers are a typed rate limit, never OverflowError.
h. the block of a 429/418 can be read (``rate_limit_block``) and cleared.
i. a clock re-sync answered -1021 is not re-synced again (and again...).
j. the core's nested steps on the wire: a re-sync that works is followed by the retry,
   and ``body_signing="auto"`` probes once for concurrent first writes (threads, tasks).
"""

from __future__ import annotations

import asyncio
import inspect
import io
import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from loopback import (
    DEMO_SECRET,
    Action,
    LoopbackServer,
    SleepGuard,
    Stranded,
    answer,
    fresh_key,
    stall,
    success_body,
)
from toobit_follower import (
    APITimeoutError,
    AsyncFollowerClient,
    DeadlineExceededError,
    ErrorCode,
    FollowConfig,
    FollowerClient,
    IPBannedError,
    Leader,
    OutcomeUnknownError,
    RateLimitError,
    TimestampError,
    ToobitError,
    UnexpectedResponseError,
)

MODES = ["sync", "async"]
LEADER = 123456789
JSON = [("Content-Type", "application/json")]
SLACK = 1.0
"""How far past a bound a call may end (scheduling on a shared machine)."""

# name -> (operationId, arguments, HTTP method)
OPERATIONS: dict[str, tuple[str, tuple[Any, ...], str]] = {
    "list_leaders": ("listLeaders", (), "GET"),
    "get_follow_config": ("getFollowConfig", (LEADER,), "GET"),
    "update_stop_profit_loss": ("updateStopProfitLoss", (LEADER, "BTC-SWAP-USDT", 1), "PUT"),
    "cancel_leader": ("cancelLeader", (LEADER,), "DELETE"),
}


# ---- helpers ------------------------------------------------------------------------
def good(name: str, headers: list[tuple[str, str]] | None = None) -> Action:
    """The spec's success answer of the operation."""
    return answer(200, success_body(OPERATIONS[name][0]), JSON + (headers or []))


def empty(status: int, headers: list[tuple[str, str]] | None = None) -> Action:
    """An answer with ``Content-Length: 0``, as load balancers send."""
    return answer(status, b"", headers or [])


def envelope(status: int, code: int, headers: list[tuple[str, str]] | None = None) -> Action:
    return answer(
        status, json.dumps({"code": code, "msg": "refused"}).encode(), JSON + (headers or [])
    )


def now_ms() -> int:
    return int(time.time() * 1000)


def make(
    mode: str,
    server: LoopbackServer,
    *,
    key: str | None = None,
    guard: SleepGuard | None = None,
    **kwargs: Any,
) -> Any:
    """A client of ``server``: timeout 2 s, one retry, no waiting for a rate limit, and a
    sleep that barely sleeps (unless given otherwise)."""
    options: dict[str, Any] = {"timeout": 2.0, "max_retries": 1, "max_rate_limit_wait": 0}
    options.update(kwargs)
    guard = guard or SleepGuard()
    if mode == "sync":
        options.setdefault("sleep", guard)
        return FollowerClient(key or fresh_key(), DEMO_SECRET, base_url=server.url, **options)
    options.setdefault("sleep", guard.async_sleep)
    return AsyncFollowerClient(key or fresh_key(), DEMO_SECRET, base_url=server.url, **options)


async def call(client: Any, name: str, *args: Any) -> Any:
    """``client.name(*args)`` (the operation's arguments when none are given), awaited
    when the client is async."""
    result = getattr(client, name)(*(args or OPERATIONS[name][1]))
    if inspect.isawaitable(result):
        result = await asyncio.wait_for(result, 30)  # a stuck call fails, never hangs
    return result


async def close(client: Any) -> None:
    result = client.close()
    if inspect.isawaitable(result):
        await result


def typed(name: str, result: Any) -> bool:
    if name == "get_follow_config":
        return isinstance(result, FollowConfig)
    if name == "list_leaders":
        return isinstance(result, list) and all(isinstance(item, Leader) for item in result)
    return result is None


@contextmanager
def serving(*script: Action, default: Action | None = None) -> Iterator[LoopbackServer]:
    with LoopbackServer(script, default=default) as server:
        yield server
    assert not server.errors


async def next_call_goes_out(
    client: Any, server: LoopbackServer, guard: SleepGuard, name: str = "list_leaders"
) -> None:
    """The next call is sent at once and succeeds within its own timeout (2 s)."""
    before = server.count
    guard.arm(2.0 + SLACK)
    started = time.monotonic()
    try:
        result = await call(client, name)
    except Stranded as exc:
        raise AssertionError(f"the key is stranded: the next call never went out ({exc})") from None
    assert typed(name, result)
    assert server.count == before + 1
    assert time.monotonic() - started < 2.0


# ---- a. an empty body ---------------------------------------------------------------
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("status", [200, 400, 502, 503])
@pytest.mark.parametrize("name", ["list_leaders", "update_stop_profit_loss"])
async def test_an_empty_answer_is_a_typed_error(mode: str, status: int, name: str) -> None:
    with serving(default=empty(status)) as server:
        client = make(mode, server)
        with pytest.raises(ToobitError) as caught:
            await call(client, name)
        await close(client)
    error = caught.value
    retried = status >= 500 and OPERATIONS[name][2] in ("GET", "PUT")
    if OPERATIONS[name][2] == "GET":
        assert type(error) is UnexpectedResponseError
    else:  # nobody knows whether the write was applied
        assert isinstance(error, OutcomeUnknownError)
        assert type(error.error) is UnexpectedResponseError
    assert error.status_code == status
    assert server.count == (2 if retried else 1)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("status", [502, 503])
async def test_an_empty_5xx_read_is_retried_and_succeeds(mode: str, status: int) -> None:
    with serving(empty(status), default=good("list_leaders")) as server:
        client = make(mode, server)
        assert typed("list_leaders", await call(client, "list_leaders"))
        await close(client)
    assert server.count == 2


@pytest.mark.parametrize("mode", MODES)
async def test_an_empty_502_put_is_retried_and_succeeds(mode: str) -> None:
    with serving(empty(502), default=good("update_stop_profit_loss")) as server:
        client = make(mode, server)
        assert await call(client, "update_stop_profit_loss") is None
        await close(client)
    first, second = server.requests
    assert first.method == second.method == "PUT"
    assert json.loads(first.body) == json.loads(second.body)


@pytest.mark.parametrize("mode", MODES)
async def test_an_empty_502_delete_is_outcome_unknown_and_never_repeated(mode: str) -> None:
    with serving(empty(502), default=good("cancel_leader")) as server:
        client = make(mode, server)
        with pytest.raises(OutcomeUnknownError) as caught:
            await call(client, "cancel_leader")
        await close(client)
    assert type(caught.value.error) is UnexpectedResponseError
    assert server.count == 1


def cli_main() -> Any:
    """The command line's ``main(argv, ...)`` (its package is being moved)."""
    try:
        from toobit_follower_cli import main  # type: ignore[import-not-found]
    except ImportError:
        from toobit_follower.cli import main
    return main


def run_cli(server: LoopbackServer, argv: list[str], home: Path) -> tuple[int, str, str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("TOOBIT_")}
    environ |= {
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "TOOBIT_API_KEY": fresh_key("Cli"),
        "TOOBIT_API_SECRET": DEMO_SECRET,
    }
    out, err = io.StringIO(), io.StringIO()
    code = cli_main()(
        ["--base-url", server.url, *argv],
        stdout=out,
        stderr=err,
        stdin=io.StringIO(""),
        environ=environ,
    )
    return code, out.getvalue(), err.getvalue()


@pytest.mark.parametrize(
    "argv", [["leaders"], ["leaders", "cancel", str(LEADER), "--yes"]], ids=["read", "write"]
)
def test_the_cli_exits_9_on_an_empty_502(argv: list[str], tmp_path: Path) -> None:
    with serving(default=empty(502)) as server:
        code, _, err = run_cli(server, ["--timeout", "4", *argv], tmp_path)
    assert code == 9, err  # no usable answer / outcome unknown, not 1 (any other error)
    assert "ResponseNotRead" not in err
    assert "502" in err


def test_the_cli_sets_both_bounds(tmp_path: Path) -> None:
    with serving(stall(5.0), default=good("list_leaders")) as server:
        argv = ["--timeout", "3", "--attempt-timeout", "0.5", "--json", "leaders"]
        code, out, err = run_cli(server, argv, tmp_path)
    assert code == 0, err
    assert json.loads(out)
    assert server.count == 2  # the stalled attempt was given up after 0.5 s, and retried


# ---- b. the gate's probe ending badly -----------------------------------------------
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("status", [200, 502])
async def test_an_empty_first_answer_does_not_strand_the_key(mode: str, status: int) -> None:
    key = fresh_key()
    guard = SleepGuard()
    with serving(empty(status), default=good("list_leaders")) as server:
        first = make(mode, server, key=key, guard=guard, max_retries=0)
        with pytest.raises(Exception):  # typed or not (item a), the key must survive it
            await call(first, "list_leaders")
        assert server.count == 1
        await next_call_goes_out(first, server, guard)  # the same client
        other = make(mode, server, key=key, guard=guard)  # another client of the key
        await next_call_goes_out(other, server, guard)
        await close(first)
        await close(other)


class RaisingFirst(httpx.BaseTransport, httpx.AsyncBaseTransport):
    """Raises ``exc`` for the first request, then answers the spec's success."""

    def __init__(self, exc: BaseException, name: str = "list_leaders") -> None:
        self.exc = exc
        self.body = success_body(OPERATIONS[name][0])
        self.requests = 0

    def _handle(self) -> httpx.Response:
        self.requests += 1
        if self.requests == 1:
            raise self.exc
        return httpx.Response(200, content=self.body, headers=dict(JSON))

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        return self._handle()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return self._handle()


def transport_client(mode: str, transport: RaisingFirst, guard: SleepGuard) -> Any:
    cls = FollowerClient if mode == "sync" else AsyncFollowerClient
    sleep = guard if mode == "sync" else guard.async_sleep
    return cls(
        fresh_key(),
        DEMO_SECRET,
        base_url="http://127.0.0.1:9",
        transport=transport,
        timeout=2.0,
        max_retries=0,
        sleep=sleep,
    )


@pytest.mark.parametrize("mode", MODES)
async def test_a_raw_exception_in_the_first_call_does_not_strand_the_gate(mode: str) -> None:
    guard = SleepGuard()
    transport = RaisingFirst(RuntimeError("a bug below the client"))
    client = transport_client(mode, transport, guard)
    with pytest.raises((RuntimeError, ToobitError)):
        await call(client, "list_leaders")
    guard.arm(2.0 + SLACK)
    try:
        assert typed("list_leaders", await call(client, "list_leaders"))
    except Stranded:
        raise AssertionError("the gate stays probing after a raw exception") from None
    assert transport.requests == 2
    await close(client)


# ---- c. an empty-bodied 429 / 418 ---------------------------------------------------
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("status", [429, 418])
@pytest.mark.parametrize("length", ["zero", "absent"])
@pytest.mark.parametrize("when", ["first call", "after a good call"])
async def test_an_empty_429_or_418_blocks_the_key(
    mode: str, status: int, length: str, when: str
) -> None:
    limited = answer(status, b"", length=0 if length == "zero" else None)
    script = [good("list_leaders"), limited] if when == "after a good call" else [limited]
    with serving(*script, default=good("list_leaders")) as server:
        client = make(mode, server)
        if when == "after a good call":
            await call(client, "list_leaders")
        with pytest.raises(RateLimitError) as caught:
            await call(client, "list_leaders")
        assert caught.value.status_code == status
        assert isinstance(caught.value, IPBannedError) == (status == 418)
        sent = server.count
        for _ in range(5):  # the block lasts 0.5 s at least: these take microseconds
            with pytest.raises(RateLimitError):
                await call(client, "list_leaders")
        assert server.count == sent, "calls were sent through the block"
        await close(client)


# ---- d. cancelled and interrupted calls ---------------------------------------------
@pytest.mark.parametrize("how", ["wait_for", "asyncio.timeout", "task group"])
async def test_a_cancelled_first_call_does_not_strand_the_key(how: str) -> None:
    key = fresh_key()
    with serving(stall(2.0), default=good("list_leaders")) as server:
        client = make("async", server, key=key, timeout=5.0)
        with pytest.raises(TimeoutError):
            if how == "wait_for":
                await asyncio.wait_for(client.list_leaders(), 0.3)
            elif how == "asyncio.timeout":
                async with asyncio.timeout(0.3):
                    await client.list_leaders()
            else:

                async def give_up() -> None:
                    await asyncio.sleep(0.3)
                    raise TimeoutError

                try:
                    async with asyncio.TaskGroup() as group:
                        group.create_task(client.list_leaders())
                        group.create_task(give_up())
                except* TimeoutError as caught:
                    raise TimeoutError from caught
        assert server.count == 1
        for each in (client, make("async", server, key=key)):
            started = time.monotonic()
            try:
                leaders = await asyncio.wait_for(each.list_leaders(), 2.0 + SLACK)
            except TimeoutError:
                raise AssertionError("the key is stranded by a cancelled call") from None
            assert typed("list_leaders", leaders)
            assert time.monotonic() - started < 2.0
            await each.close()
        assert server.count == 3


async def test_cancelled_calls_admitted_from_a_known_budget_give_their_weight_back() -> None:
    budget = [("X-Api-Limit-Status", "100"), ("X-Api-Limit", "3000")]
    first = good("list_leaders", [*budget, ("X-Api-Limit-Reset-Timestamp", str(now_ms()))])
    with serving(first, *[stall(3.0)] * 50, default=good("list_leaders")) as server:
        client = make("async", server, timeout=5.0)
        await client.list_leaders()  # the probe: now the gate knows 100 are left
        gate = client._gate  # private, read only: what the gate holds
        assert gate._budget == 100
        assert gate._in_flight == 0
        tasks = [asyncio.create_task(client.list_leaders()) for _ in range(50)]
        assert await asyncio.to_thread(server.wait_for, 51, 3.0), "not all 50 were sent"
        assert gate._in_flight == 50  # each holds its weight while on its way
        for task in tasks:
            task.cancel()
        results = await asyncio.gather(*tasks, return_exceptions=True)
        assert all(isinstance(result, asyncio.CancelledError) for result in results)
        assert gate._in_flight == 0, f"{gate._in_flight} units stay reserved for good"
        started = time.monotonic()
        assert typed("list_leaders", await asyncio.wait_for(client.list_leaders(), 2.0))
        assert time.monotonic() - started < 1.0
        assert gate._in_flight == 0
        await client.close()


def test_ctrl_c_inside_a_first_sync_call_leaves_the_gate_usable() -> None:
    guard = SleepGuard()
    transport = RaisingFirst(KeyboardInterrupt())
    client = transport_client("sync", transport, guard)
    with pytest.raises(KeyboardInterrupt):
        client.list_leaders()
    gate = client._gate
    assert gate._in_flight == 0
    guard.arm(2.0 + SLACK)
    try:
        assert typed("list_leaders", client.list_leaders())
    except Stranded:
        raise AssertionError("the gate stays probing after Ctrl-C") from None
    assert transport.requests == 2
    client.close()


def test_ctrl_c_in_a_backoff_sleep_leaves_the_gate_usable() -> None:
    def interrupted(seconds: float) -> None:
        raise KeyboardInterrupt

    with serving(answer(502, b"<html>502</html>"), default=good("list_leaders")) as server:
        key = fresh_key()
        client = FollowerClient(
            key, DEMO_SECRET, base_url=server.url, timeout=2.0, sleep=interrupted
        )
        with pytest.raises(KeyboardInterrupt):
            client.list_leaders()
        assert client._gate._in_flight == 0
        guard = SleepGuard()
        other = make("sync", server, key=key, guard=guard)
        asyncio.run(next_call_goes_out(other, server, guard))
        client.close()
        other.close()


# ---- e. two bounds: each attempt, the whole call ------------------------------------
@pytest.mark.parametrize("cls", [FollowerClient, AsyncFollowerClient])
def test_the_default_bounds(cls: type[Any]) -> None:
    def bounds(**kwargs: Any) -> tuple[float, float]:
        client = cls(fresh_key(), DEMO_SECRET, base_url="http://127.0.0.1:9", **kwargs)
        result = (client.timeout, client.attempt_timeout)
        closed = client.close()
        if inspect.isawaitable(closed):
            asyncio.run(closed)
        return result

    assert bounds() == (30.0, 10.0)  # the whole call; each attempt
    assert bounds(timeout=3) == (3.0, pytest.approx(1.0))  # auto: a third of the call
    assert bounds(timeout=1) == (1.0, pytest.approx(1 / 3))
    assert bounds(timeout=90) == (90.0, 10.0)  # at most 10 s
    assert bounds(timeout=3, attempt_timeout=0.5) == (3.0, 0.5)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", ["list_leaders", "update_stop_profit_loss"])
@pytest.mark.parametrize(
    "bounds",
    [
        {"timeout": 3.0},
        {"timeout": 1.0, "max_retries": 5},
        {"timeout": 3.0, "attempt_timeout": 0.5},
    ],
    ids=["timeout=3 (attempt 1 s)", "timeout=1 (attempt 0.33 s)", "explicit attempt 0.5 s"],
)
async def test_a_stalled_first_attempt_is_retried(
    mode: str, name: str, bounds: dict[str, float]
) -> None:
    with serving(stall(5.0), default=good(name)) as server:
        client = make(mode, server, **{"max_retries": 2, **bounds})
        started = time.monotonic()
        assert typed(name, await call(client, name))
        took = time.monotonic() - started
        await close(client)
    assert server.count == 2
    assert took < bounds["timeout"]
    assert server.requests[0].method == server.requests[1].method == OPERATIONS[name][2]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", ["list_leaders", "update_stop_profit_loss"])
async def test_no_call_runs_past_its_overall_bound(mode: str, name: str) -> None:
    # attempt 1 ends at 1.2 s, attempt 2 (at most 0.5 s of backoff later) would end past
    # 2 s: the call's bound cuts it, whatever the backoff policy
    with serving(default=stall(10.0)) as server:
        client = make(mode, server, timeout=2.0, attempt_timeout=1.2, max_retries=5)
        started = time.monotonic()
        with pytest.raises(ToobitError) as caught:
            await call(client, name)
        took = time.monotonic() - started
        await close(client)
    error = caught.value
    if OPERATIONS[name][2] == "GET":
        assert isinstance(error, DeadlineExceededError)
    else:
        assert isinstance(error, OutcomeUnknownError)
        assert isinstance(error.error, DeadlineExceededError)
    assert server.count == 2
    assert took < 2.0 + 0.5


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", ["list_leaders", "update_stop_profit_loss"])
async def test_a_stalled_call_with_an_automatic_attempt_bound_is_tried_again(
    mode: str, name: str
) -> None:
    with serving(default=stall(10.0)) as server:
        client = make(mode, server, timeout=2.0, max_retries=5)  # attempts of 0.67 s
        started = time.monotonic()
        with pytest.raises(ToobitError) as caught:
            await call(client, name)
        took = time.monotonic() - started
        await close(client)
    error = caught.value
    if isinstance(error, OutcomeUnknownError):
        assert OPERATIONS[name][2] == "PUT"
        error = error.error
    assert isinstance(error, APITimeoutError)  # of the attempt, or the call's deadline
    assert server.count > 1
    assert took < 2.0 + 0.5


@pytest.mark.parametrize("mode", MODES)
async def test_a_stalled_delete_is_outcome_unknown_after_one_attempt(mode: str) -> None:
    with serving(default=stall(10.0)) as server:
        client = make(mode, server, timeout=2.0, max_retries=5)
        started = time.monotonic()
        with pytest.raises(OutcomeUnknownError) as caught:
            await call(client, "cancel_leader")
        took = time.monotonic() - started
        await close(client)
    assert isinstance(caught.value.error, APITimeoutError)
    assert server.count == 1  # a DELETE is never repeated
    assert took < 2.0 + 0.5


# ---- f. a write's success is code 200 -----------------------------------------------
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", ["update_stop_profit_loss", "cancel_leader"])
@pytest.mark.parametrize("data", ["{}", "true", "[]", '"ok"', "0"])
async def test_a_write_answered_code_200_with_data_is_a_success(
    mode: str, name: str, data: str
) -> None:
    body = b'{"code":200,"msg":"success","data":' + data.encode() + b"}"
    with serving(default=answer(200, body, JSON)) as server:
        client = make(mode, server)
        assert await call(client, name) is None
        await close(client)
    assert server.count == 1


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("list_leaders", "{}"),
        ("list_leaders", "true"),
        ("list_leaders", '[{"leaderUserId":{"id":1}}]'),
        ("get_follow_config", "[]"),
        ("get_follow_config", "true"),
        ("get_follow_config", '{"leaderUserId":[1]}'),
    ],
)
async def test_a_read_whose_data_has_the_wrong_shape_stays_unexpected(
    mode: str, name: str, data: str
) -> None:
    body = b'{"code":200,"msg":"success","data":' + data.encode() + b"}"
    with serving(default=answer(200, body, JSON)) as server:
        client = make(mode, server)
        with pytest.raises(UnexpectedResponseError):
            await call(client, name)
        await close(client)


# ---- g. absurd rate-limit headers ---------------------------------------------------
ABSURD = {
    "reset of 400 digits": [("X-Api-Limit-Reset-Timestamp", "9" * 400)],
    "Retry-After inf": [("Retry-After", "inf")],
    "Retry-After nan": [("Retry-After", "nan")],
    "Retry-After 1e400": [("Retry-After", "1e400")],
    "Retry-After of 400 digits": [("Retry-After", "9" * 400)],
    "Retry-After -1": [("Retry-After", "-1")],
}


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("status", [429, 418])
@pytest.mark.parametrize("headers", list(ABSURD.values()), ids=list(ABSURD))
async def test_absurd_rate_limit_headers_are_a_typed_rate_limit(
    mode: str, status: int, headers: list[tuple[str, str]]
) -> None:
    limited = envelope(status, ErrorCode.TOO_MANY_REQUESTS, headers)
    with serving(limited, default=good("list_leaders")) as server:
        client = make(mode, server)
        with pytest.raises(RateLimitError) as caught:
            await call(client, "list_leaders")
        assert caught.value.status_code == status
        for _ in range(3):  # blocked (a typed RateLimitError) or, once over, answered
            try:
                assert typed("list_leaders", await call(client, "list_leaders"))
            except ToobitError as exc:
                assert isinstance(exc, RateLimitError), repr(exc)
        await close(client)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("reset", ["9" * 400, "-" + "9" * 400])
async def test_an_absurd_reset_on_a_success_never_overflows_later(mode: str, reset: str) -> None:
    headers = [("X-Api-Limit-Status", "0"), ("X-Api-Limit-Reset-Timestamp", reset)]
    with serving(good("list_leaders", headers), default=good("list_leaders")) as server:
        client = make(mode, server)
        assert typed("list_leaders", await call(client, "list_leaders"))
        # the weight left is 0 until a window whose end cannot be a float: ask the server
        for _ in range(3):
            assert typed("list_leaders", await call(client, "list_leaders"))
        await close(client)
    assert server.count == 4


# ---- h. the block: until when, and clearing it --------------------------------------
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    ("status", "hours"), [(429, 10), (418, 72)], ids=["429 for 10 hours", "418 for 3 days"]
)
async def test_the_block_can_be_read_and_cleared(mode: str, status: int, hours: int) -> None:
    from toobit_follower import RateLimitBlock

    assert RateLimitBlock._fields == ("until_ms", "seconds_left", "status_code", "code")
    key = fresh_key()
    until = now_ms() + hours * 3_600_000
    limited = envelope(
        status, ErrorCode.TOO_MANY_REQUESTS, [("X-Api-Limit-Reset-Timestamp", str(until))]
    )
    with serving(limited, default=good("list_leaders")) as server:
        client = make(mode, server, key=key)
        assert client.rate_limit_block is None
        with pytest.raises(RateLimitError):
            await call(client, "list_leaders")
        block = client.rate_limit_block
        assert isinstance(block, RateLimitBlock)
        assert block.until_ms == until
        assert hours * 3600 - 60 < block.seconds_left <= hours * 3600
        assert block.status_code == status
        assert block.code == ErrorCode.TOO_MANY_REQUESTS
        other = make(mode, server, key=key)  # the block is the key's, not one client's
        seen = other.rate_limit_block
        assert seen is not None
        assert (seen.until_ms, seen.status_code, seen.code) == (until, status, block.code)
        with pytest.raises(RateLimitError):
            await call(other, "list_leaders")
        assert server.count == 1
        other.clear_rate_limit_block()
        assert client.rate_limit_block is None
        assert other.rate_limit_block is None
        assert typed("list_leaders", await call(client, "list_leaders"))
        assert server.count == 2
        await close(client)
        await close(other)


# ---- i. the clock re-sync ------------------------------------------------------------
@pytest.mark.parametrize("mode", MODES)
async def test_a_resync_answered_minus_1021_is_not_resynced_again(mode: str) -> None:
    with serving(default=envelope(400, ErrorCode.INVALID_TIMESTAMP)) as server:
        client = make(mode, server)
        with pytest.raises(TimestampError):
            await call(client, "list_leaders")
        await close(client)
    paths = [request.path for request in server.requests]
    # the call, one re-sync (GET /api/v1/time, answered -1021 too), and nothing more
    assert len(paths) <= 3, f"{len(paths)} requests: {paths[:6]}..."


# ---- j. nested steps over the wire: a re-sync that works, the auto signing probe --------
@pytest.mark.parametrize("mode", MODES)
async def test_a_resync_that_works_is_followed_by_the_retry(mode: str) -> None:
    """-1021, then GET /api/v1/time (the server 30 s ahead), then the call again, signed
    with the new offset: three requests, one socket each."""
    server_time = json.dumps({"serverTime": now_ms() + 30_000}).encode()
    with serving(
        envelope(400, ErrorCode.INVALID_TIMESTAMP),
        answer(200, server_time, JSON),
        good("list_leaders"),
    ) as server:
        client = make(mode, server)
        assert typed("list_leaders", await call(client, "list_leaders"))
        assert 25_000 < client.clock_offset_ms < 35_000
        await close(client)
    paths = [request.path for request in server.requests]
    assert paths == [paths[0], "/api/v1/time", paths[0]]
    stamps = [int(r.target.split("timestamp=")[1].split("&")[0]) for r in server.requests[::2]]
    assert stamps[1] - stamps[0] > 25_000  # the retry is signed afresh, on the server's clock


def _query_only_host(caller_leader: int) -> Any:
    """A host that signs the query alone: a PUT whose signature covers the body is refused
    INVALID_SIGNATURE; the probe's leader is followed by nobody (FOLLOWER_NOT_FOUND)."""
    import hashlib
    import hmac

    from toobit_follower_models.errors import BY_NAME

    def refused(name: str) -> Action:
        return envelope(BY_NAME[name].http_status, BY_NAME[name].code)

    def reply(request: Any) -> Action:
        if request.method == "GET" and request.path.endswith("/leaders"):
            return good("list_leaders")
        if request.method == "GET":
            return refused(ErrorCode.FOLLOWER_NOT_FOUND.name)
        query = request.target.split("?", 1)[1]
        signed, _, signature = query.rpartition("&signature=")
        mac = hmac.new(DEMO_SECRET.encode(), signed.encode(), hashlib.sha256).hexdigest()
        if mac != signature:
            return refused(ErrorCode.INVALID_SIGNATURE.name)
        if json.loads(request.body)["leaderUserId"] != caller_leader:
            return refused(ErrorCode.FOLLOWER_NOT_FOUND.name)
        return good("update_stop_profit_loss")

    return reply


@pytest.mark.parametrize("mode", MODES)
async def test_auto_probes_once_over_the_wire_for_concurrent_first_writes(mode: str) -> None:
    """Four first writes at once (threads, or tasks): one probe (4 requests through the
    gate, on real sockets), the others wait on its lock, and every write is then signed
    with the rule found."""
    with serving(default=_query_only_host(LEADER)) as server:
        # the answers carry no X-Api-Limit-Status, so each call goes alone through the
        # gate: the others may wait for it
        client = make(mode, server, body_signing="auto", max_retries=0, max_rate_limit_wait=10)
        writes = 4
        if mode == "sync":
            import concurrent.futures

            with concurrent.futures.ThreadPoolExecutor(writes) as pool:
                futures = [
                    pool.submit(client.update_stop_profit_loss, LEADER, "BTC-SWAP-USDT", 1)
                    for _ in range(writes)
                ]
                results = [future.result(timeout=30) for future in futures]
        else:
            runs = [call(client, "update_stop_profit_loss") for _ in range(writes)]
            results = await asyncio.gather(*runs)
        assert results == [None] * writes
        assert "query-only (probed)" in repr(client)
        await close(client)
    puts = [json.loads(r.body)["leaderUserId"] for r in server.requests if r.method == "PUT"]
    probes = [leader for leader in puts if leader != LEADER]
    assert len(probes) == 2 and len(set(probes)) == 1  # the harmless PUT, signed both ways
    assert puts.count(LEADER) == writes
    assert len(server.requests) == 4 + writes  # leaders, config, two PUTs; then the writes
