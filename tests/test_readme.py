"""README.md: the quickstart runs (against the in-process fake) and the Errors table is
exactly the package's code -> exception table."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest
import toobit_follower
from toobit_follower import ERROR_TABLE, STATUS_ERROR_CLASSES, ToobitError, constants
from toobit_follower.testing import DEMO_API_KEY, DEMO_API_SECRET, MockExchange

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
@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> MockExchange:
    """Every client the README code creates talks to this fake."""
    exchange = MockExchange(history_rows=120)
    monkeypatch.setenv("TOOBIT_API_KEY", DEMO_API_KEY)
    monkeypatch.setenv("TOOBIT_API_SECRET", DEMO_API_SECRET)
    monkeypatch.delenv("TOOBIT_BASE_URL", raising=False)

    class Sync(toobit_follower.FollowerClient):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            kwargs.setdefault("transport", exchange.transport())
            super().__init__(*args, **kwargs)

    class Async(toobit_follower.AsyncFollowerClient):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            kwargs.setdefault("transport", exchange.transport())
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(toobit_follower, "FollowerClient", Sync)
    monkeypatch.setattr(toobit_follower, "AsyncFollowerClient", Async)
    return exchange


def run(code: str, name: str) -> None:
    exec(compile(code, f"README.md ({name})", "exec"), {"__name__": "__readme__"})


def test_quickstart_has_a_sync_and_an_async_example() -> None:
    blocks = python_blocks(section("Quickstart"))
    assert len(blocks) == 2
    assert "FollowerClient()" in blocks[0]
    assert "AsyncFollowerClient()" in blocks[1]


def test_sync_quickstart_runs(fake: MockExchange, capsys: pytest.CaptureFixture[str]) -> None:
    run(python_blocks(section("Quickstart"))[0], "sync quickstart")
    out = capsys.readouterr().out
    assert "S5 -0.58 20" in out
    assert "close the copy positions first" in out
    assert out.count("BTC-SWAP-USDT") == 120
    assert fake.positions[0]["stopProfitRate"] == "0.1"
    assert str(fake.requests[0].url).startswith("https://api.toobit.com/api/v1/time")
    history = [r for r in fake.requests if r.url.path.endswith("/orders/history")]
    assert [r.url.params["size"] for r in history] == ["100", "100"]


def test_sync_quickstart_outcome_unknown_branch(
    fake: MockExchange, capsys: pytest.CaptureFixture[str]
) -> None:
    def gateway_on_delete(request: httpx.Request) -> httpx.Response:
        if request.method == "DELETE":
            return httpx.Response(502, content=b"<html>502</html>")
        return fake.handle(request)

    original = fake.transport
    fake.transport = lambda: httpx.MockTransport(gateway_on_delete)  # type: ignore[method-assign]
    try:
        run(python_blocks(section("Quickstart"))[0], "sync quickstart")
    finally:
        fake.transport = original  # type: ignore[method-assign]
    assert "still following: ['123456789']" in capsys.readouterr().out
    assert sum(r.method == "DELETE" for r in fake.requests) == 0  # handled outside the fake


def test_async_quickstart_runs(fake: MockExchange, capsys: pytest.CaptureFixture[str]) -> None:
    run(python_blocks(section("Quickstart"))[1], "async quickstart")
    out = capsys.readouterr().out
    assert "1 leaders, 1 open positions" in out
    assert out.count("BTC-SWAP-USDT") == 120
    sizes = [r.url.params["size"] for r in fake.requests if "history" in r.url.path]
    assert sizes == ["50", "50", "50"]


# ---- errors table ------------------------------------------------------------------------
def test_errors_table_is_the_code_table() -> None:
    rows = table_rows(section("Errors"))
    coded = [row for row in rows if re.fullmatch(r"-?\d+", row[0])]
    documented = [(int(code), exc.strip("`"), meaning) for code, exc, meaning, *_ in coded]
    assert documented == [(r.code, r.exception.__name__, r.meaning) for r in ERROR_TABLE]


def test_errors_table_status_rows_and_class_names() -> None:
    rows = {row[0]: row for row in table_rows(section("Errors"))}
    for status, cls in STATUS_ERROR_CLASSES.items():
        assert rows[f"HTTP {status}"][1] == f"`{cls.__name__}`"
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
