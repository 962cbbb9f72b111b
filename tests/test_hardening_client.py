"""Issue 13, the client's side: it never gets its user banned, never logs a signature,
never hangs, and parses IDs and keys strictly.

Rate-limit tests run many calls on one client against the in-process simulator with a
fake clock whose sleeps let the other tasks (or threads) run; deadline tests use a real
socket server on 127.0.0.1 that drips its answer, started and stopped by each test.
No test waits on the wall clock for more than the few seconds a deadline takes.
"""

from __future__ import annotations

import asyncio
import gzip
import inspect
import io
import json
import logging
import os
import socket
import threading
import tracemalloc
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from test_operations_prepare import _arguments as operation_arguments
from test_sim_support import K7, SECOND_KEY
from toobit_follower import (
    AsyncFollowerClient,
    CredentialsError,
    DeadlineExceededError,
    ErrorCode,
    FollowerClient,
    FollowerNotFoundError,
    IPBannedError,
    OutcomeUnknownError,
    RateLimitError,
    ResponseTooLargeError,
    ToobitAuth,
    UnexpectedResponseError,
    constants,
)
from toobit_follower._operations import prepare
from toobit_follower._ratelimit import GO, PROBE, WAIT_FOR_PROBE, RateLimitGate
from toobit_follower.spec import spec_dict
from toobit_follower_cli import main
from toobit_follower_models.errors import BY_NAME, REQUEST_WEIGHTS
from toobit_follower_models.operations import OPERATIONS
from toobit_follower_sim import SimOptions
from toobit_follower_sim.testing import (
    BASE_URL,
    DEMO_API_KEY,
    DEMO_API_SECRET,
    DEMO_LEADER_ID,
    FakeClock,
    SimExchange,
)

MODES = ["sync", "async"]
NOW_MS = 1717200000000  # the fake clock's start
LEADERS_PATH = "/api/v2/copy-trading/follower/leaders"


# ---- helpers ------------------------------------------------------------------------
class SharedTime:
    """A fake clock for many threads or tasks at once: a sleep lets the others run, then
    moves the clock to the sleeper's wake-up time unless another moved it further (the
    plain FakeClock would add up the sleeps of all waiters)."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.lock = threading.Lock()

    def sleep(self, seconds: float) -> None:
        target = self.clock.now + seconds
        threading.Event().wait(0.0005)  # let the other threads run
        with self.lock:
            self.clock.sleeps.append(seconds)
            self.clock.now = max(self.clock.now, target)

    async def async_sleep(self, seconds: float) -> None:
        target = self.clock.now + seconds
        await asyncio.sleep(0)
        self.clock.sleeps.append(seconds)
        self.clock.now = max(self.clock.now, target)


class Counted(httpx.BaseTransport, httpx.AsyncBaseTransport):
    """A transport that records the status of every answer of the one it wraps."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.statuses: list[int] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response: httpx.Response = self.inner.handle_request(request)
        self.statuses.append(response.status_code)
        return response

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response: httpx.Response = await self.inner.handle_async_request(request)
        self.statuses.append(response.status_code)
        return response


def make_client(
    mode: str,
    exchange: SimExchange,
    *,
    key: str = DEMO_API_KEY,
    transport: Any = None,
    sleep: Any = None,
    **kwargs: Any,
) -> Any:
    clock = exchange.clock
    if mode == "sync":
        return FollowerClient(
            key,
            DEMO_API_SECRET,
            base_url=BASE_URL,
            transport=transport or exchange.transport(),
            sleep=sleep or clock.sleep,
            clock=clock.time,
            **kwargs,
        )
    return AsyncFollowerClient(
        key,
        DEMO_API_SECRET,
        base_url=BASE_URL,
        transport=transport or exchange.async_transport(),
        sleep=sleep or clock.async_sleep,
        clock=clock.time,
        **kwargs,
    )


async def call(client: Any, name: str, *args: Any, **kwargs: Any) -> Any:
    result = getattr(client, name)(*args, **kwargs)
    if inspect.isawaitable(result):
        result = await result
    return result


def limited(status: int, reset_ms: int | None) -> httpx.Response:
    headers = {"X-Api-Limit-Status": "0", "X-Api-Limit": "3000"}
    if reset_ms is not None:
        headers["X-Api-Limit-Reset-Timestamp"] = str(reset_ms)
    row = BY_NAME["IP_BANNED" if status == 418 else "TOO_MANY_REQUESTS"]
    return httpx.Response(status, json={"code": row.code, "msg": row.message}, headers=headers)


# ---- 1. one rate-limit gate per client: no 418, at most one 429 ---------------------
async def test_many_async_tasks_on_one_client_are_never_banned() -> None:
    exchange = SimExchange(options=SimOptions(rate_limit=30))
    counted = Counted(exchange.async_transport())
    time = SharedTime(exchange.clock)
    # no timeout: a fake sleep of one task moves the clock under the others' feet
    client = make_client("async", exchange, transport=counted, sleep=time.async_sleep, timeout=None)

    async def task() -> list[Any]:
        return [await client.list_leaders() for _ in range(5)]

    results = await asyncio.gather(*(task() for _ in range(20)))  # 100 calls, 30 a minute
    assert all(len(leaders) == 1 for calls in results for leaders in calls)
    assert counted.statuses.count(418) == 0
    assert counted.statuses.count(429) <= 1
    assert counted.statuses.count(200) == 100
    await client.close()


def test_many_threads_on_one_client_are_never_banned() -> None:
    exchange = SimExchange(options=SimOptions(rate_limit=30))
    counted = Counted(exchange.transport())
    time = SharedTime(exchange.clock)
    client = make_client("sync", exchange, transport=counted, sleep=time.sleep, timeout=None)
    results: list[int] = []
    failures: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(20):
                results.append(len(client.list_leaders()))
        except BaseException as exc:  # reported below, with the thread's failure
            failures.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]  # 80 calls, 30 a minute
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert results == [1] * 80
    assert counted.statuses.count(418) == 0
    assert counted.statuses.count(429) <= 1
    client.close()


@pytest.mark.parametrize("mode", MODES)
async def test_after_a_429_no_call_is_sent_until_the_reset(mode: str) -> None:
    exchange = SimExchange()
    client = make_client(mode, exchange)
    exchange.script(limited(429, NOW_MS + 120_000))  # further than max_rate_limit_wait
    with pytest.raises(RateLimitError):
        await call(client, "list_leaders")
    with pytest.raises(RateLimitError) as caught:  # raised at once: nothing sent
        await call(client, "get_follow_config", DEMO_LEADER_ID)
    assert len(exchange.requests) == 1
    assert caught.value.retry_after == 120.0
    assert caught.value.rate_limit.reset_timestamp_ms == NOW_MS + 120_000
    exchange.clock.advance(120)  # the reset has come: calls go again
    assert len(await call(client, "list_leaders")) == 1


@pytest.mark.parametrize("mode", MODES)
async def test_a_418_stops_every_call_until_its_time(mode: str) -> None:
    exchange = SimExchange()
    client = make_client(mode, exchange)
    exchange.script(limited(418, NOW_MS + 180_000))
    for name, args in [("list_leaders", ()), ("cancel_leader", (K7,)), ("list_leaders", ())]:
        with pytest.raises(IPBannedError):
            await call(client, name, *args)
    assert len(exchange.requests) == 1
    assert exchange.clock.sleeps == []


@pytest.mark.parametrize("mode", MODES)
async def test_a_short_418_is_waited_out_by_the_next_call(mode: str) -> None:
    exchange = SimExchange()
    client = make_client(mode, exchange, max_retries=0)
    exchange.script(limited(418, NOW_MS + 30_000))
    with pytest.raises(IPBannedError):
        await call(client, "list_leaders")
    assert len(await call(client, "list_leaders")) == 1  # waits for the ban's end, then sends
    assert exchange.clock.sleeps == [30.0]
    assert int(exchange.requests[1].url.params["timestamp"]) >= NOW_MS + 30_000


@pytest.mark.parametrize("mode", MODES)
async def test_a_429_whose_reset_is_past_backs_off(mode: str) -> None:
    exchange = SimExchange()
    client = make_client(mode, exchange)
    exchange.script(*[limited(429, NOW_MS - 1000)] * 3)
    with pytest.raises(RateLimitError):
        await call(client, "list_leaders")
    assert len(exchange.requests) == 3
    first, second = exchange.clock.sleeps
    assert first >= constants.INITIAL_RETRY_DELAY * (1 - constants.JITTER)
    assert second > first  # exponential: the gate never hammers


@pytest.mark.parametrize("mode", MODES)
async def test_the_used_up_weight_waits_for_the_next_minute_without_a_429(mode: str) -> None:
    exchange = SimExchange(options=SimOptions(rate_limit=3))
    counted = Counted(exchange.transport() if mode == "sync" else exchange.async_transport())
    client = make_client(mode, exchange, transport=counted)
    exchange.clock.advance(20)
    for _ in range(4):
        await call(client, "list_leaders")
    assert counted.statuses == [200] * 4
    assert exchange.clock.sleeps == [40.0]  # until the minute of server time turns


def test_an_answer_that_overtook_another_cannot_raise_what_is_left() -> None:
    # over a network, the answer of a request served first may come last: what it says
    # is left is then too much, and believing it would overshoot the window
    gate = RateLimitGate()
    kind, _ = gate.admit(1, NOW_MS, 60.0)
    gate.answered(1, kind, 10, NOW_MS)  # the probe: 10 left this minute
    assert [gate.admit(1, NOW_MS, 60.0)[0] for _ in range(3)] == [GO] * 3
    gate.answered(1, GO, 7, NOW_MS + 3)  # served last, answered first: 7 left, 2 out
    gate.answered(1, GO, 9, NOW_MS + 1)  # served first, answered late: says 9
    admitted = 0
    while gate.admit(1, NOW_MS + 5, 60.0)[0] == GO:
        admitted += 1
    assert admitted == 5  # 7 left, less the 2 still out; not 9 - 1


def test_the_answer_of_a_call_sent_alone_says_what_is_left() -> None:
    # answers without X-Api-Limit-Reset-Timestamp give no window to go by: once the
    # weight is used up, a call goes alone, and its answer, overtaken by none, resets it
    gate = RateLimitGate()
    kind, _ = gate.admit(1, NOW_MS, 60.0)
    gate.answered(1, kind, 3, None)
    assert [gate.admit(1, NOW_MS, 60.0)[0] for _ in range(3)] == [GO] * 3
    for _ in range(3):
        gate.answered(1, GO, 2, None)
    kind, _ = gate.admit(1, NOW_MS, 60.0)
    assert kind == PROBE
    assert gate.admit(1, NOW_MS, 60.0)[0] == WAIT_FOR_PROBE  # the others wait for it
    gate.answered(1, kind, 2, None)
    assert [gate.admit(1, NOW_MS, 60.0)[0] for _ in range(3)] == [GO, GO, PROBE]


def test_every_operation_weighs_its_x_request_weight() -> None:
    spec_weights = {
        (method.upper(), path): op["x-request-weight"]
        for path, item in spec_dict()["paths"].items()
        for method, op in item.items()
        if isinstance(op, dict) and "x-request-weight" in op
    }
    assert spec_weights == dict(REQUEST_WEIGHTS)
    assert {(op.method, op.path): op.weight for op in OPERATIONS} == spec_weights
    for op in OPERATIONS:  # what a call reserves; an unsigned one is counted per address
        prepared = prepare(op, operation_arguments(op))
        assert prepared.weight == (op.weight if op.signed else 0), op.operation_id
    signed = next(op for op in OPERATIONS if op.signed)  # read from the row, not assumed
    assert prepare(signed._replace(weight=7), operation_arguments(signed)).weight == 7


def test_clients_of_one_key_and_host_share_one_gate() -> None:
    url = "http://127.0.0.1:9"  # never contacted
    sync = FollowerClient(DEMO_API_KEY, DEMO_API_SECRET, base_url=url)
    async_ = AsyncFollowerClient(DEMO_API_KEY, DEMO_API_SECRET, base_url=url)
    other_key = FollowerClient(SECOND_KEY, DEMO_API_SECRET, base_url=url)
    own = FollowerClient(
        DEMO_API_KEY, DEMO_API_SECRET, base_url=url, transport=SimExchange().transport()
    )
    assert sync._gate is async_._gate
    assert other_key._gate is not sync._gate
    assert own._gate is not sync._gate


# ---- 2. no signature, secret or whole key in any log record -------------------------
def _logged(caplog: pytest.LogCaptureFixture) -> str:
    lines = []
    for record in caplog.records:
        lines.append(record.getMessage())
        if record.exc_info:
            lines.append(logging.Formatter().formatException(record.exc_info))
    return "\n".join(lines)


@pytest.mark.parametrize("mode", MODES)
async def test_no_log_record_carries_a_signature_or_a_secret(
    mode: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    exchange = SimExchange(server_offset_ms=30_000)  # -1021, re-sync, retry
    client = make_client(mode, exchange)
    exchange.script(
        httpx.Response(502, content=b"<html>502 Bad Gateway</html>"),
        httpx.ReadTimeout("read timed out"),
    )
    await call(client, "list_leaders")  # 502, timeout, -1021, time, success
    exchange.script(httpx.Response(500, json={"code": ErrorCode.UNKNOWN, "msg": "boom"}))
    with pytest.raises(OutcomeUnknownError):
        await call(client, "cancel_leader", K7)
    with pytest.raises(FollowerNotFoundError):
        await call(client, "get_follow_config", 1)
    logged = _logged(caplog)
    signatures = [
        r.url.params["signature"] for r in exchange.requests if "signature" in r.url.params
    ]
    assert len(signatures) >= 5
    for signature in signatures:
        assert signature not in logged
    assert DEMO_API_SECRET not in logged
    assert DEMO_API_KEY not in logged
    # httpx's request line is still there (for every request answered: all but the
    # timed-out one), with the signature masked, not dropped
    lines = [r.getMessage() for r in caplog.records if r.name == "httpx"]
    requests = [line for line in lines if line.startswith("HTTP Request: ")]
    assert len(requests) == len(exchange.requests) - 1
    assert sum("signature=<redacted>" in line for line in requests) == len(requests) - 1
    assert sum("/api/v1/time " in line for line in requests) == 1  # unsigned


def test_the_log_filter_leaves_other_httpx_users_alone(caplog: pytest.LogCaptureFixture) -> None:
    FollowerClient(DEMO_API_KEY, DEMO_API_SECRET, base_url=BASE_URL)  # installs the filter
    FollowerClient(DEMO_API_KEY, DEMO_API_SECRET, base_url=BASE_URL)  # not twice
    filters = logging.getLogger("httpx").filters
    assert len(filters) == len(set(map(id, filters))) == 1
    caplog.set_level(logging.INFO, logger="httpx")
    with httpx.Client(transport=httpx.MockTransport(lambda r: httpx.Response(204))) as other:
        other.get("https://example.test/path?a=1&b=two")
    (line,) = [r.getMessage() for r in caplog.records if r.name == "httpx"]
    assert line == 'HTTP Request: GET https://example.test/path?a=1&b=two "HTTP/1.1 204 No Content"'


# ---- 3. a deadline per call, and a bounded response size ---------------------------
class DripServer:
    """A socket server on 127.0.0.1 that answers each connection with ``answer``: its
    first ``fast`` bytes at once, then one byte every ``interval`` seconds; it counts the
    bytes it got out before the client hung up."""

    def __init__(self, answer: bytes, interval: float, fast: int) -> None:
        self.answer = answer
        self.interval = interval
        self.fast = fast
        self.sent: list[int] = []
        self.drips: list[threading.Thread] = []
        self.stop = threading.Event()
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        self.sock.settimeout(0.1)
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            drip = threading.Thread(target=self._drip, args=(conn,), daemon=True)
            self.drips.append(drip)
            drip.start()

    def _drip(self, conn: socket.socket) -> None:
        sent = 0
        with conn:
            conn.recv(65536)  # the request (small: one read is enough here)
            try:
                if self.fast:
                    conn.sendall(self.answer[: self.fast])
                    sent = self.fast
                for index in range(self.fast, len(self.answer)):
                    if self.interval and self.stop.wait(self.interval):
                        break
                    conn.sendall(self.answer[index : index + 1])
                    sent += 1
            except OSError:  # the client hung up
                pass
        self.sent.append(sent)

    def close(self) -> None:
        self.stop.set()
        self.thread.join(5)
        for drip in self.drips:  # each has counted what it sent once this returns
            drip.join(5)
        self.sock.close()


@contextmanager
def drip_server(answer: bytes, interval: float = 0.05, fast: int = 0) -> Iterator[DripServer]:
    server = DripServer(answer, interval, fast)
    try:
        yield server
    finally:
        server.close()


OK_ANSWER = (
    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Padding: "
    + b"x" * 40
    + b"\r\nContent-Length: 40\r\n\r\n"
    + b'{"code":200,"msg":"success","data":[]}  '
)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("what", ["headers", "body"])
async def test_a_dripping_server_cannot_hold_a_call_past_its_timeout(mode: str, what: str) -> None:
    # headers dripped from the first byte, or a body dripped after headers sent at once
    fast = OK_ANSWER.index(b"\r\n\r\n") + 4 if what == "body" else 0
    with drip_server(OK_ANSWER, interval=0.05, fast=fast) as server:
        client: Any = (FollowerClient if mode == "sync" else AsyncFollowerClient)(
            DEMO_API_KEY, DEMO_API_SECRET, base_url=server.url, timeout=0.5, max_retries=0
        )
        with pytest.raises(DeadlineExceededError) as caught:
            await call(client, "list_leaders")
        assert caught.value.timeout == 0.5
        await call(client, "close")
    # each byte came well within httpx's read timeout: only the deadline could stop it
    (sent,) = server.sent  # one attempt: no time was left for another
    assert fast <= sent < len(OK_ANSWER)


@pytest.mark.parametrize("mode", MODES)
async def test_a_write_past_its_timeout_is_outcome_unknown(mode: str) -> None:
    with drip_server(OK_ANSWER.replace(b"[]", b"{}"), interval=0.05) as server:
        client: Any = (FollowerClient if mode == "sync" else AsyncFollowerClient)(
            DEMO_API_KEY, DEMO_API_SECRET, base_url=server.url, timeout=0.5
        )
        with pytest.raises(OutcomeUnknownError) as caught:
            await call(client, "cancel_leader", K7)
        assert isinstance(caught.value.error, DeadlineExceededError)
        await call(client, "close")
    assert len(server.sent) == 1


@pytest.mark.parametrize("mode", MODES)
async def test_timeout_covers_the_backoff_between_attempts(mode: str) -> None:
    exchange = SimExchange()
    client = make_client(mode, exchange, timeout=1.0)
    exchange.script(*[httpx.Response(502, content=b"<html>502</html>")] * 3)
    with pytest.raises(UnexpectedResponseError):
        await call(client, "list_leaders")
    # attempt, backoff of about 0.5 s, attempt; the next backoff (about 1 s) would end
    # past the timeout, so there is no third attempt
    assert len(exchange.requests) == 2
    assert len(exchange.clock.sleeps) == 1


@pytest.mark.parametrize("mode", MODES)
async def test_waiting_for_the_rate_limit_does_not_count_against_the_timeout(mode: str) -> None:
    exchange = SimExchange()
    client = make_client(mode, exchange, timeout=1.0)
    exchange.script(limited(429, NOW_MS + 30_000))
    assert len(await call(client, "list_leaders")) == 1
    assert exchange.clock.sleeps == [30.0]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("status", [200, 502])
@pytest.mark.parametrize("length", ["declared", "streamed"])
async def test_a_body_past_max_response_bytes_is_not_read_or_retried(
    mode: str, status: int, length: str
) -> None:
    exchange = SimExchange()
    client = make_client(mode, exchange)
    body = b"<html>" + b"x" * (5 * 1024 * 1024)
    if length == "declared":  # Content-Length says it: refused unread
        exchange.script(httpx.Response(status, content=body))
    else:
        exchange.script(httpx.Response(status, stream=httpx.ByteStream(body)))
    with pytest.raises(ResponseTooLargeError) as caught:
        await call(client, "list_leaders")
    assert caught.value.max_bytes == constants.DEFAULT_MAX_RESPONSE_BYTES
    assert caught.value.status_code == status
    assert caught.value.excerpt == ("" if length == "declared" else "<html>" + "x" * 194)
    assert len(exchange.requests) == 1
    exchange.script(httpx.Response(200, content=b"x" * 2000))
    with pytest.raises(OutcomeUnknownError) as unknown:
        await call(make_client(mode, exchange, max_response_bytes=1000), "cancel_leader", K7)
    assert isinstance(unknown.value.error, ResponseTooLargeError)


@pytest.mark.parametrize("mode", MODES)
async def test_a_huge_body_without_length_is_read_only_up_to_the_cap(mode: str) -> None:
    # a gateway's 502 page of 3x the default cap, no Content-Length, sent as fast as it goes
    body = b"x" * (3 * constants.DEFAULT_MAX_RESPONSE_BYTES)
    answer = b"HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/html\r\n\r\n" + body
    with drip_server(answer, interval=0.0, fast=len(answer)) as server:
        client: Any = (FollowerClient if mode == "sync" else AsyncFollowerClient)(
            DEMO_API_KEY, DEMO_API_SECRET, base_url=server.url
        )
        with pytest.raises(ResponseTooLargeError):
            await call(client, "list_leaders")
        await call(client, "close")
    (sent,) = server.sent  # one request, not 3, and the client hung up before the end
    assert sent < len(answer)


def _answer_encoded(body: bytes, encoding: str) -> bytes:
    head = (
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
        f"Content-Encoding: {encoding}\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


@pytest.mark.parametrize("mode", MODES)
async def test_a_compressed_bomb_is_inflated_only_up_to_the_cap(mode: str) -> None:
    # 256 MiB of zeros gzip to about 250 KiB: httpx would inflate each 64 KiB read at once
    bomb = gzip.compress(b"\0" * (256 * 1024 * 1024), compresslevel=9)
    with drip_server(_answer_encoded(bomb, "gzip"), interval=0.0, fast=10**9) as server:
        client: Any = (FollowerClient if mode == "sync" else AsyncFollowerClient)(
            DEMO_API_KEY, DEMO_API_SECRET, base_url=server.url
        )
        tracemalloc.start()
        try:
            with pytest.raises(ResponseTooLargeError):
                await call(client, "list_leaders")
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        await call(client, "close")
    assert peak < 3 * constants.DEFAULT_MAX_RESPONSE_BYTES  # not 64 MiB at a time


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    ("encoding", "encode"),
    [
        ("gzip", gzip.compress),
        ("deflate", zlib.compress),  # zlib-wrapped, as HTTP means it
        ("deflate", lambda data: zlib.compress(data, wbits=-zlib.MAX_WBITS)),  # raw
    ],
)
async def test_compressed_answers_are_read(mode: str, encoding: str, encode: Any) -> None:
    body = json.dumps({"code": 200, "msg": "success", "data": []}).encode()
    with drip_server(_answer_encoded(encode(body), encoding), interval=0.0, fast=10**9) as server:
        client: Any = (FollowerClient if mode == "sync" else AsyncFollowerClient)(
            DEMO_API_KEY, DEMO_API_SECRET, base_url=server.url
        )
        assert await call(client, "list_leaders") == []
        assert client.last_response.content == body
        await call(client, "close")


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    ("encoding", "content"), [("br", b"\x0b\x02\x80[]\x03"), ("gzip", b"junk")]
)
async def test_an_encoding_not_asked_for_or_broken_is_unexpected(
    mode: str, encoding: str, content: bytes
) -> None:
    with drip_server(_answer_encoded(content, encoding), interval=0.0, fast=10**9) as server:
        client: Any = (FollowerClient if mode == "sync" else AsyncFollowerClient)(
            DEMO_API_KEY, DEMO_API_SECRET, base_url=server.url
        )
        with pytest.raises(UnexpectedResponseError) as caught:
            await call(client, "list_leaders")
        assert caught.value.status_code == 200
        with pytest.raises(OutcomeUnknownError):  # a write answered so: outcome unknown
            await call(client, "cancel_leader", K7)
        await call(client, "close")


# ---- 4. strict IDs and keys ----------------------------------------------------------
LOOSE_IDS = ["١٢٣", "9_8_7", " 12", "+12", "12 ", "12\n", "²", "", "0x1f"]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("value", [*LOOSE_IDS, True, 1.5])
async def test_loose_leader_ids_are_refused_before_sending(mode: str, value: object) -> None:
    exchange = SimExchange()
    client = make_client(mode, exchange, key=SECOND_KEY)
    for name in ("cancel_leader", "get_follow_config"):
        with pytest.raises((ValueError, TypeError)):
            await call(client, name, value)
    assert exchange.requests == []
    assert (await call(client, "get_follow_config", str(K7))).model_dump()
    assert await call(client, "cancel_leader", K7) is None  # ints stay fine


@pytest.mark.parametrize("value", LOOSE_IDS)
def test_the_command_line_refuses_loose_ids(value: str, tmp_path: Path) -> None:
    err = io.StringIO()
    env = {
        "TOOBIT_API_KEY": DEMO_API_KEY,
        "TOOBIT_API_SECRET": DEMO_API_SECRET,
        "XDG_CONFIG_HOME": str(tmp_path),
        "TOOBIT_BASE_URL": "http://127.0.0.1:9",  # never reached
    }
    for argv in (["config", "get", value], ["leaders", "cancel", value, "--yes"]):
        assert main(argv, stdout=io.StringIO(), stderr=err, environ=env) == 2
    assert "ASCII digits" in err.getvalue()
    assert main(["orders", "history", "--page", " 2"], stderr=err, environ=env) == 2


BAD_KEYS = [
    (DEMO_API_KEY + "\n", "a newline"),
    (" " + DEMO_API_KEY, "whitespace"),
    (DEMO_API_KEY[:10] + "-" + DEMO_API_KEY[11:], "not a letter or a digit"),
    (DEMO_API_KEY[:10] + "é" + DEMO_API_KEY[11:], "non-ASCII"),
    ("A" * 129, "129 characters long"),
]


@pytest.mark.parametrize(("key", "problem"), BAD_KEYS)
def test_a_malformed_key_is_refused_at_construction_masked(key: str, problem: str) -> None:
    for make in (FollowerClient, AsyncFollowerClient):
        with pytest.raises(CredentialsError) as caught:
            make(key, DEMO_API_SECRET, base_url=BASE_URL)
        message = str(caught.value)
        assert problem in message
        assert key.strip() not in message and DEMO_API_KEY not in message
    with pytest.raises(ValueError, match=problem):  # CredentialsError is a ValueError
        ToobitAuth(key, DEMO_API_SECRET)
    FollowerClient("A" * 128, DEMO_API_SECRET, base_url=BASE_URL)  # the longest key is fine


@pytest.mark.parametrize(
    ("secret", "problem"),
    [
        (DEMO_API_SECRET + "\n", "a newline at position 65 of 65"),
        (DEMO_API_SECRET[:5] + " " + DEMO_API_SECRET[5:], "whitespace at position 6"),
        (DEMO_API_SECRET[:5] + "\x00" + DEMO_API_SECRET[5:], "a control character"),
    ],
)
def test_a_malformed_secret_is_refused_without_showing_it(secret: str, problem: str) -> None:
    with pytest.raises(CredentialsError) as caught:
        FollowerClient(DEMO_API_KEY, secret, base_url=BASE_URL)
    assert problem in str(caught.value)
    assert DEMO_API_SECRET[:12] not in str(caught.value)


def test_the_command_line_refuses_a_key_with_a_newline_masked(tmp_path: Path) -> None:
    err = io.StringIO()
    env = {
        "TOOBIT_API_KEY": DEMO_API_KEY + "\n",
        "TOOBIT_API_SECRET": DEMO_API_SECRET,
        "XDG_CONFIG_HOME": str(tmp_path),
        "TOOBIT_BASE_URL": "http://127.0.0.1:9",
    }
    assert main(["leaders"], stdout=io.StringIO(), stderr=err, environ=env) == 3
    assert "TOOBIT_API_KEY" in err.getvalue() and "a newline" in err.getvalue()
    assert DEMO_API_KEY not in err.getvalue()
    assert "base-url" not in err.getvalue()  # not mistaken for a network failure


# ---- 8. writes without a success envelope; profile files ----------------------------
NOT_ENVELOPES: dict[str, dict[str, Any]] = {  # HTTP 200 and each of these
    "html": {"content": b"<html>ok</html>", "headers": {"Content-Type": "text/html"}},
    "empty": {},
    "truncated": {"content": b'{"code":200,"msg":"succ'},
    "json-not-envelope": {"json": {"ok": True}},
}


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("answer", sorted(NOT_ENVELOPES))
@pytest.mark.parametrize("name", ["cancel_leader", "update_stop_profit_loss"])
async def test_a_write_answered_200_without_an_envelope_is_outcome_unknown(
    mode: str, answer: str, name: str
) -> None:
    exchange = SimExchange()
    client = make_client(
        mode, exchange, key=SECOND_KEY if name == "cancel_leader" else DEMO_API_KEY
    )
    args: tuple[Any, ...] = (
        (K7,) if name == "cancel_leader" else (DEMO_LEADER_ID, "BTC-SWAP-USDT", 1)
    )
    exchange.script(httpx.Response(200, **NOT_ENVELOPES[answer]))
    with pytest.raises(OutcomeUnknownError) as caught:
        await call(client, name, *args)
    assert isinstance(caught.value.error, UnexpectedResponseError)
    assert caught.value.status_code == 200
    assert len(exchange.requests) == 1  # never repeated blindly


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("status", [200, 400])
async def test_a_write_refused_with_an_error_envelope_is_a_definite_refusal(
    mode: str, status: int
) -> None:
    exchange = SimExchange()
    client = make_client(mode, exchange, key=SECOND_KEY)
    row = BY_NAME["FOLLOWER_NOT_FOUND"]
    exchange.script(httpx.Response(status, json={"code": row.code, "msg": row.message}))
    with pytest.raises(FollowerNotFoundError):
        await call(client, "cancel_leader", K7)


@pytest.mark.parametrize("mode", MODES)
async def test_a_get_answered_200_without_an_envelope_stays_unexpected(mode: str) -> None:
    exchange = SimExchange()
    exchange.script(httpx.Response(200, **NOT_ENVELOPES["html"]))
    with pytest.raises(UnexpectedResponseError):
        await call(make_client(mode, exchange), "list_leaders")


def _profile(path: Path, mode: int = 0o600) -> Path:
    path.write_text(f'[default]\napi_key = "{DEMO_API_KEY}"\napi_secret = "{DEMO_API_SECRET}"\n')
    path.chmod(mode)
    return path


def _run_with_profile(path: Path, tmp_path: Path) -> tuple[int, str]:
    err = io.StringIO()
    env = {"XDG_CONFIG_HOME": str(tmp_path / "none"), "TOOBIT_BASE_URL": "http://127.0.0.1:9"}
    code = main(
        ["--profiles-file", str(path), "leaders"], stdout=io.StringIO(), stderr=err, environ=env
    )
    return code, err.getvalue()


def test_a_profile_file_that_is_a_symlink_is_refused(tmp_path: Path) -> None:
    target = _profile(tmp_path / "real.toml")
    link = tmp_path / "profiles.toml"
    link.symlink_to(target)
    code, err = _run_with_profile(link, tmp_path)
    assert code == 3
    assert "symbolic link" in err
    assert DEMO_API_SECRET not in err


def test_a_profile_file_in_a_directory_others_can_write_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "shared"
    folder.mkdir()
    path = _profile(folder / "profiles.toml")
    folder.chmod(0o777)
    try:
        code, err = _run_with_profile(path, tmp_path)
    finally:
        folder.chmod(0o700)
    assert code == 3
    assert "writable by others" in err and "chmod go-w" in err
    folder.chmod(0o755)  # others may read the directory, not write to it: accepted
    code, err = _run_with_profile(path, tmp_path)
    assert code == 9, err  # got past the profile checks to the (absent) server


def test_the_refusals_cost_nothing_to_a_good_setup(tmp_path: Path) -> None:
    assert os.stat(tmp_path).st_mode & 0o022 == 0  # pytest's folders are private
    code, err = _run_with_profile(_profile(tmp_path / "profiles.toml"), tmp_path)
    assert code == 9, err
