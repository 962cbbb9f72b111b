"""Issue 17, item 7, the simulator's side: no request value can make a pattern backtrack and
hold the event loop.

One signed PUT /config whose `followSymbolIds` was forty short items froze a simulator for
good: `validation._value_ok` ran Python's `re.fullmatch` of the spec's FollowSymbolIds
pattern, whose nested quantifiers backtrack exponentially on a value that fails. Here, on a
real server (`python -m toobit_follower_sim serve` on 127.0.0.1, a free port), the
adversarial values of both formerly vulnerable patterns get their documented refusal while
another client's requests keep being answered. No wall-clock assertion: the other client
uses a short per-request timeout, and the refusals must arrive before its requests are done.
In process: what `pattern_matches` means (a JSON Schema search, in linear time).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from test_sim_server import server, signed
from test_sim_support import CONFIG, CONFIG_EXAMPLE, STOP, STOP_EXAMPLE
from toobit_follower_models.errors import BY_CODE, ErrorCode
from toobit_follower_sim.spec import FieldRule, SpecError
from toobit_follower_sim.validation import BodyPlan, pattern_matches

INVALID = ErrorCode.INVALID_PARAMETER

# FollowSymbolIds' former pattern ^[^,]*[^,\s][^,]*(,[^,]*[^,\s][^,]*)*$: exponential in the
# number of items when the last one is blank ("ab," * 22 + " " took 0.75 s in Python's re,
# each further item doubles it). SymbolId's former ^[^,]*[^,\s][^,]*$: quadratic in the
# length when a comma ends it (recheck's attack string: 54,773 characters, then a comma).
ATTACKS = [
    (CONFIG, CONFIG_EXAMPLE, "followSymbolIds", "ab," * 40 + " "),
    (STOP, STOP_EXAMPLE, "symbolId", "a" * 60_000 + ","),  # under the 64 KiB body cap
]
BYSTANDER_REQUESTS = 100  # the other client's GET /api/v1/time, one after another
BYSTANDER_TIMEOUT = 3.0  # seconds for each of them: a frozen server fails it at once
BYSTANDER_PAUSE = 0.02  # between them: the refusals have at least 100 x 20 ms to arrive


@dataclass
class Bystander:
    """Another client asking for the server time while the attacks are in flight."""

    base: str
    answered: int = 0
    failures: list[str] = field(default_factory=list)
    done: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        try:
            with httpx.Client(base_url=self.base, timeout=BYSTANDER_TIMEOUT) as client:
                for _ in range(BYSTANDER_REQUESTS):
                    try:
                        resp = client.get("/api/v1/time")
                    except httpx.HTTPError as error:
                        self.failures.append(f"request {self.answered + 1}: {error!r}")
                        return  # the server is frozen: no point waiting 3 s more each time
                    if resp.status_code != 200 or "serverTime" not in resp.json():
                        self.failures.append(f"request {self.answered + 1}: {resp.text[:200]}")
                        return
                    self.answered += 1
                    self.done.wait(BYSTANDER_PAUSE)
        finally:
            self.done.set()


def test_adversarial_values_are_refused_while_others_are_served(tmp_path: Path) -> None:
    refusals: dict[str, tuple[int, int, str]] = {}
    answered_by_then: dict[str, int] = {}
    errors: list[str] = []

    with server(tmp_path / "sim.db") as (base, _):
        bystander = Bystander(base)

        def attacker() -> None:
            # A long timeout only so that the old code cannot hang the test for good: the
            # assertions below are about order, not time.
            with httpx.Client(base_url=base, timeout=120) as client:
                for path, example, name, value in ATTACKS:
                    try:
                        resp = signed(client, "PUT", path, body={**example, name: value})
                    except httpx.HTTPError as error:
                        errors.append(f"{name}: {error!r}")
                        return
                    answered_by_then[name] = bystander.answered
                    body: dict[str, Any] = resp.json()
                    refusals[name] = (resp.status_code, body.get("code"), body.get("msg"))

        attack = threading.Thread(target=attacker, daemon=True)
        watch = threading.Thread(target=bystander.run, daemon=True)
        attack.start()
        watch.start()
        watch.join(timeout=BYSTANDER_REQUESTS * (BYSTANDER_TIMEOUT + 1))
        attack_done_first = not attack.is_alive()
        # Leaving the block kills the server, which ends a request still hanging there.
    attack.join(timeout=30)

    assert bystander.failures == [], (
        f"the server stopped answering GET /api/v1/time after {bystander.answered} answers "
        f"while the attack was in flight: {bystander.failures}"
    )
    assert bystander.answered == BYSTANDER_REQUESTS
    assert errors == []
    assert attack_done_first, (
        f"the refusals had not arrived when the other client's {BYSTANDER_REQUESTS} "
        f"requests were done (answered: {sorted(refusals)})"
    )
    for _, _, name, _ in ATTACKS:
        assert refusals[name] == (400, INVALID, BY_CODE[INVALID].format_message(name=name))
        assert answered_by_then[name] < BYSTANDER_REQUESTS


# ---- pattern_matches: JSON Schema's `pattern`, in linear time ------------------------------
def test_pattern_matches_is_a_search_as_json_schema_says() -> None:
    assert pattern_matches("b", "abc")  # unanchored: anywhere in the value
    assert not pattern_matches("^b", "abc")
    assert pattern_matches("^a.c$", "abc")
    assert not pattern_matches("^abc$", "abc\n")  # $ is the end (not before a last newline)
    assert pattern_matches(r"^\s$", "\u00a0") and pattern_matches(r"^\s$", "\u2028")
    assert not pattern_matches(r"^\s$", ",")


def test_pattern_matches_is_linear_on_the_former_attacks() -> None:
    old = r"^[^,]*[^,\s][^,]*(,[^,]*[^,\s][^,]*)*$"  # exponential in Python's re
    assert not pattern_matches(old, "ab," * 100_000 + " ")  # ~2^100000 steps when backtracking
    assert pattern_matches(old, "ab," * 100_000 + "x")
    assert not pattern_matches(r"^[^,]*[^,\s][^,]*$", "a" * 1_000_000 + ",")


def test_a_pattern_no_linear_engine_runs_stops_the_simulator_at_start() -> None:
    import re

    rule = FieldRule(
        name="x", required=True, kind="string", schema_name=None, enum=None, minimum=None,
        maximum=None, pattern=re.compile(r"^(?!all$).*$"), max_length=None, is_decimal=False,
    )  # fmt: skip
    with pytest.raises(SpecError, match="no linear-time match"):
        BodyPlan((rule,))


def test_blank_is_ecma_262s_blank_as_json_schema_says() -> None:
    """A spec `pattern` is an ECMA-262 regular expression: its `\\s` has no U+0085 nor
    U+001C..U+001F (Rust's and Python's have). The contract fuzz found a followSymbolIds
    item "\\x85" refused although the spec's pattern admits it (seed 2)."""
    import yaml
    from toobit_follower_sim.validation import pattern_matches

    root = Path(__file__).resolve().parent.parent
    spec = yaml.safe_load((root / "openapi.yaml").read_text(encoding="utf-8"))
    pattern = spec["components"]["schemas"]["FollowSymbolIds"]["pattern"]
    for admitted in ("BTC-SWAP-USDT,\x85", "\x85", "a,\x1c", " a"):
        assert pattern_matches(pattern, admitted), repr(admitted)
    for refused in ("BTC-SWAP-USDT, ", "\u00a0", "a,\u3000", "a,,b", ""):
        assert not pattern_matches(pattern, refused), repr(refused)


def test_the_models_second_gate_defers_to_the_ecma_pattern() -> None:
    """The generated model matches patterns with pydantic-core (U+0085 is blank there):
    its pattern verdict does not override the contract's (seed 2's fuzz finding went
    through validation's pattern and was refused by the model's)."""
    import yaml
    from toobit_follower_models import FollowConfigUpdate
    from toobit_follower_sim.errors import ApiError
    from toobit_follower_sim.validation import check_model

    root = Path(__file__).resolve().parent.parent
    spec = yaml.safe_load((root / "openapi.yaml").read_text(encoding="utf-8"))
    body = spec["paths"]["/api/v2/copy-trading/follower/config"]["put"]["requestBody"]
    example = next(iter(body["content"]["application/json"]["examples"].values()))["value"]
    check_model(FollowConfigUpdate, {**example, "followSymbolIds": "BTC-SWAP-USDT,\x85"})
    with pytest.raises(ApiError):  # any other refusal of the model still counts
        check_model(FollowConfigUpdate, {**example, "leverage": "abc"})
