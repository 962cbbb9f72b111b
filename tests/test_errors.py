"""Errors: one table from code to class, checked against the spec; every answer that is
not a success becomes one of the package's exceptions, sync and async alike."""

from __future__ import annotations

import inspect
import json
import logging
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from pydantic import ValidationError
from toobit_follower import (
    ERROR_CLASSES,
    ERROR_TABLE,
    APIConnectionError,
    APIError,
    APITimeoutError,
    AsyncFollowerClient,
    AuthenticationError,
    FollowerClient,
    FollowerNotFoundError,
    HasOpenPositionsError,
    InvalidRequestError,
    IPBannedError,
    OutcomeUnknownError,
    PermissionDeniedError,
    RateLimitError,
    TimestampError,
    ToobitError,
    UnexpectedResponseError,
    UnknownServerError,
    error_class,
)
from toobit_follower.testing import (
    DEMO_API_KEY,
    DEMO_API_SECRET,
    FakeClock,
    MockExchange,
    json_response,
)
from toobit_follower_models import ErrorResponse

ROOT = Path(__file__).resolve().parent.parent
SPEC: dict[str, Any] = yaml.safe_load((ROOT / "openapi.yaml").read_text(encoding="utf-8"))
SPEC_CODES: list[int] = SPEC["components"]["schemas"]["ErrorCode"]["enum"]
# the spec's codes and the table's: a code missing from either side fails a test
ALL_CODES = sorted(set(SPEC_CODES) | set(ERROR_CLASSES), reverse=True)
LEADERS = "/api/v2/copy-trading/follower/leaders"

# HTTP status the simulator (docs/ARCHITECTURE.md) sends with each code.
STATUS_OF = {-1000: 500, -1003: 429, -1005: 403, -1020: 403}
STATUS_OF.update(dict.fromkeys([-1002, -1021, -1022, -2014, -2015, -2017, -2018], 401))

MODES = ["sync", "async"]


# ---- helpers -----------------------------------------------------------------------
def make_client(mode: str, transport: httpx.MockTransport, **kwargs: Any) -> Any:
    clock = FakeClock()
    if mode == "sync":
        return FollowerClient(
            DEMO_API_KEY,
            DEMO_API_SECRET,
            base_url="https://fake.test",
            transport=transport,
            sleep=clock.sleep,
            clock=clock.time,
            **kwargs,
        )
    return AsyncFollowerClient(
        DEMO_API_KEY,
        DEMO_API_SECRET,
        base_url="https://fake.test",
        transport=transport,
        sleep=clock.async_sleep,
        clock=clock.time,
        **kwargs,
    )


async def call(client: Any, name: str, *args: Any, **kwargs: Any) -> Any:
    result = getattr(client, name)(*args, **kwargs)
    if inspect.isawaitable(result):
        result = await result
    return result


def answering(
    response: httpx.Response, log: list[httpx.Request] | None = None
) -> httpx.MockTransport:
    """Serves server time on /api/v1/time and ``response`` everywhere else."""

    def handler(request: httpx.Request) -> httpx.Response:
        if log is not None:
            log.append(request)
        if request.url.path == "/api/v1/time":
            return json_response(200, {"serverTime": 1717200000000})
        return response

    return httpx.MockTransport(handler)


def error_response(status: int, code: int, msg: str = "boom") -> httpx.Response:
    return json_response(
        status,
        {"code": code, "msg": msg},
        {
            "X-Api-Limit-Status": "10",
            "X-Api-Limit": "3000",
            "X-Api-Limit-Reset-Timestamp": "1717200000000",
        },
    )


# ---- the table -----------------------------------------------------------------------
def test_table_has_one_row_per_code() -> None:
    codes = [row.code for row in ERROR_TABLE]
    assert len(codes) == len(set(codes))
    assert dict(ERROR_CLASSES) == {row.code: row.exception for row in ERROR_TABLE}


def test_table_covers_exactly_the_spec_error_codes() -> None:
    assert set(ERROR_CLASSES) == set(SPEC_CODES)


def test_generated_error_model_knows_the_same_codes() -> None:
    literal = ErrorResponse.model_fields["code"].annotation
    assert set(literal.__args__) == set(ERROR_CLASSES)  # type: ignore[union-attr]


@pytest.mark.parametrize("code", ALL_CODES)
def test_every_spec_code_has_a_specific_class(code: int) -> None:
    # a new code in the spec's ErrorCode enum without a mapping fails here
    assert code in ERROR_CLASSES, f"{code} is in openapi.yaml but not in ERROR_TABLE"
    assert code in SPEC_CODES, f"{code} is in ERROR_TABLE but not in openapi.yaml's ErrorCode"
    assert ERROR_CLASSES[code] is not APIError
    assert issubclass(ERROR_CLASSES[code], APIError)


EXPECTED = {
    -1000: UnknownServerError,
    -1002: AuthenticationError,
    -1003: RateLimitError,
    -1005: PermissionDeniedError,
    -1020: PermissionDeniedError,
    -1021: TimestampError,
    -1022: AuthenticationError,
    -1100: InvalidRequestError,
    -1101: InvalidRequestError,
    -1102: InvalidRequestError,
    -1103: InvalidRequestError,
    -1105: InvalidRequestError,
    -1130: InvalidRequestError,
    -2014: AuthenticationError,
    -2015: AuthenticationError,
    -2017: AuthenticationError,
    -2018: AuthenticationError,
    -32045: FollowerNotFoundError,
    -120055: HasOpenPositionsError,
}


def test_table_is_the_agreed_mapping() -> None:
    assert dict(ERROR_CLASSES) == EXPECTED


def test_status_decides_for_429_and_418() -> None:
    assert error_class(429, -1003) is RateLimitError
    assert error_class(418, -1003) is IPBannedError
    assert error_class(429, None) is RateLimitError
    assert error_class(200, -1003) is RateLimitError
    assert error_class(400, -32045) is FollowerNotFoundError
    assert error_class(400, -4242) is APIError
    assert error_class(502, None) is UnexpectedResponseError
    assert issubclass(IPBannedError, RateLimitError)
    assert issubclass(APITimeoutError, APIConnectionError)
    for cls in (APIError, APIConnectionError, OutcomeUnknownError):
        assert issubclass(cls, ToobitError)


# ---- each code through a client --------------------------------------------------------
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("code", ALL_CODES)
async def test_each_code_raises_its_class(mode: str, code: int) -> None:
    status = STATUS_OF.get(code, 400)
    client = make_client(
        mode, answering(error_response(status, code, f"msg {code}")), max_retries=0
    )
    with pytest.raises(APIError) as caught:
        await call(client, "list_leaders")
    error = caught.value
    assert type(error) is ERROR_CLASSES[code]
    assert (error.status_code, error.code, error.msg) == (status, code, f"msg {code}")
    assert (error.method, error.path) == ("GET", LEADERS)
    assert error.response is not None and error.response.status_code == status
    assert error.rate_limit.remaining == 10


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("code", ALL_CODES)
async def test_http_200_with_negative_code_is_an_error(mode: str, code: int) -> None:
    client = make_client(mode, answering(error_response(200, code)), max_retries=0)
    with pytest.raises(APIError) as caught:
        await call(client, "get_follow_config", 123456789)
    assert type(caught.value) is ERROR_CLASSES[code]
    assert caught.value.status_code == 200
    assert caught.value.code == code


@pytest.mark.parametrize("mode", MODES)
async def test_write_with_http_200_negative_code_and_null_data_is_an_error(mode: str) -> None:
    # EmptyResponse (data: null) validates, so the code is what tells the error apart
    response = json_response(200, {"code": -32045, "msg": "not found", "data": None})
    client = make_client(mode, answering(response), max_retries=0)
    with pytest.raises(FollowerNotFoundError):
        await call(client, "cancel_leader", 1)


@pytest.mark.parametrize("mode", MODES)
async def test_undocumented_code_keeps_the_code(mode: str) -> None:
    client = make_client(mode, answering(error_response(400, -4242, "new")), max_retries=0)
    with pytest.raises(APIError) as caught:
        await call(client, "list_current_orders")
    assert type(caught.value) is APIError
    assert caught.value.code == -4242
    assert caught.value.msg == "new"


# ---- bodies that are not the envelope ----------------------------------------------------
HTML_502 = b"<html><body><h1>502 Bad Gateway</h1>\n<p>nginx</p></body></html>"


@pytest.mark.parametrize("mode", MODES)
async def test_html_502_gives_status_and_excerpt(mode: str) -> None:
    response = httpx.Response(502, content=HTML_502, headers={"Content-Type": "text/html"})
    client = make_client(mode, answering(response), max_retries=0)
    with pytest.raises(UnexpectedResponseError) as caught:
        await call(client, "list_leaders")
    error = caught.value
    assert error.status_code == 502
    assert error.code is None
    assert "502 Bad Gateway" in error.excerpt
    assert "\n" not in error.excerpt
    assert "502" in str(error) and "text/html" in str(error)
    assert not isinstance(error.__cause__, json.JSONDecodeError)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("status", [200, 400, 503])
async def test_empty_body_is_a_clear_error(mode: str, status: int) -> None:
    client = make_client(mode, answering(httpx.Response(status, content=b"")), max_retries=0)
    with pytest.raises(UnexpectedResponseError) as caught:
        await call(client, "list_leaders")
    assert caught.value.status_code == status
    assert "empty body" in str(caught.value)


@pytest.mark.parametrize("mode", MODES)
async def test_truncated_json_is_a_clear_error(mode: str) -> None:
    client = make_client(
        mode, answering(httpx.Response(200, content=b'{"code":200,"msg":"succ')), max_retries=0
    )
    with pytest.raises(UnexpectedResponseError) as caught:
        await call(client, "list_leaders")
    assert caught.value.excerpt == '{"code":200,"msg":"succ'


@pytest.mark.parametrize("mode", MODES)
async def test_success_with_data_breaking_the_spec(mode: str) -> None:
    body = {"code": 200, "msg": "success", "data": [{"leaderUserId": "x"}]}
    client = make_client(mode, answering(json_response(200, body)), max_retries=0)
    with pytest.raises(UnexpectedResponseError) as caught:
        await call(client, "list_leaders")
    assert isinstance(caught.value.__cause__, ValidationError)
    assert "does not match" in str(caught.value)


@pytest.mark.parametrize("mode", MODES)
async def test_429_and_418_without_json(mode: str) -> None:
    client = make_client(mode, answering(httpx.Response(418, content=b"banned")), max_retries=0)
    with pytest.raises(IPBannedError) as caught:
        await call(client, "list_leaders")
    assert caught.value.code is None and caught.value.status_code == 418


# ---- what errors show -------------------------------------------------------------------
async def test_str_and_repr_show_code_msg_method_path_never_secrets() -> None:
    fake = MockExchange()
    fake.leaders.clear()
    client = make_client("sync", fake.transport(), max_retries=0)
    with pytest.raises(FollowerNotFoundError) as caught:
        client.get_follow_config(5)
    error = caught.value
    signature = fake.requests[-1].url.params["signature"]
    for text in (str(error), repr(error)):
        assert "-32045" in text
        assert "Copy trading follower not found." in text
        assert "GET" in text
        assert "/api/v2/copy-trading/follower/config" in text
        assert DEMO_API_SECRET not in text
        assert signature not in text
        assert "timestamp=" not in text


def test_connection_error_message_is_redacted() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError(f"cannot reach {request.url}", request=request)

    client = make_client("sync", httpx.MockTransport(handler), max_retries=0)
    with pytest.raises(APIConnectionError) as caught:
        client.list_leaders()
    text = str(caught.value) + repr(caught.value)
    assert "signature=<redacted>" in text
    assert DEMO_API_SECRET not in text
    assert isinstance(caught.value.__cause__, httpx.ConnectError)


def test_outcome_unknown_error_wraps_the_cause() -> None:
    client = make_client("sync", answering(error_response(500, -1000, "unknown")))
    with pytest.raises(OutcomeUnknownError) as caught:
        client.cancel_leader(7)
    error = caught.value
    assert isinstance(error.error, UnknownServerError)
    assert error.__cause__ is error.error
    assert (error.status_code, error.code, error.method) == (500, -1000, "DELETE")
    assert error.path == "/api/v2/copy-trading/follower/leaders/7"
    assert "outcome unknown" in str(error)
    assert "-1000" in repr(error)


def test_timeout_error_class() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    client = make_client("sync", httpx.MockTransport(handler), max_retries=0)
    with pytest.raises(APITimeoutError):
        client.list_leaders()


async def test_secret_never_in_logs_or_errors(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    for name in ("httpx", "httpcore", "toobit_follower"):
        logging.getLogger(name).setLevel(logging.DEBUG)
    for mode in MODES:
        responses = iter([error_response(503, -1000), error_response(401, -1022)])
        transport = httpx.MockTransport(lambda request: next(responses))
        client = make_client(mode, transport)
        with pytest.raises(AuthenticationError) as caught:
            await call(client, "list_leaders")
        assert DEMO_API_SECRET not in str(caught.value) + repr(caught.value)
        assert DEMO_API_SECRET not in repr(client) + repr(client.generated)
    assert caplog.records, "httpx logging was expected to be on"
    assert any("retrying" in record.getMessage() for record in caplog.records)
    for record in caplog.records:
        assert DEMO_API_SECRET not in record.getMessage()
        assert DEMO_API_SECRET not in str(record.args)


@pytest.mark.parametrize("mode", MODES)
async def test_success_envelope_with_an_error_status(mode: str) -> None:
    body = {"code": 200, "msg": "success", "data": []}
    client = make_client(mode, answering(json_response(404, body)), max_retries=0)
    with pytest.raises(UnexpectedResponseError, match="error status"):
        await call(client, "list_leaders")


@pytest.mark.parametrize("mode", MODES)
async def test_failed_resync_reports_the_timestamp_error(mode: str) -> None:
    refused = error_response(401, -1021, "Timestamp for this request is outside of the recvWindow.")

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/v1/time":
            raise httpx.ConnectError("unreachable", request=request)
        return refused

    client = make_client(mode, httpx.MockTransport(handler), max_retries=0)
    with pytest.raises(TimestampError) as caught:
        await call(client, "list_leaders")
    assert isinstance(caught.value.__cause__, APIConnectionError)
