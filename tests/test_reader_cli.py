"""The command line shows what a tolerant read gives (issue 14, item 5).

* a value that is not set (`""` or `null` in the answer) shows as `-`;
* an enum value the spec does not list shows as itself with a note, `3 (unknown)`;
* `--json` prints the answer's own JSON: the exchange's exact strings (`"20.0"`,
  `"1E-8"`, `""`), and a 64-bit ID as the exchange sent it (string or number);
* `config set` asks for a field the current config cannot give back (unset, or an enum
  value a request cannot send) instead of failing on it.

The CLI runs in-process (`main`) against answers served by an httpx MockTransport
(`toobit_follower.FollowerClient` is given it), so each test states its answer.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import toobit_follower
import yaml
from toobit_follower_cli import main
from toobit_follower_sim.testing import DEMO_API_KEY, DEMO_API_SECRET, DEMO_LEADER_ID

ROOT = Path(__file__).resolve().parent.parent
SPEC: dict[str, Any] = yaml.safe_load((ROOT / "openapi.yaml").read_text(encoding="utf-8"))
ENV = {
    "TOOBIT_API_KEY": DEMO_API_KEY,
    "TOOBIT_API_SECRET": DEMO_API_SECRET,
    "TOOBIT_BASE_URL": "https://cli.test",
}


def example(operation_id: str) -> dict[str, Any]:
    """The spec's 200 example of a read (the page's), a fresh copy to vary."""
    for item in SPEC["paths"].values():
        for op in item.values():
            if isinstance(op, dict) and op.get("operationId") == operation_id:
                content = op["responses"]["200"]["content"]["application/json"]
                return json.loads(json.dumps(next(iter(content["examples"].values()))["value"]))
    raise KeyError(operation_id)


class Answers:
    """Serves the queued answers in order (JSON text), one per request."""

    def __init__(self) -> None:
        self.queue: list[str] = []
        self.requests: list[httpx.Request] = []

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return httpx.Response(
            200, text=self.queue.pop(0), headers={"Content-Type": "application/json"}
        )


@pytest.fixture
def answers(monkeypatch: pytest.MonkeyPatch) -> Iterator[Answers]:
    served = Answers()
    real = toobit_follower.FollowerClient

    def client(**kwargs: Any) -> toobit_follower.FollowerClient:
        return real(**kwargs, transport=httpx.MockTransport(served.handle))

    monkeypatch.setattr(toobit_follower, "FollowerClient", client)
    yield served


def cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), stdout=out, stderr=err, environ=dict(ENV))
    return code, out.getvalue(), err.getvalue()


def cells(line: str) -> list[str]:
    """The cells of a rich table line (header or row)."""
    return [cell.strip() for cell in re.split("[│┃]", line)[1:-1]]


def row_of(table: str, label: str) -> str:
    (line,) = [line for line in table.splitlines() if line.lstrip("│| ").startswith(label)]
    return line


# ---- tables ----------------------------------------------------------------------------
def test_unset_values_show_as_a_dash(answers: Answers) -> None:
    leaders = example("listLeaders")
    leaders["data"][0] |= {"leaderNickname": None, "marginBalance": "", "netProfit": None}
    answers.queue.append(json.dumps(leaders))
    code, out, err = cli("leaders")
    assert code == 0, err
    header, row = [line for line in out.splitlines() if "123456789" in line or "nickname" in line]
    shown = dict(zip(cells(header), cells(row), strict=True))
    assert shown["leader nickname"] == "-"
    assert (shown["margin balance"], shown["net profit"]) == ("-", "-")
    assert shown["available margin"] == "518.25"  # the others as sent


def test_config_get_shows_unset_and_unknown_values(answers: Answers) -> None:
    config = example("getFollowConfig")
    config["data"] |= {"stopProfitRate": "", "stopLossRate": None, "followMarginType": 3}
    answers.queue.append(json.dumps(config))
    code, out, err = cli("config", "get", str(DEMO_LEADER_ID))
    assert code == 0, err
    assert "│ -" in row_of(out, "stop profit rate") and "│ -" in row_of(out, "stop loss rate")
    assert "3 (unknown)" in row_of(out, "follow margin type")
    assert "1 " in row_of(out, "follow amount mode") and "unknown" not in row_of(
        out, "follow amount mode"
    )


def test_an_unknown_direction_shows_as_itself(answers: Answers) -> None:
    orders = example("listCurrentOrders")
    orders["data"].append(orders["data"][0] | {"isLong": 2, "symbolId": "eth-swap-usdt"})
    answers.queue.append(json.dumps(orders))
    code, out, err = cli("orders", "current")
    assert code == 0, err
    header, known, unknown = [
        line for line in out.splitlines() if "symbol" in line or "swap" in line.lower()
    ]
    rows = [dict(zip(cells(header), cells(row), strict=True)) for row in (known, unknown)]
    assert [row["is long"] for row in rows] == ["long", "2 (unknown)"]


# ---- --json: the exchange's own JSON ---------------------------------------------------
@pytest.mark.parametrize(
    ("argv", "operation_id"),
    [
        (("leaders",), "listLeaders"),
        (("orders", "current"), "listCurrentOrders"),
        (("orders", "history"), "listHistoryOrders"),
        (("config", "get", str(DEMO_LEADER_ID)), "getFollowConfig"),
    ],
)
def test_json_prints_the_answer_exactly(
    answers: Answers, argv: tuple[str, ...], operation_id: str
) -> None:
    answer = example(operation_id)
    data = answer["data"]
    row = data[0] if isinstance(data, list) else data["list"][0] if "list" in data else data
    row |= {"leverage": "20.0"}  # trailing zero: a float, or even a Decimal's str, would differ
    for name in ("markPrice", "realizedProfit", "netProfit", "investAmount"):
        if name in row:
            row[name] = "1E-8"  # as a Java BigDecimal writes 0.00000001
    for name in ("liquidationPrice", "stopLossRate", "closeAvgPrice", "unrealisedPnl"):
        if name in row:
            row[name] = "" if name != "stopLossRate" else None  # unset, two ways
    if "leaderUserId" in row:
        row["leaderUserId"] = 123456789  # a 64-bit ID as a JSON number
    if "total" in data:
        data["total"] = 1
    answers.queue.append(json.dumps(answer))
    code, out, err = cli(*argv, "--json")
    assert code == 0, err
    assert json.loads(out) == data  # every value as sent: strings, numbers, null
    assert '"20.0"' in out and '"1E-8"' in out


def test_json_of_every_history_page_keeps_each_row_as_sent(answers: Answers) -> None:
    pages = []
    for n in (1, 2):
        page = example("listHistoryOrders")
        page["data"] |= {"pages": "2", "total": 2}
        page["data"]["list"][0] |= {"realizedProfit": f"{n}.50", "closeAvgPrice": ""}
        pages.append(json.dumps(page))
    answers.queue.extend(pages)
    code, out, err = cli("orders", "history", "--all", "--json", "--no-progress")
    assert code == 0, err
    shown = json.loads(out)
    assert shown["total"] == 2 and shown["pages"] == "2"
    assert [r["realizedProfit"] for r in shown["list"]] == ["1.50", "2.50"]
    assert [r["closeAvgPrice"] for r in shown["list"]] == ["", ""]


# ---- config set: what the current config cannot give back --------------------------------
@pytest.mark.parametrize(
    ("current", "flag", "shown"),
    [
        ({"stopProfitRate": ""}, "--stop-profit-rate", "not set"),
        ({"stopLossRate": None}, "--stop-loss-rate", "not set"),
        ({"followMarginType": 3}, "--follow-margin-type", "3 (unknown)"),
    ],
)
def test_config_set_asks_for_what_the_current_config_cannot_give_back(
    answers: Answers, current: dict[str, Any], flag: str, shown: str
) -> None:
    config = example("getFollowConfig")
    config["data"] |= current
    answers.queue.append(json.dumps(config))
    base = ("config", "set", str(DEMO_LEADER_ID), "--real-invest-amount", "100", "--dry-run")
    code, out, err = cli(*base)
    assert code == 2, (out, err)  # a usage error, nothing sent
    assert shown in err and flag in err
    assert [r.method for r in answers.requests] == ["GET"]
    answers.queue.append(json.dumps(config))
    value = "2" if flag == "--follow-margin-type" else "0"
    code, out, err = cli(*base, flag, value)
    assert code == 0, err
    assert json.loads(out)[next(iter(current))] == (int(value) if value == "2" else value)
