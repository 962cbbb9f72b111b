"""The live mode of `python -m fuzz.run --url ...`, without any network: it refuses to
start without the key pair, selects only GET operations unless writes are allowed, leaves
the leader operations out without a leader key, and passes the rate limit and the
operation filter to schemathesis."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import pytest  # noqa: E402
import requests  # noqa: E402

from fuzz import keys, run, spec  # noqa: E402

FOLLOWER_GETS = [
    "getServerTime",
    "listCurrentOrders",
    "listHistoryOrders",
    "getFollowConfig",
    "listLeaders",
]
LEADER_GETS = [
    "listCurrentLeadOrders",
    "listHistoryLeadOrders",
    "getTradeData",
    "listProfitSharingHistory",
    "listLeaderSymbols",
    "getLeaderConfig",
    "listFollowers",
]
GETS = FOLLOWER_GETS + LEADER_GETS
FOLLOWER_WRITES = {"updateStopProfitLoss", "updateFollowConfig", "cancelLeader"}
WRITES = FOLLOWER_WRITES | {"updateLeaderConfig", "removeFollower"}


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Any attempt to open a connection or start a process is recorded and refused."""
    attempts: list[str] = []

    def refuse(what: str):  # type: ignore[no-untyped-def]
        def inner(*args, **kwargs):  # type: ignore[no-untyped-def]
            attempts.append(what)
            raise AssertionError(f"{what} attempted in a test without network")

        return inner

    monkeypatch.setattr(socket, "create_connection", refuse("socket.create_connection"))
    monkeypatch.setattr(requests.Session, "request", refuse("requests"))
    monkeypatch.setattr(subprocess, "Popen", refuse("subprocess.Popen"))
    monkeypatch.setattr(subprocess, "call", refuse("subprocess.call"))
    return attempts


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({}, ["TOOBIT_API_KEY", "TOOBIT_API_SECRET"]),
        ({"TOOBIT_API_KEY": "abc"}, ["TOOBIT_API_SECRET"]),
        ({"TOOBIT_API_SECRET": "s3cr3t"}, ["TOOBIT_API_KEY"]),
        ({"TOOBIT_API_KEY": "  ", "TOOBIT_API_SECRET": "s3cr3t"}, ["TOOBIT_API_KEY"]),
    ],
)
def test_live_mode_refuses_to_start_without_keys(
    env: dict[str, str],
    named: list[str],
    monkeypatch: pytest.MonkeyPatch,
    no_network: list[str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.delenv("TOOBIT_API_KEY", raising=False)
    monkeypatch.delenv("TOOBIT_API_SECRET", raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    code = run.main(["--url", "https://api.example.invalid", "--report-dir", str(tmp_path)])
    assert code == run.EXIT_USAGE
    err = capsys.readouterr().err
    for name in named:
        assert name in err
    assert "nothing was sent" in err
    assert no_network == []
    assert "s3cr3t" not in err


def test_read_only_filter_selects_exactly_the_get_operations() -> None:
    contract = spec.load()
    assert contract.read_only_operation_ids() == GETS
    args = run.operation_filter(contract, allow_writes=False)
    assert args == [part for op in GETS for part in ("--include-operation-id", op)]
    selected = set(args[1::2])
    assert not selected & WRITES
    assert all(contract.operations[op].method == "GET" for op in selected)
    assert set(contract.operations) - selected == WRITES


def test_allow_writes_selects_everything() -> None:
    assert run.operation_filter(spec.load(), allow_writes=True) == []


def test_the_follower_side_alone_selects_its_operations_by_tag() -> None:
    contract = spec.load()
    reads = run.operation_filter(contract, allow_writes=False, tags=["follower"])
    assert reads[1::2] == FOLLOWER_GETS
    both = run.operation_filter(contract, allow_writes=True, tags=["follower"])
    assert set(both[1::2]) == set(FOLLOWER_GETS) | FOLLOWER_WRITES


def test_allow_writes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALLOW_WRITES", "1")
    assert run.parse_args(["--url", "https://x.invalid"]).allow_writes is True
    monkeypatch.delenv("ALLOW_WRITES")
    assert run.parse_args(["--url", "https://x.invalid"]).allow_writes is False


def test_live_pass_is_read_only_rate_limited_and_never_touches_admin(
    monkeypatch: pytest.MonkeyPatch, no_network: list[str], tmp_path: Path
) -> None:
    monkeypatch.setenv("TOOBIT_API_KEY", "LiveKey123")
    monkeypatch.setenv("TOOBIT_API_SECRET", "live-secret-value")
    monkeypatch.setenv("TOOBIT_LEADER_API_KEY", "LiveLeaderKey1")
    monkeypatch.setenv("TOOBIT_LEADER_API_SECRET", "live-leader-secret")
    monkeypatch.setattr(run, "server_time_ms", lambda url: 1_717_200_000_000)
    seen = {}

    def fake_pass(the_pass, *, url, seed, report_dir, env, extra, verbose):  # type: ignore[no-untyped-def]
        seen.update(the_pass=the_pass, url=url, env=env, extra=list(extra))
        return run.PassResult(the_pass, 0, 0.1, tmp_path / "j.xml", tmp_path / "n", tmp_path / "l")

    monkeypatch.setattr(run, "run_pass", fake_pass)
    args = run.parse_args(["--url", "https://api.example.invalid/", "--report-dir", str(tmp_path)])
    results, facts = run.run_live(args, seed=7)
    assert no_network == []
    assert seen["url"] == "https://api.example.invalid"
    extra = seen["extra"]
    assert extra[extra.index("--rate-limit") + 1] == run.LIVE_RATE_LIMIT
    assert set(extra[1 : extra.index("--rate-limit") : 2]) == set(GETS)
    env = seen["env"]
    assert env["FUZZ_TARGET"] == "live"
    assert "FUZZ_ADMIN_URL" not in env and "FUZZ_ADMIN_TOKEN" not in env
    assert env["FUZZ_STOP_FILE"]
    for secret in ("live-secret-value", "live-leader-secret"):
        assert secret not in repr(facts) and secret not in repr(results)


def test_live_without_a_leader_key_leaves_the_leader_operations_out(
    monkeypatch: pytest.MonkeyPatch, no_network: list[str], tmp_path: Path
) -> None:
    monkeypatch.setenv("TOOBIT_API_KEY", "LiveKey123")
    monkeypatch.setenv("TOOBIT_API_SECRET", "live-secret-value")
    monkeypatch.delenv("TOOBIT_LEADER_API_KEY", raising=False)
    monkeypatch.delenv("TOOBIT_LEADER_API_SECRET", raising=False)
    monkeypatch.setattr(run, "server_time_ms", lambda url: 1_717_200_000_000)
    seen = {}

    def fake_pass(the_pass, *, url, seed, report_dir, env, extra, verbose):  # type: ignore[no-untyped-def]
        seen.update(extra=list(extra))
        return run.PassResult(the_pass, 0, 0.1, tmp_path / "j.xml", tmp_path / "n", tmp_path / "l")

    monkeypatch.setattr(run, "run_pass", fake_pass)
    for allow_writes, expected in ((False, FOLLOWER_GETS), (True, FOLLOWER_GETS)):
        argv = ["--url", "https://api.example.invalid", "--report-dir", str(tmp_path)]
        args = run.parse_args(argv + (["--allow-writes"] if allow_writes else []))
        _, facts = run.run_live(args, seed=7)
        extra = seen["extra"]
        selected = set(extra[1 : extra.index("--rate-limit") : 2])
        assert selected == set(expected) | (FOLLOWER_WRITES if allow_writes else set())
        assert "leader: none (TOOBIT_LEADER_API_KEY" in facts["keys"]
    assert no_network == []


def test_half_a_leader_key_refuses_the_live_run(
    monkeypatch: pytest.MonkeyPatch,
    no_network: list[str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("TOOBIT_API_KEY", "LiveKey123")
    monkeypatch.setenv("TOOBIT_API_SECRET", "live-secret-value")
    monkeypatch.setenv("TOOBIT_LEADER_API_KEY", "LiveLeaderKey1")
    monkeypatch.delenv("TOOBIT_LEADER_API_SECRET", raising=False)
    code = run.main(["--url", "https://api.example.invalid", "--report-dir", str(tmp_path)])
    assert code == run.EXIT_USAGE
    assert "TOOBIT_LEADER_API_SECRET" in capsys.readouterr().err
    assert no_network == []


def test_live_rate_limit_stays_under_the_documented_weight() -> None:
    limit, _, per = run.LIVE_RATE_LIMIT.partition("/")
    per_minute = int(limit) * {"s": 60, "m": 1}[per]
    assert per_minute < 3000


def test_live_stop_on_429_is_reported_clearly(
    monkeypatch: pytest.MonkeyPatch,
    no_network: list[str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("TOOBIT_API_KEY", "LiveKey123")
    monkeypatch.setenv("TOOBIT_API_SECRET", "live-secret-value")
    monkeypatch.setattr(run, "server_time_ms", lambda url: 1_717_200_000_000)

    def fake_pass(the_pass, *, url, seed, report_dir, env, extra, verbose):  # type: ignore[no-untyped-def]
        Path(env["FUZZ_STOP_FILE"]).write_text(
            '{"status": 429, "request": "GET /api/v2/copy-trading/follower/leaders",'
            ' "retry_after": "42", "reset_timestamp": "1717200060000", "body": ""}'
        )
        return run.PassResult(the_pass, 75, 0.1, tmp_path / "j.xml", tmp_path / "n", tmp_path / "l")

    monkeypatch.setattr(run, "run_pass", fake_pass)
    code = run.main(["--url", "https://api.example.invalid", "--report-dir", str(tmp_path)])
    assert code == run.EXIT_RATE_LIMITED
    err = capsys.readouterr().err
    assert "HTTP 429" in err and "1717200060000" in err and "stopped" in err.lower()


def test_keys_from_env_never_show_the_secret() -> None:
    pair = keys.from_env({"TOOBIT_API_KEY": "LiveKey123456", "TOOBIT_API_SECRET": "topsecret"})
    assert "topsecret" not in repr(pair) and "topsecret" not in str(pair)
