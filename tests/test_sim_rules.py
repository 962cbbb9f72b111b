"""Business rules: every numbered rule of updateFollowConfig with its code, the
stop-profit-loss rules, history paging, cancel, and malformed bodies. Every rejected
write is checked to leave the state digest unchanged."""

from __future__ import annotations

import copy
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from test_sim_support import (
    CONFIG,
    CONFIG_EXAMPLE,
    CURRENT,
    HISTORY,
    K7,
    K7_CONFIG,
    LEADERS,
    S5,
    SECOND_KEY,
    STOP,
    STOP_EXAMPLE,
    Sim,
    assert_error,
    compact,
    envelope_ok,
)
from toobit_follower_models.errors import BY_CODE
from toobit_follower_sim import DEFAULT_SEED_PATH

SPEC = yaml.safe_load((Path(__file__).resolve().parents[1] / "openapi.yaml").read_text())
SCHEMAS = SPEC["components"]["schemas"]
MSG_1102 = "Mandatory parameter '{}' was not sent, was empty/null, or malformed."
MSG_1130 = "Data sent for paramter '{}' is not valid."

DECIMALS = [
    "investAmount",
    "singlePlaceAmount",
    "dailyMaxInvestAmount",
    "leverage",
    "stopProfitRate",
    "stopLossRate",
    "realInvestAmount",
    "isolatedReservedAmount",
]


def default_seed() -> dict[str, Any]:
    return dict(yaml.safe_load(Path(DEFAULT_SEED_PATH).read_text()))


@pytest.fixture
def sim() -> Iterator[Sim]:
    s = Sim()
    yield s
    s.close()


def reject(
    sim: Sim, method: str, path: str, body: Any, code: int, name: str | None, key: str | None = None
) -> None:
    """The write is refused with `code` naming `name`, and nothing changed."""
    before = sim.state()
    kwargs = {"key": key} if key else {}
    resp = sim.signed(
        method, path, body=body if isinstance(body, bytes) else compact(body), **kwargs
    )
    row = BY_CODE[code]
    assert_error(resp, code, row.http_status, row.format_message(name=name) if name else None)
    assert sim.state() == before


def accept_config(sim: Sim, body: dict[str, Any], key: str | None = None) -> None:
    kwargs = {"key": key} if key else {}
    assert envelope_ok(sim.signed("PUT", CONFIG, body=body, **kwargs)) is None
    stored = envelope_ok(
        sim.signed("GET", CONFIG, f"leaderUserId={body['leaderUserId']}", **kwargs)
    )
    # The properties FollowConfig declares, exactly as sent (the leader as its digits).
    expected = {k: v for k, v in body.items() if k in SCHEMAS["FollowConfig"]["properties"]}
    expected["leaderUserId"] = str(body["leaderUserId"])
    assert stored == expected


def k7(**changes: Any) -> dict[str, Any]:
    return dict(K7_CONFIG, **changes)


def s5(**changes: Any) -> dict[str, Any]:
    return dict(CONFIG_EXAMPLE, **changes)


# -- rule 2: missing, null, wrong JSON type -> -1102 -------------------------
@pytest.mark.parametrize("field", SCHEMAS["FollowConfigUpdate"]["required"])
def test_rule2_missing_field(sim: Sim, field: str) -> None:
    body = k7()
    del body[field]
    reject(sim, "PUT", CONFIG, body, -1102, field, SECOND_KEY)


@pytest.mark.parametrize("field", SCHEMAS["FollowConfigUpdate"]["required"])
def test_rule2_null_field(sim: Sim, field: str) -> None:
    reject(sim, "PUT", CONFIG, k7(**{field: None}), -1102, field, SECOND_KEY)


WRONG_TYPES = [
    ("investAmount", 300),
    ("investAmount", 300.5),
    ("leverage", True),
    ("maxInvestRate", 0.5),
    ("followSymbolIds", ["BTC-SWAP-USDT"]),
    ("followAmountMode", "0"),
    ("followAmountMode", 0.5),
    ("followMarginType", False),
    ("stopLossDelay", 10.5),
    ("stopLossDelay", "10"),
    ("zeroSlippageSwitch", 0),
    ("zeroSlippageSwitch", "false"),
    ("leaderUserId", str(K7)),
    ("leaderUserId", K7 + 0.5),
    ("leaderUserId", True),
    ("leaderUserId", {"id": K7}),
]


@pytest.mark.parametrize(
    ("field", "value"), WRONG_TYPES, ids=[f"{f}={v!r}" for f, v in WRONG_TYPES]
)
def test_rule2_wrong_json_type(sim: Sim, field: str, value: Any) -> None:
    reject(sim, "PUT", CONFIG, k7(**{field: value}), -1102, field, SECOND_KEY)


@pytest.mark.parametrize("field", [*DECIMALS, "maxInvestRate", "followSymbolIds"])
@pytest.mark.parametrize("blank", ["", "   "])
def test_blank_strings_are_missing(sim: Sim, field: str, blank: str) -> None:
    reject(sim, "PUT", CONFIG, k7(**{field: blank}), -1102, field, SECOND_KEY)


def test_integral_numbers_are_integers(sim: Sim) -> None:
    # JSON Schema's `integer` (and Jackson's default) takes 30.0 and 3e1 as 30.
    body = (
        b'{"leaderUserId":123456789.0,"symbolId":"BTC-SWAP-USDT","isLong":1.0,'
        b'"stopProfitRate":"0.1","stopLossRate":"0.2","stopLossDelay":3e1}'
    )
    assert envelope_ok(sim.signed("PUT", STOP, body=body)) is None
    assert sim.dump()["positions"][0]["stopLossDelay"] == 30
    accept = dict(K7_CONFIG, followAmountMode=0.0, followMarginType=1.0, stopLossDelay=10.0)
    assert envelope_ok(sim.signed("PUT", CONFIG, body=accept, key=SECOND_KEY)) is None
    stored = envelope_ok(sim.signed("GET", CONFIG, f"leaderUserId={K7}", key=SECOND_KEY))
    assert (stored["followAmountMode"], stored["followMarginType"], stored["stopLossDelay"]) == (
        0,
        1,
        10,
    )
    assert type(stored["stopLossDelay"]) is int


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (b"1e30", -1130),
        (b"1e999999999", -1130),
        (b"9223372036854775808.0", -1130),
        (b"-1.0", -1130),
        (b"1.5", -1102),
        (b"1e-3", -1102),
    ],
)
def test_non_integers_and_huge_numbers(sim: Sim, raw: bytes, code: int) -> None:
    body = b'{"leaderUserId":' + raw + b',"symbolId":"BTC-SWAP-USDT","isLong":1}'
    reject(sim, "PUT", STOP, body, code, "leaderUserId")


# -- rule 3: decimals: <= 8 places, not negative -> -1130 ---------------------
@pytest.mark.parametrize("field", DECIMALS)
@pytest.mark.parametrize(
    "value",
    [
        "-1",
        "1.123456789",
        "1e2",
        "1E2",
        " 1",
        "1 ",
        "+1",
        "1.",
        ".5",
        "abc",
        "1" * 21,
        "0x10",
        "1,5",
        "NaN",
    ],
)
def test_rule3_decimal_format(sim: Sim, field: str, value: str) -> None:
    reject(sim, "PUT", CONFIG, k7(**{field: value}), -1130, field, SECOND_KEY)


def test_rule3_eight_places_are_fine(sim: Sim) -> None:
    accept_config(
        sim,
        k7(
            investAmount="300.12345678",
            realInvestAmount="300.12345678",
            isolatedReservedAmount="0.00000001",
        ),
        SECOND_KEY,
    )


# -- rule 4: maxInvestRate in [0, 1] ----------------------------------------
@pytest.mark.parametrize("value", ["1.5", "1.00000001", "-0.1", "0.123456789", "2", "01"])
def test_rule4_max_invest_rate_out_of_range(sim: Sim, value: str) -> None:
    reject(sim, "PUT", CONFIG, k7(maxInvestRate=value), -1130, "maxInvestRate", SECOND_KEY)


@pytest.mark.parametrize("value", ["0", "1", "1.0", "1.00000000", "0.00000001", "0.5"])
def test_rule4_max_invest_rate_edges(sim: Sim, value: str) -> None:
    accept_config(sim, k7(maxInvestRate=value), SECOND_KEY)


# -- rule 5: followSymbolIds -------------------------------------------------
@pytest.mark.parametrize(
    "value",
    [
        "BTC-SWAP-USDT,",
        ",BTC-SWAP-USDT",
        "BTC-SWAP-USDT,,ETH-SWAP-USDT",
        "all,BTC-SWAP-USDT",
        "BTC-SWAP-USDT,all",
        "BTC-SWAP-USDT, all ",
        "BTC-SWAP-USDT, ,ETH-SWAP-USDT",
    ],
)
def test_rule5_follow_symbol_ids_invalid(sim: Sim, value: str) -> None:
    reject(sim, "PUT", CONFIG, k7(followSymbolIds=value), -1130, "followSymbolIds", SECOND_KEY)


# Spec 2.0.0: the page gives symbol IDs no case, length or spacing rule (issue 14).
@pytest.mark.parametrize(
    "value",
    ["all", "BTC-SWAP-USDT", "BTC-SWAP-USDT,ETH-SWAP-USDT", "X" * 64, "A_B-1", "ALL,BTC-SWAP-USDT",
     "btc-swap-usdt", "BTC-SWAP-USDT,eth-swap-usdt", "BTC SWAP", "BTC-SWAP-USDT, ETH-SWAP-USDT",
     "-BTC", "X" * 65, ",".join(["ABCDEFGH"] * 460)],
)  # fmt: skip
def test_rule5_follow_symbol_ids_valid(sim: Sim, value: str) -> None:
    accept_config(sim, k7(followSymbolIds=value), SECOND_KEY)


# -- rule 6: fixed amount ----------------------------------------------------
def test_rule6_single_place_amount_below_leader_minimum(sim: Sim) -> None:
    # S5's own minimum (10) is above the system's (5).
    body = s5(followAmountMode=0, singlePlaceAmount="9.99999999")
    reject(sim, "PUT", CONFIG, body, -1130, "singlePlaceAmount")
    accept_config(sim, s5(followAmountMode=0, singlePlaceAmount="10"))


def test_rule6_single_place_amount_below_system_minimum() -> None:
    seed = default_seed()
    seed["system"]["minSinglePlaceAmount"] = "8"  # above K7's own minimum (5)
    sim = Sim(seed)
    try:
        reject(
            sim,
            "PUT",
            CONFIG,
            k7(singlePlaceAmount="7.99999999"),
            -1130,
            "singlePlaceAmount",
            SECOND_KEY,
        )
        accept_config(sim, k7(singlePlaceAmount="8"), SECOND_KEY)
    finally:
        sim.close()


def test_rule6_real_invest_covers_reserve_plus_single(sim: Sim) -> None:
    body = k7(isolatedReservedAmount="10", singlePlaceAmount="30", realInvestAmount="39.99999999")
    reject(sim, "PUT", CONFIG, body, -1130, "realInvestAmount", SECOND_KEY)
    accept_config(sim, dict(body, realInvestAmount="40"), SECOND_KEY)


# -- rule 7: fixed rate ------------------------------------------------------
def test_rule7_real_invest_below_fixed_rate_minimum(sim: Sim) -> None:
    body = k7(followAmountMode=1, isolatedReservedAmount="0", realInvestAmount="49.99999999")
    reject(sim, "PUT", CONFIG, body, -1130, "realInvestAmount", SECOND_KEY)
    accept_config(sim, dict(body, realInvestAmount="50"), SECOND_KEY)


def test_rule7_real_invest_covers_reserve_plus_fixed_rate_minimum(sim: Sim) -> None:
    body = s5(isolatedReservedAmount="5", realInvestAmount="54.99999999")
    reject(sim, "PUT", CONFIG, body, -1130, "realInvestAmount")
    accept_config(sim, dict(body, realInvestAmount="55"))


def test_rule7_single_place_amount_is_not_checked_in_fixed_rate_mode(sim: Sim) -> None:
    accept_config(sim, s5(singlePlaceAmount="0"))


# -- rule 8: investAmount against the mode's minimum ---------------------------
def test_rule8_fixed_amount_leader_minimum_investment(sim: Sim) -> None:
    reject(
        sim,
        "PUT",
        CONFIG,
        s5(followAmountMode=0, investAmount="99.99999999"),
        -1130,
        "investAmount",
    )
    accept_config(sim, s5(followAmountMode=0, investAmount="100"))


def test_rule8_fixed_rate_minimum_investment(sim: Sim) -> None:
    reject(sim, "PUT", CONFIG, s5(investAmount="49.99999999"), -1130, "investAmount")
    accept_config(sim, s5(investAmount="50"))


# -- rule 9: dailyMaxInvestAmount ------------------------------------------------
def test_rule9_daily_max_zero_means_no_limit(sim: Sim) -> None:
    accept_config(sim, s5(dailyMaxInvestAmount="0"))


def test_rule9_daily_max_below_minimum_per_order(sim: Sim) -> None:
    reject(sim, "PUT", CONFIG, s5(dailyMaxInvestAmount="9.99999999"), -1130, "dailyMaxInvestAmount")
    accept_config(sim, s5(dailyMaxInvestAmount="10"))


# -- rule 10: leverage -------------------------------------------------------
def test_rule10_leverage_above_system_maximum(sim: Sim) -> None:
    reject(sim, "PUT", CONFIG, k7(leverage="50.00000001"), -1130, "leverage", SECOND_KEY)
    accept_config(sim, k7(leverage="50"), SECOND_KEY)


def test_rule10_leverage_frozen_while_positions_are_open(sim: Sim) -> None:
    reject(sim, "PUT", CONFIG, s5(leverage="21"), -1130, "leverage")
    reject(sim, "PUT", CONFIG, s5(leverage="19.99999999"), -1130, "leverage")
    accept_config(sim, s5(leverage="20.00"))  # the same value, written differently


def test_rule10_leverage_changes_without_positions(sim: Sim) -> None:
    accept_config(sim, k7(leverage="3"), SECOND_KEY)


# -- rule 11: stop rates -------------------------------------------------------
@pytest.mark.parametrize("field", ["stopProfitRate", "stopLossRate"])
@pytest.mark.parametrize("value", ["0.009", "0.00999999", "0.00000001", "0.001"])
def test_rule11_non_zero_stop_rate_below_one_percent(sim: Sim, field: str, value: str) -> None:
    reject(sim, "PUT", CONFIG, k7(**{field: value}), -1130, field, SECOND_KEY)


@pytest.mark.parametrize("value", ["0", "0.0", "0.00000000", "0.01", "0.01000001", "2.5", "100"])
def test_rule11_stop_rate_valid(sim: Sim, value: str) -> None:
    accept_config(sim, k7(stopProfitRate=value, stopLossRate=value), SECOND_KEY)


# -- rule 12 and the other enums / integers ------------------------------------
BAD_VALUES = [
    ("followMarginType", 3),
    ("followMarginType", -1),
    ("followAmountMode", 2),
    ("stopLossDelay", -1),
    ("stopLossDelay", 2**31),
    ("leaderUserId", 0),
    ("leaderUserId", -5),
    ("leaderUserId", 2**63),
    ("leaderUserId", 10**40),
]


@pytest.mark.parametrize(("field", "value"), BAD_VALUES, ids=[f"{f}={v}" for f, v in BAD_VALUES])
def test_rule12_and_integer_ranges(sim: Sim, field: str, value: int) -> None:
    reject(sim, "PUT", CONFIG, k7(**{field: value}), -1130, field, SECOND_KEY)


@pytest.mark.parametrize("margin_type", [0, 1, 2])
def test_rule12_margin_types(sim: Sim, margin_type: int) -> None:
    accept_config(sim, k7(followMarginType=margin_type, stopLossDelay=2**31 - 1), SECOND_KEY)


# -- rule 13 -------------------------------------------------------------------
def test_rule13_leader_not_followed(sim: Sim) -> None:
    reject(sim, "PUT", CONFIG, k7(leaderUserId=555), -32045, None, SECOND_KEY)
    reject(sim, "PUT", CONFIG, s5(leaderUserId=K7), -32045, None)


# -- bodies ------------------------------------------------------------------
MALFORMED = [
    b"",
    b"null",
    b"[]",
    b"[1,2]",
    b'"text"',
    b"123",
    b" {}",
    b"{",
    b'{"leaderUserId":1,}',
    b"\xff\xfe{}",
    b'{"leaderUserId":' + b"9" * 5000 + b"}",
    b"[" * 100_000,
    b'{"leaderUserId":NaN}',
    b"\xef\xbb\xbf{}",
]


@pytest.mark.parametrize("path", [CONFIG, STOP])
@pytest.mark.parametrize("body", MALFORMED, ids=[repr(b[:20]) for b in MALFORMED])
def test_malformed_bodies(sim: Sim, path: str, body: bytes) -> None:
    reject(sim, "PUT", path, body, -1102, "body")


def test_oversized_body(sim: Sim) -> None:
    body = compact(k7(followSymbolIds="A" * 70_000))
    reject(sim, "PUT", CONFIG, body, -1102, "body", SECOND_KEY)


def test_unknown_field(sim: Sim) -> None:
    """Spec, "Unknown parameters": a body field the schema does not declare is -1103,
    also one another body or response declares; nothing changes."""
    reject(sim, "PUT", CONFIG, k7(extra=1), -1103, "extra", SECOND_KEY)
    reject(sim, "PUT", CONFIG, k7(leaderNickname="K7"), -1103, "leaderNickname", SECOND_KEY)
    reject(sim, "PUT", STOP, dict(STOP_EXAMPLE, leverage="20"), -1103, "leverage")
    reject(sim, "PUT", STOP, dict(STOP_EXAMPLE, **{"": 1}), -1103, "")


def test_unknown_field_after_missing_and_before_invalid(sim: Sim) -> None:
    body = k7(extra=1)
    del body["leverage"]
    reject(sim, "PUT", CONFIG, body, -1102, "leverage", SECOND_KEY)
    reject(sim, "PUT", CONFIG, k7(extra=1, leverage="-1"), -1103, "extra", SECOND_KEY)


def _example(name: str, schema: dict[str, Any]) -> Any:
    """A valid value for one property, from the spec: its (or its $ref's) example, enum
    or default, else one made from its type and pattern."""
    while True:
        for key in ("examples", "enum"):
            if key in schema:
                return schema[key][-1]
        if "default" in schema:
            return schema["default"]
        if "$ref" not in schema:
            break
        schema = SCHEMAS[schema["$ref"].rsplit("/", 1)[1]]
    kind = schema.get("type")
    if kind == "boolean":
        return True
    if kind == "integer":
        return min(schema.get("minimum", 0) + 1, schema.get("maximum", 2**31))
    if kind == "string" and "pattern" in schema:
        from hypothesis import strategies

        return strategies.from_regex(schema["pattern"], fullmatch=True).example()
    raise AssertionError(f"{name}: the test cannot make a value of {schema}")


SHARED_CONFIG_FIELDS = [
    name
    for name in SCHEMAS["FollowConfigUpdate"]["properties"]
    if name in SCHEMAS["FollowConfig"]["properties"] and name != "leaderUserId"
]


@pytest.mark.parametrize("field", SHARED_CONFIG_FIELDS)
def test_config_round_trip_of_every_shared_property(sim: Sim, field: str) -> None:
    """Every FollowConfigUpdate property that FollowConfig declares is stored and served
    exactly. The value comes from the spec; K7_CONFIG differs from the spec's examples,
    so each write changes the one property."""
    assert envelope_ok(sim.signed("PUT", CONFIG, body=k7(), key=SECOND_KEY)) is None
    before = envelope_ok(sim.signed("GET", CONFIG, f"leaderUserId={K7}", key=SECOND_KEY))
    value = _example(field, SCHEMAS["FollowConfigUpdate"]["properties"][field])
    if type(value) is bool and value == before.get(field):
        value = not value
    assert value != before.get(field), f"{field}: the spec's example is K7's seeded value"
    resp = sim.signed("PUT", CONFIG, body=k7(**{field: value}), key=SECOND_KEY)
    assert resp.json["code"] == 200, (field, value, resp.json)
    served = envelope_ok(sim.signed("GET", CONFIG, f"leaderUserId={K7}", key=SECOND_KEY))
    assert served[field] == value and type(served[field]) is type(value)
    assert served == {**before, field: value}


# -- stop-profit-loss ---------------------------------------------------------
def stop(**changes: Any) -> dict[str, Any]:
    return dict(STOP_EXAMPLE, **changes)


def position(sim: Sim) -> dict[str, Any]:
    (only,) = envelope_ok(sim.signed("GET", CURRENT))
    return dict(only)


@pytest.mark.parametrize("field", ["leaderUserId", "symbolId", "isLong"])
def test_stop_required_fields(sim: Sim, field: str) -> None:
    body = stop()
    del body[field]
    reject(sim, "PUT", STOP, body, -1102, field)


STOP_INVALID = [
    ("stopProfitRate", "-0.1"),
    ("stopProfitRate", "0.123456789"),
    ("stopLossRate", "1e-1"),
    ("stopLossDelay", -1),
    ("isLong", 2),
    ("symbolId", "BTC-SWAP-USDT,ETH-SWAP-USDT"),
    ("leaderUserId", 0),
]


@pytest.mark.parametrize(
    ("field", "value"), STOP_INVALID, ids=[f"{f}={v}" for f, v in STOP_INVALID]
)
def test_stop_invalid_values(sim: Sim, field: str, value: Any) -> None:
    reject(sim, "PUT", STOP, stop(**{field: value}), -1130, field)


@pytest.mark.parametrize(
    ("field", "value"),
    [("stopLossDelay", "30"), ("isLong", True), ("stopProfitRate", 0.1), ("symbolId", "")],
)
def test_stop_wrong_types(sim: Sim, field: str, value: Any) -> None:
    reject(sim, "PUT", STOP, stop(**{field: value}), -1102, field)


@pytest.mark.parametrize(
    "changes",
    [{"symbolId": "ETH-SWAP-USDT"}, {"isLong": 0}, {"leaderUserId": K7}, {"leaderUserId": 555}],
    ids=["other symbol", "other direction", "other leader", "unknown leader"],
)
def test_stop_needs_the_matching_open_position(sim: Sim, changes: dict[str, Any]) -> None:
    reject(sim, "PUT", STOP, stop(**changes), -32045, None)


def test_stop_field_left_out_keeps_its_value(sim: Sim) -> None:
    assert envelope_ok(sim.signed("PUT", STOP, body=stop())) is None
    only_loss = {
        k: v
        for k, v in stop(stopLossRate="0.35").items()
        if k not in ("stopProfitRate", "stopLossDelay")
    }
    assert envelope_ok(sim.signed("PUT", STOP, body=only_loss)) is None
    got = position(sim)
    assert (got["stopProfitRate"], got["stopLossRate"]) == ("0.1", "0.35")
    assert sim.dump()["positions"][0]["stopLossDelay"] == 30
    bare = {k: STOP_EXAMPLE[k] for k in ("leaderUserId", "symbolId", "isLong")}
    before = sim.state()
    assert envelope_ok(sim.signed("PUT", STOP, body=bare)) is None
    assert sim.state() == before


def test_stop_zero_means_not_configured(sim: Sim) -> None:
    assert envelope_ok(sim.signed("PUT", STOP, body=stop())) is None
    assert (
        envelope_ok(sim.signed("PUT", STOP, body=stop(stopProfitRate="0", stopLossRate="0.00")))
        is None
    )
    got = position(sim)
    assert (got["stopProfitRate"], got["stopLossRate"]) == ("", "")


def test_stop_does_not_touch_the_follow_config(sim: Sim) -> None:
    config = envelope_ok(sim.signed("GET", CONFIG, f"leaderUserId={S5}"))
    assert envelope_ok(sim.signed("PUT", STOP, body=stop(stopProfitRate="0.5"))) is None
    assert envelope_ok(sim.signed("GET", CONFIG, f"leaderUserId={S5}")) == config


# -- history -----------------------------------------------------------------
def history(sim: Sim, params: str, key: str = SECOND_KEY) -> Any:
    return sim.signed("GET", HISTORY, params, key=key)


def test_history_pages(sim: Sim) -> None:
    first = envelope_ok(history(sim, "page=1&size=2"))
    assert (first["pages"], first["total"]) == ("2", "3")
    assert [x["lastCloseTimeMs"] for x in first["list"]] == ["1717103600000", "1717010000000"]
    second = envelope_ok(history(sim, "page=2&size=2"))
    assert [x["symbolId"] for x in second["list"]] == ["SOL-SWAP-USDT"]
    beyond = envelope_ok(history(sim, "page=3&size=2"))
    assert beyond == {"pages": "2", "total": "3", "list": []}
    last = envelope_ok(history(sim, "page=9223372036854775807&size=100"))
    assert last["list"] == [] and last["pages"] == "1"


def test_history_defaults(sim: Sim) -> None:
    assert envelope_ok(history(sim, "")) == envelope_ok(history(sim, "page=1&size=10"))


@pytest.mark.parametrize(
    ("params", "code", "name"),
    [
        ("size=101", -1130, "size"),
        ("size=0", -1130, "size"),
        ("size=-1", -1130, "size"),
        ("page=0", -1130, "page"),
        ("page=-3", -1130, "page"),
        ("page=" + "1" + "0" * 30, -1130, "page"),
        ("page=9223372036854775808", -1130, "page"),
        ("page=abc", -1130, "page"),
        ("page=1.0", -1130, "page"),
        ("page=1e3", -1130, "page"),
        ("page=%FF", -1130, "page"),
        ("page=", -1102, "page"),
        ("size=", -1102, "size"),
        ("page=1&page=2", -1130, "page"),
    ],
)
def test_history_bad_paging(sim: Sim, params: str, code: int, name: str) -> None:
    template = MSG_1102 if code == -1102 else MSG_1130
    assert_error(history(sim, params), code, 400, template.format(name))


def _many_history_seed(count: int, rng: random.Random) -> tuple[dict[str, Any], list[int]]:
    seed = default_seed()
    closes = rng.sample(range(1_700_000_000_000, 1_700_000_000_000 + 10**9), count)
    for i, close in enumerate(closes):
        seed["history"].append(
            {
                "followerId": 10002,
                "leaderUserId": K7,
                "symbolId": f"S{i}-SWAP-USDT",
                "positionType": 1,
                "leverage": "10",
                "isLong": i % 2,
                "openTimeMs": close - 1000,
                "lastCloseTimeMs": close,
                "openAvgPrice": "1",
                "closeAvgPrice": "2",
                "maxPositionQuantity": "1",
                "closedQuantity": "1",
                "realizedProfit": "1",
                "closeStatus": 2,
            }
        )
    return seed, closes


def test_history_pages_cover_every_row_once_newest_first() -> None:
    rng = random.Random(5)
    seed, closes = _many_history_seed(47, rng)
    sim = Sim(seed)
    try:
        seen: list[int] = []
        page = 1
        while True:
            data = envelope_ok(history(sim, f"page={page}&size=10"))
            assert data["total"] == "50" and data["pages"] == "5"
            if not data["list"]:
                break
            seen.extend(int(x["lastCloseTimeMs"]) for x in data["list"])
            page += 1
        assert page == 6
        seeded = [1717103600000, 1717010000000, 1716950000000]
        assert seen == sorted(closes + seeded, reverse=True)
    finally:
        sim.close()


def test_history_added_out_of_order_is_renumbered(sim: Sim) -> None:
    store = sim.app.sim.store
    seed, _ = _many_history_seed(5, random.Random(9))
    store.add_history(seed["history"][-5:])
    store.add_history([dict(seed["history"][-1], lastCloseTimeMs=1, symbolId="OLDEST")])
    data = envelope_ok(history(sim, "page=1&size=100"))
    assert data["total"] == "9"
    got = [int(x["lastCloseTimeMs"]) for x in data["list"]]
    assert got == sorted(got, reverse=True) and data["list"][-1]["symbolId"] == "OLDEST"


# -- config query parameters ----------------------------------------------------
@pytest.mark.parametrize(
    ("params", "code"),
    [
        ("", -1102),
        ("leaderUserId=", -1102),
        ("leaderUserId=abc", -1130),
        ("leaderUserId=0", -1130),
        ("leaderUserId=-1", -1130),
        ("leaderUserId=9223372036854775808", -1130),
        ("leaderUserId=123456789&leaderUserId=123456789", -1130),
        ("leaderUserId=%20123456789", -1130),
    ],
)
def test_get_config_bad_leader(sim: Sim, params: str, code: int) -> None:
    template = MSG_1102 if code == -1102 else MSG_1130
    assert_error(sim.signed("GET", CONFIG, params), code, 400, template.format("leaderUserId"))


# -- cancel ------------------------------------------------------------------
def test_cancel_removes_the_relation(sim: Sim) -> None:
    assert envelope_ok(sim.signed("DELETE", f"{LEADERS}/{K7}", key=SECOND_KEY)) is None
    # K7 was 10002's only leader: no active relation is left.
    assert_error(sim.signed("GET", LEADERS, key=SECOND_KEY), -32045, 400)
    assert_error(sim.signed("GET", CONFIG, f"leaderUserId={K7}", key=SECOND_KEY), -32045, 400)
    before = sim.state()
    assert_error(sim.signed("DELETE", f"{LEADERS}/{K7}", key=SECOND_KEY), -32045, 400)
    assert sim.state() == before


def test_cancel_one_of_two_leaders() -> None:
    seed = default_seed()
    extra = copy.deepcopy(seed["follows"][1])
    extra["leaderUserId"] = S5
    seed["follows"].append(extra)
    sim = Sim(seed)
    try:
        before = envelope_ok(sim.signed("GET", LEADERS, key=SECOND_KEY))
        assert [x["leaderUserId"] for x in before] == [str(K7), str(S5)]
        assert envelope_ok(sim.signed("DELETE", f"{LEADERS}/{K7}", key=SECOND_KEY)) is None
        after = envelope_ok(sim.signed("GET", LEADERS, key=SECOND_KEY))
        assert after == before[1:]
        assert_error(sim.signed("GET", CONFIG, f"leaderUserId={K7}", key=SECOND_KEY), -32045, 400)
        assert envelope_ok(sim.signed("GET", CONFIG, f"leaderUserId={S5}", key=SECOND_KEY))
        # History stays with the follower; the page still shows K7's name.
        assert envelope_ok(history(sim, ""))["total"] == "3"
    finally:
        sim.close()


def test_cancel_with_open_positions(sim: Sim) -> None:
    reject(sim, "DELETE", f"{LEADERS}/{S5}", b"", -120055, None)
    assert len(envelope_ok(sim.signed("GET", LEADERS))) == 1


BAD_SEGMENTS = ["abc", "0", "-1", "1e3", "1.0", str(2**63), "%20", "\uff11\uff12\uff13"]


@pytest.mark.parametrize("segment", BAD_SEGMENTS)
def test_cancel_bad_leader_id(sim: Sim, segment: str) -> None:
    reject(sim, "DELETE", f"{LEADERS}/{segment}", b"", -1130, "leaderUserId", SECOND_KEY)


def test_cancel_unknown_leader(sim: Sim) -> None:
    reject(sim, "DELETE", f"{LEADERS}/555", b"", -32045, None, SECOND_KEY)
