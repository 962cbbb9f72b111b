"""The fuzzer's pieces that need no simulator run: signing, the signer on a prepared
request, the key of each side (by the operation's tag), settings from the environment, the
seed keys, the summary and the secret scan."""

from __future__ import annotations

import base64
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import pytest  # noqa: E402
import requests  # noqa: E402
import yaml  # noqa: E402
from toobit_follower_models.operations import OPERATIONS  # noqa: E402
from toobit_follower_sim import testing  # noqa: E402
from toobit_follower_sim.signing import new_mac, parse_query, signature_ok  # noqa: E402

from fuzz import hooks, keys, seed, signing, spec, summary  # noqa: E402
from fuzz.auth import SignerByTag, ToobitSigner, measure_offset_ms  # noqa: E402

SECRET = keys.DEMO_SECRET
LEADER_CONFIG = "/api/v2/copy-trading/leader/config"
STOP_BODY = (
    '{"leaderUserId":123456789,"symbolId":"BTC-SWAP-USDT","isLong":1,'
    '"stopProfitRate":"0.1","stopLossRate":"0.2","stopLossDelay":30}'
)
VECTORS = [
    (
        "symbol=BTCUSDT&side=SELL&type=LIMIT&timeInForce=GTC&quantity=1&price=400"
        "&recvWindow=100000&timestamp=1668481902307",
        "8420e499e71cce4a00946db16543198b6bcae01791bdb75a06b5a7098b156468",
    ),
    (
        "recvWindow=5000&timestamp=1717200000000",
        "e02e1a0c8de99db2ead6c144d587c54eb40feac513bdd0e5836a2e0a9fc2dec7",
    ),
    (
        "recvWindow=5000&timestamp=1717200000000" + STOP_BODY,
        "13b95ea365da7ccdd64321878b741e02803cbc43073371f8fac0d8ef207e4d95",
    ),
]


@pytest.mark.parametrize(("message", "expected"), VECTORS)
def test_signing_matches_the_known_answers(message: str, expected: str) -> None:
    assert signing.sign(SECRET, message) == expected
    assert signing.sign(SECRET.encode(), message.encode()) == expected


def test_the_overlay_signing_module_is_used() -> None:
    from toobit_follower import signing as overlay

    assert signing.sign is overlay.sign  # one implementation, no fallback copy


def prepare(method: str, url: str, **kwargs) -> requests.PreparedRequest:  # type: ignore[no-untyped-def]
    return requests.Request(method, url, **kwargs).prepare()


def signer(**kwargs) -> ToobitSigner:  # type: ignore[no-untyped-def]
    return ToobitSigner(keys.demo(), clock=lambda: 1_717_200_000.0, **kwargs)


def test_signer_reproduces_the_worked_example_over_the_bytes_sent() -> None:
    request = prepare(
        "PUT",
        "http://sim/api/v2/copy-trading/follower/positions/stop-profit-loss",
        data=STOP_BODY.encode(),
        headers={"Content-Type": "application/json"},
    )
    signed = signer()(request)
    assert signed.url.endswith(
        "?recvWindow=5000&timestamp=1717200000000"
        "&signature=13b95ea365da7ccdd64321878b741e02803cbc43073371f8fac0d8ef207e4d95"
    )
    assert signed.headers["X-BB-APIKEY"] == keys.DEMO_API_KEY


def test_signer_signs_requests_json_with_spaces_as_sent() -> None:
    request = prepare("PUT", "http://sim/x", json={"leaderUserId": 1, "symbolId": "A"})
    assert request.body == b'{"leaderUserId": 1, "symbolId": "A"}'
    signed = signer()(request)
    raw_query = signed.url.split("?", 1)[1].encode()
    query = parse_query(raw_query)
    assert signature_ok(new_mac(SECRET), query, signed.body)  # the simulator's own verifier
    assert (
        query.signed_message + signed.body
        != query.signed_message + b'{"leaderUserId":1,"symbolId":"A"}'
    )


def test_signer_keeps_the_generated_query_and_appends_signature_last() -> None:
    request = prepare(
        "GET", "http://sim/h", params=[("size", "abc"), ("recvWindow", "-3"), ("x y", "é")]
    )
    signed = signer()(request)
    query = signed.url.split("?", 1)[1]
    assert query.startswith("size=abc&recvWindow=-3&x+y=%C3%A9&timestamp=1717200000000&signature=")
    assert query.count("recvWindow") == 1  # a generated recvWindow (even invalid) is left alone
    assert signature_ok(new_mac(SECRET), parse_query(query.encode()), b"")


def test_signer_adds_recv_window_when_absent_and_dates_ahead_by_the_lead() -> None:
    signed = signer(offset_ms=-250, lead_ms=900)(prepare("GET", "http://sim/l"))
    assert "?recvWindow=5000&timestamp=1717200000650&signature=" in signed.url


def test_signer_pins_a_text_body_to_utf8_bytes() -> None:
    request = prepare("PUT", "http://sim/x", data='{"a": "é"}')
    signed = signer()(request)
    assert signed.body == '{"a": "é"}'.encode()
    assert signed.headers["Content-Length"] == str(len(signed.body))
    query = parse_query(signed.url.split("?", 1)[1].encode())
    assert signature_ok(new_mac(SECRET), query, signed.body)


def test_signer_repr_hides_the_secret() -> None:
    assert SECRET not in repr(signer())


def test_offset_is_server_minus_local_midpoint() -> None:
    ticks = iter([100.0, 100.2])
    assert measure_offset_ms(lambda: 100_600, clock=lambda: next(ticks)) == 500


def test_seed_keys_come_from_the_simulator_seed_file() -> None:
    data = yaml.safe_load(seed.REPO_SEED.read_text(encoding="utf-8"))
    entries = {entry["key"]: entry for entry in data["apiKeys"]}
    read_only = keys.read_only()
    assert entries[read_only.api_key]["permission"] == "READ_ONLY"
    assert entries[read_only.api_key]["accountId"] == entries[keys.DEMO_API_KEY]["accountId"]
    assert entries[keys.DEMO_API_KEY]["permission"] == "READ_WRITE"
    assert seed.key_of("read_write") == keys.DEMO_API_KEY
    assert 123456789 in seed.leader_ids()


# --- the key of each side ------------------------------------------------------------
# The seed's keys per side and profile, as the simulator exports them (the oracle).
SEED_KEYS = {
    ("follower", "read-write"): (testing.DEMO_API_KEY, testing.DEMO_API_SECRET),
    ("follower", "read-only"): (keys.read_only().api_key, testing.DEMO_API_SECRET),
    ("leader", "read-write"): (testing.LEADER_API_KEY, testing.LEADER_API_SECRET),
    ("leader", "read-only"): (testing.LEADER_READONLY_API_KEY, testing.LEADER_READONLY_API_SECRET),
}


def _url(op, prefix: str = "http://sim", value: str = "123") -> str:  # type: ignore[no-untyped-def]
    path = op.path
    for param in op.params:
        path = path.replace("{" + param.name + "}", value)
    return prefix + path


def test_every_operation_of_the_table_is_signed_with_its_sides_key() -> None:
    """The key is the one of the operation's tag (generated table), for every operation,
    whatever the path parameter and base URL path, and the signature verifies with that
    key's secret."""
    contract = spec.load()
    assert set(contract.tags) == {"follower", "leader"}
    assert {op.tag for op in OPERATIONS} == set(contract.tags)
    for profile in ("read-write", "read-only"):
        pairs = keys.seed_keys(profile)
        assert {tag: (p.api_key, p.secret) for tag, p in pairs.items()} == {
            tag: SEED_KEYS[tag, kind] for tag, kind in SEED_KEYS if kind == profile
        }
        signer = SignerByTag(pairs, tag_of_url=contract.tag_of_url, clock=lambda: 1_717_200_000.0)
        for op in OPERATIONS:
            for url in (_url(op), _url(op, "http://h/prefix", ""), _url(op, value="%2F..")):
                signed = signer(prepare(op.method, url))
                api_key, secret = SEED_KEYS[op.tag, profile]
                assert signed.headers["X-BB-APIKEY"] == api_key, (op.operation_id, url)
                query = parse_query(signed.url.split("?", 1)[1].encode())
                assert signature_ok(new_mac(secret), query, b"")
            # a coverage probe with a method the path does not declare: the same side's key
            assert signer(prepare("TRACE", _url(op))).headers["X-BB-APIKEY"] == api_key
    counts = signer.signed
    assert counts == {tag: 4 * sum(op.tag == tag for op in OPERATIONS) for tag in contract.tags}


def test_the_two_sides_have_different_keys_of_the_seeds_accounts() -> None:
    data = yaml.safe_load(seed.REPO_SEED.read_text(encoding="utf-8"))
    entries = {entry["key"]: entry for entry in data["apiKeys"]}
    for profile, permission in (("read-write", "READ_WRITE"), ("read-only", "READ_ONLY")):
        pairs = keys.seed_keys(profile)
        assert entries[pairs["leader"].api_key]["accountId"] == testing.LEADER_ID
        assert entries[pairs["follower"].api_key]["accountId"] == seed.FOLLOWER_ID
        assert {entries[p.api_key]["permission"] for p in pairs.values()} == {permission}


def test_a_side_without_a_key_is_never_signed_with_another_sides_key() -> None:
    contract = spec.load()
    signer = SignerByTag({"follower": keys.demo()}, tag_of_url=contract.tag_of_url)
    leader_op = next(op for op in OPERATIONS if op.tag == "leader")
    with pytest.raises(LookupError, match="leader"):
        signer(prepare(leader_op.method, _url(leader_op)))
    with pytest.raises(LookupError):
        contract.tag_of_url("http://sim/api/v2/copy-trading/nowhere")
    assert SECRET not in repr(signer)


def test_settings_from_the_runner_environment() -> None:
    s = hooks.settings_from_env(
        {
            "FUZZ_TARGET": "embedded",
            "FUZZ_KEY_PROFILE": "read-only",
            "FUZZ_ADMIN_URL": "http://127.0.0.1:1",
            "FUZZ_ADMIN_TOKEN": "t0k",
            "FUZZ_CLOCK_OFFSET_MS": "-12",
            "FUZZ_TIMESTAMP_LEAD_MS": "900",
        }
    )
    assert s.read_only and s.embedded
    assert s.signer is not None
    assert {tag: pair.api_key for tag, pair in s.signer.keys.items()} == {
        "follower": keys.read_only().api_key,
        "leader": testing.LEADER_READONLY_API_KEY,
    }
    assert {(x.offset_ms, x.lead_ms) for x in s.signer.signers.values()} == {(-12, 900)}
    assert s.admin is not None and s.admin.token == "t0k"
    assert {SECRET, testing.LEADER_READONLY_API_SECRET} == set(s.secrets)
    assert SECRET not in repr(s)
    live = hooks.settings_from_env(
        {
            "FUZZ_TARGET": "live",
            "TOOBIT_API_KEY": "K1",
            "TOOBIT_API_SECRET": "S1",
            "FUZZ_ADMIN_URL": "http://x",
        }
    )
    assert live.admin is None and live.secrets == ("S1",)
    assert live.signer is not None and set(live.signer.keys) == {"follower"}
    both = hooks.settings_from_env(
        {
            "FUZZ_TARGET": "live",
            "TOOBIT_API_KEY": "K1",
            "TOOBIT_API_SECRET": "S1",
            "TOOBIT_LEADER_API_KEY": "L1",
            "TOOBIT_LEADER_API_SECRET": "S2",
        }
    )
    assert both.signer is not None
    assert {tag: p.api_key for tag, p in both.signer.keys.items()} == {
        "follower": "K1",
        "leader": "L1",
    }
    assert both.secrets == ("S1", "S2") and "S2" not in repr(both)
    with pytest.raises(keys.MissingKeys):
        hooks.settings_from_env({"FUZZ_TARGET": "live"})
    half = {"FUZZ_TARGET": "live", "TOOBIT_API_KEY": "K1", "TOOBIT_API_SECRET": "S1"}
    with pytest.raises(keys.MissingKeys, match="TOOBIT_LEADER_API_SECRET"):
        hooks.settings_from_env({**half, "TOOBIT_LEADER_API_KEY": "L1"})
    with pytest.raises(ValueError, match="FUZZ_TARGET"):
        hooks.settings_from_env({"FUZZ_TARGET": "production"})


def _event(kind: str, **data) -> str:  # type: ignore[no-untyped-def]
    return json.dumps({kind: data})


def _b64(text: str) -> dict[str, str]:
    return {"$base64": base64.b64encode(text.encode()).decode()}


def test_summary_counts_cases_checks_codes_links_and_failures(tmp_path: Path) -> None:
    cases = {
        "a1": {
            "value": {"method": "GET", "path": "/l", "meta": {"generation": {"mode": "positive"}}}
        },
        "b2": {
            "value": {"method": "PUT", "path": "/c", "meta": {"generation": {"mode": "negative"}}},
            "transition": {"id": "GET /l -> [200] Link -> PUT /c"},
            "is_transition_applied": True,
        },
    }
    checks = {
        "a1": [{"name": "not_a_server_error", "status": "success"}],
        "b2": [
            {"name": "not_a_server_error", "status": "success"},
            {
                "name": "toobit_negative_rejected",
                "status": "failure",
                "failure_info": {"failure": {"title": "T", "message": "accepted\nmore"}},
            },
        ],
    }
    interactions = {
        "a1": {
            "request": {"method": "GET", "uri": "http://s/l"},
            "response": {"status_code": 200, "content": _b64('{"code":200}')},
        },
        "b2": {
            "request": {"method": "PUT", "uri": "http://s/c"},
            "response": {"status_code": 200, "content": _b64('{"code":200}')},
        },
    }
    lines = [
        _event("Initialize", seed=5),
        _event("PhaseStarted", phase={"name": "stateful", "is_enabled": True}, timestamp=10.0),
        _event(
            "ScenarioFinished",
            phase="stateful",
            recorder={"label": "x", "cases": cases, "checks": checks, "interactions": interactions},
        ),
        _event("PhaseFinished", phase={"name": "stateful", "is_enabled": True}, timestamp=12.5),
        _event("EngineFinished", running_time=3.0),
    ]
    path = tmp_path / "fuzz-x.ndjson"
    path.write_text("\n".join(lines) + "\n")
    stats = summary.read_ndjson(path)
    assert (stats.cases, stats.requests, stats.seed) == (2, 2, 5)
    assert stats.phases["stateful"] == {"cases": 2, "seconds": 2.5}
    assert stats.operations["PUT /c"].modes["negative"] == 1
    assert stats.checks["toobit_negative_rejected"]["failure"] == 1
    assert stats.links["Link (GET /l -> PUT /c)"]["200"] == 1
    assert [f.check for f in stats.failures] == ["toobit_negative_rejected"]


def test_secret_scan_finds_raw_and_base64_copies(tmp_path: Path) -> None:
    (tmp_path / "fuzz-clean.log").write_text("nothing to see")
    (tmp_path / "fuzz-raw.xml").write_text(f"<x>{SECRET}</x>")
    (tmp_path / "fuzz-b64.ndjson").write_text(
        json.dumps({"e": {"content": _b64(f"body {SECRET}")}}) + "\n"
    )
    (tmp_path / "other.txt").write_text(SECRET)  # not written by the fuzzer: not scanned
    hits = summary.scan_for_secrets(tmp_path, [SECRET])
    assert sorted(p.name for p in hits) == ["fuzz-b64.ndjson", "fuzz-raw.xml"]
    assert summary.scan_for_secrets(tmp_path, []) == []


def _fake(  # type: ignore[no-untyped-def]
    code: int,
    status: int,
    mode: str = "positive",
    method: str = "GET",
    path: str = "/api/v2/copy-trading/follower/leaders",
):
    from types import SimpleNamespace

    from schemathesis.generation import GenerationMode

    meta = SimpleNamespace(
        generation=SimpleNamespace(mode=GenerationMode(mode)), phase=SimpleNamespace(data=None)
    )
    case = SimpleNamespace(
        operation=SimpleNamespace(method=method, path=path),
        method=method,
        meta=meta,
        _meta=meta,
        id="c1",
    )
    response = SimpleNamespace(
        content=json.dumps({"code": code, "msg": "m"}).encode(),
        status_code=status,
        headers={},
        request=SimpleNamespace(body=None),
    )
    return case, response


@pytest.mark.parametrize(
    ("target", "name", "fails"),
    [
        ("embedded", "INVALID_TIMESTAMP", True),
        ("embedded", "INVALID_SIGNATURE", True),
        ("live", "INVALID_TIMESTAMP", False),  # clock skew with a small generated recvWindow
        ("live", "INVALID_SIGNATURE", True),  # the host signs differently
        ("live", "FOLLOWER_NOT_FOUND", False),
    ],
)
def test_a_correctly_signed_valid_request_is_never_refused_as_badly_signed(
    target: str, name: str, fails: bool
) -> None:
    from toobit_follower_models.errors import BY_NAME

    from fuzz import checks, harness, settings

    harness.configure(settings.Settings(target=target))  # type: ignore[arg-type]
    row = BY_NAME[name]
    code = row.code
    case, response = _fake(code, row.http_status)
    try:
        if fails:
            with pytest.raises(AssertionError, match=str(code)):
                checks.toobit_positive_accepted(None, response, case)  # type: ignore[arg-type]
        else:
            assert checks.toobit_positive_accepted(None, response, case) is None  # type: ignore[arg-type]
    finally:
        harness.configure(settings.Settings())


@pytest.mark.parametrize(
    ("query", "code", "status", "fails"),
    [
        ({"8": "null"}, 200, 200, True),  # an undeclared parameter answered as if absent
        ({"8": "null"}, "UNKNOWN_PARAM", None, False),  # refused as the spec says
        ({"8": "null", "recvWindow": 5000}, "UNKNOWN_PARAM", None, False),
    ],
)
def test_an_undeclared_query_parameter_must_be_refused(query, code, status, fails) -> None:  # type: ignore[no-untyped-def]
    """The spec's "Unknown parameters" rule: schemathesis assumes an extra query parameter
    is ignored; this API refuses it, so a 200 to one is a finding."""
    from toobit_follower_models.errors import BY_NAME

    from fuzz import checks

    if isinstance(code, str):
        code, status = BY_NAME[code].code, BY_NAME[code].http_status
    case, response = _fake(code, status, mode="negative")

    def sent(query):  # type: ignore[no-untyped-def]
        """The case's query, and the response to it as `requests` put it on the wire."""
        case.query = query
        response.request.url = signer()(prepare("GET", "http://sim/l", params=query)).url
        return case, response

    case.operation.get_parameter_set = lambda location: {"recvWindow"}
    assert checks.has_undeclared_query_parameter(*sent(query))
    if fails:
        with pytest.raises(AssertionError, match="schema-invalid"):
            checks.toobit_negative_rejected(None, response, case)  # type: ignore[arg-type]
    else:
        assert checks.toobit_negative_rejected(None, response, case) is None  # type: ignore[arg-type]
    # what requests leaves out never reaches the server (stateful phase: {"": []}; fuzzing
    # phase: {"Ï": [{}]}, a list of empty objects): the query on the wire is what counts
    for query in ({"recvWindow": 5000}, {"recvWindow": 1, "": []}, {"x": None}, {"Ï": [{}]}):
        assert not checks.has_undeclared_query_parameter(*sent(query)), query
    assert checks.has_undeclared_query_parameter(*sent({"Ï": [{"b": 1}]}))  # sent as Ï=b


@pytest.mark.parametrize(
    ("target", "name", "fails"),
    [
        ("embedded", "LEADER_NOT_AVAILABLE", True),  # signed with a key that is no leader's
        ("embedded", "LEADER_NOT_FOUND", True),
        ("embedded", "INVALID_PARAMETER", False),
        ("live", "LEADER_NOT_AVAILABLE", False),  # a live leader may be inactive
    ],
)
def test_a_leader_operation_refused_for_the_role_fails_against_the_simulator(
    target: str, name: str, fails: bool
) -> None:
    from toobit_follower_models.errors import BY_NAME

    from fuzz import checks, harness, settings

    harness.configure(settings.Settings(target=target))  # type: ignore[arg-type]
    row = BY_NAME[name]
    case, response = _fake(row.code, row.http_status, path=LEADER_CONFIG)
    try:
        if fails:
            with pytest.raises(AssertionError, match="getLeaderConfig \\(leader\\)"):
                checks.toobit_role_key(None, response, case)  # type: ignore[arg-type]
        else:
            assert checks.toobit_role_key(None, response, case) is None  # type: ignore[arg-type]
    finally:
        harness.configure(settings.Settings())


def test_summary_counts_cases_failures_and_unresolved_links_per_side(tmp_path: Path) -> None:
    """Each case counts for its operation's tag, stateful cases (template paths) too."""

    def case(method: str, path: str) -> dict:  # type: ignore[type-arg]
        return {"value": {"method": method, "path": path, "meta": {}}}

    cases = {
        "f": case("GET", "/api/v2/copy-trading/follower/leaders"),
        "l": case("GET", "/api/v2/copy-trading/leader/config"),
        "d": {
            **case("DELETE", "/api/v2/copy-trading/leader/followers/{followerUserId}"),
            "transition": {"id": "GET /a/followers -> [200] RemoveFirstFollower -> DELETE /b"},
            "is_transition_applied": False,  # its value was generated, not found
        },
    }
    failed = {"name": "toobit_role_key", "status": "failure", "failure_info": {"failure": {}}}
    checks = {
        "f": [{"name": "not_a_server_error", "status": "success"}],
        "l": [failed],
        "d": [{"name": "not_a_server_error", "status": "success"}],
    }
    lines = [
        _event(
            "ScenarioFinished",
            phase="stateful",
            recorder={
                "label": "x",
                "cases": cases,
                "checks": checks,
                "interactions": {
                    "d": {
                        "request": {"method": "DELETE", "uri": "http://s/b"},
                        "response": {"status_code": 400, "content": _b64('{"code":-120055}')},
                    }
                },
            },
        )
    ]
    path = tmp_path / "fuzz-s.ndjson"
    path.write_text("\n".join(lines) + "\n")
    stats = summary.read_ndjson(path)
    assert {tag: (s.cases, s.failed_cases, s.failures) for tag, s in stats.sides.items()} == {
        "follower": (1, 0, 0),
        "leader": (2, 1, 1),
    }
    name = "RemoveFirstFollower (GET /a/followers -> DELETE /b)"
    assert stats.unresolved_links[name]["-120055"] == 1 and name not in stats.links


def test_the_configurations_seed_dictionaries_are_the_seeds() -> None:
    """fuzz/schemathesis.toml names seed leaders and followers to reach the business rules:
    they must be the seed's, the demo leader's follower among them."""
    from fuzz import config

    data = yaml.safe_load(seed.REPO_SEED.read_text(encoding="utf-8"))
    dictionaries = config.raw()["dictionaries"]
    assert set(dictionaries["seed-leaders"]["values"]) == set(seed.leader_ids())
    followers = set(dictionaries["seed-followers"]["values"])
    accounts = {a["id"] for a in data["accounts"]} - set(seed.leader_ids())
    assert followers <= accounts
    of_demo_leader = {
        f["followerId"] for f in data["follows"] if f["leaderUserId"] == testing.LEADER_ID
    }
    assert of_demo_leader & followers


@pytest.mark.parametrize(
    ("name", "fails"),
    [
        ("symbolIds", False),  # rule 7: not one of the leader's pairs, which the schema can't know
        ("profitRate", True),  # format, precision, range: the schema's own
        ("profitPeriod", True),
    ],
)
def test_a_valid_leader_config_update_refused_is_a_failure_but_for_its_pairs(
    name: str, fails: bool
) -> None:
    from toobit_follower_models.errors import BY_NAME

    from fuzz import checks

    row = BY_NAME["INVALID_PARAMETER"]
    case, response = _fake(row.code, row.http_status, method="PUT", path=LEADER_CONFIG)
    response.content = json.dumps({"code": row.code, "msg": row.format_message(name=name)}).encode()
    if fails:
        with pytest.raises(AssertionError, match=name):
            checks.toobit_positive_accepted(None, response, case)  # type: ignore[arg-type]
    else:
        assert checks.toobit_positive_accepted(None, response, case) is None  # type: ignore[arg-type]
