"""Every assumption is visible and switchable (issue 14, item 3): the simulator plays the
contract's reading of each x-assumption marker by default, and its `alternative` when
told (`SimOptions.assumptions`, `serve --assume ID=alternative`).

For every marker of openapi.yaml that has an alternative (tools/assumptions.py's list) a
scenario below shows the two readings answer differently, each as stated. A marker with
an alternative the simulator neither plays nor declares unplayable fails here on purpose:
someone has to implement it or drop its `alternative`.
"""

from __future__ import annotations

import copy
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from test_sim_support import (
    CONFIG,
    CONFIG_EXAMPLE,
    CURRENT,
    DEMO_KEY,
    FOLLOWERS,
    HISTORY,
    K7,
    K7_CONFIG,
    K7_LEADER_CONFIG,
    LEAD_HISTORY,
    LEADER_CONFIG,
    LEADER_CONFIG_EXAMPLE,
    LEADER_KEY,
    LEADERS,
    NO_RELATION_KEY,
    PROFIT_SHARING,
    READ_ONLY_KEY,
    S5,
    SECOND_KEY,
    SECOND_LEADER_KEY,
    STOP,
    STOP_EXAMPLE,
    Resp,
    Sim,
    compact,
    sign,
)
from toobit_follower_models.errors import BY_NAME, ErrorCode
from toobit_follower_sim import SimOptions
from toobit_follower_sim.assumptions import (
    ALTERNATIVE,
    CONTRACT,
    FLAG_ALIASES,
    NOT_PLAYABLE,
    PLAYED,
    AssumptionError,
    parse_assume,
    spec_markers,
    with_flag_aliases,
)
from toobit_follower_sim.cli import main as sim_main
from toobit_follower_sim.testing import default_seed

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import assumptions  # noqa: E402

MARKERS = assumptions.load()
WITH_ALTERNATIVE = [a for a in MARKERS if a.alternative]
OK = (200, 200)
DEMO_FOLLOWER = 10001  # the demo key's account


def _refused(row: ErrorCode) -> tuple[int, int]:
    """(HTTP status, code) of an error-table row, as the contract answers it."""
    info = BY_NAME[row.name]
    return info.http_status, info.code


def _outcome(resp: Resp) -> tuple[int, int]:
    return resp.status, resp.code


def _put(
    sim: Sim,
    path: str,
    body: dict[str, Any],
    *,
    key: str = DEMO_KEY,
    signed_body: bool = True,
    content_type: bytes = b"application/json",
) -> Resp:
    """A PUT signed over the query string and (unless told otherwise) the body."""
    raw = compact(body)
    query = f"recvWindow=5000&timestamp={sim.clock.now}"
    signature = sign(query.encode() + (raw if signed_body else b""))
    headers = [(b"x-bb-apikey", key.encode()), (b"content-type", content_type)]
    return sim.raw("PUT", path, f"{query}&signature={signature}".encode(), raw, headers)


def _position(sim: Sim) -> dict[str, Any]:
    (position,) = sim.signed("GET", CURRENT).json["data"]
    return dict(position)


# ---- one scenario per marker with an alternative -------------------------------------
def _second_leader_seed() -> dict[str, Any]:
    """The demo follower (an open position under S5) also follows K7, with none under it."""
    seed = default_seed()
    second = copy.deepcopy(next(f for f in seed["follows"] if f["leaderUserId"] == K7))
    second["followerId"] = next(f["followerId"] for f in seed["follows"] if f["leaderUserId"] == S5)
    seed["follows"].append(second)
    return seed


def _low_leader_minimum_seed() -> dict[str, Any]:
    """K7's minimum per-order amount (1) below the system's (5)."""
    seed = default_seed()
    next(x for x in seed["leaders"] if x["id"] == K7)["config"]["fixedAmountFollowMin"] = "1"
    return seed


def _leader_seed(**config: Any) -> Callable[[], dict[str, Any]]:
    """The default seed with these values in the demo leader's config (None: left out)."""

    def seed() -> dict[str, Any]:
        data = default_seed()
        stored = next(x for x in data["leaders"] if x["id"] == S5)["config"]
        stored.update(config)
        for name in [name for name, value in config.items() if value is None]:
            del stored[name]
        return data

    return seed


def _leader_put(sim: Sim, key: str = LEADER_KEY, **changes: Any) -> tuple[int, int]:
    """The page's config update with these changes (None: left out), as the leader."""
    body = {**LEADER_CONFIG_EXAMPLE, **changes}
    return _outcome(
        _put(sim, LEADER_CONFIG, {k: v for k, v in body.items() if v is not None}, key=key)
    )


def _first(sim: Sim, path: str, params: str = "", key: str = LEADER_KEY) -> Any:
    data = sim.signed("GET", path, params, key=key).json["data"]
    return (data["list"] if isinstance(data, dict) else data)[0]


def _stop_rates_after_leaving_one_out(sim: Sim) -> tuple[Any, ...]:
    assert _outcome(_put(sim, STOP, STOP_EXAMPLE)) == OK
    left_out = {k: v for k, v in STOP_EXAMPLE.items() if k != "stopProfitRate"}
    assert _outcome(_put(sim, STOP, {**left_out, "stopLossRate": "0.3"})) == OK
    position = _position(sim)
    return position["stopProfitRate"], position["stopLossRate"]


def _decimal_as_number(sim: Sim) -> tuple[Any, ...]:
    number = _outcome(_put(sim, STOP, {**STOP_EXAMPLE, "stopLossRate": 0.25}))
    stored = _position(sim)["stopLossRate"]
    exponent = _outcome(_put(sim, STOP, {**STOP_EXAMPLE, "stopProfitRate": "1.5E-1"}))
    return number, stored, exponent, _position(sim)["stopProfitRate"]


def _rate_limited(sim: Sim) -> tuple[Any, ...]:
    sim.signed("GET", CURRENT)
    over = sim.signed("GET", CURRENT)
    return over.status, "retry-after" in over.headers


@dataclass(frozen=True)
class Scenario:
    run: Callable[[Sim], Any]
    contract: Any
    alternative: Any
    seed: Callable[[], dict[str, Any]] | None = None
    options: dict[str, Any] = field(default_factory=dict)


SCENARIOS: dict[str, Scenario] = {
    "unknown-parameter-refused": Scenario(
        lambda sim: _outcome(sim.signed("GET", CURRENT, "foo=1")),
        _refused(ErrorCode.UNKNOWN_PARAM),
        OK,
    ),
    "body-signed-with-query": Scenario(
        lambda sim: _outcome(_put(sim, STOP, STOP_EXAMPLE, signed_body=False)),
        _refused(ErrorCode.INVALID_SIGNATURE),
        OK,
    ),
    "request-decimal-plain-string": Scenario(
        _decimal_as_number,
        (
            _refused(ErrorCode.MANDATORY_PARAM_EMPTY_OR_MALFORMED),
            "",  # the seed's: refused
            _refused(ErrorCode.INVALID_PARAMETER),
            "",
        ),
        (OK, "0.25", OK, "0.15"),  # stored in plain notation
    ),
    "put-content-type-json": Scenario(
        lambda sim: _outcome(_put(sim, STOP, STOP_EXAMPLE, content_type=b"text/plain")),
        _refused(ErrorCode.INVALID_PARAMETER),
        OK,
    ),
    "read-only-before-validation": Scenario(
        lambda sim: _outcome(
            _put(sim, STOP, {"symbolId": "BTC-SWAP-USDT", "isLong": 1}, key=READ_ONLY_KEY)
        ),
        _refused(ErrorCode.NOT_SUPPORTED),
        _refused(ErrorCode.MANDATORY_PARAM_EMPTY_OR_MALFORMED),
    ),
    "history-size-at-least-one": Scenario(
        lambda sim: (lambda r: (_outcome(r), r.json.get("data")))(
            sim.signed("GET", HISTORY, "page=1&size=0")
        ),
        (_refused(ErrorCode.INVALID_PARAMETER), None),
        (OK, {"pages": "0", "total": "1", "list": []}),
    ),
    "stop-profit-loss-rate-format": Scenario(
        lambda sim: _outcome(_put(sim, STOP, {**STOP_EXAMPLE, "stopLossRate": "0.005"})),
        OK,
        _refused(ErrorCode.INVALID_PARAMETER),
    ),
    "stop-profit-loss-position-not-found": Scenario(
        lambda sim: (
            _outcome(_put(sim, STOP, {**STOP_EXAMPLE, "symbolId": "ETH-SWAP-USDT"})),
            _outcome(_put(sim, STOP, {**STOP_EXAMPLE, "leaderUserId": K7})),  # not followed
        ),
        (_refused(ErrorCode.FOLLOWER_NOT_FOUND), _refused(ErrorCode.FOLLOWER_NOT_FOUND)),
        (_refused(ErrorCode.INVALID_PARAMETER), _refused(ErrorCode.FOLLOWER_NOT_FOUND)),
    ),
    "stop-profit-loss-field-left-out-kept": Scenario(
        _stop_rates_after_leaving_one_out, ("0.1", "0.3"), ("", "0.3")
    ),
    "min-per-order-higher-of-leader-and-system": Scenario(
        lambda sim: _outcome(
            _put(sim, CONFIG, {**K7_CONFIG, "singlePlaceAmount": "3"}, key=SECOND_KEY)
        ),
        _refused(ErrorCode.INVALID_PARAMETER),
        OK,
        seed=_low_leader_minimum_seed,
    ),
    "leverage-frozen-while-any-position-open": Scenario(
        lambda sim: _outcome(_put(sim, CONFIG, K7_CONFIG)),  # leverage 10 -> 15 under K7
        _refused(ErrorCode.INVALID_PARAMETER),
        OK,
        seed=_second_leader_seed,
    ),
    "cancel-refused-while-any-position-open": Scenario(
        lambda sim: _outcome(sim.signed("DELETE", f"{LEADERS}/{K7}")),
        _refused(ErrorCode.FOLLOWER_HAS_POSITIONS),
        OK,
        seed=_second_leader_seed,
    ),
    "retry-after-header": Scenario(
        _rate_limited,
        (_refused(ErrorCode.TOO_MANY_REQUESTS)[0], True),
        (_refused(ErrorCode.TOO_MANY_REQUESTS)[0], False),
        options={"rate_limit": 1, "ban_grace": 5},
    ),
    "follow-symbol-ids-spaces": Scenario(
        lambda sim: _outcome(
            _put(sim, CONFIG, {**CONFIG_EXAMPLE, "followSymbolIds": "BTC-SWAP-USDT, all"})
        ),
        _refused(ErrorCode.INVALID_PARAMETER),
        OK,
    ),
    "error-status-per-code": Scenario(
        lambda sim: (
            _outcome(sim.signed("GET", CURRENT, key=NO_RELATION_KEY)),
            _outcome(sim.signed("GET", CURRENT, "size=0")),
        ),
        (_refused(ErrorCode.FOLLOWER_NOT_FOUND), _refused(ErrorCode.UNKNOWN_PARAM)),
        (
            (200, ErrorCode.FOLLOWER_NOT_FOUND),  # the same code with HTTP 200
            (200, ErrorCode.UNKNOWN_PARAM),
        ),
    ),
    "permission-errors-are-403": Scenario(
        lambda sim: _outcome(_put(sim, STOP, STOP_EXAMPLE, key=READ_ONLY_KEY)),
        _refused(ErrorCode.NOT_SUPPORTED),
        (_refused(ErrorCode.INVALID_PARAMETER)[0], ErrorCode.NOT_SUPPORTED),
    ),
    # -- the leader side
    "leader-lists-newest-first": Scenario(
        lambda sim: (
            _first(sim, LEAD_HISTORY)["closeTime"],
            _first(sim, PROFIT_SHARING)["sharingDate"],
        ),
        ("1717203600000", "2026-06-01"),
        ("1716850000000", "2026-05-25"),
    ),
    "leader-config-round-trip-types": Scenario(
        lambda sim: _leader_put(
            sim, unLeadStartTime="1717200000000", unLeadEndTime="1717286400000"
        ),
        _refused(ErrorCode.MANDATORY_PARAM_EMPTY_OR_MALFORMED),
        OK,
    ),
    "cool-down-window-rule": Scenario(
        lambda sim: (_leader_put(sim, unLeadStartTime=None), _leader_put(sim, unLeadEndTime=None)),
        (OK, _refused(ErrorCode.COOL_DOWN_INVALID)),
        (
            _refused(ErrorCode.MANDATORY_PARAM_EMPTY_OR_MALFORMED),
            _refused(ErrorCode.MANDATORY_PARAM_EMPTY_OR_MALFORMED),
        ),
    ),
    "leader-config-limit-code": Scenario(
        lambda sim: _leader_put(sim, recommendShareRate="0"),
        _refused(ErrorCode.LEADER_CONFIG_INVALID),
        _refused(ErrorCode.INVALID_PARAMETER),
    ),
    "custom-profit-sharing-ratio": Scenario(
        lambda sim: _leader_put(sim, isNeedInvite=0),  # private to public
        OK,  # the account's state: not custom
        _refused(ErrorCode.INVITE_SWITCH_NOT_ALLOWED),  # 0.2 is not the level's 0.1
        seed=_leader_seed(profitRate="0.2"),
    ),
    "leader-symbol-ids-list": Scenario(
        lambda sim: (
            _leader_put(sim, SECOND_LEADER_KEY, **{**K7_LEADER_CONFIG, "symbolIds": []}),
            _leader_put(sim, symbolIds=["BTC-SWAP-USDT", "XRP-SWAP-USDT"]),
        ),
        (OK, _refused(ErrorCode.INVALID_PARAMETER)),
        (_refused(ErrorCode.MANDATORY_PARAM_EMPTY_OR_MALFORMED), OK),
    ),
    "lead-position-type-frozen-while-positions-open": Scenario(
        lambda sim: (_leader_put(sim, leadPositionType=-1), _leader_put(sim, leadPositionType=1)),
        (
            _refused(ErrorCode.POSITION_TYPE_CHANGE_NOT_ALLOWED),
            _refused(ErrorCode.POSITION_TYPE_CHANGE_NOT_ALLOWED),
        ),
        (OK, _refused(ErrorCode.POSITION_TYPE_CHANGE_NOT_ALLOWED)),  # its order is cross
    ),
    "recommend-share-rate-rule": Scenario(
        lambda sim: _leader_put(sim, recommendShare=None, recommendShareRate=None),
        _refused(ErrorCode.LEADER_CONFIG_INVALID),  # the stored switch is on: rate 0
        OK,
    ),
    "invite-code-rule": Scenario(
        lambda sim: (_leader_put(sim, inviteCode="LEADER-26"), _leader_put(sim, inviteCode=None)),
        (OK, OK),
        (
            _refused(ErrorCode.INVITE_CODE_INVALID),
            _refused(ErrorCode.MANDATORY_PARAM_EMPTY_OR_MALFORMED),
        ),
    ),
    "leader-minimums-feed-follow-rules": Scenario(
        lambda sim: _outcome(
            _put(sim, CONFIG, {**CONFIG_EXAMPLE, "followAmountMode": 0, "investAmount": "60"})
        ),
        _refused(ErrorCode.INVALID_PARAMETER),  # S5's followAssetLowerLimit, 100
        OK,  # the system's minimum follow investment, 50
    ),
    "remove-refused-while-any-position-open": Scenario(
        lambda sim: _outcome(
            sim.signed("DELETE", f"{FOLLOWERS}/{DEMO_FOLLOWER}", key=SECOND_LEADER_KEY)
        ),
        _refused(ErrorCode.FOLLOWER_HAS_POSITIONS),  # its position under S5
        OK,
        seed=_second_leader_seed,
    ),
    "follower-user-id-not-listed": Scenario(
        lambda sim: _first(sim, FOLLOWERS).get("followerUserId"),
        None,
        str(DEMO_FOLLOWER),
    ),
    "leader-page-size-range": Scenario(
        lambda sim: _outcome(sim.signed("GET", FOLLOWERS, "size=101", key=LEADER_KEY)),
        OK,
        _refused(ErrorCode.INVALID_PARAMETER),
    ),
    "follower-key-on-leader-endpoint": Scenario(
        lambda sim: (
            _leader_put(sim, DEMO_KEY),
            _outcome(sim.signed("DELETE", f"{FOLLOWERS}/{DEMO_FOLLOWER}")),
            _outcome(sim.signed("GET", LEADER_CONFIG)),
        ),
        (
            _refused(ErrorCode.LEADER_NOT_AVAILABLE),
            _refused(ErrorCode.LEADER_NOT_FOUND),
            _refused(ErrorCode.LEADER_NOT_AVAILABLE),
        ),
        (
            _refused(ErrorCode.LEADER_NOT_FOUND),
            _refused(ErrorCode.LEADER_NOT_FOUND),
            _refused(ErrorCode.LEADER_NOT_AVAILABLE),
        ),
    ),
    "leader-key-on-follower-endpoint": Scenario(
        lambda sim: _outcome(sim.signed("GET", LEADERS, key=LEADER_KEY)),
        _refused(ErrorCode.FOLLOWER_NOT_FOUND),
        _refused(ErrorCode.NO_PERMISSION),
    ),
    "leader-role-after-validation": Scenario(
        lambda sim: _outcome(sim.signed("GET", FOLLOWERS, "size=0")),  # the follower's key
        _refused(ErrorCode.INVALID_PARAMETER),
        _refused(ErrorCode.LEADER_NOT_AVAILABLE),
    ),
    "cool-down-reset-reads-zero": Scenario(
        lambda sim: (lambda c: (c["unLeadType"], c["unLeadStartTime"], c["unLeadEndTime"]))(
            sim.signed("GET", LEADER_CONFIG, key=SECOND_LEADER_KEY).json["data"]
        ),
        (0, "0", "0"),
        (0, None, None),
    ),
    "invite-code-when-none": Scenario(
        lambda sim: (
            sim.signed("GET", LEADER_CONFIG, key=LEADER_KEY)
            .json["data"]
            .get("inviteCode", "left out")
        ),
        "left out",
        "",
        seed=_leader_seed(inviteCode=None, isNeedInvite=0),
    ),
    "trade-protect-values": Scenario(
        lambda sim: _leader_put(sim, tradeProtect=5), OK, _refused(ErrorCode.INVALID_PARAMETER)
    ),
    "is-need-invite-values": Scenario(
        lambda sim: _leader_put(sim, isNeedInvite=5),  # public: any value but 1
        OK,
        _refused(ErrorCode.INVALID_PARAMETER),
    ),
    "recommend-share-values": Scenario(
        lambda sim: _leader_put(sim, recommendShare=5),  # off: any value but 1
        OK,
        _refused(ErrorCode.INVALID_PARAMETER),
    ),
}


def _play(marker: str, choice: str) -> Any:
    scenario = SCENARIOS[marker]
    sim = Sim(
        scenario.seed() if scenario.seed else None,
        assumptions={marker: choice},
        **scenario.options,
    )
    try:
        return scenario.run(sim)
    finally:
        sim.close()


@pytest.mark.parametrize("marker", [a.id for a in WITH_ALTERNATIVE])
def test_each_alternative_is_played_and_answers_otherwise(marker: str) -> None:
    if marker in NOT_PLAYABLE:
        assert marker not in PLAYED and NOT_PLAYABLE[marker]
        with pytest.raises(AssumptionError, match="cannot play") as refused:
            Sim(assumptions={marker: ALTERNATIVE})
        assert NOT_PLAYABLE[marker] in str(refused.value)
        return
    if marker not in PLAYED:
        pytest.fail(
            f"marker {marker} has an alternative but the simulator does not implement it:"
            " implement it in simulator/toobit_follower_sim (the rule that names the marker,"
            " and assumptions.PLAYED) or drop `alternative` from its x-assumption in"
            " openapi.yaml"
        )
    if marker not in SCENARIOS:
        pytest.fail(f"marker {marker} is played: add its scenario to SCENARIOS in {__file__}")
    scenario = SCENARIOS[marker]
    assert scenario.contract != scenario.alternative
    assert _play(marker, CONTRACT) == scenario.contract
    assert _play(marker, ALTERNATIVE) == scenario.alternative


def test_the_tables_name_only_markers_with_an_alternative() -> None:
    with_alternative = {a.id for a in WITH_ALTERNATIVE}
    assert set(PLAYED) | set(NOT_PLAYABLE) == with_alternative
    assert not set(PLAYED) & set(NOT_PLAYABLE)
    assert set(SCENARIOS) == set(PLAYED)
    assert {alias.marker for alias in FLAG_ALIASES.values()} <= set(PLAYED)


def test_the_simulator_reads_the_generated_markers() -> None:
    """One representation: toobit_follower_models.assumptions, as tools/assumptions.py reads
    the spec."""
    assert spec_markers() == {a.id: a.alternative for a in MARKERS}


def test_the_default_is_the_contract_reading() -> None:
    options = SimOptions()
    assert options.assumptions == {}
    sim = Sim()
    assert sim.app.sim.alternatives == frozenset()
    sim.close()


# ---- choices that cannot be taken ----------------------------------------------------------
def test_an_unknown_id_is_refused_naming_the_valid_ones() -> None:
    with pytest.raises(AssumptionError) as refused:
        Sim(assumptions={"cancel-refused-per-leader": ALTERNATIVE})
    message = str(refused.value)
    assert "unknown assumption 'cancel-refused-per-leader'" in message
    assert all(marker in message for marker in PLAYED)


def test_a_marker_without_an_alternative_has_none_to_play() -> None:
    without = next(a.id for a in MARKERS if not a.alternative)
    with pytest.raises(AssumptionError, match="has no alternative"):
        Sim(assumptions={without: ALTERNATIVE})
    Sim(assumptions={without: CONTRACT}).close()  # the contract's reading: always fine


def test_a_choice_is_contract_or_alternative() -> None:
    with pytest.raises(AssumptionError, match="choose contract or alternative"):
        SimOptions(assumptions={"retry-after-header": "other"})  # type: ignore[dict-item]
    assert parse_assume("retry-after-header=alternative") == ("retry-after-header", ALTERNATIVE)
    for bad in ("retry-after-header", "=alternative", "retry-after-header=yes"):
        with pytest.raises(AssumptionError, match="ID=alternative"):
            parse_assume(bad)


# ---- the older serve flags are aliases -----------------------------------------------------
@pytest.mark.parametrize("name", list(FLAG_ALIASES))
def test_an_old_flag_and_its_marker_are_one_choice(name: str) -> None:
    from toobit_follower_sim.cli import _parser

    alias = FLAG_ALIASES[name]
    flag = ["--" + name.replace("_", "-")]
    if alias.values is not None:
        flag.append(alias.values[1])
    args = vars(_parser().parse_args(["serve", *flag]))
    assert with_flag_aliases({}, args) == {alias.marker: ALTERNATIVE}
    assert with_flag_aliases({alias.marker: ALTERNATIVE}, args) == {alias.marker: ALTERNATIVE}
    with pytest.raises(AssumptionError, match=alias.marker):
        with_flag_aliases({alias.marker: CONTRACT}, args)
    assert with_flag_aliases({}, vars(_parser().parse_args(["serve"]))) == {}
    assert not hasattr(SimOptions(), name)  # one representation: SimOptions.assumptions


# ---- the command line ----------------------------------------------------------------------
def test_serve_refuses_an_unknown_assumption_listing_the_valid_ones(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert sim_main(["serve", "--assume", "no-such-marker=alternative"]) == 2
    err = capsys.readouterr().err
    assert "unknown assumption 'no-such-marker'" in err
    assert all(marker in err for marker in PLAYED)
    assert sim_main(["serve", "--assume", "retry-after-header"]) == 2
    assert "ID=alternative" in capsys.readouterr().err


def test_the_assume_flag_is_repeatable() -> None:
    from toobit_follower_sim.cli import _parser

    args = _parser().parse_args(
        ["serve", "--assume", "retry-after-header=alternative", "--assume", "a=contract"]
    )
    assert args.assume == ["retry-after-header=alternative", "a=contract"]


def test_the_listing_names_every_marker_and_what_is_played(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert sim_main(["assumptions"]) == 0
    out = capsys.readouterr().out
    for a in MARKERS:
        assert f"{a.id}\n" in out
    for marker, does in PLAYED.items():
        assert f"--assume {marker}=alternative: {does}" in out
    for marker, why in NOT_PLAYABLE.items():
        assert f"alternative not played: {why}" in out


def test_the_readme_table_is_the_played_table() -> None:
    readme = (ROOT / "simulator" / "README.md").read_text(encoding="utf-8")
    for marker, does in PLAYED.items():
        assert f"| `{marker}` | {does} |" in readme, marker
    for marker, why in NOT_PLAYABLE.items():
        assert f"| `{marker}` | not played: {why} |" in readme, marker
