"""`toobit-follower conformance` and `body_signing="auto"` against the simulator playing
each behaviour they claim to tell apart (issue 12).

Every combination of the four x-assumption markers the probe asks about (the simulator
playing each one's alternative, `SimOptions.assumptions`) is probed in process
(SimExchange, fake clock): each verdict must match the switches, and the account's state
digest must be what it was before. One run goes
through the command line against a real loopback server. Contradictions the switches do
not play (recvWindow accepted, a message off its template, headers missing, a 429) are
answers rewritten on the way back.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
from toobit_follower import AsyncFollowerClient, FollowerClient
from toobit_follower_cli import main
from toobit_follower_conformance import (
    CONFIRMED,
    CONTRADICTED,
    UNKNOWN,
    Key,
    Report,
    max_weight_per_minute,
    run,
)
from toobit_follower_conformance.probes import LEADER_CANDIDATES
from toobit_follower_models.errors import BY_CODE, ERROR_TABLE, ErrorCode
from toobit_follower_sim import SimOptions
from toobit_follower_sim.assumptions import ALTERNATIVE, FLAG_ALIASES, with_flag_aliases
from toobit_follower_sim.testing import (
    BASE_URL,
    DEMO_API_KEY,
    DEMO_API_SECRET,
    DEMO_LEADER_ID,
    FakeClock,
    SimExchange,
    default_seed,
)

SEED = default_seed()
DEMO_ACCOUNT = next(k["accountId"] for k in SEED["apiKeys"] if k["key"] == DEMO_API_KEY)
READ_ONLY_KEY = next(
    k["key"]
    for k in SEED["apiKeys"]
    if k["accountId"] == DEMO_ACCOUNT and k["permission"] == "READ_ONLY"
)
SPACING = 0.25
LEADERS_PATH = "/api/v2/copy-trading/follower/leaders"
STOP_PATH = "/api/v2/copy-trading/follower/positions/stop-profit-loss"

# The findings a host playing a marker's alternative contradicts (the markers of the
# simulator's old switches, now `serve` flag aliases: FLAG_ALIASES).
CONTRADICTS = {
    "body-signed-with-query": {"body-signing"},
    "unknown-parameter-refused": {"unknown-query", "unknown-field"},
    "read-only-before-validation": {"order-of-checks"},
    "error-status-per-code": {
        "status-validation",
        "status-business",
        "status-auth",
        "status-permission",
    },
}
# Every combination of them.
COMBINATIONS = [
    frozenset(markers)
    for size in range(len(CONTRADICTS) + 1)
    for markers in itertools.combinations(CONTRADICTS, size)
]


def played(*markers: str) -> SimOptions:
    """A simulator playing these markers' alternatives."""
    return SimOptions(assumptions={marker: ALTERNATIVE for marker in markers})


def expected_contradictions(options: SimOptions) -> set[str]:
    """The findings a simulator with these choices must contradict; all others confirm."""
    found: set[str] = set()
    for marker, choice in options.assumptions.items():
        if choice == ALTERNATIVE:
            found |= CONTRADICTS[marker]
    return found


def _probe(
    exchange: SimExchange,
    read_only: bool = True,
    transport: httpx.BaseTransport | None = None,
) -> Report:
    return run(
        BASE_URL,
        Key(DEMO_API_KEY, DEMO_API_SECRET),
        Key(READ_ONLY_KEY, DEMO_API_SECRET, "read-only") if read_only else None,
        spacing=SPACING,
        transport=transport or exchange.transport(),
        clock=exchange.clock.time,
        sleep=exchange.clock.sleep,
    )


def _verdicts(report: Report) -> dict[str, str]:
    return {f.id: f.verdict for f in report.findings}


def _signatures(exchange: SimExchange) -> list[str]:
    found = []
    for request in exchange.requests:
        found += parse_qs(request.url.query.decode()).get("signature", [])
    return found


def _leader_of(request: httpx.Request) -> int | None:
    if request.method != "PUT":
        return None
    return int(json.loads(request.content)["leaderUserId"])


class Rewrite(httpx.BaseTransport):
    """The simulator's transport, with ``change(request, response)`` applied to answers."""

    def __init__(
        self,
        exchange: SimExchange,
        change: Callable[[httpx.Request, httpx.Response], httpx.Response],
    ) -> None:
        self.inner = exchange.transport()
        self.change = change

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        response.read()
        return self.change(request, response)


def _envelope(code: int, msg: str, status: int = 200, headers: Any = None) -> httpx.Response:
    return httpx.Response(status, json={"code": code, "msg": msg}, headers=headers)


# ---- the probe against every combination of switches --------------------------------
@pytest.mark.parametrize(
    "markers", COMBINATIONS, ids=["+".join(sorted(c)) or "contract" for c in COMBINATIONS]
)
def test_each_verdict_matches_the_switches_and_nothing_changes(markers: frozenset[str]) -> None:
    options = played(*markers)
    exchange = SimExchange(options=options)
    before = exchange.sim.store.digest()
    report = _probe(exchange)
    assert report.stopped is None
    assert exchange.sim.store.digest() == before  # the account is as it was
    contradicted = expected_contradictions(options)
    verdicts = _verdicts(report)
    assert {fid for fid, v in verdicts.items() if v == CONTRADICTED} == contradicted
    assert all(v == CONFIRMED for fid, v in verdicts.items() if fid not in contradicted)
    for finding in report.findings:
        assert bool(finding.follows) == (finding.verdict == CONTRADICTED), finding.id
        assert finding.contract and finding.observed
    # requests per run, and their weight per minute
    assert len(report.records) == len(exchange.requests) == 17
    assert [r.key for r in report.records] == ["none"] + ["main"] * 14 + ["read-only"] * 2
    assert max_weight_per_minute(report.records) == 17
    gaps = [b.at - a.at for a, b in itertools.pairwise(report.records)]
    assert min(gaps) == pytest.approx(SPACING, abs=1e-3)
    # never a DELETE; every write is about the one leader the account does not follow
    assert "DELETE" not in {r.method for r in exchange.requests}
    followed = {f["leaderUserId"] for f in SEED["follows"] if f["followerId"] == DEMO_ACCOUNT}
    leaders = {_leader_of(r) for r in exchange.requests if r.method == "PUT"}
    assert leaders == {LEADER_CANDIDATES[0]}
    assert not leaders & followed


def test_body_signing_names_the_setting_that_follows() -> None:
    report = _probe(SimExchange(options=played("body-signed-with-query")))
    finding = next(f for f in report.findings if f.id == "body-signing")
    assert finding.verdict == CONTRADICTED
    assert 'body_signing="query-only"' in (finding.follows or "")
    assert report.to_json()["bodySigning"] == "query-only"


def test_without_a_read_only_key_the_order_of_checks_is_not_told() -> None:
    exchange = SimExchange()
    report = _probe(exchange, read_only=False)
    verdicts = _verdicts(report)
    assert verdicts["order-of-checks"] == UNKNOWN
    assert verdicts["read-only-write"] == UNKNOWN
    assert verdicts["status-permission"] == UNKNOWN
    assert len(exchange.requests) == 15
    assert all(r.headers["X-BB-APIKEY"] == DEMO_API_KEY for r in exchange.requests[1:])


def test_permission_status_says_no_read_only_key_only_when_none_was_given() -> None:
    """Issue 17: with a read-only key given, a host that never answers NOT_SUPPORTED (here:
    it lets the key through to the relation check) was reported "not asked: no read-only
    key given"."""
    refused = BY_CODE[ErrorCode.FOLLOWER_NOT_FOUND]

    def let_through(request: httpx.Request, response: httpx.Response) -> httpx.Response:
        if request.headers.get("X-BB-APIKEY") == READ_ONLY_KEY:
            return _envelope(refused.code, refused.message, refused.http_status)
        return response

    exchange = SimExchange()
    report = _probe(exchange, transport=Rewrite(exchange, let_through))
    assert report.stopped is None
    assert [r.key for r in report.records][-2:] == ["read-only", "read-only"]
    finding = next(f for f in report.findings if f.id == "status-permission")
    assert finding.verdict == UNKNOWN
    assert "no read-only key given" not in finding.observed, finding.observed
    assert f"never answered {ErrorCode.NOT_SUPPORTED.name} to the read-only key" in (
        finding.observed
    )
    assert f"{refused.code}" in finding.observed  # what it answered instead
    assert finding.probes == ("read-only-write", "read-only-invalid")
    # with none given, it says so
    without = _probe(SimExchange(), read_only=False)
    finding = next(f for f in without.findings if f.id == "status-permission")
    assert finding.observed.startswith("not asked: no read-only key given"), finding.observed


# ---- safety ----------------------------------------------------------------------------
def test_a_followed_candidate_is_skipped() -> None:
    seed = default_seed()
    follow = next(f for f in seed["follows"] if f["followerId"] == DEMO_ACCOUNT)
    leader = next(x for x in seed["leaders"] if x["id"] == follow["leaderUserId"])
    seed["leaders"].append({**leader, "id": LEADER_CANDIDATES[0]})
    seed["follows"].append({**follow, "leaderUserId": LEADER_CANDIDATES[0]})
    exchange = SimExchange(seed)
    before = exchange.sim.store.digest()
    report = _probe(exchange)
    assert report.seen.leader == LEADER_CANDIDATES[1]
    assert {_leader_of(r) for r in exchange.requests if r.method == "PUT"} == {LEADER_CANDIDATES[1]}
    assert exchange.sim.store.digest() == before


def test_no_write_when_no_leader_is_surely_unfollowed() -> None:
    """Every candidate's follow config answers as if followed: the run is refused."""
    exchange = SimExchange()

    def followed(request: httpx.Request, response: httpx.Response) -> httpx.Response:
        if request.url.path.endswith("/config"):
            return httpx.Response(200, json={"code": 200, "msg": "success", "data": {}})
        return response

    report = _probe(exchange, transport=Rewrite(exchange, followed))
    assert "refused to run" in (report.stopped or "")
    assert [r.method for r in exchange.requests] == ["GET"] * (2 + len(LEADER_CANDIDATES))
    assert _verdicts(report)["body-signing"] == UNKNOWN
    assert main_exit_for(report) == 1


def main_exit_for(report: Report) -> int:
    return 8 if report.limited else 1 if report.stopped else 0


@pytest.mark.parametrize("status", [429, 418])
@pytest.mark.parametrize("at", [2, 5, 12])
def test_stops_at_once_on_429_or_418(status: int, at: int) -> None:
    exchange = SimExchange()
    seen = itertools.count(1)

    def limit(request: httpx.Request, response: httpx.Response) -> httpx.Response:
        if next(seen) >= at:
            row = next(r for r in ERROR_TABLE if r.http_status == status)
            return _envelope(row.code, row.message, status)
        return response

    report = _probe(exchange, transport=Rewrite(exchange, limit))
    assert len(exchange.requests) == at  # nothing after the limited answer
    assert report.limited and "rate limited" in (report.stopped or "")
    assert UNKNOWN in _verdicts(report).values()


def test_the_rate_limit_code_under_http_200_stops_too() -> None:
    exchange = SimExchange()

    def limit(request: httpx.Request, response: httpx.Response) -> httpx.Response:
        if request.url.path == LEADERS_PATH:
            return _envelope(ErrorCode.TOO_MANY_REQUESTS, "Too many requests.")
        return response

    _probe(exchange, transport=Rewrite(exchange, limit))
    assert len(exchange.requests) == 2


def test_no_secret_or_signature_in_either_output() -> None:
    exchange = SimExchange()

    def echo(request: httpx.Request, response: httpx.Response) -> httpx.Response:
        # a host that echoes what it was sent in its messages
        if "recvWindow=60001" in str(request.url):
            return _envelope(ErrorCode.INVALID_PARAMETER, f"bad {request.url}", 400)
        return response

    report = _probe(exchange, transport=Rewrite(exchange, echo))
    outputs = report.to_markdown() + json.dumps(report.to_json())
    secrets = [DEMO_API_SECRET, DEMO_API_KEY, READ_ONLY_KEY, *_signatures(exchange)]
    assert len(secrets) > 17
    assert not [s for s in secrets if s in outputs]
    assert "<redacted>" in outputs  # the echo was there, scrubbed
    assert "SRQG...OtSq" in outputs  # the key, masked


# ---- contradictions the switches do not play -------------------------------------------
def _rewritten(change: Callable[[httpx.Request, httpx.Response], httpx.Response]) -> Report:
    exchange = SimExchange()
    return _probe(exchange, transport=Rewrite(exchange, change))


def test_a_recv_window_above_the_maximum_accepted_is_a_contradiction() -> None:
    def accept(request: httpx.Request, response: httpx.Response) -> httpx.Response:
        if "recvWindow=60001" in str(request.url):
            return httpx.Response(200, json={"code": 200, "msg": "success", "data": []})
        return response

    finding = next(f for f in _rewritten(accept).findings if f.id == "recv-window-max")
    assert finding.verdict == CONTRADICTED
    assert "(accepted)" in finding.observed
    assert "RecvWindow" in (finding.follows or "")


def test_uppercase_hex_accepted_is_a_contradiction() -> None:
    def accept(request: httpx.Request, response: httpx.Response) -> httpx.Response:
        signature = parse_qs(request.url.query.decode()).get("signature", [""])[0]
        if signature != signature.lower():
            return httpx.Response(200, json={"code": 200, "msg": "success", "data": []})
        return response

    assert _verdicts(_rewritten(accept))["uppercase-hex"] == CONTRADICTED


def test_a_message_off_its_template_is_a_contradiction() -> None:
    def reword(request: httpx.Request, response: httpx.Response) -> httpx.Response:
        body = response.json() if response.content else {}
        if body.get("code") == ErrorCode.INVALID_TIMESTAMP:
            return _envelope(body["code"], "Timestamp out of window.", response.status_code)
        return response

    verdicts = _verdicts(_rewritten(reword))
    assert verdicts["message-INVALID_TIMESTAMP"] == CONTRADICTED
    assert verdicts["message-INVALID_SIGNATURE"] == CONFIRMED
    assert verdicts["timestamp-ahead"] == CONFIRMED  # the code is right


def test_every_observed_message_is_checked_against_its_template() -> None:
    report = _probe(SimExchange())
    codes = {r.answer.code for r in report.records if r.answer and r.answer.code in BY_CODE}
    names = {f.id for f in report.findings if f.id.startswith("message-")}
    assert names == {f"message-{BY_CODE[code].name}" for code in codes}


def test_missing_rate_limit_headers_are_a_contradiction() -> None:
    def strip(request: httpx.Request, response: httpx.Response) -> httpx.Response:
        headers = {k: v for k, v in response.headers.items() if k.lower() != "x-api-limit"}
        return httpx.Response(response.status_code, headers=headers, content=response.content)

    finding = next(f for f in _rewritten(strip).findings if f.id == "rate-limit-headers")
    assert finding.verdict == CONTRADICTED
    assert "X-Api-Limit missing on 17 of 17" in finding.observed


def test_the_clock_offset_is_measured_and_used() -> None:
    exchange = SimExchange(server_offset_ms=30_000)  # the server runs 30 s ahead
    report = _probe(exchange)
    assert report.to_json()["clockOffsetMs"] == 30_000
    assert _verdicts(report)["timestamp-ahead"] == CONFIRMED  # 6 s ahead of the server
    assert report.stopped is None  # signed with the server's clock: no -1021 elsewhere


def test_the_assumptions_settled_are_the_specs_markers() -> None:
    report = _probe(SimExchange())
    settled, others = report.assumptions()
    assert {a["id"] for a in settled} | set(others) == set(report.contract.markers)
    cited = {m for f in report.findings for m in f.assumptions}
    assert cited <= set(report.contract.markers)  # no marker the spec lacks is cited
    assert {"body-signed-with-query", "unknown-parameter-refused", "error-status-per-code"} <= {
        a["id"] for a in settled
    }


# ---- body_signing="auto" ---------------------------------------------------------------
def _client(exchange: SimExchange, transport: Any = None, **kwargs: Any) -> FollowerClient:
    return FollowerClient(
        DEMO_API_KEY,
        DEMO_API_SECRET,
        base_url=BASE_URL,
        transport=transport or exchange.transport(),
        body_signing="auto",
        clock=exchange.clock.time,
        sleep=exchange.clock.sleep,
        **kwargs,
    )


def _stop(client: Any) -> Any:
    return client.update_stop_profit_loss(DEMO_LEADER_ID, "BTC-SWAP-USDT", 1, stop_loss_delay=31)


@pytest.mark.parametrize("rule", FLAG_ALIASES["body_signing"].values or ())
def test_auto_finds_the_rule_once_and_shows_it(rule: str) -> None:
    exchange = SimExchange(
        options=SimOptions(assumptions=with_flag_aliases({}, {"body_signing": rule}))
    )
    client = _client(exchange)
    assert "auto: not probed yet" in repr(client)
    client.list_leaders()  # a GET signs the same either way: no probe
    assert len(exchange.requests) == 1
    _stop(client)
    assert f"auto: {rule} (probed)" in repr(client)
    assert client.auth.body_signing.value == rule
    probes = exchange.requests[1:-1]
    assert [(r.method, r.url.path) for r in probes[:1]] == [("GET", LEADERS_PATH)]
    assert {_leader_of(r) for r in probes if r.method == "PUT"} == {LEADER_CANDIDATES[0]}
    assert _leader_of(exchange.requests[-1]) == DEMO_LEADER_ID
    assert len(probes) == 4
    _stop(client)
    assert len(exchange.requests) == 1 + 4 + 2  # no second probe
    assert DEMO_API_SECRET not in repr(client) and DEMO_API_SECRET not in repr(client.auth)


def test_auto_probes_once_for_concurrent_first_calls_threads() -> None:
    # The real clock: on a shared fake clock, one thread's wait would age the others' calls.
    real = FakeClock()
    real.time = time.time  # type: ignore[method-assign]
    real.ms = lambda: time.time_ns() // 1_000_000  # type: ignore[method-assign]
    exchange = SimExchange(options=played("body-signed-with-query"), clock=real)
    client = FollowerClient(
        DEMO_API_KEY,
        DEMO_API_SECRET,
        base_url=BASE_URL,
        transport=exchange.transport(),
        body_signing="auto",
    )
    client.list_leaders()  # the rate-limit gate learns the budget: calls now go at once
    errors: list[BaseException] = []

    def call() -> None:
        try:
            _stop(client)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=call) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    leaders_gets = [r for r in exchange.requests if r.url.path == LEADERS_PATH]
    probe_puts = [r for r in exchange.requests if _leader_of(r) == LEADER_CANDIDATES[0]]
    assert len(leaders_gets) == 2 and len(probe_puts) == 2  # the caller's, the probe's
    assert "query-only (probed)" in repr(client)


class _Yielding(httpx.AsyncBaseTransport):
    """Lets other tasks run before each request (the in-process app never waits)."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(0)
        return await self.inner.handle_async_request(request)


def test_auto_probes_once_for_concurrent_first_calls_tasks() -> None:
    exchange = SimExchange(options=played("body-signed-with-query"))

    async def scenario() -> None:
        async with AsyncFollowerClient(
            DEMO_API_KEY,
            DEMO_API_SECRET,
            base_url=BASE_URL,
            transport=_Yielding(exchange.async_transport()),
            body_signing="auto",
            clock=exchange.clock.time,
            sleep=exchange.clock.async_sleep,
        ) as client:
            await client.list_leaders()  # the gate learns the budget: calls go at once
            await asyncio.gather(*(_stop(client) for _ in range(6)))
            assert "query-only (probed)" in repr(client)

    asyncio.run(scenario())
    probe_puts = [r for r in exchange.requests if _leader_of(r) == LEADER_CANDIDATES[0]]
    assert len(probe_puts) == 2
    assert len(exchange.requests) == 1 + 4 + 6


def test_auto_after_a_429_during_the_probe_sends_nothing_more() -> None:
    from toobit_follower import RateLimitError

    exchange = SimExchange()
    row = next(r for r in ERROR_TABLE if r.http_status == 429)
    exchange.script(lambda r: None, _envelope(row.code, row.message, 429))
    client = _client(exchange, max_retries=0, max_rate_limit_wait=0)
    with pytest.raises(RateLimitError):
        _stop(client)
    assert len(exchange.requests) == 2  # the leaders, the config: then nothing
    assert DEMO_LEADER_ID not in {_leader_of(r) for r in exchange.requests}
    assert "not probed yet" in repr(client)  # asked again next time


def test_auto_a_transport_error_during_the_probe_is_not_an_unknown_outcome() -> None:
    """The caller's own PUT was never sent, so its outcome is known: not applied."""
    from toobit_follower import APIConnectionError, OutcomeUnknownError

    exchange = SimExchange()
    exchange.script(lambda r: None, httpx.ReadTimeout("slow"))
    client = _client(exchange, max_retries=0)
    with pytest.raises(APIConnectionError) as caught:
        _stop(client)
    assert not isinstance(caught.value, OutcomeUnknownError)
    assert DEMO_LEADER_ID not in {_leader_of(r) for r in exchange.requests}


def test_auto_an_inconclusive_probe_keeps_the_documented_rule_once() -> None:
    exchange = SimExchange()

    def refuse(request: httpx.Request, response: httpx.Response) -> httpx.Response:
        if _leader_of(request) == LEADER_CANDIDATES[0]:
            return _envelope(ErrorCode.INVALID_SIGNATURE, "no", 401)
        return response

    client = _client(exchange, transport=Rewrite(exchange, refuse))
    _stop(client)
    assert "auto: query+body (probe inconclusive" in repr(client)
    count = len(exchange.requests)
    _stop(client)
    assert len(exchange.requests) == count + 1


# ---- command line and simulator flags --------------------------------------------------
def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def loopback_sim() -> Iterator[str]:
    """The simulator as a real server playing a host that differs from the contract."""
    port = _free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "toobit_follower_sim",
            "serve",
            "--port",
            str(port),
            "--enable-admin",
            "--log-level",
            "warning",
            "--body-signing",
            "query-only",
            "--unknown-params",
            "ignore",
            "--read-only-check",
            "after-validation",
            "--errors-as-200",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    try:
        while True:
            try:
                httpx.get(f"{url}/api/v1/time", timeout=1).raise_for_status()
                break
            except httpx.HTTPError:
                assert proc.poll() is None and time.monotonic() < deadline
                time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_cli_conformance_against_a_loopback_server(loopback_sim: str, tmp_path: Path) -> None:
    digest = httpx.get(f"{loopback_sim}/_sim/state").json()["digest"]
    out, err = _Capture(), _Capture()
    environ = {
        "TOOBIT_API_KEY": DEMO_API_KEY,
        "TOOBIT_API_SECRET": DEMO_API_SECRET,
        "TOOBIT_READONLY_API_KEY": READ_ONLY_KEY,
        "TOOBIT_READONLY_API_SECRET": DEMO_API_SECRET,
        "TOOBIT_FOLLOWER_PROFILES": str(tmp_path / "none.toml"),
    }
    output = tmp_path / "conformance.json"
    argv = ["--base-url", loopback_sim, "conformance", "--spacing", "0", "--output", str(output)]
    assert main(argv, stdout=out, stderr=err, environ=environ) == 0, err.getvalue()
    document = json.loads(output.read_text(encoding="utf-8"))
    verdicts = {f["id"]: f["verdict"] for f in document["findings"]}
    options = played(*CONTRADICTS)  # what loopback_sim's flags play
    assert {k for k, v in verdicts.items() if v == CONTRADICTED} == expected_contradictions(options)
    assert document["requests"] == 17 and document["maxWeightPerMinute"] == 17
    assert "| question | contract says | host did | verdict |" in out.getvalue()
    assert httpx.get(f"{loopback_sim}/_sim/state").json()["digest"] == digest
    text = out.getvalue() + err.getvalue() + output.read_text(encoding="utf-8")
    assert DEMO_API_SECRET not in text and DEMO_API_KEY not in text


def test_a_profile_with_body_signing_auto_writes_to_a_query_only_host(
    loopback_sim: str, tmp_path: Path
) -> None:
    profiles = tmp_path / "profiles.toml"
    profiles.write_text(
        f'[auto]\napi_key = "{DEMO_API_KEY}"\napi_secret = "{DEMO_API_SECRET}"\n'
        f'base_url = "{loopback_sim}"\nbody_signing = "auto"\n'
        f'[plain]\napi_key = "{DEMO_API_KEY}"\napi_secret = "{DEMO_API_SECRET}"\n'
        f'base_url = "{loopback_sim}"\n',
        encoding="utf-8",
    )
    os.chmod(profiles, 0o600)
    os.chmod(tmp_path, 0o700)
    argv = ["positions", "stop", str(DEMO_LEADER_ID), "BTC-SWAP-USDT", "--long", "--delay", "7"]
    environ = {"TOOBIT_FOLLOWER_PROFILES": str(profiles)}
    plain = main(
        ["--profile", "plain", *argv], stdout=_Capture(), stderr=_Capture(), environ=environ
    )
    assert plain == 3  # signed over the body: refused by a host that signs the query alone
    auto = main(["--profile", "auto", *argv], stdout=_Capture(), stderr=_Capture(), environ=environ)
    assert auto == 0
    profiles.write_text(profiles.read_text().replace('"auto"', '"sometimes"'), encoding="utf-8")
    err = _Capture()
    assert main(["--profile", "auto", *argv], stdout=_Capture(), stderr=err, environ=environ) == 3
    assert "body_signing must be one of" in err.getvalue()


class _Capture:
    def __init__(self) -> None:
        self.parts: list[str] = []

    def write(self, text: str) -> int:
        self.parts.append(text)
        return len(text)

    def flush(self) -> None:
        return None

    def isatty(self) -> bool:
        return False

    def getvalue(self) -> str:
        return "".join(self.parts)


def test_sim_flags_map_onto_the_switches() -> None:
    from toobit_follower_sim.cli import _parser

    defaults = _parser().parse_args(["serve"])
    assert with_flag_aliases({}, vars(defaults)) == {}
    assert {alias.marker for alias in FLAG_ALIASES.values()} == set(CONTRADICTS)
    for name, alias in FLAG_ALIASES.items():
        flag = ["--" + name.replace("_", "-")]
        if alias.values is not None:
            assert getattr(defaults, name) == alias.values[0]
            flag.append(alias.values[1])
        args = _parser().parse_args(["serve", *flag])
        assert with_flag_aliases({}, vars(args)) == {alias.marker: ALTERNATIVE}
    with pytest.raises(SystemExit):
        _parser().parse_args(["serve", "--body-signing", "sometimes"])


def test_the_readme_sample_is_what_the_simulator_reports() -> None:
    """README's sample (from a simulator with --body-signing query-only --errors-as-200):
    the same questions with the same verdicts as a run now."""
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Conformance of a live host\n", 1)[1].split("\n## ", 1)[0]
    assert "--body-signing query-only --errors-as-200" in section
    sample = {}
    for line in section.splitlines():
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line)[1:-1]]
        if len(cells) == 4 and cells[0] != "question" and not cells[0].startswith("---"):
            sample[cells[0]] = cells[3]
    options = played("body-signed-with-query", "error-status-per-code")
    report = _probe(SimExchange(options=options))
    assert sample == {f.question: f.verdict for f in report.findings}


def test_a_list_of_leaders_off_the_spec_refuses_the_run() -> None:
    """The leaders followed cannot be read: no leader is surely unfollowed, no write."""

    def garble(request: httpx.Request, response: httpx.Response) -> httpx.Response:
        if request.url.path == LEADERS_PATH:
            return httpx.Response(200, json={"code": 200, "msg": "success", "data": [{"x": 1}]})
        return response

    exchange = SimExchange()
    report = _probe(exchange, transport=Rewrite(exchange, garble))
    assert "does not match the spec" in (report.stopped or "")
    assert [r.method for r in exchange.requests] == ["GET", "GET"]


def test_the_client_package_loads_the_probe_only_when_auto_needs_it() -> None:
    """The probe is the conformance package's (it imports the client package): importing
    the client, or making a client, loads neither it nor the CLI."""
    script = (
        "import sys, toobit_follower as t\n"
        "t.FollowerClient('k1', 's1', body_signing='auto').close()\n"
        "print(sorted(m for m in sys.modules if m.startswith(('toobit_follower_c',"
        " 'toobit_follower_sim'))))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == "[]"
