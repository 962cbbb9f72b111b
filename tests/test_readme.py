"""README.md: the quickstart and the testing example run (against the simulator behind an
httpx transport), and the Errors tables are exactly the package's families and
code-specific classes."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest
import toobit_follower
from toobit_follower import CODE_CLASSES, FAMILIES, ErrorCode, ToobitError, constants
from toobit_follower_sim.testing import (
    DEMO_API_KEY,
    DEMO_API_SECRET,
    DEMO_LEADER_ID,
    LEADER_API_KEY,
    LEADER_API_SECRET,
    SimExchange,
    default_seed,
)

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")


def section(title: str) -> str:
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", README, re.M | re.S)
    assert match, f"README.md has no '## {title}' section"
    return match.group(1)


def python_blocks(text: str) -> list[str]:
    return re.findall(r"^```python\n(.*?)^```", text, re.M | re.S)


def table_rows(text: str) -> list[list[str]]:
    rows = []
    for line in text.splitlines():
        if line.startswith("|") and not line.startswith("|---"):
            rows.append([cell.strip() for cell in line.strip().strip("|").split("|")])
    return rows


# ---- quickstart --------------------------------------------------------------------------
class Patched:
    """Every client the README code creates talks to ``exchange`` (through ``wrap``)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.exchange = SimExchange(default_seed(history_rows=120))
        self.gateway_on_delete = False
        exchange = self.exchange
        monkeypatch.setenv("TOOBIT_API_KEY", DEMO_API_KEY)
        monkeypatch.setenv("TOOBIT_API_SECRET", DEMO_API_SECRET)
        monkeypatch.delenv("TOOBIT_BASE_URL", raising=False)
        patched = self

        class Sync(toobit_follower.FollowerClient):
            def __init__(self, *args: Any, **kwargs: Any) -> None:
                kwargs.setdefault("transport", patched.sync_transport())
                kwargs.setdefault("clock", exchange.clock.time)
                super().__init__(*args, **kwargs)

        class Async(toobit_follower.AsyncFollowerClient):
            def __init__(self, *args: Any, **kwargs: Any) -> None:
                kwargs.setdefault("transport", exchange.async_transport())
                kwargs.setdefault("clock", exchange.clock.time)
                super().__init__(*args, **kwargs)

        class Leader(toobit_follower.LeaderClient):
            def __init__(self, *args: Any, **kwargs: Any) -> None:
                kwargs.setdefault("transport", exchange.transport())
                kwargs.setdefault("clock", exchange.clock.time)
                super().__init__(*args, **kwargs)

        monkeypatch.setattr(toobit_follower, "FollowerClient", Sync)
        monkeypatch.setattr(toobit_follower, "AsyncFollowerClient", Async)
        monkeypatch.setattr(toobit_follower, "LeaderClient", Leader)

    def sync_transport(self) -> httpx.BaseTransport:
        simulator = self.exchange.transport()

        def handle(request: httpx.Request) -> httpx.Response:
            if self.gateway_on_delete and request.method == "DELETE":
                return httpx.Response(502, content=b"<html>502</html>")
            return simulator.handle_request(request)

        return httpx.MockTransport(handle)

    def reader(self) -> toobit_follower.FollowerClient:
        return toobit_follower.FollowerClient(
            DEMO_API_KEY, DEMO_API_SECRET, transport=self.exchange.transport()
        )


@pytest.fixture
def patched(monkeypatch: pytest.MonkeyPatch) -> Patched:
    return Patched(monkeypatch)


def run(code: str, name: str) -> None:
    exec(compile(code, f"README.md ({name})", "exec"), {"__name__": "__readme__"})


def test_quickstart_has_a_sync_an_async_and_a_leader_example() -> None:
    blocks = python_blocks(section("Quickstart"))
    assert len(blocks) == 3
    assert "FollowerClient()" in blocks[0]
    assert "AsyncFollowerClient()" in blocks[1]
    assert "LeaderClient()" in blocks[2]


def test_leader_quickstart_runs(
    patched: Patched, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TOOBIT_API_KEY", LEADER_API_KEY)
    monkeypatch.setenv("TOOBIT_API_SECRET", LEADER_API_SECRET)
    run(python_blocks(section("Quickstart"))[2], "leader quickstart")
    out = capsys.readouterr().out
    assert out.splitlines()[0]  # the two minimums of the leader's config
    paths = [r.url.path for r in patched.exchange.requests]
    assert all("/copy-trading/leader/" in p for p in paths), paths
    assert sum(p.endswith("/leader/followers") for p in paths) >= 1
    assert "this key's account is not a lead trader" not in out  # a leader's key


def test_sync_quickstart_runs(patched: Patched, capsys: pytest.CaptureFixture[str]) -> None:
    run(python_blocks(section("Quickstart"))[0], "sync quickstart")
    out = capsys.readouterr().out
    assert "S5 -0.58 20" in out
    assert "close the copy positions first" in out
    assert out.count("BTC-SWAP-USDT") == 120
    requests = patched.exchange.requests
    assert str(requests[0].url).startswith("https://api.toobit.com/api/v1/time")
    history = [r for r in requests if r.url.path.endswith("/orders/history")]
    assert [r.url.params["size"] for r in history] == ["100", "100"]
    with patched.reader() as reader:
        position = reader.list_current_orders()[0]
    assert (str(position.stop_profit_rate), str(position.stop_loss_rate)) == ("0.1", "0.2")


def test_sync_quickstart_outcome_unknown_branch(
    patched: Patched, capsys: pytest.CaptureFixture[str]
) -> None:
    patched.gateway_on_delete = True
    run(python_blocks(section("Quickstart"))[0], "sync quickstart")
    assert f"still following: [{DEMO_LEADER_ID}]" in capsys.readouterr().out
    assert not any(r.method == "DELETE" for r in patched.exchange.requests)  # the gateway's


def test_async_quickstart_runs(patched: Patched, capsys: pytest.CaptureFixture[str]) -> None:
    run(python_blocks(section("Quickstart"))[1], "async quickstart")
    out = capsys.readouterr().out
    assert "1 leaders, 1 open positions" in out
    assert out.count("BTC-SWAP-USDT") == 120
    sizes = [r.url.params["size"] for r in patched.exchange.requests if "history" in r.url.path]
    assert sizes == ["50", "50", "50"]


def test_the_testing_example_runs(capsys: pytest.CaptureFixture[str]) -> None:
    (block,) = python_blocks(section("Testing code that uses the client"))
    run(block, "testing example")
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "S5"
    assert lines[1].startswith("2 [") and lines[1].count(",") == 0  # one retry, one sleep
    assert lines[2] == "30"


# ---- errors tables -----------------------------------------------------------------------
def test_errors_family_table_is_the_package_families() -> None:
    rows = {
        row[0]: row[1]
        for row in table_rows(section("Errors"))
        if re.fullmatch(r"HTTP (\d+|5XX)", row[0])
    }
    documented = {status: re.findall(r"`(\w+)`", text)[0] for status, text in rows.items()}
    expected = {f"HTTP {status}": cls.__name__ for status, cls in FAMILIES.items() if status < 500}
    expected["HTTP 5XX"] = FAMILIES[500].__name__
    assert documented == expected


def test_errors_code_table_is_the_code_specific_classes() -> None:
    rows = table_rows(section("Errors"))
    named = {
        row[0].strip("`"): (row[1].strip("`"), row[2].strip("`"))
        for row in rows
        if row[0].strip("`") in ErrorCode.__members__
    }
    assert {name: cls for name, (cls, _) in named.items()} == {
        name: cls.__name__ for name, cls in CODE_CLASSES.items()
    }
    for name, (cls, family) in named.items():
        assert issubclass(CODE_CLASSES[name], getattr(toobit_follower, family)), name


def test_errors_section_names_only_real_classes() -> None:
    names = re.findall(r"`([A-Za-z]+Error)`", section("Errors"))
    assert {"OutcomeUnknownError", "UnexpectedResponseError", "APITimeoutError"} <= set(names)
    for name in names:
        assert issubclass(getattr(toobit_follower, name), ToobitError), name


def test_retry_constants_table_matches_the_code() -> None:
    rows = table_rows(section("Errors"))
    values = {row[0].strip("`"): row[1] for row in rows if row[0].startswith("`")}
    expected = {
        name: getattr(constants, name)
        for name in (
            "DEFAULT_MAX_RETRIES",
            "INITIAL_RETRY_DELAY",
            "MAX_RETRY_DELAY",
            "JITTER",
            "MAX_RATE_LIMIT_WAIT",
            "DEFAULT_TIMEOUT",
            "DEFAULT_RECV_WINDOW",
        )
    }
    assert set(expected) <= set(values)
    for name, value in expected.items():
        assert values[name].split()[0] == str(value), name
