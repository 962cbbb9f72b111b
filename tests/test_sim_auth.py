"""Authentication exactly as documented: each failure's code, HTTP status and message, the
order of the checks, read-only keys, and isolation between followers. Every rejected
write is checked to change nothing (state digest before and after)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from test_sim_support import (
    CONFIG,
    CONFIG_EXAMPLE,
    CURRENT,
    DEMO_KEY,
    EXPIRED_KEY,
    HISTORY,
    K7,
    K7_CONFIG,
    LEADERS,
    NO_RELATION_KEY,
    NOW,
    READ_ONLY_KEY,
    S5,
    SECOND_KEY,
    SECRET,
    STANDARD_KEY,
    STOP,
    STOP_EXAMPLE,
    SUSPENDED_KEY,
    Sim,
    assert_error,
    compact,
    envelope_ok,
    sign,
)
from toobit_follower_models.errors import BY_NAME

MSG_1102 = "Mandatory parameter '{}' was not sent, was empty/null, or malformed."
MSG_1130 = "Data sent for paramter '{}' is not valid."
BAD_SIG = "Signature for this request is not valid."


@pytest.fixture
def sim() -> Iterator[Sim]:
    s = Sim()
    yield s
    s.close()


# (method, path, params, body) of one call per endpoint; writes use the page's examples.
CALLS = [
    ("GET", CURRENT, "", b""),
    ("GET", HISTORY, "page=1&size=10", b""),
    ("GET", CONFIG, f"leaderUserId={S5}", b""),
    ("GET", LEADERS, "", b""),
    ("PUT", STOP, "", compact(STOP_EXAMPLE)),
    ("PUT", CONFIG, "", compact(CONFIG_EXAMPLE)),
    ("DELETE", f"{LEADERS}/{K7}", "", b""),
]
CALL_IDS = ["current", "history", "getConfig", "leaders", "stopPL", "putConfig", "cancel"]
# Every call with query parameters it does not declare (some declared by another call).
UNKNOWN_PARAMS = [
    pytest.param(*call, extra, id=f"{call_id}:{extra}")
    for call, call_id in zip(CALLS, CALL_IDS, strict=True)
    for extra in ("foo=bar", "x=%FF%FE", "=", "y", "%FF=1", "page=1", "leaderUserId=1")
    if extra.split("=")[0] not in call[2]
]


def _query(sim: Sim, params: str, ts: int | None = None, recv: str | None = "5000") -> str:
    parts = [p for p in (params, f"recvWindow={recv}" if recv is not None else "") if p]
    parts.append(f"timestamp={sim.clock.now if ts is None else ts}")
    return "&".join(parts)


def _send(
    sim: Sim,
    method: str,
    path: str,
    query: str,
    body: bytes,
    key: str | None = DEMO_KEY,
    signature: str | None = "auto",
) -> Any:
    if signature == "auto":
        signature = sign(query.encode() + body)
    raw = query if signature is None else f"{query}&signature={signature}"
    headers = [] if key is None else [(b"x-bb-apikey", key.encode())]
    if method == "PUT":
        headers.append((b"content-type", b"application/json"))
    return sim.raw(method, path, raw.encode(), body, headers)


def _rejected(
    sim: Sim, call: tuple[str, str, str, bytes], code: int, status: int, **kw: Any
) -> None:
    """Send `call` with the tweaks in kw; expect code/status and an unchanged state."""
    method, path, params, body = call
    before = sim.state()
    query = kw.pop("query", None) or _query(sim, params, kw.pop("ts", None), kw.pop("recv", "5000"))
    msg = kw.pop("msg", None)
    resp = _send(sim, method, path, query, kw.pop("body", body), **kw)
    assert_error(resp, code, status, msg)
    assert sim.state() == before


@pytest.mark.parametrize("call", CALLS, ids=CALL_IDS)
class TestEachFailureOnEachEndpoint:
    def test_key_missing(self, sim: Sim, call: Any) -> None:
        _rejected(
            sim, call, -1002, 401, key=None, msg="You are not authorized to execute this request."
        )

    def test_key_empty(self, sim: Sim, call: Any) -> None:
        _rejected(sim, call, -1002, 401, key="")

    @pytest.mark.parametrize("bad", ["bad-key!", "x" * 129, "Sim Key", "ключ"])
    def test_key_malformed(self, sim: Sim, call: Any, bad: str) -> None:
        _rejected(sim, call, -2014, 401, key=bad, msg="API-key format invalid.")

    def test_key_unknown(self, sim: Sim, call: Any) -> None:
        _rejected(
            sim,
            call,
            -2015,
            401,
            key="SimUnknown" + "0" * 54,
            msg="Invalid API-key, IP, or permissions for action.",
        )

    def test_key_case_sensitive(self, sim: Sim, call: Any) -> None:
        _rejected(sim, call, -2015, 401, key=DEMO_KEY.lower())

    def test_key_expired(self, sim: Sim, call: Any) -> None:
        _rejected(sim, call, -2017, 401, key=EXPIRED_KEY, msg="API-key has expired.")

    def test_key_suspended(self, sim: Sim, call: Any) -> None:
        _rejected(sim, call, -2018, 401, key=SUSPENDED_KEY, msg="API-key is suspended.")

    def test_not_copy_trading_account(self, sim: Sim, call: Any) -> None:
        _rejected(sim, call, -1005, 403, key=STANDARD_KEY, msg="No permission.")

    def test_timestamp_missing(self, sim: Sim, call: Any) -> None:
        query = "&".join(p for p in (call[2], "recvWindow=5000") if p)
        _rejected(sim, call, -1102, 400, query=query, msg=MSG_1102.format("timestamp"))

    def test_timestamp_empty(self, sim: Sim, call: Any) -> None:
        query = "&".join(p for p in (call[2], "timestamp=") if p)
        _rejected(sim, call, -1102, 400, query=query, msg=MSG_1102.format("timestamp"))

    def test_signature_missing(self, sim: Sim, call: Any) -> None:
        _rejected(sim, call, -1102, 400, signature=None, msg=MSG_1102.format("signature"))

    def test_signature_empty(self, sim: Sim, call: Any) -> None:
        _rejected(sim, call, -1102, 400, signature="", msg=MSG_1102.format("signature"))

    @pytest.mark.parametrize("ts", ["abc", "1.5", "1e12", "17172000000000000000000", "%FF"])
    def test_timestamp_not_an_integer(self, sim: Sim, call: Any, ts: str) -> None:
        query = "&".join(p for p in (call[2], f"timestamp={ts}") if p)
        _rejected(sim, call, -1130, 400, query=query, msg=MSG_1130.format("timestamp"))

    @pytest.mark.parametrize("recv", ["0", "-1", "60001", "abc", "", "5000.0"])
    def test_recv_window_not_valid(self, sim: Sim, call: Any, recv: str) -> None:
        code = -1102 if recv == "" else -1130
        _rejected(sim, call, code, 400, recv=recv)

    def test_timestamp_1000ms_ahead(self, sim: Sim, call: Any) -> None:
        _rejected(
            sim,
            call,
            -1021,
            401,
            ts=NOW + 1000,
            msg="Timestamp for this request is outside of the recvWindow.",
        )

    def test_timestamp_older_than_recv_window(self, sim: Sim, call: Any) -> None:
        _rejected(sim, call, -1021, 401, ts=NOW - 5001)

    def test_timestamp_older_than_default_recv_window(self, sim: Sim, call: Any) -> None:
        _rejected(sim, call, -1021, 401, ts=NOW - 5001, recv=None)

    def test_signature_wrong(self, sim: Sim, call: Any) -> None:
        _rejected(sim, call, -1022, 401, signature="0" * 64, msg=BAD_SIG)

    def test_signature_uppercase(self, sim: Sim, call: Any) -> None:
        query = _query(sim, call[2])
        upper = sign(query.encode() + call[3]).upper()
        _rejected(sim, call, -1022, 401, query=query, signature=upper)

    def test_signature_other_secret(self, sim: Sim, call: Any) -> None:
        query = _query(sim, call[2])
        _rejected(
            sim, call, -1022, 401, query=query, signature=sign(query.encode() + call[3], b"x" * 64)
        )

    def test_signature_not_last(self, sim: Sim, call: Any) -> None:
        query = _query(sim, call[2])
        sig = sign(query.encode() + call[3])
        moved = f"signature={sig}&{query}"
        _rejected(sim, call, -1022, 401, query=moved, signature=None)

    def test_signature_twice(self, sim: Sim, call: Any) -> None:
        query = _query(sim, call[2])
        sig = sign(query.encode() + call[3])
        _rejected(sim, call, -1022, 401, query=f"{query}&signature={sig}", signature=sig)


class TestSigningDetails:
    def test_window_edges_are_accepted(self, sim: Sim) -> None:
        assert sim.signed("GET", CURRENT, timestamp=NOW + 999).status == 200
        assert sim.signed("GET", CURRENT, timestamp=NOW - 5000).status == 200
        assert sim.signed("GET", CURRENT, timestamp=NOW - 60000, recv_window=60000).status == 200
        assert sim.signed("GET", CURRENT, timestamp=NOW - 5000, recv_window=None).status == 200

    def test_parameters_in_another_order_than_signed(self, sim: Sim) -> None:
        signed_as = _query(sim, "page=1&size=10")
        sent_as = signed_as.replace("page=1&size=10", "size=10&page=1")
        resp = sim.raw(
            "GET",
            HISTORY,
            f"{sent_as}&signature={sign(signed_as.encode())}".encode(),
            headers=[(b"x-bb-apikey", DEMO_KEY.encode())],
        )
        assert_error(resp, -1022, 401, BAD_SIG)
        # ... while the same parameters in that other order, signed as sent, pass.
        resp = sim.raw(
            "GET",
            HISTORY,
            f"{sent_as}&signature={sign(sent_as.encode())}".encode(),
            headers=[(b"x-bb-apikey", DEMO_KEY.encode())],
        )
        assert envelope_ok(resp)["total"] == "1"

    def test_sorted_re_encoding_is_not_what_is_verified(self, sim: Sim) -> None:
        # The raw query is verified as received: %2D stays %2D in the signed message.
        query = _query(sim, "leaderUserId=12345678%39")
        resp = _send(sim, "GET", CONFIG, query, b"")
        assert envelope_ok(resp)["leaderUserId"] == "123456789"
        decoded = query.replace("%39", "9")
        resp = _send(sim, "GET", CONFIG, query, b"", signature=sign(decoded.encode()))
        assert_error(resp, -1022, 401)

    def test_pretty_printed_body_signed_as_sent_fails(self, sim: Sim) -> None:
        before = sim.state()
        pretty = (
            b'{\n  "leaderUserId": 123456789,\n  "symbolId": "BTC-SWAP-USDT",\n  "isLong": 1\n}'
        )
        query = _query(sim, "")
        resp = _send(sim, "PUT", STOP, query, pretty)
        assert_error(resp, -1022, 401, BAD_SIG)
        crlf = compact(STOP_EXAMPLE)[:-1] + b"\r\n}"
        assert_error(_send(sim, "PUT", STOP, query, crlf), -1022, 401)
        assert sim.state() == before

    def test_line_terminators_are_dropped_before_verifying(self, sim: Sim) -> None:
        # The server's side of the same rule: it verifies the body without \r and \n.
        body = compact(STOP_EXAMPLE)[:-1] + b"\r\n}"
        query = _query(sim, "")
        resp = _send(
            sim, "PUT", STOP, query, body, signature=sign(query.encode() + compact(STOP_EXAMPLE))
        )
        assert envelope_ok(resp) is None

    def test_put_signed_over_the_query_only_fails(self, sim: Sim) -> None:
        before = sim.state()
        query = _query(sim, "")
        resp = _send(
            sim, "PUT", CONFIG, query, compact(CONFIG_EXAMPLE), signature=sign(query.encode())
        )
        assert_error(resp, -1022, 401)
        assert sim.state() == before

    def test_body_bytes_differing_from_the_signed_ones_fail(self, sim: Sim) -> None:
        query = _query(sim, "")
        signed_body = compact(STOP_EXAMPLE)
        sent_body = signed_body.replace(b'"0.2"', b'"0.3"')
        resp = _send(
            sim, "PUT", STOP, query, sent_body, signature=sign(query.encode() + signed_body)
        )
        assert_error(resp, -1022, 401)

    @pytest.mark.parametrize(("method", "path", "params", "body", "extra"), UNKNOWN_PARAMS)
    def test_unknown_query_parameters_are_refused(
        self, sim: Sim, method: str, path: str, params: str, body: bytes, extra: str
    ) -> None:
        """Spec, "Unknown parameters": a query parameter the operation does not declare
        is -1103 on reads and writes (also a name another operation declares), and a
        refused write changes nothing. Checked after the signature: the parameter is
        part of the signed message."""
        before = sim.state()
        query = "&".join(p for p in (params, extra) if p)
        unknown = BY_NAME["UNKNOWN_PARAM"]
        key = SECOND_KEY if method == "DELETE" else DEMO_KEY
        resp = sim.signed(method, path, query, body, key=key)
        assert_error(resp, unknown.code, unknown.http_status, unknown.format_message(name=extra))
        assert sim.state() == before
        signed_without = _query(sim, params)
        resp = _send(
            sim, method, path, f"{extra}&{signed_without}", body,
            signature=sign(signed_without.encode() + body), key=key,
        )  # fmt: skip
        assert_error(resp, -1022, 401)
        assert sim.state() == before

    def test_an_unknown_parameter_comes_after_the_key_checks(self, sim: Sim) -> None:
        resp = sim.signed("DELETE", f"{LEADERS}/{S5}", "foo=bar", key=READ_ONLY_KEY)
        assert_error(resp, -1020, 403)
        resp = sim.signed("PUT", CONFIG, "foo=bar", CONFIG_EXAMPLE, content_type=b"text/plain")
        assert_error(resp, -1130, 400, MSG_1130.format("Content-Type"))

    def test_a_body_on_a_get_is_signed_too(self, sim: Sim) -> None:
        query = _query(sim, "")
        assert _send(sim, "GET", CURRENT, query, b"{}").status == 200
        resp = _send(sim, "GET", CURRENT, query, b"{}", signature=sign(query.encode()))
        assert_error(resp, -1022, 401)

    def test_percent_encoded_signature_name_is_not_the_signature(self, sim: Sim) -> None:
        query = _query(sim, "")
        raw = f"{query}&signatur%65={sign(query.encode())}"
        resp = sim.raw("GET", CURRENT, raw.encode(), headers=[(b"x-bb-apikey", DEMO_KEY.encode())])
        assert_error(resp, -1102, 400, MSG_1102.format("signature"))

    def test_duplicated_timestamp_is_invalid(self, sim: Sim) -> None:
        query = f"timestamp={NOW}&timestamp={NOW}"
        assert_error(
            _send(sim, "GET", CURRENT, query, b""), -1130, 400, MSG_1130.format("timestamp")
        )


class TestOrderOfChecks:
    """Where two things are wrong, the one earlier in docs/ARCHITECTURE.md's table wins."""

    def test_key_before_timestamp(self, sim: Sim) -> None:
        assert_error(_send(sim, "GET", CURRENT, "", b"", key="SimNobody"), -2015, 401)

    def test_expired_before_signature(self, sim: Sim) -> None:
        resp = _send(sim, "GET", CURRENT, _query(sim, ""), b"", key=EXPIRED_KEY, signature="0" * 64)
        assert_error(resp, -2017, 401)

    def test_account_type_before_timestamp(self, sim: Sim) -> None:
        assert_error(
            _send(sim, "GET", CURRENT, "", b"", key=STANDARD_KEY, signature=None), -1005, 403
        )

    def test_missing_timestamp_before_bad_recv_window(self, sim: Sim) -> None:
        assert_error(_send(sim, "GET", CURRENT, "recvWindow=0", b""), -1102, 400)

    def test_bad_recv_window_before_stale_timestamp(self, sim: Sim) -> None:
        query = _query(sim, "", ts=NOW - 10**6, recv="70000")
        assert_error(
            _send(sim, "GET", CURRENT, query, b""), -1130, 400, MSG_1130.format("recvWindow")
        )

    def test_stale_timestamp_before_signature(self, sim: Sim) -> None:
        query = _query(sim, "", ts=NOW - 10**6)
        assert_error(_send(sim, "GET", CURRENT, query, b"", signature="0" * 64), -1021, 401)

    def test_signature_before_read_only(self, sim: Sim) -> None:
        query = _query(sim, "")
        resp = _send(
            sim, "DELETE", f"{LEADERS}/{S5}", query, b"", key=READ_ONLY_KEY, signature="0" * 64
        )
        assert_error(resp, -1022, 401)

    def test_read_only_before_validation(self, sim: Sim) -> None:
        before = sim.state()
        resp = sim.signed("PUT", CONFIG, body=b"not json", key=READ_ONLY_KEY)
        assert_error(resp, -1020, 403, "This operation is not supported.")
        assert sim.state() == before

    def test_validation_before_business(self, sim: Sim) -> None:
        body = dict(CONFIG_EXAMPLE, leaderUserId=555, leverage="20.123456789")
        assert_error(sim.signed("PUT", CONFIG, body=body), -1130, 400, MSG_1130.format("leverage"))

    def test_rate_limit_first(self) -> None:
        sim = Sim(rate_limit=1)
        try:
            assert _send(sim, "GET", CURRENT, "", b"", key=None).status == 401
            resp = _send(sim, "GET", CURRENT, "", b"", key=None)
            assert resp.status == 429 and resp.code == -1003
        finally:
            sim.close()


class TestReadOnlyKey:
    def test_reads_work(self, sim: Sim) -> None:
        for method, path, params, _ in CALLS[:4]:
            ro = sim.signed(method, path, params, key=READ_ONLY_KEY)
            rw = sim.signed(method, path, params, key=DEMO_KEY)
            assert ro.status == 200 and ro.json == rw.json

    @pytest.mark.parametrize("call", CALLS[4:], ids=CALL_IDS[4:])
    def test_every_write_is_refused_and_changes_nothing(self, sim: Sim, call: Any) -> None:
        method, path, params, body = call
        if path.endswith(str(K7)):
            path = f"{LEADERS}/{S5}"
        before = sim.state()
        resp = sim.signed(method, path, params, body, key=READ_ONLY_KEY)
        assert_error(resp, -1020, 403, "This operation is not supported.")
        assert sim.state() == before


class TestIsolation:
    """A follower only ever sees and changes its own data."""

    def test_second_follower_sees_only_its_own(self, sim: Sim) -> None:
        assert envelope_ok(sim.signed("GET", CURRENT, key=SECOND_KEY)) == []
        leaders = envelope_ok(sim.signed("GET", LEADERS, key=SECOND_KEY))
        assert [x["leaderUserId"] for x in leaders] == [str(K7)]
        history = envelope_ok(sim.signed("GET", HISTORY, "size=100", key=SECOND_KEY))
        assert history["total"] == "3" and {x["leaderNickname"] for x in history["list"]} == {"K7"}
        assert_error(sim.signed("GET", CONFIG, f"leaderUserId={S5}", key=SECOND_KEY), -32045, 400)
        assert_error(sim.signed("GET", CONFIG, f"leaderUserId={K7}", key=DEMO_KEY), -32045, 400)

    @pytest.mark.parametrize(
        ("method", "path", "body"),
        [
            ("PUT", CONFIG, CONFIG_EXAMPLE),
            ("PUT", STOP, STOP_EXAMPLE),
            ("DELETE", f"{LEADERS}/{S5}", b""),
        ],
        ids=["config", "stopPL", "cancel"],
    )
    def test_second_follower_cannot_touch_the_demo_followers_data(
        self, sim: Sim, method: str, path: str, body: Any
    ) -> None:
        before = sim.state()
        assert_error(
            sim.signed(method, path, body=body, key=SECOND_KEY),
            -32045,
            400,
            "Copy trading follower not found.",
        )
        assert sim.state() == before

    def test_demo_follower_cannot_touch_k7(self, sim: Sim) -> None:
        before = sim.state()
        assert_error(sim.signed("PUT", CONFIG, body=K7_CONFIG), -32045, 400)
        assert_error(sim.signed("DELETE", f"{LEADERS}/{K7}"), -32045, 400)
        assert sim.state() == before

    def test_writes_of_one_follower_leave_the_other_alone(self, sim: Sim) -> None:
        demo_config = envelope_ok(sim.signed("GET", CONFIG, f"leaderUserId={S5}"))
        assert envelope_ok(sim.signed("PUT", CONFIG, body=K7_CONFIG, key=SECOND_KEY)) is None
        assert envelope_ok(sim.signed("DELETE", f"{LEADERS}/{K7}", key=SECOND_KEY)) is None
        assert envelope_ok(sim.signed("GET", CONFIG, f"leaderUserId={S5}")) == demo_config
        assert len(envelope_ok(sim.signed("GET", LEADERS))) == 1

    @pytest.mark.parametrize("call", CALLS, ids=CALL_IDS)
    def test_follower_without_relation_gets_32045_everywhere(self, sim: Sim, call: Any) -> None:
        method, path, params, body = call
        if method == "PUT" and path == CONFIG:
            body = compact(dict(CONFIG_EXAMPLE))
        before = sim.state()
        resp = sim.signed(method, path, params, body, key=NO_RELATION_KEY)
        assert_error(resp, -32045, 400, "Copy trading follower not found.")
        assert sim.state() == before


def test_signing_helper_matches_the_published_vector() -> None:
    # Guard for the tests themselves: our helper reproduces the exchange's known answer.
    message = (
        b"symbol=BTCUSDT&side=SELL&type=LIMIT&timeInForce=GTC&quantity=1&price=400"
        b"&recvWindow=100000&timestamp=1668481902307"
    )
    assert (
        sign(message, SECRET) == "8420e499e71cce4a00946db16543198b6bcae01791bdb75a06b5a7098b156468"
    )
