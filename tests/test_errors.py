"""Errors: the class of every answer that is not a success comes from the spec's error
table (``toobit_follower_models.errors``), by family of HTTP status, with a few
code-specific classes; sync and async alike. Every row is iterated from the generated
table, so a code added to the spec is covered with no edit here."""

from __future__ import annotations

import inspect
import json
import logging
from typing import Any

import httpx
import pytest
import toobit_follower_models.errors as spec_errors
from pydantic import ValidationError
from test_sim_support import NO_RELATION_KEY
from toobit_follower import (
    CODE_CLASSES,
    ERROR_TABLE,
    FAMILIES,
    APIConnectionError,
    APIError,
    APITimeoutError,
    AsyncFollowerClient,
    AuthenticationError,
    ErrorCode,
    ErrorInfo,
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
    error_info,
)
from toobit_follower_sim import SimOptions
from toobit_follower_sim.testing import (
    BASE_URL,
    DEMO_API_KEY,
    DEMO_API_SECRET,
    DEMO_LEADER_ID,
    SimExchange,
)

LEADERS = "/api/v2/copy-trading/follower/leaders"
MODES = ["sync", "async"]
ROWS = list(spec_errors.ERROR_TABLE)
ROW_IDS = [row.name for row in ROWS]
LIMIT_HEADERS = {
    "X-Api-Limit-Status": "10",
    "X-Api-Limit": "3000",
    "X-Api-Limit-Reset-Timestamp": "1717200000000",
}


# ---- helpers -----------------------------------------------------------------------
def make_client(
    mode: str, exchange: SimExchange, key: str = DEMO_API_KEY, **kwargs: Any
) -> FollowerClient | AsyncFollowerClient:
    if mode == "sync":
        return FollowerClient(
            key,
            DEMO_API_SECRET,
            base_url=BASE_URL,
            transport=exchange.transport(),
            sleep=exchange.clock.sleep,
            clock=exchange.clock.time,
            **kwargs,
        )
    return AsyncFollowerClient(
        key,
        DEMO_API_SECRET,
        base_url=BASE_URL,
        transport=exchange.async_transport(),
        sleep=exchange.clock.async_sleep,
        clock=exchange.clock.time,
        **kwargs,
    )


async def call(client: Any, name: str, *args: Any, **kwargs: Any) -> Any:
    result = getattr(client, name)(*args, **kwargs)
    if inspect.isawaitable(result):
        result = await result
    return result


def error_response(status: int, code: int, msg: str = "boom") -> httpx.Response:
    return httpx.Response(status, json={"code": code, "msg": msg}, headers=LIMIT_HEADERS)


def not_server_time(response: httpx.Response) -> Any:
    """A scripted answer: ``response``, except that the simulator tells the time."""
    return lambda request: None if request.url.path == "/api/v1/time" else response


def answered(mode: str, *answers: Any, **kwargs: Any) -> Any:
    """A client whose next requests get these scripted answers (no retries by default)."""
    exchange = SimExchange()
    exchange.script(*answers)
    kwargs.setdefault("max_retries", 0)
    return make_client(mode, exchange, **kwargs)


def family(status: int) -> type[APIError]:
    """The family the README promises for an HTTP status."""
    if status in FAMILIES:
        return FAMILIES[status]
    assert 500 <= status <= 599, f"no family for HTTP {status}"
    return UnknownServerError


# ---- the rule, over the spec's table -------------------------------------------------
def test_every_http_status_of_the_table_has_a_family() -> None:
    for row in ROWS:
        assert row.http_status in FAMILIES or 500 <= row.http_status <= 599, (
            f"x-error-table gives {row.name} HTTP {row.http_status}, a status with no exception"
            " family: decide its class and add it to _exceptions.FAMILIES (and README's Errors)"
        )


def test_code_specific_classes_are_named_codes_within_their_family() -> None:
    for name, cls in CODE_CLASSES.items():
        assert name in spec_errors.BY_NAME, (
            f"_exceptions.CODE_CLASSES binds {name}, which x-error-table no longer has:"
            " decide whether its class goes or follows a renamed code"
        )
        assert issubclass(cls, family(spec_errors.BY_NAME[name].http_status)), name


def test_the_code_specific_classes() -> None:
    # the rules that act on these codes: -1021 re-syncs the clock; the others are
    # the exchange's business answers users catch by name
    assert error_class(401, ErrorCode.INVALID_TIMESTAMP) is TimestampError
    assert error_class(400, ErrorCode.FOLLOWER_NOT_FOUND) is FollowerNotFoundError
    assert error_class(400, ErrorCode.FOLLOWER_HAS_POSITIONS) is HasOpenPositionsError


@pytest.mark.parametrize("row", ROWS, ids=ROW_IDS)
def test_every_row_falls_into_the_family_of_its_status(row: ErrorInfo) -> None:
    cls = error_class(row.http_status, row.code)
    assert issubclass(cls, family(row.http_status))
    assert cls is CODE_CLASSES.get(row.name, family(row.http_status))
    # a gateway answering HTTP 200 (or any status) with the code: the code decides,
    # except that 429/418 always mean rate limited / banned
    assert error_class(200, row.code) is error_class(error_info(row.code).http_status, row.code)  # type: ignore[union-attr]


def test_status_decides_for_429_and_418() -> None:
    assert error_class(429, ErrorCode.TOO_MANY_REQUESTS) is RateLimitError
    assert error_class(418, ErrorCode.IP_BANNED) is IPBannedError
    assert error_class(429, None) is RateLimitError
    assert error_class(429, ErrorCode.FOLLOWER_NOT_FOUND) is RateLimitError
    assert error_class(502, None) is UnexpectedResponseError
    assert issubclass(IPBannedError, RateLimitError)
    assert issubclass(APITimeoutError, APIConnectionError)
    for cls in (APIError, APIConnectionError, OutcomeUnknownError):
        assert issubclass(cls, ToobitError)


def test_a_code_the_spec_does_not_know_takes_the_family_of_its_status() -> None:
    unknown = min(row.code for row in ROWS) - 1
    assert error_info(unknown) is None
    for status, cls in FAMILIES.items():
        assert error_class(status, unknown) is cls
    assert error_class(503, unknown) is UnknownServerError
    assert error_class(200, unknown) is APIError


def test_a_code_with_two_rows_gets_the_row_of_its_status() -> None:
    rate = spec_errors.BY_NAME[ErrorCode.TOO_MANY_REQUESTS.name]
    banned = spec_errors.BY_NAME[ErrorCode.IP_BANNED.name]
    assert error_info(rate.code, rate.http_status) is rate
    assert error_info(banned.code, banned.http_status) is banned
    assert error_info(rate.code, 200) is spec_errors.BY_CODE[rate.code]


def test_the_package_exports_the_generated_table() -> None:
    assert ERROR_TABLE is spec_errors.ERROR_TABLE


# ---- each row through a client ---------------------------------------------------------
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("row", ROWS, ids=ROW_IDS)
async def test_each_code_raises_a_typed_error_with_its_meaning(mode: str, row: ErrorInfo) -> None:
    response = error_response(row.http_status, row.code, f"msg {row.code}")
    # three times: a -1021 re-syncs the clock (the simulator answers) and retries once
    client = answered(mode, *[not_server_time(response)] * 3)
    with pytest.raises(family(row.http_status)) as caught:
        await call(client, "list_leaders")
    error = caught.value
    assert type(error) is error_class(row.http_status, row.code)
    assert (error.status_code, error.code, error.msg) == (
        row.http_status,
        row.code,
        f"msg {row.code}",
    )
    assert (error.info, error.meaning) == (row, row.meaning)
    assert (error.method, error.path) == ("GET", LEADERS)
    assert error.response is not None and error.response.status_code == row.http_status
    assert error.rate_limit.remaining == 10


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("row", ROWS, ids=ROW_IDS)
async def test_http_200_with_negative_code_is_an_error(mode: str, row: ErrorInfo) -> None:
    client = answered(mode, *[not_server_time(error_response(200, row.code))] * 3)
    with pytest.raises(APIError) as caught:
        await call(client, "get_follow_config", DEMO_LEADER_ID)
    assert isinstance(caught.value, family(spec_errors.BY_CODE[row.code].http_status))
    assert (caught.value.status_code, caught.value.code) == (200, row.code)
    assert caught.value.meaning == spec_errors.BY_CODE[row.code].meaning


@pytest.mark.parametrize("mode", MODES)
async def test_write_with_http_200_negative_code_and_null_data_is_an_error(mode: str) -> None:
    # EmptyResponse (data: null) validates, so the code is what tells the error apart
    body = {"code": int(ErrorCode.FOLLOWER_NOT_FOUND), "msg": "not found", "data": None}
    client = answered(mode, httpx.Response(200, json=body))
    with pytest.raises(FollowerNotFoundError):
        await call(client, "cancel_leader", 1)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(("status", "expected"), [(400, InvalidRequestError), (200, APIError)])
async def test_undocumented_code_keeps_the_code(
    mode: str, status: int, expected: type[APIError]
) -> None:
    unknown = min(row.code for row in ROWS) - 1
    client = answered(mode, error_response(status, unknown, "new"))
    with pytest.raises(APIError) as caught:
        await call(client, "list_current_orders")
    assert type(caught.value) is expected
    assert (caught.value.code, caught.value.msg) == (unknown, "new")
    assert caught.value.meaning is None and caught.value.info is None


@pytest.mark.parametrize("mode", MODES)
async def test_a_code_added_to_the_spec_is_typed_with_no_python_change(
    mode: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # what `make generate` does with a new x-error-table row, here by hand
    new = ErrorInfo(min(r.code for r in ROWS) - 7, "NEW_RULE", 403, "New rule.", "a new rule")
    monkeypatch.setattr(spec_errors, "ERROR_TABLE", (*spec_errors.ERROR_TABLE, new))
    for status in (new.http_status, 200):  # also when a gateway says HTTP 200
        client = answered(mode, error_response(status, new.code, new.message))
        with pytest.raises(PermissionDeniedError) as caught:
            await call(client, "list_leaders")
        assert (caught.value.code, caught.value.status_code) == (new.code, status)
        assert (caught.value.meaning, caught.value.info) == (new.meaning, new)


# ---- bodies that are not the envelope ----------------------------------------------------
HTML_502 = b"<html><body><h1>502 Bad Gateway</h1>\n<p>nginx</p></body></html>"


@pytest.mark.parametrize("mode", MODES)
async def test_html_502_gives_status_and_excerpt(mode: str) -> None:
    response = httpx.Response(502, content=HTML_502, headers={"Content-Type": "text/html"})
    with pytest.raises(UnexpectedResponseError) as caught:
        await call(answered(mode, response), "list_leaders")
    error = caught.value
    assert error.status_code == 502
    assert error.code is None and error.meaning is None
    assert "502 Bad Gateway" in error.excerpt
    assert "\n" not in error.excerpt
    assert "502" in str(error) and "text/html" in str(error)
    assert not isinstance(error.__cause__, json.JSONDecodeError)


@pytest.mark.parametrize("mode", MODES)
async def test_the_simulators_gateway_fault_is_an_unexpected_response(mode: str) -> None:
    exchange = SimExchange(options=SimOptions(faults="html502=1"))
    with pytest.raises(UnexpectedResponseError) as caught:
        await call(make_client(mode, exchange, max_retries=0), "list_leaders")
    assert caught.value.status_code == 502


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("status", [200, 400, 503])
async def test_empty_body_is_a_clear_error(mode: str, status: int) -> None:
    with pytest.raises(UnexpectedResponseError) as caught:
        await call(answered(mode, httpx.Response(status, content=b"")), "list_leaders")
    assert caught.value.status_code == status
    assert "empty body" in str(caught.value)


@pytest.mark.parametrize("mode", MODES)
async def test_truncated_json_is_a_clear_error(mode: str) -> None:
    client = answered(mode, httpx.Response(200, content=b'{"code":200,"msg":"succ'))
    with pytest.raises(UnexpectedResponseError) as caught:
        await call(client, "list_leaders")
    assert caught.value.excerpt == '{"code":200,"msg":"succ'


@pytest.mark.parametrize("mode", MODES)
async def test_success_with_data_breaking_the_spec(mode: str) -> None:
    body = {"code": 200, "msg": "success", "data": [{"leaderUserId": "x"}]}
    with pytest.raises(UnexpectedResponseError) as caught:
        await call(answered(mode, httpx.Response(200, json=body)), "list_leaders")
    assert isinstance(caught.value.__cause__, ValidationError)
    assert "does not match" in str(caught.value)


@pytest.mark.parametrize("mode", MODES)
async def test_429_and_418_without_json(mode: str) -> None:
    with pytest.raises(IPBannedError) as caught:
        await call(answered(mode, httpx.Response(418, content=b"banned")), "list_leaders")
    assert caught.value.code is None and caught.value.status_code == 418


@pytest.mark.parametrize("mode", MODES)
async def test_success_envelope_with_an_error_status(mode: str) -> None:
    body = {"code": 200, "msg": "success", "data": []}
    with pytest.raises(UnexpectedResponseError, match="error status"):
        await call(answered(mode, httpx.Response(404, json=body)), "list_leaders")


# ---- real answers of the simulator ----------------------------------------------------
@pytest.mark.parametrize("mode", MODES)
async def test_the_simulators_refusals_are_typed(mode: str) -> None:
    exchange = SimExchange()
    nobody = make_client(mode, exchange, key=NO_RELATION_KEY, max_retries=0)
    with pytest.raises(FollowerNotFoundError) as not_found:
        await call(nobody, "list_leaders")
    demo = make_client(mode, exchange, max_retries=0)
    with pytest.raises(HasOpenPositionsError) as has_positions:
        await call(demo, "cancel_leader", DEMO_LEADER_ID)
    wrong = make_client(mode, exchange, key="UnknownKey123", max_retries=0)
    with pytest.raises(AuthenticationError):
        await call(wrong, "list_leaders")
    for error, name in [
        (not_found.value, ErrorCode.FOLLOWER_NOT_FOUND.name),
        (has_positions.value, ErrorCode.FOLLOWER_HAS_POSITIONS.name),
    ]:
        row = spec_errors.BY_NAME[name]
        assert (error.code, error.status_code, error.msg) == (
            row.code,
            row.http_status,
            row.message,
        )
        assert error.meaning == row.meaning


@pytest.mark.parametrize("mode", MODES)
async def test_errors_as_http_200_keep_their_class(mode: str) -> None:
    exchange = SimExchange(options=SimOptions(assumptions={"error-status-per-code": "alternative"}))
    client = make_client(mode, exchange, key=NO_RELATION_KEY, max_retries=0)
    with pytest.raises(FollowerNotFoundError) as caught:
        await call(client, "list_leaders")
    assert caught.value.status_code == 200


# ---- what errors show -------------------------------------------------------------------
async def test_str_and_repr_show_code_msg_method_path_never_secrets() -> None:
    exchange = SimExchange()
    client = make_client("sync", exchange, key=NO_RELATION_KEY, max_retries=0)
    with pytest.raises(FollowerNotFoundError) as caught:
        client.get_follow_config(5)
    error = caught.value
    row = spec_errors.BY_NAME[ErrorCode.FOLLOWER_NOT_FOUND.name]
    signature = exchange.requests[-1].url.params["signature"]
    for text in (str(error), repr(error)):
        assert str(row.code) in text
        assert row.message in text
        assert "GET" in text
        assert "/api/v2/copy-trading/follower/config" in text
        assert DEMO_API_SECRET not in text
        assert signature not in text
        assert "timestamp=" not in text


def test_connection_error_message_is_redacted() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError(f"cannot reach {request.url}", request=request)

    with pytest.raises(APIConnectionError) as caught:
        answered("sync", refuse).list_leaders()
    text = str(caught.value) + repr(caught.value)
    assert "signature=<redacted>" in text
    assert DEMO_API_SECRET not in text
    assert isinstance(caught.value.__cause__, httpx.ConnectError)


def test_outcome_unknown_error_wraps_the_cause() -> None:
    unknown = spec_errors.BY_NAME[ErrorCode.UNKNOWN.name]
    client = answered("sync", error_response(500, unknown.code, "unknown"), max_retries=2)
    with pytest.raises(OutcomeUnknownError) as caught:
        client.cancel_leader(7)
    error = caught.value
    assert isinstance(error.error, UnknownServerError)
    assert error.__cause__ is error.error
    assert (error.status_code, error.code, error.method) == (500, unknown.code, "DELETE")
    assert error.path == "/api/v2/copy-trading/follower/leaders/7"
    assert "outcome unknown" in str(error)
    assert str(unknown.code) in repr(error)


def test_timeout_error_class() -> None:
    with pytest.raises(APITimeoutError):
        answered("sync", httpx.ReadTimeout("timed out")).list_leaders()


async def test_secret_never_in_logs_or_errors(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    for name in ("httpx", "httpcore", "toobit_follower"):
        logging.getLogger(name).setLevel(logging.DEBUG)
    for mode in MODES:
        exchange = SimExchange()
        exchange.script(error_response(503, ErrorCode.UNKNOWN))
        client = make_client(mode, exchange, key="UnknownKey123")  # then the simulator: -2015
        with pytest.raises(AuthenticationError) as caught:
            await call(client, "list_leaders")
        assert DEMO_API_SECRET not in str(caught.value) + repr(caught.value)
        assert DEMO_API_SECRET not in repr(client) + repr(client.http_client)
    assert caplog.records, "httpx logging was expected to be on"
    assert any("retrying" in record.getMessage() for record in caplog.records)
    for record in caplog.records:
        assert DEMO_API_SECRET not in record.getMessage()
        assert DEMO_API_SECRET not in str(record.args)


@pytest.mark.parametrize("mode", MODES)
async def test_failed_resync_reports_the_timestamp_error(mode: str) -> None:
    # the client's clock is a minute ahead: -1021, and the re-sync cannot connect
    exchange = SimExchange(server_offset_ms=-60_000)

    def unreachable(request: httpx.Request) -> httpx.Response | None:
        if request.url.path == "/api/v1/time":
            raise httpx.ConnectError("unreachable", request=request)
        return None  # the simulator answers

    exchange.script(unreachable, unreachable)
    client = make_client(mode, exchange, max_retries=0)
    with pytest.raises(TimestampError) as caught:
        await call(client, "list_leaders")
    assert isinstance(caught.value.__cause__, APIConnectionError)
    assert caught.value.code == ErrorCode.INVALID_TIMESTAMP
