"""The simulator routes and dispatches from the generated operation table (issue 18, item 5).

A drill in a temporary copy of openapi.yaml adds, by a program and nothing else:
  * a new signed GET, `/api/v2/copy-trading/follower/drill/{drillId}`, with a path
    parameter, a required query parameter and an object answer (`DrillReport` in the
    success envelope);
  * a new signed POST with two path parameters and a JSON body,
    `/api/v2/copy-trading/follower/drill/{drillId}/notes/{noteId}`;
  * an optional query parameter without a default (`symbolId`) on listHistoryOrders.
It regenerates into that folder (`generator/generate.py --spec --output`) and runs this
file as a script in a subprocess whose PYTHONPATH puts the drill's generated packages
first (as tests/test_spec_evolution.py does). The script shows:
  1. the simulator starts (the real server, `toobit-follower-sim serve`) and warns about
     each missing rule, naming the method to add; `toobit-follower-sim rules` lists them;
  2. each new operation is routed and answered with the UNKNOWN row of the error table,
     its message naming the missing rule (never a silent 200, never a traceback), after
     its parameters and body were validated from the spec;
  3. history requests without the new parameter and with it succeed, and its schema is
     enforced (`BTC,ETH` is refused as the SymbolId schema says; empty is missing);
  4. once a subclass of FollowerService adds the rules (a few lines each), the new
     operations answer 200 with bodies their generated response models accept, and a
     rule that answers outside the schema is a logged -1000 that is never sent.
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TESTS = ROOT / "tests"
TIMEOUT_S = 300
DRILL_PATH = "/api/v2/copy-trading/follower/drill/{drillId}"
DRILL_ID = "getDrillReport"
NOTE_PATH = "/api/v2/copy-trading/follower/drill/{drillId}/notes/{noteId}"
NOTE_ID = "addDrillNote"
HISTORY_ID = "listHistoryOrders"
NEW_PARAM = "symbolId"


# --------------------------------------------------------------------------- the spec edit
def _find(spec: dict[str, Any], operation_id: str) -> dict[str, Any]:
    return next(
        op
        for item in spec["paths"].values()
        for op in item.values()
        if isinstance(op, dict) and op.get("operationId") == operation_id
    )


def evolve(spec: dict[str, Any]) -> dict[str, Any]:
    """The drill: one new GET and one optional query parameter, on a copy of the spec."""
    spec = copy.deepcopy(spec)
    history = _find(spec, HISTORY_ID)
    assert all(p.get("name") != NEW_PARAM for p in history["parameters"])
    history["parameters"].insert(
        0,
        {
            "name": NEW_PARAM,
            "in": "query",
            "required": False,
            "description": "Only the closed positions of this trading pair.",
            "schema": {"$ref": "#/components/schemas/SymbolId"},
        },
    )
    # The new read: signed, its errors and answers as the other reads have them.
    template = copy.deepcopy(history)
    schemas = spec["components"]["schemas"]
    schemas["DrillReport"] = {
        "type": "object",
        "description": "A drill's figures.",
        "required": ["drillId", "metric", "followers"],
        "properties": {
            "drillId": {"type": "integer", "format": "int64", "minimum": 1},
            "metric": {"type": "string", "enum": ["pnl", "volume"]},
            "followers": {"type": "integer", "minimum": 0},
        },
    }
    schemas["DrillReportResponse"] = {
        "description": "Success of the drill report query.",
        "allOf": [
            {"$ref": "#/components/schemas/Envelope"},
            {
                "type": "object",
                "required": ["code", "msg", "data"],
                "properties": {"data": {"$ref": "#/components/schemas/DrillReport"}},
            },
        ],
    }
    ok = template["responses"]["200"]
    ok["description"] = "The drill's report."
    ok["content"]["application/json"] = {
        "schema": {
            "description": "The success envelope, or the error envelope.",
            "anyOf": [
                {"$ref": "#/components/schemas/DrillReportResponse"},
                {"$ref": "#/components/schemas/ErrorResponse"},
            ],
        }
    }
    spec["paths"][DRILL_PATH] = {
        "get": {
            "operationId": DRILL_ID,
            "tags": template["tags"],
            "summary": "Drill report",
            "description": "A drill's report for one metric.",
            "x-request-weight": 2,
            "x-error-codes": template["x-error-codes"],
            "security": template["security"],
            "parameters": [
                {
                    "name": "drillId",
                    "in": "path",
                    "required": True,
                    "description": "The drill.",
                    "schema": {"type": "integer", "format": "int64", "minimum": 1},
                },
                {
                    "name": "metric",
                    "in": "query",
                    "required": True,
                    "description": "Which figure.",
                    "schema": {"type": "string", "enum": ["pnl", "volume"]},
                },
                {"$ref": "#/components/parameters/RecvWindow"},
            ],
            "responses": template["responses"],
        }
    }
    # The new write: a POST with two path parameters and a JSON body.
    write = copy.deepcopy(_find(spec, "updateFollowConfig"))
    schemas["DrillNote"] = {
        "type": "object",
        "description": "A note on a drill.",
        "additionalProperties": False,
        "required": ["text"],
        "properties": {"text": {"type": "string", "minLength": 1, "maxLength": 20}},
    }
    write["requestBody"]["content"]["application/json"] = {
        "schema": {"$ref": "#/components/schemas/DrillNote"}
    }
    spec["paths"][NOTE_PATH] = {
        "post": {
            "operationId": NOTE_ID,
            "tags": write["tags"],
            "summary": "Add a drill note",
            "x-request-weight": 1,
            "x-error-codes": write["x-error-codes"],
            "security": write["security"],
            "parameters": [
                {
                    "name": "drillId",
                    "in": "path",
                    "required": True,
                    "schema": {"type": "integer", "format": "int64", "minimum": 1},
                },
                {
                    "name": "noteId",
                    "in": "path",
                    "required": True,
                    "schema": {"type": "string", "pattern": "^[a-z]{1,8}$"},
                },
                {"$ref": "#/components/parameters/RecvWindow"},
            ],
            "requestBody": write["requestBody"],
            "responses": write["responses"],
        }
    }
    return spec


def drill_environment(tmp: Path, spec_path: Path) -> dict[str, str]:
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


def test_a_new_operation_and_parameter_reach_the_simulator(tmp_path: Path) -> None:
    import yaml

    spec = yaml.safe_load((ROOT / "openapi.yaml").read_text(encoding="utf-8"))
    spec_path = tmp_path / "openapi.yaml"
    spec_path.write_text(yaml.safe_dump(evolve(spec), sort_keys=False), encoding="utf-8")
    generate = subprocess.run(
        [sys.executable, str(ROOT / "generator" / "generate.py"), "--spec", str(spec_path),
         "--output", str(tmp_path / "generated")],
        cwd=ROOT, capture_output=True, text=True, timeout=TIMEOUT_S, check=False,
    )  # fmt: skip
    assert generate.returncode == 0, generate.stdout + generate.stderr
    script = subprocess.run(
        [sys.executable, str(Path(__file__))],
        cwd=tmp_path,
        env=drill_environment(tmp_path, spec_path),
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        check=False,
    )
    assert script.returncode == 0, f"drill failed:\n{script.stdout}\n{script.stderr}"
    assert script.stdout.strip().endswith("drill: the simulator follows the spec")


# =========================================================================== the subprocess
def _step(text: str) -> None:
    print(f"- {text}", flush=True)


def drill_main() -> None:
    import io
    import logging
    import socket
    import time
    from contextlib import redirect_stderr, redirect_stdout

    import httpx
    import toobit_follower_models
    import toobit_follower_sim
    from test_sim_support import HISTORY, LEADERS, READ_ONLY_KEY, Sim
    from toobit_follower_models.errors import BY_NAME, ErrorCode
    from toobit_follower_models.operations import BY_ID
    from toobit_follower_sim import Call, FollowerService, SimOptions, create_app, missing_rules
    from toobit_follower_sim.cli import main as sim_main

    here = Path(toobit_follower_models.__file__).resolve()
    assert here.is_relative_to(Path.cwd()), f"the repo's generated models were imported: {here}"
    assert Path(toobit_follower_sim.__file__).resolve().is_relative_to(ROOT)
    drill, note, history = BY_ID[DRILL_ID], BY_ID[NOTE_ID], BY_ID[HISTORY_ID]
    assert (drill.method, drill.path, drill.python_name) == ("GET", DRILL_PATH, "get_drill_report")
    assert [p.name for p in drill.params] == ["drillId", "metric", "recvWindow"]
    assert (note.method, note.python_name, note.write) == ("POST", "add_drill_note", True)
    assert [p.name for p in note.params] == ["drillId", "noteId", "recvWindow"]
    new = next(p for p in history.params if p.name == NEW_PARAM)
    assert (new.required, new.default) == (False, None)
    rule_name = f"FollowerService.{drill.python_name}"
    _step(f"table: {DRILL_ID} -> {rule_name}; {HISTORY_ID} gains optional {NEW_PARAM}")

    # 1. the real server starts, and says which rule is missing
    assert [op.operation_id for op in missing_rules()] == [DRILL_ID, NOTE_ID]
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        assert sim_main(["rules"]) == 1
    assert f"{DRILL_ID} -> {rule_name} (MISSING" in out.getvalue(), out.getvalue()
    assert f"{HISTORY_ID} -> FollowerService.list_history_orders (ok)" in out.getvalue()
    for op_id in (DRILL_ID, NOTE_ID):
        assert f"no business rule for operation {op_id!r}" in err.getvalue()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "toobit_follower_sim", "serve", "--port", str(port),
         "--log-level", "warning"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{port}/api/v1/time", timeout=1).raise_for_status()
                break
            except httpx.HTTPError:
                assert server.poll() is None and time.monotonic() < deadline, "did not start"
                time.sleep(0.1)
    finally:
        server.terminate()
        log_text = server.communicate(timeout=10)[1]
    for op in (drill, note):
        assert f"no business rule for operation {op.operation_id!r}" in log_text, log_text
        assert f"add FollowerService.{op.python_name}(call)" in log_text, log_text
    assert "Traceback" not in log_text, log_text
    _step("serve: starts, and warns about the missing rule; `rules` lists it (exit 1)")

    # 2. in process: the new operation is refused, naming the rule, after validation
    captured: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            captured.append(record.getMessage())

    logger = logging.getLogger("toobit_follower_sim")
    logger.addHandler(Keep())
    sim = Sim()  # validate_responses: every answer against the generated models
    assert sim.app.sim.missing_rules == (DRILL_ID, NOTE_ID)
    assert any(f"no business rule for operation {DRILL_ID!r}" in line for line in captured)
    path = DRILL_PATH.replace("{drillId}", "42")
    unknown = BY_NAME[ErrorCode.UNKNOWN.name]
    resp = sim.signed("GET", path, "metric=pnl")
    assert (resp.status, resp.code) == (unknown.http_status, ErrorCode.UNKNOWN), resp.body
    assert f"no business rule for operation {DRILL_ID!r}" in resp.json["msg"]
    assert rule_name in resp.json["msg"]
    note_path = NOTE_PATH.replace("{drillId}", "42").replace("{noteId}", "first")
    resp = sim.signed("POST", note_path, body={"text": "hello"})
    assert (resp.status, resp.code) == (unknown.http_status, ErrorCode.UNKNOWN), resp.body
    assert f"add FollowerService.{note.python_name}(call)" in resp.json["msg"]
    refused = BY_NAME[ErrorCode.INVALID_PARAMETER.name]
    for bad_path, query, row in (
        (path, "metric=speed", refused),
        (DRILL_PATH.replace("{drillId}", "0"), "metric=pnl", refused),
        (path, "", BY_NAME[ErrorCode.MANDATORY_PARAM_EMPTY_OR_MALFORMED.name]),
    ):
        resp = sim.signed("GET", bad_path, query)
        assert (resp.status, resp.code) == (row.http_status, row.code), (query, resp.body)
    for bad_path, body, row in (
        (note_path.replace("first", "NOT-OK"), {"text": "hello"}, refused),
        (note_path, {"text": "x" * 21}, refused),
        (note_path, {"text": "hello", "extra": 1}, BY_NAME[ErrorCode.UNKNOWN_PARAM.name]),
    ):
        resp = sim.signed("POST", bad_path, body=body)
        assert (resp.status, resp.code) == (row.http_status, row.code), (body, resp.body)
    not_supported = BY_NAME[ErrorCode.NOT_SUPPORTED.name]
    resp = sim.signed("POST", note_path, body={"text": "hello"}, key=READ_ONLY_KEY)
    assert (resp.status, resp.code) == (not_supported.http_status, not_supported.code)
    _step(f"simulator: {DRILL_ID} and {NOTE_ID} (POST, two path parameters) routed,")
    _step(f"  answered {unknown.code} naming their rules; parameters and body checked first")

    # 3. history: without the new parameter, with it, and with values its schema refuses
    baseline = sim.signed("GET", HISTORY, "page=1&size=10")
    assert (baseline.status, baseline.code) == (200, 200), baseline.body
    with_param = sim.signed("GET", HISTORY, f"{NEW_PARAM}=BTC-SWAP-USDT&page=1&size=10")
    assert (with_param.status, with_param.code) == (200, 200), with_param.body
    for value, row in (
        ("BTC,ETH", refused),
        ("", BY_NAME[ErrorCode.MANDATORY_PARAM_EMPTY_OR_MALFORMED.name]),
    ):
        resp = sim.signed("GET", HISTORY, f"{NEW_PARAM}={value}")
        assert (resp.status, resp.code) == (row.http_status, row.code), (value, resp.body)
        assert NEW_PARAM in resp.json["msg"]
    _step(f"simulator: history with and without {NEW_PARAM} served; its schema enforced")
    sim.close()

    # 4. the rules, a few lines each, registered by subclassing
    notes: list[tuple[int, str, str]] = []

    class DrillService(FollowerService):
        def get_drill_report(self, call: Call) -> dict[str, Any]:
            followers = len(json.loads(self.list_leaders(call)))
            return {"drillId": call.params["drillId"], "metric": call.params["metric"],
                    "followers": followers}  # fmt: skip

        def add_drill_note(self, call: Call) -> None:
            assert call.body is not None
            notes.append((call.params["drillId"], call.params["noteId"], call.body["text"]))

    assert missing_rules(DrillService) == []
    sim = Sim()
    sim.app.sim.close()
    sim.app = create_app(
        options=SimOptions(admin=True, validate_responses=True),
        clock=sim.clock,
        service=DrillService,
    )
    assert sim.app.sim.missing_rules == ()
    resp = sim.signed("GET", path, "metric=volume")
    assert (resp.status, resp.code) == (200, 200), resp.body
    answer = drill.response_model.model_validate_json(resp.body)
    data_type = drill.response_model.model_fields["data"].annotation
    assert isinstance(answer.data, data_type)  # type: ignore[arg-type,attr-defined]
    followed = len(sim.signed("GET", LEADERS).json["data"])
    assert resp.json["data"] == {"drillId": 42, "metric": "volume", "followers": followed}
    resp = sim.signed("POST", note_path, body={"text": "hello"})
    assert (resp.status, resp.code) == (200, 200), resp.body
    note.response_model.model_validate_json(resp.body)
    assert notes == [(42, "first", "hello")]
    sim.close()
    _step(f"simulator: with DrillService.{drill.python_name}, 200 and a valid DrillReport;")
    _step(f"  with DrillService.{note.python_name}, the POST's parameters and body arrive")

    class SloppyService(FollowerService):
        def get_drill_report(self, call: Call) -> dict[str, Any]:
            return {"drillId": "forty-two"}

    captured.clear()
    sim = Sim()
    sim.app.sim.close()
    sim.app = create_app(options=SimOptions(admin=True), clock=sim.clock, service=SloppyService)
    resp = sim.signed("GET", path, "metric=pnl")
    assert (resp.status, resp.code) == (unknown.http_status, ErrorCode.UNKNOWN), resp.body
    assert "forty-two" not in resp.body.decode()
    assert any("answered outside the 200 schema" in line for line in captured), captured
    sim.close()
    _step("simulator: a rule answering outside the schema is a logged -1000, never sent")
    print("drill: the simulator follows the spec", flush=True)


if __name__ == "__main__":
    drill_main()
