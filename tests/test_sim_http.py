"""HTTP conventions of the simulator: the three limit headers on every response, 404/405
with Allow, rate limiting (429 then 418), errors_as_200, faults, admin routes, docs and
spec routes, seed validation and the CLI's seed check."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import toobit_follower_sim.app as sim_app
import yaml
from test_sim_support import (
    CONFIG,
    CONFIG_EXAMPLE,
    CURRENT,
    DEMO_KEY,
    HISTORY,
    K7,
    K7_CONFIG,
    LEADERS,
    LIMIT_HEADERS,
    NOW,
    READ_ONLY_KEY,
    S5,
    SECOND_KEY,
    SECRET,
    STOP,
    STOP_EXAMPLE,
    Sim,
    assert_error,
    envelope_ok,
)
from toobit_follower_sim import (
    DEFAULT_SEED_PATH,
    DropConnection,
    FaultSpec,
    FaultSpecError,
    SeedError,
    load_seed,
)
from toobit_follower_sim.cli import main as cli_main

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def sim() -> Iterator[Sim]:
    s = Sim()
    yield s
    s.close()


def has_limit_headers(resp: Any) -> None:
    for name in LIMIT_HEADERS:
        assert resp.headers.get(name, "").isdigit(), (name, resp.status, resp.headers)


# -- headers on every response ------------------------------------------------
def test_every_kind_of_response_has_the_limit_headers(tmp_path: Path) -> None:
    sim = Sim(rate_limit=40, ban_grace=0)
    try:
        responses = [
            sim.signed("GET", CURRENT),
            sim.signed("GET", HISTORY, "page=1&size=5"),
            sim.signed("GET", CONFIG, f"leaderUserId={S5}"),
            sim.signed("GET", LEADERS),
            sim.signed("PUT", STOP, body=STOP_EXAMPLE),
            sim.signed("PUT", CONFIG, body=CONFIG_EXAMPLE),
            sim.signed("DELETE", f"{LEADERS}/{S5}"),  # -120055
            sim.signed("GET", CURRENT, key=READ_ONLY_KEY),
            sim.signed("DELETE", f"{LEADERS}/{S5}", key=READ_ONLY_KEY),  # 403
            sim.raw("GET", CURRENT),  # 401
            sim.signed("GET", HISTORY, "size=1000"),  # 400
            sim.raw("GET", "/api/v1/time"),
            sim.raw("GET", "/api/v2/copy-trading/follower/nope"),  # 404
            sim.raw("POST", CURRENT),  # 405
            sim.raw("GET", "/openapi.yaml"),
            sim.raw("GET", "/openapi.json"),
            sim.raw("GET", "/docs"),
            sim.raw("GET", "/"),
            sim.raw("GET", "/_sim/state"),
            sim.raw("GET", "/not/a/route"),
            sim.raw("DELETE", "/openapi.yaml"),
        ]
        statuses = {r.status for r in responses}
        assert {200, 400, 401, 403, 404, 405, 307} <= statuses
        while (resp := sim.raw("GET", "/api/v1/time")).status == 200:
            pass
        responses.append(resp)  # 429
        responses.append(sim.raw("GET", "/api/v1/time"))  # 418
        assert [r.status for r in responses[-2:]] == [429, 418]
        for resp in responses:
            has_limit_headers(resp)
    finally:
        sim.close()


def test_limit_headers_count_down_and_reset_is_server_time(sim: Sim) -> None:
    first = sim.signed("GET", CURRENT)
    second = sim.signed("GET", LEADERS)
    assert first.headers["x-api-limit"] == "3000"
    assert (first.headers["x-api-limit-status"], second.headers["x-api-limit-status"]) == (
        "2999",
        "2998",
    )
    assert first.headers["x-api-limit-reset-timestamp"] == str(NOW)


def test_not_found_and_method_not_allowed(sim: Sim) -> None:
    assert sim.raw("GET", "/api/v2/copy-trading/follower/nope").status == 404
    assert sim.raw("GET", f"{LEADERS}/").status == 404
    assert sim.raw("GET", f"{LEADERS}/1/x").status == 404
    cases = [
        ("POST", CURRENT, "GET"),
        ("HEAD", CURRENT, "GET"),
        ("DELETE", CONFIG, "GET, PUT"),
        ("PATCH", STOP, "PUT"),
        ("GET", STOP, "PUT"),
        ("GET", f"{LEADERS}/{S5}", "DELETE"),
        ("PUT", LEADERS, "GET"),
        ("POST", "/api/v1/time", "GET"),
    ]
    for method, path, allow in cases:
        resp = sim.raw(method, path)
        assert (resp.status, resp.allow) == (405, allow), (method, path)
    resp = sim.raw("POST", "/openapi.yaml")
    assert resp.status == 405 and "GET" in (resp.allow or "")


# -- rate limit ---------------------------------------------------------------
def test_rate_limit_429_then_418() -> None:
    sim = Sim(rate_limit=3, ban_grace=2)
    try:
        for remaining in ("2", "1", "0"):
            resp = sim.signed("GET", CURRENT)
            assert resp.status == 200 and resp.headers["x-api-limit-status"] == remaining
        for _ in range(3):  # the first 429 and `ban_grace` more
            resp = sim.signed("GET", CURRENT)
            assert_error(
                resp,
                -1003,
                429,
                "Too many requests; current limit is 3 request weight per 1 MINUTE. "
                "Please use the websocket for live updates to avoid polling the API.",
            )
            assert resp.headers["retry-after"] == "60"
            assert resp.headers["x-api-limit-reset-timestamp"] == str(NOW + 60_000)
            assert resp.headers["x-api-limit-status"] == "0"
        # Another key has its own budget.
        assert sim.signed("GET", LEADERS, key=SECOND_KEY).status == 200
        banned = sim.signed("GET", CURRENT)
        until = NOW + 120_000
        assert_error(
            banned,
            -1003,
            418,
            f"Way too many requests; IP banned until {until}. "
            "Please use the websocket for live updates to avoid bans.",
        )
        assert banned.headers["retry-after"] == "120"
        assert banned.headers["x-api-limit-reset-timestamp"] == str(until)
        # A new window does not lift the ban ...
        sim.clock.now = NOW + 61_000
        assert sim.signed("GET", CURRENT).status == 418
        assert (
            sim.raw("GET", "/openapi.yaml", headers=[(b"x-bb-apikey", DEMO_KEY.encode())]).status
            == 200
        )
        # ... its end does; a second ban lasts twice as long.
        sim.clock.now = until
        for _ in range(3):
            assert sim.signed("GET", CURRENT).status == 200
        statuses = [sim.signed("GET", CURRENT).status for _ in range(4)]
        assert statuses == [429, 429, 429, 418]
        again = sim.signed("GET", CURRENT)
        assert again.headers["x-api-limit-reset-timestamp"] == str(until + 240_000)
        # Admin reset clears the limiter too.
        assert sim.raw("POST", "/_sim/ratelimit/reset").status == 200
        assert sim.signed("GET", CURRENT).status == 200
    finally:
        sim.close()


def test_rate_limited_writes_change_nothing() -> None:
    sim = Sim(rate_limit=1, ban_grace=5)
    try:
        assert sim.signed("GET", CURRENT, key=SECOND_KEY).status == 200
        before = sim.state()
        resp = sim.signed("PUT", CONFIG, body=K7_CONFIG, key=SECOND_KEY)
        assert_error(resp, -1003, 429)
        assert sim.state() == before
    finally:
        sim.close()


# -- errors_as_200 ------------------------------------------------------------
def test_errors_as_200() -> None:
    sim = Sim(assumptions={"error-status-per-code": "alternative"}, rate_limit=5, ban_grace=0)
    try:
        cases = [
            (sim.signed("GET", CONFIG, f"leaderUserId={K7}"), -32045),
            (sim.signed("DELETE", f"{LEADERS}/{S5}"), -120055),
            (sim.signed("GET", HISTORY, "size=0"), -1130),
            (sim.signed("GET", CURRENT, key=READ_ONLY_KEY, secret=b"wrong"), -1022),
            (sim.signed("PUT", STOP, body=STOP_EXAMPLE, key=READ_ONLY_KEY), -1020),
        ]
        for resp, code in cases:
            assert (resp.status, resp.code) == (200, code)
        # Unauthenticated requests count per client address: the bad signature above
        # was its first.
        key = [(b"x-bb-apikey", DEMO_KEY.encode())]
        unsigned = [sim.raw("GET", CURRENT, headers=key) for _ in range(5)]
        assert [(r.status, r.code) for r in unsigned] == [(200, -1102)] * 4 + [(429, -1003)]
        assert sim.raw("GET", "/api/nope", headers=key).status == 418
    finally:
        sim.close()


# -- faults -------------------------------------------------------------------
@pytest.mark.parametrize(
    ("fault", "status", "title"), [("html502", 502, b"502 Bad Gateway"), ("html503", 503, b"503")]
)
def test_gateway_html_pages(fault: str, status: int, title: bytes) -> None:
    sim = Sim(faults=f"{fault}=1")
    try:
        before = sim.state()
        resp = sim.signed("PUT", CONFIG, body=K7_CONFIG, key=SECOND_KEY)
        assert resp.status == status and title in resp.body
        assert resp.headers["content-type"].startswith("text/html")
        has_limit_headers(resp)
        assert sim.state() == before
        assert sim.raw("GET", "/openapi.yaml").status == 200  # only /api/* is faulted
    finally:
        sim.close()


def test_drop_closes_without_response() -> None:
    sim = Sim(faults="drop=1")
    try:
        before = sim.state()
        with pytest.raises(DropConnection):
            sim.signed("PUT", CONFIG, body=K7_CONFIG, key=SECOND_KEY)
        assert sim.state() == before
    finally:
        sim.close()


def test_commit500_applies_the_write_but_answers_500() -> None:
    sim = Sim(faults="commit500=1")
    try:
        resp = sim.signed("PUT", CONFIG, body=K7_CONFIG, key=SECOND_KEY)
        assert_error(resp, -1000, 500, "An unknown error occurred while processing the request.")
        has_limit_headers(resp)
        stored = envelope_ok(sim.signed("GET", CONFIG, f"leaderUserId={K7}", key=SECOND_KEY))
        assert (
            stored["investAmount"] == K7_CONFIG["investAmount"]
        )  # the outcome was "unknown": applied
        before = sim.state()
        rejected = sim.signed("PUT", CONFIG, body=dict(K7_CONFIG, leverage="99"), key=SECOND_KEY)
        assert rejected.code == -1130  # a refused write is not turned into a 500
        assert sim.state() == before
    finally:
        sim.close()


def test_clock_fault_shifts_server_time() -> None:
    ahead = Sim(faults="clock=+1500ms")
    behind = Sim(faults="clock=-1.5s")
    try:
        assert ahead.raw("GET", "/api/v1/time").json == {"serverTime": NOW + 1500}
        assert ahead.signed("GET", CURRENT).status == 200
        assert behind.raw("GET", "/api/v1/time").json == {"serverTime": NOW - 1500}
        assert_error(behind.signed("GET", CURRENT), -1021, 401)
        assert behind.signed("GET", CURRENT, timestamp=NOW - 1500).status == 200
    finally:
        ahead.close()
        behind.close()


def test_latency_fault_sleeps(monkeypatch: pytest.MonkeyPatch) -> None:
    slept: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        slept.append(seconds)

    monkeypatch.setattr(sim_app.asyncio, "sleep", fake_sleep)
    sim = Sim(faults="latency=1:250ms")
    try:
        assert sim.signed("GET", CURRENT).status == 200
        assert slept == [0.25]
    finally:
        sim.close()


def test_faults_are_reproducible_with_a_seed() -> None:
    def run(spec: str) -> list[int]:
        sim = Sim(faults=spec)
        try:
            return [sim.raw("GET", "/api/v1/time").status for _ in range(60)]
        finally:
            sim.close()

    first = run("html502=0.3,html503=0.2,seed=7")
    assert first == run("html502=0.3,html503=0.2,seed=7")
    assert first != run("html502=0.3,html503=0.2,seed=8")
    assert {200, 502, 503} == set(first)


def test_fault_spec_parsing() -> None:
    spec = FaultSpec.parse(
        "latency=0.05:200ms, html502=0.02,html503=0.02,drop=0.01,commit500=0.05,clock=+1.5s,seed=3"
    )
    assert (spec.latency_p, spec.latency_ms, spec.drop, spec.clock_offset_ms, spec.seed) == (
        0.05,
        200,
        0.01,
        1500,
        3,
    )
    assert FaultSpec.parse(str(spec)) == spec
    for bad in [
        "latency=2:10ms",
        "latency=0.5",
        "bogus=1",
        "html502=0.6,html503=0.6",
        "clock=soon",
        "drop",
    ]:
        with pytest.raises(FaultSpecError):
            FaultSpec.parse(bad)


def test_faults_set_through_admin(sim: Sim) -> None:
    resp = sim.raw("POST", "/_sim/faults", body=b'{"faults":"html503=1"}')
    assert resp.json == {"faults": "html503=1.0,seed=0"}
    assert sim.raw("GET", "/api/v1/time").status == 503
    assert sim.raw("POST", "/_sim/faults", body=b'{"faults":"nope=1"}').status == 400
    sim.raw("POST", "/_sim/faults", body=b'{"faults":""}')
    assert sim.raw("GET", "/api/v1/time").status == 200


# -- admin --------------------------------------------------------------------
def test_admin_off_is_404() -> None:
    sim = Sim(admin=False)
    try:
        for method, path in [
            ("GET", "/_sim/state"),
            ("POST", "/_sim/reset"),
            ("POST", "/_sim/clock"),
        ]:
            assert sim.raw(method, path).status == 404
    finally:
        sim.close()


def test_admin_token() -> None:
    sim = Sim(admin=False, admin_token="s3cret-token")
    try:
        assert sim.raw("GET", "/_sim/state").status == 404
        assert (
            sim.raw("GET", "/_sim/state", headers=[(b"x-sim-admin-token", b"wrong")]).status == 404
        )
        assert (
            sim.raw("GET", "/_sim/state", headers=[(b"x-sim-admin-token", b"s3cret-token")]).status
            == 200
        )
        ok = sim.raw("POST", "/_sim/reset", headers=[(b"authorization", b"Bearer s3cret-token")])
        assert ok.status == 200
    finally:
        sim.close()


def test_reset_restores_the_seed(sim: Sim) -> None:
    fresh = sim.state()
    assert envelope_ok(sim.signed("DELETE", f"{LEADERS}/{K7}", key=SECOND_KEY)) is None
    assert envelope_ok(sim.signed("PUT", STOP, body=STOP_EXAMPLE)) is None
    assert sim.state() != fresh
    resp = sim.raw("POST", "/_sim/reset")
    assert resp.json["data"]["digest"] == fresh
    assert sim.state() == fresh
    assert envelope_ok(sim.signed("GET", LEADERS, key=SECOND_KEY))[0]["leaderUserId"] == str(K7)


def test_state_dump_has_no_secrets(sim: Sim) -> None:
    resp = sim.raw("GET", "/_sim/state")
    assert SECRET not in resp.body
    state = resp.json["state"]
    assert {k["secret"] for k in state["apiKeys"]} == {"demo"}
    assert state["history"]["count"] == 4 and len(state["history"]["rows"]) == 4
    assert "digest" in resp.json and len(resp.json["digest"]) == 64
    assert SECRET.decode() not in repr(sim.app.sim.store.keys[DEMO_KEY])


def test_admin_clock_offset(sim: Sim) -> None:
    resp = sim.raw("POST", "/_sim/clock", body=b'{"offsetMs": 2000}')
    assert resp.json["serverTime"] == NOW + 2000
    assert sim.raw("GET", "/api/v1/time").json == {"serverTime": NOW + 2000}
    assert sim.raw("POST", "/_sim/clock", body=b'{"offsetMs": "2000"}').status == 400
    sim.raw("POST", "/_sim/reset")
    assert sim.raw("GET", "/_sim/clock").json["offsetMs"] == 0


# -- spec and docs ------------------------------------------------------------
def test_spec_routes(sim: Sim) -> None:
    spec_bytes = (ROOT / "openapi.yaml").read_bytes()
    resp = sim.raw("GET", "/openapi.yaml")
    assert resp.body == spec_bytes and resp.headers["content-type"].startswith("application/yaml")
    assert json.loads(sim.raw("GET", "/openapi.json").body) == yaml.safe_load(spec_bytes)


def test_docs_page(tmp_path: Path) -> None:
    fallback = Sim(docs_dir=str(tmp_path))
    try:
        page = fallback.raw("GET", "/docs")
        assert page.status == 200 and b'href="/openapi.yaml"' in page.body
        (tmp_path / "index.html").write_text("<html>built docs</html>")
        built = fallback.raw("GET", "/docs")
        assert built.body == b"<html>built docs</html>"
        assert fallback.raw("GET", "/").headers["location"] == "/docs"
    finally:
        fallback.close()


# -- seed ---------------------------------------------------------------------
def _seed() -> dict[str, Any]:
    return dict(yaml.safe_load(Path(DEFAULT_SEED_PATH).read_text()))


@pytest.mark.parametrize(
    ("change", "where"),
    [
        (lambda s: s.update(extra=1), "top level"),
        (lambda s: s["system"].update(maxFollowLeverage=50), "system.maxFollowLeverage"),
        (lambda s: s["accounts"].append({"id": 10001}), "accounts[4]"),
        (lambda s: s["accounts"][0].update(type="MARGIN"), "accounts[0].type"),
        (lambda s: s["apiKeys"][0].update(accountId=999), "apiKeys[0].accountId"),
        (lambda s: s["apiKeys"][1].update(key=s["apiKeys"][0]["key"]), "apiKeys[1]"),
        (lambda s: s["apiKeys"][0].update(key="bad key"), "apiKeys[0].key"),
        (lambda s: s["apiKeys"][0].update(permission="ADMIN"), "apiKeys[0].permission"),
        (lambda s: s["follows"][0].update(leaderUserId=5), "follows[0].leaderUserId"),
        (lambda s: s["follows"][0]["config"].pop("leverage"), "follows[0].config"),
        (lambda s: s["follows"][0]["config"].update(leverage=20.5), "follows[0].config.leverage"),
        (
            lambda s: s["follows"][0]["config"].update(followSymbolIds=None),
            "follows[0].config.followSymbolIds",
        ),
        (lambda s: s["positions"][0].update(symbolId=None), "positions[0].symbolId"),
        (lambda s: s["positions"][0].update(followerId=10003), "positions[0]"),
        (lambda s: s["positions"].append(dict(s["positions"][0])), "positions[1]"),
        (lambda s: s["history"][0].update(realizedProfit=5.9), "history[0].realizedProfit"),
        (lambda s: s["history"][0].update(openTimeMs="soon"), "history[0].openTimeMs"),
    ],
)
def test_seed_errors_name_the_place(change: Any, where: str) -> None:
    seed = _seed()
    change(seed)
    with pytest.raises(SeedError, match=re.escape(f"seed {where}")):
        load_seed(seed)


SPEC_SCHEMAS = yaml.safe_load((ROOT / "openapi.yaml").read_text())["components"]["schemas"]
# Where the default seed holds one document of each kind, and the schema it is served as.
SEED_DOCUMENTS = [
    (("follows", 0, "config"), "FollowConfig"),
    (("follows", 0, "figures"), "Leader"),
    (("positions", 0), "CurrentOrder"),
    (("history", 0), "HistoryOrder"),
]


SEED_RELATION = ("followerId", "leaderUserId")  # the seed's keys for the owner of a document


def _seed_document(seed: dict[str, Any], path: tuple[Any, ...]) -> dict[str, Any]:
    node: Any = seed
    for part in path:
        node = node[part]
    assert isinstance(node, dict)
    return node


def _where(path: tuple[Any, ...]) -> str:
    return path[0] + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path[1:])


@pytest.mark.parametrize(
    ("path", "prop"),
    [
        (path, prop)
        for path, schema in SEED_DOCUMENTS
        for prop in SPEC_SCHEMAS[schema].get("required", [])
        if prop in _seed_document(_seed(), path) and prop not in SEED_RELATION
    ],
)
def test_seed_documents_need_every_property_the_spec_requires(
    path: tuple[Any, ...], prop: str
) -> None:
    seed = _seed()
    del _seed_document(seed, path)[prop]
    with pytest.raises(SeedError, match=re.escape(f"seed {_where(path)}: missing ['{prop}']")):
        load_seed(seed)


@pytest.mark.parametrize(
    ("path", "change", "message"),
    [
        (
            ("follows", 0, "config"),
            {"leverage": 20.5},
            "seed follows[0].config.leverage: 20.5 is not a valid FollowConfig.leverage"
            " (decimals are strings: quote them)",
        ),
        (
            ("follows", 0, "config"),
            {"followMarginType": "7"},
            "seed follows[0].config.followMarginType: '7' is not a valid"
            " FollowConfig.followMarginType",
        ),
        (
            ("follows", 0, "config"),
            {"realInvestAmount": "-1"},
            "seed follows[0].config.realInvestAmount: '-1' is not a valid"
            " FollowConfigUpdate.realInvestAmount",
        ),
        (
            ("follows", 0, "config"),
            {"extra": 1},
            "seed follows[0].config: unknown key(s) ['extra']",
        ),
        (
            ("positions", 0),
            {"liquidationPrice": "abc"},
            "seed positions[0].liquidationPrice: 'abc' is not a valid"
            " CurrentOrder.liquidationPrice",
        ),
        (
            ("history", 0),
            {"openTimeMs": "soon"},
            "seed history[0].openTimeMs: 'soon' is not a valid HistoryOrder.openTimeMs",
        ),
        (
            ("follows", 0, "figures"),
            {"leaderNickname": "S5"},
            "seed follows[0].figures: unknown key(s) ['leaderNickname']",  # the leader's
        ),
    ],
)
def test_seed_refuses_a_bad_document_naming_the_path(
    path: tuple[Any, ...], change: dict[str, Any], message: str
) -> None:
    """Seed documents are checked against the spec's schemas (the one they are served
    as; a property only the writing request declares, against that request)."""
    seed = _seed()
    _seed_document(seed, path).update(change)
    with pytest.raises(SeedError) as refused:
        load_seed(seed)
    assert str(refused.value) == message


def test_seed_integers_are_served_as_the_strings_the_spec_wants() -> None:
    seed = _seed()
    assert isinstance(seed["history"][0]["lastCloseTimeMs"], int)
    loaded = load_seed(seed)
    assert loaded["history"][0]["lastCloseTimeMs"] == str(seed["history"][0]["lastCloseTimeMs"])


def test_json_seed_and_check_seed_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    seed = _seed()
    seed["apiKeys"] = seed["apiKeys"][:1]
    path = tmp_path / "seed.json"
    path.write_text(json.dumps(seed))
    assert len(load_seed(path)["apiKeys"]) == 1
    assert cli_main(["check-seed", str(path)]) == 0
    assert "1 keys" in capsys.readouterr().out
    seed["accounts"] = []
    path.write_text(json.dumps(seed))
    assert cli_main(["check-seed", str(path)]) == 1
    assert "apiKeys[0].accountId" in capsys.readouterr().err


def test_custom_secret_in_seed(tmp_path: Path) -> None:
    seed = _seed()
    seed["apiKeys"][2]["secret"] = "another-secret-for-tests"
    sim = Sim(seed)
    try:
        assert (
            sim.signed("GET", LEADERS, key=SECOND_KEY, secret=b"another-secret-for-tests").status
            == 200
        )
        assert_error(sim.signed("GET", LEADERS, key=SECOND_KEY), -1022, 401)
        assert {k["secret"] for k in sim.dump()["apiKeys"]} == {"demo", "custom"}
        assert b"another-secret-for-tests" not in sim.raw("GET", "/_sim/state").body
    finally:
        sim.close()


# -- Content-Type of the writes ---------------------------------------------------
@pytest.mark.parametrize("content_type", [None, b"text/plain", b"multipart/form-data", b"json"])
def test_a_write_not_declared_json_is_refused_and_changes_nothing(
    sim: Sim, content_type: bytes | None
) -> None:
    """Basic Information: the v2 writes take `Content-Type: application/json`. A correctly
    signed JSON body declared as anything else is refused (as a Spring backend would),
    so a client that forgets the header fails here, not only on the live host."""
    before = sim.state()
    resp = sim.signed("PUT", CONFIG, body=CONFIG_EXAMPLE, content_type=content_type)
    assert_error(resp, -1130, 400, "Data sent for paramter 'Content-Type' is not valid.")
    assert sim.state() == before


@pytest.mark.parametrize(
    "content_type", [b"application/json", b"application/json; charset=utf-8", b"Application/JSON"]
)
def test_json_content_types_with_parameters_are_accepted(sim: Sim, content_type: bytes) -> None:
    resp = sim.signed("PUT", STOP, body=STOP_EXAMPLE, content_type=content_type)
    assert envelope_ok(resp) is None
