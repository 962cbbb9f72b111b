"""`toobit-follower conformance` on the leader side (issue 19): with a leader key, reads of
the leader operations, role probes and a leader config update the host must refuse;
never a DELETE; without one, nothing reaches a leader operation.

As tests/test_conformance.py: the probes run in process against the simulator
(SimExchange, fake clock) playing every combination of the leader markers it can play
(`SimOptions.assumptions`); each verdict must match the switches, and the state digest
must be what it was before. Contradictions the simulator does not play are answers
rewritten on the way back. One run goes through the command line against a real
loopback server.
"""

from __future__ import annotations

import itertools
import json
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
from toobit_follower_cli import main
from toobit_follower_conformance import (
    CONFIRMED,
    CONTRADICTED,
    NO_LEADER_KEY,
    UNKNOWN,
    Key,
    Report,
    max_weight_per_minute,
    run,
)
from toobit_follower_models.errors import BY_CODE, ERROR_TABLE, ErrorCode
from toobit_follower_models.operations import BY_ID, OPERATIONS
from toobit_follower_sim import SimOptions
from toobit_follower_sim.assumptions import ALTERNATIVE, PLAYED
from toobit_follower_sim.testing import (
    BASE_URL,
    DEMO_API_KEY,
    DEMO_API_SECRET,
    LEADER_API_KEY,
    LEADER_API_SECRET,
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
LEADER_PREFIX = "/api/v2/copy-trading/leader/"
CONFIG_PATH = BY_ID["getLeaderConfig"].path
FOLLOWERS_PATH = BY_ID["listFollowers"].path
LEADER_READS = [op.operation_id for op in OPERATIONS if op.tag == "leader" and not op.write]

# The leader findings a simulator playing a marker's alternative contradicts.
CONTRADICTS = {
    "follower-key-on-leader-endpoint": {"follower-key-config-update"},
    "leader-key-on-follower-endpoint": {"leader-key-on-follower"},
    "leader-role-after-validation": {"follower-key-invalid-config"},
    "leader-page-size-range": {"leader-size-above-100"},
}
COMBINATIONS = [
    frozenset(markers)
    for size in range(len(CONTRADICTS) + 1)
    for markers in itertools.combinations(CONTRADICTS, size)
]
LEADER_FINDINGS = {
    *(f"leader-read-{op}" for op in LEADER_READS),
    "leader-recv-window-max",
    "leader-size-min",
    "leader-size-above-100",
    "follower-key-on-leader",
    "leader-key-on-follower",
    "leader-config-invalid",
    "follower-key-config-update",
    "follower-key-invalid-config",
}
# keys of the requests, in order: the follower probes (17), then the leader side's (15)
KEYS = (
    ["none"]
    + ["main"] * 14
    + ["read-only"] * 2
    + ["leader"] * (len(LEADER_READS) + 4)
    + ["main", "leader", "main", "main"]
)


def _probe(
    exchange: SimExchange,
    *,
    leader: bool = True,
    transport: httpx.BaseTransport | None = None,
) -> Report:
    return run(
        BASE_URL,
        Key(DEMO_API_KEY, DEMO_API_SECRET),
        Key(READ_ONLY_KEY, DEMO_API_SECRET, "read-only"),
        leader=Key(LEADER_API_KEY, LEADER_API_SECRET, "leader") if leader else None,
        spacing=SPACING,
        transport=transport or exchange.transport(),
        clock=exchange.clock.time,
        sleep=exchange.clock.sleep,
    )


def _verdicts(report: Report) -> dict[str, str]:
    return {f.id: f.verdict for f in report.findings}


def _finding(report: Report, fid: str) -> Any:
    return next(f for f in report.findings if f.id == fid)


def _body(request: httpx.Request) -> dict[str, Any]:
    return dict(json.loads(request.content))


def _key_of(request: httpx.Request) -> str:
    return request.headers.get("X-BB-APIKEY", "")


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


def _rewritten(
    change: Callable[[httpx.Request, httpx.Response], httpx.Response],
) -> tuple[SimExchange, Report]:
    exchange = SimExchange()
    return exchange, _probe(exchange, transport=Rewrite(exchange, change))


def _envelope(code: int, msg: str, status: int = 200, data: Any = None) -> httpx.Response:
    return httpx.Response(status, json={"code": code, "msg": msg, "data": data})


def _success(data: Any) -> httpx.Response:
    return _envelope(200, "success", 200, data)


# ---- the probe against every combination of the leader switches ----------------------
def test_the_switches_are_the_simulators() -> None:
    assert set(CONTRADICTS) <= set(PLAYED)


@pytest.mark.parametrize(
    "markers", COMBINATIONS, ids=["+".join(sorted(c)) or "contract" for c in COMBINATIONS]
)
def test_each_leader_verdict_matches_the_switches_and_nothing_changes(
    markers: frozenset[str],
) -> None:
    exchange = SimExchange(options=SimOptions(assumptions=dict.fromkeys(markers, ALTERNATIVE)))
    before = exchange.sim.store.digest()
    report = _probe(exchange)
    assert report.stopped is None
    assert exchange.sim.store.digest() == before  # both sides' state is as it was
    contradicted = set().union(*(CONTRADICTS[m] for m in markers))
    verdicts = _verdicts(report)
    assert LEADER_FINDINGS <= set(verdicts)
    assert {fid for fid, v in verdicts.items() if v == CONTRADICTED} == contradicted
    assert all(v == CONFIRMED for fid, v in verdicts.items() if fid not in contradicted)
    for finding in report.findings:
        assert bool(finding.follows) == (finding.verdict == CONTRADICTED), finding.id
        assert finding.contract and finding.observed
    # requests per run, by key, and their weight per minute
    assert len(report.records) == len(exchange.requests) == len(KEYS) == 32
    assert [r.key for r in report.records] == KEYS
    assert max_weight_per_minute(report.records) == 32
    gaps = [b.at - a.at for a, b in itertools.pairwise(report.records)]
    assert min(gaps) == pytest.approx(SPACING, abs=1e-3)
    # never a DELETE; the only writes to the leader side are the three config updates
    assert "DELETE" not in {r.method for r in exchange.requests}
    leader_writes = [
        r for r in exchange.requests if r.method != "GET" and r.url.path.startswith(LEADER_PREFIX)
    ]
    assert [(r.url.path, _key_of(r)) for r in leader_writes] == [
        (CONFIG_PATH, LEADER_API_KEY),
        (CONFIG_PATH, DEMO_API_KEY),
        (CONFIG_PATH, DEMO_API_KEY),
    ]
    assert all(not r.answer or not r.answer.ok for r in report.records if r.method == "PUT")
    # the markers the leader probes settle
    settled = {a["id"]: a["verdict"] for a in report.assumptions()[0]}
    for marker in CONTRADICTS:
        assert settled[marker] == (CONTRADICTED if marker in markers else CONFIRMED)


def test_each_leader_read_is_judged_against_its_schema() -> None:
    exchange = SimExchange()
    report = _probe(exchange)
    reads = [r for r in report.records if r.label.startswith("leader-read-")]
    assert [r.label.removeprefix("leader-read-") for r in reads] == LEADER_READS
    assert {r.key for r in reads} == {"leader"} and {r.method for r in reads} == {"GET"}
    for op in LEADER_READS:
        finding = _finding(report, f"leader-read-{op}")
        assert finding.verdict == CONFIRMED and "spec's shape" in finding.observed


# ---- the config update the host must refuse --------------------------------------------
def test_the_invalid_update_is_the_stored_config_with_only_the_profit_period_wrong() -> None:
    """Were a host to accept it, only the profit period could change: every other field is
    what the config query answered (the invite code left out, so kept)."""
    exchange = SimExchange()
    report = _probe(exchange)
    read = report.seen.get("leader-read-getLeaderConfig")
    assert read is not None and read.ok
    answer = json.loads(read.body)["data"]
    puts = [r for r in exchange.requests if r.method == "PUT" and r.url.path == CONFIG_PATH]
    invalid = _body(puts[0])
    assert invalid["profitPeriod"] == 0 and answer["profitPeriod"] in (1, 7)
    assert "inviteCode" not in invalid
    assert set(invalid) == set(answer) - {"inviteCode"}
    for name, value in invalid.items():
        if name != "profitPeriod":
            assert str(value) == str(answer[name]), name
    # the follower key's two: the same invalid one, and a cool-down ending before it starts
    assert _body(puts[1]) == invalid
    window = _body(puts[2])
    assert (window["unLeadType"], window["unLeadStartTime"], window["unLeadEndTime"]) == (1, 2, 1)
    assert {k: v for k, v in window.items() if not k.startswith("unLead")} == {
        **{k: v for k, v in invalid.items() if not k.startswith("unLead")},
        "profitPeriod": answer["profitPeriod"],
    }


def test_a_host_that_accepts_the_invalid_update_is_told_how_to_set_it_back() -> None:
    def accept(request: httpx.Request, response: httpx.Response) -> httpx.Response:
        if request.method == "PUT" and request.url.path == CONFIG_PATH:
            return _success(None)
        return response

    _, report = _rewritten(accept)
    finding = _finding(report, "leader-config-invalid")
    assert finding.verdict == CONTRADICTED and "(accepted)" in finding.observed
    assert "STORED profitPeriod 0: set it back" in (finding.follows or "")


def test_no_update_when_the_stored_config_does_not_read_back() -> None:
    """The config query answers in a shape the update cannot take: nothing is written."""

    def garble(request: httpx.Request, response: httpx.Response) -> httpx.Response:
        if request.method == "GET" and request.url.path == CONFIG_PATH:
            if _key_of(request) == LEADER_API_KEY and "recvWindow=60001" not in str(request.url):
                data = response.json()["data"]
                return _success({**data, "unLeadType": 9})  # an unlisted value (open enum)
        return response

    exchange, report = _rewritten(garble)
    assert not [r for r in exchange.requests if r.method == "PUT" and r.url.path == CONFIG_PATH]
    for fid in ("leader-config-invalid", "follower-key-config-update"):
        finding = _finding(report, fid)
        assert finding.verdict == UNKNOWN
        assert finding.observed.startswith("not asked: the stored leader config does not read")
    assert report.stopped is None


def test_no_follower_key_update_when_the_follower_key_reads_the_leader_config() -> None:
    """The follower key's account leads too (its read is answered): it gets no update."""

    def leads(request: httpx.Request, response: httpx.Response) -> httpx.Response:
        if request.url.path == CONFIG_PATH and _key_of(request) == DEMO_API_KEY:
            return _success({"unLeadType": 0, "profitPeriod": 7, "symbolIds": []})
        return response

    exchange = SimExchange()
    report = _probe(exchange, transport=Rewrite(exchange, leads))
    follower_puts = [
        r for r in exchange.requests if r.url.path == CONFIG_PATH and _key_of(r) == DEMO_API_KEY
    ]
    assert [r.method for r in follower_puts] == ["GET"]
    assert _verdicts(report)["follower-key-on-leader"] == UNKNOWN
    for fid in ("follower-key-config-update", "follower-key-invalid-config"):
        assert _finding(report, fid).observed.startswith("not asked: the follower key was not")


# ---- contradictions the simulator does not play ----------------------------------------
def test_recv_window_unchecked_on_the_config_query_is_a_contradiction() -> None:
    """leader-config-query-invalid-parameter's alternative (not playable by the simulator)."""

    def accept(request: httpx.Request, response: httpx.Response) -> httpx.Response:
        if request.url.path == CONFIG_PATH and "recvWindow=60001" in str(request.url):
            return _success({})
        return response

    _, report = _rewritten(accept)
    finding = _finding(report, "leader-recv-window-max")
    assert finding.verdict == CONTRADICTED and "(accepted)" in finding.observed
    assert "leader-config-query-invalid-parameter" in finding.assumptions


def test_a_leader_read_off_its_schema_is_a_contradiction() -> None:
    def garble(request: httpx.Request, response: httpx.Response) -> httpx.Response:
        if request.url.path == FOLLOWERS_PATH and response.json().get("code") == 200:
            return _success({"pages": "1", "total": "1", "list": [{"totalProfit": "a lot"}]})
        return response

    _, report = _rewritten(garble)
    finding = _finding(report, "leader-read-listFollowers")
    assert finding.verdict == CONTRADICTED
    assert "listFollowers" in (finding.follows or "") and "totalProfit" in finding.follows


def test_an_undocumented_code_to_a_leader_read_is_a_contradiction() -> None:
    listed = BY_ID["listFollowers"].error_codes
    undocumented = next(row for row in ERROR_TABLE if row.code not in listed)

    def refuse(request: httpx.Request, response: httpx.Response) -> httpx.Response:
        if request.url.path == FOLLOWERS_PATH:
            return _envelope(undocumented.code, undocumented.message, undocumented.http_status)
        return response

    _, report = _rewritten(refuse)
    finding = _finding(report, "leader-read-listFollowers")
    assert finding.verdict == CONTRADICTED and "x-error-codes" in (finding.follows or "")


def test_a_leader_key_that_is_no_active_leader_is_said_so() -> None:
    row = BY_CODE[ErrorCode.LEADER_NOT_AVAILABLE]

    def inactive(request: httpx.Request, response: httpx.Response) -> httpx.Response:
        if _key_of(request) == LEADER_API_KEY and request.url.path.startswith(LEADER_PREFIX):
            return _envelope(row.code, row.message, row.http_status)
        return response

    _, report = _rewritten(inactive)
    finding = _finding(report, "leader-read-getTradeData")
    assert finding.verdict == UNKNOWN and "not an active leader" in finding.observed


# ---- without a leader key --------------------------------------------------------------
def test_without_a_leader_key_nothing_reaches_the_leader_side() -> None:
    exchange = SimExchange()
    report = _probe(exchange, leader=False)
    assert not [r for r in exchange.requests if r.url.path.startswith(LEADER_PREFIX)]
    assert len(exchange.requests) == 17
    assert not LEADER_FINDINGS & set(_verdicts(report))
    document = report.to_json()
    assert document["leaderKey"] is None and document["leaderSide"] == NO_LEADER_KEY
    assert NO_LEADER_KEY.startswith("not asked: no leader key given")
    assert f"Leader side: {NO_LEADER_KEY}." in report.to_markdown()
    with_key = _probe(SimExchange()).to_json()
    assert with_key["leaderSide"] is None
    assert with_key["leaderKey"] == f"{LEADER_API_KEY[:4]}...{LEADER_API_KEY[-4:]}"


# ---- safety of the run -----------------------------------------------------------------
@pytest.mark.parametrize("at", [18, 25, 30, 32])
def test_stops_at_once_on_a_429_in_the_leader_probes(at: int) -> None:
    exchange = SimExchange()
    seen = itertools.count(1)
    row = next(r for r in ERROR_TABLE if r.http_status == 429)

    def limit(request: httpx.Request, response: httpx.Response) -> httpx.Response:
        if next(seen) >= at:
            return _envelope(row.code, row.message, 429)
        return response

    report = _probe(exchange, transport=Rewrite(exchange, limit))
    assert len(exchange.requests) == at  # nothing after the limited answer
    assert report.limited and "rate limited" in (report.stopped or "")
    assert "DELETE" not in {r.method for r in exchange.requests}


def test_no_key_secret_or_signature_in_either_output() -> None:
    exchange = SimExchange()

    def echo(request: httpx.Request, response: httpx.Response) -> httpx.Response:
        # a host that echoes what it was sent in its messages, on the leader side
        if request.url.path.startswith(LEADER_PREFIX) and request.method == "PUT":
            return _envelope(ErrorCode.INVALID_PARAMETER, f"bad {request.url}", 400)
        return response

    report = _probe(exchange, transport=Rewrite(exchange, echo))
    outputs = report.to_markdown() + json.dumps(report.to_json())
    signatures = [
        s for r in exchange.requests for s in parse_qs(r.url.query.decode()).get("signature", [])
    ]
    secrets = [DEMO_API_SECRET, LEADER_API_SECRET, DEMO_API_KEY, LEADER_API_KEY, *signatures]
    assert len(signatures) == 31  # every request but the server time
    assert not [s for s in secrets if s in outputs]
    assert "<redacted>" in outputs  # the echo was there, scrubbed
    assert f"{LEADER_API_KEY[:4]}...{LEADER_API_KEY[-4:]}" in outputs  # the leader key, masked


# ---- command line ----------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def loopback_sim() -> Iterator[str]:
    """The simulator as a real server, with its admin routes (the state digest)."""
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


def _environ(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {
        "TOOBIT_API_KEY": DEMO_API_KEY,
        "TOOBIT_API_SECRET": DEMO_API_SECRET,
        "TOOBIT_FOLLOWER_PROFILES": str(tmp_path / "none.toml"),
        **extra,
    }


def test_cli_conformance_with_a_leader_key(loopback_sim: str, tmp_path: Path) -> None:
    digest = httpx.get(f"{loopback_sim}/_sim/state").json()["digest"]
    out, err = _Capture(), _Capture()
    environ = _environ(
        tmp_path, TOOBIT_LEADER_API_KEY=LEADER_API_KEY, TOOBIT_LEADER_API_SECRET=LEADER_API_SECRET
    )
    output = tmp_path / "conformance.json"
    argv = ["--base-url", loopback_sim, "conformance", "--spacing", "0", "--output", str(output)]
    assert main(argv, stdout=out, stderr=err, environ=environ) == 0, err.getvalue()
    document = json.loads(output.read_text(encoding="utf-8"))
    verdicts = {f["id"]: f["verdict"] for f in document["findings"]}
    assert LEADER_FINDINGS <= set(verdicts)
    assert {verdicts[fid] for fid in LEADER_FINDINGS} == {CONFIRMED}
    assert document["requests"] == 30  # no read-only key: 15 + 15
    assert document["leaderSide"] is None and document["leaderKey"]
    assert "DELETE" not in {p["method"] for p in document["probes"]}
    assert httpx.get(f"{loopback_sim}/_sim/state").json()["digest"] == digest
    text = out.getvalue() + err.getvalue() + output.read_text(encoding="utf-8")
    assert LEADER_API_KEY not in text and DEMO_API_SECRET not in text


def test_cli_half_a_leader_key_is_refused(loopback_sim: str, tmp_path: Path) -> None:
    digest = httpx.get(f"{loopback_sim}/_sim/state").json()["digest"]
    err = _Capture()
    environ = _environ(tmp_path, TOOBIT_LEADER_API_KEY=LEADER_API_KEY)
    argv = ["--base-url", loopback_sim, "conformance", "--output", str(tmp_path / "c.json")]
    assert main(argv, stdout=_Capture(), stderr=err, environ=environ) != 0
    assert "TOOBIT_LEADER_API_SECRET" in err.getvalue()
    assert not (tmp_path / "c.json").exists()
    assert httpx.get(f"{loopback_sim}/_sim/state").json()["digest"] == digest


def test_cli_leader_key_from_a_profile(loopback_sim: str, tmp_path: Path) -> None:
    profiles = tmp_path / "profiles.toml"
    profiles.write_text(
        f'[lead]\napi_key = "{LEADER_API_KEY}"\napi_secret = "{LEADER_API_SECRET}"\n',
        encoding="utf-8",
    )
    profiles.chmod(0o600)
    tmp_path.chmod(0o700)
    output = tmp_path / "c.json"
    argv = ["--base-url", loopback_sim, "conformance", "--leader-profile", "lead"]
    argv += ["--spacing", "0", "--output", str(output)]
    environ = {**_environ(tmp_path), "TOOBIT_FOLLOWER_PROFILES": str(profiles)}
    err = _Capture()
    assert main(argv, stdout=_Capture(), stderr=err, environ=environ) == 0, err.getvalue()
    document = json.loads(output.read_text(encoding="utf-8"))
    assert document["leaderKey"] == f"{LEADER_API_KEY[:4]}...{LEADER_API_KEY[-4:]}"
    assert {p["key"] for p in document["probes"]} == {"none", "main", "leader"}
