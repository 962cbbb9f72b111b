"""Issue 13, the simulator's side: it never answers 500 to input, cannot be starved, cannot
be made to ban someone else's key, bounds its memory, and logs no signature or key.

In process (the raw ASGI driver of test_sim_support): every number a body, a query or a
path can carry; a property test of arbitrary bytes, JSON and query strings on every route;
the admin routes' parameters and bodies; the limiter's table with 200,000 callers.
On real servers (`python -m toobit_follower_sim serve` on 127.0.0.1, a free port): a
victim's key under unsigned traffic naming it; connections that never finish their
headers, under an open-file limit lower than their number; slow bodies, huge heads, idle
connections; a 50 MB admin POST; the access log. No wall-clock assertion: deadlines are
socket timeouts, and speed is in bench/bench_simulator.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import resource
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from test_sim_support import (
    CONFIG,
    CONFIG_EXAMPLE,
    DEMO_KEY,
    HISTORY,
    LEADER_CONFIG,
    LEADER_CONFIG_EXAMPLE,
    LEADER_KEY,
    LEADERS,
    NOW,
    READ_ONLY_KEY,
    SECOND_KEY,
    SECRET,
    STOP,
    STOP_EXAMPLE,
    Sim,
    compact,
    sign,
)
from toobit_follower_models.errors import OPERATION_ERROR_CODES, ErrorCode
from toobit_follower_sim.faults import Faults, FaultSpec
from toobit_follower_sim.ratelimit import OK, RateLimiter

ROOT = Path(__file__).resolve().parents[1]
MALFORMED = ErrorCode.MANDATORY_PARAM_EMPTY_OR_MALFORMED
INVALID = ErrorCode.INVALID_PARAMETER


@pytest.fixture(scope="module")
def sim() -> Iterator[Sim]:
    s = Sim(rate_limit=10**9)
    yield s
    s.close()


def error_of(resp: Any) -> tuple[int, int, str]:
    payload = resp.json
    return resp.status, payload["code"], payload["msg"]


def names(code: int, name: str) -> str:
    """The message the spec's row of `code` gives for parameter `name`."""
    from toobit_follower_models.errors import BY_CODE

    return BY_CODE[code].format_message(name=name)


# -- defect 5: every number the parser can meet ------------------------------------
# Malformed whatever the field: too long (as Jackson's maxNumberLength), an exponent past
# any decimal's range, not JSON at all.
MALFORMED_NUMBERS = [
    "1e99999999999999999999",
    "-1e99999999999999999999",
    "1E+99999999999999999999",
    "1e-99999999999999999999",
    "0e99999999999999999999",
    "0.5e-99999999999999999999",
    "9" * 1001,
    "-" + "9" * 1001,
    "1." + "0" * 1000,
    "NaN",
    "Infinity",
    "-Infinity",
    "+1",
    "01",
    ".5",
    "1.",
    "0x10",
]
# Numbers, but out of every range (integer fields) or of the wrong type (string fields).
OUT_OF_RANGE_NUMBERS = ["1E+400", "1e30", "-1e30", "9" * 30, "-" + "9" * 30, "9223372036854775808"]
# Plain numbers: refused or accepted as the field's rules say, never a 5XX.
ORDINARY_NUMBERS = ["-0", "-0.0", "0e5", "1.0", "30.0", "3e1", "1e-7", "0.000000001", "1E+2"]


def put_bodies(sim: Sim) -> Iterator[tuple[str, str, dict[str, Any], str]]:
    """(operation id, path, a valid body, a field of it) for every PUT body field in the spec."""
    examples = {CONFIG: CONFIG_EXAMPLE, STOP: STOP_EXAMPLE, LEADER_CONFIG: LEADER_CONFIG_EXAMPLE}
    for op in sim.app.sim.spec.operations.values():
        if op.body is not None:
            for rule in op.body:
                yield op.operation_id, op.path, examples[op.path], rule.name


KEYS = {LEADER_CONFIG: LEADER_KEY}  # the key that may write a path (else the demo key)


def with_number(body: dict[str, Any], field: str, literal: str) -> bytes:
    marker = "\u0000number\u0000"
    return compact({**body, field: marker}).replace(json.dumps(marker).encode(), literal.encode())


@pytest.mark.parametrize("literal", MALFORMED_NUMBERS)
def test_a_malformed_number_anywhere_is_a_malformed_body(sim: Sim, literal: str) -> None:
    for op_id, path, body, field in put_bodies(sim):
        key = KEYS.get(path, DEMO_KEY)
        resp = sim.signed("PUT", path, body=with_number(body, field, literal), key=key)
        assert error_of(resp) == (400, MALFORMED, names(MALFORMED, "body")), (op_id, field)


@pytest.mark.parametrize("literal", OUT_OF_RANGE_NUMBERS)
def test_a_huge_number_anywhere_is_refused_on_its_field(sim: Sim, literal: str) -> None:
    for op_id, path, body, field in put_bodies(sim):
        key = KEYS.get(path, DEMO_KEY)
        status, code, msg = error_of(
            sim.signed("PUT", path, body=with_number(body, field, literal), key=key)
        )
        assert (status, code) in {(400, MALFORMED), (400, INVALID)}, (op_id, field, code)
        assert msg == names(code, field), (op_id, field, msg)


@pytest.mark.parametrize("literal", ORDINARY_NUMBERS)
def test_an_ordinary_number_anywhere_gets_a_documented_answer(sim: Sim, literal: str) -> None:
    for op_id, path, body, field in put_bodies(sim):
        before = sim.state()
        key = KEYS.get(path, DEMO_KEY)
        resp = sim.signed("PUT", path, body=with_number(body, field, literal), key=key)
        assert resp.status < 500 and resp.code in OPERATION_ERROR_CODES[op_id] | {200}, resp.body
        if resp.code != 200:
            assert sim.state() == before
        sim.raw("POST", "/_sim/reset")


@pytest.mark.parametrize(
    "body",
    [
        b'{"a":' + b"[" * 50_000 + b"]" * 50_000 + b"}",
        b"{" + b'"a":{' * 20_000 + b"}" * 20_001,
        b'{"leaderUserId":1,"leaderUserId":1}',  # a duplicated key: refused, naming it
        b'{"leaderUserId":"\xff"}',
        b"\xef\xbb\xbf" + compact(CONFIG_EXAMPLE),  # a BOM is not JSON's first byte
        compact(CONFIG_EXAMPLE).replace(b"{", b"{\xed\xa0\x80", 1),  # a UTF-8 surrogate
    ],
    ids=["nested arrays", "nested objects", "duplicate key", "bad UTF-8", "BOM", "surrogate"],
)
def test_hostile_bodies(sim: Sim, body: bytes) -> None:
    for path in (CONFIG, STOP):
        status, code, msg = error_of(sim.signed("PUT", path, body=body))
        if body.startswith(b'{"leaderUserId":1,"leaderUserId"'):
            assert (status, code, msg) == (400, INVALID, names(INVALID, "leaderUserId"))
        else:
            assert (status, code, msg) == (400, MALFORMED, names(MALFORMED, "body"))


@pytest.mark.parametrize(
    ("path", "params", "name"),
    [
        (HISTORY, "page={}", "page"),
        (HISTORY, "size={}", "size"),
        (CONFIG, "leaderUserId={}", "leaderUserId"),
        (f"{LEADERS}/{{}}", "", "leaderUserId"),
    ],
)
@pytest.mark.parametrize(
    "literal", ["1e99999999999999999999", "NaN", "-0", "9" * 5000, "%C2%B2", "%D9%A1", "1_0"]
)
def test_numbers_in_queries_and_paths(
    sim: Sim, path: str, params: str, name: str, literal: str
) -> None:
    method = "DELETE" if path.startswith(LEADERS) else "GET"
    resp = sim.signed(method, path.format(literal), params.format(literal))
    status, code, msg = error_of(resp)
    assert (status, code) in {(400, MALFORMED), (400, INVALID)}, resp.body
    assert msg == names(code, name)


# -- defect 5: no 5XX on any route, whatever arrives -------------------------------
EXAMPLES_PER_ROUTE = 250
FUZZ = settings(
    max_examples=EXAMPLES_PER_ROUTE,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
ADMIN_ROUTES = [
    ("POST", "/_sim/reset"),
    ("GET", "/_sim/state"),
    ("POST", "/_sim/clock"),
    ("POST", "/_sim/faults"),
    ("POST", "/_sim/ratelimit/reset"),
]
OTHER_ROUTES = [("GET", "/openapi.yaml"), ("GET", "/openapi.json"), ("GET", "/docs"), ("GET", "/")]


def api_routes() -> list[tuple[str, str]]:
    sim = Sim()
    try:
        ops = sim.app.sim.spec.operations.values()
        return [(op.method, op.path.replace("{leaderUserId}", "123456789")) for op in ops]
    finally:
        sim.close()


ROUTES = [*api_routes(), ("GET", "/api/v2/nothing"), *OTHER_ROUTES, *ADMIN_ROUTES]

number_texts = st.one_of(
    st.sampled_from(MALFORMED_NUMBERS + OUT_OF_RANGE_NUMBERS + ORDINARY_NUMBERS),
    st.from_regex(r"-?(0|[1-9][0-9]{0,30})(\.[0-9]{1,30})?([eE][+-]?[0-9]{1,25})?", fullmatch=True),
)
json_texts = st.recursive(
    st.one_of(
        number_texts,
        st.sampled_from(["null", "true", "false", '""', '"0"', '"1e5"', '"\\ud800"']),
        st.text(max_size=10).map(json.dumps),
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3).map(lambda items: "[" + ",".join(items) + "]"),
        st.lists(
            st.tuples(st.sampled_from(["leaderUserId", "offsetMs", "faults", "x", ""]), inner),
            max_size=4,
        ).map(lambda pairs: "{" + ",".join(f"{json.dumps(k)}:{v}" for k, v in pairs) + "}"),
    ),
    max_leaves=10,
)


def example_based(base: dict[str, Any]) -> st.SearchStrategy[bytes]:
    """A valid body with one field's value replaced by any JSON text."""
    field = st.sampled_from(sorted(base))
    return st.builds(with_number, st.just(base), field, json_texts)


bodies = st.one_of(
    st.just(b""),
    st.binary(max_size=200),
    json_texts.map(str.encode),
    example_based(CONFIG_EXAMPLE),
    example_based(STOP_EXAMPLE),
    st.integers(min_value=1, max_value=30_000).map(lambda n: b"[" * n + b"]" * n),
)
queries = st.one_of(
    st.just(b""),
    st.binary(max_size=80),
    st.lists(
        st.tuples(
            st.sampled_from(["page", "size", "leaderUserId", "recvWindow", "historyRows", "x"]),
            st.one_of(number_texts, st.text(max_size=8)).map(
                lambda t: t.encode("utf-8", "surrogatepass")
            ),
        ),
        max_size=3,
    ).map(lambda pairs: b"&".join(k.encode() + b"=" + v for k, v in pairs)),
)


def calm(sim: Sim) -> None:
    """No fault and no clock offset, whatever an admin call just set."""
    sim.app.sim.faults = Faults(FaultSpec())
    sim.app.sim.admin_offset_ms = 0


@pytest.mark.parametrize(("method", "path"), ROUTES, ids=[f"{m} {p}" for m, p in ROUTES])
@FUZZ
@given(
    query=queries,
    body=bodies,
    how=st.sampled_from(["signed", "signed", "unsigned", "no key"]),
    key=st.sampled_from([DEMO_KEY, SECOND_KEY, READ_ONLY_KEY]),
    content_type=st.sampled_from([b"application/json", b"text/plain", b""]),
)
def test_no_5xx_on_any_route(
    sim: Sim,
    method: str,
    path: str,
    query: bytes,
    body: bytes,
    how: str,
    key: str,
    content_type: bytes,
) -> None:
    query = query.replace(b"#", b"")
    headers = [(b"content-type", content_type)] if content_type else []
    if how != "no key":
        headers.append((b"x-bb-apikey", key.encode()))
    if how == "signed":
        query = b"&".join(filter(None, [query, f"timestamp={NOW}".encode()]))
        query += b"&signature=" + sign(query + body).encode()
    try:
        resp = sim.raw(method, path, query, body, headers)
    finally:
        calm(sim)
    assert resp.status < 500, (resp.status, resp.body[:300])
    if path.startswith(("/api/", "/_sim/")):
        payload = json.loads(resp.body)
        assert isinstance(payload, dict)
        event(f"{resp.status} {payload.get('code')}")  # --hypothesis-show-statistics


@settings(max_examples=100, deadline=None, derandomize=True)
@given(
    body=st.one_of(example_based(CONFIG_EXAMPLE), st.just(compact(CONFIG_EXAMPLE))),
    faults=st.sampled_from(["html502=0.5", "html503=0.5", "commit500=1", "latency=1:0ms"]),
)
def test_a_5xx_only_comes_from_a_configured_fault(body: bytes, faults: str) -> None:
    sim = Sim(rate_limit=10**9, faults=faults)
    try:
        resp = sim.signed("PUT", CONFIG, body=body)
        allowed = {"html502=0.5": {502}, "html503=0.5": {503}, "commit500=1": {500}}
        assert resp.status < 500 or resp.status in allowed.get(faults, set()), resp.body
    finally:
        sim.close()


# -- item 8: admin routes validate what they get -------------------------------------
@pytest.mark.parametrize(
    "rows", ["%C2%B2", "%D9%A1", "-1", "", "1e3", "1_000", "99999999999999999999", "1000001"]
)
def test_admin_state_rows_are_validated(sim: Sim, rows: str) -> None:
    resp = sim.raw("GET", "/_sim/state", f"historyRows={rows}".encode())
    assert resp.status == 400 and "historyRows" in resp.json["msg"], resp.body


@pytest.mark.parametrize("path", ["/_sim/clock", "/_sim/faults"])
@pytest.mark.parametrize(
    "body",
    [
        b"[" * 60_000,  # under the 64 KiB cap: deep, not large
        b'{"offsetMs":' + b"[" * 50_000 + b"}",
        b'{"offsetMs":' + b"9" * 5000 + b',"faults":7}',
        b'{"offsetMs":1e999,"faults":[]}',
        b'{"offsetMs":86400001,"faults":"latency=1:99999999999999999999s"}',
        b'{"offsetMs":true,"faults":"clock=1e400s"}',
        b"\xff\xfe",
        b"[]",
        b"",
    ],
)
def test_admin_bodies_are_validated(sim: Sim, path: str, body: bytes) -> None:
    try:
        resp = sim.raw("POST", path, b"", body, [(b"content-type", b"application/json")])
    finally:
        calm(sim)
    assert resp.status == 400 and resp.json["msg"], resp.body


def test_admin_body_over_the_limit_is_refused_by_its_declared_length(sim: Sim) -> None:
    headers = [(b"content-length", str(50 * 2**20).encode())]
    resp = sim.raw("POST", "/_sim/clock", b"", b'{"offsetMs":0}', headers)
    assert resp.status == 413, resp.body


# -- defect 6: the limiter counts the key only for its holder; bounded memory ----------
def test_unsigned_requests_naming_a_key_never_spend_it() -> None:
    sim = Sim(rate_limit=50, ban_grace=10)
    try:
        named = [(b"x-bb-apikey", DEMO_KEY.encode())]
        answers = [sim.raw("GET", CONFIG, b"leaderUserId=123456789", b"", named) for _ in range(80)]
        assert answers[-1].status == 418  # the address that sent them is banned
        resp = sim.signed("GET", CONFIG, "leaderUserId=123456789")
        assert resp.status == 200, resp.body
        assert resp.headers["x-api-limit-status"] == "49"  # the key's own window, untouched
    finally:
        sim.close()


def test_random_keys_make_no_entries() -> None:
    sim = Sim(rate_limit=10**9)
    try:
        rng = random.Random(13)
        for _ in range(3000):
            key = "".join(rng.choices("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", k=64))
            resp = sim.raw("GET", CONFIG, b"leaderUserId=1", b"", [(b"x-bb-apikey", key.encode())])
            assert resp.code == ErrorCode.REJECTED_MBX_KEY
        assert len(sim.app.sim.limiter._windows) == 1  # the client address
    finally:
        sim.close()


def test_limiter_table_stays_bounded_with_200k_callers() -> None:
    limiter = RateLimiter(limit=3, grace=0)  # by default, 10,000 callers at most
    now = NOW
    for n in range(200_000):
        limiter.hit(f"ip:{n}", now)
        assert len(limiter._windows) <= 10_000
    assert limiter.hit("ip:199999", now).remaining == 1  # the newest are still counted
    small = RateLimiter(limit=1, max_callers=3, grace=0)
    for n in range(10):
        small.hit(f"b{n}", now)
        small.hit(f"b{n}", now)
        small.hit(f"b{n}", now)  # banned
        assert len(small._bans) <= 3
    assert small.hit("b9", now).kind != OK
    # a new window starts an empty table
    limiter.hit("ip:new", now + limiter.window_ms)
    assert len(limiter._windows) == 1


# -- real servers --------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# `serve` as a plain `pip install toobit-follower[sim]` runs it: without httptools and
# uvloop (both in the dev venv), so uvicorn has h11 and asyncio's own loop only.
PLAIN_INSTALL = (
    "import sys; sys.modules.update(httptools=None, uvloop=None); "
    "from toobit_follower_sim.cli import main; sys.exit(main(sys.argv[1:]))"
)


@contextlib.contextmanager
def server(
    tmp_path: Path, *flags: str, open_files: int | None = None, plain: bool = False
) -> Iterator[tuple[str, subprocess.Popen[bytes], Path]]:
    """`serve` on 127.0.0.1 with `flags`; its log in a file; `open_files`: its RLIMIT_NOFILE;
    `plain`: without httptools and uvloop."""
    port = free_port()
    logfile = tmp_path / f"sim-{port}.log"

    def limit_files() -> None:
        if open_files is not None:
            resource.setrlimit(resource.RLIMIT_NOFILE, (open_files, open_files))

    launch = ["-c", PLAIN_INSTALL] if plain else ["-m", "toobit_follower_sim"]
    cmd = [sys.executable, *launch, "serve", "--port", str(port), *flags]
    with logfile.open("wb") as sink:
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=sink, stderr=sink, preexec_fn=limit_files)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            assert proc.poll() is None, logfile.read_text()
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{base}/api/v1/time", timeout=1).status_code == 200:
                    break
            time.sleep(0.05)
        else:
            raise AssertionError("server did not start")
        yield base, proc, logfile
    finally:
        proc.kill()
        proc.wait(timeout=10)


def signed_url(path: str, params: str = "", body: bytes = b"") -> str:
    query = "&".join(filter(None, [params, f"timestamp={int(time.time() * 1000)}"]))
    return f"{path}?{query}&signature={sign(query.encode() + body)}"


def stalled(port: int, count: int) -> list[socket.socket]:
    """`count` connections that send half a request head and then nothing."""
    socks = []
    for _ in range(count):
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        s.sendall(b"GET /api/v1/time HTTP/1.1\r\nHost: sim\r\nX-Slow: ")
        socks.append(s)
    return socks


def closed_by_server(sock: socket.socket) -> bool:
    """True once the server closes `sock` (EOF or reset) within the socket's timeout."""
    try:
        while sock.recv(4096):
            pass
    except (ConnectionResetError, BrokenPipeError):
        return True
    except TimeoutError:
        return False
    return True


def test_victims_key_cannot_be_banned_by_unsigned_traffic(tmp_path: Path) -> None:
    with server(tmp_path, "--rate-limit", "50", "--ban-grace", "10") as (base, _, _):
        with httpx.Client(base_url=base, timeout=10) as attacker:
            answers = [
                attacker.get(CONFIG, params={"leaderUserId": 1}, headers={"X-BB-APIKEY": DEMO_KEY})
                for _ in range(80)
            ]
        assert [r.status_code for r in answers[-3:]] == [418] * 3
        with httpx.Client(base_url=base, timeout=10) as victim:
            resp = victim.get(
                signed_url(CONFIG, "leaderUserId=123456789"), headers={"X-BB-APIKEY": DEMO_KEY}
            )
        assert resp.status_code == 200, resp.text
        assert resp.headers["x-api-limit-status"] == "49"


def test_stalled_connections_neither_starve_nor_flood(tmp_path: Path) -> None:
    """300 connections that never finish their head, against a server allowed 256 open
    files: normal requests are served, and the server closes every stalled connection."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 400:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 4096), hard))
    flags = ("--header-timeout", "2", "--log-level", "info")
    with server(tmp_path, *flags, open_files=256) as (base, proc, logfile):
        port = int(base.rsplit(":", 1)[1])
        socks = stalled(port, 300)
        try:
            with httpx.Client(base_url=base, timeout=5) as client:
                served = [client.get("/api/v1/time").status_code for _ in range(5)]
            assert served == [200] * 5
            closed = sum(closed_by_server(s) for s in socks)  # each waits at most 10 s
            assert closed == 300
            with httpx.Client(base_url=base, timeout=5) as client:
                assert client.get("/api/v1/time").status_code == 200
            time.sleep(1)  # let the server write its report, if any
        finally:
            for s in socks:
                s.close()
        assert proc.poll() is None
    lines = logfile.read_text().splitlines()
    reports = [line for line in lines if "closed" in line and "connections" in line]
    assert len(lines) < 20 and 1 <= len(reports) <= 2, lines


def test_half_open_connections_past_the_open_file_limit_on_h11_and_asyncio(
    tmp_path: Path,
) -> None:
    """Issue 17: 1,100 connections that never send a byte, against a plain `[sim]` server
    (h11, asyncio's loop) allowed 1,024 open files. asyncio accepted them all at once, past
    the limit: `accept` failed with EMFILE, a traceback per failed accept went to the log
    (MBs), and accepting stopped for a second at a time; a client's keep-alive connection
    could be closed under it. Now: every normal request is served, the log stays short."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 1400:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 4096), hard))
    flags = ("--http", "h11", "--loop", "asyncio", "--header-timeout", "3")
    with server(tmp_path, *flags, open_files=1024, plain=True) as (base, proc, logfile):
        port = int(base.rsplit(":", 1)[1])
        with httpx.Client(base_url=base, timeout=5) as client:
            assert client.get("/api/v1/time").status_code == 200  # a keep-alive connection
            socks = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(1100)]
            try:
                kept = [client.get("/api/v1/time").status_code for _ in range(5)]
                fresh = [httpx.get(f"{base}/api/v1/time", timeout=5).status_code for _ in range(5)]
                assert (kept, fresh) == ([200] * 5, [200] * 5)
                closed = sum(closed_by_server(s) for s in socks)  # evicted, or at 3 s
                assert closed == 1100
                assert httpx.get(f"{base}/api/v1/time", timeout=5).status_code == 200
            finally:
                for s in socks:
                    s.close()
        time.sleep(0.5)
        assert proc.poll() is None
    text = logfile.read_text()
    assert "Traceback" not in text and "out of system resource" not in text, text[:3000]
    assert len(text.splitlines()) < 20, text[:3000]
    assert "to stay within 960 open" in text  # 1,024 less the spares


def test_the_guarded_loop_overrides_what_this_python_has() -> None:
    """GuardedSelectorLoop replaces asyncio's private `_accept_connection`: the same
    parameters, and the helpers it calls, or it must change with Python."""
    import inspect

    from toobit_follower_sim.server import GuardedSelectorLoop

    ours = list(inspect.signature(GuardedSelectorLoop._accept_connection).parameters)
    theirs = list(inspect.signature(asyncio.SelectorEventLoop._accept_connection).parameters)
    assert ours[:6] == theirs[:6] and len(theirs) - 6 == 2, theirs
    helpers = inspect.signature(asyncio.SelectorEventLoop._accept_connection2).parameters
    assert list(helpers)[:6] == "self protocol_factory conn extra sslcontext server".split()
    start = list(inspect.signature(asyncio.SelectorEventLoop._start_serving).parameters)
    assert start == theirs


def test_asyncio_log_floods_are_held_back(caplog: pytest.LogCaptureFixture) -> None:
    """What asyncio logs (through its default exception handler, one message per failed
    accept or lost task, each with a socket or task repr on its next lines) passes once per
    interval, like uvicorn's warnings."""
    import gc

    from toobit_follower_sim.server import LOGGERS, server_config

    loggers = [logging.getLogger(name) for name in (None, *LOGGERS)]
    before = {id(x): list(x.filters) for x in loggers}
    handlers = [h for x in loggers for h in x.handlers]
    handler_filters = {id(h): list(h.filters) for h in handlers}
    sim = Sim()
    try:
        server_config(sim.app, port=free_port())

        async def fail() -> None:
            raise OSError(24, "Too many open files")

        async def scenario() -> None:
            loop = asyncio.get_running_loop()
            with socket.socket() as listener:
                for _ in range(500):
                    loop.call_exception_handler(
                        {
                            "message": "socket.accept() out of system resource",
                            "exception": OSError(24, "Too many open files"),
                            "socket": listener,
                        }
                    )
            tasks = [loop.create_task(fail()) for _ in range(200)]
            await asyncio.sleep(0.05)
            assert all(t.done() for t in tasks)
            del tasks
            gc.collect()  # each task, never awaited, logs "Task exception was never retrieved"

        with caplog.at_level(logging.ERROR, logger="asyncio"):
            asyncio.run(scenario())
            gc.collect()
        messages = [r.getMessage().partition("\n")[0] for r in caplog.records]
        assert messages.count("socket.accept() out of system resource") == 1, messages[:5]
        assert messages.count("Task exception was never retrieved") == 1, messages[:5]
    finally:
        sim.close()
        for x in loggers:
            x.filters[:] = before[id(x)]
        for h in handlers:
            h.filters[:] = handler_filters[id(h)]


def test_slow_bodies_huge_heads_idle_connections_and_garbage(tmp_path: Path) -> None:
    flags = ("--header-timeout", "30", "--body-timeout", "1", "--keep-alive", "1")
    with server(tmp_path, *flags) as (base, _, logfile):
        port = int(base.rsplit(":", 1)[1])
        url = signed_url(CONFIG, body=b"{}").encode()
        with socket.create_connection(("127.0.0.1", port), timeout=10) as slow_body:
            slow_body.sendall(
                b"PUT " + url + b" HTTP/1.1\r\nHost: sim\r\nContent-Length: 100\r\n"
                b"Content-Type: application/json\r\nX-BB-APIKEY: "
                + DEMO_KEY.encode()
                + b"\r\n\r\n{"
            )
            assert closed_by_server(slow_body)
        with socket.create_connection(("127.0.0.1", port), timeout=10) as huge_head:
            huge_head.sendall(b"GET /api/v1/time HTTP/1.1\r\nX-Big: " + b"a" * 70_000)
            answer = b""
            with contextlib.suppress(ConnectionResetError):
                while chunk := huge_head.recv(4096):
                    answer += chunk
            assert answer.startswith(b"HTTP/1.1 431"), answer[:100]  # and closed
        with socket.create_connection(("127.0.0.1", port), timeout=10) as idle:
            idle.sendall(b"GET /api/v1/time HTTP/1.1\r\nHost: sim\r\n\r\n")
            assert idle.recv(4096).startswith(b"HTTP/1.1 200")
            assert closed_by_server(idle)  # keep-alive: 1 s
        for _ in range(100):  # uvicorn warns once per bad request: held back after the first
            with socket.create_connection(("127.0.0.1", port), timeout=10) as garbage:
                garbage.sendall(b"NOT HTTP AT ALL\r\n\r\n")
                assert garbage.recv(4096).startswith(b"HTTP/1.1 400")
        time.sleep(0.2)
    warnings = [line for line in logfile.read_text().splitlines() if "Invalid HTTP" in line]
    assert 1 <= len(warnings) <= 2, warnings


def test_log_flood_guard_passes_each_warning_once_per_interval() -> None:
    from toobit_follower_sim.server import LogFloodGuard

    now = [0.0]
    guard = LogFloodGuard(every=10, clock=lambda: now[0])

    def record(msg: str, level: int = logging.WARNING) -> logging.LogRecord:
        return logging.LogRecord("uvicorn.error", level, __file__, 1, msg, None, None)

    assert guard.filter(record("Invalid HTTP request received."))
    assert not any(guard.filter(record("Invalid HTTP request received.")) for _ in range(50))
    assert guard.filter(record("another warning"))
    assert guard.filter(record("Invalid HTTP request received.", logging.INFO))  # not a warning
    now[0] = 10.5
    passed = record("Invalid HTTP request received.")
    assert guard.filter(passed)
    assert passed.getMessage().endswith("[50 more like this in the last 10 s]")


class FakeTransport:
    def __init__(self) -> None:
        self.closed = False
        self.written = b""

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed

    def write(self, data: bytes) -> None:
        self.written += data


class FakeCycle:
    response_complete = False
    more_body = False


class FakeConnection:
    def __init__(self) -> None:
        self.transport = FakeTransport()
        self.cycle: FakeCycle | None = None


def test_connection_guard_closes_the_longest_waiting_and_the_too_slow() -> None:
    import asyncio

    from toobit_follower_sim.server import ConnectionGuard

    async def scenario() -> None:
        now = [0.0]
        guard = ConnectionGuard(
            max_connections=2,
            header_timeout_s=5,
            body_timeout_s=3,
            max_header_bytes=100,
            clock=lambda: now[0],
        )
        a, b, c, d = (FakeConnection() for _ in range(4))
        guard.opened(a)
        now[0] = 1
        guard.opened(b)
        b.cycle = FakeCycle()  # b's request head is complete: it is being served
        guard.received(b)
        now[0] = 2
        guard.opened(c)  # one too many: a waited longest
        assert (a.transport.closed, b.transport.closed, c.transport.closed) == (True, False, False)
        guard.lost(a)
        now[0] = 3
        guard.opened(d)  # b is busy, so c goes
        assert c.transport.closed and not b.transport.closed and not d.transport.closed
        guard.lost(c)
        assert b.cycle is not None
        b.cycle.response_complete = True
        guard.answered(b)  # b waits for its next request from now (3)
        now[0] = 7.5  # d has waited 4.5 s, b 4.5 s: both in time
        guard.sweep()
        assert not (b.transport.closed or d.transport.closed)
        now[0] = 8.1  # d: 5.1 s, b: 5.1 s
        guard.sweep()
        assert b.transport.closed and d.transport.closed
        # the evictions went out in the first report (7.5 s); the next is due 10 s later
        assert guard.counts == {"slow": 2, "slow body": 0, "evicted": 0, "too large": 0}
        guard.lost(b)
        guard.lost(d)
        e, f, g = FakeConnection(), FakeConnection(), FakeConnection()
        now[0] = 9
        for conn, more_body in ((e, True), (f, False)):  # heads complete at 9
            guard.opened(conn)
            conn.cycle = FakeCycle()
            conn.cycle.more_body = more_body  # e's body is still coming, f's is in
            guard.received(conn)
        now[0] = 9 + 3.1
        guard.sweep()
        assert e.transport.closed and not f.transport.closed  # f: being answered
        guard.lost(e)
        guard.opened(g)
        guard.head(g, 101)
        assert g.transport.closed and g.transport.written.startswith(b"HTTP/1.1 431")

    asyncio.run(scenario())


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def test_a_50mb_admin_post_is_refused_without_buffering_it(tmp_path: Path) -> None:
    size = 50 * 2**20
    with server(tmp_path, "--enable-admin") as (base, proc, _):
        before = rss_kib(proc.pid)
        with httpx.Client(base_url=base, timeout=30) as client:
            # declared: refused from its Content-Length alone
            resp = client.post("/_sim/faults", content=b" " * size)
            assert resp.status_code == 413, resp.text

            def chunks() -> Iterator[bytes]:  # not declared: read up to the cap, no further
                yield b'{"faults": "'
                for _ in range(size // 2**16):
                    yield b" " * 2**16

            resp = client.post("/_sim/faults", content=chunks())
            assert resp.status_code == 413, resp.text
            assert client.get("/_sim/faults").json() == {"faults": "seed=0"}
        assert rss_kib(proc.pid) - before < 20 * 1024  # KiB; buffering would add 50+ MB


def test_access_log_has_no_signature_and_no_full_key(tmp_path: Path) -> None:
    with server(tmp_path, "--access-log", "--log-level", "info") as (base, _, logfile):
        with httpx.Client(base_url=base, timeout=10) as client:
            url = signed_url(CONFIG, "leaderUserId=123456789")
            assert client.get(url, headers={"X-BB-APIKEY": DEMO_KEY}).status_code == 200
            client.get(f"{CONFIG}?apiKey={DEMO_KEY}&Signature=abc")  # a key where it should not be
        signature = url.rsplit("signature=", 1)[1]
        deadline = time.monotonic() + 10
        while "leaderUserId=123456789" not in logfile.read_text():
            assert time.monotonic() < deadline, logfile.read_text()
            time.sleep(0.05)
        time.sleep(0.2)
    text = logfile.read_text()
    assert "signature=<redacted>" in text and "Signature=<redacted>" in text, text
    assert signature not in text and DEMO_KEY not in text, text
    assert f"{DEMO_KEY[:4]}...{DEMO_KEY[-4:]}" in text


def test_trace_log_has_no_signature_and_no_key(tmp_path: Path) -> None:
    """Issue 17: at `--log-level trace` uvicorn logs every request's ASGI scope, its query
    string (signature included) among the arguments; no line may carry the signature, the
    key or the secret, whatever logger writes it."""
    with server(tmp_path, "--log-level", "trace", "--access-log") as (base, _, logfile):
        with httpx.Client(base_url=base, timeout=10) as client:
            url = signed_url(CONFIG, "leaderUserId=123456789")
            assert client.get(url, headers={"X-BB-APIKEY": DEMO_KEY}).status_code == 200
            body = compact(CONFIG_EXAMPLE)
            put = signed_url(CONFIG, body=body)
            headers = {"X-BB-APIKEY": DEMO_KEY, "Content-Type": "application/json"}
            resp = client.put(put, content=body, headers=headers)
            assert resp.status_code == 200, resp.text
            client.get(f"{CONFIG}?apiKey={DEMO_KEY}&leaderUserId=7")  # a key in the query
        signatures = [u.rsplit("signature=", 1)[1] for u in (url, put)]
        deadline = time.monotonic() + 10
        while "leaderUserId=7" not in logfile.read_text():
            assert time.monotonic() < deadline, logfile.read_text()
            time.sleep(0.05)
        time.sleep(0.2)
    text = logfile.read_text()
    assert "Started scope=" in text and "query_string" in text, text  # the trace log ran
    assert "signature=<redacted>" in text, text
    for secret in (*signatures, DEMO_KEY, SECRET.decode()):
        assert secret not in text, text


def test_redact_secrets_covers_any_argument() -> None:
    from toobit_follower_sim.server import RedactSecrets

    signature = sign(b"timestamp=1")
    scope = {"type": "http", "query_string": f"timestamp=1&signature={signature}".encode()}
    args: Any = ("127.0.0.1:1 - ASGI", 1, scope)
    trace = "%s [%d] Started scope=%s"  # uvicorn's MessageLoggerMiddleware
    record = logging.LogRecord("uvicorn.asgi", 5, __file__, 1, trace, args, None)
    assert RedactSecrets().filter(record)
    assert signature not in record.getMessage() and "signature=<redacted>" in record.getMessage()
    record = logging.LogRecord("x", 30, __file__, 1, "%(url)r", ({"url": DEMO_KEY},), None)
    assert RedactSecrets().filter(record) and DEMO_KEY not in record.getMessage()
    try:
        raise ValueError(f"bad query signature={signature}")
    except ValueError:
        record = logging.LogRecord("x", 40, __file__, 1, "oops", None, sys.exc_info())
    assert RedactSecrets().filter(record)
    assert record.exc_text and signature not in record.exc_text
    assert signature not in logging.Formatter().format(record)


def test_redact() -> None:
    from toobit_follower_sim.server import redact

    line = f"GET /x?a=1&signature={'ab' * 32}&k={DEMO_KEY} HTTP/1.1"
    assert redact(line) == "GET /x?a=1&signature=<redacted>&k=SRQG...OtSq HTTP/1.1"


def test_open_files_are_fitted_to_the_connections() -> None:
    """The server never plans more connections than its open-file limit holds."""
    from toobit_follower_sim.server import fit_open_files

    assert fit_open_files(10) == 10
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)  # raised as far as allowed
    assert fit_open_files(10**9) == max(1, soft - 64)
