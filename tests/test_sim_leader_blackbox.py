"""Black-box tests of the simulator's leader side, written from the contract alone.

Sources: openapi.yaml's nine leader operations (their numbered rules, x-error-codes,
parameters, defaults, enums, paging, examples; where the page leaves a choice open, the
contract's reading of its x-assumption marker) and the exchange's leader page
(/work/shared/reference/leader-endpoints.txt). Only HTTP, the documented keys, the seed
format and the admin routes of simulator/README.md are used (leader_support.py); no
simulator internals. Error codes are named by ``ErrorCode``; every refusal is checked
against its row of the error table (HTTP status, message) and the operation's
``x-error-codes``, and every refused write against the state digest and a read-back.
"""

from __future__ import annotations

import copy
import json
import os
import signal
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from leader_support import (
    DEMO_FOLLOWER_ID,
    FOLLOWER,
    FOLLOWER_OPS,
    K7_ID,
    LEADER,
    LEADER_OPS,
    LEADER_READ_ONLY,
    LEADER_READS,
    NO_RELATION,
    NO_RELATION_ID,
    PAGED_READS,
    SCHEMAS,
    SECOND_FOLLOWER,
    SECOND_FOLLOWER_ID,
    SECOND_LEADER,
    STANDARD,
    TIMESTAMPS,
    UPDATE_FIELDS,
    UPDATE_REQUIRED,
    Answer,
    Caller,
    Exchange,
    ceil_div,
    example_request,
    leader_seed,
    ok,
    plain,
    refused,
    refused_naming,
    request_example,
    response_example,
    seed_with_second_follower_of_leader,
    server,
    update_from_config,
)
from toobit_follower_models.errors import ErrorCode
from toobit_follower_sim.testing import DEMO_LEADER_ID, LEADER_ID, default_seed

INT64_MAX = 9223372036854775807
INT32_MAX = 2147483647


@pytest.fixture(scope="module")
def shared() -> Iterator[Exchange]:
    exchange = Exchange()
    yield exchange
    exchange.close()


@pytest.fixture
def ex(shared: Exchange) -> Exchange:
    """The default seed, fresh for each test (POST /_sim/reset)."""
    shared.reset()
    return shared


@pytest.fixture
def two_followers() -> Iterator[Exchange]:
    """The default seed plus the second follower (10002, no open position) following the
    demo leader with 777 invested, besides K7."""
    exchange = Exchange(seed_with_second_follower_of_leader("777"))
    yield exchange
    exchange.close()


def op_ids(ops: tuple[Any, ...]) -> list[Any]:
    return [pytest.param(op, id=op.operation_id) for op in ops]


def config_of(caller: Caller, key: Any) -> dict[str, Any]:
    data = caller.data("getLeaderConfig", key)
    assert isinstance(data, dict)
    return data


def config(caller: Caller) -> dict[str, Any]:
    return config_of(caller, LEADER)


def base_update(caller: Caller) -> dict[str, Any]:
    """The stored config as an update body (converted, contract reading)."""
    return update_from_config(config(caller))


def put(caller: Caller, body: Any, key: Any = LEADER) -> Answer:
    return caller.call("updateLeaderConfig", key, body=body)


def assert_refused_write(
    caller: Caller, send: Callable[[], Answer], code: ErrorCode, name: str | None = None
) -> Answer:
    """A refused write: the documented row, and nothing changed (digest and read-back)."""
    digest, stored = caller.digest(), config(caller)
    followers = caller.data("listFollowers", query={"size": 1000})
    answer = send()
    refused(answer, code, name)
    assert caller.digest() == digest, "a refused write changed the state"
    assert config(caller) == stored
    assert caller.data("listFollowers", query={"size": 1000}) == followers
    return answer


def leaders_of(caller: Caller, key: Any) -> set[int]:
    """The leader IDs a follower's GET /follower/leaders shows."""
    return {int(row["leaderUserId"]) for row in caller.data("listLeaders", key)}


def seed_precondition(condition: bool, what: str) -> None:
    assert condition, f"the default seed does not give what this test needs: {what}"


# ==== 1. reads: shape, keys, parameters ================================================
def test_the_leader_keys_sign_for_the_demo_leader() -> None:
    """leader.md: LEADER_ID is the leader the demo follower follows."""
    assert LEADER_ID == DEMO_LEADER_ID


@pytest.mark.parametrize("op", op_ids(LEADER_READS))
def test_read_answers_its_generated_model(ex: Exchange, op: Any) -> None:
    data = ex.data(op.operation_id)
    assert data is not None


@pytest.mark.parametrize("op", op_ids(LEADER_READS))
def test_read_with_the_examples_parameters(ex: Exchange, op: Any) -> None:
    """The page's example requests (`?page=1&size=10`, `?type=30`) are answered."""
    ok(ex.call(op.operation_id, **example_request(op)))


@pytest.mark.parametrize("op", op_ids(LEADER_READS))
def test_read_only_leader_key_reads_the_same(ex: Exchange, op: Any) -> None:
    """The page: "Query endpoints support read-only API Keys"."""
    assert ex.data(op.operation_id, LEADER_READ_ONLY) == ex.data(op.operation_id)


@pytest.mark.parametrize("op", op_ids(LEADER_READS))
def test_read_refuses_an_undeclared_parameter(ex: Exchange, op: Any) -> None:
    """Marker unknown-parameter-refused: UNKNOWN_PARAM on reads too."""
    refused(ex.call(op.operation_id, query={"leaderUserId": LEADER_ID}), ErrorCode.UNKNOWN_PARAM)


@pytest.mark.parametrize("window", [0, 60001, "abc"])
@pytest.mark.parametrize("op", op_ids(LEADER_OPS))
def test_recv_window_out_of_range_is_invalid(ex: Exchange, op: Any, window: Any) -> None:
    """Every leader operation, Query Leader Config included (marker
    leader-config-query-invalid-parameter), answers INVALID_PARAMETER naming recvWindow."""
    request = example_request(op)
    request["query"] = {**request["query"], "recvWindow": window}
    digest = ex.digest()
    refused(ex.call(op.operation_id, **request), ErrorCode.INVALID_PARAMETER, "recvWindow")
    assert ex.digest() == digest


def test_a_read_with_the_largest_recv_window_is_answered(ex: Exchange) -> None:
    ok(ex.call("getLeaderConfig", query={"recvWindow": 60000}))


def test_current_lead_orders_are_newest_first(ex: Exchange) -> None:
    """Marker leader-lists-newest-first: by open time."""
    rows = ex.data("listCurrentLeadOrders")
    times = [int(row["openTime"]) for row in rows]
    assert times == sorted(times, reverse=True)
    assert all(row["isLong"] in (0, 1) and row["positionType"] in (0, 1) for row in rows)


def test_profit_sharing_is_at_most_100_newest_first(ex: Exchange) -> None:
    """Marker profit-sharing-latest-100: at most 100 records, newest first."""
    rows = ex.data("listProfitSharingHistory")
    assert len(rows) <= 100
    keys = [(row["year"], row["weekOfYear"]) for row in rows]
    assert keys == sorted(keys, reverse=True)


def test_config_query_returns_exactly_the_update_fields(ex: Exchange) -> None:
    """The page: "Returned fields match the fields that can be submitted": no identity,
    nickname, avatar, level or statistics."""
    data = config(ex)
    assert set(data) <= set(UPDATE_FIELDS), set(data) - set(UPDATE_FIELDS)
    assert set(SCHEMAS["LeaderConfig"]["required"]) <= set(data)


def test_symbols_mark_exactly_the_config_symbols_as_led(ex: Exchange) -> None:
    """Marker leader-symbols-are-the-available-pairs: isLead is 1 exactly for the pairs of
    the config's symbolIds, which are all available pairs."""
    rows = ex.data("listLeaderSymbols")
    available = {row["symbolId"] for row in rows}
    led = {row["symbolId"] for row in rows if row["isLead"] == 1}
    assert set(config(ex)["symbolIds"]) == led
    assert led <= available
    assert all(row["isLead"] in (0, 1) for row in rows)


# ==== 2. paging: listHistoryLeadOrders and listFollowers ===============================
@pytest.mark.parametrize("op", op_ids(PAGED_READS))
def test_paging_defaults_are_page_1_size_10(ex: Exchange, op: Any) -> None:
    default = ex.data(op.operation_id)
    assert ex.data(op.operation_id, query={"page": 1}) == default
    assert ex.data(op.operation_id, query={"size": 10}) == default
    assert ex.data(op.operation_id, query={"page": 1, "size": 10}) == default
    total = int(default["total"])
    assert len(default["list"]) == min(total, 10)
    assert int(default["pages"]) == ceil_div(total, 10)


BAD_PAGING = ["0", "-1", "abc", "1.5", "1e3", str(INT64_MAX + 1)]


@pytest.mark.parametrize("value", BAD_PAGING)
@pytest.mark.parametrize("name", ["page", "size"])
@pytest.mark.parametrize("op", op_ids(PAGED_READS))
def test_paging_out_of_range_is_invalid(ex: Exchange, op: Any, name: str, value: str) -> None:
    """Rule 1, INVALID_PARAMETER for an invalid page or size: page and size start from 1 (marker
    leader-page-size-range for size), both are 64-bit integers."""
    refused(ex.call(op.operation_id, query={name: value}), ErrorCode.INVALID_PARAMETER, name)


@pytest.mark.parametrize("size", [11, 100, 101, 1000, INT64_MAX])
@pytest.mark.parametrize("op", op_ids(PAGED_READS))
def test_size_has_no_maximum(ex: Exchange, op: Any, size: int) -> None:
    """Marker leader-page-size-range: no maximum (the follower side's 100 does not apply)."""
    data = ex.data(op.operation_id, query={"size": size})
    total = int(data["total"])
    assert len(data["list"]) == total
    assert int(data["pages"]) == ceil_div(total, size)


@pytest.mark.parametrize("op", op_ids(PAGED_READS))
def test_pages_cover_the_list_once_in_a_stable_order(two_followers: Exchange, op: Any) -> None:
    whole = two_followers.data(op.operation_id, query={"size": 1000})
    total = int(whole["total"])
    assert total >= 1
    for size in (1, 2, 3):
        rows: list[Any] = []
        pages = ceil_div(total, size)
        for page in range(1, pages + 1):
            data = two_followers.data(op.operation_id, query={"page": page, "size": size})
            assert int(data["total"]) == total and int(data["pages"]) == pages
            assert len(data["list"]) == min(size, total - (page - 1) * size)
            rows.extend(data["list"])
        assert rows == whole["list"]
        past = two_followers.data(op.operation_id, query={"page": pages + 1, "size": size})
        assert past["list"] == [] and int(past["total"]) == total


def test_history_lead_orders_are_newest_first(ex: Exchange) -> None:
    """Marker leader-lists-newest-first: by close time."""
    rows = ex.data("listHistoryLeadOrders", query={"size": 1000})["list"]
    times = [int(row["closeTime"]) for row in rows]
    assert times == sorted(times, reverse=True)
    # rules 2 and 3: the seeded rows use the listed values
    assert all(row["status"] in (1, 2) and row["positionType"] in (0, 1) for row in rows)


def test_followers_are_newest_first(two_followers: Exchange) -> None:
    """Marker leader-lists-newest-first: by when they started following, so the running
    durations grow down the list."""
    rows = two_followers.data("listFollowers", query={"size": 1000})["list"]
    assert len(rows) == 2
    mills = [int(row["followRunningMills"]) for row in rows]
    assert mills[0] < mills[1]
    assert rows[0]["followAmountLimit"] == "777", "the newer relation comes first"


def test_followers_are_the_stored_follow_relations(two_followers: Exchange) -> None:
    """The leader's followers are the follow relations (issue 19): the demo follower and
    the second one, each row's followAmountLimit its investment (marker
    follower-row-figures), the nickname masked, no user ID (follower-user-id-not-listed)."""
    rows = two_followers.data("listFollowers", query={"size": 1000})["list"]
    demo_invest = two_followers.data(
        "getFollowConfig", FOLLOWER, query={"leaderUserId": LEADER_ID}
    )["investAmount"]
    assert sorted(Decimal(row["followAmountLimit"]) for row in rows) == sorted(
        [Decimal(demo_invest), Decimal("777")]
    )
    for row in rows:
        assert "followerUserId" not in row
        nickname = row.get("followerNickname")
        assert nickname is None or "*" in nickname


def test_paged_example_query_on_the_followers(ex: Exchange) -> None:
    """The seeded demo follower is listed on the first page."""
    data = ex.data("listFollowers", query={"page": 1, "size": 10})
    assert int(data["total"]) >= 1 and data["list"]


# ==== 3. trade data ====================================================================
def test_trade_data_type_defaults_to_7(ex: Exchange) -> None:
    assert ex.data("getTradeData") == ex.data("getTradeData", query={"type": 7})


@pytest.mark.parametrize("period", SCHEMAS["TradeDataPeriod"]["enum"])
def test_trade_data_has_one_item_per_period(ex: Exchange, period: int) -> None:
    """Marker trade-data-one-item."""
    assert len(ex.data("getTradeData", query={"type": period})) == 1


@pytest.mark.parametrize("period", ["0", "1", "8", "31", "-7", "366", "abc", "7.5", "07x"])
def test_trade_data_other_type_is_invalid(ex: Exchange, period: str) -> None:
    """Rule 1: INVALID_PARAMETER naming `type` ("Data sent for paramter 'type' is not valid.")."""
    refused(ex.call("getTradeData", query={"type": period}), ErrorCode.INVALID_PARAMETER, "type")


# ==== 4. updateLeaderConfig: success and read-back ====================================
def test_the_pages_update_example_reads_back_as_the_query_example(ex: Exchange) -> None:
    """The page's PUT example succeeds, and the query then answers the page's GET example
    (the same settings, the timestamps as strings)."""
    assert ok(put(ex, request_example("updateLeaderConfig"))) is None
    expected = response_example("getLeaderConfig")["data"]
    got = config(ex)
    for name in TIMESTAMPS:
        assert int(got.pop(name)) == int(expected.pop(name))
    assert got == expected


def test_update_stores_every_field_as_sent(ex: Exchange) -> None:
    body = base_update(ex)
    body.update(
        unLeadType=1,
        unLeadStartTime=1717300000000,
        unLeadEndTime=1717400000000,
        tradeProtect=7,
        inviteScope=-3,
        profitPeriod=1 if body["profitPeriod"] == 7 else 7,
        profitRate="0.08",
        recommendShare=0,
        recommendShareRate="0.3",
        isNeedInvite=1,
        inviteCode="NEWCODE7",
    )
    assert ok(put(ex, body)) is None
    got = config(ex)
    for name, sent in body.items():
        if name in TIMESTAMPS:
            assert int(got[name]) == sent, name
        else:
            assert got[name] == sent, name


@pytest.mark.parametrize("field", ["tradeProtect", "inviteScope", "isNeedInvite", "recommendShare"])
@pytest.mark.parametrize("value", [-(2**31), 0, 2, 99, INT32_MAX])
def test_undocumented_settings_take_any_int32(ex: Exchange, field: str, value: int) -> None:
    """Markers trade-protect-values, invite-scope-values, is-need-invite-values,
    recommend-share-values: any 32-bit integer, stored and returned as sent."""
    body = base_update(ex)
    body[field] = value
    if field == "recommendShare":
        body["recommendShareRate"] = "0.2"
    if field == "isNeedInvite":
        body.pop("inviteCode", None)
    ok(put(ex, body))  # the demo leader has no custom ratio: it may go public (rule 6)
    assert config(ex)[field] == value


# ---- leader-config-round-trip-types ----------------------------------------------------
def test_round_trip_types_converted_answer_is_accepted(ex: Exchange) -> None:
    """Marker leader-config-round-trip-types: the query's answer, converted (timestamps
    as integers), is a valid update, and sending it changes no setting."""
    before = config(ex)
    assert ok(put(ex, update_from_config(before))) is None
    assert config(ex) == before


@pytest.mark.parametrize("field", TIMESTAMPS)
def test_round_trip_types_timestamp_as_string_is_refused(ex: Exchange, field: str) -> None:
    """Marker leader-config-round-trip-types: the update takes the timestamps as JSON
    integers only; the query's string form is a malformed field
    (MANDATORY_PARAM_EMPTY_OR_MALFORMED naming it)."""
    body = base_update(ex)
    body.update(unLeadType=1, unLeadStartTime=1717200000000, unLeadEndTime=1717286400000)
    body[field] = str(body[field])
    assert_refused_write(
        ex, lambda: put(ex, body), ErrorCode.MANDATORY_PARAM_EMPTY_OR_MALFORMED, field
    )


def test_round_trip_types_unconverted_answer_is_refused(ex: Exchange) -> None:
    """The query's answer sent back as is (string timestamps) is refused as malformed."""
    stored = config(ex)
    body = {k: v for k, v in stored.items() if v is not None and v != ""}
    assert isinstance(body["unLeadStartTime"], str) or isinstance(body["unLeadEndTime"], str)
    answer = assert_refused_write(
        ex, lambda: put(ex, body), ErrorCode.MANDATORY_PARAM_EMPTY_OR_MALFORMED
    )
    assert "unLeadStartTime" in answer.msg or "unLeadEndTime" in answer.msg


# ---- rule 1: read-only key; signing ----------------------------------------------------
def test_rule_1_read_only_key_is_refused(ex: Exchange) -> None:
    body = base_update(ex)
    body["profitRate"] = "0.05"
    assert_refused_write(ex, lambda: put(ex, body, LEADER_READ_ONLY), ErrorCode.NOT_SUPPORTED)


def test_rule_1_read_only_key_is_refused_before_validation(ex: Exchange) -> None:
    """Marker read-only-before-validation: an invalid body still gets NOT_SUPPORTED."""
    assert_refused_write(
        ex, lambda: put(ex, {"unLeadType": 9}, LEADER_READ_ONLY), ErrorCode.NOT_SUPPORTED
    )


def test_the_body_is_signed(ex: Exchange) -> None:
    """Marker leader-signing-as-follower: a PUT's body is part of the signed message."""
    body = base_update(ex)
    body["profitRate"] = "0.05"
    assert_refused_write(
        ex,
        lambda: ex.call("updateLeaderConfig", body=body, sign_body=False),
        ErrorCode.INVALID_SIGNATURE,
    )


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded"])
def test_the_body_is_sent_as_json(ex: Exchange, content_type: str) -> None:
    """Marker put-content-type-json: another Content-Type is INVALID_PARAMETER naming it."""
    body = dict(base_update(ex), profitRate="0.05")
    assert_refused_write(
        ex,
        lambda: ex.call("updateLeaderConfig", body=body, content_type=content_type),
        ErrorCode.INVALID_PARAMETER,
        "Content-Type",
    )
    ok(ex.call("updateLeaderConfig", body=body, content_type="application/json; charset=utf-8"))
    assert config(ex)["profitRate"] == "0.05"


# ---- rule 2: missing or malformed, undeclared, out of range or format ---------------
@pytest.mark.parametrize("field", UPDATE_REQUIRED)
def test_rule_2_missing_field(ex: Exchange, field: str) -> None:
    body = base_update(ex)
    body.pop(field)
    assert_refused_write(
        ex, lambda: put(ex, body), ErrorCode.MANDATORY_PARAM_EMPTY_OR_MALFORMED, field
    )


@pytest.mark.parametrize("field", UPDATE_REQUIRED)
def test_rule_2_null_field(ex: Exchange, field: str) -> None:
    body = base_update(ex)
    body[field] = None
    assert_refused_write(
        ex, lambda: put(ex, body), ErrorCode.MANDATORY_PARAM_EMPTY_OR_MALFORMED, field
    )


MALFORMED: list[tuple[str, Any]] = [
    ("profitRate", 0.1),  # request-decimal-plain-string: decimals are JSON strings
    ("profitRate", ""),
    ("followAssetLowerLimit", 100),
    ("fixedAmountFollowMin", True),
    ("recommendShareRate", 0.2),
    ("unLeadType", "1"),
    ("leadPositionType", True),
    ("profitPeriod", "7"),
    ("tradeProtect", "1"),
    ("isNeedInvite", 1.5),
    ("symbolIds", "BTC-SWAP-USDT"),
    ("symbolIds", {"0": "BTC-SWAP-USDT"}),
    ("inviteCode", 123456),
]


@pytest.mark.parametrize(("field", "value"), MALFORMED)
def test_rule_2_wrong_json_type(ex: Exchange, field: str, value: Any) -> None:
    body = base_update(ex)
    body[field] = value
    if field == "inviteCode":
        body["isNeedInvite"] = 1
    assert_refused_write(
        ex, lambda: put(ex, body), ErrorCode.MANDATORY_PARAM_EMPTY_OR_MALFORMED, field
    )


def test_rule_2_symbol_id_of_wrong_type(ex: Exchange) -> None:
    body = base_update(ex)
    body["symbolIds"] = [1]
    digest = ex.digest()
    refused_naming(put(ex, body), ErrorCode.MANDATORY_PARAM_EMPTY_OR_MALFORMED, "symbolIds")
    assert ex.digest() == digest


@pytest.mark.parametrize("raw", [b"", b"[]", b"{", b'{"unLeadType":1', b"null"])
def test_rule_2_body_not_a_json_object(ex: Exchange, raw: bytes) -> None:
    assert_refused_write(
        ex,
        lambda: ex.call("updateLeaderConfig", raw_body=raw),
        ErrorCode.MANDATORY_PARAM_EMPTY_OR_MALFORMED,
        "body",
    )


@pytest.mark.parametrize("field", ["leaderUserId", "nickname", "level", "unleadType"])
def test_rule_2_undeclared_field(ex: Exchange, field: str) -> None:
    """Marker unknown-parameter-refused: a body field the schema does not declare."""
    body = base_update(ex)
    body[field] = 1
    assert_refused_write(ex, lambda: put(ex, body), ErrorCode.UNKNOWN_PARAM)


OUT_OF_RANGE: list[tuple[str, Any]] = [
    ("unLeadType", 2),
    ("unLeadType", -1),
    ("leadPositionType", 2),
    ("leadPositionType", -2),
    ("tradeProtect", INT32_MAX + 1),
    ("inviteScope", -(2**31) - 1),
    ("isNeedInvite", 2**40),
    ("recommendShare", INT32_MAX + 1),
    ("unLeadEndTime", INT64_MAX + 1),
    ("unLeadStartTime", -(2**63) - 1),
    # leader-config-decimal-format: at most 8 places, not negative, plain notation
    ("profitRate", "-0.1"),
    ("profitRate", "0.123456789"),
    ("profitRate", "1e-1"),
    ("profitRate", "abc"),
    ("followAssetLowerLimit", "-1"),
    ("followAssetLowerLimit", "1,5"),
    ("fixedAmountFollowMin", "1.000000001"),
    ("fixedAmountFollowMin", " 10"),
    ("fixedRateFollowMin", "-5"),
    ("fixedRateFollowMin", "+5"),
    ("recommendShareRate", "0.123456789"),
    ("recommendShareRate", "-0.2"),
]


@pytest.mark.parametrize(("field", "value"), OUT_OF_RANGE)
def test_rule_2_value_out_of_range_or_format(ex: Exchange, field: str, value: Any) -> None:
    body = base_update(ex)
    body[field] = value
    if field == "recommendShareRate":
        body["recommendShare"] = 0  # the format alone is at stake (rule 9)
    assert_refused_write(ex, lambda: put(ex, body), ErrorCode.INVALID_PARAMETER, field)


@pytest.mark.parametrize(
    "symbols",
    [[""], ["  "], ["BTC-SWAP-USDT,ETH-SWAP-USDT"], ["NOT-A-LEADER-PAIR"]],
    ids=["empty", "blank", "comma", "not-available"],
)
def test_rule_7_symbol_ids_invalid_item(ex: Exchange, symbols: list[str]) -> None:
    """SymbolId's pattern; marker leader-symbol-ids-list: a pair that is not one of the
    leader's available pairs is INVALID_PARAMETER."""
    body = base_update(ex)
    body["symbolIds"] = [*body["symbolIds"], *symbols]
    digest = ex.digest()
    refused_naming(put(ex, body), ErrorCode.INVALID_PARAMETER, "symbolIds")
    assert ex.digest() == digest


# ---- rule 3: the cool-down ------------------------------------------------------------
COOL_DOWN_INVALID: list[tuple[str, dict[str, Any]]] = [
    ("end-missing", {"unLeadStartTime": 1717200000000}),
    ("both-missing", {}),
    ("end-zero", {"unLeadStartTime": 1717200000000, "unLeadEndTime": 0}),
    ("both-zero", {"unLeadStartTime": 0, "unLeadEndTime": 0}),
    ("end-before-start", {"unLeadStartTime": 1717286400000, "unLeadEndTime": 1717200000000}),
    ("end-one-ms-early", {"unLeadStartTime": 1717286400001, "unLeadEndTime": 1717286400000}),
]


@pytest.mark.parametrize(
    "times", [c[1] for c in COOL_DOWN_INVALID], ids=[c[0] for c in COOL_DOWN_INVALID]
)
def test_rule_3_cool_down_window_invalid(ex: Exchange, times: dict[str, Any]) -> None:
    """Rule 3 and marker cool-down-window-rule: a missing end is COOL_DOWN_INVALID too."""
    body = {k: v for k, v in base_update(ex).items() if k not in TIMESTAMPS}
    body.update(unLeadType=1, **times)
    assert_refused_write(ex, lambda: put(ex, body), ErrorCode.COOL_DOWN_INVALID)


COOL_DOWN_VALID: list[tuple[str, dict[str, Any], tuple[int, int]]] = [
    ("one-day", {"unLeadStartTime": 1717200000000, "unLeadEndTime": 1717286400000},
     (1717200000000, 1717286400000)),
    ("end-equals-start", {"unLeadStartTime": 1717286400000, "unLeadEndTime": 1717286400000},
     (1717286400000, 1717286400000)),
    ("start-missing-counts-0", {"unLeadEndTime": 1717286400000}, (0, 1717286400000)),
    ("in-the-past", {"unLeadStartTime": 1000, "unLeadEndTime": 2000}, (1000, 2000)),
    ("far-future", {"unLeadStartTime": 4102444800000, "unLeadEndTime": INT64_MAX},
     (4102444800000, INT64_MAX)),
]  # fmt: skip


@pytest.mark.parametrize(
    ("times", "stored"), [c[1:] for c in COOL_DOWN_VALID], ids=[c[0] for c in COOL_DOWN_VALID]
)
def test_rule_3_cool_down_window_valid(
    ex: Exchange, times: dict[str, Any], stored: tuple[int, int]
) -> None:
    """Rule 3, marker cool-down-window-rule: a missing start counts as 0; neither time is
    compared with the current time."""
    body = {k: v for k, v in base_update(ex).items() if k not in TIMESTAMPS}
    body.update(unLeadType=1, **times)
    ok(put(ex, body))
    got = config(ex)
    assert got["unLeadType"] == 1
    assert (int(got["unLeadStartTime"]), int(got["unLeadEndTime"])) == stored


@pytest.mark.parametrize(
    "times",
    [
        {"unLeadStartTime": 1717200000000, "unLeadEndTime": 1717286400000},
        {"unLeadStartTime": 1717286400000, "unLeadEndTime": 5},
        {"unLeadEndTime": 0},
        {},
    ],
    ids=["window", "end-before-start", "end-zero", "none"],
)
def test_rule_3_no_cool_down_resets_both_times_to_0(ex: Exchange, times: dict[str, Any]) -> None:
    """Rule 3: with unLeadType=0 the server resets both timestamps to 0, whatever was sent
    (marker cool-down-reset-reads-zero: they read "0")."""
    body = {k: v for k, v in base_update(ex).items() if k not in TIMESTAMPS}
    body.update(unLeadType=0, **times)
    ok(put(ex, body))
    got = config(ex)
    assert got["unLeadType"] == 0
    assert got["unLeadStartTime"] == "0" and got["unLeadEndTime"] == "0"


# ---- rule 4: profitPeriod -----------------------------------------------------------
@pytest.mark.parametrize("period", [0, 2, 3, 14, 30, -7])
def test_rule_4_profit_period_other_than_1_or_7(ex: Exchange, period: int) -> None:
    body = base_update(ex)
    body["profitPeriod"] = period
    assert_refused_write(ex, lambda: put(ex, body), ErrorCode.INVALID_PARAMETER, "profitPeriod")


@pytest.mark.parametrize("period", SCHEMAS["ProfitPeriod"]["enum"])
def test_rule_4_profit_period_1_and_7(ex: Exchange, period: int) -> None:
    body = base_update(ex)
    body["profitPeriod"] = period
    ok(put(ex, body))
    assert config(ex)["profitPeriod"] == period


# ---- rule 5: the level's limits -------------------------------------------------------
@pytest.mark.parametrize("rate", ["5", "1.5", "100"])
def test_rule_5_profit_rate_beyond_any_level(ex: Exchange, rate: str) -> None:
    """A profit-sharing rate above 100 % breaks every level's limits; marker
    leader-config-limit-code: LEADER_CONFIG_INVALID (the format is valid, so not
    INVALID_PARAMETER)."""
    body = base_update(ex)
    body["profitRate"] = rate
    assert_refused_write(ex, lambda: put(ex, body), ErrorCode.LEADER_CONFIG_INVALID)


# ---- rule 7: symbolIds is the full list ---------------------------------------------
def _pairs(caller: Caller) -> tuple[set[str], set[str], set[str]]:
    """(available pairs, led pairs, pairs with current lead orders)."""
    rows = caller.data("listLeaderSymbols")
    available = {row["symbolId"] for row in rows}
    led = {row["symbolId"] for row in rows if row["isLead"] == 1}
    active = {row["symbolId"] for row in caller.data("listCurrentLeadOrders")}
    return available, led, active


def test_rule_7_a_pair_left_out_is_disabled_then_enabled_again(ex: Exchange) -> None:
    available, led, active = _pairs(ex)
    idle = sorted(led - active)
    seed_precondition(bool(idle), "a led pair without current lead orders")
    body = base_update(ex)
    body["symbolIds"] = sorted(led - {idle[0]})
    ok(put(ex, body))
    after_available, after_led, _ = _pairs(ex)
    assert after_available == available, "disabling a pair does not make it unavailable"
    assert after_led == led - {idle[0]}
    assert set(config(ex)["symbolIds"]) == after_led
    body["symbolIds"] = sorted(led)
    ok(put(ex, body))
    assert _pairs(ex)[1] == led


def test_rule_7_an_available_pair_can_be_enabled(ex: Exchange) -> None:
    available = _pairs(ex)[0]
    body = base_update(ex)
    body["symbolIds"] = sorted(available)
    ok(put(ex, body))
    assert _pairs(ex)[1] == available
    assert set(config(ex)["symbolIds"]) == available


def test_rule_7_a_repeated_pair_counts_once(ex: Exchange) -> None:
    """Marker leader-symbol-ids-list."""
    _, led, _ = _pairs(ex)
    seed_precondition(bool(led), "a led pair")
    body = base_update(ex)
    body["symbolIds"] = sorted(led) + sorted(led)
    ok(put(ex, body))
    assert _pairs(ex)[1] == led
    assert set(config(ex)["symbolIds"]) == led


def test_rule_7_a_pair_with_active_lead_orders_cannot_be_disabled(ex: Exchange) -> None:
    _, led, active = _pairs(ex)
    seed_precondition(bool(active), "a current lead order")
    body = base_update(ex)
    body["symbolIds"] = sorted(led - {sorted(active)[0]})
    assert_refused_write(ex, lambda: put(ex, body), ErrorCode.SYMBOL_CHANGE_NOT_ALLOWED)


def test_rule_7_empty_list_with_active_lead_orders_is_refused(ex: Exchange) -> None:
    """Marker leader-symbol-ids-list: an empty list disables every pair, which a pair
    with active lead orders refuses."""
    seed_precondition(bool(_pairs(ex)[2]), "a current lead order")
    body = base_update(ex)
    body["symbolIds"] = []
    assert_refused_write(ex, lambda: put(ex, body), ErrorCode.SYMBOL_CHANGE_NOT_ALLOWED)


def test_rule_7_the_pairs_with_lead_orders_alone_are_accepted(ex: Exchange) -> None:
    _, _, active = _pairs(ex)
    body = base_update(ex)
    body["symbolIds"] = sorted(active)
    ok(put(ex, body))
    assert _pairs(ex)[1] == active


# ---- rule 8: leadPositionType ---------------------------------------------------------
def test_rule_8_position_type_frozen_while_lead_orders_are_open(ex: Exchange) -> None:
    """Marker lead-position-type-frozen-while-positions-open: any change is
    POSITION_TYPE_CHANGE_NOT_ALLOWED while the leader has a current lead order."""
    seed_precondition(bool(ex.data("listCurrentLeadOrders")), "a current lead order")
    body = base_update(ex)
    for other in SCHEMAS["LeadPositionType"]["enum"]:
        if other == body["leadPositionType"]:
            continue
        changed = dict(body, leadPositionType=other)
        assert_refused_write(
            ex, lambda b=changed: put(ex, b), ErrorCode.POSITION_TYPE_CHANGE_NOT_ALLOWED
        )


def test_rule_8_the_stored_position_type_is_always_accepted(ex: Exchange) -> None:
    body = base_update(ex)
    ok(put(ex, body))
    assert config(ex)["leadPositionType"] == body["leadPositionType"]


# ---- rule 9: referral sharing -----------------------------------------------------------
@pytest.mark.parametrize("rate", ["0", "0.00000000", "1.00000001", "2", None])
def test_rule_9_switch_on_needs_a_rate_in_0_1(ex: Exchange, rate: str | None) -> None:
    """Marker recommend-share-rate-rule: a missing rate counts as 0."""
    body = base_update(ex)
    body["recommendShare"] = 1
    body.pop("recommendShareRate", None)
    if rate is not None:
        body["recommendShareRate"] = rate
    assert_refused_write(ex, lambda: put(ex, body), ErrorCode.LEADER_CONFIG_INVALID)


@pytest.mark.parametrize("rate", ["0.00000001", "0.2", "1", "1.00000000"])
def test_rule_9_switch_on_with_a_rate_in_0_1(ex: Exchange, rate: str) -> None:
    body = dict(base_update(ex), recommendShare=1, recommendShareRate=rate)
    ok(put(ex, body))
    got = config(ex)
    assert got["recommendShare"] == 1 and got["recommendShareRate"] == rate


@pytest.mark.parametrize("switch", [0, 2, -1])
def test_rule_9_switch_off_checks_the_rate_format_only(ex: Exchange, switch: int) -> None:
    """Markers recommend-share-rate-rule and recommend-share-values: any value but 1 is
    off; the rate is then stored after a format check."""
    body = dict(base_update(ex), recommendShare=switch, recommendShareRate="7")
    ok(put(ex, body))
    got = config(ex)
    assert got["recommendShare"] == switch and got["recommendShareRate"] == "7"


def test_rule_9_switch_left_out_is_kept(ex: Exchange) -> None:
    for switch in (1, 0):
        ok(put(ex, dict(base_update(ex), recommendShare=switch, recommendShareRate="0.2")))
        body = base_update(ex)
        body.pop("recommendShare")
        body["recommendShareRate"] = "0.4"
        ok(put(ex, body))
        got = config(ex)
        assert got["recommendShare"] == switch and got["recommendShareRate"] == "0.4"


def test_rule_9_switch_left_out_while_on_still_needs_a_rate(ex: Exchange) -> None:
    """Marker recommend-share-rate-rule: the range applies when the switch is on after the
    update, also when it is left out while stored as 1."""
    ok(put(ex, dict(base_update(ex), recommendShare=1, recommendShareRate="0.2")))
    body = base_update(ex)
    body.pop("recommendShare")
    body["recommendShareRate"] = "0"
    assert_refused_write(ex, lambda: put(ex, body), ErrorCode.LEADER_CONFIG_INVALID)
    body.pop("recommendShareRate")
    assert_refused_write(ex, lambda: put(ex, body), ErrorCode.LEADER_CONFIG_INVALID)


def test_rule_9_switch_left_out_while_off_takes_any_rate(ex: Exchange) -> None:
    ok(put(ex, dict(base_update(ex), recommendShare=0, recommendShareRate="0.2")))
    body = base_update(ex)
    body.pop("recommendShare")
    body["recommendShareRate"] = "0"
    ok(put(ex, body))
    got = config(ex)
    assert got["recommendShare"] == 0 and Decimal(got["recommendShareRate"]) == 0


# ---- rule 10: the invitation code -----------------------------------------------------
@pytest.mark.parametrize(
    "code",
    ["ABCDE", "ABCDEFGHIJK", "", "ABC中文DEF", "LEAD\u3400RX", "\U00020000ABCDEF", "领袖领袖领袖"],
    ids=["5-chars", "11-chars", "empty", "cjk", "cjk-ext-a", "cjk-ext-b", "all-cjk"],
)
def test_rule_10_invite_code_invalid(ex: Exchange, code: str) -> None:
    """Rule 10, marker invite-code-rule: 6 to 10 code points, no CJK ideographs."""
    body = dict(base_update(ex), isNeedInvite=1, inviteCode=code)
    if code == "":
        # blank: a malformed field, or a code of the wrong length
        digest = ex.digest()
        answer = put(ex, body)
        assert answer.code in (
            ErrorCode.MANDATORY_PARAM_EMPTY_OR_MALFORMED,
            ErrorCode.INVITE_CODE_INVALID,
        ), answer
        refused(answer, ErrorCode(answer.code))
        assert ex.digest() == digest
        return
    assert_refused_write(ex, lambda: put(ex, body), ErrorCode.INVITE_CODE_INVALID)


@pytest.mark.parametrize(
    "code",
    [
        "ABC123",
        "ABCDEFGHIJ",
        "Çödé12",
        "ÀÀÀÀÀÀÀÀÀÀ",
        "\uff21\uff22\uff23\uff24\uff25\uff26",
        "a-b_c.d",
    ],
    ids=["6-chars", "10-chars", "latin-6", "latin-10-code-points", "fullwidth", "punctuation"],
)
def test_rule_10_invite_code_valid(ex: Exchange, code: str) -> None:
    """Length counts code points (20 UTF-8 bytes are 10 characters); only CJK ideographs
    are "Chinese characters"."""
    ok(put(ex, dict(base_update(ex), isNeedInvite=1, inviteCode=code)))
    got = config(ex)
    assert got["isNeedInvite"] == 1 and got["inviteCode"] == code


def test_rule_10_private_without_code_keeps_the_stored_code(ex: Exchange) -> None:
    """Marker invite-code-rule: isNeedInvite=1 and no inviteCode keeps the stored code."""
    ok(put(ex, dict(base_update(ex), isNeedInvite=1, inviteCode="KEEPME1")))
    body = base_update(ex)
    body.pop("inviteCode")
    body["profitRate"] = "0.05"
    ok(put(ex, body))
    got = config(ex)
    assert got["inviteCode"] == "KEEPME1" and got["profitRate"] == "0.05"


@pytest.mark.parametrize("public", [0, 2])
def test_rule_10_code_ignored_unless_private(ex: Exchange, public: int) -> None:
    """Rule 10: inviteCode is processed only when isNeedInvite=1: an invalid code is
    neither checked nor stored (marker invite-code-rule)."""
    ok(put(ex, dict(base_update(ex), isNeedInvite=public, inviteCode="中")))
    got = config(ex)
    assert got["isNeedInvite"] == public
    assert got.get("inviteCode") != "中"


def test_rule_10_a_private_leader_may_send_its_own_code_again(ex: Exchange) -> None:
    """Uniqueness is against other leaders' codes: the leader's own code is not taken."""
    ok(put(ex, dict(base_update(ex), isNeedInvite=1, inviteCode="MINE2026")))
    ok(put(ex, dict(base_update(ex), isNeedInvite=1, inviteCode="MINE2026")))
    assert config(ex)["inviteCode"] == "MINE2026"


# ==== 5. removeFollower ================================================================
def test_remove_follower_ends_the_relation_on_both_sides(two_followers: Exchange) -> None:
    """Rule 4 and marker remove-follower-ends-relation: My Followers no longer lists it,
    the follower's GET /leaders no longer shows the leader, its follow config for the
    leader is gone; its other relation (K7) stays."""
    ex = two_followers
    before = ex.data("listFollowers", query={"size": 1000})
    assert "777" in {row["followAmountLimit"] for row in before["list"]}
    assert leaders_of(ex, SECOND_FOLLOWER) == {LEADER_ID, K7_ID}

    assert ok(ex.call("removeFollower", path={"followerUserId": SECOND_FOLLOWER_ID})) is None

    after = ex.data("listFollowers", query={"size": 1000})
    assert int(after["total"]) == int(before["total"]) - 1
    assert "777" not in {row["followAmountLimit"] for row in after["list"]}
    assert leaders_of(ex, SECOND_FOLLOWER) == {K7_ID}
    refused(
        ex.call("getFollowConfig", SECOND_FOLLOWER, query={"leaderUserId": LEADER_ID}),
        ErrorCode.FOLLOWER_NOT_FOUND,
    )
    ok(ex.call("getFollowConfig", SECOND_FOLLOWER, query={"leaderUserId": K7_ID}))
    assert leaders_of(ex, FOLLOWER) == {LEADER_ID}, "another follower's relation is untouched"
    # removed once: a second removal finds no relation
    assert_refused_write(
        ex,
        lambda: ex.call("removeFollower", path={"followerUserId": SECOND_FOLLOWER_ID}),
        ErrorCode.FOLLOWER_NOT_FOUND,
    )


def test_removed_follower_cannot_update_its_config(two_followers: Exchange) -> None:
    ex = two_followers
    ok(ex.call("removeFollower", path={"followerUserId": SECOND_FOLLOWER_ID}))
    refused(
        ex.call("updateFollowConfig", SECOND_FOLLOWER, body=request_example("updateFollowConfig")),
        ErrorCode.FOLLOWER_NOT_FOUND,
    )


def test_a_follower_cancelling_leaves_my_followers(two_followers: Exchange) -> None:
    """The other direction: the follower's Cancel Leader ends the relation the leader
    lists."""
    ex = two_followers
    total = int(ex.data("listFollowers")["total"])
    ok(ex.call("cancelLeader", SECOND_FOLLOWER, path={"leaderUserId": LEADER_ID}))
    after = ex.data("listFollowers", query={"size": 1000})
    assert int(after["total"]) == total - 1
    assert "777" not in {row["followAmountLimit"] for row in after["list"]}
    refused(
        ex.call("removeFollower", path={"followerUserId": SECOND_FOLLOWER_ID}),
        ErrorCode.FOLLOWER_NOT_FOUND,
    )


@pytest.mark.parametrize("user", ["0", "-1", "abc", "1.5", "1e3", str(INT64_MAX + 1)])
def test_remove_rule_1_invalid_follower_user_id(ex: Exchange, user: str) -> None:
    assert_refused_write(
        ex,
        lambda: ex.call("removeFollower", path={"followerUserId": user}),
        ErrorCode.INVALID_PARAMETER,
        "followerUserId",
    )


@pytest.mark.parametrize(
    "user",
    [NO_RELATION_ID, SECOND_FOLLOWER_ID, K7_ID, LEADER_ID, 999999999, INT64_MAX],
    ids=["follows-nobody", "follows-another-leader", "a-leader", "itself", "unknown", "max"],
)
def test_remove_rule_2_not_a_follower(ex: Exchange, user: int) -> None:
    assert_refused_write(
        ex,
        lambda: ex.call("removeFollower", path={"followerUserId": user}),
        ErrorCode.FOLLOWER_NOT_FOUND,
    )


def test_remove_rule_3_follower_with_copy_positions(ex: Exchange) -> None:
    """The demo follower holds an open copy position (the follower page's example)."""
    seed_precondition(bool(ex.data("listCurrentOrders", FOLLOWER)), "the demo follower's position")
    assert_refused_write(
        ex,
        lambda: ex.call("removeFollower", path={"followerUserId": DEMO_FOLLOWER_ID}),
        ErrorCode.FOLLOWER_HAS_POSITIONS,
    )
    assert leaders_of(ex, FOLLOWER) == {LEADER_ID}


def test_remove_rule_3_any_position_refuses() -> None:
    """Marker remove-refused-while-any-position-open: a position copied from another
    leader refuses the removal too."""
    ex = Exchange(seed_with_second_follower_of_leader("777", position_under_k7=True))
    try:
        assert_refused_write(
            ex,
            lambda: ex.call("removeFollower", path={"followerUserId": SECOND_FOLLOWER_ID}),
            ErrorCode.FOLLOWER_HAS_POSITIONS,
        )
        assert leaders_of(ex, SECOND_FOLLOWER) == {LEADER_ID, K7_ID}
    finally:
        ex.close()


@pytest.mark.parametrize("user", [str(SECOND_FOLLOWER_ID), "0", "abc"])
def test_remove_read_only_key_is_refused_first(two_followers: Exchange, user: str) -> None:
    """NOT_SUPPORTED for a read-only key, before the path is validated (marker
    read-only-before-validation)."""
    ex = two_followers
    assert_refused_write(
        ex,
        lambda: ex.call("removeFollower", LEADER_READ_ONLY, path={"followerUserId": user}),
        ErrorCode.NOT_SUPPORTED,
    )


def test_remove_example_request_is_answered(ex: Exchange) -> None:
    """The page's example DELETE (followerUserId 123456789, the leader's own ID here): no
    such follower."""
    request = example_request(next(op for op in LEADER_OPS if op.operation_id == "removeFollower"))
    assert_refused_write(
        ex, lambda: ex.call("removeFollower", **request), ErrorCode.FOLLOWER_NOT_FOUND
    )


# ==== 6. roles =========================================================================
def _not_a_leader_code(op: Any) -> ErrorCode:
    """Marker follower-key-on-leader-endpoint: LEADER_NOT_AVAILABLE where listed, else
    LEADER_NOT_FOUND."""
    if ErrorCode.LEADER_NOT_AVAILABLE in op.error_codes:
        return ErrorCode.LEADER_NOT_AVAILABLE
    return ErrorCode.LEADER_NOT_FOUND


@pytest.mark.parametrize("key", [FOLLOWER, NO_RELATION, SECOND_FOLLOWER], ids=repr)
@pytest.mark.parametrize("op", op_ids(LEADER_OPS))
def test_follower_key_on_a_leader_operation(ex: Exchange, op: Any, key: Any) -> None:
    """Marker follower-key-on-leader-endpoint; nothing changes."""
    expected = _not_a_leader_code(op)
    if op.operation_id == "removeFollower":
        assert expected == ErrorCode.LEADER_NOT_FOUND
    else:
        assert expected == ErrorCode.LEADER_NOT_AVAILABLE
    digest = ex.digest()
    refused(ex.call(op.operation_id, key, **example_request(op)), expected)
    assert ex.digest() == digest


@pytest.mark.parametrize("op", op_ids(LEADER_OPS))
def test_non_copy_trading_account_on_a_leader_operation(ex: Exchange, op: Any) -> None:
    """The page: "The API Key account type must be COPY_TRADING" (marker
    non-copy-trading-account-code)."""
    refused(ex.call(op.operation_id, STANDARD, **example_request(op)), ErrorCode.NO_PERMISSION)


def _missing_profit_rate() -> dict[str, Any]:
    body = request_example("updateLeaderConfig")
    body.pop("profitRate")
    return body


ROLE_AFTER_VALIDATION: list[tuple[str, dict[str, Any], ErrorCode, str]] = [
    ("listHistoryLeadOrders", {"query": {"page": 0}}, ErrorCode.INVALID_PARAMETER, "page"),
    ("listFollowers", {"query": {"size": "x"}}, ErrorCode.INVALID_PARAMETER, "size"),
    ("getTradeData", {"query": {"type": 8}}, ErrorCode.INVALID_PARAMETER, "type"),
    ("getTradeData", {"query": {"type": "x"}}, ErrorCode.INVALID_PARAMETER, "type"),
    ("removeFollower", {"path": {"followerUserId": 0}}, ErrorCode.INVALID_PARAMETER,
     "followerUserId"),
    ("updateLeaderConfig", {"body": _missing_profit_rate()},
     ErrorCode.MANDATORY_PARAM_EMPTY_OR_MALFORMED, "profitRate"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("op_id", "sent", "code", "name"),
    ROLE_AFTER_VALIDATION,
    ids=[f"{c[0]}-{c[3]}-{i}" for i, c in enumerate(ROLE_AFTER_VALIDATION)],
)
def test_follower_key_role_check_comes_after_validation(
    ex: Exchange, op_id: str, sent: dict[str, Any], code: ErrorCode, name: str
) -> None:
    """Marker leader-role-after-validation: a follower key with invalid parameters gets
    the validation error first."""
    refused(ex.call(op_id, FOLLOWER, **sent), code, name)


@pytest.mark.parametrize("op", op_ids(FOLLOWER_OPS))
def test_leader_key_on_a_follower_operation(ex: Exchange, op: Any) -> None:
    """Marker leader-key-on-follower-endpoint: FOLLOWER_NOT_FOUND, like any account without a follow
    relation; nothing changes."""
    digest = ex.digest()
    refused(ex.call(op.operation_id, LEADER, **example_request(op)), ErrorCode.FOLLOWER_NOT_FOUND)
    assert ex.digest() == digest


@pytest.mark.parametrize("op", op_ids(tuple(op for op in LEADER_OPS if op.write)))
def test_read_only_leader_key_on_each_write(ex: Exchange, op: Any) -> None:
    """The page: "Write endpoints do not support read-only API Keys": NOT_SUPPORTED."""
    request = example_request(op)
    if op.operation_id == "removeFollower":
        request["path"] = {"followerUserId": DEMO_FOLLOWER_ID}
    assert_refused_write(
        ex, lambda: ex.call(op.operation_id, LEADER_READ_ONLY, **request), ErrorCode.NOT_SUPPORTED
    )


# ==== 7. cross-side: the leader's minimums feed the follower's rules ==================
def _follow_body(caller: Caller, **fields: Any) -> dict[str, Any]:
    """The demo follower's update of its config for the leader: the page's example, with
    the stored leverage (frozen while its position is open)."""
    stored = caller.data("getFollowConfig", FOLLOWER, query={"leaderUserId": LEADER_ID})
    body = request_example("updateFollowConfig")
    body.update(leaderUserId=LEADER_ID, leverage=stored["leverage"], **fields)
    return body


def _leader_update(caller: Caller, **fields: str) -> None:
    ok(put(caller, dict(base_update(caller), **fields)))


def test_raising_fixed_amount_follow_min_refuses_a_smaller_single_place_amount(
    ex: Exchange,
) -> None:
    """Issue 19's cross-side test; marker leader-minimums-feed-follow-rules and the
    follower's rule 6 (INVALID_PARAMETER naming singlePlaceAmount, marker
    business-rule-refusal-code)."""
    leader = config(ex)
    base = max(Decimal(leader["fixedAmountFollowMin"]), Decimal(5))
    small, raised = base + 1, base + 2
    invest = plain(max(Decimal(leader["followAssetLowerLimit"]), Decimal(100), base + 50))

    def send(amount: Decimal) -> Answer:
        body = _follow_body(
            ex,
            followAmountMode=0,
            singlePlaceAmount=plain(amount),
            dailyMaxInvestAmount="0",
            investAmount=invest,
            realInvestAmount=invest,
        )
        return ex.call("updateFollowConfig", FOLLOWER, body=body)

    ok(send(small))  # accepted under the leader's minimum as seeded
    stored = ex.data("getFollowConfig", FOLLOWER, query={"leaderUserId": LEADER_ID})
    _leader_update(ex, fixedAmountFollowMin=plain(raised))
    # an update applies to later follow config updates, not to stored ones
    assert ex.data("getFollowConfig", FOLLOWER, query={"leaderUserId": LEADER_ID}) == stored
    digest = ex.digest()
    refused(send(small), ErrorCode.INVALID_PARAMETER, "singlePlaceAmount")
    assert ex.digest() == digest
    ok(send(raised))


def test_raising_fixed_rate_follow_min_refuses_a_smaller_real_investment(ex: Exchange) -> None:
    """Marker leader-minimums-feed-follow-rules: fixedRateFollowMin is the fixed-rate
    minimum investment of the follower's rule 7."""
    body = _follow_body(ex)  # the page's example: fixed rate, 100 invested, 5 reserved
    assert body["followAmountMode"] == 1
    ok(ex.call("updateFollowConfig", FOLLOWER, body=body))
    _leader_update(ex, fixedRateFollowMin="100")  # 100 < 5 reserved + 100 minimum
    digest = ex.digest()
    refused(
        ex.call("updateFollowConfig", FOLLOWER, body=body),
        ErrorCode.INVALID_PARAMETER,
        "realInvestAmount",
    )
    assert ex.digest() == digest
    body.update(investAmount="105", realInvestAmount="105")
    ok(ex.call("updateFollowConfig", FOLLOWER, body=body))


def test_raising_follow_asset_lower_limit_refuses_a_smaller_investment(ex: Exchange) -> None:
    """Marker leader-minimums-feed-follow-rules: followAssetLowerLimit is the minimum
    follow investment of the follower's rule 8 (fixed-amount mode)."""
    leader = config(ex)
    single = plain(max(Decimal(leader["fixedAmountFollowMin"]), Decimal(5)))
    low = max(Decimal(leader["followAssetLowerLimit"]), Decimal(100)) + 20
    body = _follow_body(
        ex,
        followAmountMode=0,
        singlePlaceAmount=single,
        dailyMaxInvestAmount="0",
        investAmount=plain(low),
        realInvestAmount=plain(low),
    )
    ok(ex.call("updateFollowConfig", FOLLOWER, body=body))
    _leader_update(ex, followAssetLowerLimit=plain(low + 30))
    digest = ex.digest()
    refused(
        ex.call("updateFollowConfig", FOLLOWER, body=body),
        ErrorCode.INVALID_PARAMETER,
        "investAmount",
    )
    assert ex.digest() == digest


def test_my_followers_shows_the_followers_investment(ex: Exchange) -> None:
    """Marker follower-row-figures: followAmountLimit is the follow config's investAmount,
    as the follower last stored it."""
    body = _follow_body(ex, investAmount="150", realInvestAmount="150")
    ok(ex.call("updateFollowConfig", FOLLOWER, body=body))
    rows = ex.data("listFollowers", query={"size": 1000})["list"]
    assert "150" in {row["followAmountLimit"] for row in rows}


# ==== 8. a real server: leader writes are durable ====================================
def _without_running_time(caller: Caller) -> dict[str, Any]:
    """My Followers without followRunningMills, which grows with the (real) clock."""
    data = caller.data("listFollowers", query={"size": 1000})
    for row in data["list"]:
        row.pop("followRunningMills")
    return dict(data)


def test_leader_writes_survive_kill_9(tmp_path: Path) -> None:
    """Issue 19: durability (--db, kill -9) holds for leader writes as for follower ones:
    an acknowledged config update and removal are there after a restart."""
    seed = tmp_path / "seed.json"
    seed.write_text(json.dumps(seed_with_second_follower_of_leader("777")), "utf-8")
    db = tmp_path / "sim.db"
    with server(db, "--seed", str(seed)) as (caller, proc):
        body = dict(base_update(caller), profitRate="0.07", tradeProtect=5, inviteScope=9)
        ok(put(caller, body))
        ok(caller.call("removeFollower", path={"followerUserId": SECOND_FOLLOWER_ID}))
        expected_config = config(caller)
        expected_followers = _without_running_time(caller)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    with server(db, "--seed", str(seed)) as (caller, _):
        assert config(caller) == expected_config
        assert expected_config["profitRate"] == "0.07" and expected_config["tradeProtect"] == 5
        assert _without_running_time(caller) == expected_followers
        assert "777" not in {row["followAmountLimit"] for row in expected_followers["list"]}
        assert leaders_of(caller, SECOND_FOLLOWER) == {K7_ID}


# ==== 9. the second seeded leader (K7): isolation, rule 6, uniqueness =================
def test_each_key_sees_its_own_leader(ex: Exchange) -> None:
    """ "All endpoints only access data or settings of the leader bound to the current API
    Key": K7's answers are not S5's, and S5's update leaves K7's config alone."""
    k7_config = config_of(ex, SECOND_LEADER)
    assert k7_config != config(ex)
    k7_followers = ex.data("listFollowers", SECOND_LEADER, query={"size": 1000})
    s5_followers = ex.data("listFollowers", query={"size": 1000})
    assert k7_followers != s5_followers
    ok(put(ex, dict(base_update(ex), profitRate="0.05", tradeProtect=3)))
    assert config_of(ex, SECOND_LEADER) == k7_config
    assert ex.data("listFollowers", SECOND_LEADER, query={"size": 1000}) == k7_followers


def test_seeded_leader_without_cool_down_reads_zero_times(ex: Exchange) -> None:
    """README: K7 has no cool-down; marker cool-down-reset-reads-zero: the times read "0"."""
    k7 = config_of(ex, SECOND_LEADER)
    assert k7["unLeadType"] == 0
    assert k7["unLeadStartTime"] == "0" and k7["unLeadEndTime"] == "0"


def test_rule_6_private_leader_with_custom_ratio_cannot_go_public(ex: Exchange) -> None:
    """README: K7 is private with a custom profit-sharing ratio (marker
    custom-profit-sharing-ratio: a state the API does not show)."""
    body = update_from_config(config_of(ex, SECOND_LEADER))
    assert body["isNeedInvite"] == 1
    for public in (0, 2):
        changed = dict(body, isNeedInvite=public)
        assert_refused_write(
            ex,
            lambda b=changed: put(ex, b, SECOND_LEADER),
            ErrorCode.INVITE_SWITCH_NOT_ALLOWED,
        )
    ok(put(ex, dict(body, tradeProtect=4), SECOND_LEADER))  # staying private is fine
    assert config_of(ex, SECOND_LEADER)["tradeProtect"] == 4


def test_rule_6_private_leader_without_custom_ratio_may_go_public(ex: Exchange) -> None:
    body = base_update(ex)
    assert body["isNeedInvite"] == 1
    ok(put(ex, dict(body, isNeedInvite=0)))
    assert config(ex)["isNeedInvite"] == 0


def test_rule_10_another_leaders_invite_code_is_taken(ex: Exchange) -> None:
    taken = config_of(ex, SECOND_LEADER).get("inviteCode")
    seed_precondition(bool(taken), "K7 has an invite code")
    body = dict(base_update(ex), isNeedInvite=1, inviteCode=taken)
    assert_refused_write(ex, lambda: put(ex, body), ErrorCode.INVITE_CODE_EXISTS)


def test_rule_10_a_code_set_by_one_leader_is_taken_for_the_other(ex: Exchange) -> None:
    ok(put(ex, dict(base_update(ex), isNeedInvite=1, inviteCode="FRESH2026")))
    body = dict(update_from_config(config_of(ex, SECOND_LEADER)), inviteCode="FRESH2026")
    assert_refused_write(ex, lambda: put(ex, body, SECOND_LEADER), ErrorCode.INVITE_CODE_EXISTS)


def test_remove_the_followers_last_relation(ex: Exchange) -> None:
    """README: K7 removes 10002, its only relation: 10002's GET /leaders then shows no
    leader, FOLLOWER_NOT_FOUND (an account without a follow relation, the follower page)."""
    assert leaders_of(ex, SECOND_FOLLOWER) == {K7_ID}
    total = int(ex.data("listFollowers", SECOND_LEADER)["total"])
    ok(ex.call("removeFollower", SECOND_LEADER, path={"followerUserId": SECOND_FOLLOWER_ID}))
    assert int(ex.data("listFollowers", SECOND_LEADER)["total"]) == total - 1
    refused(ex.call("listLeaders", SECOND_FOLLOWER), ErrorCode.FOLLOWER_NOT_FOUND)
    assert leaders_of(ex, FOLLOWER) == {LEADER_ID}


def test_a_leader_cannot_remove_another_leaders_follower(ex: Exchange) -> None:
    """10002 follows K7, not S5: S5's removal is FOLLOWER_NOT_FOUND and K7 keeps it."""
    assert_refused_write(
        ex,
        lambda: ex.call("removeFollower", path={"followerUserId": SECOND_FOLLOWER_ID}),
        ErrorCode.FOLLOWER_NOT_FOUND,
    )
    assert leaders_of(ex, SECOND_FOLLOWER) == {K7_ID}


# ==== 10. seeds of this file's own (README's seed format) =============================
LEVEL = {
    "id": 1,
    "defaultProfitRate": "0.1",
    "limits": {
        "profitRate": ["0.01", "0.2"],
        "followAssetLowerLimit": ["20", "1000"],
        "fixedAmountFollowMin": ["2", "500"],
        "fixedRateFollowMin": ["10", "2000"],
    },
    "privateLimits": {"profitRate": ["0.01", "0.3"]},
}
STEP = Decimal("0.00000001")


def seed_with(**leader_fields: Any) -> dict[str, Any]:
    """The default seed with this file's level (known limits) and the demo leader's
    identity fields changed (README: level, active, customProfitSharing, ...)."""
    seed = default_seed()
    seed["levels"] = [copy.deepcopy(LEVEL)]
    for leader in seed["leaders"]:
        leader["level"] = LEVEL["id"]
    leader_seed(seed, LEADER_ID).update(leader_fields)
    return seed


@pytest.fixture(scope="module")
def levelled_shared() -> Iterator[Exchange]:
    exchange = Exchange(seed_with())
    yield exchange
    exchange.close()


@pytest.fixture
def levelled(levelled_shared: Exchange) -> Exchange:
    levelled_shared.reset()
    return levelled_shared


BOUNDED = [name for name in LEVEL["limits"] if name != "profitRate"]


@pytest.mark.parametrize("field", BOUNDED)
def test_rule_5_level_limits_are_inclusive(levelled: Exchange, field: str) -> None:
    low, high = (Decimal(v) for v in LEVEL["limits"][field])
    for value in (low, high):
        ok(put(levelled, dict(base_update(levelled), **{field: plain(value)})))
        assert Decimal(config(levelled)[field]) == value


@pytest.mark.parametrize("side", ["below", "above"])
@pytest.mark.parametrize("field", BOUNDED)
def test_rule_5_beyond_the_level_limits(levelled: Exchange, field: str, side: str) -> None:
    """Marker leader-config-limit-code: LEADER_CONFIG_INVALID (the value's format is valid)."""
    low, high = (Decimal(v) for v in LEVEL["limits"][field])
    value = low - STEP if side == "below" else high + STEP
    body = dict(base_update(levelled), **{field: plain(value)})
    assert_refused_write(levelled, lambda: put(levelled, body), ErrorCode.LEADER_CONFIG_INVALID)


@pytest.mark.parametrize(
    ("invite", "limits"),
    [(1, LEVEL["privateLimits"]["profitRate"]), (0, LEVEL["limits"]["profitRate"])],
    ids=["private", "public"],
)
def test_rule_5_profit_rate_range_depends_on_the_invitation_state(
    levelled: Exchange, invite: int, limits: list[str]
) -> None:
    """Rule 5: "the profitRate range may also depend on the private-invitation state"."""
    low, high = (Decimal(v) for v in limits)
    body = dict(base_update(levelled), isNeedInvite=invite)
    for value in (low, high):
        ok(put(levelled, dict(body, profitRate=plain(value))))
        assert Decimal(config(levelled)["profitRate"]) == value
    for value in (low - STEP, high + STEP):
        changed = dict(body, profitRate=plain(value))
        assert_refused_write(
            levelled, lambda b=changed: put(levelled, b), ErrorCode.LEADER_CONFIG_INVALID
        )


def test_rule_5_public_leader_keeps_to_the_public_range(levelled: Exchange) -> None:
    """A rate the private range allows and the public one does not: accepted while
    private, refused when going public with it."""
    private_high = Decimal(LEVEL["privateLimits"]["profitRate"][1])
    assert private_high > Decimal(LEVEL["limits"]["profitRate"][1])
    ok(put(levelled, dict(base_update(levelled), isNeedInvite=1, profitRate=plain(private_high))))
    body = dict(base_update(levelled), isNeedInvite=0)
    assert_refused_write(levelled, lambda: put(levelled, body), ErrorCode.LEADER_CONFIG_INVALID)


def test_min_per_order_is_the_higher_of_leader_and_system(levelled: Exchange) -> None:
    """Follower rule 6 and marker min-per-order-higher-of-leader-and-system: a leader's
    fixedAmountFollowMin below the system's minimum (5, README) leaves the system's."""
    ok(put(levelled, dict(base_update(levelled), fixedAmountFollowMin="2")))

    def send(amount: str) -> Answer:
        body = _follow_body(
            levelled,
            followAmountMode=0,
            singlePlaceAmount=amount,
            dailyMaxInvestAmount="0",
            investAmount="200",
            realInvestAmount="200",
        )
        return levelled.call("updateFollowConfig", FOLLOWER, body=body)

    refused(send("4"), ErrorCode.INVALID_PARAMETER, "singlePlaceAmount")
    ok(send("5"))


def test_rule_5_level_config_not_found() -> None:
    """LEVEL_CONFIG_NOT_FOUND when the leader's level configuration is not found; reads
    are unaffected."""
    ex = Exchange(seed_with(level=99))
    try:
        ok(ex.call("getLeaderConfig"))
        assert_refused_write(ex, lambda: put(ex, base_update(ex)), ErrorCode.LEVEL_CONFIG_NOT_FOUND)
    finally:
        ex.close()


def test_rule_10_sensitive_word() -> None:
    seed = seed_with()
    seed["sensitiveWords"] = ["scam"]
    ex = Exchange(seed)
    try:
        for code in ("myscam12", "scam2026"):
            body = dict(base_update(ex), isNeedInvite=1, inviteCode=code)
            assert_refused_write(ex, lambda b=body: put(ex, b), ErrorCode.INVITE_CODE_SENSITIVE)
        ok(put(ex, dict(base_update(ex), isNeedInvite=1, inviteCode="sca2026m")))
    finally:
        ex.close()


def test_a_leader_that_is_not_active() -> None:
    """Marker follower-key-on-leader-endpoint: a leader that is not active gets LEADER_NOT_AVAILABLE
    on the operations listing it, and may still remove a follower."""
    seed = seed_with(active=False)
    relation = copy.deepcopy(seed_with_second_follower_of_leader("777")["follows"][-1])
    seed["follows"].append(relation)
    ex = Exchange(seed)
    try:
        for op in LEADER_OPS:
            if op.operation_id == "removeFollower":
                continue
            refused(ex.call(op.operation_id, **example_request(op)), ErrorCode.LEADER_NOT_AVAILABLE)
        ok(ex.call("removeFollower", path={"followerUserId": SECOND_FOLLOWER_ID}))
        assert leaders_of(ex, SECOND_FOLLOWER) == {K7_ID}
    finally:
        ex.close()


def _sharing(i: int) -> dict[str, Any]:
    day = date(2020, 1, 6) + timedelta(weeks=i)
    year, week, _ = day.isocalendar()
    return {
        "totalProfitSharing": f"{i}.5",
        "weekOfYear": week,
        "year": year,
        "sharingDate": day.isoformat(),
        "recommendUserShare": "0.5",
        "realProfitShare": f"{i}",
    }


def test_profit_sharing_answers_the_latest_100_newest_first() -> None:
    """Marker profit-sharing-latest-100: 150 records, the 100 newest come back, newest
    first; and current lead orders newest first by open time."""
    seed = seed_with()
    leader = leader_seed(seed, LEADER_ID)
    records = [_sharing(i) for i in range(150)]
    leader["profitSharing"] = list(reversed(records[::2])) + records[1::2]  # seeded unordered
    first = leader["orders"][0]
    leader["orders"] = [
        first,
        dict(first, symbolId="ETH-SWAP-USDT", openTime=int(first["openTime"]) + 5000),
        dict(first, isLong=0, openTime=int(first["openTime"]) - 5000),
    ]
    ex = Exchange(seed)
    try:
        rows = ex.data("listProfitSharingHistory")
        newest = sorted((r["sharingDate"] for r in records), reverse=True)[:100]
        assert [row["sharingDate"] for row in rows] == newest
        orders = ex.data("listCurrentLeadOrders")
        assert len(orders) == 3
        times = [int(row["openTime"]) for row in orders]
        assert times == sorted(times, reverse=True)
    finally:
        ex.close()


def test_rule_6_custom_ratio_is_not_the_stored_rate(levelled: Exchange) -> None:
    """Marker custom-profit-sharing-ratio: "custom" is a state of the account the API
    neither shows nor changes, not the stored profitRate: S5 (no custom ratio) with a rate
    off its level's default still goes public; K7 (custom) with the default rate cannot."""
    ex = levelled
    ok(put(ex, dict(base_update(ex), isNeedInvite=1, profitRate="0.15")))
    ok(put(ex, dict(base_update(ex), isNeedInvite=0, profitRate="0.15")))
    assert config(ex)["isNeedInvite"] == 0
    k7 = update_from_config(config_of(ex, SECOND_LEADER))
    default_rate = LEVEL["defaultProfitRate"]
    ok(put(ex, dict(k7, profitRate=default_rate), SECOND_LEADER))
    changed = dict(k7, profitRate=default_rate, isNeedInvite=0)
    assert_refused_write(
        ex, lambda: put(ex, changed, SECOND_LEADER), ErrorCode.INVITE_SWITCH_NOT_ALLOWED
    )


def test_a_leader_without_invite_code_gets_none() -> None:
    """Marker invite-code-when-none: a public leader that never set a code gets no
    inviteCode in the config query."""
    seed = seed_with()
    leader_config = leader_seed(seed, LEADER_ID)["config"]
    leader_config["isNeedInvite"] = 0
    leader_config.pop("inviteCode")
    ex = Exchange(seed)
    try:
        assert "inviteCode" not in config(ex)
        ok(put(ex, dict(base_update(ex), tradeProtect=2)))
        assert "inviteCode" not in config(ex)
    finally:
        ex.close()
