"""The ASGI application: `create_app(...)` returns a Starlette app serving the API.

/api/* goes through one fast path (`Simulator.handle_api`) that applies, in order:

  1. faults (latency, gateway HTML 502/503, dropped connection), when configured
  2. routing (every operation of the generated table, `toobit_follower_models.operations`:
     any method, any path template): 404 unknown path, 405 (+Allow) unknown method.
     An unsigned operation (no `security`) skips 3-8: the client address pays its weight
  3. API key: missing, malformed, unknown, expired, suspended; account not COPY_TRADING
  4. timestamp / signature missing; timestamp / recvWindow not valid
  5. timestamp outside the window; signature not valid
  6. rate limit: 429, then 418 when banned; counted per API key once 3-5 passed (the
     caller proved it holds the key), else per client address, so nobody can spend
     (or get banned) someone else's key by naming it
  7. read-only key on a write
  8. a JSON body's Content-Type must be application/json; then a query parameter the
     operation does not declare; then the path and query parameters, then the body
     (validation.py), then the generated model
  8b. the role of the signed account (`FollowerService.role_check`, leader_service.py:
     a leader operation needs an active leader); before 8 with the alternative of
     leader-role-after-validation
  9. the business rule: `FollowerService.<snake_case of the operationId>(call)`
     (service.py, leader_service.py); an operation without one is answered with an
     error naming it
 10. commit500 fault on a committed write
 11. the answer: the rule's data in the success envelope (unless the 200 model is not
     an envelope), checked against the table's response model when the rule built it
 12. variants mode: the success answer in another shape its schema admits (variants.py)

(simulator/README.md gives each check's error-table row; codes, statuses and messages
come from the spec's error table through errors.py.)

Every response carries X-Api-Limit-Status, X-Api-Limit and X-Api-Limit-Reset-Timestamp.
Other paths (/openapi.yaml, /openapi.json, /docs, /_sim/*) are ordinary Starlette routes.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import hmac
import json
import logging
import os
import re
import time
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import toobit_follower_models as models
from pydantic import BaseModel, ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import (
    FileResponse,
    HTMLResponse,
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
)
from starlette.routing import Route
from toobit_follower_models.assumptions import BY_ID as MARKERS
from toobit_follower_models.errors import BY_NAME, ErrorCode
from toobit_follower_models.protocol import (
    API_KEY_HEADER,
    RATE_LIMIT_HEADER,
    RATE_LIMIT_RESET_HEADER,
    RATE_LIMIT_STATUS_HEADER,
    SUCCESS_CODE,
)

from . import errors
from .assumptions import Choice, check_choices, resolve
from .errors import ApiError, api_error
from .faults import DROP, GATEWAY_PAGES, Faults, FaultSpec, FaultSpecError
from .ratelimit import LIMITED, OK, RateLimiter, Verdict
from .seed import load_seed
from .service import Call, FollowerService
from .signing import Query, parse_query, signature_ok
from .spec import FieldRule, Operation, SpecData, load_spec, node_at, node_parts
from .store import KeyRecord, Store
from .validation import (
    BodyPlan,
    check_body,
    check_model,
    conforms,
    model_view,
    parse_int_param,
    parse_json_object,
    plain_decimals,
)
from .variants import Variants

log = logging.getLogger("toobit_follower_sim")

_KEY_FORMAT = re.compile(rb"[A-Za-z0-9]{1,128}")
# The spec's header names as ASGI carries them (lowercase bytes), encoded once
_API_KEY = API_KEY_HEADER.lower().encode("ascii")
_LIMIT_STATUS = RATE_LIMIT_STATUS_HEADER.lower().encode("ascii")
_LIMIT = RATE_LIMIT_HEADER.lower().encode("ascii")
_LIMIT_RESET = RATE_LIMIT_RESET_HEADER.lower().encode("ascii")
_TIMESTAMP = re.compile(r"-?[0-9]{1,19}")
_JSON = b"application/json"
# A PUT body must be declared JSON (Basic Information: the v2 write endpoints take
# `Content-Type: application/json`); parameters such as charset may follow.
_JSON_CONTENT_TYPE = re.compile(rb"application/json\s*(;.*)?", re.IGNORECASE)
_ADMIN_HEADER = "x-sim-admin-token"
# Assumption permission-errors-are-403, its alternative: these rows come with the status
# of the other refused requests (the validation rows').
_PERMISSION_ROWS = frozenset({ErrorCode.NOT_SUPPORTED, ErrorCode.NO_PERMISSION})
_REFUSAL_STATUS = BY_NAME[ErrorCode.INVALID_PARAMETER.name].http_status


def wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


@dataclass
class SimOptions:
    """Switches of one simulator instance (the CLI flags map onto these)."""

    rate_limit: int = 3000  # request weight per window and key
    rate_window_ms: int = 60_000
    ban_grace: int = 10  # further requests tolerated after the first 429 of a window
    ban_ms: int = 120_000  # first ban; doubles per ban, at most 3 days
    rate_max_callers: int = 10_000  # keys + addresses the limiter tracks per window
    # The choice on each of the contract's x-assumption markers: id -> "contract" (the
    # default) or "alternative" (assumptions.py; the ids are checked against
    # toobit_follower_models.assumptions when the simulator starts):
    assumptions: Mapping[str, Choice] = field(default_factory=dict)
    admin: bool = False  # serve /_sim/*
    admin_token: str | None = None  # if set, /_sim/* needs X-Sim-Admin-Token (implies admin)
    faults: FaultSpec | str | None = None
    validate_responses: bool = False  # check every answer against the generated models
    # Success answers in the tolerant shapes the spec allows (variants.py), seeded:
    variants: bool = False
    variants_seed: int = 0
    spec_path: str | None = None
    docs_dir: str | None = None  # where index.html of the built docs lives (dist/spec)
    max_body_bytes: int = 65_536  # any route's body, admin routes included
    # The server (server.py; in-process apps have no connections):
    header_timeout_s: float = 10.0  # to complete a request's headers, from connect or
    # from the previous response; else the connection is closed
    body_timeout_s: float = 10.0  # to complete its body, from the end of its headers
    max_header_bytes: int = 65_536  # of one request's line and headers
    keep_alive_s: int = 5  # an idle keep-alive connection is closed after this
    max_connections: int = 1000  # open at once (at most the open-file limit allows);
    # past it, the connection waiting longest for a request is closed

    def __post_init__(self) -> None:
        check_choices(self.assumptions)

    def __repr__(self) -> str:  # the admin token stays out of logs
        token = "set" if self.admin_token else None
        played = sorted(m for m, choice in self.assumptions.items() if choice != "contract")
        return (
            f"SimOptions(rate_limit={self.rate_limit}, alternatives={played}, "
            f"admin={self.admin}, admin_token={token}, faults={str(self.faults or '')!r})"
        )


class DropConnection(Exception):
    """Fault `drop`: close the connection without sending any response."""


@dataclass(slots=True)
class Signed:
    """A request that passed the signing checks."""

    key: KeyRecord
    who: str  # the rate limiter's name of the key
    query: Query
    body: bytes


# ASCII-escaped JSON: the same data for any JSON reader, a little faster to encode,
# and safe for any string (a lone surrogate cannot break the UTF-8 encoding).
_ENCODE = json.JSONEncoder(separators=(",", ":")).encode


def _encode(payload: Any) -> bytes:
    return _ENCODE(payload).encode()


def _single(query: Query, name: str) -> str | None:
    """The one value of a query parameter; None when absent; invalid if repeated or not UTF-8."""
    values = query.params.get(name)
    if not values:
        return None
    if len(values) > 1 or values[0] is None:
        raise errors.invalid(name)
    return values[0]


_OK = b'{"code":%d,"msg":"success","data":' % SUCCESS_CODE
_NO_QUERY = Query()
_TEMPLATE_PARAM = re.compile(r"\{[^{}/]+\}")
_INTEGER = re.compile(r"-?[0-9]{1,25}")
_BOOLEANS = {"true": True, "false": False}

ServiceFactory = Callable[[Store, frozenset[str]], Any]
"""What builds the business rules: `FollowerService` or a subclass (`create_app(service=...)`),
called with the store and the alternatives played."""


@dataclass(slots=True)
class _Endpoint:
    """One operation as the fast path serves it, compiled at startup."""

    op: Operation
    call_op: Any  # the generated table's row (Call.op)
    signed: bool
    weight: int
    path_names: tuple[str, ...]
    path_parsers: tuple[tuple[str, Callable[[str | None], Any]], ...]
    parsers: tuple[tuple[str, Callable[[str | None], Any]], ...]  # the query's
    plan: BodyPlan | None
    body_model: type[BaseModel] | None
    body_required: bool
    borrowed: tuple[FieldRule, ...]
    rule: Callable[[Call], Any] | None
    missing: str | None  # what to say when there is no rule
    role: Callable[[int], None] | None  # the signed account's role check (service)
    digit_strings: tuple[str, ...]  # body integers also taken as strings of digits
    envelope: bool  # the 200 model wraps the rule's data (code, msg, data)
    response_model: type[BaseModel]


def _no_rule(endpoint: _Endpoint) -> ApiError:
    """An operation of the spec without a business rule: the UNKNOWN row, its message
    naming the rule to add (never a silent success)."""
    info = BY_NAME[ErrorCode.UNKNOWN.name]
    return ApiError(info.code, str(endpoint.missing), info.http_status)


def _parser(rule: FieldRule) -> Callable[[str | None], Any]:
    """How a path or query parameter's text becomes its value, per its schema: absent ->
    its default, else None when optional, else missing; empty -> missing; a value that
    breaks the schema -> invalid."""
    name = rule.name
    if rule.kind == "integer" and (rule.required or rule.default is not None):
        return functools.partial(parse_int_param, rule)

    def parse(text: str | None) -> Any:
        if text is None:
            if rule.required:
                raise errors.missing(name)
            return rule.default
        if rule.kind == "integer":
            return parse_int_param(rule, text)
        if text == "":
            raise errors.missing(name)
        value: Any = text
        if rule.kind == "boolean":
            value = _BOOLEANS.get(text, text)
        elif rule.kind == "any" and _INTEGER.fullmatch(text) and conforms(rule, int(text)):
            value = int(text)
        if not conforms(rule, value):
            raise errors.invalid(name)
        return value

    return parse


_NOT_FOUND = _encode({"code": ErrorCode.UNKNOWN, "msg": "Not found."})
_NOT_ALLOWED = _encode({"code": ErrorCode.UNKNOWN, "msg": "Method not allowed."})


async def read_capped(receive: Any, limit: int) -> bytes | None:
    """An ASGI request body, or None as soon as it exceeds `limit` bytes (the rest is
    never buffered)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise DropConnection  # the client is gone; nobody to answer
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _refuse_over_limit(
    verdict: Verdict, extra: list[tuple[bytes, bytes]], retry_after: bool = True
) -> None:
    """429 or 418 (with Retry-After, unless told not to: assumption retry-after-header)
    unless the limiter let the request through."""
    if verdict.kind == OK:
        return
    if retry_after:
        extra.append((b"retry-after", str(verdict.retry_after_s).encode()))
    if verdict.kind == LIMITED:
        raise api_error(ErrorCode.TOO_MANY_REQUESTS, limit=verdict.limit)
    # The code has two rows; the ban is the one named IP_BANNED.
    raise api_error("IP_BANNED", until=verdict.reset_ms)


class Simulator:
    """State, rules and the /api/* fast path of one simulator instance."""

    def __init__(
        self,
        seed: str | os.PathLike[str] | Mapping[str, Any] | None = None,
        db: str | os.PathLike[str] | None = None,
        *,
        options: SimOptions | None = None,
        clock: Callable[[], int] | None = None,
        service: ServiceFactory = FollowerService,
    ) -> None:
        self.options = options or SimOptions()
        self.spec: SpecData = load_spec(self.options.spec_path)
        # The alternatives played (assumptions.py), by x-assumption id; each rule that
        # has one names its marker where it acts.
        self.alternatives = resolve(self.options.assumptions)
        alternative = self.alternatives.__contains__
        self._body_signed = not alternative("body-signed-with-query")
        self._refuse_unknown = not alternative("unknown-parameter-refused")
        self._read_only_first = not alternative("read-only-before-validation")
        self._content_type_checked = not alternative("put-content-type-json")
        self._retry_after = not alternative("retry-after-header")
        self._errors_as_200 = alternative("error-status-per-code")
        self._permission_as_refusal = alternative("permission-errors-are-403")
        self._plain_decimals_only = not alternative("request-decimal-plain-string")
        self._role_first = alternative("leader-role-after-validation")
        self.seed = load_seed(seed, self.spec)
        self.store = Store(os.fspath(db) if db is not None else None, self.spec)
        if not self.store.is_seeded():
            self.store.load_seed(self.seed)
        self.service = service(self.store, self.alternatives)
        self.variants = (
            Variants(self.spec, self.options.variants_seed) if self.options.variants else None
        )
        self.limiter = RateLimiter(
            limit=self.options.rate_limit,
            window_ms=self.options.rate_window_ms,
            grace=self.options.ban_grace,
            ban_ms=self.options.ban_ms,
            max_callers=self.options.rate_max_callers,
        )
        faults = self.options.faults
        self.faults = Faults(faults if isinstance(faults, FaultSpec) else FaultSpec.parse(faults))
        self.clock = clock or wall_clock_ms
        self.admin_offset_ms = 0
        # Routing: a dict of the fixed paths, then one compiled pattern per path template
        # (a fixed path wins over a template, as in OpenAPI); each method's _Endpoint.
        self._routes: dict[str, dict[str, _Endpoint]] = {}
        self._templates: list[tuple[re.Pattern[str], dict[str, _Endpoint]]] = []
        shapes: dict[str, dict[str, _Endpoint]] = {}
        self.missing_rules: tuple[str, ...] = ()
        """The operations without a business rule (their ids), answered with an error."""
        missing = []
        for op in self.spec.operations.values():
            endpoint = self._endpoint(op)
            if endpoint.rule is None:
                missing.append(op.operation_id)
                log.warning("%s", endpoint.missing)
            if "{" not in op.path:
                self._routes.setdefault(op.path, {})[op.method] = endpoint
                continue
            shape = _TEMPLATE_PARAM.sub("{}", op.path)
            if shape not in shapes:
                shapes[shape] = {}
                pattern = "".join(
                    "([^/]+)" if part == "{}" else re.escape(part)
                    for part in re.split(r"(\{\})", shape)
                )
                self._templates.append((re.compile(pattern), shapes[shape]))
            shapes[shape][op.method] = endpoint
        self.missing_rules = tuple(missing)

    def _endpoint(self, op: Operation) -> _Endpoint:
        """What serving `op` takes, compiled once: parameter parsers, body plan, the rule."""
        alternative = self.alternatives.__contains__
        relaxed = self._relaxed_parameter() if alternative("history-size-at-least-one") else None
        capped = self._capped_parameters() if alternative("leader-page-size-range") else {}
        parsers = []
        for rule in (*op.path_params, *op.query):
            if relaxed == (op.operation_id, rule.name):
                # history-size-at-least-one, its alternative: the parameter it marks takes 0.
                rule = dataclasses.replace(rule, minimum=0)
            if (op.operation_id, rule.name) in capped:
                # leader-page-size-range, its alternative: the follower page's maximum.
                rule = dataclasses.replace(rule, maximum=capped[op.operation_id, rule.name])
            parsers.append((rule.name, _parser(rule)))
        path_names = tuple(rule.name for rule in op.path_params)
        plan = None
        if op.body is not None:
            plan = BodyPlan(op.body, spaces_in_symbol_ids=alternative("follow-symbol-ids-spaces"))
        borrowed: tuple[FieldRule, ...] = ()
        if alternative("stop-profit-loss-rate-format") and self._marked_operation(
            "stop-profit-loss-rate-format"
        ) == (op.method, op.path):
            # Its alternative: the follow config's whole rule for the fields both bodies
            # share (its StopRate minimum for the stop rates).
            config = self.spec.schemas["FollowConfigUpdate"].properties
            shared = plan.names if plan is not None else frozenset()
            borrowed = tuple(rule for name, rule in config.items() if name in shared)
        digit_strings: tuple[str, ...] = ()
        if alternative("leader-config-round-trip-types") and self._marked_operation(
            "leader-config-round-trip-types"
        ) == (op.method, op.path):
            # Its alternative: a body integer that the query answers as a string (the
            # stored document's schema) may be sent as that string of digits.
            digit_strings = self.store.docs.answered_as_strings(op.body_schema_name)
        table = op.table
        role_check = getattr(self.service, "role_check", None)
        rule = getattr(self.service, table.python_name, None)
        missing = None
        if not callable(rule):
            rule = None
            missing = (
                f"The simulator has no business rule for operation {op.operation_id!r}"
                f" ({op.method} {op.path}): add {type(self.service).__name__}."
                f"{table.python_name}(call) (simulator/README.md)."
            )
        return _Endpoint(
            op=op,
            call_op=table,
            signed=table.signed,
            weight=op.weight,
            path_names=path_names,
            parsers=tuple(parsers[len(path_names) :]),
            path_parsers=tuple(parsers[: len(path_names)]),
            plan=plan,
            body_model=table.body_model,
            body_required=table.body_required,
            borrowed=borrowed,
            rule=rule,
            missing=missing,
            role=role_check(table) if callable(role_check) and table.signed else None,
            digit_strings=digit_strings,
            envelope="data" in table.response_model.model_fields,
            response_model=table.response_model,
        )

    def _marked_operation(self, marker: str) -> tuple[str, str] | None:
        """(METHOD, path) of the operation an x-assumption marker qualifies (its `where`)."""
        parts = node_parts(MARKERS[marker].where)
        if len(parts) < 3 or parts[0] != "paths":
            return None
        return parts[2].upper(), parts[1]

    def _relaxed_parameter(self) -> tuple[str, str] | None:
        """(operationId, name) of the parameter history-size-at-least-one marks."""
        where = MARKERS["history-size-at-least-one"].where
        located = self._marked_operation("history-size-at-least-one")
        param = node_at(self.spec.document, where)
        for op in self.spec.operations.values():
            if (op.method, op.path) == located and isinstance(param, dict):
                return op.operation_id, str(param.get("name"))
        return None

    def _capped_parameters(self) -> dict[tuple[str, str], int]:
        """(operationId, name) -> maximum: the parameters leader-page-size-range marks
        (the component parameter it qualifies), capped at the follower operations'
        maximum of the same parameter (its alternative)."""
        where = MARKERS["leader-page-size-range"].where
        parameter = node_at(self.spec.document, where)
        if not isinstance(parameter, dict):
            return {}
        name = parameter.get("name")
        maxima = [
            int(rule.maximum)
            for op in self.spec.operations.values()
            if op.table.tag == "follower"
            for rule in op.query
            if rule.name == name and rule.maximum is not None
        ]
        paths = self.spec.document["paths"]
        users = {
            op_id
            for op_id, op in self.spec.operations.items()
            if {"$ref": where} in paths[op.path][op.method.lower()].get("parameters", [])
        }
        return {(op_id, str(name)): min(maxima) for op_id in users} if maxima else {}

    # -- time, reset ------------------------------------------------------
    def now_ms(self) -> int:
        return int(self.clock()) + self.faults.spec.clock_offset_ms + self.admin_offset_ms

    def reset(self) -> str:
        """Back to the seed: data, rate-limit windows and bans, admin clock offset."""
        self.store.load_seed(self.seed)
        self.limiter.reset()
        self.admin_offset_ms = 0
        return self.store.digest()

    def close(self) -> None:
        self.store.close()

    # -- routing ----------------------------------------------------------
    def _route(self, path: str) -> tuple[dict[str, _Endpoint] | None, tuple[str, ...]]:
        """The endpoints of a path by method, and the values of its path parameters."""
        methods = self._routes.get(path)
        if methods is not None:
            return methods, ()
        for pattern, template_methods in self._templates:
            match = pattern.fullmatch(path)
            if match is not None:
                return template_methods, match.groups()
        return None, ()

    # -- the /api/* fast path ---------------------------------------------
    async def handle_api(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        faults = self.faults
        address = self._address(scope)
        if faults.active:
            delay = faults.latency_s()
            if delay:
                await asyncio.sleep(delay)
            gateway = faults.gateway()
            if gateway == DROP:
                raise DropConnection
            if gateway:
                status, page = GATEWAY_PAGES[gateway]
                page_verdict = self.limiter.peek(address, self.now_ms())
                await self._send(send, status, page, page_verdict, b"text/html")
                return
        now = self.now_ms()
        api_key: bytes | None = None
        content_type = b""
        has_body = False
        for name, value in scope["headers"]:
            if name == _API_KEY:
                if api_key is None:
                    api_key = value
            elif name == b"content-type":
                content_type = value
            elif name == b"content-length":
                has_body = value != b"0"
            elif name == b"transfer-encoding":
                has_body = True
        extra: list[tuple[bytes, bytes]] = []
        verdict: Verdict | None = None
        endpoint: _Endpoint | None = None
        try:
            methods, path_values = self._route(scope["path"])
            endpoint = methods.get(scope["method"]) if methods is not None else None
            if endpoint is None or not endpoint.signed:
                # Nobody to authenticate: the client address pays.
                weight = endpoint.weight if endpoint is not None else 1
                verdict = self.limiter.hit(address, now, weight)
                _refuse_over_limit(verdict, extra, self._retry_after)
                if methods is None:
                    await self._send(send, 404, _NOT_FOUND, verdict)
                    return
                if endpoint is None:
                    allow = ", ".join(sorted(methods)).encode()
                    await self._send(send, 405, _NOT_ALLOWED, verdict, extra=[(b"allow", allow)])
                    return
                # Undeclared parameters of a public operation are not refused: it lists
                # no error answers.
                raw = await self._read_body(receive) if endpoint.plan is not None else b""
                query = parse_query(scope["query_string"]) if endpoint.parsers else _NO_QUERY
                call = self._call(endpoint, None, query, path_values, raw, now)
            else:
                # A GET or DELETE without Content-Length / Transfer-Encoding has no body
                # (HTTP/1.1); an operation with a body always reads it, also from
                # in-process ASGI callers.
                if has_body or endpoint.plan is not None:
                    raw = await self._read_body(receive)
                else:
                    raw = b""
                try:
                    signed = self._authenticate(api_key, scope["query_string"], raw, now)
                except ApiError:
                    verdict = self.limiter.hit(address, now, endpoint.weight)
                    _refuse_over_limit(verdict, extra, self._retry_after)
                    raise
                verdict = self.limiter.hit(signed.who, now, endpoint.weight)
                _refuse_over_limit(verdict, extra, self._retry_after)
                op = endpoint.op
                if op.is_write and signed.key.read_only and self._read_only_first:
                    raise api_error(ErrorCode.NOT_SUPPORTED)
                role = endpoint.role
                if role is not None and self._role_first:
                    # leader-role-after-validation, its alternative: the role first.
                    role(signed.key.account_id)
                if (
                    endpoint.plan is not None
                    and self._content_type_checked
                    and _JSON_CONTENT_TYPE.fullmatch(content_type) is None
                ):
                    raise errors.invalid("Content-Type")
                for name in signed.query.params if self._refuse_unknown else ():
                    if name not in op.query_names:
                        raise errors.unknown_parameter(name)
                if signed.query.unreadable_names and self._refuse_unknown:
                    raise errors.unknown_parameter("?")
                call = self._call(
                    endpoint, signed.key.account_id, signed.query, path_values, signed.body, now
                )
                if op.is_write and signed.key.read_only:
                    # read-only-before-validation, its alternative: refused here, after
                    # the parameters and body were validated, before the business rule.
                    raise api_error(ErrorCode.NOT_SUPPORTED)
                if role is not None and not self._role_first:
                    role(signed.key.account_id)  # leader-role-after-validation
            rule = endpoint.rule
            if rule is None:
                raise _no_rule(endpoint)
            data = rule(call)
            if type(data) is str:
                text = data.encode()
            elif data is None and endpoint.envelope:
                text = b"null"
            else:
                text = self._answer(endpoint, data)
            body = _OK + text + b"}" if endpoint.envelope else text
            if endpoint.op.is_write and faults.spec.commit500 and faults.commit_500():
                # committed, yet the caller sees a 500
                raise api_error(ErrorCode.UNKNOWN)
            status = 200
            if self.variants is not None:
                body = self.variants.vary(endpoint.op.operation_id, body)
            if self.options.validate_responses:
                endpoint.response_model.model_validate_json(body)
        except ApiError as exc:
            status = exc.status
            if self._permission_as_refusal and exc.code in _PERMISSION_ROWS:
                status = _REFUSAL_STATUS
            if self._errors_as_200 and status in (400, 401, 403):
                status = 200
            payload = {"code": exc.code, "msg": exc.msg}
            body = _encode(payload)
            if self.options.validate_responses:
                models.ErrorResponse.model_validate(payload)
                op_codes = endpoint.op.error_codes if endpoint is not None else None
                if op_codes and exc.code not in op_codes:
                    raise AssertionError(
                        f"{endpoint.op.operation_id}: undocumented code {exc.code}"  # type: ignore[union-attr]
                    ) from None
        except DropConnection:
            raise
        except Exception:
            log.exception("unexpected error on %s %s", scope["method"], scope["path"])
            unknown = api_error(ErrorCode.UNKNOWN)
            status = unknown.status
            body = _encode({"code": unknown.code, "msg": unknown.msg})
        if verdict is None:
            verdict = self.limiter.peek(address, now)
        await self._send(send, status, body, verdict, extra=extra)

    def _call(
        self,
        endpoint: _Endpoint,
        account: int | None,
        query: Query,
        path_values: tuple[str, ...],
        raw: bytes,
        now: int,
    ) -> Call:
        """The request as its business rule gets it: path parameters, then query
        parameters (each in the spec's order), then the body, each parsed and checked."""
        params: dict[str, Any] = {}
        if path_values:
            for (name, parse), value in zip(endpoint.path_parsers, path_values, strict=True):
                params[name] = parse(value)
        for name, parse in endpoint.parsers:
            params[name] = parse(_single(query, name))
        body = None
        if endpoint.plan is not None and (raw or endpoint.body_required):
            body = self._body(endpoint, raw)
        return Call(endpoint.call_op, account, params, body, now)

    def _body(self, endpoint: _Endpoint, raw: bytes) -> dict[str, Any]:
        obj = parse_json_object(raw)
        plan = endpoint.plan
        assert plan is not None and endpoint.body_model is not None
        if not self._refuse_unknown:
            obj = {name: value for name, value in obj.items() if name in plan.names}
        if not self._plain_decimals_only:
            plain_decimals(plan, obj)
        for name in endpoint.digit_strings:  # leader-config-round-trip-types' alternative
            value = obj.get(name)
            if type(value) is str and _INTEGER.fullmatch(value):
                obj[name] = int(value)
        check_body(plan, obj)
        check_model(endpoint.body_model, model_view(plan, obj))
        for rule in endpoint.borrowed:
            if rule.name in obj and not conforms(rule, obj[rule.name]):
                raise errors.invalid(rule.name)
        return obj

    def _answer(self, endpoint: _Endpoint, data: Any) -> bytes:
        """A rule's data that is not JSON text: checked against the operation's 200 model
        (inside the envelope unless the model is not one), then encoded."""
        if isinstance(data, BaseModel):
            data = data.model_dump(mode="json", by_alias=True, exclude_unset=True)
        if endpoint.envelope:
            answer = {"code": SUCCESS_CODE, "msg": "success", "data": data}
        else:
            answer = data
        try:
            endpoint.response_model.model_validate(answer)
            return _encode(data)
        except (ValidationError, TypeError, ValueError) as exc:
            log.error(
                "the business rule %s.%s answered outside the 200 schema of %s: %s",
                type(self.service).__name__,
                endpoint.call_op.python_name,
                endpoint.op.operation_id,
                exc,
            )
            raise api_error(ErrorCode.UNKNOWN) from None

    @staticmethod
    def _address(scope: Mapping[str, Any]) -> str:
        """Who pays for a request that proves no key: its client address."""
        client = scope.get("client")
        return "ip:" + (client[0] if client else "-")

    @staticmethod
    async def _send(
        send: Any,
        status: int,
        body: bytes,
        verdict: Verdict,
        content_type: bytes = _JSON,
        extra: list[tuple[bytes, bytes]] | None = None,
    ) -> None:
        headers = [
            (b"content-type", content_type),
            (b"content-length", str(len(body)).encode()),
            (_LIMIT_STATUS, str(verdict.remaining).encode()),
            (_LIMIT, str(verdict.limit).encode()),
            (_LIMIT_RESET, str(verdict.reset_ms).encode()),
        ]
        if extra:
            headers.extend(extra)
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def _read_body(self, receive: Any) -> bytes | None:
        """The whole body, or None when it exceeds max_body_bytes. (A body that never
        completes is the server's to cut: server.py closes the connection.)"""
        return await read_capped(receive, self.options.max_body_bytes)

    def _authenticate(
        self, api_key: bytes | None, raw_query: bytes, raw_body: bytes | None, now: int
    ) -> Signed:
        """The request's key, once its signature proves the caller holds it."""
        if not api_key:
            raise api_error(ErrorCode.UNAUTHORIZED)
        if _KEY_FORMAT.fullmatch(api_key) is None:
            raise api_error(ErrorCode.BAD_API_KEY_FMT)
        key = self.store.keys.get(api_key.decode("ascii"))
        if key is None:
            raise api_error(ErrorCode.REJECTED_MBX_KEY)
        if key.status == "EXPIRED":
            raise api_error(ErrorCode.API_KEY_EXPIRED)
        if key.status == "SUSPENDED":
            raise api_error(ErrorCode.API_KEY_SUSPENDED)
        if key.account_type != "COPY_TRADING":
            raise api_error(ErrorCode.NO_PERMISSION)
        query = parse_query(raw_query)
        timestamps = query.params.get("timestamp")
        if not timestamps or timestamps == [""]:
            raise errors.missing("timestamp")
        if query.signature_count == 0 or (query.signature == b"" and query.signature_count == 1):
            raise errors.missing("signature")
        timestamp_text = _single(query, "timestamp")
        if timestamp_text is None or _TIMESTAMP.fullmatch(timestamp_text) is None:
            raise errors.invalid("timestamp")
        timestamp = int(timestamp_text)
        recv_text = _single(query, "recvWindow")
        recv_window = parse_int_param(self.spec.recv_window, recv_text)
        if not (timestamp < now + 1000 and now - timestamp <= recv_window):
            raise api_error(ErrorCode.INVALID_TIMESTAMP)
        if raw_body is None:
            # Larger than any valid body; not worth hashing.
            raise errors.missing("body")
        if not signature_ok(key.mac, query, raw_body if self._body_signed else b""):
            raise api_error(ErrorCode.INVALID_SIGNATURE)
        return Signed(key, "key:" + api_key.decode("ascii"), query, raw_body)

    # -- headers for the non-API routes -----------------------------------
    def limit_headers(self, scope: Mapping[str, Any]) -> list[tuple[bytes, bytes]]:
        # These routes authenticate nobody: the client address's window.
        verdict = self.limiter.peek(self._address(scope), self.now_ms())
        return [
            (_LIMIT_STATUS, str(verdict.remaining).encode()),
            (_LIMIT, str(verdict.limit).encode()),
            (_LIMIT_RESET, str(verdict.reset_ms).encode()),
        ]


class SimApp(Starlette):
    """Starlette, with /api/* on the simulator's fast path and the `drop` fault."""

    sim: Simulator

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        try:
            if scope["path"].startswith("/api/"):
                await self.sim.handle_api(scope, receive, send)
                return
            extra = self.sim.limit_headers(scope)

            async def send_with_headers(message: Any) -> None:
                if message["type"] == "http.response.start":
                    message = {**message, "headers": [*message.get("headers", []), *extra]}
                await send(message)

            await super().__call__(scope, receive, send_with_headers)
        except DropConnection:
            await _drop_connection(send)


async def _drop_connection(send: Any) -> None:
    """Close the socket without a response under uvicorn; elsewhere, let the caller see it."""
    cycle = getattr(send, "__self__", None)
    transport = getattr(cycle, "transport", None)
    if transport is None:
        raise DropConnection("connection dropped (fault injection)")
    transport.abort()
    # Let connection_lost run so the server does not write its own 500 afterwards.
    for _ in range(10):
        if getattr(cycle, "disconnected", True):
            break
        await asyncio.sleep(0)


# -- non-API routes ---------------------------------------------------------
_FALLBACK_DOCS = """<!doctype html>
<html><head><meta charset="utf-8"><title>Toobit follower API simulator</title></head>
<body><h1>Toobit copy-trading follower API (simulator)</h1>
<p>The contract: <a href="/openapi.yaml">openapi.yaml</a> (<a href="/openapi.json">JSON</a>).
Build the rendered reference with <code>make docs</code>; it is then served here.</p>
</body></html>
"""


def _admin_allowed(sim: Simulator, request: Request) -> bool:
    token = sim.options.admin_token
    if token is None:
        return True
    sent = request.headers.get(_ADMIN_HEADER)
    if sent is None:
        auth = request.headers.get("authorization", "")
        sent = auth[7:] if auth.lower().startswith("bearer ") else None
    return sent is not None and hmac.compare_digest(sent.encode(), token.encode())


def _not_found() -> Response:
    return PlainTextResponse("Not Found", status_code=404)


# Admin routes (outside the spec): bounded parameters and bodies, a 400/413 that says
# what to send, never a 500.
_ADMIN_COUNT = re.compile(r"[0-9]{1,9}")  # ASCII digits only ("²".isdigit() is True)
_HISTORY_ROWS = 10_000
_MAX_HISTORY_ROWS = 1_000_000
_MAX_CLOCK_OFFSET_MS = 24 * 3600 * 1000


def _admin_error(status: int, msg: str) -> Response:
    return JSONResponse({"code": status, "msg": msg}, status)


async def _admin_body(sim: Simulator, request: Request) -> dict[str, Any] | Response:
    """The JSON object an admin POST sends, or the error answer. The body is read up to
    max_body_bytes (a larger Content-Length is refused before reading any of it)."""
    limit = sim.options.max_body_bytes
    too_large = _admin_error(413, f"The body is larger than {limit:,} bytes.")
    declared = request.headers.get("content-length", "0")
    if _ADMIN_COUNT.fullmatch(declared) is None or int(declared) > limit:
        return too_large
    try:
        raw = await read_capped(request.receive, limit)
    except DropConnection:  # the client left (or the server cut a body too slow)
        return _admin_error(400, "The body was not complete.")
    if raw is None:
        return too_large
    try:
        body = json.loads(raw.decode("utf-8"))
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError too
        body = None
    if not isinstance(body, dict):
        return _admin_error(400, "Send a JSON object.")
    return body


def _routes(sim: Simulator) -> list[Route]:
    spec = sim.spec
    docs_dir = (
        Path(sim.options.docs_dir) if sim.options.docs_dir else spec.path.parent / "dist" / "spec"
    )

    async def openapi_yaml(request: Request) -> Response:
        return Response(spec.yaml_bytes, media_type="application/yaml")

    async def openapi_json(request: Request) -> Response:
        return Response(spec.json_bytes, media_type="application/json")

    async def docs(request: Request) -> Response:
        index = docs_dir / "index.html"
        if index.is_file():
            return FileResponse(index, media_type="text/html")
        return HTMLResponse(_FALLBACK_DOCS)

    async def root(request: Request) -> Response:
        return RedirectResponse("/docs")

    routes = [
        Route("/", root, methods=["GET"]),
        Route("/openapi.yaml", openapi_yaml, methods=["GET"]),
        Route("/openapi.json", openapi_json, methods=["GET"]),
        Route("/docs", docs, methods=["GET"]),
    ]
    if not (sim.options.admin or sim.options.admin_token):
        return routes

    async def reset(request: Request) -> Response:
        if not _admin_allowed(sim, request):
            return _not_found()
        digest = sim.reset()
        return JSONResponse({"code": 200, "msg": "success", "data": {"digest": digest}})

    async def state(request: Request) -> Response:
        if not _admin_allowed(sim, request):
            return _not_found()
        rows = request.query_params.get("historyRows", str(_HISTORY_ROWS))
        if _ADMIN_COUNT.fullmatch(rows) is None or int(rows) > _MAX_HISTORY_ROWS:
            return _admin_error(
                400, f"historyRows: send an integer from 0 to {_MAX_HISTORY_ROWS:,}"
            )
        return JSONResponse(sim.store.dump(history_rows_limit=int(rows)))

    async def clock(request: Request) -> Response:
        if not _admin_allowed(sim, request):
            return _not_found()
        if request.method == "POST":
            body = await _admin_body(sim, request)
            if isinstance(body, Response):
                return body
            offset = body.get("offsetMs")
            if type(offset) is not int or abs(offset) > _MAX_CLOCK_OFFSET_MS:
                return _admin_error(
                    400, f'Send {{"offsetMs": <int>}}, at most {_MAX_CLOCK_OFFSET_MS:,} either way.'
                )
            sim.admin_offset_ms = offset
        return JSONResponse(
            {
                "serverTime": sim.now_ms(),
                "offsetMs": sim.admin_offset_ms,
                "faultOffsetMs": sim.faults.spec.clock_offset_ms,
            }
        )

    async def faults(request: Request) -> Response:
        if not _admin_allowed(sim, request):
            return _not_found()
        if request.method == "POST":
            body = await _admin_body(sim, request)
            if isinstance(body, Response):
                return body
            text = body.get("faults")
            if text is None:
                text = ""
            elif not isinstance(text, str):
                return _admin_error(400, 'Send {"faults": "<spec>"}; "" turns them off.')
            try:
                spec = FaultSpec.parse(text)
            except FaultSpecError as exc:
                return _admin_error(400, str(exc))
            sim.faults = Faults(spec)
        return JSONResponse({"faults": str(sim.faults.spec)})

    async def ratelimit_reset(request: Request) -> Response:
        if not _admin_allowed(sim, request):
            return _not_found()
        sim.limiter.reset()
        return JSONResponse({"code": 200, "msg": "success", "data": None})

    return [
        *routes,
        Route("/_sim/reset", reset, methods=["POST"]),
        Route("/_sim/state", state, methods=["GET"]),
        Route("/_sim/clock", clock, methods=["GET", "POST"]),
        Route("/_sim/faults", faults, methods=["GET", "POST"]),
        Route("/_sim/ratelimit/reset", ratelimit_reset, methods=["POST"]),
    ]


def create_app(
    seed: str | os.PathLike[str] | Mapping[str, Any] | None = None,
    db: str | os.PathLike[str] | None = None,
    *,
    options: SimOptions | None = None,
    clock: Callable[[], int] | None = None,
    service: ServiceFactory = FollowerService,
) -> SimApp:
    """A simulator app. `seed`: None (default seed), a YAML/JSON path or a mapping;
    `db`: None (in memory) or a SQLite file (seeded only when new); `clock`: epoch ms;
    `service`: the business rules, `FollowerService` or a subclass adding some."""
    sim = Simulator(seed, db, options=options, clock=clock, service=service)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        if sim.variants is not None:
            log.info("%s", sim.variants.report())
        sim.close()

    app = SimApp(routes=_routes(sim), lifespan=lifespan)
    app.sim = sim
    app.state.sim = sim
    return app
