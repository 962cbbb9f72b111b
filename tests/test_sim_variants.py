"""The simulator's variants mode (issue 14, item 4): success answers in the tolerant shapes
the contract allows, seeded, never outside the spec.

Every answer of every operation is checked against the operation's 200 schema with
jsonschema (tests/test_reader.py's `admitted`, not the simulator's own check), and
against the answer the contract's mode gives: a variant changes a value's shape (a number
for digits, exponent notation), unsets it ("" or null), leaves an optional property out,
adds an undeclared one, or puts an unlisted value in an open enum; nothing else.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from test_reader import OPERATIONS, admitted
from test_sim_support import (
    CONFIG,
    CONFIG_EXAMPLE,
    CURRENT,
    FOLLOWERS,
    HISTORY,
    K7,
    LEAD_CURRENT,
    LEAD_HISTORY,
    LEADER_CONFIG,
    LEADER_CONFIG_EXAMPLE,
    LEADER_KEY,
    LEADERS,
    NO_RELATION_KEY,
    PROFIT_SHARING,
    S5,
    SECOND_KEY,
    SECOND_LEADER_KEY,
    STOP,
    STOP_EXAMPLE,
    SYMBOLS,
    TRADE_DATA,
    Resp,
    Sim,
)
from toobit_follower_sim.cli import _parser
from toobit_follower_sim.variants import KINDS, Variants

ANSWERS_PER_OPERATION = 40
EXTRA = "simExtra"
SECOND_FOLLOWER = 10002  # follows K7 without open positions: K7 may remove it

# One request per operation of the spec, each answered with a success by the default seed.
REQUESTS: dict[str, Callable[[Sim], Resp]] = {
    "getServerTime": lambda sim: sim.raw("GET", "/api/v1/time"),
    "listCurrentOrders": lambda sim: sim.signed("GET", CURRENT),
    "listHistoryOrders": lambda sim: sim.signed("GET", HISTORY, "page=1&size=10"),
    "getFollowConfig": lambda sim: sim.signed("GET", CONFIG, f"leaderUserId={S5}"),
    "listLeaders": lambda sim: sim.signed("GET", LEADERS),
    "updateStopProfitLoss": lambda sim: sim.signed("PUT", STOP, body=STOP_EXAMPLE),
    "updateFollowConfig": lambda sim: sim.signed("PUT", CONFIG, body=CONFIG_EXAMPLE),
    "cancelLeader": lambda sim: sim.signed("DELETE", f"{LEADERS}/{K7}", key=SECOND_KEY),
    "listCurrentLeadOrders": lambda sim: sim.signed("GET", LEAD_CURRENT, key=LEADER_KEY),
    "listHistoryLeadOrders": lambda sim: sim.signed("GET", LEAD_HISTORY, "size=3", key=LEADER_KEY),
    "getTradeData": lambda sim: sim.signed("GET", TRADE_DATA, "type=30", key=LEADER_KEY),
    "listProfitSharingHistory": lambda sim: sim.signed("GET", PROFIT_SHARING, key=LEADER_KEY),
    "listLeaderSymbols": lambda sim: sim.signed("GET", SYMBOLS, key=LEADER_KEY),
    "getLeaderConfig": lambda sim: sim.signed("GET", LEADER_CONFIG, key=LEADER_KEY),
    "updateLeaderConfig": lambda sim: sim.signed(
        "PUT", LEADER_CONFIG, body=LEADER_CONFIG_EXAMPLE, key=LEADER_KEY
    ),
    "listFollowers": lambda sim: sim.signed("GET", FOLLOWERS, key=LEADER_KEY),
    "removeFollower": lambda sim: sim.signed(
        "DELETE", f"{FOLLOWERS}/{SECOND_FOLLOWER}", key=SECOND_LEADER_KEY
    ),
}


def test_every_operation_of_the_spec_has_a_request() -> None:
    assert set(REQUESTS) == set(OPERATIONS)


def _answers(op_id: str, **options: Any) -> list[Any]:
    """The operation's answers from a fresh simulator, reset to the seed before each."""
    sim = Sim(**options)
    try:
        found = []
        for _ in range(ANSWERS_PER_OPERATION):
            sim.raw("POST", "/_sim/reset")
            resp = REQUESTS[op_id](sim)
            assert resp.status == 200, resp.body
            found.append(resp.json)
        if options.get("variants"):
            variants = sim.app.sim.variants
            assert variants is not None
            assert variants.answers == ANSWERS_PER_OPERATION
        return found
    finally:
        sim.close()


def _same_meaning(original: Any, variant: Any, where: str, seen: Counter[str]) -> None:
    """`variant` is `original` in another shape the variants may take, and no other change."""
    if isinstance(original, dict):
        assert isinstance(variant, dict), where
        for name, value in original.items():
            if name not in variant:
                seen["absent"] += 1
                continue
            _same_meaning(value, variant[name], f"{where}.{name}", seen)
        extra = set(variant) - set(original)
        assert all(name.startswith(EXTRA) for name in extra), (where, extra)
        seen["extra-field"] += len(extra)
    elif isinstance(original, list):
        assert isinstance(variant, list) and len(variant) == len(original), where
        for i, (a, b) in enumerate(zip(original, variant, strict=True)):
            _same_meaning(a, b, f"{where}[{i}]", seen)
    elif variant == original and type(variant) is type(original):
        return
    elif variant is None:
        seen["null"] += 1
    elif variant == "":
        seen["empty"] += 1
    elif isinstance(original, str) and isinstance(variant, int):
        assert variant == int(original), where
        seen["number"] += 1
    elif isinstance(original, str) and isinstance(variant, str):
        assert "E" in variant and Decimal(variant) == Decimal(original), (where, variant)
        seen["exponent"] += 1
    else:
        assert type(original) is int and type(variant) is int, (where, original, variant)
        seen["unknown-enum"] += 1


@pytest.mark.parametrize("op_id", sorted(REQUESTS))
def test_every_variant_is_in_the_spec_and_means_the_same(op_id: str) -> None:
    contract = _answers(op_id)
    assert all(answer == contract[0] for answer in contract)  # the contract's answer
    varied = _answers(op_id, variants=True, variants_seed=11)
    seen: Counter[str] = Counter()
    for answer in varied:
        assert admitted(op_id, answer), answer
        _same_meaning(contract[0], answer, op_id, seen)
    assert any(answer != contract[0] for answer in varied)
    if op_id in (
        "updateStopProfitLoss", "updateFollowConfig", "cancelLeader", "updateLeaderConfig",
        "removeFollower",
    ):  # fmt: skip
        assert seen["absent"] > 0  # a write's success without `data`


def test_every_kind_is_served() -> None:
    sim = Sim(variants=True, variants_seed=3)
    try:
        for _ in range(10):
            for request in REQUESTS.values():
                sim.raw("POST", "/_sim/reset")
                request(sim)
        variants = sim.app.sim.variants
        assert variants is not None
        assert set(variants.served) == set(KINDS), Counter(KINDS) - variants.served
    finally:
        sim.close()


def _bodies(seed: int) -> list[bytes]:
    sim = Sim(variants=True, variants_seed=seed)
    try:
        return [request(sim).body for request in REQUESTS.values() for _ in range(3)]
    finally:
        sim.close()


def test_a_seed_gives_the_same_answers() -> None:
    assert _bodies(5) == _bodies(5)
    assert _bodies(5) != _bodies(6)


def test_errors_are_never_varied() -> None:
    plain, varied = Sim(), Sim(variants=True)
    try:
        for _ in range(20):
            expected = plain.signed("GET", CURRENT, key=NO_RELATION_KEY)
            answer = varied.signed("GET", CURRENT, key=NO_RELATION_KEY)
            assert (answer.status, answer.body) == (expected.status, expected.body)
        variants = varied.app.sim.variants
        assert variants is not None and variants.answers == 0
    finally:
        plain.close()
        varied.close()


def test_a_variant_outside_the_schema_is_never_sent(monkeypatch: pytest.MonkeyPatch) -> None:
    plain, varied = Sim(), Sim(variants=True)
    try:
        monkeypatch.setattr(Variants, "admits", lambda self, schema, value: False)
        expected = plain.signed("GET", LEADERS).body
        assert varied.signed("GET", LEADERS).body == expected
        variants = varied.app.sim.variants
        assert variants is not None and not variants.served
    finally:
        plain.close()
        varied.close()


def test_the_serve_flags() -> None:
    args = _parser().parse_args(["serve", "--variants", "--variants-seed", "9"])
    assert (args.variants, args.variants_seed) == (True, 9)
    args = _parser().parse_args(["serve"])
    assert (args.variants, args.variants_seed) == (False, 0)


def test_the_answers_are_compact_json() -> None:
    sim = Sim(variants=True)
    try:
        body = sim.signed("GET", LEADERS).body
        assert body == json.dumps(json.loads(body), separators=(",", ":")).encode()
    finally:
        sim.close()
