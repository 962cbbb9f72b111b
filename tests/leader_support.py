"""Helpers for the black-box tests of the simulator's leader side (no tests here).

Only what a client outside the simulator has: HTTP, the documented keys (the leader
keys exported by ``toobit_follower_sim.testing`` and the default keys table of
simulator/README.md), the seed format and the admin routes of that README, and the
contract (``openapi.yaml`` and the code generated from it). Requests are signed here
with a few lines of hmac, never with the client package or the simulator's code.

``Exchange`` drives one simulator in process (``SimExchange`` transports); ``server``
runs ``python -m toobit_follower_sim serve`` on 127.0.0.1 for the tests that need a real
process (``kill -9``).
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import hmac
import json
import math
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import yaml
from toobit_follower_models import ErrorResponse
from toobit_follower_models.errors import BY_NAME, ErrorCode
from toobit_follower_models.operations import BY_ID, OPERATIONS, Operation
from toobit_follower_sim import SimOptions
from toobit_follower_sim.testing import (
    BASE_URL,
    DEMO_API_KEY,
    DEMO_API_SECRET,
    LEADER_API_KEY,
    LEADER_API_SECRET,
    LEADER_ID,
    LEADER_READONLY_API_KEY,
    LEADER_READONLY_API_SECRET,
    SECOND_LEADER_API_KEY,
    SECOND_LEADER_ID,
    SimExchange,
    default_seed,
)

ROOT = Path(__file__).resolve().parents[1]
SPEC: dict[str, Any] = yaml.safe_load((ROOT / "openapi.yaml").read_text("utf-8"))
SCHEMAS: dict[str, Any] = SPEC["components"]["schemas"]


# ---- who calls ------------------------------------------------------------------------
@dataclass(frozen=True)
class Key:
    """An API key and its secret; the repr names the key's role only."""

    role: str
    key: str
    secret: str

    def __repr__(self) -> str:
        return f"Key({self.role})"


LEADER = Key("leader", LEADER_API_KEY, LEADER_API_SECRET)
LEADER_READ_ONLY = Key("leader-read-only", LEADER_READONLY_API_KEY, LEADER_READONLY_API_SECRET)
FOLLOWER = Key("demo-follower", DEMO_API_KEY, DEMO_API_SECRET)
# README: K7's read-write key; "the secrets are the demo secret"
SECOND_LEADER = Key("second-leader", SECOND_LEADER_API_KEY, DEMO_API_SECRET)
# simulator/README.md, "Default keys": every key there uses the demo secret.
SECOND_FOLLOWER = Key(
    "second-follower", "SimSecondFollowerKeyhylDIADB2LgvfCAtGpfwFG0DPMDljzTryy7y1mEu4O32",
    DEMO_API_SECRET,
)  # fmt: skip
NO_RELATION = Key(
    "no-relation", "SimNoRelationKey4bfAFu5gDHtTGibr75ELaIBVIQQSMIHjxwmy12uWfcnyFVBA",
    DEMO_API_SECRET,
)  # fmt: skip
STANDARD = Key(
    "standard-account", "SimSpotAccountKey8nV5MbzwDDSWoiTStN4OrfSYrE0sju0oH6FZKHUBTz09qwj",
    DEMO_API_SECRET,
)  # fmt: skip
DEMO_FOLLOWER_ID = 10001  # README: the demo key's account
SECOND_FOLLOWER_ID = 10002  # README: follows K7, no open positions
NO_RELATION_ID = 10003  # README: follows nobody
K7_ID = SECOND_LEADER_ID  # README: leader K7, followed by the second follower

LEADER_OPS: tuple[Operation, ...] = tuple(op for op in OPERATIONS if op.tag == "leader")
FOLLOWER_OPS: tuple[Operation, ...] = tuple(
    op for op in OPERATIONS if op.tag == "follower" and op.signed
)
LEADER_READS = tuple(op for op in LEADER_OPS if not op.write)
PAGED_READS = tuple(op for op in LEADER_READS if {"page", "size"} <= {p.name for p in op.params})


# ---- what comes back ---------------------------------------------------------------
@dataclass(frozen=True)
class Answer:
    op: Operation
    status: int
    body: Any
    headers: httpx.Headers

    @property
    def code(self) -> Any:
        return self.body.get("code") if isinstance(self.body, dict) else None

    @property
    def msg(self) -> Any:
        return self.body.get("msg") if isinstance(self.body, dict) else None

    def __repr__(self) -> str:
        return f"Answer({self.op.operation_id}: HTTP {self.status} {self.body!r})"


def ok(answer: Answer) -> Any:
    """The data of a success answer, checked against the operation's 200 model."""
    assert answer.status == 200, answer
    assert answer.body["code"] == 200 and answer.body["msg"] == "success", answer
    answer.op.response_model.model_validate(answer.body)
    for header in ("X-Api-Limit-Status", "X-Api-Limit", "X-Api-Limit-Reset-Timestamp"):
        assert header in answer.headers, (header, answer)
    return answer.body.get("data")


def refused(answer: Answer, code: ErrorCode, name: str | None = None) -> None:
    """The answer is the error row ``code`` (its HTTP status and message, ``name`` filling
    the message's field), a code the operation's ``x-error-codes`` lists."""
    row = BY_NAME[code.name]
    assert isinstance(answer.body, dict), answer
    assert answer.body.get("code") == row.code, f"expected {code.name}, got {answer!r}"
    assert answer.status == row.http_status, answer
    ErrorResponse.model_validate(answer.body)
    assert answer.body.get("data") is None, answer
    assert row.code in answer.op.error_codes, f"{answer.op.operation_id} does not list {code.name}"
    if name is not None:
        assert answer.body["msg"] == row.format_message(name=name), answer
    elif "{" not in row.message:
        assert answer.body["msg"] == row.message, answer


def refused_naming(answer: Answer, code: ErrorCode, field: str) -> None:
    """``refused``, the message naming ``field`` (an item of it may be named more exactly)."""
    refused(answer, code)
    row = BY_NAME[code.name]
    prefix, _, _ = row.message.partition("{")
    assert answer.body["msg"].startswith(prefix) and field in answer.body["msg"], answer


# ---- the simulator ---------------------------------------------------------------------
def compact(body: Any) -> bytes:
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def signature(secret: str, message: bytes) -> str:
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def _query(items: list[tuple[str, Any]]) -> str:
    return "&".join(f"{k}={quote(str(v), safe='')}" for k, v in items)


class Caller:
    """Signed requests over one httpx client, against an operation of the table."""

    def __init__(self, http: httpx.Client, now_ms: Any) -> None:
        self.http = http
        self._now_ms = now_ms

    def call(
        self,
        op_id: str,
        key: Key = LEADER,
        *,
        path: Mapping[str, Any] | None = None,
        query: Mapping[str, Any] | None = None,
        body: Any = None,
        raw_body: bytes | None = None,
        sign_body: bool = True,
        content_type: str = "application/json",
    ) -> Answer:
        op = BY_ID[op_id]
        url = op.path.format(**{k: quote(str(v), safe="") for k, v in (path or {}).items()})
        items = [*(query or {}).items(), ("timestamp", self._now_ms())]
        qs = _query(items)
        raw = raw_body if raw_body is not None else (compact(body) if body is not None else b"")
        headers = {"X-BB-APIKEY": key.key}
        if op.body_model is not None:
            headers["Content-Type"] = content_type
        signed = qs.encode() + (raw if sign_body else b"")
        resp = self.http.request(
            op.method,
            f"{url}?{qs}&signature={signature(key.secret, signed)}",
            content=raw,
            headers=headers,
        )
        try:
            parsed: Any = resp.json()
        except ValueError:
            parsed = resp.text
        return Answer(op, resp.status_code, parsed, resp.headers)

    def data(self, op_id: str, key: Key = LEADER, **kwargs: Any) -> Any:
        return ok(self.call(op_id, key, **kwargs))

    def digest(self) -> str:
        resp = self.http.get("/_sim/state", params={"historyRows": 0})
        assert resp.status_code == 200, resp.text
        return str(resp.json()["digest"])

    def reset(self) -> None:
        resp = self.http.post("/_sim/reset")
        assert resp.status_code == 200, resp.text


class Exchange(Caller):
    """One simulator in process, admin routes on."""

    def __init__(
        self, seed: Mapping[str, Any] | None = None, assumptions: Mapping[str, str] | None = None
    ) -> None:
        self.sim = SimExchange(
            seed, options=SimOptions(admin=True, assumptions=dict(assumptions or {}))
        )
        super().__init__(
            httpx.Client(base_url=BASE_URL, transport=self.sim.transport()), self.sim.clock.ms
        )

    def close(self) -> None:
        self.http.close()
        self.sim.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def server(db: Path, *extra: str) -> Iterator[tuple[Caller, subprocess.Popen[bytes]]]:
    """``toobit-follower-sim serve`` on 127.0.0.1 with a --db file, admin on."""
    port = free_port()
    cmd = [
        sys.executable, "-m", "toobit_follower_sim", "serve", "--host", "127.0.0.1",
        "--port", str(port), "--db", str(db), "--enable-admin", "--log-level", "warning", *extra,
    ]  # fmt: skip
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    http = httpx.Client(base_url=base, timeout=10)
    try:
        deadline = time.monotonic() + 30
        while True:
            if proc.poll() is not None:
                out = proc.stdout.read().decode() if proc.stdout else ""
                raise AssertionError(f"server exited early:\n{out}")
            try:
                if http.get("/api/v1/time").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "server did not start"
            time.sleep(0.05)
        yield Caller(http, lambda: int(time.time() * 1000)), proc
    finally:
        http.close()
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=10)
        if proc.stdout:
            proc.stdout.close()


# ---- the contract's examples and conversions ---------------------------------------
def request_example(op_id: str) -> dict[str, Any]:
    """The spec's (the page's) request body example of a write."""
    op = BY_ID[op_id]
    content = SPEC["paths"][op.path][op.method.lower()]["requestBody"]["content"]
    (example,) = content["application/json"]["examples"].values()
    return copy.deepcopy(example["value"])


def response_example(op_id: str) -> Any:
    op = BY_ID[op_id]
    content = SPEC["paths"][op.path][op.method.lower()]["responses"]["200"]["content"]
    (example,) = content["application/json"]["examples"].values()
    return copy.deepcopy(example["value"])


def _resolve(node: dict[str, Any]) -> dict[str, Any]:
    ref = node.get("$ref")
    if ref is None:
        return node
    target: Any = SPEC
    for part in ref.lstrip("#/").split("/"):
        target = target[part]
    return dict(target)


def example_request(op: Operation) -> dict[str, Any]:
    """``Caller.call`` keyword arguments of a valid request built from the spec's examples:
    each business parameter's example, the request body's example."""
    spec_op = SPEC["paths"][op.path][op.method.lower()]
    path: dict[str, Any] = {}
    query: dict[str, Any] = {}
    for raw in spec_op.get("parameters", []):
        param = _resolve(raw)
        if param["name"] == "recvWindow" or "example" not in param:
            continue
        (path if param["in"] == "path" else query)[param["name"]] = param["example"]
    request: dict[str, Any] = {"path": path, "query": query}
    if op.body_model is not None:
        request["body"] = request_example(op.operation_id)
    return request


UPDATE_FIELDS: tuple[str, ...] = tuple(SCHEMAS["LeaderConfigUpdate"]["properties"])
UPDATE_REQUIRED: tuple[str, ...] = tuple(SCHEMAS["LeaderConfigUpdate"]["required"])
TIMESTAMPS = ("unLeadStartTime", "unLeadEndTime")


def update_from_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """A config query's answer converted into an update body (the contract's reading of
    leader-config-round-trip-types): timestamps as JSON integers, unset values left out."""
    body: dict[str, Any] = {}
    for name in UPDATE_FIELDS:
        value = config.get(name)
        if value is None or value == "":
            continue
        body[name] = int(value) if name in TIMESTAMPS else value
    return body


def plain(value: Decimal) -> str:
    """A request decimal in plain notation."""
    return format(value.normalize(), "f")


def ceil_div(total: int, size: int) -> int:
    return math.ceil(total / size) if size else 0


def leader_seed(seed: dict[str, Any], leader_id: int) -> dict[str, Any]:
    """A leader's entry of a seed (README's `leaders`)."""
    return next(leader for leader in seed["leaders"] if leader["id"] == leader_id)


def seed_with_second_follower_of_leader(
    invest: str = "777", position_under_k7: bool = False
) -> dict[str, Any]:
    """The default seed (README's format) plus a follow relation of the second follower
    (10002, no open position) to the demo leader, a copy of the demo follower's with its
    own investment, following for an hour less (so newer); optionally an open position
    of 10002 under K7."""
    seed = default_seed()
    demo = next(
        f
        for f in seed["follows"]
        if f["followerId"] == DEMO_FOLLOWER_ID and f["leaderUserId"] == LEADER_ID
    )
    relation = copy.deepcopy(demo)
    relation["followerId"] = SECOND_FOLLOWER_ID
    relation["config"]["investAmount"] = invest
    relation["config"]["realInvestAmount"] = invest
    relation["sinceMs"] = demo["sinceMs"] + 3_600_000
    seed["follows"].append(relation)
    if position_under_k7:
        position = copy.deepcopy(
            next(p for p in seed["positions"] if p["followerId"] == DEMO_FOLLOWER_ID)
        )
        position["followerId"] = SECOND_FOLLOWER_ID
        position["leaderUserId"] = K7_ID
        seed["positions"].append(position)
    return seed
