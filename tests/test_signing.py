"""Signing: the pure module against the published known-answer vectors, and the httpx
auth hook that applies it to the exact bytes sent."""

from __future__ import annotations

import hashlib
import hmac

import httpx
import pytest
import toobit_follower._auth as auth_module
from toobit_follower import BodySigning, Secret, ToobitAuth
from toobit_follower._auth import with_query, with_target
from toobit_follower.signing import (
    Signer,
    append_signature,
    sign,
    signed_message,
    signing_query,
    strip_signing_params,
    validate_recv_window,
)
from toobit_follower_sim.testing import DEMO_API_KEY, DEMO_API_SECRET

# docs/reference/basic-information.md, "Known-answer vectors"
SPOT_MESSAGE = (
    "symbol=BTCUSDT&side=SELL&type=LIMIT&timeInForce=GTC&quantity=1&price=400"
    "&recvWindow=100000&timestamp=1668481902307"
)
SPOT_SIGNATURE = "8420e499e71cce4a00946db16543198b6bcae01791bdb75a06b5a7098b156468"
GET_QUERY = "recvWindow=5000&timestamp=1717200000000"
GET_SIGNATURE = "e02e1a0c8de99db2ead6c144d587c54eb40feac513bdd0e5836a2e0a9fc2dec7"
PUT_BODY = (
    b'{"leaderUserId":123456789,"symbolId":"BTC-SWAP-USDT","isLong":1,'
    b'"stopProfitRate":"0.1","stopLossRate":"0.2","stopLossDelay":30}'
)
PUT_SIGNATURE = "13b95ea365da7ccdd64321878b741e02803cbc43073371f8fac0d8ef207e4d95"
# What the exchange's copy-trading example page prints (does not reproduce): we must NOT
# produce it from the documented rule.
EXAMPLE_PAGE_PREFIX = "0b54c7a9"

VECTORS = [
    pytest.param(SPOT_MESSAGE, b"", SPOT_SIGNATURE, id="spot-published"),
    pytest.param(GET_QUERY, b"", GET_SIGNATURE, id="get-no-body"),
    pytest.param(GET_QUERY, PUT_BODY, PUT_SIGNATURE, id="put-query+body"),
]


@pytest.mark.parametrize(("query", "body", "expected"), VECTORS)
def test_known_answer_vectors(query: str, body: bytes, expected: str) -> None:
    assert sign(DEMO_API_SECRET, signed_message(query, body)) == expected
    assert Signer(DEMO_API_SECRET)(query.encode(), body) == expected


def test_message_is_query_then_body_without_separator() -> None:
    assert signed_message(GET_QUERY, PUT_BODY) == GET_QUERY.encode() + PUT_BODY
    assert b"&{" not in signed_message(GET_QUERY, PUT_BODY)


def test_query_only_rule_ignores_the_body() -> None:
    message = signed_message(GET_QUERY, PUT_BODY, BodySigning.QUERY_ONLY)
    assert message == GET_QUERY.encode()
    assert sign(DEMO_API_SECRET, message) == GET_SIGNATURE
    assert not sign(DEMO_API_SECRET, message).startswith(EXAMPLE_PAGE_PREFIX)


def test_signature_is_lowercase_hex_sha256() -> None:
    signature = sign("k", "m")
    assert signature == hmac.new(b"k", b"m", hashlib.sha256).hexdigest()
    assert signature == signature.lower()
    assert len(signature) == 64


def test_signer_is_reusable_and_matches_sign() -> None:
    signer = Signer(DEMO_API_SECRET)
    assert signer(b"a") == sign(DEMO_API_SECRET, "a")
    assert signer(b"b") == sign(DEMO_API_SECRET, "b")  # copy per message, no carry-over
    assert signer(b"a", b"b") == sign(DEMO_API_SECRET, "ab")
    assert DEMO_API_SECRET not in repr(signer)


@pytest.mark.parametrize("value", [1, 5000, 60000])
def test_recv_window_accepted(value: int) -> None:
    assert validate_recv_window(value) == value


@pytest.mark.parametrize("value", [0, -1, 60001, 5000.0, "5000", True, None])
def test_recv_window_rejected(value: object) -> None:
    with pytest.raises(ValueError, match="recv_window"):
        validate_recv_window(value)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="recv_window"):
        ToobitAuth(DEMO_API_KEY, DEMO_API_SECRET, recv_window=value)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (b"", b""),
        (b"page=1&size=10", b"page=1&size=10"),
        (b"page=1&timestamp=1&recvWindow=2&signature=ab&size=10", b"page=1&size=10"),
        (b"signature=ab", b""),
        (b"mytimestamp=1&timestampx=2", b"mytimestamp=1&timestampx=2"),
    ],
)
def test_strip_signing_params(query: bytes, expected: bytes) -> None:
    assert strip_signing_params(query) == expected


def test_signing_query_and_signature_order() -> None:
    query = signing_query(b"leaderUserId=1&timestamp=9", 5000, 1717200000000)
    assert query == b"leaderUserId=1&recvWindow=5000&timestamp=1717200000000"
    assert signing_query(b"", 5000, 1717200000000) == GET_QUERY.encode()
    assert append_signature(b"a=1", "ff") == b"a=1&signature=ff"


# ---- the httpx auth hook ----------------------------------------------------------------
def _auth(**kwargs: object) -> ToobitAuth:
    return ToobitAuth(DEMO_API_KEY, DEMO_API_SECRET, clock=lambda: 1717200000.0, **kwargs)  # type: ignore[arg-type]


def _signed(auth: ToobitAuth, request: httpx.Request) -> httpx.Request:
    flow = auth.sync_auth_flow(request)
    sent = next(flow)
    return sent


def test_auth_reproduces_the_get_vector() -> None:
    request = httpx.Request("GET", "https://api.toobit.com/api/v2/copy-trading/follower/leaders")
    sent = _signed(_auth(), request)
    assert sent.url.query == f"{GET_QUERY}&signature={GET_SIGNATURE}".encode()
    assert sent.headers["X-BB-APIKEY"] == DEMO_API_KEY


def test_auth_reproduces_the_put_vector_over_the_exact_body() -> None:
    request = httpx.Request(
        "PUT",
        "https://api.toobit.com/api/v2/copy-trading/follower/positions/stop-profit-loss",
        content=PUT_BODY,
        headers={"Content-Type": "application/json"},
    )
    sent = _signed(_auth(), request)
    assert sent.url.query.endswith(f"&signature={PUT_SIGNATURE}".encode())
    assert sent.content == PUT_BODY


def test_auth_signs_the_bytes_not_a_reserialised_body() -> None:
    # Same JSON value, different bytes: the signature must follow the bytes.
    spaced = b'{"leaderUserId": 123456789, "symbolId": "BTC-SWAP-USDT", "isLong": 1}'
    compact = b'{"leaderUserId":123456789,"symbolId":"BTC-SWAP-USDT","isLong":1}'
    url = "https://h/api/v2/copy-trading/follower/positions/stop-profit-loss"
    sig_spaced = _signed(_auth(), httpx.Request("PUT", url, content=spaced)).url.params
    sig_compact = _signed(_auth(), httpx.Request("PUT", url, content=compact)).url.params
    assert sig_spaced["signature"] == sign(DEMO_API_SECRET, GET_QUERY.encode() + spaced)
    assert sig_compact["signature"] == sign(DEMO_API_SECRET, GET_QUERY.encode() + compact)


def test_auth_query_only_option() -> None:
    request = httpx.Request("PUT", "https://h/p", content=PUT_BODY)
    sent = _signed(_auth(body_signing="query-only"), request)
    assert sent.url.params["signature"] == GET_SIGNATURE


def test_auth_keeps_business_params_first_and_signature_last() -> None:
    request = httpx.Request("GET", "https://h/api/x", params={"page": 2, "size": 100})
    sent = _signed(_auth(recv_window=10000), request)
    query = sent.url.query.decode()
    assert query.startswith("page=2&size=100&recvWindow=10000&timestamp=1717200000000&signature=")
    assert list(sent.url.params.keys())[-1] == "signature"
    signed_part = query.rsplit("&signature=", 1)[0]
    assert sent.url.params["signature"] == sign(DEMO_API_SECRET, signed_part)


def test_auth_replaces_existing_signing_params() -> None:
    request = httpx.Request(
        "GET", "https://h/api/x?timestamp=1&leaderUserId=7&signature=dead&recvWindow=3"
    )
    sent = _signed(_auth(), request)
    params = sent.url.params
    assert params.get_list("timestamp") == ["1717200000000"]
    assert params.get_list("recvWindow") == ["5000"]
    assert params.get_list("signature") == [
        sign(DEMO_API_SECRET, "leaderUserId=7&recvWindow=5000&timestamp=1717200000000")
    ]
    # signing twice (a retry) gives one set of params, signed afresh
    again = _signed(_auth(clock_offset_ms=5), sent)
    assert again.url.params.get_list("timestamp") == ["1717200000005"]
    assert again.url.params["signature"] != params["signature"]


def test_auth_applies_clock_offset() -> None:
    auth = _auth()
    auth.clock_offset_ms = -2500
    sent = _signed(auth, httpx.Request("GET", "https://h/p"))
    assert sent.url.params["timestamp"] == "1717199997500"


def test_auth_never_shows_the_secret() -> None:
    auth = ToobitAuth(DEMO_API_KEY, Secret(DEMO_API_SECRET))
    assert DEMO_API_SECRET not in repr(auth)
    assert DEMO_API_SECRET not in str(vars(auth))
    assert DEMO_API_KEY not in repr(auth)  # the key is masked too


def test_auth_requires_body() -> None:
    assert ToobitAuth.requires_request_body is True


@pytest.mark.parametrize(
    "url",
    [
        "https://api.toobit.com/api/v2/copy-trading/follower/config?leaderUserId=1",
        "http://127.0.0.1:8080/prefix/api/v1/time",
        "https://h/p?q=a%20b&x=%E2%82%AC",
    ],
)
@pytest.mark.parametrize("fast_url", [True, False])
def test_fast_query_replacement_equals_copy_with(
    url: str, fast_url: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert auth_module._FAST_URL  # the pinned httpx passes the probe: the fast path is in use
    monkeypatch.setattr(auth_module, "_FAST_URL", fast_url)  # False: the public-API fallback
    original = httpx.URL(url)
    query = original.query + b"&recvWindow=5000&timestamp=1&signature=ab"
    fast = with_query(original, query)
    assert fast == original.copy_with(query=query)
    assert str(fast) == str(original.copy_with(query=query))
    assert fast.raw_path == original.copy_with(query=query).raw_path
    base = httpx.URL(url.partition("?")[0].rsplit("/", 1)[0])
    target = "/" + url.rsplit("/", 1)[1]
    joined = with_target(base, target)
    assert joined == httpx.URL(url) and joined.raw_path == httpx.URL(url).raw_path


def test_secret_type_redacts() -> None:
    secret = Secret(DEMO_API_SECRET)
    assert secret.get_secret_value() == DEMO_API_SECRET
    for text in (repr(secret), str(secret), f"{secret}", f"{secret!r}", "{}".format(secret)):  # noqa: UP032
        assert DEMO_API_SECRET not in text
    with pytest.raises(TypeError):
        import pickle

        pickle.dumps(secret)
