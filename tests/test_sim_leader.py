"""The simulator's leader side (issue 19, item 3), rule by rule over HTTP: the nine leader
operations with the default seed's demo leader S5 and leader K7, the roles, the page-wide
rules, the ten rules of updateLeaderConfig, Remove Follower, and the two sides of one
exchange (a leader's config feeds its followers' config rules; a removal ends the
relation as both sides see it). Every refused write is checked to change nothing, and
leader writes survive kill -9 with --db."""

from __future__ import annotations

import copy
import os
import re
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from test_sim_server import server, signed
from test_sim_support import (
    CONFIG,
    CONFIG_EXAMPLE,
    DEMO_KEY,
    FOLLOWERS,
    HISTORY,
    K7,
    K7_CONFIG,
    K7_LEADER_CONFIG,
    LEAD_CURRENT,
    LEAD_HISTORY,
    LEADER_CONFIG,
    LEADER_CONFIG_EXAMPLE,
    LEADER_KEY,
    LEADER_READ_ONLY_KEY,
    LEADERS,
    NO_RELATION_KEY,
    NOW,
    PROFIT_SHARING,
    READ_ONLY_KEY,
    S5,
    SECOND_KEY,
    SECOND_LEADER_KEY,
    SYMBOLS,
    TRADE_DATA,
    Resp,
    Sim,
)
from toobit_follower_models.errors import BY_NAME, ErrorCode
from toobit_follower_models.operations import OPERATIONS
from toobit_follower_sim import SeedError, load_seed
from toobit_follower_sim.cli import main as sim_main
from toobit_follower_sim.testing import (
    LEADER_API_KEY,
    LEADER_ID,
    LEADER_READONLY_API_KEY,
    SECOND_LEADER_API_KEY,
    SECOND_LEADER_ID,
    default_seed,
)

ROOT = Path(__file__).resolve().parents[1]
SPEC = yaml.safe_load((ROOT / "openapi.yaml").read_text(encoding="utf-8"))
SCHEMAS = SPEC["components"]["schemas"]
DEMO_FOLLOWER = 10001  # follows S5, holds an open position under it
SECOND_FOLLOWER = 10002  # follows K7, no open position
NO_RELATION = 10003
K7_BODY = {**LEADER_CONFIG_EXAMPLE, **K7_LEADER_CONFIG}  # a valid update of K7


@pytest.fixture
def sim() -> Iterator[Sim]:
    s = Sim()
    yield s
    s.close()


def _sim(seed: dict[str, Any], **options: Any) -> Sim:
    return Sim(seed, **options)


def data(resp: Resp) -> Any:
    assert resp.status == 200, (resp.status, resp.body)
    assert resp.json["code"] == 200 and resp.json["msg"] == "success", resp.json
    return resp.json["data"]


def refused(resp: Resp, row: ErrorCode, name: str | None = None) -> None:
    """The error row's code, HTTP status and message (its {name} filled in)."""
    info = BY_NAME[row.name]
    assert (resp.status, resp.code) == (info.http_status, info.code), (resp.status, resp.body)
    if name is not None:
        assert resp.json["msg"] == info.format_message(name=name), resp.json
    assert resp.json.get("data") is None


def put(sim: Sim, body: dict[str, Any], key: str = LEADER_KEY) -> Resp:
    return sim.signed(
        "PUT", LEADER_CONFIG, body={k: v for k, v in body.items() if v is not None}, key=key
    )


def update(**changes: Any) -> dict[str, Any]:
    """The page's config update (S5's) with these changes; None leaves a field out."""
    return {**LEADER_CONFIG_EXAMPLE, **changes}


def k7_update(**changes: Any) -> dict[str, Any]:
    return {**K7_BODY, **changes}


def reject(
    sim: Sim, body: dict[str, Any], row: ErrorCode, name: str | None = None, key: str = LEADER_KEY
) -> None:
    """The update is refused with `row` and nothing changed."""
    before = sim.state()
    refused(put(sim, body, key), row, name)
    assert sim.state() == before


def accept(sim: Sim, body: dict[str, Any], key: str = LEADER_KEY) -> dict[str, Any]:
    """The update succeeds; returns the config the query then answers."""
    assert data(put(sim, body, key)) is None
    return dict(data(sim.signed("GET", LEADER_CONFIG, key=key)))


def config(sim: Sim, key: str = LEADER_KEY) -> dict[str, Any]:
    return dict(data(sim.signed("GET", LEADER_CONFIG, key=key)))


def leader_of(seed: dict[str, Any], leader: int) -> dict[str, Any]:
    return dict(next(x for x in seed["leaders"] if x["id"] == leader))


# One valid request per leader operation: (method, path, query, body).
REQUESTS: dict[str, tuple[str, str, str, dict[str, Any] | None]] = {
    "listCurrentLeadOrders": ("GET", LEAD_CURRENT, "", None),
    "listHistoryLeadOrders": ("GET", LEAD_HISTORY, "page=1&size=10", None),
    "getTradeData": ("GET", TRADE_DATA, "type=30", None),
    "listProfitSharingHistory": ("GET", PROFIT_SHARING, "", None),
    "listLeaderSymbols": ("GET", SYMBOLS, "", None),
    "getLeaderConfig": ("GET", LEADER_CONFIG, "", None),
    "updateLeaderConfig": ("PUT", LEADER_CONFIG, "", LEADER_CONFIG_EXAMPLE),
    "listFollowers": ("GET", FOLLOWERS, "page=1&size=10", None),
    "removeFollower": ("DELETE", f"{FOLLOWERS}/{DEMO_FOLLOWER}", "", None),
}
LEADER_OPS = [op for op in OPERATIONS if op.tag == "leader"]


def call(sim: Sim, op_id: str, key: str) -> Resp:
    method, path, query, body = REQUESTS[op_id]
    return sim.signed(method, path, query, body=body or b"", key=key)


def test_every_leader_operation_has_a_rule_and_a_request() -> None:
    assert {op.operation_id for op in LEADER_OPS} == set(REQUESTS)
    assert len(LEADER_OPS) == 9
    assert sim_main(["rules"]) == 0  # no operation without a business rule


def test_the_testing_module_names_the_seed_s_leader_keys() -> None:
    seed = default_seed()
    keys = {k["key"]: k for k in seed["apiKeys"]}
    assert (LEADER_API_KEY, LEADER_READONLY_API_KEY) == (LEADER_KEY, LEADER_READ_ONLY_KEY)
    assert keys[LEADER_API_KEY]["accountId"] == LEADER_ID == S5
    assert keys[LEADER_API_KEY]["permission"] == "READ_WRITE"
    assert keys[LEADER_READONLY_API_KEY]["permission"] == "READ_ONLY"
    assert keys[SECOND_LEADER_API_KEY]["accountId"] == SECOND_LEADER_ID == K7
    demo = next(f for f in seed["follows"] if f["followerId"] == DEMO_FOLLOWER)
    assert demo["leaderUserId"] == LEADER_ID  # the demo follower follows the demo leader


# ---- roles (page-wide: the signed account must be an active leader) --------------------
@pytest.mark.parametrize("op_id", list(REQUESTS))
@pytest.mark.parametrize("key", [DEMO_KEY, SECOND_KEY, NO_RELATION_KEY, READ_ONLY_KEY])
def test_a_follower_key_on_a_leader_operation(sim: Sim, op_id: str, key: str) -> None:
    """follower-key-on-leader-endpoint: -120041 where listed, -120047 on Remove Follower
    (a read-only follower key on a write: -1020 first, read-only-before-validation)."""
    before = sim.state()
    resp = call(sim, op_id, key)
    method = REQUESTS[op_id][0]
    if key == READ_ONLY_KEY and method != "GET":
        refused(resp, ErrorCode.NOT_SUPPORTED)
    elif op_id == "removeFollower":
        refused(resp, ErrorCode.LEADER_NOT_FOUND)
    else:
        refused(resp, ErrorCode.LEADER_NOT_AVAILABLE)
    assert sim.state() == before


FOLLOWER_REQUESTS = [
    ("GET", "/api/v2/copy-trading/follower/orders/current", "", None),
    ("GET", HISTORY, "page=1&size=10", None),
    ("GET", CONFIG, f"leaderUserId={S5}", None),
    ("GET", LEADERS, "", None),
    ("PUT", CONFIG, "", CONFIG_EXAMPLE),
    ("PUT", "/api/v2/copy-trading/follower/positions/stop-profit-loss", "",
     {"leaderUserId": S5, "symbolId": "BTC-SWAP-USDT", "isLong": 1}),
    ("DELETE", f"{LEADERS}/{S5}", "", None),
]  # fmt: skip


@pytest.mark.parametrize(("method", "path", "query", "body"), FOLLOWER_REQUESTS)
def test_a_leader_key_on_a_follower_operation(
    sim: Sim, method: str, path: str, query: str, body: dict[str, Any] | None
) -> None:
    """leader-key-on-follower-endpoint: an account without a follow relation, -32045."""
    assert len(FOLLOWER_REQUESTS) == len(
        [o for o in OPERATIONS if o.tag == "follower" and o.signed]
    )
    before = sim.state()
    refused(
        sim.signed(method, path, query, body=body or b"", key=LEADER_KEY),
        ErrorCode.FOLLOWER_NOT_FOUND,
    )
    assert sim.state() == before


def test_the_role_is_checked_after_validation(sim: Sim) -> None:
    """leader-role-after-validation: a follower's invalid request gets its validation code."""
    refused(sim.signed("GET", FOLLOWERS, "size=0"), ErrorCode.INVALID_PARAMETER, "size")
    refused(sim.signed("GET", TRADE_DATA, "type=8"), ErrorCode.INVALID_PARAMETER, "type")
    refused(
        put(sim, update(profitPeriod=None), DEMO_KEY),
        ErrorCode.MANDATORY_PARAM_EMPTY_OR_MALFORMED,
        "profitPeriod",
    )
    refused(sim.signed("DELETE", f"{FOLLOWERS}/0"), ErrorCode.INVALID_PARAMETER, "followerUserId")
    refused(sim.signed("GET", FOLLOWERS, "size=1"), ErrorCode.LEADER_NOT_AVAILABLE)


def test_a_leader_that_is_not_active() -> None:
    """-120041 on every operation that lists it; it may still remove a follower."""
    seed = default_seed()
    next(x for x in seed["leaders"] if x["id"] == K7)["active"] = False
    sim = _sim(seed)
    try:
        for op_id in REQUESTS:
            if op_id != "removeFollower":
                refused(call(sim, op_id, SECOND_LEADER_KEY), ErrorCode.LEADER_NOT_AVAILABLE)
        assert (
            data(sim.signed("DELETE", f"{FOLLOWERS}/{SECOND_FOLLOWER}", key=SECOND_LEADER_KEY))
            is None
        )
        data(call(sim, "listFollowers", LEADER_KEY))  # the other leader is unaffected
    finally:
        sim.close()


def test_the_read_only_leader_key_reads_and_never_writes(sim: Sim) -> None:
    for op_id in REQUESTS:
        resp = call(sim, op_id, LEADER_READ_ONLY_KEY)
        if REQUESTS[op_id][0] == "GET":
            assert data(resp) == data(call(sim, op_id, LEADER_KEY))
        else:
            before = sim.state()
            refused(resp, ErrorCode.NOT_SUPPORTED)
            assert sim.state() == before
    # read-only-before-validation: -1020 even for an invalid body or path
    refused(put(sim, {"unLeadType": 7}, LEADER_READ_ONLY_KEY), ErrorCode.NOT_SUPPORTED)
    refused(
        sim.signed("DELETE", f"{FOLLOWERS}/0", key=LEADER_READ_ONLY_KEY), ErrorCode.NOT_SUPPORTED
    )


@pytest.mark.parametrize("op_id", list(REQUESTS))
def test_page_wide_signed_and_strict_parameters(sim: Sim, op_id: str) -> None:
    """Every leader operation is signed (-1022 for a bad signature, -1002 without a key),
    checks recvWindow (-1130, leader-config-query-invalid-parameter) and refuses an
    undeclared parameter (-1103), before the role and the rule; nothing changes."""
    method, path, query, body = REQUESTS[op_id]
    before = sim.state()
    for params, row, name in (
        (f"{query}&recvWindow=60001".lstrip("&"), ErrorCode.INVALID_PARAMETER, "recvWindow"),
        (f"{query}&foo=1".lstrip("&"), ErrorCode.UNKNOWN_PARAM, None),
    ):
        resp = sim.signed(method, path, params, body=body or b"", key=LEADER_KEY, recv_window=None)
        refused(resp, row, name)
    resp = sim.signed(method, path, query, body=body or b"", key=LEADER_KEY, secret=b"not-it")
    refused(resp, ErrorCode.INVALID_SIGNATURE)
    refused(sim.raw(method, path, b"timestamp=1"), ErrorCode.UNAUTHORIZED)
    assert sim.state() == before


def test_every_leader_operation_lists_the_codes_it_answers() -> None:
    """Each answer of this file's requests is a code the operation's x-error-codes lists
    (the Sim checks every answer: validate_responses)."""
    sim = Sim()
    try:
        for op_id in REQUESTS:
            for key in (LEADER_KEY, LEADER_READ_ONLY_KEY, DEMO_KEY, SECOND_LEADER_KEY):
                call(sim, op_id, key)
    finally:
        sim.close()


# ---- the reads -------------------------------------------------------------------------
def example(op_id: str) -> Any:
    op = next(o for o in OPERATIONS if o.operation_id == op_id)
    content = SPEC["paths"][op.path][op.method.lower()]["responses"]["200"]["content"]
    (found,) = content["application/json"]["examples"].values()
    return found["value"]["data"]


def test_the_demo_leader_answers_the_page_s_examples(sim: Sim) -> None:
    """The first item of each list is the page's example; the current lead orders and the
    30-day trade data are exactly the page's; the config is the page's but one value."""
    assert data(sim.signed("GET", LEAD_CURRENT, key=LEADER_KEY)) == example("listCurrentLeadOrders")
    assert data(sim.signed("GET", TRADE_DATA, "type=30", key=LEADER_KEY)) == example("getTradeData")
    history = data(sim.signed("GET", LEAD_HISTORY, key=LEADER_KEY))
    assert history["list"][0] == example("listHistoryLeadOrders")["list"][0]
    assert (
        data(sim.signed("GET", PROFIT_SHARING, key=LEADER_KEY))[0]
        == example("listProfitSharingHistory")[0]
    )
    assert data(sim.signed("GET", SYMBOLS, key=LEADER_KEY))[0] == example("listLeaderSymbols")[0]
    page = example("getLeaderConfig")
    stored = config(sim)
    assert {k: v for k, v in stored.items() if k != "fixedRateFollowMin"} == {
        k: v for k, v in page.items() if k != "fixedRateFollowMin"
    }
    assert stored["fixedRateFollowMin"] == "50"  # the follower's fixed-rate minimum (rule 7)
    # The page's update example succeeds, and the query then answers the page's config.
    assert accept(sim, LEADER_CONFIG_EXAMPLE) == page
    (row,) = data(sim.signed("GET", FOLLOWERS, key=LEADER_KEY))["list"]
    assert row == {**example("listFollowers")["list"][0], "followAmountLimit": "100"}


def test_current_lead_orders_newest_first() -> None:
    seed = default_seed()
    s5 = next(x for x in seed["leaders"] if x["id"] == S5)
    first = s5["orders"][0]
    s5["orders"] += [
        {**first, "symbolId": "ETH-SWAP-USDT", "openTime": 1717300000000},
        {**first, "symbolId": "SOL-SWAP-USDT", "isLong": 0, "openTime": 1717000000000},
    ]
    sim = _sim(seed)
    try:
        orders = data(sim.signed("GET", LEAD_CURRENT, key=LEADER_KEY))
        assert [o["openTime"] for o in orders] == [
            "1717300000000",
            "1717200000000",
            "1717000000000",
        ]
        assert data(sim.signed("GET", LEAD_CURRENT, key=SECOND_LEADER_KEY)) == []  # K7: none
    finally:
        sim.close()


HISTORY_CLOSE_TIMES = [
    "1717203600000",
    "1717103600000",
    "1717010000000",
    "1716950000000",
    "1716850000000",
]


@pytest.mark.parametrize(
    ("query", "pages", "close_times"),
    [
        ("", "1", HISTORY_CLOSE_TIMES),  # page 1, size 10 by default
        ("page=1&size=2", "3", HISTORY_CLOSE_TIMES[:2]),
        ("page=2&size=2", "3", HISTORY_CLOSE_TIMES[2:4]),
        ("page=3&size=2", "3", HISTORY_CLOSE_TIMES[4:]),
        ("page=4&size=2", "3", []),  # past the end: an empty page
        ("page=1&size=5", "1", HISTORY_CLOSE_TIMES),
        ("size=101", "1", HISTORY_CLOSE_TIMES),  # no maximum (leader-page-size-range)
        ("page=9223372036854775807&size=9223372036854775807", "1", []),
    ],
)
def test_history_lead_orders_pages(
    sim: Sim, query: str, pages: str, close_times: list[str]
) -> None:
    page = data(sim.signed("GET", LEAD_HISTORY, query, key=LEADER_KEY))
    assert (page["pages"], page["total"]) == (pages, "5")
    assert [row["closeTime"] for row in page["list"]] == close_times


@pytest.mark.parametrize("path", [LEAD_HISTORY, FOLLOWERS])
@pytest.mark.parametrize(
    ("query", "name"),
    [("page=0", "page"), ("size=0", "size"), ("page=-1", "page"), ("size=x", "size"),
     ("size=9223372036854775808", "size"), ("page=1.5", "page")],
)  # fmt: skip
def test_an_invalid_page_or_size(sim: Sim, path: str, query: str, name: str) -> None:
    refused(sim.signed("GET", path, query, key=LEADER_KEY), ErrorCode.INVALID_PARAMETER, name)


def test_trade_data_one_item_per_period(sim: Sim) -> None:
    for leader, key in ((S5, LEADER_KEY), (K7, SECOND_LEADER_KEY)):
        for item in leader_of(default_seed(), leader)["tradeData"]:
            period = item.pop("type")
            assert data(sim.signed("GET", TRADE_DATA, f"type={period}", key=key)) == [item]
    # type defaults to 7
    assert data(sim.signed("GET", TRADE_DATA, key=LEADER_KEY))[0]["tradingDays"] == 7


@pytest.mark.parametrize("value", ["8", "0", "-7", "x", "7.0", "365a"])
def test_trade_data_type_outside_the_periods(sim: Sim, value: str) -> None:
    refused(
        sim.signed("GET", TRADE_DATA, f"type={value}", key=LEADER_KEY),
        ErrorCode.INVALID_PARAMETER,
        "type",
    )


def test_profit_sharing_keeps_the_latest_100_newest_first() -> None:
    seed = default_seed()
    s5 = next(x for x in seed["leaders"] if x["id"] == S5)
    record = s5["profitSharing"][0]
    # 150 records, seeded oldest last: day n of 2025 (a date string sorts as a date)
    s5["profitSharing"] = [
        {**record, "sharingDate": f"2025-{1 + n // 28:02d}-{1 + n % 28:02d}", "weekOfYear": n}
        for n in range(150)
    ]
    sim = _sim(seed)
    try:
        got = data(sim.signed("GET", PROFIT_SHARING, key=LEADER_KEY))
        assert len(got) == 100
        assert [r["weekOfYear"] for r in got] == list(range(149, 49, -1))
        assert got[0]["sharingDate"] == "2025-06-10"
    finally:
        sim.close()


def pairs(sim: Sim, key: str = LEADER_KEY) -> list[tuple[str, int]]:
    return [(p["symbolId"], p["isLead"]) for p in data(sim.signed("GET", SYMBOLS, key=key))]


def test_leader_symbols_is_lead_follows_the_config(sim: Sim) -> None:
    btc, eth, sol = "BTC-SWAP-USDT", "ETH-SWAP-USDT", "SOL-SWAP-USDT"
    assert pairs(sim) == [(btc, 1), (eth, 1), (sol, 0)]
    accept(sim, update(symbolIds=[sol, btc]))
    assert pairs(sim) == [(btc, 1), (eth, 0), (sol, 1)]
    assert config(sim)["symbolIds"] == ["SOL-SWAP-USDT", "BTC-SWAP-USDT"]  # as submitted


def test_my_followers_are_the_follow_relations(sim: Sim) -> None:
    """follower-row-figures: followAmountLimit is the follow config's investAmount (so the
    follower's own update changes it), followRunningMills the time since it followed."""
    (row,) = data(sim.signed("GET", FOLLOWERS, key=LEADER_KEY))["list"]
    assert (row["followAmountLimit"], row["followRunningMills"]) == ("100", "61200000")
    assert data(sim.signed("PUT", CONFIG, body={**CONFIG_EXAMPLE, "investAmount": "880"})) is None
    sim.clock.now = NOW + 1000
    (row,) = data(sim.signed("GET", FOLLOWERS, key=LEADER_KEY))["list"]
    assert (row["followAmountLimit"], row["followRunningMills"]) == ("880", "61201000")
    assert "followerUserId" not in row  # follower-user-id-not-listed
    (k7_row,) = data(sim.signed("GET", FOLLOWERS, key=SECOND_LEADER_KEY))["list"]
    assert k7_row["followerNickname"] == "****002" and k7_row["followAmountLimit"] == "200"


def test_my_followers_pages_newest_first() -> None:
    seed = default_seed()
    demo = next(f for f in seed["follows"] if f["followerId"] == DEMO_FOLLOWER)
    for n in range(12):
        account = 20000 + n
        seed["accounts"].append({"id": account})
        relation = copy.deepcopy(demo)
        relation.update(followerId=account, sinceMs=1716000000000 + n * 1000)
        relation["follower"]["followerNickname"] = f"****{n:03d}"
        seed["follows"].append(relation)
    sim = _sim(seed)
    try:
        first = data(sim.signed("GET", FOLLOWERS, "page=1&size=10", key=LEADER_KEY))
        second = data(sim.signed("GET", FOLLOWERS, "page=2&size=10", key=LEADER_KEY))
        assert (first["pages"], first["total"], second["pages"]) == ("2", "13", "2")
        names = [r["followerNickname"] for r in first["list"] + second["list"]]
        assert names == ["****644", *[f"****{n:03d}" for n in range(11, -1, -1)]]
        assert data(sim.signed("GET", FOLLOWERS, "page=3&size=10", key=LEADER_KEY))["list"] == []
    finally:
        sim.close()


# ---- updateLeaderConfig ------------------------------------------------------------------
UPDATE = SCHEMAS["LeaderConfigUpdate"]


@pytest.mark.parametrize("field", UPDATE["required"])
def test_rule2_a_mandatory_field_left_out_or_null(sim: Sim, field: str) -> None:
    reject(sim, update(**{field: None}), ErrorCode.MANDATORY_PARAM_EMPTY_OR_MALFORMED, field)
    before = sim.state()
    resp = sim.signed("PUT", LEADER_CONFIG, body={**update(), field: None}, key=LEADER_KEY)
    refused(resp, ErrorCode.MANDATORY_PARAM_EMPTY_OR_MALFORMED, field)
    assert sim.state() == before


@pytest.mark.parametrize(
    ("field", "value", "row"),
    [
        ("unLeadType", "1", ErrorCode.MANDATORY_PARAM_EMPTY_OR_MALFORMED),
        ("unLeadType", 2, ErrorCode.INVALID_PARAMETER),
        ("unLeadStartTime", 1.5, ErrorCode.MANDATORY_PARAM_EMPTY_OR_MALFORMED),
        ("unLeadEndTime", "1717286400000", ErrorCode.MANDATORY_PARAM_EMPTY_OR_MALFORMED),
        ("leadPositionType", 2, ErrorCode.INVALID_PARAMETER),
        ("leadPositionType", -2, ErrorCode.INVALID_PARAMETER),
        ("tradeProtect", True, ErrorCode.MANDATORY_PARAM_EMPTY_OR_MALFORMED),
        ("tradeProtect", 2**31, ErrorCode.INVALID_PARAMETER),
        ("profitRate", 0.1, ErrorCode.MANDATORY_PARAM_EMPTY_OR_MALFORMED),
        ("profitRate", "0.123456789", ErrorCode.INVALID_PARAMETER),
        ("profitRate", "-0.1", ErrorCode.INVALID_PARAMETER),
        ("followAssetLowerLimit", "1e2", ErrorCode.INVALID_PARAMETER),
        ("fixedAmountFollowMin", "", ErrorCode.MANDATORY_PARAM_EMPTY_OR_MALFORMED),
        ("fixedRateFollowMin", "ten", ErrorCode.INVALID_PARAMETER),
        ("isNeedInvite", "1", ErrorCode.MANDATORY_PARAM_EMPTY_OR_MALFORMED),
        ("inviteScope", -(2**31) - 1, ErrorCode.INVALID_PARAMETER),
        ("symbolIds", "BTC-SWAP-USDT", ErrorCode.MANDATORY_PARAM_EMPTY_OR_MALFORMED),
        ("symbolIds", ["BTC-SWAP-USDT", 7], ErrorCode.MANDATORY_PARAM_EMPTY_OR_MALFORMED),
        ("symbolIds", ["BTC-SWAP-USDT", None], ErrorCode.MANDATORY_PARAM_EMPTY_OR_MALFORMED),
        ("symbolIds", ["BTC-SWAP-USDT,ETH-SWAP-USDT"], ErrorCode.INVALID_PARAMETER),
        ("symbolIds", ["  "], ErrorCode.INVALID_PARAMETER),
        ("recommendShare", 1.5, ErrorCode.MANDATORY_PARAM_EMPTY_OR_MALFORMED),
        ("recommendShareRate", "0.123456789", ErrorCode.INVALID_PARAMETER),  # 8 places
        ("recommendShareRate", 0.2, ErrorCode.MANDATORY_PARAM_EMPTY_OR_MALFORMED),
        ("inviteCode", 123456, ErrorCode.MANDATORY_PARAM_EMPTY_OR_MALFORMED),
    ],
)
def test_rule2_a_value_out_of_type_range_or_format(
    sim: Sim, field: str, value: Any, row: ErrorCode
) -> None:
    reject(sim, update(**{field: value}), row, field)


def test_rule2_an_unknown_field(sim: Sim) -> None:
    reject(sim, {**update(), "level": 3}, ErrorCode.UNKNOWN_PARAM)


def test_rule3_cool_down_window(sim: Sim) -> None:
    start, end = 1717200000000, 1717286400000
    for changes in (
        {"unLeadEndTime": None},
        {"unLeadEndTime": 0},
        {"unLeadEndTime": start - 1},
        {"unLeadStartTime": None, "unLeadEndTime": -1},
    ):
        reject(sim, update(**changes), ErrorCode.COOL_DOWN_INVALID)
    stored = accept(sim, update(unLeadEndTime=start))  # the end may equal the start
    assert (stored["unLeadStartTime"], stored["unLeadEndTime"]) == (str(start), str(start))
    stored = accept(sim, update(unLeadStartTime=None))  # a missing start counts as 0
    assert (stored["unLeadStartTime"], stored["unLeadEndTime"]) == ("0", str(end))
    # unLeadType 0 resets both to 0, whatever was sent (they read "0")
    stored = accept(sim, update(unLeadType=0, unLeadStartTime=5, unLeadEndTime=1))
    assert (stored["unLeadType"], stored["unLeadStartTime"], stored["unLeadEndTime"]) == (
        0,
        "0",
        "0",
    )
    stored = accept(sim, update(unLeadType=0, unLeadStartTime=None, unLeadEndTime=None))
    assert (stored["unLeadStartTime"], stored["unLeadEndTime"]) == ("0", "0")


@pytest.mark.parametrize("value", [0, 2, 3, 30, -1])
def test_rule4_profit_period_is_daily_or_weekly(sim: Sim, value: int) -> None:
    reject(sim, update(profitPeriod=value), ErrorCode.INVALID_PARAMETER, "profitPeriod")


def test_rule4_both_periods_are_accepted(sim: Sim) -> None:
    assert accept(sim, update(profitPeriod=1))["profitPeriod"] == 1
    assert accept(sim, update(profitPeriod=7))["profitPeriod"] == 7


# The default level 1's limits (S5 is private: its profitRate range is privateLimits').
LIMITS = [
    ("profitRate", None, "0", "0.3", "0.30000001"),
    ("followAssetLowerLimit", None, "0", "100000", "100000.00000001"),
    ("fixedAmountFollowMin", "4.99999999", "5", "10000", "10000.00000001"),
    ("fixedRateFollowMin", "9.99999999", "10", "100000", "100000.00000001"),
]


@pytest.mark.parametrize(("field", "below", "low", "high", "above"), LIMITS)
def test_rule5_the_level_s_limits(
    sim: Sim, field: str, below: str | None, low: str, high: str, above: str
) -> None:
    for value in filter(None, (below, above)):
        reject(sim, update(**{field: value}), ErrorCode.LEADER_CONFIG_INVALID)
    assert accept(sim, update(**{field: low}))[field] == low
    assert accept(sim, update(**{field: high}))[field] == high


def test_rule5_a_public_leader_s_profit_rate_range(sim: Sim) -> None:
    public = update(isNeedInvite=0)
    reject(sim, {**public, "profitRate": "0.25"}, ErrorCode.LEADER_CONFIG_INVALID)
    assert accept(sim, {**public, "profitRate": "0.2"})["profitRate"] == "0.2"
    assert accept(sim, update(profitRate="0.25"))["profitRate"] == "0.25"  # private again


def test_rule5_a_level_without_a_config() -> None:
    seed = default_seed()
    next(x for x in seed["leaders"] if x["id"] == S5)["level"] = 9
    sim = _sim(seed)
    try:
        reject(sim, update(), ErrorCode.LEVEL_CONFIG_NOT_FOUND)
        data(sim.signed("GET", LEADER_CONFIG, key=LEADER_KEY))  # reads are not concerned
    finally:
        sim.close()


def test_rule6_a_private_leader_with_a_custom_ratio_stays_private(sim: Sim) -> None:
    reject(
        sim, k7_update(isNeedInvite=0), ErrorCode.INVITE_SWITCH_NOT_ALLOWED, key=SECOND_LEADER_KEY
    )
    assert accept(sim, k7_update(), SECOND_LEADER_KEY)["isNeedInvite"] == 1
    # S5 has no custom ratio: it may go public, then private again
    assert accept(sim, update(isNeedInvite=0))["isNeedInvite"] == 0
    assert accept(sim, update())["isNeedInvite"] == 1


def test_rule7_symbol_ids_is_the_full_list(sim: Sim) -> None:
    reject(
        sim,
        update(symbolIds=["BTC-SWAP-USDT", "XRP-SWAP-USDT"]),
        ErrorCode.INVALID_PARAMETER,
        "symbolIds",
    )
    reject(sim, update(symbolIds=["btc-swap-usdt"]), ErrorCode.INVALID_PARAMETER, "symbolIds")
    # BTC has a current lead order: leaving it out (disabling it) is refused
    reject(sim, update(symbolIds=["ETH-SWAP-USDT"]), ErrorCode.SYMBOL_CHANGE_NOT_ALLOWED)
    reject(sim, update(symbolIds=[]), ErrorCode.SYMBOL_CHANGE_NOT_ALLOWED)
    stored = accept(sim, update(symbolIds=["BTC-SWAP-USDT", "BTC-SWAP-USDT"]))
    assert stored["symbolIds"] == ["BTC-SWAP-USDT"]  # a repeated ID counts once
    # K7 has no lead orders: an empty list disables every pair
    assert accept(sim, k7_update(symbolIds=[]), SECOND_LEADER_KEY)["symbolIds"] == []
    assert {s["isLead"] for s in data(sim.signed("GET", SYMBOLS, key=SECOND_LEADER_KEY))} == {0}


def test_rule8_the_position_type_is_frozen_while_lead_orders_are_open(sim: Sim) -> None:
    for value in (-1, 1):
        reject(sim, update(leadPositionType=value), ErrorCode.POSITION_TYPE_CHANGE_NOT_ALLOWED)
    assert accept(sim, update(leadPositionType=0))["leadPositionType"] == 0  # unchanged
    for value in (0, 1, -1):  # K7 has no current lead order
        assert (
            accept(sim, k7_update(leadPositionType=value), SECOND_LEADER_KEY)["leadPositionType"]
            == value
        )


@pytest.mark.parametrize("rate", ["0", "1.00000001", "2", None])
def test_rule9_switched_on_the_rate_is_above_0_and_at_most_1(sim: Sim, rate: str | None) -> None:
    reject(sim, update(recommendShare=1, recommendShareRate=rate), ErrorCode.LEADER_CONFIG_INVALID)
    # left out, the switch stays on (S5's): the same rule
    reject(
        sim, update(recommendShare=None, recommendShareRate=rate), ErrorCode.LEADER_CONFIG_INVALID
    )


def test_rule9_the_switch_and_the_rate(sim: Sim) -> None:
    assert accept(sim, update(recommendShareRate="1"))["recommendShareRate"] == "1"
    assert (
        accept(sim, update(recommendShareRate="0.00000001"))["recommendShareRate"] == "0.00000001"
    )
    stored = accept(sim, update(recommendShare=None, recommendShareRate="0.3"))
    assert (stored["recommendShare"], stored["recommendShareRate"]) == (1, "0.3")  # kept on
    stored = accept(sim, update(recommendShare=0, recommendShareRate="5"))  # off: format only
    assert (stored["recommendShare"], stored["recommendShareRate"]) == (0, "5")
    stored = accept(sim, update(recommendShare=None, recommendShareRate=None))  # kept off
    assert (stored["recommendShare"], stored["recommendShareRate"]) == (0, "")


@pytest.mark.parametrize(
    ("code", "row"),
    [
        ("ABCDE", ErrorCode.INVITE_CODE_INVALID),  # 5 characters
        ("ABCDEFGHIJK", ErrorCode.INVITE_CODE_INVALID),  # 11
        ("LEADER中文", ErrorCode.INVITE_CODE_INVALID),
        ("CODE\U00020000X", ErrorCode.INVITE_CODE_INVALID),  # an ideograph of plane 2
        ("NOSCAMHERE", ErrorCode.INVITE_CODE_SENSITIVE),
        ("myFraud01", ErrorCode.INVITE_CODE_SENSITIVE),
        ("", ErrorCode.INVITE_CODE_INVALID),  # schema-valid text, not a blank mandatory field
        ("   ", ErrorCode.INVITE_CODE_INVALID),
        ("K7INVITE", ErrorCode.INVITE_CODE_EXISTS),  # K7's
    ],
)
def test_rule10_a_private_leader_s_invite_code(sim: Sim, code: str, row: ErrorCode) -> None:
    reject(sim, update(inviteCode=code), row)


def test_rule10_valid_kept_and_ignored_invite_codes(sim: Sim) -> None:
    for code in ("ABCDEF", "ABCDEFGHIJ", "Ünïcødé-1", "LEADER2026", "ABCDEF12"):
        assert accept(sim, update(inviteCode=code))["inviteCode"] == code
    assert accept(sim, update(inviteCode=None))["inviteCode"] == "ABCDEF12"  # left out: kept
    # a public leader's code is neither checked nor stored
    assert accept(sim, update(isNeedInvite=0, inviteCode="x"))["inviteCode"] == "ABCDEF12"
    assert accept(sim, update(isNeedInvite=0, inviteCode=""))["inviteCode"] == "ABCDEF12"


def test_rule10_a_code_is_taken_once_stored() -> None:
    seed = default_seed()
    sim = _sim(seed)
    try:
        accept(sim, update(inviteCode="SHARED01"))
        reject(
            sim,
            k7_update(inviteCode="SHARED01"),
            ErrorCode.INVITE_CODE_EXISTS,
            key=SECOND_LEADER_KEY,
        )
    finally:
        sim.close()


def test_the_rules_apply_in_their_order(sim: Sim) -> None:
    """3 before 5 before 6 ... before 10: a body breaking several gets the first's code."""
    broken = {
        3: {"unLeadEndTime": 0},
        5: {"profitRate": "0.9"},
        7: {"symbolIds": ["ETH-SWAP-USDT"]},
        8: {"leadPositionType": 1},
        9: {"recommendShareRate": "0"},
        10: {"inviteCode": "ABC"},
    }
    rows = {3: ErrorCode.COOL_DOWN_INVALID, 5: ErrorCode.LEADER_CONFIG_INVALID,
            7: ErrorCode.SYMBOL_CHANGE_NOT_ALLOWED, 8: ErrorCode.POSITION_TYPE_CHANGE_NOT_ALLOWED,
            9: ErrorCode.LEADER_CONFIG_INVALID, 10: ErrorCode.INVITE_CODE_INVALID}  # fmt: skip
    numbers = sorted(broken)
    for i, first in enumerate(numbers):
        body = update()
        for number in numbers[i:]:
            body.update(broken[number])
        reject(sim, body, rows[first])
    reject(sim, k7_update(isNeedInvite=0, symbolIds=["XRP"]), ErrorCode.INVITE_SWITCH_NOT_ALLOWED,
           key=SECOND_LEADER_KEY)  # rule 6 before 7 # fmt: skip


def test_an_update_is_a_full_replacement(sim: Sim) -> None:
    body = update(tradeProtect=-5, inviteScope=77, followAssetLowerLimit="250.5", profitRate="0.05")
    stored = accept(sim, body)
    for name in ("tradeProtect", "inviteScope", "followAssetLowerLimit", "profitRate"):
        assert stored[name] == body[name]
    assert list(stored) == list(SCHEMAS["LeaderConfig"]["properties"])  # the schema's order


# ---- removeFollower ----------------------------------------------------------------------
@pytest.mark.parametrize("value", ["0", "-1", "abc", "1.5", "9223372036854775808"])
def test_remove_rule1_the_follower_user_id(sim: Sim, value: str) -> None:
    before = sim.state()
    resp = sim.signed("DELETE", f"{FOLLOWERS}/{value}", key=LEADER_KEY)
    refused(resp, ErrorCode.INVALID_PARAMETER, "followerUserId")
    assert sim.state() == before


@pytest.mark.parametrize("follower", [NO_RELATION, SECOND_FOLLOWER, S5, 1])
def test_remove_rule2_not_one_of_its_followers(sim: Sim, follower: int) -> None:
    before = sim.state()
    refused(
        sim.signed("DELETE", f"{FOLLOWERS}/{follower}", key=LEADER_KEY),
        ErrorCode.FOLLOWER_NOT_FOUND,
    )
    assert sim.state() == before


def test_remove_rule3_a_follower_with_copy_positions(sim: Sim) -> None:
    before = sim.state()
    refused(
        sim.signed("DELETE", f"{FOLLOWERS}/{DEMO_FOLLOWER}", key=LEADER_KEY),
        ErrorCode.FOLLOWER_HAS_POSITIONS,
    )
    assert sim.state() == before


def test_remove_rule3_a_position_under_another_leader_refuses_it_too() -> None:
    """remove-refused-while-any-position-open: the demo follower also follows K7, with its
    open position under S5 only."""
    seed = default_seed()
    extra = copy.deepcopy(next(f for f in seed["follows"] if f["leaderUserId"] == K7))
    extra["followerId"] = DEMO_FOLLOWER
    seed["follows"].append(extra)
    sim = _sim(seed)
    try:
        before = sim.state()
        resp = sim.signed("DELETE", f"{FOLLOWERS}/{DEMO_FOLLOWER}", key=SECOND_LEADER_KEY)
        refused(resp, ErrorCode.FOLLOWER_HAS_POSITIONS)
        assert sim.state() == before
    finally:
        sim.close()


# ---- both sides of one exchange (the cross-side tests) -------------------------
def test_raising_fixed_amount_follow_min_refuses_a_smaller_single_place_amount(sim: Sim) -> None:
    """The leader's fixedAmountFollowMin (updateLeaderConfig) is the follower's minimum
    per-order amount (updateFollowConfig rule 6): a follow config accepted before is
    refused after the leader raises it, with rule 6's documented code naming the field."""
    fixed_amount = {**CONFIG_EXAMPLE, "followAmountMode": 0, "singlePlaceAmount": "20"}
    assert data(sim.signed("PUT", CONFIG, body=fixed_amount)) is None
    assert accept(sim, update(fixedAmountFollowMin="30"))["fixedAmountFollowMin"] == "30"
    before = sim.state()
    resp = sim.signed("PUT", CONFIG, body=fixed_amount)
    refused(resp, ErrorCode.INVALID_PARAMETER, "singlePlaceAmount")
    assert (
        ErrorCode.INVALID_PARAMETER
        in next(o for o in OPERATIONS if o.operation_id == "updateFollowConfig").error_codes
    )
    assert sim.state() == before
    # rule 9 reads it too, and the new minimum itself passes
    refused(sim.signed("PUT", CONFIG, body={**CONFIG_EXAMPLE, "dailyMaxInvestAmount": "29"}),
            ErrorCode.INVALID_PARAMETER, "dailyMaxInvestAmount")  # fmt: skip
    assert data(sim.signed("PUT", CONFIG, body={**fixed_amount, "singlePlaceAmount": "30"})) is None
    # lowered again, the smaller amount passes again (the system's 5 stays the floor)
    accept(sim, update(fixedAmountFollowMin="5"))
    assert data(sim.signed("PUT", CONFIG, body={**fixed_amount, "singlePlaceAmount": "5"})) is None
    refused(sim.signed("PUT", CONFIG, body={**fixed_amount, "singlePlaceAmount": "4.99"}),
            ErrorCode.INVALID_PARAMETER, "singlePlaceAmount")  # fmt: skip


def test_the_leader_s_other_minimums_feed_rules_7_and_8(sim: Sim) -> None:
    """fixedRateFollowMin is the fixed-rate minimum investment (rules 7, 8), and
    followAssetLowerLimit the fixed-amount minimum follow investment (rule 8)."""
    fixed_rate = {**CONFIG_EXAMPLE, "investAmount": "60", "realInvestAmount": "60",
                  "isolatedReservedAmount": "0"}  # fmt: skip
    assert data(sim.signed("PUT", CONFIG, body=fixed_rate)) is None  # S5's 50
    accept(sim, update(fixedRateFollowMin="70"))
    refused(
        sim.signed("PUT", CONFIG, body=fixed_rate), ErrorCode.INVALID_PARAMETER, "realInvestAmount"
    )
    refused(sim.signed("PUT", CONFIG, body={**fixed_rate, "realInvestAmount": "70"}),
            ErrorCode.INVALID_PARAMETER, "investAmount")  # fmt: skip
    fixed_amount = {**CONFIG_EXAMPLE, "followAmountMode": 0, "investAmount": "150"}
    assert data(sim.signed("PUT", CONFIG, body=fixed_amount)) is None
    accept(sim, update(followAssetLowerLimit="200"))
    refused(
        sim.signed("PUT", CONFIG, body=fixed_amount), ErrorCode.INVALID_PARAMETER, "investAmount"
    )
    # another leader's config is not this follower's concern
    accept(
        sim, k7_update(fixedAmountFollowMin="9000", fixedRateFollowMin="9000"), SECOND_LEADER_KEY
    )
    assert data(sim.signed("PUT", CONFIG, body={**fixed_amount, "investAmount": "200"})) is None


def test_remove_follower_ends_the_relation_on_both_sides(sim: Sim) -> None:
    """K7 removes 10002 (no open position): My Followers no longer lists it, and the
    follower's GET /leaders no longer shows K7 (its last relation: -32045), nor does its
    follow config for K7 exist."""
    assert [x["leaderUserId"] for x in data(sim.signed("GET", LEADERS, key=SECOND_KEY))] == [
        str(K7)
    ]
    assert data(sim.signed("GET", FOLLOWERS, key=SECOND_LEADER_KEY))["total"] == "1"
    assert (
        data(sim.signed("DELETE", f"{FOLLOWERS}/{SECOND_FOLLOWER}", key=SECOND_LEADER_KEY)) is None
    )
    assert data(sim.signed("GET", FOLLOWERS, key=SECOND_LEADER_KEY)) == {
        "pages": "0",
        "total": "0",
        "list": [],
    }
    refused(sim.signed("GET", LEADERS, key=SECOND_KEY), ErrorCode.FOLLOWER_NOT_FOUND)
    refused(
        sim.signed("GET", CONFIG, f"leaderUserId={K7}", key=SECOND_KEY),
        ErrorCode.FOLLOWER_NOT_FOUND,
    )
    refused(sim.signed("PUT", CONFIG, body=K7_CONFIG, key=SECOND_KEY), ErrorCode.FOLLOWER_NOT_FOUND)
    # once gone, it is not a follower any more (-32045), and S5's follower is untouched
    refused(
        sim.signed("DELETE", f"{FOLLOWERS}/{SECOND_FOLLOWER}", key=SECOND_LEADER_KEY),
        ErrorCode.FOLLOWER_NOT_FOUND,
    )
    assert data(sim.signed("GET", FOLLOWERS, key=LEADER_KEY))["total"] == "1"
    assert [x["leaderUserId"] for x in data(sim.signed("GET", LEADERS))] == [str(S5)]


def test_a_removal_leaves_the_follower_s_other_leaders() -> None:
    """The second follower also follows S5: removed by K7, it still sees S5 (and S5 it)."""
    seed = default_seed()
    extra = copy.deepcopy(next(f for f in seed["follows"] if f["leaderUserId"] == S5))
    extra["followerId"] = SECOND_FOLLOWER
    seed["follows"].append(extra)
    sim = _sim(seed)
    try:
        assert data(sim.signed("GET", FOLLOWERS, key=LEADER_KEY))["total"] == "2"
        assert (
            data(sim.signed("DELETE", f"{FOLLOWERS}/{SECOND_FOLLOWER}", key=SECOND_LEADER_KEY))
            is None
        )
        assert [x["leaderUserId"] for x in data(sim.signed("GET", LEADERS, key=SECOND_KEY))] == [
            str(S5)
        ]
        assert data(sim.signed("GET", FOLLOWERS, key=LEADER_KEY))["total"] == "2"
        # and S5 removes it too: gone from both
        assert data(sim.signed("DELETE", f"{FOLLOWERS}/{SECOND_FOLLOWER}", key=LEADER_KEY)) is None
        refused(sim.signed("GET", LEADERS, key=SECOND_KEY), ErrorCode.FOLLOWER_NOT_FOUND)
        assert data(sim.signed("GET", FOLLOWERS, key=LEADER_KEY))["total"] == "1"
    finally:
        sim.close()


def test_a_follower_s_cancel_leaves_my_followers_too(sim: Sim) -> None:
    assert data(sim.signed("DELETE", f"{LEADERS}/{K7}", key=SECOND_KEY)) is None
    assert data(sim.signed("GET", FOLLOWERS, key=SECOND_LEADER_KEY))["total"] == "0"


# ---- durability ----------------------------------------------------------------------------
def test_acknowledged_leader_writes_survive_kill_9(tmp_path: Path) -> None:
    db = tmp_path / "sim.db"
    body = update(fixedAmountFollowMin="42", inviteCode="DURABLE1", symbolIds=["BTC-SWAP-USDT"])
    with server(db) as (base, proc), httpx.Client(base_url=base, timeout=10) as client:
        resp = signed(client, "PUT", LEADER_CONFIG, body=body, key=LEADER_KEY)
        assert resp.json() == {"code": 200, "msg": "success", "data": None}
        resp = signed(client, "DELETE", f"{FOLLOWERS}/{SECOND_FOLLOWER}", key=SECOND_LEADER_KEY)
        assert resp.json() == {"code": 200, "msg": "success", "data": None}
        acknowledged = client.get("/_sim/state").json()
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    with server(db) as (base, _), httpx.Client(base_url=base, timeout=10) as client:
        assert client.get("/_sim/state").json() == acknowledged
        stored = signed(client, "GET", LEADER_CONFIG, key=LEADER_KEY).json()["data"]
        assert (stored["fixedAmountFollowMin"], stored["inviteCode"]) == ("42", "DURABLE1")
        pairs = signed(client, "GET", SYMBOLS, key=LEADER_KEY).json()["data"]
        assert [p["isLead"] for p in pairs] == [1, 0, 0]
        assert (
            signed(client, "GET", LEADERS, key=SECOND_KEY).json()["code"]
            == ErrorCode.FOLLOWER_NOT_FOUND
        )


# ---- the seed's leader documents are checked against the spec ---------------------------
@pytest.mark.parametrize(
    ("change", "where"),
    [
        (lambda s5: s5["config"].update(profitRate=0.1), "leaders[0].config.profitRate"),
        (lambda s5: s5["config"].pop("symbolIds"), "leaders[0].config"),
        (
            lambda s5: s5["config"].update(symbolIds=["XRP-SWAP-USDT"]),
            "leaders[0].config.symbolIds",
        ),
        (lambda s5: s5["symbols"][0].update(isLead=1), "leaders[0].symbols[0].isLead"),
        (lambda s5: s5["orders"][0].pop("markPrice"), "leaders[0].orders[0]"),
        (lambda s5: s5["orders"].append(dict(s5["orders"][0])), "leaders[0].orders"),
        (lambda s5: s5["history"][0].update(closeTime="later"), "leaders[0].history[0].closeTime"),
        (lambda s5: s5["tradeData"].pop(), "leaders[0].tradeData"),
        (lambda s5: s5["tradeData"][0].update(type=8), "leaders[0].tradeData[0].type"),
        (
            lambda s5: s5["tradeData"][0].update(orderCount="5"),
            "leaders[0].tradeData[0].orderCount",
        ),
        (lambda s5: s5["profitSharing"][0].update(year="2026"), "leaders[0].profitSharing[0].year"),
        (lambda s5: s5.update(active="yes"), "leaders[0].active"),
        (lambda s5: s5.update(minSinglePlaceAmount="10"), "leaders[0]"),
    ],
)
def test_a_bad_leader_document_in_the_seed_is_named(change: Any, where: str) -> None:
    seed = default_seed()
    change(next(x for x in seed["leaders"] if x["id"] == S5))
    with pytest.raises(SeedError, match=re.escape(f"seed {where}")):
        load_seed(seed)


@pytest.mark.parametrize(
    ("change", "where"),
    [
        (lambda s: s["follows"][0].pop("follower"), "follows[0].follower"),
        (
            lambda s: s["follows"][0]["follower"].update(followAmountLimit="1"),
            "follows[0].follower.followAmountLimit",
        ),
        (lambda s: s["follows"][0]["follower"].pop("totalProfit"), "follows[0].follower"),
        (lambda s: s["follows"][0].pop("sinceMs"), "follows[0].sinceMs"),
        (
            lambda s: s["levels"][0]["limits"].update(profitRate=["0.5", "0.1"]),
            "levels[0].limits.profitRate",
        ),
        (lambda s: s["levels"][0]["limits"].update(leverage=["0", "1"]), "levels[0].limits"),
        (lambda s: s["accounts"].append({"id": S5}), "leaders[0]"),
        (lambda s: s["follows"][0].update(followerId=K7), "follows[0].followerId"),
        (lambda s: s["system"].pop("minFollowInvestAmount"), "system.minFollowInvestAmount"),
    ],
)
def test_a_bad_relation_or_level_in_the_seed_is_named(change: Any, where: str) -> None:
    seed = default_seed()
    change(seed)
    with pytest.raises(SeedError, match=re.escape(f"seed {where}")):
        load_seed(seed)
