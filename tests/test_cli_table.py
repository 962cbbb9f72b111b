"""The command line comes from the operation table (issue 18, item 4).

For every operation of `toobit_follower_models.operations` (iterated, never listed) a
command exists, named by the operation's `x-cli` (or its operationId), with a flag per
parameter and per body field that its `--help` lists; a write can `--dry-run`, a DELETE
asks first. An operation the CLI has never seen gets a command with no edit to it, and
the old spellings of renamed flags still work for one release, saying so.

Everything runs in-process (`main(argv, ...)`); nothing here needs a server.
"""

from __future__ import annotations

import io
import json
import re
import typing
from collections.abc import Iterator
from dataclasses import dataclass
from types import MappingProxyType, SimpleNamespace
from typing import Any

import httpx
import pytest
import toobit_follower
from pydantic import BaseModel, ConfigDict, Field
from toobit_follower_cli import _commands, main
from toobit_follower_cli._output import unoptional
from toobit_follower_models.operations import OPERATIONS, Operation, Param

ENV = {
    "TOOBIT_API_KEY": "SRQGN9M8Sr87nbfKsaSxm33Y6CmGVtUu9Erz73g9vHFNn36VROOKSaWBQ8OSOtSq",
    "TOOBIT_API_SECRET": "30lfjDT51iOG1kYZnDoLNynOyMdIcmQyO1XYfxzYOmQfx9tjiI98Pzio4uhZ0Uk2",
    "TOOBIT_BASE_URL": "http://127.0.0.1:9",  # never reached
    "TOOBIT_FOLLOWER_PROFILES": "/nonexistent/profiles.toml",
}


@dataclass
class Result:
    code: int
    out: str
    err: str


def cli(*argv: str, stdin: str = "") -> Result:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), stdout=out, stderr=err, stdin=io.StringIO(stdin), environ=dict(ENV))
    return Result(code, out.getvalue(), err.getvalue())


def kebab(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "-", name).lower()


def command(op: Operation) -> list[str]:
    """The command of an operation, as its x-cli names it (default: its operationId)."""
    x_cli: Any = op.extensions.get("x-cli") or {}
    return list(x_cli.get("command") or [kebab(op.operation_id)])


def flags(op: Operation) -> list[str]:
    """A flag per parameter and per body field: kebab-case of the wire name."""
    names = [p.name for p in op.params]
    if op.body_model is not None:
        names += [info.alias or n for n, info in op.body_model.model_fields.items()]
    return ["--" + kebab(name) for name in names]


def help_text(op: Operation) -> str:
    result = cli(*command(op), "--help")
    assert result.code == 0, result.err
    return " ".join(result.out.split())


@pytest.mark.parametrize("op", OPERATIONS, ids=lambda op: op.operation_id)
def test_every_operation_has_a_command_with_a_flag_per_parameter_and_field(op: Operation) -> None:
    text = help_text(op)
    for flag in flags(op):
        assert re.search(rf"{re.escape(flag)}(?![\w-])", text), (op.operation_id, flag)
    x_cli: Any = op.extensions.get("x-cli") or {}
    for name in x_cli.get("args", ()):  # also positional: LEADER_USER_ID
        assert kebab(name).replace("-", "_").upper() in text, name
    if op.body_model is not None:
        for name, info in op.body_model.model_fields.items():
            if info.annotation is bool:
                assert "--no-" + kebab(info.alias or name) in text, name
        assert "--dry-run" in text and "--file" in text
    assert ("--yes" in text) == (op.method == "DELETE")
    # the old spellings are accepted but not shown
    for old in x_cli.get("aliases", {}):
        assert not re.search(rf"{re.escape(old)}(?![\w-])", text), old


@pytest.mark.parametrize("op", OPERATIONS, ids=lambda op: op.operation_id)
def test_every_command_calls_a_public_client_method(op: Operation) -> None:
    name = _commands.method_name(op)
    assert not name.startswith("_")
    # the client of the operation's role (follower or leader) has it
    assert callable(getattr(_commands.client_class(op), name)), name


@pytest.mark.parametrize(
    "op",
    [op for op in OPERATIONS if any(p.required for p in op.params)],
    ids=lambda op: op.operation_id,
)
def test_a_required_parameter_is_required(op: Operation) -> None:
    required = [p for p in op.params if p.required]
    result = cli(*command(op), *(["--yes"] if op.method == "DELETE" else []))
    assert result.code == 2, result.err
    assert "--" + kebab(required[0].name) in result.err


def test_some_operations_have_required_parameters() -> None:
    # test_a_required_parameter_is_required checks something only where there are some
    assert any(p.required for op in OPERATIONS for p in op.params)


def test_x_cli_keys_are_known() -> None:
    known = {f.replace("_", "-") for f in _commands.Wording.__dataclass_fields__}
    for op in OPERATIONS:
        x_cli: Any = op.extensions.get("x-cli") or {}
        assert set(x_cli) <= known, (op.operation_id, set(x_cli) - known)


def test_no_command_name_is_taken_twice() -> None:
    paths = [tuple(command(op)) for op in OPERATIONS]
    assert len(set(paths)) == len(paths)
    # and none is the beginning of another (a group cannot be a command too)
    assert not any(a != b and b[: len(a)] == a for a in paths for b in paths)


# ---- old spellings ---------------------------------------------------------------------
def _aliases() -> Iterator[tuple[Operation, str, Any]]:
    for op in OPERATIONS:
        x_cli: Any = op.extensions.get("x-cli") or {}
        for old, target in x_cli.get("aliases", {}).items():
            yield op, old, target


def test_there_are_old_spellings_to_test() -> None:
    assert list(_aliases())


@pytest.mark.parametrize(("op", "old", "target"), list(_aliases()), ids=lambda v: str(v)[:30])
def test_an_old_spelling_sets_the_new_flag_and_says_so(
    op: Operation, old: str, target: Any
) -> None:
    """Each old spelling sends the body its new flag sends (--dry-run, nothing sent)."""
    assert op.body_model is not None
    base = [*command(op), *_body_argv(op, skip=target), "--dry-run"]
    if isinstance(target, dict):  # a value of its own: --long sets isLong 1
        ((wire, value),) = target.items()
        new, old_argv = ["--" + kebab(wire), str(value)], [old]
    else:
        wire = target
        value = _sample(op, wire)
        new, old_argv = ["--" + kebab(wire), value], [old, value]
    with_new, with_old = cli(*base, *new), cli(*base, *old_argv)
    assert with_new.code == 0, with_new.err
    assert with_old.code == 0, with_old.err
    assert with_old.out == with_new.out
    assert str(json.loads(with_new.out)[wire]) == str(value)
    assert old in with_old.err and new[0] in with_old.err and "next release" in with_old.err
    assert with_new.err == ""


def _sample(op: Operation, wire: str) -> str:
    """A valid value for a body field: its enum's first, 1, or 0.1 (a number or a text)."""
    assert op.body_model is not None
    name = next(n for n, i in op.body_model.model_fields.items() if (i.alias or n) == wire)
    kind = unoptional(op.body_model.model_fields[name].annotation)
    if typing.get_origin(kind) is typing.Literal:
        return str(typing.get_args(kind)[0])
    return "1" if kind is int else "0.1"


def _body_argv(op: Operation, skip: Any) -> list[str]:
    """Flags for the required body fields and one optional one, but ``skip``'s."""
    assert op.body_model is not None
    skipped = set(skip) if isinstance(skip, dict) else {skip}
    argv: list[str] = []
    optional = 0
    for name, info in op.body_model.model_fields.items():
        wire = info.alias or name
        if wire in skipped or (not info.is_required() and optional):
            continue
        optional += not info.is_required()
        argv += ["--" + kebab(wire), _sample(op, wire)]
    return argv


# ---- an operation the CLI has never seen -------------------------------------------------
class _Query(BaseModel):
    model_config = ConfigDict(populate_by_name=True)
    leader_user_id: int = Field(alias="leaderUserId", ge=1)
    period_days: int | None = Field(default=None, alias="periodDays", le=90)


class _Stats(BaseModel):
    model_config = ConfigDict(populate_by_name=True)
    win_rate: str = Field(alias="winRate", description="Share of winning copy orders.")
    followers: int = Field(description="How many follow the leader.")


class _StatsResponse(BaseModel):
    code: int
    msg: str
    data: _Stats


NEW = Operation(
    operation_id="getLeaderStats",
    python_name="get_leader_stats",
    method="GET",
    path="/api/v2/copy-trading/leader/stats",
    tag="leader",
    summary="Leader statistics",
    description="",
    signed=True,
    write=False,
    weight=1,
    params=(
        Param("leaderUserId", "leader_user_id", "query", True, None, "Target leader user ID."),
        Param("periodDays", "period_days", "query", False, None, "Days to look back."),
        Param("recvWindow", "recv_window", "query", False, 5000, "Validity in ms."),
    ),
    query_model=_Query,
    body_model=None,
    body_required=False,
    response_model=_StatsResponse,
    error_codes=frozenset(),
    extensions=MappingProxyType({}),
)


@pytest.fixture
def new_operation(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """The table with one more operation, spec only, and a client that has its method
    (as the generated client will): the calls it gets."""
    monkeypatch.setattr(_commands, "OPERATIONS", (*OPERATIONS, NEW))
    monkeypatch.setitem(_commands.WORDING, NEW.operation_id, _commands._wording(NEW))
    fields = {f.wire: f for f in _commands._fields(NEW)}
    monkeypatch.setitem(_commands.FIELDS, NEW.operation_id, fields)
    calls: list[dict[str, Any]] = []
    answer = {"code": 200, "msg": "success", "data": {"winRate": "0.60", "followers": 7}}

    def get_leader_stats(**kwargs: Any) -> Any:
        calls.append(kwargs)
        content = json.dumps(answer).encode()
        parsed = _StatsResponse.model_validate_json(content).data
        return parsed, httpx.Response(200, content=content)

    class Client:
        def __init__(self, **kwargs: Any) -> None:
            self.with_raw_response = SimpleNamespace(get_leader_stats=get_leader_stats)

        def __enter__(self) -> Client:
            return self

        def __exit__(self, *exc: object) -> None:
            return None

    monkeypatch.setattr(toobit_follower, "FollowerClient", Client)
    return calls


def test_a_new_operation_gets_a_command_with_its_flags(new_operation: list[Any]) -> None:
    shown = cli("get-leader-stats", "--help")
    assert shown.code == 0, shown.err
    assert "--leader-user-id" in shown.out and "--period-days" in shown.out
    assert "Leader statistics" in shown.out
    assert cli("get-leader-stats").code == 2  # --leader-user-id is required
    assert cli("get-leader-stats", "--leader-user-id", "1_0").code == 2  # ASCII digits
    refused = cli("get-leader-stats", "--leader-user-id", "5", "--period-days", "91")
    assert refused.code == 5 and "periodDays" in refused.err and new_operation == []
    table = cli("get-leader-stats", "--leader-user-id", "5", "--period-days", "30")
    assert table.code == 0, table.err
    assert new_operation == [{"leader_user_id": 5, "period_days": 30}]
    assert re.search(r"win rate\s*│\s*0\.60\s*│\s*Share of winning", table.out), table.out
    as_json = cli("get-leader-stats", "--leader-user-id", "5", "--json")
    assert json.loads(as_json.out) == {"winRate": "0.60", "followers": 7}
    assert new_operation[-1] == {"leader_user_id": 5}  # an optional parameter left out
