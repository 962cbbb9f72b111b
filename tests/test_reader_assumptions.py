"""Every assumption beyond the exchange's pages is marked, listed and shown (issue 14).

* `tools/assumptions.py` lists the spec's `x-assumption` markers (ids unique and stable,
  each with what it assumes and what the pages say) and refuses a malformed one;
* the assumptions the issue names are among them;
* the published page (Redocly with redocly.yaml's decorators) shows each marker under
  the description of the node that carries it;
* where the page is clear, its reading is the simulator's default: a stop rate of 0.005
  is accepted on stop-profit-loss, a cancel is refused while any copy position is open.
"""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from toobit_follower import FollowerClient, FollowerNotFoundError, HasOpenPositionsError
from toobit_follower_sim.testing import (
    BASE_URL,
    DEMO_API_KEY,
    DEMO_API_SECRET,
    DEMO_LEADER_ID,
    SimExchange,
    default_seed,
)

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import assumptions  # noqa: E402

SPEC: dict[str, Any] = yaml.safe_load((ROOT / "openapi.yaml").read_text(encoding="utf-8"))
FOUND = assumptions.load()
BY_ID = {a.id: a for a in FOUND}


# ---- the markers --------------------------------------------------------------------------
def test_the_spec_marks_its_assumptions() -> None:
    assert len(FOUND) >= 20
    assert len(BY_ID) == len(FOUND)  # one place per assumption
    for a in FOUND:
        assert a.assumes and a.page, a.id
        assert a.where.startswith("#/"), a.id


@pytest.mark.parametrize(
    ("marker", "where", "words"),
    [
        # the issue's list: rules stricter or narrower than the page, codes and statuses
        ("stop-profit-loss-rate-format", "stop-profit-loss/put", "0.01"),
        ("stop-profit-loss-field-left-out-kept", "stop-profit-loss/put", "Rule 4"),
        ("stop-profit-loss-zero-clears", "stop-profit-loss/put", "Rule 5"),
        ("cancel-refused-while-any-position-open", "leaders~1{leaderUserId}/delete", "Rule 3"),
        ("min-per-order-higher-of-leader-and-system", "follower~1config/put", "higher"),
        ("leverage-frozen-while-any-position-open", "follower~1config/put", "Rule 10"),
        ("business-rule-refusal-code", "follower~1config/put", "-1130"),
        ("permission-errors-are-403", "schemas/ErrorCode", "403"),
        ("error-status-per-code", "schemas/ErrorCode", "HTTP status"),
        ("error-messages-not-on-the-page", "schemas/ErrorCode", "-1105"),
        ("unknown-parameter-refused", "#/info", "-1103"),
    ],
)
def test_the_assumptions_the_issue_names_are_marked(marker: str, where: str, words: str) -> None:
    found = BY_ID[marker]
    assert where in found.where and words in found.assumes, found


def test_a_malformed_marker_is_refused_with_where_and_what() -> None:
    for bad, message in [
        ({"x-assumption": {"id": "a", "assumes": "b", "page": "c"}}, "non-empty list"),
        ({"x-assumption": [{"id": "a", "assumes": "b"}]}, "missing ['page']"),
        ({"x-assumption": [{"id": "a", "assumes": "b", "page": "c", "extra": "d"}]}, "['extra']"),
        ({"x-assumption": [{"id": "Not_Kebab", "assumes": "b", "page": "c"}]}, "kebab-case"),
        (
            {
                "p": {"x-assumption": [{"id": "a", "assumes": "b", "page": "c"}]},
                "q": {"x-assumption": [{"id": "a", "assumes": "b", "page": "c"}]},
            },
            "also at #/p/x-assumption/0",
        ),
    ]:
        with pytest.raises(assumptions.AssumptionError) as refused:
            assumptions.assumptions(bad)
        assert message in str(refused.value), refused.value
        assert "#/" in str(refused.value)


def test_the_lister_prints_every_marker() -> None:
    run = [sys.executable, str(ROOT / "tools" / "assumptions.py")]
    table = subprocess.run(run, capture_output=True, text=True, check=True).stdout
    assert table.startswith(f"{len(FOUND)} assumptions in the contract")
    assert all(f"`{a.id}`" in table for a in FOUND)
    listed = json.loads(
        subprocess.run([*run, "--json"], capture_output=True, text=True, check=True).stdout
    )
    assert [row["id"] for row in listed] == [a.id for a in FOUND]


def _node(document: dict[str, Any], pointer: str) -> Any:
    node: Any = document
    for part in pointer.removeprefix("#/").split("/"):
        key = part.replace("~1", "/").replace("~0", "~")
        node = node[int(key)] if isinstance(node, list) else node[key]
    return node


def test_the_published_page_shows_each_marker(tmp_path: Path) -> None:
    """Redocly with the repository's redocly.yaml (what `make docs` builds the page with)
    puts every marker into the description of its node."""
    bundled = tmp_path / "bundled.json"
    result = subprocess.run(
        [str(ROOT / "node_modules" / ".bin" / "redocly"), "bundle", "openapi.yaml",
         "--config", "redocly.yaml", "--ext", "json", "--output", str(bundled)],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    document = json.loads(bundled.read_text(encoding="utf-8"))
    for a in FOUND:
        description = _node(document, a.where)["description"]
        assert f"**Assumption `{a.id}`:** {a.assumes}" in " ".join(description.split()), a.id
    assert "## Assumptions of the whole contract" in document["info"]["description"]


# ---- the page's reading is the simulator's default where the page is clear ----------------
def _client(exchange: SimExchange) -> FollowerClient:
    return FollowerClient(
        DEMO_API_KEY, DEMO_API_SECRET, base_url=BASE_URL, transport=exchange.transport(),
        clock=exchange.clock.time, sleep=exchange.clock.sleep,
    )  # fmt: skip


def test_a_stop_rate_below_one_percent_is_accepted_on_stop_profit_loss() -> None:
    """The page gives stop-profit-loss no 0.01 minimum (the config's rule 11 is not
    borrowed: stop-profit-loss-rate-format)."""
    exchange = SimExchange()
    with _client(exchange) as client:
        client.update_stop_profit_loss(DEMO_LEADER_ID, "BTC-SWAP-USDT", 1, stop_loss_rate="0.005")
        (position,) = client.list_current_orders()
    assert str(position.stop_loss_rate) == "0.005"
    exchange.close()


def test_a_cancel_is_refused_while_any_copy_position_is_open() -> None:
    """The demo follower also follows a second leader, without positions under it: the
    open position under the first still refuses the cancel (the page's words)."""
    seed = default_seed()
    second = copy.deepcopy(next(f for f in seed["follows"] if f["followerId"] != 10001))
    second["followerId"] = next(
        f["followerId"] for f in seed["follows"] if f["leaderUserId"] == DEMO_LEADER_ID
    )
    seed["follows"].append(second)
    exchange = SimExchange(seed)
    with _client(exchange) as client:
        assert len(client.list_leaders()) == 2
        with pytest.raises(HasOpenPositionsError):
            client.cancel_leader(second["leaderUserId"])
        assert len(client.list_leaders()) == 2  # nothing changed
    exchange.close()


def test_symbols_are_not_refused_for_their_case_or_spaces() -> None:
    """The page gives symbol IDs no format: a lower-case symbol is looked up (no such
    position: -32045), not refused as malformed (-1130); spaces after commas are kept."""
    exchange = SimExchange()
    with _client(exchange) as client:
        with pytest.raises(FollowerNotFoundError):
            client.update_stop_profit_loss(DEMO_LEADER_ID, "btc-swap-usdt", 1, stop_loss_rate="0.2")
        config = client.get_follow_config(DEMO_LEADER_ID)
        fields = {
            name: getattr(config, name)
            for name in type(config).model_fields
            if name != "leader_user_id"
        }
        fields |= {"follow_symbol_ids": "btc-swap-usdt, ETH-SWAP-USDT", "real_invest_amount": "100"}
        client.update_follow_config(leader_user_id=DEMO_LEADER_ID, **fields)
        assert (
            client.get_follow_config(DEMO_LEADER_ID).follow_symbol_ids
            == "btc-swap-usdt, ETH-SWAP-USDT"
        )
    exchange.close()
