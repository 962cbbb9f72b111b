"""The spec-evolution drill (issue 10): an additive change to openapi.yaml, then `make generate`,
and every layer picks it up with no other edit.

Each drill copies the repository's openapi.yaml to a temporary folder and adds, by a
program and nothing else:
  * an optional field to the follow config, in the answer of getFollowConfig
    (`FollowConfig`) and in the body of updateFollowConfig (`FollowConfigUpdate`);
  * a new value to an integer enum (with its x-enum-varnames / x-enum-descriptions);
  * a new error code: a row of `ErrorCode.x-error-table` and an entry in one
    operation's `x-error-codes`.
It regenerates into that folder (`generator/generate.py --spec --output`), then runs
this file as a script in a subprocess whose `PYTHONPATH` puts the drill's generated
packages first, and `TOOBIT_FOLLOWER_SPEC` points the simulator at the drill's spec.
The script shows, against the simulator on 127.0.0.1:
  1. the client round-trips the new field exactly (update, then get);
  2. the new enum value is accepted and served back;
  3. the CLI shows the field (`config get --json` and the table) and sets it
     (`config set --<flag>`; `--dry-run` prints it in the body and changes nothing);
  4. the simulator enforces the field's schema: a malformed value gets the documented
     code and the state is unchanged;
  5. the fuzz checks accept the new code in that operation's answers, and only there;
  6. the new error reaches the client as a typed exception with `.code`, `.status_code`
     and `.meaning` from the spec, in the family class of its HTTP status.

A drill is a `Drill` of parameters: a second drill "of the same kind, with other fields
and codes" is one more entry in DRILLS. Nothing below names a field of today's spec
except the operations the issue names (getFollowConfig / updateFollowConfig).
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TESTS = ROOT / "tests"
DRILL_TIMEOUT_S = 300


@dataclass(frozen=True)
class Drill:
    id: str
    # the new optional follow-config field: its wire name, its schema in the answer
    # (FollowConfig) and in the request (FollowConfigUpdate)
    field: str
    response_schema: dict[str, Any]
    request_schema: dict[str, Any]
    value: Any  # a valid value, as JSON
    other_value: Any  # a second valid value (the CLI sets it)
    flag_value: str  # other_value as typed on the command line
    malformed: Any  # a value the field's schema refuses
    malformed_code: str  # the ErrorCode name the simulator must answer for it
    # the enum (a components.schemas name) and its new value
    enum: str
    enum_value: int
    enum_varname: str
    enum_description: str
    # the new error: a row of ErrorCode.x-error-table, and the operation that gains it
    error: dict[str, Any] = field(default_factory=dict)
    error_operation: str = "updateFollowConfig"
    # the overlay's family class for the row's HTTP status
    error_class: str = "InvalidRequestError"


DRILLS = [
    Drill(
        id="string-field",
        field="copyNote",
        response_schema={
            "type": "string",
            "maxLength": 64,
            "description": "The follower's note on this follow.",
        },
        request_schema={
            "type": "string",
            "maxLength": 64,
            "description": "The follower's note on this follow (at most 64 characters).",
        },
        value="drill: note one",
        other_value="drill: note two",
        flag_value="drill: note two",
        malformed="x" * 65,
        malformed_code="INVALID_PARAMETER",
        enum="FollowMarginType",
        enum_value=3,
        enum_varname="PORTFOLIO",
        enum_description="Portfolio-margin lead orders only",
        error={
            "code": -120077,
            "name": "FOLLOW_CONFIG_LOCKED",
            "status": 400,
            "meaning": "the follow config is being changed by another request",
            "message": "The follow config is locked, please try again later.",
        },
        error_operation="updateFollowConfig",
        error_class="InvalidRequestError",
    ),
    Drill(
        id="decimal-field",
        field="maxSlippageRate",
        response_schema={
            "$ref": "#/components/schemas/DecimalString",
            "description": "Largest slippage accepted when following, in [0, 1].",
        },
        request_schema={
            "$ref": "#/components/schemas/RequestRate",
            "description": "Largest slippage accepted when following, in [0, 1].",
        },
        value="0.005",
        other_value="0.0125",
        flag_value="0.0125",
        malformed="1.5",
        malformed_code="INVALID_PARAMETER",
        enum="FollowAmountMode",
        enum_value=2,
        enum_varname="FIXED_RATIO",
        enum_description="Fixed ratio of the leader's order",
        error={
            "code": -120088,
            "name": "LEADER_SETTLING",
            "status": 403,
            "meaning": "the leader's profit sharing is being settled; try later",
            "message": "The leader is settling, the follow cannot be cancelled now.",
        },
        error_operation="cancelLeader",
        error_class="PermissionDeniedError",
    ),
]


# --------------------------------------------------------------------------- the spec edit
def evolve(spec: dict[str, Any], drill: Drill) -> dict[str, Any]:
    """The additive change, on a copy of the parsed spec."""
    spec = copy.deepcopy(spec)
    schemas = spec["components"]["schemas"]
    for name, schema in (
        ("FollowConfig", drill.response_schema),
        ("FollowConfigUpdate", drill.request_schema),
    ):
        assert drill.field not in schemas[name]["properties"], (name, drill.field)
        schemas[name]["properties"][drill.field] = copy.deepcopy(schema)
        assert drill.field not in schemas[name].get("required", [])  # optional
    enum = schemas[drill.enum]
    assert drill.enum_value not in enum["enum"]
    enum["enum"].append(drill.enum_value)
    enum["x-enum-varnames"].append(drill.enum_varname)
    enum["x-enum-descriptions"].append(drill.enum_description)
    table = schemas["ErrorCode"]["x-error-table"]
    assert all(row["code"] != drill.error["code"] for row in table)
    table.append(dict(drill.error))
    operation = next(
        op
        for item in spec["paths"].values()
        for op in item.values()
        if isinstance(op, dict) and op.get("operationId") == drill.error_operation
    )
    operation["x-error-codes"].append(drill.error["code"])
    return spec


def drill_environment(tmp: Path, spec_path: Path) -> dict[str, str]:
    """The drill's generated packages first, then the repo's hand-written layers."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("TOOBIT_", "FUZZ_", "PYTHON"))
    }
    env["PYTHONPATH"] = os.pathsep.join(
        [
            str(tmp / "generated"),
            str(ROOT / "overlay"),
            str(ROOT / "simulator"),
            str(ROOT),
            str(TESTS),
        ]
    )
    env["TOOBIT_FOLLOWER_SPEC"] = str(spec_path)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def test_the_drills_differ_in_every_parameter() -> None:
    """Two drills of the same kind, not one drill twice: each touches other names."""
    first, second = DRILLS
    assert first.field != second.field and first.enum != second.enum
    assert first.error["code"] != second.error["code"]
    assert first.error_operation != second.error_operation
    assert first.error["status"] != second.error["status"]


def _run_drill(drill: Drill, tmp_path: Path) -> None:
    import yaml

    spec = yaml.safe_load((ROOT / "openapi.yaml").read_text(encoding="utf-8"))
    spec_path = tmp_path / "openapi.yaml"
    spec_path.write_text(yaml.safe_dump(evolve(spec, drill), sort_keys=False), encoding="utf-8")
    generate = subprocess.run(
        [
            sys.executable,
            str(ROOT / "generator" / "generate.py"),
            "--spec",
            str(spec_path),
            "--output",
            str(tmp_path / "generated"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=DRILL_TIMEOUT_S,
    )
    assert generate.returncode == 0, generate.stdout + generate.stderr
    script = subprocess.run(
        [sys.executable, str(Path(__file__)), json.dumps(asdict(drill))],
        cwd=tmp_path,
        env=drill_environment(tmp_path, spec_path),
        capture_output=True,
        text=True,
        timeout=DRILL_TIMEOUT_S,
    )
    assert script.returncode == 0, f"drill {drill.id} failed:\n{script.stdout}\n{script.stderr}"
    assert script.stdout.strip().endswith(f"drill {drill.id}: all layers follow the spec")


def test_drill_string_field_margin_type_and_update_code(tmp_path: Path) -> None:
    _run_drill(DRILLS[0], tmp_path)


def test_drill_decimal_field_amount_mode_and_cancel_code(tmp_path: Path) -> None:
    _run_drill(DRILLS[1], tmp_path)


# =========================================================================== the subprocess
# Everything below runs in the drill's interpreter, with the drill's generated packages.
def _step(text: str) -> None:
    print(f"- {text}", flush=True)


def _operation(spec: dict[str, Any], operation_id: str) -> tuple[str, str, dict[str, Any]]:
    for path, item in spec["paths"].items():
        for method, op in item.items():
            if isinstance(op, dict) and op.get("operationId") == operation_id:
                return path, method.upper(), op
    raise KeyError(operation_id)


def _alias_to_attribute(model: Any) -> dict[str, str]:
    return {info.alias or name: name for name, info in model.model_fields.items()}


class _Simulator:
    """The simulator on 127.0.0.1 and a free port, in a thread of the drill's process."""

    def __init__(self) -> None:
        import socket
        import threading
        import time

        import uvicorn
        from toobit_follower_sim import SimOptions, create_app

        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        app = create_app(options=SimOptions(admin=True))
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            assert time.monotonic() < deadline, "simulator did not start"
            time.sleep(0.02)

    def digest(self) -> str:
        import httpx

        response = httpx.get(f"{self.url}/_sim/state")
        assert response.status_code == 200, response.text
        return str(response.json()["digest"])

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)


def drill_main(drill: Drill) -> None:
    import io
    from decimal import Decimal

    import httpx
    import toobit_follower
    import toobit_follower_models
    import toobit_follower_sim
    import yaml
    from test_sim_support import DEMO_KEY, S5, SECRET
    from toobit_follower_cli import main as cli_main
    from toobit_follower_models import FollowConfig, FollowConfigUpdate
    from toobit_follower_models.errors import BY_CODE, ERROR_TABLE, OPERATION_ERROR_CODES

    secret = SECRET.decode()
    tmp = Path.cwd()
    here = Path(toobit_follower_models.__file__).resolve()
    assert here.is_relative_to(tmp), f"the repo's generated models were imported: {here}"
    for package in (toobit_follower, toobit_follower_sim):
        assert Path(package.__file__).resolve().is_relative_to(ROOT), package.__file__
    spec = yaml.safe_load(Path(os.environ["TOOBIT_FOLLOWER_SPEC"]).read_text(encoding="utf-8"))
    _step(f"generated packages from {here.parent.parent}")

    # the generated code carries the change
    update_attrs = _alias_to_attribute(FollowConfigUpdate)
    config_attrs = _alias_to_attribute(FollowConfig)
    assert drill.field in update_attrs and drill.field in config_attrs, "field not generated"
    attr = update_attrs[drill.field]
    assert config_attrs[drill.field] == attr
    row = BY_CODE[drill.error["code"]]
    assert (row.name, row.http_status, row.meaning) == (
        drill.error["name"],
        drill.error["status"],
        drill.error["meaning"],
    )
    assert row in ERROR_TABLE
    assert drill.error["code"] in OPERATION_ERROR_CODES[drill.error_operation]

    enum_field = next(
        name
        for name, prop in spec["components"]["schemas"]["FollowConfigUpdate"]["properties"].items()
        if prop.get("$ref") == f"#/components/schemas/{drill.enum}"
    )
    example = _operation(spec, "updateFollowConfig")[2]["requestBody"]["content"][
        "application/json"
    ]["examples"]
    base_body: dict[str, Any] = next(iter(example.values()))["value"]
    leader = int(base_body["leaderUserId"])
    assert leader == S5

    sim = _Simulator()
    try:
        client = toobit_follower.FollowerClient(DEMO_KEY, secret, base_url=sim.url)

        # 1 + 2: the client round-trips the field and the enum value through the simulator
        model = FollowConfigUpdate.model_validate(
            {**base_body, drill.field: drill.value, enum_field: drill.enum_value}
        )
        fields = {name: getattr(model, name) for name in model.model_fields_set}
        client.update_follow_config(**fields)
        stored = client.get_follow_config(leader)
        served = client.last_response.json()["data"]  # type: ignore[union-attr]
        assert served[drill.field] == drill.value, served
        assert served[enum_field] == drill.enum_value, served
        assert getattr(stored, attr) == FollowConfig.model_validate(served).__getattribute__(attr)
        if isinstance(drill.value, str) and isinstance(getattr(stored, attr), Decimal):
            assert getattr(stored, attr) == Decimal(drill.value)
        else:
            assert getattr(stored, attr) == drill.value
        assert getattr(stored, update_attrs[enum_field]) == drill.enum_value
        _step(f"client: {drill.field}={drill.value!r} and {enum_field}={drill.enum_value} stored")

        # 3: the CLI shows and sets the field
        env = {"TOOBIT_API_KEY": DEMO_KEY, "TOOBIT_API_SECRET": secret, "TOOBIT_BASE_URL": sim.url}

        def cli(*argv: str) -> str:
            out, err = io.StringIO(), io.StringIO()
            code = cli_main(list(argv), stdout=out, stderr=err, environ=env)
            assert code == 0, f"{argv}: exit {code}\n{out.getvalue()}{err.getvalue()}"
            return out.getvalue()

        shown = json.loads(cli("config", "get", str(leader), "--json"))
        shown = shown.get("data", shown) if "code" in shown else shown
        assert shown[drill.field] == drill.value, shown
        table = cli("config", "get", str(leader))
        labels = {drill.field.lower(), attr.lower(), attr.replace("_", " ").lower()}
        lines = [line.lower() for line in table.splitlines() if str(drill.value) in line]
        assert any(label in line for line in lines for label in labels), table
        _step("cli: config get shows the field (--json and table)")

        body_file = tmp / "config.json"
        body_file.write_text(json.dumps(base_body), encoding="utf-8")
        flag = "--" + attr.replace("_", "-")
        before = sim.digest()
        set_args = ("config", "set", str(leader), "--file", str(body_file), flag, drill.flag_value)
        dry = cli(*set_args, "--dry-run")
        assert json.loads(dry)[drill.field] == drill.other_value, dry
        assert sim.digest() == before, "--dry-run changed the simulator's state"
        cli(*set_args)
        shown = json.loads(cli("config", "get", str(leader), "--json"))
        shown = shown.get("data", shown) if "code" in shown else shown
        assert shown[drill.field] == drill.other_value, shown
        _step(f"cli: config set {flag} {drill.flag_value!r} (and --dry-run) as sent")

        # 4: the simulator enforces the field's schema on the wire
        raw = httpx.Client(base_url=sim.url, auth=client.auth)
        path = _operation(spec, "updateFollowConfig")[0]
        before, kept = sim.digest(), client.get_follow_config(leader)
        for bad_body, what in (
            ({**base_body, drill.field: drill.malformed}, drill.malformed_code),
            ({**base_body, drill.field: None}, "MANDATORY_PARAM_EMPTY_OR_MALFORMED"),
            ({**base_body, enum_field: max(drill.enum_value, 9) + 1}, "INVALID_PARAMETER"),
        ):
            content = json.dumps(bad_body, separators=(",", ":")).encode()
            answer = raw.put(path, content=content, headers={"Content-Type": "application/json"})
            expected = toobit_follower_models.errors.ErrorCode[what]
            got = answer.json()
            assert got["code"] == expected, (bad_body, answer.status_code, got)
            assert answer.status_code == BY_CODE[expected].http_status, answer.status_code
        assert sim.digest() == before, "a refused write changed the simulator's state"
        assert client.get_follow_config(leader) == kept
        _step(f"simulator: {drill.malformed!r} refused ({drill.malformed_code}), state unchanged")
        raw.close()
        client.close()
    finally:
        sim.stop()

    # 5: the fuzz checks accept the new code where the spec lists it, and only there
    from types import SimpleNamespace

    from schemathesis.generation import GenerationMode

    from fuzz import checks
    from fuzz import spec as fuzz_spec

    def fake(operation_id: str, code: int, status: int) -> tuple[Any, Any]:
        path, method, _ = _operation(spec, operation_id)
        generation = SimpleNamespace(mode=GenerationMode.POSITIVE)
        meta = SimpleNamespace(generation=generation, phase=SimpleNamespace(data=None))
        case = SimpleNamespace(
            operation=SimpleNamespace(method=method, path=path),
            method=method,
            meta=meta,
            _meta=meta,
            id=f"drill-{operation_id}",
        )
        response = SimpleNamespace(
            content=json.dumps({"code": code, "msg": row.message}).encode(),
            status_code=status,
            headers={},
            request=SimpleNamespace(body=None),
        )
        return case, response

    fuzz_spec.load.cache_clear()
    code, status = drill.error["code"], drill.error["status"]
    path, method, _ = _operation(spec, drill.error_operation)
    case, response = fake(drill.error_operation, code, status)
    assert checks.toobit_envelope_code(None, response, case) is None  # type: ignore[arg-type]
    assert checks.toobit_positive_accepted(None, response, case) is None  # type: ignore[arg-type]
    other = next(op_id for op_id, codes in OPERATION_ERROR_CODES.items() if code not in codes)
    for where, wrong_status in ((other, status), (drill.error_operation, status + 1)):
        case, response = fake(where, code, wrong_status)
        try:
            checks.toobit_envelope_code(None, response, case)  # type: ignore[arg-type]
        except AssertionError:
            continue
        raise AssertionError(f"the fuzz check took {code} with HTTP {wrong_status} on {where}")
    _step(f"fuzz: {code} accepted on {drill.error_operation} with HTTP {status}, not elsewhere")

    # 6: the new error as a typed exception: the simulator's own answer for the new row
    # (its api_error reads the generated table), scripted for the operation's next call
    from toobit_follower_sim.errors import api_error
    from toobit_follower_sim.testing import BASE_URL, SimExchange

    exchange = SimExchange()
    error = api_error(drill.error["name"])
    assert (error.code, error.status) == (code, status)
    exchange.script(httpx.Response(error.status, json={"code": error.code, "msg": error.msg}))
    client = toobit_follower.FollowerClient(
        DEMO_KEY, secret, base_url=BASE_URL, transport=exchange.transport()
    )
    family = getattr(toobit_follower, drill.error_class)
    calls: dict[str, Callable[[], object]] = {
        "listCurrentOrders": client.list_current_orders,
        "listHistoryOrders": client.list_history_orders,
        "updateStopProfitLoss": lambda: client.update_stop_profit_loss(
            leader, "BTC-SWAP-USDT", 1, stop_loss_rate="0.3"
        ),
        "updateFollowConfig": lambda: client.update_follow_config(**fields),
        "getFollowConfig": lambda: client.get_follow_config(leader),
        "listLeaders": client.list_leaders,
        "cancelLeader": lambda: client.cancel_leader(leader),
    }
    try:
        calls[drill.error_operation]()
    except toobit_follower.APIError as exc:
        assert isinstance(exc, family), (type(exc).__mro__, drill.error_class)
        assert (exc.code, exc.status_code) == (code, status), (exc.code, exc.status_code)
        assert exc.meaning == drill.error["meaning"], exc.meaning  # type: ignore[attr-defined]
    else:
        raise AssertionError(f"{drill.error_operation} did not raise for {code}")
    finally:
        client.close()
        exchange.close()
    (sent,) = exchange.requests
    assert (sent.method, sent.url.path) == (method, path.replace("{leaderUserId}", str(leader)))
    _step(f"client: {code} raised as {drill.error_class} with its meaning")
    print(f"drill {drill.id}: all layers follow the spec", flush=True)


if __name__ == "__main__":
    drill_main(Drill(**json.loads(sys.argv[1])))
