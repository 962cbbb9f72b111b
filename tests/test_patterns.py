"""Issue 17, item 7: no pattern of the contract can be made to backtrack.

- The rewritten `SymbolId` and `FollowSymbolIds` patterns mean what the 2.0.0 ones meant:
  the same verdict on every string of up to 6 characters over an alphabet of letters,
  blanks of several kinds and commas, and on generated strings of items such as `all`
  and symbol IDs; plus what they accept and refuse, spelled out.
- tools/check_patterns.py (npm `recheck`, pinned) finds every pattern of the document and
  rates each safe; it fails, naming the place, the complexity and an attack string, on the
  2.0.0 patterns, so its pass is not vacuous.
"""

from __future__ import annotations

import itertools
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from toobit_follower_sim.validation import pattern_matches

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

import check_patterns  # noqa: E402

SPEC = yaml.safe_load((ROOT / "openapi.yaml").read_text(encoding="utf-8"))
RELEASE_2_0_0 = ROOT / "spec-releases" / "2.0.0" / "openapi.yaml"
OLD_SPEC = yaml.safe_load(RELEASE_2_0_0.read_text(encoding="utf-8"))
NAMES = ("SymbolId", "FollowSymbolIds")
NEW = {name: SPEC["components"]["schemas"][name]["pattern"] for name in NAMES}
OLD = {name: OLD_SPEC["components"]["schemas"][name]["pattern"] for name in NAMES}
NOT_ALL = SPEC["components"]["schemas"]["FollowSymbolIds"]["not"]["pattern"]


def test_the_two_patterns_were_rewritten() -> None:
    assert OLD == {
        "SymbolId": r"^[^,]*[^,\s][^,]*$",
        "FollowSymbolIds": r"^[^,]*[^,\s][^,]*(,[^,]*[^,\s][^,]*)*$",
    }
    assert NEW == {
        "SymbolId": r"^\s*[^,\s][^,]*$",
        "FollowSymbolIds": r"^\s*[^,\s][^,]*(,\s*[^,\s][^,]*)*$",
    }


# ---- the same meaning ---------------------------------------------------------------------
# Every class the patterns use splits characters into three kinds: the comma, blanks (\s)
# and the rest. Several of each kind, since engines disagree on some blanks: U+001C is \s
# in Python's re only; U+00A0 in all of them.
ALPHABET = ["a", "B", ",", " ", "\t", "\n", "\u00a0", "\x1c"]


def _same_verdicts(value: str) -> None:
    for name in NAMES:
        old, new = re.compile(OLD[name]), re.compile(NEW[name])
        # JSON Schema searches; a server may also match the whole value (fullmatch).
        assert bool(old.search(value)) == bool(new.search(value)), (name, value)
        assert bool(old.fullmatch(value)) == bool(new.fullmatch(value)), (name, value)


def test_same_meaning_on_every_short_string() -> None:
    count = 0
    for length in range(7):
        for chars in itertools.product(ALPHABET[:7], repeat=length):
            _same_verdicts("".join(chars))
            count += 1
    assert count == sum(7**n for n in range(7))  # 137,257 strings


# Short items: on a value it refuses, the old pattern's time is the product of the items'
# lengths (5 items of 52 characters did not finish in minutes).
TOKENS = st.sampled_from(["a", "all", "Eth", " ", "\t", "\u00a0", ""])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(TOKENS, max_size=3).map("".join), max_size=6).map(",".join))
def test_same_meaning_on_generated_lists(value: str) -> None:
    _same_verdicts(value)
    # And in the linear-time engine the simulator and the client use (Rust's regex):
    # the new pattern there says what the old one says in Python's re (no U+001C here).
    for name in NAMES:
        assert pattern_matches(NEW[name], value) == bool(re.search(OLD[name], value))


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(ALPHABET), max_size=16))  # the old ones backtrack
def test_same_meaning_on_generated_text(value: str) -> None:
    _same_verdicts(value)


# ---- what they mean -----------------------------------------------------------------------
SYMBOL_IDS = {
    "BTC-SWAP-USDT": True,
    "btc-swap-usdt": True,  # its case is not checked
    " BTC-SWAP-USDT ": True,  # blanks around it
    "BTC SWAP": True,  # any text that is not blank and has no comma
    "all": True,
    "x": True,
    "": False,
    " ": False,
    "\t\n": False,
    "\u00a0": False,
    ",": False,
    "BTC,ETH": False,
    "BTC,": False,
    ",BTC": False,
}
FOLLOW_SYMBOL_IDS = {
    "all": True,
    "BTC-SWAP-USDT": True,
    "BTC-SWAP-USDT,ETH-SWAP-USDT": True,
    "BTC-SWAP-USDT , ETH-SWAP-USDT": True,  # spaces around the commas
    " a ,\tb , c ": True,
    "btc-swap-usdt,Eth": True,
    "": False,
    " ": False,
    ",": False,
    "a,": False,  # a blank item
    ",a": False,
    "a,,b": False,
    "a, ,b": False,
    "a,b,\t": False,
    "ab," * 40 + " ": False,  # the value that froze the simulator
}
# `all` cannot be mixed with symbols: the `not` beside the pattern.
ALL_MIXED = ["all,BTC-SWAP-USDT", "BTC-SWAP-USDT, all", " all , eth", "a,all,b"]


@pytest.mark.parametrize(("value", "valid"), SYMBOL_IDS.items())
def test_symbol_id(value: str, valid: bool) -> None:
    assert pattern_matches(NEW["SymbolId"], value) is valid
    assert bool(re.search(NEW["SymbolId"], value)) is valid
    assert bool(re.search(OLD["SymbolId"], value)) is valid


@pytest.mark.parametrize(("value", "valid"), FOLLOW_SYMBOL_IDS.items())
def test_follow_symbol_ids(value: str, valid: bool) -> None:
    assert pattern_matches(NEW["FollowSymbolIds"], value) is valid
    assert bool(re.search(NEW["FollowSymbolIds"], value)) is valid
    if len(value) < 40:  # the old pattern backtracks for ever on the last one
        assert bool(re.search(OLD["FollowSymbolIds"], value)) is valid
    assert not pattern_matches(NOT_ALL, value)


@pytest.mark.parametrize("value", ALL_MIXED)
def test_all_mixed_with_symbols_matches_the_pattern_but_not_the_not(value: str) -> None:
    assert pattern_matches(NEW["FollowSymbolIds"], value)
    assert pattern_matches(NOT_ALL, value)  # so the schema refuses it


def test_the_generated_code_carries_the_new_patterns() -> None:
    code = "".join(
        path.read_text(encoding="utf-8") for path in sorted((ROOT / "generated").rglob("*.py"))
    )
    for name in NAMES:
        assert json.dumps(NEW[name]) in code  # as the generator writes a string literal
        assert json.dumps(OLD[name]) not in code


# ---- the ReDoS check ----------------------------------------------------------------------
def run_checker(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "tools" / "check_patterns.py"), *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
        timeout=300,
    )


def test_it_finds_every_pattern_wherever_it_stands() -> None:
    document: dict[str, Any] = {
        "x-vendor": {"deep": [{"pattern": "^x-1$"}]},
        "paths": {"/a": {"get": {"parameters": [{"schema": {"pattern": "^p$"}}]}}},
        "components": {
            "parameters": {"P": {"schema": {"type": "string", "pattern": "^cp$"}}},
            "schemas": {
                "S": {
                    "type": "object",
                    "properties": {"pattern": {"type": "string", "pattern": "^prop$"}},
                    "patternProperties": {"^k/~$": {"type": "string"}},
                    "not": {"pattern": "^not$"},
                },
                "T": {"anyOf": [{"pattern": "^any$"}], "required": ["pattern"]},
            },
        },
    }
    assert [(f.pointer, f.pattern) for f in check_patterns.patterns_in(document)] == [
        ("#/x-vendor/deep/0/pattern", "^x-1$"),
        ("#/paths/~1a/get/parameters/0/schema/pattern", "^p$"),
        ("#/components/parameters/P/schema/pattern", "^cp$"),
        ("#/components/schemas/S/properties/pattern/pattern", "^prop$"),
        ("#/components/schemas/S/patternProperties/^k~1~0$", "^k/~$"),
        ("#/components/schemas/S/not/pattern", "^not$"),
        ("#/components/schemas/T/anyOf/0/pattern", "^any$"),
    ]


def test_every_pattern_of_the_spec_is_safe() -> None:
    found = list(check_patterns.patterns_in(SPEC))
    text = (ROOT / "openapi.yaml").read_text(encoding="utf-8")
    assert len(found) == len(re.findall(r"^\s*pattern:", text, re.M))  # none missed
    assert len(found) >= 8
    verdicts = check_patterns.check([f.pattern for f in found])
    assert len(verdicts) == len({f.pattern for f in found}) * len(check_patterns.FLAGS)
    assert [v for v in verdicts if not v.safe] == []
    assert check_patterns.problems(found, verdicts) == {}
    result = run_checker()
    assert result.returncode == 0, result.stderr
    assert f"{len(found)} patterns" in result.stdout and "all safe" in result.stdout


def test_it_fails_on_the_2_0_0_patterns_naming_each_with_an_attack() -> None:
    result = run_checker("--spec", str(RELEASE_2_0_0))
    assert result.returncode == 1, result.stdout + result.stderr
    lines = [line for line in result.stderr.splitlines() if " is vulnerable, " in line]
    assert len(lines) == 4  # two patterns, each under the flags "" and "u"
    follow = [line for line in lines if "/FollowSymbolIds/pattern: " in line]
    symbol = [line for line in lines if "/SymbolId/pattern: " in line]
    assert len(follow) == len(symbol) == 2
    assert all("exponential" in line and "attack string" in line for line in follow)
    assert all("polynomial" in line and "attack string" in line for line in symbol)
    assert "2 not safe" in result.stderr


def test_it_fails_on_the_old_follow_symbol_ids_pattern_given_alone() -> None:
    result = run_checker("--pattern", OLD["FollowSymbolIds"], "--pattern", NEW["FollowSymbolIds"])
    assert result.returncode == 1
    assert "--pattern[0]: " in result.stderr and "exponential" in result.stderr
    assert "--pattern[1]" not in result.stderr  # the new one is safe
    (verdict, *_) = check_patterns.check([OLD["FollowSymbolIds"]], flags=("",))
    assert (verdict.status, verdict.complexity) == ("vulnerable", "exponential")
    assert verdict.attack_pattern and verdict.attack_length


def test_a_pattern_it_cannot_rate_fails_too() -> None:
    result = run_checker("--pattern", "(unclosed")
    assert result.returncode == 1
    assert "could not be rated: invalid" in result.stderr
