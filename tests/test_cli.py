"""End to end tests of the `toobit-follower` command line against the simulator.

The simulator runs as a real TCP server (`python -m toobit_follower_sim serve` on
127.0.0.1 and a free port). The CLI runs both as a subprocess (the installed console
script and `python -m toobit_follower_cli`) and in-process through `main(argv, ...)`,
which is faster and lets a test stand in for a terminal on stdin.

Tests that cover every field or every error code iterate over the generated models,
the spec's example and the generated error table, so an additive spec change (a new
optional field, enum value or error code) breaks none of them.
"""

from __future__ import annotations

import io
import json
import os
import socket
import subprocess
import sys
import time
import typing
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from pydantic import BaseModel
from toobit_follower._exceptions import APIError, error_class
from toobit_follower._operations import request_body
from toobit_follower_cli import EXIT_CODES, Context, build_parser, describe, main, report
from toobit_follower_cli._output import field_description, unoptional
from toobit_follower_models import FollowConfig, FollowConfigUpdate
from toobit_follower_models.errors import BY_CODE, ERROR_TABLE, ErrorCode, ErrorInfo

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SEED = ROOT / "simulator" / "toobit_follower_sim" / "default_seed.yaml"

DEMO_KEY = "SRQGN9M8Sr87nbfKsaSxm33Y6CmGVtUu9Erz73g9vHFNn36VROOKSaWBQ8OSOtSq"
DEMO_SECRET = "30lfjDT51iOG1kYZnDoLNynOyMdIcmQyO1XYfxzYOmQfx9tjiI98Pzio4uhZ0Uk2"
READ_ONLY_KEY = "SimReadOnlyKeyXJj5vsKIS6nThTGx5XutQ4NMRKKJ92zGror5R5WN2MGUcsuRuv"
SECOND_KEY = "SimSecondFollowerKeyhylDIADB2LgvfCAtGpfwFG0DPMDljzTryy7y1mEu4O32"
NO_RELATION_KEY = "SimNoRelationKey4bfAFu5gDHtTGibr75ELaIBVIQQSMIHjxwmy12uWfcnyFVBA"
SPOT_KEY = "SimSpotAccountKey8nV5MbzwDDSWoiTStN4OrfSYrE0sju0oH6FZKHUBTz09qwj"
LEADER = 123456789
SECOND_LEADER = 987654321
EXTRA_HISTORY_ROWS = 249  # plus the seed's own row: 250 rows, 3 pages of 100
SPEC = yaml.safe_load((ROOT / "openapi.yaml").read_text(encoding="utf-8"))


def _spec_example(operation_id: str) -> dict[str, Any]:
    """The first request body example of an operation in openapi.yaml."""
    for item in SPEC["paths"].values():
        for op in item.values():
            if isinstance(op, dict) and op.get("operationId") == operation_id:
                examples = op["requestBody"]["content"]["application/json"]["examples"]
                return dict(next(iter(examples.values()))["value"])
    raise KeyError(operation_id)


def _alias(model: type[BaseModel], name: str) -> str:
    return model.model_fields[name].alias or name


def _name(model: type[BaseModel], alias: str) -> str:
    return next(n for n, info in model.model_fields.items() if (info.alias or n) == alias)


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _flags(body: dict[str, Any]) -> list[str]:
    """A follow config body (wire names) as `config set` options, the leader left out."""
    argv: list[str] = []
    for alias, value in body.items():
        name = _name(FollowConfigUpdate, alias)
        if name == "leader_user_id":
            continue
        if isinstance(value, bool):
            argv.append(_flag(name) if value else "--no-" + _flag(name)[2:])
        else:
            argv += [_flag(name), str(value)]
    return argv


# ---- the simulator ------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Sim:
    url: str
    proc: subprocess.Popen[bytes]

    def reset(self) -> None:
        """Back to the seed (state, rate-limit windows); faults off."""
        httpx.post(f"{self.url}/_sim/faults", json={"faults": ""}).raise_for_status()
        httpx.post(f"{self.url}/_sim/reset").raise_for_status()

    def faults(self, spec: str) -> None:
        httpx.post(f"{self.url}/_sim/faults", json={"faults": spec}).raise_for_status()


def _start_sim(tmp: Path, *extra: str) -> Sim:
    seed = yaml.safe_load(DEFAULT_SEED.read_text(encoding="utf-8"))
    template = next(row for row in seed["history"] if row["followerId"] == 10001)
    for i in range(EXTRA_HISTORY_ROWS):
        row = dict(template)
        row["openTimeMs"] = template["openTimeMs"] - (i + 1) * 3_600_000
        row["lastCloseTimeMs"] = row["openTimeMs"] + 1_800_000
        # Money that a float would spoil, and one a Decimal's str() prints as 1E-8.
        row["realizedProfit"] = "0.00000001" if i == 0 else f"{i}.10"
        row["closeAvgPrice"] = "12345678901234.12345678" if i == 1 else "7100"
        seed["history"].append(row)
    seed_path = tmp / "seed.json"
    seed_path.write_text(json.dumps(seed), encoding="utf-8")
    port = _free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "toobit_follower_sim",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--seed",
            str(seed_path),
            "--enable-admin",
            "--log-level",
            "warning",
            *extra,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        if proc.poll() is not None:
            raise RuntimeError(
                f"simulator exited: {proc.stderr.read().decode() if proc.stderr else ''}"
            )
        try:
            httpx.get(f"{url}/api/v1/time", timeout=1).raise_for_status()
            return Sim(url, proc)
        except httpx.HTTPError:
            if time.monotonic() > deadline:
                proc.kill()
                raise
            time.sleep(0.1)


def _stop(sim: Sim) -> None:
    sim.proc.terminate()
    try:
        sim.proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        sim.proc.kill()
        sim.proc.wait()


@pytest.fixture(scope="module")
def sim_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sim]:
    sim = _start_sim(tmp_path_factory.mktemp("sim"))
    yield sim
    _stop(sim)


@pytest.fixture
def sim(sim_server: Sim) -> Iterator[Sim]:
    sim_server.reset()
    yield sim_server
    sim_server.reset()


# ---- running the CLI ----------------------------------------------------------------
@dataclass
class Result:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        def no_float(text: str) -> Any:
            raise AssertionError(f"a JSON number with a fraction in the output: {text}")

        return json.loads(self.out, parse_float=no_float)


class TerminalInput(io.StringIO):
    """stdin that says it is a terminal, with the user's answer queued."""

    def isatty(self) -> bool:
        return True


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """An empty HOME / XDG_CONFIG_HOME, so no real profile file is ever read."""
    (tmp_path / "home").mkdir()
    return tmp_path / "home"


def _env(
    home: Path, key: str | None = DEMO_KEY, secret: str | None = DEMO_SECRET
) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOOBIT_")}
    env["HOME"] = str(home)
    env["XDG_CONFIG_HOME"] = str(home / ".config")
    if key is not None:
        env["TOOBIT_API_KEY"] = key
    if secret is not None:
        env["TOOBIT_API_SECRET"] = secret
    return env


def run(
    sim: Sim | None,
    home: Path,
    *argv: str,
    key: str | None = DEMO_KEY,
    secret: str | None = DEMO_SECRET,
    stdin: io.StringIO | None = None,
) -> Result:
    """In-process: main(argv) with its own streams and environment."""
    out, err = io.StringIO(), io.StringIO()
    args = (["--base-url", sim.url] if sim is not None else []) + list(argv)
    code = main(
        args,
        stdout=out,
        stderr=err,
        stdin=stdin or io.StringIO(""),
        environ=_env(home, key, secret),
    )
    return Result(code, out.getvalue(), err.getvalue())


def run_process(
    sim: Sim, home: Path, *argv: str, key: str = DEMO_KEY, script: bool = False
) -> Result:
    """As a subprocess: the console script, or `python -m toobit_follower_cli`."""
    env = _env(home, key)
    env["TOOBIT_BASE_URL"] = sim.url
    exe = Path(sys.executable).parent / "toobit-follower"
    cmd = [str(exe)] if script else [sys.executable, "-m", "toobit_follower_cli"]
    proc = subprocess.run(
        [*cmd, *argv], capture_output=True, text=True, env=env, stdin=subprocess.DEVNULL, timeout=60
    )
    return Result(proc.returncode, proc.stdout, proc.stderr)


def assert_no_secret(result: Result) -> None:
    assert DEMO_SECRET not in result.out + result.err


# ---- help and usage -----------------------------------------------------------------
def _spec_error(row: ErrorInfo) -> APIError:
    """The exception the client raises for a row of the spec's error table."""
    cls = error_class(row.http_status, row.code)
    return cls(
        row.format_message(name="x", limit=1, until=1),
        status_code=row.http_status,
        code=row.code,
        method="GET",
        path="/api/v2/copy-trading/follower/leaders",
    )


def _exit_sections(help_text: str) -> dict[int, str]:
    """The `exit codes` part of --help, one text per exit code."""
    sections: dict[int, str] = {}
    current: int | None = None
    for line in help_text.split("exit codes", 1)[1].split("\nexamples:", 1)[0].splitlines():
        head = line[:5].strip()
        if line.startswith("  ") and head.isdigit():
            current = int(head)
            sections[current] = ""
        if current is not None:
            sections[current] += " " + line.strip()
    return sections


def test_help_documents_every_exit_code_and_the_spec_codes_under_them(
    sim_server: Sim, home: Path
) -> None:
    result = run_process(sim_server, home, "--help", script=True)
    assert result.code == 0
    sections = _exit_sections(result.out)
    assert sorted(sections) == sorted(code for code, _ in EXIT_CODES)
    for code, text in EXIT_CODES:
        assert " ".join(text.split()) in " ".join(sections[code].split())
    # every code of the spec's table is listed under the exit code its error gets
    for row in ERROR_TABLE:
        listed = sections[run_describe(_spec_error(row))["exitCode"]]
        assert f"{row.code}," in listed + ",", (row, listed)
    for name in ("leaders", "orders", "config", "positions", "time"):
        assert name in result.out


def test_readme_documents_the_same_exit_codes() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Command line\n", 1)[1].split("\n## ", 1)[0]
    rows = [
        line.strip("|").split("|", 1)
        for line in section.splitlines()
        if line.startswith("| ") and line[2].isdigit()
    ]
    assert [(int(code), text.strip(" |")) for code, text in rows] == list(EXIT_CODES)


def run_describe(error: BaseException, *argv: str) -> dict[str, Any]:
    """describe() and report() of the CLI for an exception, as its --json error."""
    err = io.StringIO()
    ctx = Context(
        args=build_parser().parse_args(["--json", *(argv or ("leaders",))]),
        out=io.StringIO(),
        err=err,
        stdin=io.StringIO(""),
        environ={},
        base_url=f"http://127.0.0.1:{_free_port()}",  # nothing listens: no hint reaches out
    )
    report(ctx, describe(ctx, error))
    payload: dict[str, Any] = json.loads(err.getvalue())["error"]
    return payload


@pytest.mark.parametrize("row", ERROR_TABLE, ids=lambda row: row.name)
def test_every_spec_error_shows_its_code_meaning_and_a_family_exit(row: ErrorInfo) -> None:
    error = _spec_error(row)
    shown = run_describe(error)
    assert shown["code"] == row.code and shown["httpStatus"] == row.http_status
    assert shown["meaning"] == row.meaning and row.meaning in shown["error"]
    assert shown["exitCode"] in dict(EXIT_CODES)
    assert shown["exitCode"] not in (0, 2, 130)
    # an error of a known family (every class but the bare APIError) has its own exit code
    assert (shown["exitCode"] == 1) == (type(error) is APIError), (row, type(error))


def test_an_unknown_code_keeps_its_code_and_exits_by_its_family() -> None:
    codes = {row.code for row in ERROR_TABLE}
    unknown = min(codes) - 1
    shown = {
        status: run_describe(
            error_class(status, unknown)(
                "new", status_code=status, code=unknown, method="GET", path="/x"
            )
        )
        for status in (400, 401, 403, 429, 503)
    }
    assert all(s["code"] == unknown and s["meaning"] is None for s in shown.values())
    exits = {status: s["exitCode"] for status, s in shown.items()}
    assert exits == {400: 5, 401: 3, 403: 4, 429: 8, 503: 9}


def test_usage_errors_exit_2(home: Path) -> None:
    assert run(None, home, "no-such-command").code == 2
    assert run(None, home, "config", "get", "not-a-number").code == 2
    assert run(None, home, "config", "get", "1_000").code == 2
    assert run(None, home, "positions", "stop", str(LEADER), "BTC-SWAP-USDT").code == 2
    result = run(None, home, "--recv-window", "0", "leaders")
    assert result.code == 2 and "--recv-window" in result.err
    usage = run(None, home, "config", "set", str(LEADER), "--no-such-field", "1")
    assert usage.code == 2 and "--no-such-field" in usage.err  # argparse's message is ours


def test_config_set_options_come_from_the_model(home: Path) -> None:
    result = run(None, home, "config", "set", "--help")
    assert result.code == 0
    text = " ".join(result.out.split())
    for name, info in FollowConfigUpdate.model_fields.items():
        if name == "leader_user_id":  # the LEADER_ID argument
            continue
        assert _flag(name) in text, name
        if info.annotation is bool:
            assert "--no-" + _flag(name)[2:] in text, name
    # an enum field offers its values; another value is a usage error
    types = {
        name: unoptional(info.annotation) for name, info in FollowConfigUpdate.model_fields.items()
    }
    for name, kind in types.items():
        if typing.get_origin(kind) is typing.Literal:
            values = typing.get_args(kind)
            assert "{" + ",".join(map(str, values)) + "}" in text, name
            outside = max(v for v in values if isinstance(v, int)) + 1
            assert (
                run(None, home, "config", "set", str(LEADER), _flag(name), str(outside)).code == 2
            )
    # numbers are ASCII digits: no other script, no underscores, no exponent
    first_int = next(name for name, kind in types.items() if kind is int)
    first_decimal = next(name for name, kind in types.items() if kind is Decimal)
    for name, bad in (first_int, "1_0"), (first_decimal, "1e1"), (first_decimal, "\u0661"):
        result = run(None, home, "config", "set", str(LEADER), _flag(name), bad)
        assert result.code == 2 and _flag(name) in result.err, (name, bad)


# ---- the seven operations, happy paths -------------------------------------------------
def test_leaders_table_on_the_console_script(sim: Sim, home: Path) -> None:
    result = run_process(sim, home, "leaders", script=True)
    assert result.code == 0, result.err
    assert "S5" in result.out and "123456789" in result.out
    assert "521.64" in result.out and "-0.58" in result.out
    header = next(line for line in result.out.splitlines() if "leader user id" in line)
    row = next(line for line in result.out.splitlines() if "123456789" in line)
    # aligned: the numeric cell ends where its column's header cell ends
    assert row.index("521.64") + len("521.64") == header.index("margin balance") + len(
        "margin balance"
    )


def test_leaders_json_keeps_money_as_strings(sim: Sim, home: Path) -> None:
    result = run_process(sim, home, "leaders", "--json")
    assert result.code == 0, result.err
    (leader,) = result.json()
    assert leader["leaderUserId"] == "123456789"
    assert leader["marginBalance"] == "521.64"
    assert leader["netProfit"] == "-0.58"
    assert leader["realisedProfit"] == "0"


def test_orders_current(sim: Sim, home: Path) -> None:
    table = run(sim, home, "orders", "current")
    assert table.code == 0, table.err
    assert "BTC-SWAP-USDT" in table.out and "long" in table.out and "7121.97" in table.out
    result = run(sim, home, "--json", "orders", "current")
    (order,) = result.json()
    assert order["markPrice"] == "7121.97"
    assert order["margin"] == "3.3854"
    assert order["liquidationPrice"] == ""
    assert order["isLong"] == 1


def test_orders_history_one_page(sim: Sim, home: Path) -> None:
    result = run(sim, home, "orders", "history", "--page", "2", "--size", "5", "--json")
    assert result.code == 0, result.err
    page = result.json()
    assert page["total"] == str(EXTRA_HISTORY_ROWS + 1)
    assert page["pages"] == str((EXTRA_HISTORY_ROWS + 1 + 4) // 5)
    assert len(page["list"]) == 5
    table = run(sim, home, "orders", "history", "--size", "3")
    assert table.code == 0
    assert "page 1 of 84" in table.out and "UTC" in table.out


def test_orders_history_all_walks_every_page_with_exact_money(sim: Sim, home: Path) -> None:
    result = run(sim, home, "orders", "history", "--all", "--json")
    assert result.code == 0, result.err
    data = result.json()
    assert data["total"] == "250" and len(data["list"]) == 250
    profits = {row["realizedProfit"] for row in data["list"]}
    assert "0.00000001" in profits  # not 1E-8
    assert {row["closeAvgPrice"] for row in data["list"]} >= {"12345678901234.12345678"}
    assert result.err == ""  # no progress bar when stderr is not a terminal


def test_orders_history_all_shows_progress_on_stderr(sim: Sim, home: Path) -> None:
    result = run(sim, home, "orders", "history", "--all", "--progress", "--size", "100")
    assert result.code == 0, result.err
    assert "history pages" in result.err and "3/3" in result.err
    assert "250 of 250" in result.out


def test_config_get_shows_every_field_the_server_returned(sim: Sim, home: Path) -> None:
    # What the simulator answered, not the model's field list: an optional field added
    # to the spec may be left out of an answer (and of the seed).
    config = run(sim, home, "config", "get", str(LEADER), "--json").json()
    table = run(sim, home, "config", "get", str(LEADER))
    assert table.code == 0, table.err
    rows = [[c.strip() for c in line.split("│")[1:-1]] for line in table.out.splitlines()]
    rows = [cells for cells in rows if cells]
    assert config
    for alias, value in config.items():
        name = _name(FollowConfig, alias)  # every field answered is one of the model's
        if unoptional(FollowConfig.model_fields[name].annotation) is Decimal:
            assert isinstance(value, str), (name, value)  # exact, never a JSON number
        shown = {"True": "yes", "False": "no", "None": "-", "": "-"}.get(str(value), str(value))
        cells = next(cells for cells in rows if cells[0] == name.replace("_", " "))
        assert cells[1:] == [shown, field_description(FollowConfig, name)], cells


def test_config_set_with_flags_keeps_other_fields(sim: Sim, home: Path) -> None:
    result = run(
        sim,
        home,
        "config",
        "set",
        str(LEADER),
        "--stop-loss-rate",
        "0.15",
        "--real-invest-amount",
        "100",
    )
    assert result.code == 0, result.err
    config = run(sim, home, "config", "get", str(LEADER), "--json").json()
    assert config["stopLossRate"] == "0.15"
    assert config["investAmount"] == "100" and config["leverage"] == "20"


def test_config_set_from_file_written_by_config_get(sim: Sim, home: Path, tmp_path: Path) -> None:
    config = run(sim, home, "config", "get", str(LEADER), "--json").json()
    config["stopProfitRate"] = "0.12"
    config["realInvestAmount"] = "100"
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config), encoding="utf-8")
    result = run(sim, home, "config", "set", str(LEADER), "--file", str(path), "--json")
    assert result.code == 0, result.err
    assert result.json()["config"]["stopProfitRate"] == "0.12"
    assert run(sim, home, "config", "get", str(LEADER), "--json").json()["stopProfitRate"] == "0.12"


def _sent_bodies(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """The bodies of the PUTs the client sends from now on, as bytes on the wire."""
    sent: list[bytes] = []
    send = httpx.Client.send

    def spy(self: httpx.Client, request: httpx.Request, **kwargs: Any) -> httpx.Response:
        if request.method == "PUT":
            sent.append(request.content)
        return send(self, request, **kwargs)

    monkeypatch.setattr(httpx.Client, "send", spy)
    return sent


def test_config_set_dry_run_prints_exactly_the_body_sent(
    sim: Sim, home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The spec's example for a leader without open positions, written as a user may:
    # whole amounts as JSON numbers. They are sent as exact decimal strings, and
    # --dry-run must print those bytes, not the numbers of the file.
    body = _spec_example("updateFollowConfig") | {"leaderUserId": SECOND_LEADER}
    decimals = {
        _alias(FollowConfigUpdate, name)
        for name, info in FollowConfigUpdate.model_fields.items()
        if unoptional(info.annotation) is Decimal
    }
    as_written = {
        key: int(value) if key in decimals and str(value).isdigit() else value
        for key, value in body.items()
    }
    assert any(isinstance(as_written[key], int) for key in decimals & set(body))
    path = tmp_path / "config.json"
    path.write_text(json.dumps(as_written), encoding="utf-8")
    sent = _sent_bodies(monkeypatch)
    argv = ("config", "set", str(SECOND_LEADER), "--file", str(path))

    dry = run(sim, home, *argv, "--dry-run", key=SECOND_KEY)
    assert dry.code == 0, dry.err
    assert sent == []  # nothing was sent
    shown = dry.json()
    assert {key: shown[key] for key in decimals & set(body)} == {
        key: body[key] for key in decimals & set(body)
    }  # exact decimal strings, as sent, never JSON numbers
    printed = dry.out.rstrip("\n").encode()
    assert printed == request_body(FollowConfigUpdate.model_validate(body))

    done = run(sim, home, *argv, key=SECOND_KEY)
    assert done.code == 0, done.err
    assert sent == [printed]  # what --dry-run printed is what went on the wire


def test_every_field_of_the_spec_example_is_set_by_its_option(sim: Sim, home: Path) -> None:
    example = _spec_example("updateFollowConfig") | {"leaderUserId": SECOND_LEADER}
    get = ("config", "get", str(SECOND_LEADER), "--json")
    before = run(sim, home, *get, key=SECOND_KEY).json()
    argv = ("config", "set", str(SECOND_LEADER), *_flags(example), "--json")
    result = run(sim, home, *argv, key=SECOND_KEY)
    assert result.code == 0, result.err
    sent = request_body(FollowConfigUpdate.model_validate(example))
    assert result.json()["config"] == json.loads(sent)
    after = run(sim, home, *get, key=SECOND_KEY).json()
    shared = set(after) & set(example) - {"leaderUserId"}
    assert {key: after[key] for key in shared} == {key: example[key] for key in shared}
    assert before != after


def test_config_set_needs_what_config_get_does_not_return(sim: Sim, home: Path) -> None:
    not_returned = [
        _alias(FollowConfigUpdate, name)
        for name, info in FollowConfigUpdate.model_fields.items()
        if info.is_required() and name not in FollowConfig.model_fields
    ]
    assert not_returned, "every field is read back: drop this test and its rule in cli.py"
    result = run(sim, home, "config", "set", str(LEADER), "--stop-loss-rate", "0.15")
    assert result.code == 2
    assert not_returned[0] in result.err


def test_config_set_refused_by_server_is_invalid_request(sim: Sim, home: Path) -> None:
    # Leverage cannot change while copy positions under this leader are open (rule 10).
    result = run(
        sim, home, "config", "set", str(LEADER), "--leverage", "10", "--real-invest-amount", "100"
    )
    assert result.code == 5, result.err
    assert "-1130" in result.err and "leverage" in result.err


def test_config_set_invalid_value_is_not_sent(sim: Sim, home: Path) -> None:
    result = run(
        sim,
        home,
        "config",
        "set",
        str(LEADER),
        "--follow-symbol-ids",
        "all,btc swap",  # `all` mixed with symbols (lower case and spaces are fine: spec 2.0.0)
        "--real-invest-amount",
        "100",
    )
    assert result.code == 5, result.err
    assert "not sent" in result.err


def test_positions_stop(sim: Sim, home: Path) -> None:
    result = run(
        sim,
        home,
        "positions",
        "stop",
        str(LEADER),
        "BTC-SWAP-USDT",
        "--long",
        "--take-profit",
        "0.1",
        "--stop-loss",
        "0.2",
        "--delay",
        "30",
    )
    assert result.code == 0, result.err
    assert "take-profit 0.1" in result.out
    (order,) = run(sim, home, "orders", "current", "--json").json()
    assert order["stopProfitRate"] == "0.1" and order["stopLossRate"] == "0.2"


def test_positions_stop_wrong_side_is_not_found(sim: Sim, home: Path) -> None:
    result = run(
        sim,
        home,
        "positions",
        "stop",
        str(LEADER),
        "BTC-SWAP-USDT",
        "--short",
        "--take-profit",
        "0.1",
    )
    assert result.code == 6, result.err
    assert "-32045" in result.err and "short BTC-SWAP-USDT" in result.err


def test_leaders_cancel_with_yes(sim: Sim, home: Path) -> None:
    result = run(sim, home, "leaders", "cancel", str(SECOND_LEADER), "--yes", key=SECOND_KEY)
    assert result.code == 0, result.err
    after = run(sim, home, "leaders", "--json", key=SECOND_KEY)
    assert str(SECOND_LEADER) not in after.out


def test_leaders_cancel_asks_on_a_terminal(sim: Sim, home: Path) -> None:
    no = run(
        sim,
        home,
        "leaders",
        "cancel",
        str(SECOND_LEADER),
        key=SECOND_KEY,
        stdin=TerminalInput("n\n"),
    )
    assert no.code == 1 and "[y/N]" in no.err and "Not cancelled" in no.err
    assert str(SECOND_LEADER) in run(sim, home, "leaders", "--json", key=SECOND_KEY).out
    yes = run(
        sim,
        home,
        "leaders",
        "cancel",
        str(SECOND_LEADER),
        key=SECOND_KEY,
        stdin=TerminalInput("y\n"),
    )
    assert yes.code == 0, yes.err
    assert str(SECOND_LEADER) not in run(sim, home, "leaders", "--json", key=SECOND_KEY).out


def test_leaders_cancel_refuses_without_yes_when_not_interactive(sim: Sim, home: Path) -> None:
    result = run_process(sim, home, "leaders", "cancel", str(SECOND_LEADER), key=SECOND_KEY)
    assert result.code == 2
    assert "--yes" in result.err
    assert str(SECOND_LEADER) in run(sim, home, "leaders", "--json", key=SECOND_KEY).out


def test_time_needs_no_key(sim: Sim, home: Path) -> None:
    result = run(sim, home, "time", "--json", key=None, secret=None)
    assert result.code == 0, result.err
    data = result.json()
    assert isinstance(data["serverTime"], int)
    assert abs(data["offsetMs"]) < 5000
    assert "offset" in run(sim, home, "time", key=None, secret=None).out


# ---- error paths -------------------------------------------------------------------
def test_bad_secret_names_the_masked_key_and_url(sim: Sim, home: Path) -> None:
    result = run(sim, home, "leaders", secret="not-the-secret-but-long-enough")
    assert result.code == 3
    assert "-1022" in result.err
    assert "SRQG...OtSq" in result.err and sim.url in result.err
    assert DEMO_KEY not in result.err and "not-the-secret" not in result.err


def test_unknown_key(sim: Sim, home: Path) -> None:
    result = run_process(sim, home, "leaders", key="UnknownKey0123456789")
    assert result.code == 3
    assert "-2015" in result.err and "Unkn...6789" in result.err and sim.url in result.err
    assert_no_secret(result)


def test_read_only_key_on_a_write(sim: Sim, home: Path) -> None:
    result = run(
        sim,
        home,
        "positions",
        "stop",
        str(LEADER),
        "BTC-SWAP-USDT",
        "--long",
        "--take-profit",
        "0.1",
        key=READ_ONLY_KEY,
    )
    assert result.code == 4
    assert "-1020" in result.err and "read-only" in result.err
    assert_no_secret(result)


def test_not_a_copy_trading_account(sim: Sim, home: Path) -> None:
    result = run(sim, home, "leaders", key=SPOT_KEY)
    assert result.code == 4 and "-1005" in result.err


def test_follower_not_found(sim: Sim, home: Path) -> None:
    result = run(sim, home, "config", "get", str(LEADER), key=NO_RELATION_KEY)
    assert result.code == 6
    assert "-32045" in result.err and f"does not follow leader {LEADER}" in result.err
    shown = run(sim, home, "config", "get", str(LEADER), "--json", key=NO_RELATION_KEY)
    error = json.loads(shown.err)["error"]
    row = BY_CODE[ErrorCode.FOLLOWER_NOT_FOUND]
    assert (error["exitCode"], error["code"], error["meaning"]) == (6, row.code, row.meaning)


def test_cancel_with_open_positions(sim: Sim, home: Path) -> None:
    result = run(sim, home, "leaders", "cancel", str(LEADER), "--yes")
    assert result.code == 7
    assert "-120055" in result.err and "orders current" in result.err
    assert str(LEADER) in run(sim, home, "leaders", "--json").out


@pytest.mark.parametrize("size", ["101", "0"])
def test_invalid_size(sim: Sim, home: Path, size: str) -> None:
    result = run(sim, home, "orders", "history", "--size", size, "--json")
    assert result.code == 5
    error = json.loads(result.err)["error"]
    assert error["exitCode"] == 5
    assert error.get("code") in (-1130, None)  # the server's -1130, or refused before sending
    assert "size" in result.err


def test_missing_credentials(sim: Sim, home: Path) -> None:
    result = run(sim, home, "leaders", key=None, secret=None)
    assert result.code == 3
    assert "TOOBIT_API_KEY" in result.err and "TOOBIT_API_SECRET" in result.err
    half = run(sim, home, "leaders", key=DEMO_KEY, secret=None)
    assert half.code == 3 and "TOOBIT_API_SECRET is not set" in half.err


def _profile_file(path: Path, sim: Sim, mode: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        f'[sim]\napi_key = "{DEMO_KEY}"\napi_secret = "{DEMO_SECRET}"\nbase_url = "{sim.url}"\n'
        f'\n[readonly]\napi_key = "{READ_ONLY_KEY}"\napi_secret = "{DEMO_SECRET}"\n',
        encoding="utf-8",
    )
    path.chmod(mode)
    return path


def test_profile_with_wide_permissions_is_refused(sim: Sim, home: Path, tmp_path: Path) -> None:
    path = _profile_file(tmp_path / "profiles.toml", sim, 0o644)
    result = run(
        None,
        home,
        "--profiles-file",
        str(path),
        "--profile",
        "sim",
        "leaders",
        key=None,
        secret=None,
    )
    assert result.code == 3
    assert "0644" in result.err and f"chmod 600 {path}" in result.err
    assert_no_secret(result)


def test_profile_0600_is_used(sim: Sim, home: Path) -> None:
    path = _profile_file(home / ".config" / "toobit-follower" / "profiles.toml", sim, 0o600)
    # --profile NAME from the default place; the profile's base_url applies
    named = run(None, home, "--profile", "sim", "leaders", "--json", key=None, secret=None)
    assert named.code == 0, named.err
    assert named.json()[0]["leaderUserId"] == "123456789"
    # the environment wins over the file's [default]... and a missing profile is named
    missing = run(None, home, "--profile", "nope", "leaders", key=None, secret=None)
    assert missing.code == 3 and "no profile [nope]" in missing.err and "sim" in missing.err
    # a profile's key shows up (masked) in errors
    ro = run(
        sim,
        home,
        "--profile",
        "readonly",
        "positions",
        "stop",
        str(LEADER),
        "BTC-SWAP-USDT",
        "--long",
        "--stop-loss",
        "0.3",
        key=None,
        secret=None,
    )
    assert ro.code == 4 and f"profile 'readonly' in {path}" in ro.err


def test_profile_values_are_checked(sim: Sim, home: Path, tmp_path: Path) -> None:
    path = tmp_path / "profiles.toml"
    path.write_text(
        f'[default]\napi_key = "{DEMO_KEY}"\napi_secret = "{DEMO_SECRET}"\nrecv_window = 0\n',
        encoding="utf-8",
    )
    path.chmod(0o600)
    result = run(sim, home, "--profiles-file", str(path), "leaders", key=None, secret=None)
    assert result.code == 3 and "recv_window" in result.err
    path.write_text("[default\n", encoding="utf-8")
    result = run(sim, home, "--profiles-file", str(path), "leaders", key=None, secret=None)
    assert result.code == 3 and "not valid TOML" in result.err


def test_clock_skew_reports_measured_offset(sim: Sim, home: Path) -> None:
    # Every answer is delayed 100 ms, so with recvWindow=1 no timestamp can be fresh
    # enough, even after the client's automatic re-sync.
    sim.faults("latency=1:100ms")
    result = run(sim, home, "--recv-window", "1", "leaders")
    assert result.code == 3
    assert "-1021" in result.err and "clock skew" in result.err
    assert "/api/v1/time" in result.err and "offset" in result.err and "round trip" in result.err


def test_connection_refused_is_exit_9(home: Path) -> None:
    port = _free_port()  # nothing listens there
    result = run(
        None,
        home,
        "--base-url",
        f"http://127.0.0.1:{port}",
        "--max-wait",
        "0",
        "config",
        "get",
        str(LEADER),
    )
    assert result.code == 9
    assert "no answer" in result.err


def test_write_with_unknown_outcome_is_exit_9(sim: Sim, home: Path) -> None:
    sim.faults("commit500=1")
    result = run(sim, home, "leaders", "cancel", str(SECOND_LEADER), "--yes", key=SECOND_KEY)
    assert result.code == 9
    assert "outcome unknown" in result.err and "may or may not have been applied" in result.err
    sim.faults("")
    # it was applied: the simulator committed before answering 500
    assert str(SECOND_LEADER) not in run(sim, home, "leaders", "--json", key=SECOND_KEY).out


@pytest.fixture(scope="module")
def limited_sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sim]:
    sim = _start_sim(tmp_path_factory.mktemp("limited"), "--rate-limit", "2")
    yield sim
    _stop(sim)


def test_rate_limited_is_exit_8(limited_sim: Sim, home: Path) -> None:
    # 2 requests per minute: by the third call of a minute the key is limited (5 calls
    # cover a window that rolls over in between).
    results = [run(limited_sim, home, "--max-wait", "0", "leaders") for _ in range(5)]
    limited = [r for r in results if r.code != 0]
    assert limited, "no call was rate limited"
    assert all(r.code == 8 for r in limited), [r.err for r in limited]
    assert "-1003" in limited[0].err and "wait" in limited[0].err
