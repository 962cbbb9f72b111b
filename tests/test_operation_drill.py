"""The new-operation drill (issue 18, item 6): a new operation in openapi.yaml, and nothing
else, reaches every layer: the client, the CLI, the simulator and the fuzzer.

Each drill copies the repository's openapi.yaml to a temporary folder and adds, by a
program and nothing else:
  (a) a new signed GET with a required query parameter and an object answer (its own
      schema in the success envelope), with x-request-weight, x-error-codes, a summary
      and a description, under an existing tag or a new one, first or last in `paths`;
  (b) a new optional query parameter, without a default, on an existing operation.
It regenerates into that folder (`generator/generate.py --spec --output`) and runs this
file as a script in a subprocess whose PYTHONPATH puts the drill's generated packages
first (as tests/test_spec_evolution.py does). The script shows:
  1. the client: the new method, sync, async and `with_raw_response`, in the generated
     code, typed (its parameter, and the new answer model as its result) and documented
     (summary, description); the existing method has the new keyword (sync and async);
     `mypy --strict` on a few lines using them passes, the drill's generated code and the
     overlay included, and reports exactly the two misuses planted (the answer model
     where another type is wanted, a wrong type for the new keyword);
  2. the CLI: a command named from the operationId (no x-cli), with the parameter as a
     flag (`--help` lists both); the existing command lists the new flag;
  3. the simulator refuses the new operation: through the client, an APIError with the
     UNKNOWN row's code whose message names the missing rule (sync and async);
  4. with a rule of a few lines (a FollowerService subclass; SimExchange(service=...),
     which is create_app(service=...) behind an httpx transport), the client round-trips
     it: the typed result (sync, async, raw) equals what the rule returned, the query
     parameter arrives; the new keyword of the existing method goes on the wire and is
     served; the CLI prints the answer (table and --json, the rule's JSON exactly) and
     sends the new flag;
  5. the fuzzer's checks (those of `make fuzz`: schemathesis' and fuzz/checks.py, with
     fuzz/schemathesis.toml, run in-process by fuzz.inprocess.run_engine on the new
     operation only, a few examples per phase; `python -m fuzz.run` starts the stock
     simulator, which has no rule for it) exercise it through the rule and pass; without
     the rule not_a_server_error fails; and they judge it by its own row of the table: a
     rule answering a code its x-error-codes do not list is reported by
     toobit_envelope_code, naming the operation.

A drill is an `OperationDrill` of parameters: a held-out drill of the same kind is one
more entry in DRILLS.
"""

from __future__ import annotations

import copy
import json
import os
import re
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pytest
from test_spec_evolution import _operation, _step, drill_environment

ROOT = Path(__file__).resolve().parent.parent
DRILL_TIMEOUT_S = 300
# The fuzzer's run on the new operation: phases and examples (read fuzz/inprocess.py)
FUZZ_PHASES = ("examples", "coverage", "fuzzing")
FUZZ_MAX_EXAMPLES = 10
MYPY_CACHE_ENV = "OPERATION_DRILL_MYPY_CACHE"


@dataclass(frozen=True)
class OperationDrill:
    id: str
    # (a) the new operation
    operation_id: str
    path: str
    tag: str  # its tag; one the spec does not have is declared in its top-level `tags`
    first: bool  # placed first in `paths` (else last)
    summary: str
    description: str
    weight: int
    error_codes: tuple[str, ...]  # x-error-codes, as ErrorCode names
    param: dict[str, Any]  # its required query parameter (an OpenAPI parameter object)
    param_annotation: str  # the parameter's type in the client method's signature
    value: Any  # a valid value of it, in Python
    value_text: str  # the same as typed on the command line
    answer_schema_name: str  # the answer object's schema (in components.schemas)
    answer_schema: dict[str, Any]  # has a property named as the parameter: the rule echoes it
    answer: dict[str, Any]  # what the rule answers besides the echo (wire names, JSON)
    # (b) the new optional query parameter of an existing operation
    existing: str
    extra: dict[str, Any]  # an OpenAPI parameter object, optional, no default
    extra_annotation: str
    extra_value: Any
    extra_text: str


_COMMON = (  # the signing, rate-limit and validation errors of every signed read
    "UNKNOWN",
    "UNAUTHORIZED",
    "TOO_MANY_REQUESTS",
    "NO_PERMISSION",
    "INVALID_TIMESTAMP",
    "INVALID_SIGNATURE",
    "MANDATORY_PARAM_EMPTY_OR_MALFORMED",
    "UNKNOWN_PARAM",
    "INVALID_PARAMETER",
    "BAD_API_KEY_FMT",
    "REJECTED_MBX_KEY",
    "API_KEY_EXPIRED",
    "API_KEY_SUSPENDED",
)

DRILLS = [
    OperationDrill(
        id="follower-tag-last-integer",
        operation_id="getProfitSummary",
        path="/api/v2/copy-trading/follower/profit-summary",
        tag="follower",
        first=False,
        summary="Profit summary",
        description="The signed follower's realized profit over the last `days` days.",
        weight=3,
        error_codes=_COMMON,
        param={
            "name": "days",
            "in": "query",
            "required": True,
            "description": "How many days back, 1 to 90.",
            "schema": {"type": "integer", "minimum": 1, "maximum": 90},
            "example": 7,
        },
        param_annotation="int",
        value=30,
        value_text="30",
        answer_schema_name="ProfitSummary",
        answer_schema={
            "type": "object",
            "description": "Realized profit over a period.",
            "required": ["days", "realizedProfit", "trades"],
            "properties": {
                "days": {"type": "integer", "minimum": 1, "maximum": 90},
                "realizedProfit": {"$ref": "#/components/schemas/DecimalString"},
                "trades": {"type": "integer", "minimum": 0, "description": "Closed trades."},
            },
        },
        answer={"realizedProfit": "12.5", "trades": 4},
        existing="listHistoryOrders",
        extra={
            "name": "leaderUserId",
            "in": "query",
            "required": False,
            "description": "Only the positions copied from this leader.",
            "schema": {"type": "integer", "format": "int64", "minimum": 1},
        },
        extra_annotation="int | str | None",
        extra_value=123456789,
        extra_text="123456789",
    ),
    OperationDrill(
        id="new-tag-first-string",
        operation_id="getRiskLimit",
        path="/api/v2/copy-trading/risk/limit",
        tag="risk-limits",
        first=True,
        summary="Risk limit of a symbol",
        description="The largest leverage and the risk level the follower may use on one pair.",
        weight=2,
        error_codes=(*_COMMON, "FOLLOWER_NOT_FOUND"),
        param={
            "name": "symbolId",
            "in": "query",
            "required": True,
            "description": "The trading pair.",
            "schema": {"$ref": "#/components/schemas/SymbolId"},
            "example": "BTC-SWAP-USDT",
        },
        param_annotation="str",
        value="ETH-SWAP-USDT",
        value_text="ETH-SWAP-USDT",
        answer_schema_name="RiskLimit",
        answer_schema={
            "type": "object",
            "description": "A pair's risk limit.",
            "required": ["symbolId", "maxLeverage", "level"],
            "properties": {
                "symbolId": {"type": "string", "description": "The trading pair."},
                "maxLeverage": {"type": "integer", "minimum": 1, "maximum": 125},
                "level": {"type": "string", "enum": ["low", "high"]},
            },
        },
        answer={"maxLeverage": 20, "level": "high"},
        existing="listCurrentOrders",
        extra={
            "name": "positionSide",
            "in": "query",
            "required": False,
            "description": "Only the long or only the short positions.",
            "schema": {"type": "string", "enum": ["long", "short"]},
        },
        extra_annotation="str | None",
        extra_value="short",
        extra_text="short",
    ),
]


# --------------------------------------------------------------------------- the spec edit
def evolve(spec: dict[str, Any], drill: OperationDrill) -> dict[str, Any]:
    """The additive change, on a copy of the parsed spec."""
    from toobit_follower_models.errors import ErrorCode

    spec = copy.deepcopy(spec)
    # (b) the optional parameter of an existing operation, before its recvWindow
    _, _, existing = _operation(spec, drill.existing)
    assert all(p.get("name") != drill.extra["name"] for p in existing["parameters"])
    assert not drill.extra["required"] and "default" not in drill.extra["schema"]
    existing["parameters"].insert(len(existing["parameters"]) - 1, copy.deepcopy(drill.extra))
    # (a) the new GET: signed and answered as the other signed reads are
    assert drill.path not in spec["paths"]
    _, _, template = _operation(spec, "listHistoryOrders")
    schemas = spec["components"]["schemas"]
    assert drill.answer_schema_name not in schemas
    schemas[drill.answer_schema_name] = copy.deepcopy(drill.answer_schema)
    envelope = f"{drill.answer_schema_name}Response"
    schemas[envelope] = {
        "description": f"Success of {drill.operation_id}.",
        "allOf": [
            {"$ref": "#/components/schemas/Envelope"},
            {
                "type": "object",
                "required": ["code", "msg", "data"],
                "properties": {
                    "data": {"$ref": f"#/components/schemas/{drill.answer_schema_name}"}
                },
            },
        ],
    }
    responses = copy.deepcopy(template["responses"])
    responses["200"] = {
        "description": drill.summary,
        "headers": responses["200"]["headers"],
        "content": {
            "application/json": {
                "schema": {
                    "description": "The success envelope, or the error envelope.",
                    "anyOf": [
                        {"$ref": f"#/components/schemas/{envelope}"},
                        {"$ref": "#/components/schemas/ErrorResponse"},
                    ],
                }
            }
        },
    }
    operation = {
        "operationId": drill.operation_id,
        "tags": [drill.tag],
        "summary": drill.summary,
        "description": drill.description,
        "x-request-weight": drill.weight,
        "x-error-codes": [int(ErrorCode[name]) for name in drill.error_codes],
        "security": copy.deepcopy(template["security"]),
        "parameters": [copy.deepcopy(drill.param), {"$ref": "#/components/parameters/RecvWindow"}],
        "responses": responses,
    }
    if drill.first:
        spec["paths"] = {drill.path: {"get": operation}, **spec["paths"]}
    else:
        spec["paths"][drill.path] = {"get": operation}
    if all(tag["name"] != drill.tag for tag in spec["tags"]):
        spec["tags"].append({"name": drill.tag, "description": f"The {drill.tag} drill."})
    return spec


def test_the_drills_differ() -> None:
    """Two drills of the same kind, not one drill twice: other names, tags, placement,
    parameter types and existing operations."""
    first, second = DRILLS
    for name in ("operation_id", "path", "tag", "first", "answer_schema_name", "existing"):
        assert getattr(first, name) != getattr(second, name), name
    assert first.param["name"] != second.param["name"]
    assert first.param_annotation != second.param_annotation
    assert first.extra["name"] != second.extra["name"]
    assert first.extra_annotation != second.extra_annotation


@pytest.mark.parametrize("drill", DRILLS, ids=[d.id for d in DRILLS])
def test_a_new_operation_reaches_every_layer(
    drill: OperationDrill, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    import yaml

    spec = yaml.safe_load((ROOT / "openapi.yaml").read_text(encoding="utf-8"))
    spec_path = tmp_path / "openapi.yaml"
    spec_path.write_text(yaml.safe_dump(evolve(spec, drill), sort_keys=False), encoding="utf-8")
    generate = subprocess.run(
        [sys.executable, str(ROOT / "generator" / "generate.py"), "--spec", str(spec_path),
         "--output", str(tmp_path / "generated")],
        cwd=ROOT, capture_output=True, text=True, timeout=DRILL_TIMEOUT_S, check=False,
    )  # fmt: skip
    assert generate.returncode == 0, generate.stdout + generate.stderr
    mypy_cache = tmp_path_factory.getbasetemp() / "drill-mypy-cache"
    script = subprocess.run(
        [sys.executable, str(Path(__file__)), json.dumps(asdict(drill))],
        cwd=tmp_path,
        # one mypy cache for every drill: the libraries are read once
        env={**drill_environment(tmp_path, spec_path), MYPY_CACHE_ENV: str(mypy_cache)},
        capture_output=True,
        text=True,
        timeout=DRILL_TIMEOUT_S,
        check=False,
    )
    assert script.returncode == 0, f"drill {drill.id} failed:\n{script.stdout}\n{script.stderr}"
    assert script.stdout.strip().endswith(f"drill {drill.id}: every layer has {drill.operation_id}")


# =========================================================================== the subprocess
# Everything below runs in the drill's interpreter, with the drill's generated packages.
def kebab(name: str) -> str:
    """``getRiskLimit`` -> ``get-risk-limit``, written here again on purpose."""
    return re.sub(r"([a-z0-9])([A-Z])", r"\1-\2", name).lower()


def public_name(op: Any) -> str:
    """The client's method of an operation: its x-python name, else the table's."""
    return str((op.extensions.get("x-python") or {}).get("name", op.python_name))


def drill_main(drill: OperationDrill) -> None:
    import asyncio
    import inspect
    import io
    import typing
    from collections.abc import Callable

    import toobit_follower
    import toobit_follower_models
    import yaml
    from toobit_follower_cli import main as cli_main
    from toobit_follower_models.errors import ERROR_TABLE, ErrorCode
    from toobit_follower_models.operations import BY_ID, OPERATIONS
    from toobit_follower_sim import Call, FollowerService, missing_rules
    from toobit_follower_sim.errors import api_error
    from toobit_follower_sim.testing import BASE_URL, DEMO_API_KEY, DEMO_API_SECRET, SimExchange

    tmp = Path.cwd()
    here = Path(toobit_follower_models.__file__).resolve()
    assert here.is_relative_to(tmp), f"the repo's generated models were imported: {here}"
    assert Path(toobit_follower.__file__).resolve().is_relative_to(ROOT)
    spec = yaml.safe_load((tmp / "openapi.yaml").read_text(encoding="utf-8"))

    # 0. the table has the operation, as the spec says
    assert drill.operation_id in BY_ID, f"{drill.operation_id} is not in the operation table"
    op, old = BY_ID[drill.operation_id], BY_ID[drill.existing]
    assert (op.method, op.path, op.tag, op.signed, op.write) == (
        "GET", drill.path, drill.tag, True, False
    )  # fmt: skip
    assert (op.weight, op.summary, op.description.strip()) == (
        drill.weight, drill.summary, drill.description
    )  # fmt: skip
    assert op.error_codes == {ErrorCode[name] for name in drill.error_codes}
    assert [p.name for p in op.params] == [drill.param["name"], "recvWindow"]
    assert OPERATIONS.index(op) == (0 if drill.first else len(OPERATIONS) - 1)
    extra = next(p for p in old.params if p.name == drill.extra["name"])
    assert (extra.location, extra.required, extra.default) == ("query", False, None)
    model = getattr(toobit_follower_models, drill.answer_schema_name)
    assert op.response_model.model_fields["data"].annotation is model
    assert op.python_name == kebab(drill.operation_id).replace("-", "_")  # the rule's name
    method, old_method = public_name(op), public_name(old)
    param, extra_python = op.params[0].python_name, extra.python_name
    _step(f"table: {drill.operation_id} (GET {drill.path}, tag {drill.tag}) -> {method}")

    # 1. the client: sync, async, with_raw_response; typed and documented
    clients = (toobit_follower.FollowerClient, toobit_follower.AsyncFollowerClient)
    for cls in clients:
        is_async = cls is toobit_follower.AsyncFollowerClient
        found = getattr(cls, method, None)
        assert found is not None, f"{cls.__name__} has no {method}"
        source = Path(inspect.getfile(found)).resolve()
        assert source.is_relative_to(tmp / "generated" / "toobit_follower_api"), source
        assert inspect.iscoroutinefunction(found) is is_async
        signature = inspect.signature(found)
        assert list(signature.parameters) == ["self", param], signature
        assert signature.parameters[param].annotation == drill.param_annotation, signature
        assert signature.parameters[param].default is inspect.Parameter.empty
        hints = typing.get_type_hints(found)
        assert hints["return"] is model, hints
        doc = inspect.getdoc(found) or ""
        assert f"GET {drill.path}" in doc and drill.summary in doc, doc
        assert " ".join(drill.description.split()) in " ".join(doc.split()), doc
        keyword = inspect.signature(getattr(cls, old_method)).parameters.get(extra_python)
        assert keyword is not None, f"{cls.__name__}.{old_method} has no {extra_python}"
        assert (keyword.annotation, keyword.default) == (drill.extra_annotation, None)
        assert extra_python in typing.get_type_hints(getattr(cls, old_method))
        _step(f"client: {cls.__name__}.{method}({param}: {drill.param_annotation}) -> "
              f"{model.__name__}; {old_method}(..., {extra_python}=None)")  # fmt: skip
    client = toobit_follower.FollowerClient(DEMO_API_KEY, DEMO_API_SECRET, base_url=BASE_URL)
    raw = getattr(client.with_raw_response, method, None)
    assert raw is not None, f"with_raw_response has no {method}"
    assert list(inspect.signature(raw).parameters) == [param]
    assert (
        extra_python in inspect.signature(getattr(client.with_raw_response, old_method)).parameters
    )
    client.close()
    _step(f"client: with_raw_response.{method} and .{old_method}(..., {extra_python}=...)")

    # ... and for a type checker (mypy --strict, as `make typecheck`): the drill's code
    # type-checks, and misuse of the new method and keyword is caught
    value, extra_value = repr(drill.value), repr(drill.extra_value)
    usage = tmp / "drill_usage.py"
    lines = [
        "from toobit_follower import AsyncFollowerClient, FollowerClient",
        f"from toobit_follower_models import {model.__name__}",
        f"def sync(c: FollowerClient) -> {model.__name__}:",
        f"    c.{old_method}({extra_python}={extra_value})",
        f"    return c.{method}({value})",
        f"async def asynchronous(c: AsyncFollowerClient) -> {model.__name__}:",
        f"    await c.{old_method}({extra_python}={extra_value})",
        f"    return await c.{method}({value})",
        f"def raw(c: FollowerClient) -> {model.__name__}:",
        f"    c.with_raw_response.{old_method}({extra_python}={extra_value})",
        f"    return c.with_raw_response.{method}({value}).parsed",
        "def wrong_result(c: FollowerClient) -> bytes:",
        f"    return c.{method}({value})",  # line 13
        "def wrong_keyword(c: FollowerClient) -> None:",
        f"    c.{old_method}({extra_python}=b'')",  # line 15
    ]
    usage.write_text("\n".join(lines) + "\n", encoding="utf-8")
    checked = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-error-summary", "--cache-dir",
         os.environ.get(MYPY_CACHE_ENV, str(tmp / ".mypy_cache")), usage.name],
        cwd=tmp, capture_output=True, text=True, timeout=DRILL_TIMEOUT_S, check=False,
        env={**os.environ, "MYPYPATH": os.pathsep.join(
            [str(tmp / "generated"), str(ROOT / "overlay")])},
    )  # fmt: skip
    errors = [line for line in checked.stdout.splitlines() if ": error:" in line]
    assert [line.split(":")[1] for line in errors] == ["13", "15"], checked.stdout
    assert f'(got "{model.__name__}", expected "bytes")' in errors[0], errors[0]
    assert f'"{extra_python}" to "{old_method}"' in errors[1], errors[1]
    assert f'expected "{drill.extra_annotation}"' in errors[1], errors[1]
    _step(f"mypy: {method} returns {model.__name__} (sync, async, raw); {extra_python} typed")

    # 2. the CLI: a command named from the operationId, its flag; the existing one's new flag
    env = {"TOOBIT_API_KEY": DEMO_API_KEY, "TOOBIT_API_SECRET": DEMO_API_SECRET,
           "TOOBIT_BASE_URL": BASE_URL}  # fmt: skip

    def cli(*argv: str, code: int = 0) -> str:
        out, err = io.StringIO(), io.StringIO()
        got = cli_main(list(argv), stdout=out, stderr=err, environ=env)
        assert got == code, f"{argv}: exit {got}, not {code}\n{out.getvalue()}{err.getvalue()}"
        return out.getvalue() + err.getvalue()

    command = kebab(drill.operation_id)
    flag, extra_flag = "--" + kebab(drill.param["name"]), "--" + kebab(drill.extra["name"])
    assert "x-cli" not in _operation(spec, drill.operation_id)[2]
    old_command = _operation(spec, drill.existing)[2]["x-cli"]["command"]
    assert re.search(rf"^\s+{re.escape(command)}\s", cli("--help"), re.MULTILINE), cli("--help")
    shown = cli(command, "--help")
    assert flag in shown and drill.summary in shown, shown
    assert " ".join(drill.param["description"].split()) in " ".join(shown.split()), shown
    assert extra_flag in cli(*old_command, "--help")
    assert flag in cli(command, code=2)  # the parameter is required
    _step(f"cli: `{command} {flag}` and `{' '.join(old_command)} {extra_flag}` (--help)")

    # 3. the simulator refuses it, naming the missing rule, through the client
    rule_name = f"FollowerService.{op.python_name}"
    assert [o.operation_id for o in missing_rules()] == [drill.operation_id]

    kinds: set[str] = set()

    def refused(error: BaseException) -> None:
        assert isinstance(error, toobit_follower.APIError), repr(error)
        assert error.code == ErrorCode.UNKNOWN, (error.code, error.msg)
        assert error.info is not None and error.info.name == ErrorCode.UNKNOWN.name
        assert error.status_code == error.info.http_status, error.status_code
        kinds.add(type(error).__name__)
        assert rule_name in error.msg and repr(drill.operation_id) in error.msg, error.msg

    exchange = SimExchange()
    with toobit_follower.FollowerClient(
        DEMO_API_KEY, DEMO_API_SECRET, base_url=BASE_URL, transport=exchange.transport(),
        clock=exchange.clock.time, sleep=exchange.clock.sleep,
    ) as client:  # fmt: skip
        try:
            getattr(client, method)(drill.value)
        except toobit_follower.ToobitError as error:
            refused(error)
        else:
            raise AssertionError(f"{method} was answered without a rule")

    async def refused_async() -> None:
        async with toobit_follower.AsyncFollowerClient(
            DEMO_API_KEY, DEMO_API_SECRET, base_url=BASE_URL,
            transport=exchange.async_transport(), clock=exchange.clock.time,
            sleep=exchange.clock.async_sleep,
        ) as client:  # fmt: skip
            try:
                await getattr(client, method)(drill.value)
            except toobit_follower.ToobitError as error:
                refused(error)
            else:
                raise AssertionError(f"async {method} was answered without a rule")

    asyncio.run(refused_async())
    exchange.close()
    _step(f"simulator: {drill.operation_id} refused ({'/'.join(sorted(kinds))}, an APIError, "
          f"code {int(ErrorCode.UNKNOWN)}) "
          f"naming {rule_name}")  # fmt: skip

    # 4. a rule of a few lines; the client and the CLI round-trip through the simulator
    returned: list[dict[str, Any]] = []
    name = drill.param["name"]

    def rule(self: FollowerService, call: Call) -> dict[str, Any]:
        answer = {**drill.answer, name: call.params[name]}
        returned.append(answer)
        return answer

    drill_service = type("DrillService", (FollowerService,), {op.python_name: rule})
    assert missing_rules(drill_service) == []
    exchange = SimExchange(service=drill_service)

    def sent(wire: str) -> str | None:
        return exchange.requests[-1].url.params.get(wire)

    def sync_client() -> toobit_follower.FollowerClient:
        return toobit_follower.FollowerClient(
            DEMO_API_KEY, DEMO_API_SECRET, base_url=BASE_URL, transport=exchange.transport(),
            clock=exchange.clock.time, sleep=exchange.clock.sleep,
        )  # fmt: skip

    with sync_client() as client:
        result = getattr(client, method)(drill.value)
        assert type(result) is model, type(result)
        assert returned[-1][name] == drill.value and sent(name) == drill.value_text
        assert result == model.model_validate(returned[-1]), (result, returned[-1])
        parsed, response = getattr(client.with_raw_response, method)(drill.value)
        assert parsed == model.model_validate(returned[-1]) and type(parsed) is model
        assert response.json()["data"] == returned[-1], response.text
        getattr(client, old_method)(**{extra_python: drill.extra_value})
        assert sent(drill.extra["name"]) == drill.extra_text, exchange.requests[-1].url
        getattr(client, old_method)()
        assert sent(drill.extra["name"]) is None, exchange.requests[-1].url

    async def round_trip_async() -> Any:
        async with toobit_follower.AsyncFollowerClient(
            DEMO_API_KEY, DEMO_API_SECRET, base_url=BASE_URL,
            transport=exchange.async_transport(), clock=exchange.clock.time,
            sleep=exchange.clock.async_sleep,
        ) as client:  # fmt: skip
            result = await getattr(client, method)(drill.value)
            parsed, _ = await getattr(client.with_raw_response, method)(drill.value)
            assert parsed == result
            await getattr(client, old_method)(**{extra_python: drill.extra_value})
            assert sent(drill.extra["name"]) == drill.extra_text
            return result

    result = asyncio.run(round_trip_async())
    assert type(result) is model and result == model.model_validate(returned[-1])
    _step(f"client: {method}({drill.value!r}) == {model.__name__} the rule returned "
          "(sync, async, raw); the new keyword sent and served")  # fmt: skip

    real_client: Callable[..., Any] = toobit_follower.FollowerClient
    toobit_follower.FollowerClient = lambda **kwargs: real_client(  # type: ignore[misc]
        **kwargs, transport=exchange.transport(), clock=exchange.clock.time,
        sleep=exchange.clock.sleep,
    )  # fmt: skip
    try:
        as_json = json.loads(cli(command, flag, drill.value_text, "--json"))
        assert as_json == returned[-1], (as_json, returned[-1])
        table = cli(command, flag, drill.value_text).splitlines()
        for wire, value in returned[-1].items():  # a row per field: its label, its value
            label = kebab(wire).replace("-", " ")
            row = rf"\b{label}\W+{re.escape(str(value))}(\W|$)"
            assert any(re.search(row, line) for line in table), (wire, value, table)
        assert sent(name) == drill.value_text
        cli(*old_command, extra_flag, drill.extra_text, "--json")
        assert sent(drill.extra["name"]) == drill.extra_text, exchange.requests[-1].url
    finally:
        toobit_follower.FollowerClient = real_client  # type: ignore[misc]
    exchange.close()
    _step(f"cli: `{command} {flag} {drill.value_text}` prints the answer (table, --json); "
          f"{extra_flag} sent")  # fmt: skip

    # 5. make fuzz's checks: they exercise the new operation and pass, judging it by its row
    from fuzz import checks, inprocess
    from fuzz import spec as fuzz_spec

    assert fuzz_spec.load().operations[drill.operation_id].error_codes == op.error_codes
    calls = len(returned)
    result = inprocess.run_engine(
        inprocess.simulator_app(service=drill_service),
        phases=FUZZ_PHASES,
        max_examples=FUZZ_MAX_EXAMPLES,
        operation_ids=[drill.operation_id],
    )
    assert result.cases > 0, result.describe()
    assert not result.failed_checks and not result.errors, result.describe()
    ours = {check.__name__ for check in checks.CHECKS}
    assert ours <= result.checks_run, (ours - result.checks_run, result.describe())
    assert len(returned) > calls, "no generated request reached the rule"
    _step(f"fuzz: {result.cases} cases of {drill.operation_id}, {len(returned) - calls} "
          f"reached the rule; {len(result.checks_run)} checks, none failed")  # fmt: skip

    # ... and they fail where they should: without the rule (a server error, as `make
    # fuzz` finds an operation the simulator lacks), and on a code the operation's
    # x-error-codes do not list (its own row of the table, not another operation's)
    unruled = inprocess.run_engine(
        inprocess.simulator_app(),
        phases=("examples",),
        max_examples=FUZZ_MAX_EXAMPLES,
        operation_ids=[drill.operation_id],
    )
    assert "not_a_server_error" in unruled.failed_checks, unruled.describe()
    undocumented = next(
        row
        for row in ERROR_TABLE
        if row.code not in op.error_codes and row.code not in fuzz_spec.VALIDATION_CODES
    )

    def sloppy(self: FollowerService, call: Call) -> None:
        raise api_error(undocumented.name)

    sloppy_service = type("SloppyService", (FollowerService,), {op.python_name: sloppy})
    bitten = inprocess.run_engine(
        inprocess.simulator_app(service=sloppy_service),
        phases=("examples",),
        max_examples=FUZZ_MAX_EXAMPLES,
        operation_ids=[drill.operation_id],
    )
    assert "toobit_envelope_code" in bitten.failed_checks, bitten.describe()
    said = [str(f) for f in bitten.failures["toobit_envelope_code"]]
    assert any(f"not documented for {drill.operation_id}" in text for text in said), said
    _step(f"fuzz: without the rule, not_a_server_error fails; {undocumented.name} from the "
          "rule is reported by toobit_envelope_code, naming the operation")  # fmt: skip
    print(f"drill {drill.id}: every layer has {drill.operation_id}", flush=True)


if __name__ == "__main__":
    drill_main(OperationDrill(**json.loads(sys.argv[1])))
