"""Property tests: random JSON, bodies, bytes and query strings thrown at every endpoint,
correctly signed (so they reach validation) or not. Never a 500; the code is always one
the operation documents (x-error-codes) or 200; a refused write changes nothing; a
successful config write is read back exactly."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote_from_bytes

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_sim_support import (
    CONFIG,
    CONFIG_EXAMPLE,
    DEMO_KEY,
    K7_CONFIG,
    LIMIT_HEADERS,
    NOW,
    READ_ONLY_KEY,
    SECOND_KEY,
    STOP_EXAMPLE,
    Sim,
    compact,
    sign,
)

ROOT = Path(__file__).resolve().parents[1]
SPEC = yaml.safe_load((ROOT / "openapi.yaml").read_text(encoding="utf-8"))
OPERATIONS = {
    op["operationId"]: (method.upper(), path, op)
    for path, item in SPEC["paths"].items()
    for method, op in item.items()
    if op.get("security") != []
}
WRITES = {"updateStopProfitLoss", "updateFollowConfig", "cancelLeader"}
DELETE = object()

SETTINGS = settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from([0, 1, 2, -1, 2**31, 2**63, 10**30, 123456789, 987654321]),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=12),
    st.sampled_from(
        [
            "",
            " ",
            "0",
            "0.01",
            "0.5",
            "1",
            "1e5",
            "-1",
            "20",
            "100",
            "all",
            "BTC-SWAP-USDT",
            "9" * 40,
            "0.123456789",
            "\u0000",
            "\ud800",
            "all,BTC-SWAP-USDT",
            "BTC-SWAP-USDT,",
        ]
    ),
    st.from_regex(r"[0-9]{1,22}(\.[0-9]{1,10})?", fullmatch=True),
)
json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=8,
)


def mutate(base: dict[str, Any], changes: list[tuple[str, Any]]) -> dict[str, Any]:
    body = dict(base)
    for name, value in changes:
        if value is DELETE:
            body.pop(name, None)
        else:
            body[name] = value
    return body


def bodies(base: dict[str, Any]) -> st.SearchStrategy[bytes]:
    names = st.sampled_from([*base, "extra", ""])
    changes = st.lists(st.tuples(names, st.one_of(st.just(DELETE), json_values)), max_size=4)
    return st.one_of(
        st.builds(mutate, st.just(base), changes).map(compact),
        json_values.map(lambda v: json.dumps(v).encode()),
        st.binary(max_size=80),
        st.builds(lambda v: json.dumps(v, indent=2).encode(), json_values),
    )


query_names = st.sampled_from(
    ["page", "size", "leaderUserId", "recvWindow", "foo", "timestamp", "signature", ""]
)
query_values = st.one_of(
    st.integers(min_value=-(10**31), max_value=10**31).map(lambda i: str(i).encode()),
    st.sampled_from(
        [b"", b"1", b"10", b"100", b"101", b"0", b"123456789", b"%FF", b"1e3", b"+1", b" 1"]
    ),
    st.text(max_size=10).map(
        lambda t: quote_from_bytes(t.encode("utf-8", "surrogatepass")).encode()
    ),
    st.binary(max_size=10).map(lambda b: b.replace(b"&", b"").replace(b"#", b"")),
)
queries = st.one_of(
    st.lists(st.tuples(query_names, query_values), max_size=4).map(
        lambda pairs: b"&".join(n.encode() + b"=" + v for n, v in pairs)
    ),
    st.sampled_from([b"leaderUserId=123456789", b"leaderUserId=987654321", b"page=2&size=1"]),
)
segments = st.one_of(
    st.sampled_from(["123456789", "987654321", "555", "0", "-1", str(2**63), "1e3"]),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.text(alphabet=st.characters(blacklist_characters="/"), min_size=1, max_size=20),
)
keys = st.sampled_from([DEMO_KEY, DEMO_KEY, SECOND_KEY, READ_ONLY_KEY])
# How the request is signed: properly, not at all, or with a broken signature.
signing = st.sampled_from(["ok", "ok", "ok", "ok", "none", "broken", "recv"])


@pytest.fixture(scope="module")
def sim() -> Iterator[Sim]:
    s = Sim(rate_limit=10**9)
    yield s
    s.close()


def send(sim: Sim, method: str, path: str, query: bytes, body: bytes, key: str, how: str) -> Any:
    parts = [query] if query else []
    if how == "recv":
        parts.append(b"recvWindow=60000")
    parts.append(f"timestamp={NOW}".encode())
    signed = b"&".join(parts)
    if how == "none":
        raw = signed
    else:
        signature = sign(signed + body)
        if how == "broken":
            signature = signature[::-1]
        raw = signed + b"&signature=" + signature.encode()
    return sim.raw(method, path, raw, body, [(b"x-bb-apikey", key.encode())])


def check(sim: Sim, op_id: str, resp: Any) -> None:
    documented = set(OPERATIONS[op_id][2]["x-error-codes"]) | {200}
    assert resp.status != 500, resp.body
    assert resp.headers["content-type"] == "application/json"
    payload = resp.json
    assert payload["code"] in documented, (op_id, payload)
    assert (resp.status == 200) == (payload["code"] == 200)
    for name in LIMIT_HEADERS:
        assert resp.headers[name].isdigit()


def run(sim: Sim, op_id: str, path: str, query: bytes, body: bytes, key: str, how: str) -> None:
    method = OPERATIONS[op_id][0]
    before = sim.state() if op_id in WRITES else None
    resp = send(sim, method, path, query, body, key, how)
    check(sim, op_id, resp)
    if before is not None and resp.json["code"] != 200:
        assert sim.state() == before, (op_id, resp.json)
    if op_id == "updateFollowConfig" and resp.json["code"] == 200:
        sent = json.loads(body)
        got = send(
            sim, "GET", CONFIG, f"leaderUserId={sent['leaderUserId']}".encode(), b"", key, "ok"
        ).json
        expected = {k: v for k, v in sent.items() if k != "realInvestAmount"}
        expected["leaderUserId"] = str(int(expected["leaderUserId"]))
        assert got["data"] == expected


READS = ["listCurrentOrders", "listHistoryOrders", "getFollowConfig", "listLeaders"]


@pytest.mark.parametrize("op_id", READS)
@SETTINGS
@given(query=queries, body=st.one_of(st.just(b""), st.binary(max_size=40)), key=keys, how=signing)
def test_reads_never_fail_badly(
    sim: Sim, op_id: str, query: bytes, body: bytes, key: str, how: str
) -> None:
    run(sim, op_id, OPERATIONS[op_id][1], query, body, key, how)


@SETTINGS
@given(query=queries, body=bodies(STOP_EXAMPLE), key=keys, how=signing)
def test_stop_profit_loss_never_fails_badly(
    sim: Sim, query: bytes, body: bytes, key: str, how: str
) -> None:
    run(sim, "updateStopProfitLoss", OPERATIONS["updateStopProfitLoss"][1], query, body, key, how)


@SETTINGS
@given(
    query=queries,
    body=st.one_of(bodies(CONFIG_EXAMPLE), bodies(K7_CONFIG)),
    key=keys,
    how=signing,
)
def test_update_config_never_fails_badly(
    sim: Sim, query: bytes, body: bytes, key: str, how: str
) -> None:
    run(sim, "updateFollowConfig", CONFIG, query, body, key, how)


@SETTINGS
@given(segment=segments, query=queries, key=keys, how=signing)
def test_cancel_never_fails_badly(sim: Sim, segment: str, query: bytes, key: str, how: str) -> None:
    path = OPERATIONS["cancelLeader"][1].replace("{leaderUserId}", segment)
    run(sim, "cancelLeader", path, query, b"", key, how)
    sim.raw("POST", "/_sim/reset")  # a successful cancel would leave nothing to fuzz


@SETTINGS
@given(
    method=st.sampled_from(["GET", "PUT", "POST", "DELETE", "PATCH", "HEAD", "OPTIONS"]),
    path=st.one_of(
        st.sampled_from(
            [p for _, p, _ in OPERATIONS.values()] + ["/api/v1/time", "/docs", "/openapi.yaml"]
        ),
        st.text(max_size=30).map(lambda t: "/api/" + t),
    ),
    query=st.binary(max_size=60),
    body=st.binary(max_size=60),
    header=st.binary(max_size=140),
)
def test_anything_anywhere_never_500(
    sim: Sim, method: str, path: str, query: bytes, body: bytes, header: bytes
) -> None:
    resp = sim.raw(method, path, query, body, [(b"x-bb-apikey", header)])
    assert resp.status < 500
    for name in LIMIT_HEADERS:
        assert resp.headers[name].isdigit()
