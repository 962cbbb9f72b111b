"""``toobit-follower conformance``: settle the contract's open questions on a host, safely.

A short, fixed list of probes (17 requests with a read-only key, 15 without; two more
at most while looking for a leader ID to write about; 15 more with a leader key) answers
what the exchange's pages leave open: whether the signature covers the body, the HTTP
status of each kind of error, unknown parameters, the order of checks, bad
``recvWindow``, uppercase hex, the clock offset, the rate-limit headers and the exact
messages; with a leader key, the leader side too: the shape of each leader read, the
leader page size and ``recvWindow`` rules, which code a follower key gets on a leader
operation and a leader key on a follower operation, and the refusal of an invalid config
update. Each answer is set beside what ``openapi.yaml`` says (read from it: its
``x-assumption`` markers, the error table, parameter limits, the operations' rules) with
a verdict, and where the host contradicts the contract, the setting or spec change that
follows. Without a leader key (``--leader-profile``, or ``TOOBIT_LEADER_API_KEY`` /
``TOOBIT_LEADER_API_SECRET`` for the command) nothing is sent to a leader operation and
the report says so.

Safety (each probe repeats its own argument below):

* reads, or writes that cannot change the account: a PUT of a stop-profit-loss about a
  leader the host itself says the account does not follow (found first, see
  ``probes.unfollowed_leader``; the run is refused when there is none), with no
  optional field, or with a deliberately invalid part; with a leader key, PUTs of the
  leader config that the host must refuse: the config just read with ``profitPeriod`` 0
  (rule 4 of Update Leader Config), with the leader key, and, only when the host refused
  the follower key the config query as no leader's, that one and one whose cool-down ends
  before it starts (rule 3) with the follower key. Never a DELETE;
* requests spaced ``spacing`` seconds apart (far under 3000 weight a minute), no retry,
  and the run stops at once on a 429 or 418;
* no secret, signature or signed URL in the report: the host's messages are scrubbed of
  every signature sent, the key and the secret.
"""

from __future__ import annotations

import contextlib
import json
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, TypeVar

import httpx
from pydantic import ValidationError
from toobit_follower import constants as C
from toobit_follower._exceptions import AuthenticationError, PermissionDeniedError, error_class
from toobit_follower._operations import Prepared, prepare
from toobit_follower._secret import Secret, check_api_key, check_api_secret, mask_api_key
from toobit_follower.signing import (
    BodySigning,
    Signer,
    append_signature,
    signing_query,
    strip_signing_params,
)
from toobit_follower.spec import spec_dict
from toobit_follower_models import (
    LeaderConfigResponse,
    LeaderConfigUpdate,
    ServerTime,
    StopProfitLossUpdate,
)
from toobit_follower_models.assumptions import BY_ID, Assumption
from toobit_follower_models.errors import BY_CODE, BY_NAME, ERROR_TABLE, ErrorCode, ErrorInfo
from toobit_follower_models.operations import BY_ID as OPERATIONS

from .probes import (
    Answer,
    Flow,
    Stop,
    body_signing_rule,
    harmless_put,
    unfollowed_leader,
)

__all__ = [
    "CONFIRMED",
    "CONTRADICTED",
    "DEFAULT_SPACING",
    "LEADER_KEY_ENV",
    "LEADER_SECRET_ENV",
    "NO_LEADER_KEY",
    "READ_ONLY_KEY_ENV",
    "READ_ONLY_SECRET_ENV",
    "UNKNOWN",
    "Finding",
    "Key",
    "Report",
    "run",
]

T = TypeVar("T")

DEFAULT_SPACING: Final = 0.3
"""Seconds between two requests: at most 200 a minute, against 3000 weight allowed."""
READ_ONLY_KEY_ENV: Final = "TOOBIT_READONLY_API_KEY"
READ_ONLY_SECRET_ENV: Final = "TOOBIT_READONLY_API_SECRET"  # noqa: S105 - a variable's name
LEADER_KEY_ENV: Final = "TOOBIT_LEADER_API_KEY"
LEADER_SECRET_ENV: Final = "TOOBIT_LEADER_API_SECRET"  # noqa: S105 - a variable's name
NO_LEADER_KEY: Final = (
    f"not asked: no leader key given ({LEADER_KEY_ENV} and {LEADER_SECRET_ENV}, or"
    " --leader-profile)"
)
"""What the report says of the leader side when no leader key was given."""

CONFIRMED: Final = "confirmed"
CONTRADICTED: Final = "contradicted"
UNKNOWN: Final = "could not tell"

_AHEAD_MS: Final = 6000
"""How far ahead of the server a probe's timestamp is: 1000 ms are allowed, and the
clock offset is measured to within half a round trip."""
_UNDECLARED: Final = "conformanceProbe"
"""A parameter and field name no operation declares."""
_LEADER_ALIAS: Final = StopProfitLossUpdate.model_fields["leader_user_id"].alias
"""The target leader's wire name, kept in every probe body (the probe's safety)."""
_BUSINESS: Final = frozenset(
    {
        ErrorCode.FOLLOWER_NOT_FOUND,
        ErrorCode.FOLLOWER_HAS_POSITIONS,
        ErrorCode.LEADER_NOT_AVAILABLE,
        ErrorCode.LEADER_NOT_FOUND,
    }
)
"""The refusals of business rules (no follow relation, open positions, not an active
leader); the other codes of the 400 family are validation errors."""
_LEADER_TAG: Final = "leader"
"""The tag of the leader side's operations (``tags`` in openapi.yaml)."""
_ROLE: Final = frozenset({ErrorCode.LEADER_NOT_AVAILABLE, ErrorCode.LEADER_NOT_FOUND})
"""What an account that is not an active leader gets on a leader operation."""
_INVALID_PROFIT_PERIOD: Final = 0
"""The ``profitPeriod`` of the invalid config update: rule 4 allows 1 and 7 only."""
_PROFIT_PERIOD: Final = LeaderConfigUpdate.model_fields["profit_period"].alias or "profitPeriod"
_INVITE_CODE: Final = LeaderConfigUpdate.model_fields["invite_code"].alias or "inviteCode"
_EMPTY_COOL_DOWN: Final = {
    LeaderConfigUpdate.model_fields[name].alias or name: value
    for name, value in (("un_lead_type", 1), ("un_lead_start_time", 2), ("un_lead_end_time", 1))
}
"""A cool-down that ends before it starts: rule 3 of Update Leader Config refuses it."""


# ---- keys and requests --------------------------------------------------------------
class Key:
    """An API key and its signer; ``repr`` shows the key masked, never the secret.
    A malformed key or secret raises CredentialsError (masked)."""

    def __init__(self, api_key: str, api_secret: str | Secret, role: str = "main") -> None:
        self.api_key = check_api_key(api_key, f"{role} api_key")
        self.secret = check_api_secret(api_secret, f"{role} api_secret")
        self.signer = Signer(self.secret.get_secret_value())
        self.role = role

    def __repr__(self) -> str:
        return f"Key({mask_api_key(self.api_key)!r}, role={self.role!r})"


class _Stopped(Exception):
    """The run must send nothing more (429/418, no answer, or refused)."""


def _shown(answer: Answer) -> str:
    """``HTTP 400 -32045 'Copy trading follower not found.'`` (or the body's start)."""
    if answer.code is None:
        start = " ".join(answer.body[:80].decode("utf-8", "replace").split())
        return f"{answer.brief}: {start!r}"
    return f"{answer.brief} {answer.msg!r}"


def _with_body(prepared: Prepared[T], change: Callable[[dict[str, Any]], None]) -> Prepared[T]:
    """``prepared`` with its JSON body changed by ``change`` (compact, as sent)."""
    body = json.loads(prepared.json or b"{}")
    change(body)
    return prepared._replace(json=json.dumps(body, separators=(",", ":")).encode())


_WEIGHT: Final = "x-request-weight"
"""The request extension a probe's weight travels in, from the operation table to its record."""


@dataclass
class Record:
    """One probe as sent and answered (never the signed URL)."""

    label: str
    key: str
    method: str
    path: str
    variant: str
    at: float
    weight: int
    answer: Answer | None = None
    failure: str | None = None
    round_trip: float = 0.0


class Session:
    """Sends the probes: signed by hand, spaced, recorded, no retry, and stopped for good
    at the first 429/418 or missing answer."""

    def __init__(
        self,
        http: httpx.Client,
        base_url: str,
        key: Key,
        *,
        spacing: float,
        clock: Callable[[], float],
        sleep: Callable[[float], None],
        max_bytes: int = C.DEFAULT_MAX_RESPONSE_BYTES,
    ) -> None:
        self.http = http
        self.base_url = base_url.rstrip("/")
        self.key = key
        self.spacing = spacing
        self.clock = clock
        self.sleep = sleep
        self.max_bytes = max_bytes
        self.offset_ms = 0
        self.records: list[Record] = []
        self.answers: dict[str, Answer] = {}
        self.stopped: str | None = None
        self._secrets: set[str] = set()
        self._roles: dict[str, str] = {}
        self._last: float | None = None
        self.add_key(key)

    def add_key(self, key: Key) -> None:
        """Sign with ``key`` too (its key and secret are scrubbed from every output)."""
        self._secrets |= {key.api_key, key.secret.get_secret_value()}
        self._roles[key.api_key] = key.role

    def scrub(self, text: str) -> str:
        """``text`` without any signature sent, key or secret (a host may echo them)."""
        for secret in sorted(self._secrets, key=len, reverse=True):
            text = text.replace(secret, "<redacted>")
        return text

    def signed(
        self,
        prepared: Prepared[Any],
        *,
        key: Key | None = None,
        rule: BodySigning = BodySigning.QUERY_AND_BODY,
        recv_window: int = C.DEFAULT_RECV_WINDOW,
        ahead_ms: int = 0,
        extra_query: str = "",
        uppercase: bool = False,
        content_type: str | None = None,
    ) -> httpx.Request:
        """The request of ``prepared``, signed by ``key`` as asked (the variants the probes
        need: body rule, recvWindow, a timestamp ahead, an extra parameter, uppercase)."""
        key = key or self.key
        path, _, query = prepared.target.partition("?")
        query_bytes = "&".join(part for part in (query, extra_query) if part).encode()
        timestamp = round(self.clock() * 1000) + self.offset_ms + ahead_ms
        signed_query = signing_query(query_bytes, recv_window, timestamp)
        body = prepared.json or b""
        parts = (signed_query, body) if rule is BodySigning.QUERY_AND_BODY else (signed_query,)
        signature = key.signer(*parts)
        signature = signature.upper() if uppercase else signature
        self._secrets.add(signature)
        headers = dict(prepared.headers or {})
        headers[C.API_KEY_HEADER] = key.api_key
        if content_type is not None:
            headers["Content-Type"] = content_type
        url = self.base_url + path + "?" + append_signature(signed_query, signature).decode()
        return httpx.Request(
            prepared.method,
            url,
            content=prepared.json,
            headers=headers,
            extensions={_WEIGHT: prepared.weight},
        )

    def send(self, label: str, request: httpx.Request, variant: str = "") -> Answer:
        """Send one probe ``spacing`` after the previous one; raises _Stopped instead of
        sending after a stop, and after a 429/418 or a failure to get an answer."""
        if self.stopped is not None:
            raise _Stopped(self.stopped)
        if self._last is not None:
            wait = self._last + self.spacing - self.clock()
            if wait > 0:
                self.sleep(wait)
        started = self._last = self.clock()
        record = Record(
            label,
            self._roles.get(request.headers.get(C.API_KEY_HEADER, ""), "none"),
            request.method,
            request.url.path,
            variant or strip_signing_params(request.url.query).decode("ascii", "replace"),
            started,
            request.extensions[_WEIGHT],
        )
        self.records.append(record)
        try:
            response = self.http.send(request, stream=True)
            try:
                chunks, size = [], 0
                for chunk in response.iter_bytes():
                    chunks.append(chunk)
                    size += len(chunk)
                    if size > self.max_bytes:
                        break
            finally:
                response.close()
        except httpx.HTTPError as exc:
            record.failure = self.scrub(f"{type(exc).__name__}: {exc}")
            self.stopped = f"no answer to {label} ({record.failure})"
            raise _Stopped(self.stopped) from None
        record.round_trip = self.clock() - started
        answer = Answer.of(response, b"".join(chunks)[: self.max_bytes])
        record.answer = self.answers[label] = answer
        if answer.limited:
            self.stopped = f"HTTP {answer.status} to {label}: rate limited, stopped at once"
            raise _Stopped(self.stopped)
        return answer

    def drive(self, flow: Flow[T]) -> T:
        """Run one of the probes of :mod:`.probes` through this session."""
        try:
            label, request = next(flow)
            while True:
                label, request = flow.send(self.send(label, request))
        except StopIteration as done:
            result: T = done.value
            return result


# ---- the probes ---------------------------------------------------------------------
@dataclass
class Observations:
    """What the probes found, for the verdicts."""

    session: Session
    read_only: bool
    leader: int | None = None
    rule: BodySigning | None = None
    server_ms: int | None = None
    refused: str | None = None
    leader_key: bool = False
    """A leader key was given: the leader side is probed."""
    config_update_refused: str | None = None
    """Why the invalid leader config update was not sent (the stored config unreadable)."""

    def get(self, label: str) -> Answer | None:
        return self.session.answers.get(label)


def _probe(seen: Observations, read_only: Key | None, contract: Contract) -> None:
    """Every probe, in order (raises _Stopped where the session stops)."""
    session = seen.session
    # Safety: a public, unsigned read.
    time_op = OPERATIONS["getServerTime"]
    url = session.base_url + prepare(time_op, {}).target
    answer = session.send(
        "server-time", httpx.Request(time_op.method, url, extensions={_WEIGHT: time_op.weight})
    )
    try:
        seen.server_ms = ServerTime.model_validate_json(answer.body).server_time
    except ValidationError:
        seen.server_ms = None
    else:
        record = session.records[-1]
        local_ms = round((record.at + record.round_trip / 2) * 1000)
        session.offset_ms = seen.server_ms - local_ms

    def make(prepared: Prepared[Any], rule: BodySigning) -> httpx.Request:
        return session.signed(prepared, rule=rule)

    # Safety: reads only (the leaders followed; the follow config of candidates).
    leader = session.drive(unfollowed_leader(make))
    if isinstance(leader, Stop):
        seen.refused = session.stopped = session.scrub(f"refused to run: {leader.reason}")
        return
    seen.leader = leader
    # Safety: a PUT about a leader the host says the account does not follow, no
    # optional field: refused with FOLLOWER_NOT_FOUND whichever signature passes.
    rule = session.drive(body_signing_rule(make, leader))
    seen.rule = rule if isinstance(rule, BodySigning) else None
    writes = seen.rule or BodySigning.QUERY_AND_BODY
    leaders = prepare(OPERATIONS["listLeaders"], {})
    # Safety for the next four: reads of the leaders followed, refused or not.
    session.send(
        "timestamp-ahead", session.signed(leaders, ahead_ms=_AHEAD_MS), f"timestamp +{_AHEAD_MS} ms"
    )
    session.send(
        "uppercase-hex", session.signed(leaders, uppercase=True), "signature in uppercase hex"
    )
    limits = _schema(contract.parameter("listLeaders", "recvWindow"))
    too_long = int(limits["maximum"]) + 1
    session.send(
        "recv-window-max", session.signed(leaders, recv_window=too_long), f"recvWindow={too_long}"
    )
    too_short = int(limits["minimum"]) - 1
    session.send(
        "recv-window-min", session.signed(leaders, recv_window=too_short), f"recvWindow={too_short}"
    )
    unknown = f"{_UNDECLARED}=1"
    session.send("unknown-query", session.signed(leaders, extra_query=unknown), unknown)
    # Safety: reads of the history, with a page size out of range.
    size = _schema(contract.parameter("listHistoryOrders", "size"))
    for label, value in (
        ("size-max", int(size["maximum"]) + 1),
        ("size-min", int(size["minimum"]) - 1),
    ):
        session.send(
            label,
            session.signed(
                prepare(OPERATIONS["listHistoryOrders"], {"page": 1, "size": value}, check=False)
            ),
            f"size={value}",
        )
    # Safety: a read (the follow config of leader 0).
    session.send(
        "leader-zero",
        session.signed(prepare(OPERATIONS["getFollowConfig"], {"leaderUserId": 0}, check=False)),
        "leaderUserId=0",
    )
    put = harmless_put(leader)
    # Safety: the harmless PUT (unfollowed leader, no optional field) plus a field no
    # operation declares: refused for the field or for the relation.
    extra = _with_body(put, lambda body: body.update({_UNDECLARED: 1}))
    session.send("unknown-field", session.signed(extra, rule=writes), f"body field {_UNDECLARED}")
    # Safety: the harmless PUT declared as text/plain: refused for the type or the relation.
    session.send(
        "content-type",
        session.signed(put, rule=writes, content_type="text/plain"),
        "Content-Type: text/plain",
    )
    if read_only is None:
        return
    session.add_key(read_only)
    # Safety: a read-only key, and the harmless PUT (unfollowed leader).
    session.send(
        "read-only-write", session.signed(put, key=read_only, rule=writes), "read-only key"
    )
    # Safety: a read-only key, the unfollowed leader, and a required field left out.
    missing = [name for name in json.loads(put.json or b"{}") if name != _LEADER_ALIAS][-1]
    invalid = _with_body(put, lambda body: body.pop(missing))
    session.send(
        "read-only-invalid",
        session.signed(invalid, key=read_only, rule=writes),
        f"read-only key, no {missing}",
    )


def _probe_leader(seen: Observations, leader: Key, contract: Contract) -> None:
    """The leader side's probes, after the follower's (raises _Stopped where the session
    stops). None changes either account: reads, and config updates the host must refuse."""
    session = seen.session
    session.add_key(leader)
    config = OPERATIONS["getLeaderConfig"]
    # Safety: reads of the leader side with the leader key, each with its defaults.
    for op in OPERATIONS.values():
        if op.tag == _LEADER_TAG and not op.write:
            session.send(
                f"leader-read-{op.operation_id}",
                session.signed(prepare(op, {}), key=leader),
                "leader key",
            )
    # Safety: a read of the leader config, with recvWindow above its maximum.
    too_long = int(_schema(contract.parameter("getLeaderConfig", "recvWindow"))["maximum"]) + 1
    session.send(
        "leader-recv-window-max",
        session.signed(prepare(config, {}), key=leader, recv_window=too_long),
        f"leader key, recvWindow={too_long}",
    )
    # Safety: reads of the followers, with a page size below the minimum and one above the
    # follower page's maximum (the leader page gives none).
    followers = OPERATIONS["listFollowers"]
    below = int(_schema(contract.parameter("listFollowers", "size"))["minimum"]) - 1
    above = int(_schema(contract.parameter("listHistoryOrders", "size"))["maximum"]) + 1
    for label, value in (("leader-size-min", below), ("leader-size-above-100", above)):
        session.send(
            label,
            session.signed(prepare(followers, {"page": 1, "size": value}, check=False), key=leader),
            f"leader key, size={value}",
        )
    # Safety: a read, with the leader key, of a follower operation: the follow config of
    # the leader ID the follower probes found unfollowed.
    session.send(
        "leader-key-on-follower",
        session.signed(
            prepare(OPERATIONS["getFollowConfig"], {"leaderUserId": seen.leader}), key=leader
        ),
        f"leader key, leaderUserId={seen.leader}",
    )
    # Safety: a read, with the follower key, of a leader operation.
    session.send("follower-key-on-leader", session.signed(prepare(config, {})), "follower key")
    stored = _stored_config(seen.get("leader-read-getLeaderConfig"))
    if isinstance(stored, str):
        seen.config_update_refused = stored
        return
    writes = seen.rule or BodySigning.QUERY_AND_BODY
    # Safety: the leader config just read, sent back with profitPeriod 0. Rule 4 of
    # Update Leader Config allows 1 and 7 only (-1130), and rule 2 validates the body
    # before the leader check and every business rule, so the host refuses it before any
    # rule that could store something is reached. Were a host to accept it anyway,
    # every other field is what it just answered (inviteCode left out: kept, rule 10), so
    # at most the profit period would differ; the finding then says so and how to set it
    # back. Not sent when the stored config cannot be read back into an update.
    invalid = _with_body(stored, lambda body: body.update({_PROFIT_PERIOD: _INVALID_PROFIT_PERIOD}))
    session.send(
        "leader-config-invalid",
        session.signed(invalid, key=leader, rule=writes),
        f"leader key, the stored config with profitPeriod={_INVALID_PROFIT_PERIOD}",
    )
    # The next two only when the host said the follower key's account is no active leader
    # (a role code to its read above): its key has no leader config to change.
    read = seen.get("follower-key-on-leader")
    if read is None or read.code not in _ROLE:
        return
    # Safety: the invalid update, with the follower key: validation (rule 4) refuses it,
    # or the leader check does; either comes before any change.
    session.send(
        "follower-key-invalid-config",
        session.signed(invalid, rule=writes),
        f"follower key, profitPeriod={_INVALID_PROFIT_PERIOD}",
    )
    # Safety: with the follower key, an update valid for the schema whose cool-down ends
    # before it starts (unLeadType 1, end 1 ms, start 2 ms): the leader check refuses it
    # (no leader), and were the account a leader after all, rule 3 does (-120078), before
    # any change. It is the one way to meet the leader check of an operation that lists
    # both role codes (the question of follower-key-on-leader-endpoint).
    no_window = _with_body(stored, lambda body: body.update(_EMPTY_COOL_DOWN))
    session.send(
        "follower-key-config-update",
        session.signed(no_window, rule=writes),
        "follower key, a cool-down ending before it starts",
    )


def _stored_config(answer: Answer | None) -> Prepared[Any] | str:
    """The update that stores again what the leader config query answered (``inviteCode``
    left out, so it is kept); or why there is none."""
    if answer is None or not answer.ok:
        shown = answer.brief if answer is not None else "no answer"
        return f"not asked: the stored leader config could not be read ({shown})"
    names = {info.alias or name for name, info in LeaderConfigUpdate.model_fields.items()}
    why = "not asked: the stored leader config does not read back as an update"
    try:
        stored = LeaderConfigResponse.model_validate_json(answer.body).data
        if stored is None:
            return f"{why} (no data)"
        fields = {
            name: value
            for name, value in stored.model_dump(by_alias=True).items()
            if name in names and name != _INVITE_CODE and value is not None
        }
        update = LeaderConfigUpdate.model_validate(fields)
    except ValidationError as exc:
        wrong = ", ".join(".".join(str(part) for part in e["loc"]) for e in exc.errors()[:3])
        return f"{why} ({wrong})"
    return prepare(OPERATIONS["updateLeaderConfig"], {}, update)


# ---- what the contract says ---------------------------------------------------------
def _text(value: object) -> str:
    return " ".join(str(value).split())


class Contract:
    """What ``openapi.yaml`` says, as the verdicts quote it."""

    def __init__(self, document: dict[str, Any] | None = None) -> None:
        self.doc = document if document is not None else spec_dict()
        self.markers: Mapping[str, Assumption] = BY_ID

    @property
    def version(self) -> str:
        return str(self.doc["info"]["version"])

    def assumes(self, marker: str) -> str | None:
        found = self.markers.get(marker)
        return f"{_text(found.assumes)} (x-assumption {marker})" if found else None

    def operation(self, operation_id: str) -> dict[str, Any]:
        for item in self.doc["paths"].values():
            for op in item.values():
                if isinstance(op, dict) and op.get("operationId") == operation_id:
                    return op
        raise KeyError(operation_id)

    def parameter(self, operation_id: str, name: str) -> dict[str, Any]:
        for param in self.operation(operation_id).get("parameters", []):
            if "$ref" in param:
                param = self.doc["components"]["parameters"][param["$ref"].rsplit("/", 1)[1]]
            if param.get("name") == name:
                return dict(param)
        raise KeyError(name)

    def sentence(self, text: object, word: str) -> str | None:
        """The sentence of ``text`` (markdown, headings left out) that has ``word``."""
        prose = "\n".join(line for line in str(text).splitlines() if not line.startswith("#"))
        for sentence in re.split(r"(?<=[.!?])\s+", _text(prose)):
            if word in sentence:
                return sentence
        return None

    def headers(self, operation_id: str) -> list[str]:
        """The headers the operation's success answer declares."""
        return list(self.operation(operation_id)["responses"]["200"].get("headers", {}))


def _schema(parameter: dict[str, Any]) -> dict[str, Any]:
    schema: dict[str, Any] = parameter["schema"]
    return schema


def _row(code: ErrorCode) -> str:
    info = BY_NAME[code.name]
    return f"{info.name} ({info.code}, HTTP {info.http_status})"


# ---- verdicts -----------------------------------------------------------------------
@dataclass
class Finding:
    """One question: what the contract says, what the host did, the verdict, and (when
    contradicted) the setting or spec change that follows."""

    id: str
    question: str
    contract: str
    observed: str
    verdict: str
    follows: str | None = None
    assumptions: tuple[str, ...] = ()
    probes: tuple[str, ...] = ()


def _missing(seen: Observations) -> str:
    why = seen.session.stopped or (
        "no answer"
        if seen.read_only
        else f"no read-only key given (--read-only-profile, or {READ_ONLY_KEY_ENV} and"
        f" {READ_ONLY_SECRET_ENV})"
    )
    return f"not asked: {why}"


def _read_only_answers(seen: Observations) -> list[tuple[str, Answer]]:
    """The answers to the read-only key's probes, in order."""
    labels = ("read-only-write", "read-only-invalid")
    return [(label, a) for label in labels if (a := seen.get(label)) is not None]


@dataclass(frozen=True)
class _Expect:
    """A probe whose answer the contract gives as one row of the error table."""

    probe: str
    """The probe's label, also the finding's id unless ``finding`` names another."""
    question: str
    row: ErrorCode
    follows: str
    """The setting or spec change that follows when the host answers otherwise."""
    marker: str | None = None
    """The x-assumption that states the claim, if one does."""
    claim: Callable[[Contract], str | None] = lambda contract: None
    """Where else the contract states it."""
    finding: str | None = None


def _param_limit(operation_id: str, name: str, limit: str) -> Callable[[Contract], str]:
    def claim(contract: Contract) -> str:
        param = contract.parameter(operation_id, name)
        return f"{_text(param['description'])} ({limit} {_schema(param)[limit]})"

    return claim


def _expect(seen: Observations, contract: Contract, e: _Expect) -> Finding:
    """The verdict of a probe whose answer the contract gives as the row ``e.row``."""
    markers = (e.marker,) if e.marker is not None and e.marker in contract.markers else ()
    claim = (contract.assumes(e.marker) if e.marker else None) or e.claim(contract)
    said = f"{claim or 'no rule stated'} Expected: {_row(e.row)}."
    finding = Finding(
        e.finding or e.probe, e.question, said, "", UNKNOWN, None, markers, (e.probe,)
    )
    answer = seen.get(e.probe)
    if answer is None:
        finding.observed = _missing(seen)
        return finding
    finding.observed = seen.session.scrub(_shown(answer))
    if answer.code == e.row:
        finding.verdict = CONFIRMED
    elif answer.code is not None:
        finding.verdict = CONTRADICTED
        finding.observed += " (accepted)" if answer.ok else ""
        finding.follows = e.follows
    return finding


def _clock(seen: Observations, contract: Contract) -> Finding:
    claim = _text(contract.operation("getServerTime")["description"])
    finding = Finding("clock", "clock offset (GET /api/v1/time)", claim, "", UNKNOWN)
    finding.probes = ("server-time",)
    answer = seen.get("server-time")
    if answer is None:
        finding.observed = _missing(seen)
    elif seen.server_ms is None:
        finding.observed, finding.verdict = _shown(answer), CONTRADICTED
        finding.follows = "the ServerTime schema of GET /api/v1/time in openapi.yaml"
    else:
        record = seen.session.records[0]
        finding.verdict = CONFIRMED
        finding.observed = (
            f"serverTime {seen.server_ms}: offset {seen.session.offset_ms:+d} ms (server minus"
            f" this machine), round trip {round(record.round_trip * 1000)} ms; later"
            " probes are signed with it"
        )
    return finding


def _body_signing(seen: Observations, contract: Contract) -> Finding:
    marker = "body-signed-with-query"
    claim = contract.assumes(marker) or _text(
        contract.doc["components"]["securitySchemes"]["Signature"]["description"]
    )
    labels = tuple(f"put-signed-{rule.value}" for rule in BodySigning)
    finding = Finding(
        "body-signing",
        "does the signature cover the JSON body? (the same harmless PUT signed both ways)",
        claim,
        "",
        UNKNOWN,
        None,
        (marker,),
        labels,
    )
    answers = [seen.get(label) for label in labels]
    if any(a is None for a in answers):
        finding.observed = _missing(seen)
        return finding
    finding.observed = "; ".join(
        f"{rule.value}: {seen.session.scrub(_shown(a))}"
        for rule, a in zip(BodySigning, answers, strict=True)
        if a is not None
    )
    if seen.rule is BodySigning.QUERY_AND_BODY:
        finding.verdict = CONFIRMED
    elif seen.rule is BodySigning.QUERY_ONLY:
        finding.verdict = CONTRADICTED
        finding.follows = (
            'body_signing="query-only" (client argument or profile), or "auto"; in'
            " openapi.yaml: signing rule 4 of the description, the Signature scheme and"
            f" x-assumption {marker}; the simulator's default --body-signing"
        )
    return finding


def _order_of_checks(seen: Observations, contract: Contract) -> Finding:
    order = _Expect(
        "read-only-invalid",
        "read-only key and an invalid body: which refusal comes first?",
        ErrorCode.NOT_SUPPORTED,
        "the simulator's default --read-only-check (after-validation on this host); the"
        " order of checks in simulator/README.md; a client reading the code needs nothing",
        "read-only-before-validation",
        lambda c: (
            "openapi.yaml does not say; the simulator refuses a read-only key before it"
            " validates the body (simulator/README.md, order of checks)."
        ),
        "order-of-checks",
    )
    finding = _expect(seen, contract, order)
    write = seen.get("read-only-write")
    if finding.verdict == CONTRADICTED and (write is None or write.code != ErrorCode.NOT_SUPPORTED):
        # the key is not refused writes at all: no order to read
        finding.verdict, finding.follows = UNKNOWN, None
    return finding


def _statuses(seen: Observations, contract: Contract) -> list[Finding]:
    """One finding per kind of error: each code observed against its row's HTTP status."""
    kinds: dict[str, tuple[str, tuple[ErrorCode, ...], tuple[str, ...]]] = {
        "validation": (
            "HTTP status of validation errors",
            (ErrorCode.INVALID_PARAMETER, ErrorCode.UNKNOWN_PARAM),
            ("error-status-per-code",),
        ),
        "business": (
            "HTTP status of business errors",
            (ErrorCode.FOLLOWER_NOT_FOUND,),
            ("error-status-per-code",),
        ),
        "auth": (
            "HTTP status of signature and timestamp errors",
            (ErrorCode.INVALID_TIMESTAMP, ErrorCode.INVALID_SIGNATURE),
            ("error-status-per-code",),
        ),
        "permission": (
            "HTTP status of permission errors (read-only key)",
            (ErrorCode.NOT_SUPPORTED,),
            ("error-status-per-code", "permission-errors-are-403"),
        ),
    }
    seen_by_kind: dict[str, list[tuple[str, Answer, ErrorInfo]]] = {kind: [] for kind in kinds}
    for label, answer in seen.session.answers.items():
        info = BY_CODE.get(answer.code) if answer.code is not None else None
        if info is not None:
            seen_by_kind[_kind(info)].append((label, answer, info))
    findings = []
    for kind, (question, expected, markers) in kinds.items():
        markers = tuple(m for m in markers if m in contract.markers)
        # the general marker is named; a kind's own marker is quoted
        claims = [c for c in (contract.assumes(m) for m in markers[1:]) if c]
        where = "; x-assumption ".join(("x-error-table", *markers[:1]))
        rows = ", ".join(_row(code) for code in expected)
        finding = Finding(
            f"status-{kind}",
            question,
            f"{rows} ({where}). {' '.join(claims)}".strip(),
            "",
            UNKNOWN,
            None,
            markers,
        )
        observed = seen_by_kind[kind]
        finding.probes = tuple(label for label, _, _ in observed)
        if not observed:
            if kind != "permission":
                asked = seen.session.stopped is None
                finding.observed = "none observed" if asked else _missing(seen)
            elif seen.read_only and (answers := _read_only_answers(seen)):
                # the read-only key was refused otherwise, or not at all
                finding.probes = tuple(label for label, _ in answers)
                shown = "; ".join(
                    f"{label}: {seen.session.scrub(_shown(a))}" for label, a in answers
                )
                codes = " or ".join(code.name for code in expected)
                finding.observed = (
                    f"none observed: the host never answered {codes} to the read-only key ({shown})"
                )
            else:
                finding.observed = _missing(seen)
            findings.append(finding)
            continue
        counts: dict[str, int] = {}
        wrong = []
        for _, answer, info in observed:
            shown = f"{info.name} HTTP {answer.status}"
            counts[shown] = counts.get(shown, 0) + 1
            if answer.status != info.http_status:
                wrong.append(info.name)
        finding.observed = ", ".join(f"{k} x{n}" for k, n in counts.items())
        finding.verdict = CONTRADICTED if wrong else CONFIRMED
        if wrong:
            finding.follows = (
                f"the status of {', '.join(sorted(set(wrong)))} in ErrorCode.x-error-table and"
                " the HTTP statuses table of openapi.yaml's description (the client already"
                " reads the code whatever the status; the simulator's --errors-as-200 plays"
                " a host that answers 200)"
            )
        findings.append(finding)
    return findings


def _kind(info: ErrorInfo) -> str:
    cls = error_class(info.http_status, info.code)
    if issubclass(cls, AuthenticationError):
        return "auth"
    if issubclass(cls, PermissionDeniedError):
        return "permission"
    return "business" if info.code in _BUSINESS else "validation"


def _rate_limit_headers(seen: Observations, contract: Contract) -> Finding:
    names = contract.headers("listLeaders")
    finding = Finding(
        "rate-limit-headers",
        "which rate-limit headers does the host send, with what values?",
        f"every response carries {', '.join(names)} (the responses' headers in openapi.yaml). "
        + (contract.sentence(contract.doc["info"]["description"], "REQUEST_WEIGHT") or ""),
        "",
        UNKNOWN,
    )
    answers = [(label, a) for label, a in seen.session.answers.items()]
    if not answers:
        finding.observed = _missing(seen)
        return finding
    finding.probes = tuple(label for label, _ in answers)
    missing = {name: sum(name not in a.headers for _, a in answers) for name in names}
    last = answers[-1][1].headers
    values = []
    for name in names:
        value = last.get(name)
        if value is not None and name == C.RATE_LIMIT_RESET_HEADER and seen.server_ms:
            value += (
                " (the server time)"
                if value.isdigit() and abs(int(value) - _now_ms(seen)) < 5000
                else ""
            )
        values.append(f"{name}: {value if value is not None else 'absent'}")
    absent = [f"{name} missing on {n} of {len(answers)}" for name, n in missing.items() if n]
    finding.observed = "; ".join(absent or [f"all {len(names)} on all {len(answers)} answers"])
    finding.observed += " (last: " + ", ".join(values) + ")"
    retry = sum("Retry-After" in a.headers for _, a in answers)
    if retry:
        finding.observed += f"; Retry-After on {retry}"
    finding.verdict = CONTRADICTED if absent else CONFIRMED
    if absent:
        finding.follows = (
            "the headers of every response in openapi.yaml (components.headers); without"
            " them the client's rate-limit gate learns the limit from 429s alone"
        )
    return finding


def _now_ms(seen: Observations) -> int:
    return round(seen.session.clock() * 1000) + seen.session.offset_ms


def _template(info: ErrorInfo) -> re.Pattern[str]:
    """The message template with each ``{field}`` as a wildcard."""
    parts = re.split(r"\{[^{}]*\}", info.message)
    return re.compile(".+".join(re.escape(part) for part in parts), re.DOTALL)


def _messages(seen: Observations, contract: Contract) -> list[Finding]:
    """One finding per error code observed: its message against the table's template."""
    findings: dict[int, Finding] = {}
    for label, answer in seen.session.answers.items():
        if answer.code is None or answer.msg is None or answer.code in findings:
            continue
        rows = [row for row in ERROR_TABLE if row.code == answer.code]
        if not rows:
            continue
        name = rows[0].name
        markers = (
            ("error-messages-not-on-the-page",) if answer.code == ErrorCode.UNKNOWN_PARAM else ()
        )
        finding = Finding(
            f"message-{name}",
            f"message of {name} ({answer.code})",
            " or ".join(repr(row.message) for row in rows) + " (x-error-table; {…} is any text)",
            seen.session.scrub(repr(answer.msg)),
            CONFIRMED,
            None,
            tuple(m for m in markers if m in contract.markers),
            (label,),
        )
        if not any(_template(row).fullmatch(answer.msg) for row in rows):
            finding.verdict = CONTRADICTED
            finding.follows = f"the message of row {name} in ErrorCode.x-error-table"
        findings[answer.code] = finding
    return list(findings.values())


_UNKNOWN_FOLLOWS: Final = (
    "the 'Unknown parameters' section of openapi.yaml's description and x-assumption"
    " unknown-parameter-refused (they are ignored here); the simulator's --unknown-params ignore"
)

_EXPECTED: Final = (
    _Expect(
        "timestamp-ahead",
        f"a timestamp {_AHEAD_MS} ms ahead of the server",
        ErrorCode.INVALID_TIMESTAMP,
        "signing rule 3 of openapi.yaml's description and the Timestamp scheme",
        claim=lambda c: _text(c.doc["components"]["securitySchemes"]["Timestamp"]["description"]),
    ),
    _Expect(
        "uppercase-hex",
        "a signature in uppercase hex",
        ErrorCode.INVALID_SIGNATURE,
        "signing rule 5 of openapi.yaml's description ('Uppercase hex is rejected') and the"
        " simulator's signature check",
        claim=lambda c: c.sentence(c.doc["info"]["description"], "Uppercase"),
    ),
    _Expect(
        "recv-window-max",
        "recvWindow above its maximum",
        ErrorCode.INVALID_PARAMETER,
        "the maximum of components.parameters.RecvWindow, signing rule 2 of openapi.yaml's"
        " description, the client's MAX_RECV_WINDOW",
        claim=_param_limit("listLeaders", "recvWindow", "maximum"),
    ),
    _Expect(
        "recv-window-min",
        "recvWindow below its minimum",
        ErrorCode.INVALID_PARAMETER,
        "the minimum of components.parameters.RecvWindow",
        "recv-window-at-least-one",
    ),
    _Expect(
        "unknown-query",
        "an unknown query parameter",
        ErrorCode.UNKNOWN_PARAM,
        _UNKNOWN_FOLLOWS,
        "unknown-parameter-refused",
    ),
    _Expect(
        "unknown-field",
        "an unknown JSON body field",
        ErrorCode.UNKNOWN_PARAM,
        _UNKNOWN_FOLLOWS,
        "unknown-parameter-refused",
    ),
    _Expect(
        "size-max",
        "a history page size above its maximum",
        ErrorCode.INVALID_PARAMETER,
        "the maximum of the size parameter of listHistoryOrders",
        claim=_param_limit("listHistoryOrders", "size", "maximum"),
    ),
    _Expect(
        "size-min",
        "a history page size of 0",
        ErrorCode.INVALID_PARAMETER,
        "the minimum of the size parameter of listHistoryOrders",
        "history-size-at-least-one",
    ),
    _Expect(
        "leader-zero",
        "leader user ID 0",
        ErrorCode.INVALID_PARAMETER,
        "the minimum of LeaderUserIdParam",
        "leader-id-at-least-one",
    ),
    _Expect(
        "content-type",
        "a PUT declared as text/plain",
        ErrorCode.INVALID_PARAMETER,
        "x-assumption put-content-type-json (the body is read whatever the type) and the"
        " simulator's Content-Type check",
        "put-content-type-json",
    ),
    _Expect(
        "read-only-write",
        "a read-only key on a write",
        ErrorCode.NOT_SUPPORTED,
        "the descriptions of the write operations in openapi.yaml",
        claim=lambda c: c.sentence(c.operation("updateStopProfitLoss")["description"], "Read-only"),
    ),
)


# ---- verdicts of the leader side ----------------------------------------------------
def _leader_reads(seen: Observations, contract: Contract) -> list[Finding]:
    """One finding per read of the leader side: success, in the shape its 200 schema gives."""
    findings = []
    for op in OPERATIONS.values():
        if op.tag != _LEADER_TAG or op.write:
            continue
        label = f"leader-read-{op.operation_id}"
        finding = Finding(
            label,
            f"{op.summary} ({op.method} {op.path}) with the leader key: answered as the spec says?",
            f"HTTP 200, code 200 and data in the shape of the 200 answer of {op.operation_id}"
            " (openapi.yaml; read tolerantly, as the client reads it).",
            "",
            UNKNOWN,
            probes=(label,),
        )
        findings.append(finding)
        answer = seen.get(label)
        if answer is None:
            finding.observed = _missing(seen)
            continue
        finding.observed = seen.session.scrub(_shown(answer))
        if answer.ok:
            try:
                op.response_model.model_validate_json(answer.body)
            except ValidationError as exc:
                finding.verdict = CONTRADICTED
                finding.observed = f"HTTP 200 200, but {exc.error_count()} field(s) off the schema"
                where = ", ".join(
                    ".".join(str(part) for part in error["loc"]) for error in exc.errors()[:3]
                )
                finding.follows = f"the 200 answer of {op.operation_id} in openapi.yaml ({where})"
            else:
                finding.verdict = CONFIRMED
                finding.observed = "HTTP 200 200, data in the spec's shape"
        elif answer.code in _ROLE:
            finding.observed += " (the leader key's account is not an active leader)"
        elif answer.code is not None and answer.code not in op.error_codes:
            finding.verdict = CONTRADICTED
            finding.follows = f"the x-error-codes of {op.operation_id} (the code is not listed)"
    return findings


_LEADER_EXPECTED: Final = (
    _Expect(
        "leader-recv-window-max",
        "recvWindow above its maximum on the leader config query (no business parameter)",
        ErrorCode.INVALID_PARAMETER,
        "x-assumption leader-config-query-invalid-parameter: the operation does not check"
        " recvWindow's range; drop the simulator's check for it",
        "leader-config-query-invalid-parameter",
    ),
    _Expect(
        "leader-size-min",
        "a follower page size of 0 (My Followers)",
        ErrorCode.INVALID_PARAMETER,
        "the minimum of components.parameters.LeaderPageSize and x-assumption"
        " leader-page-size-range",
        "leader-page-size-range",
    ),
    _Expect(
        "follower-key-on-leader",
        "a follower's key on a leader operation (the leader config query): which code?",
        ErrorCode.LEADER_NOT_AVAILABLE,
        "x-assumption follower-key-on-leader-endpoint (its alternative: -120047 for an"
        " account that is not a leader); the client's 'not a leader' error class",
        "follower-key-on-leader-endpoint",
    ),
    _Expect(
        "leader-key-on-follower",
        "a leader's key on a follower operation (the follow config query): which code?",
        ErrorCode.FOLLOWER_NOT_FOUND,
        "x-assumption leader-key-on-follower-endpoint (its alternative: -1005, no permission)",
        "leader-key-on-follower-endpoint",
    ),
    _Expect(
        "follower-key-config-update",
        "a follower's key on the leader config update, which lists both role codes: which?",
        ErrorCode.LEADER_NOT_AVAILABLE,
        "x-assumption follower-key-on-leader-endpoint (its alternative: -120047 where the"
        " operation lists it); the client's 'not a leader' error class",
        "follower-key-on-leader-endpoint",
    ),
    _Expect(
        "follower-key-invalid-config",
        "a follower's key and an invalid leader config update: which refusal comes first?",
        ErrorCode.INVALID_PARAMETER,
        "x-assumption leader-role-after-validation (its alternative: the leader check comes"
        " first); the simulator's order of checks",
        "leader-role-after-validation",
    ),
    _Expect(
        "leader-config-invalid",
        f"a leader config update with profitPeriod {_INVALID_PROFIT_PERIOD}: refused?",
        ErrorCode.INVALID_PARAMETER,
        "rule 4 of updateLeaderConfig and the ProfitPeriod enum in openapi.yaml",
        claim=lambda c: (
            "Rule 4 of updateLeaderConfig: "
            + (c.sentence(c.operation("updateLeaderConfig")["description"], "profitPeriod") or "")
        ),
    ),
)


def _role(seen: Observations, contract: Contract, e: _Expect, whose: str) -> Finding:
    """A role probe: a success means the key's account has both roles, which tells nothing."""
    finding = _expect(seen, contract, e)
    answer = seen.get(e.probe)
    if answer is not None and answer.ok:
        finding.verdict, finding.follows = UNKNOWN, None
        finding.observed += f" (the {whose} key's account may play both roles: no refusal to read)"
    return finding


def _role_order(seen: Observations, contract: Contract, e: _Expect) -> Finding:
    """A follower-key update: sent only when the follower key was refused the leader read
    with a role code; a refusal by a business rule means its account leads after all."""
    finding = _expect(seen, contract, e)
    read = seen.get("follower-key-on-leader")
    answer = seen.get(e.probe)
    if answer is None and seen.config_update_refused is not None:
        finding.observed = seen.session.scrub(seen.config_update_refused)
    elif answer is None and read is not None and read.code not in _ROLE:
        finding.observed = (
            "not asked: the follower key was not refused the leader config as no leader"
            f" ({seen.session.scrub(_shown(read))})"
        )
    elif answer is not None and answer.code == ErrorCode.COOL_DOWN_INVALID:
        finding.verdict, finding.follows = UNKNOWN, None
        finding.observed += " (rule 3 of a leader's config: the follower key's account leads)"
    return finding


def _leader_size_above(seen: Observations, contract: Contract) -> Finding:
    label = "leader-size-above-100"
    marker = "leader-page-size-range"
    finding = Finding(
        label,
        "a follower page size above the follower page's maximum, 100 (My Followers)",
        f"{contract.assumes(marker) or 'no rule stated'} Expected: a page (HTTP 200 200).",
        "",
        UNKNOWN,
        None,
        (marker,) if marker in contract.markers else (),
        (label,),
    )
    answer = seen.get(label)
    if answer is None:
        finding.observed = _missing(seen)
        return finding
    finding.observed = seen.session.scrub(_shown(answer))
    if answer.ok:
        finding.verdict = CONFIRMED
    elif answer.code is not None and answer.code not in _ROLE:
        finding.verdict = CONTRADICTED
        finding.follows = (
            "the maximum of components.parameters.LeaderPageSize and x-assumption"
            " leader-page-size-range (its alternative: at most 100); the CLI's --all paging"
        )
    return finding


def _leader_side(seen: Observations, contract: Contract) -> list[Finding]:
    by_probe = {e.probe: e for e in _LEADER_EXPECTED}
    invalid = _expect(seen, contract, by_probe["leader-config-invalid"])
    if seen.config_update_refused is not None and seen.get("leader-config-invalid") is None:
        invalid.observed = seen.session.scrub(seen.config_update_refused)
    elif (answer := seen.get("leader-config-invalid")) is not None and answer.ok:
        invalid.follows = (
            f"the host STORED profitPeriod {_INVALID_PROFIT_PERIOD}: set it back (toobit-follower"
            " leader config set); then rule 4 of updateLeaderConfig and the ProfitPeriod enum"
            " in openapi.yaml"
        )
    return [
        *_leader_reads(seen, contract),
        _expect(seen, contract, by_probe["leader-recv-window-max"]),
        _expect(seen, contract, by_probe["leader-size-min"]),
        _leader_size_above(seen, contract),
        _role(seen, contract, by_probe["follower-key-on-leader"], "follower"),
        _role(seen, contract, by_probe["leader-key-on-follower"], "leader"),
        invalid,
        _role_order(seen, contract, by_probe["follower-key-config-update"]),
        _role_order(seen, contract, by_probe["follower-key-invalid-config"]),
    ]


def judge(seen: Observations, contract: Contract) -> list[Finding]:
    """Every finding, in the report's order (the leader side's only with a leader key)."""
    return [
        _clock(seen, contract),
        _body_signing(seen, contract),
        *(_expect(seen, contract, e) for e in _EXPECTED),
        _order_of_checks(seen, contract),
        *(_leader_side(seen, contract) if seen.leader_key else ()),
        *_statuses(seen, contract),
        _rate_limit_headers(seen, contract),
        *_messages(seen, contract),
    ]


# ---- the report ---------------------------------------------------------------------
def max_weight_per_minute(records: Sequence[Record]) -> int:
    """The most request weight sent within any 60 seconds."""
    return max(
        (sum(x.weight for x in records if r.at <= x.at < r.at + 60) for r in records), default=0
    )


@dataclass
class Report:
    """The findings of one run, for people (``to_markdown``) and machines (``to_json``)."""

    base_url: str
    contract: Contract
    key: str
    read_only_key: str | None
    spacing: float
    seen: Observations
    findings: list[Finding] = field(default_factory=list)
    leader_key: str | None = None
    """The leader key, masked (None: the leader side was not asked)."""

    @property
    def records(self) -> list[Record]:
        return self.seen.session.records

    @property
    def stopped(self) -> str | None:
        return self.seen.session.stopped

    @property
    def limited(self) -> bool:
        """Whether the run stopped at a 429 or 418."""
        return any(r.answer is not None and r.answer.limited for r in self.records)

    def assumptions(self) -> tuple[list[dict[str, Any]], list[str]]:
        """(the x-assumption markers some finding settles, with their verdict; the others)."""
        settled, others = [], []
        for marker in self.contract.markers:
            by = [f for f in self.findings if marker in f.assumptions]
            verdicts = {f.verdict for f in by}
            if not by:
                others.append(marker)
                continue
            verdict = (
                CONTRADICTED
                if CONTRADICTED in verdicts
                else CONFIRMED
                if verdicts == {CONFIRMED}
                else UNKNOWN
            )
            settled.append({"id": marker, "verdict": verdict, "by": [f.id for f in by]})
        return settled, others

    def to_json(self) -> dict[str, Any]:
        settled, others = self.assumptions()
        start = self.records[0].at if self.records else 0.0
        scrub = self.seen.session.scrub
        return {
            "tool": "toobit-follower conformance",
            "contractVersion": self.contract.version,
            "baseUrl": self.base_url,
            "key": self.key,
            "readOnlyKey": self.read_only_key,
            "leaderKey": self.leader_key,
            "leaderSide": None if self.leader_key else NO_LEADER_KEY,
            "spacingSeconds": self.spacing,
            "requests": len(self.records),
            "maxWeightPerMinute": max_weight_per_minute(self.records),
            "stopped": self.stopped,
            "leaderUsedForWrites": str(self.seen.leader) if self.seen.leader else None,
            "bodySigning": self.seen.rule.value if self.seen.rule else None,
            "clockOffsetMs": self.seen.session.offset_ms if self.seen.server_ms else None,
            "findings": [
                {
                    "id": f.id,
                    "question": f.question,
                    "contract": f.contract,
                    "observed": f.observed,
                    "verdict": f.verdict,
                    "follows": f.follows,
                    "assumptions": list(f.assumptions),
                    "probes": list(f.probes),
                }
                for f in self.findings
            ],
            "assumptions": settled,
            "assumptionsNotProbed": others,
            "probes": [
                {
                    "label": r.label,
                    "key": r.key,
                    "method": r.method,
                    "path": r.path,
                    "variant": r.variant,
                    "atSeconds": round(r.at - start, 3),
                    "weight": r.weight,
                    "status": r.answer.status if r.answer else None,
                    "code": r.answer.code if r.answer else None,
                    "msg": scrub(r.answer.msg) if r.answer and r.answer.msg is not None else None,
                    "rateLimit": {
                        name: r.answer.headers[name]
                        for name in self.contract.headers("listLeaders")
                        if r.answer and name in r.answer.headers
                    },
                    "failure": r.failure,
                }
                for r in self.records
            ],
        }

    def to_markdown(self, level: int = 2) -> str:
        """The report for people; its headings start at ``level``."""
        h = "#" * level

        def cell(text: str) -> str:
            return _text(text).replace("|", "\\|")

        seen = self.seen
        lines = [
            f"{h} Conformance of {self.base_url} with openapi.yaml {self.contract.version}",
            "",
            f"Key {self.key}, read-only key {self.read_only_key or 'none'},"
            f" leader key {self.leader_key or 'none'}."
            f" {len(self.records)} requests, {self.spacing:g} s apart; highest request weight"
            f" in any minute: {max_weight_per_minute(self.records)}."
            + (
                f" Writes were about leader {seen.leader}, which the account does not follow."
                if seen.leader
                else ""
            ),
        ]
        if not self.leader_key:
            lines += ["", f"Leader side: {NO_LEADER_KEY}."]
        if self.stopped:
            lines += ["", f"**Stopped**: {self.stopped}."]
        lines += ["", "| question | contract says | host did | verdict |", "|---|---|---|---|"]
        lines += [
            f"| {cell(f.question)} | {cell(f.contract)} | {cell(f.observed)} | {f.verdict} |"
            for f in self.findings
        ]
        follows = [f for f in self.findings if f.follows]
        if follows:
            lines += ["", f"{h}# What follows", ""]
            lines += [f"- {f.question}: {f.follows}" for f in follows]
        settled, others = self.assumptions()
        lines += ["", f"{h}# The contract's assumptions (x-assumption) this run settles", ""]
        lines += ["| assumption | verdict | by |", "|---|---|---|"]
        lines += [f"| `{a['id']}` | {a['verdict']} | {', '.join(a['by'])} |" for a in settled]
        if others:
            lines += [
                "",
                "Not settled by these probes: " + ", ".join(f"`{m}`" for m in others) + ".",
            ]
        return "\n".join(lines) + "\n"


def run(
    base_url: str,
    key: Key,
    read_only: Key | None = None,
    *,
    leader: Key | None = None,
    spacing: float = DEFAULT_SPACING,
    transport: httpx.BaseTransport | None = None,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
    timeout: float = C.DEFAULT_TIMEOUT,
    contract: Contract | None = None,
) -> Report:
    """Probe ``base_url`` with ``key`` (and ``read_only``, a read-only key of the same
    account, for the order of checks; ``leader``, a leader's read-write key, for the leader
    side) and judge what it answers."""
    if spacing < 0:
        raise ValueError("spacing must be >= 0 seconds")
    contract = contract or Contract()
    with httpx.Client(transport=transport, timeout=timeout) as http:
        session = Session(http, base_url, key, spacing=spacing, clock=clock, sleep=sleep)
        seen = Observations(session, read_only is not None, leader_key=leader is not None)
        with contextlib.suppress(_Stopped):
            _probe(seen, read_only, contract)
            if leader is not None and session.stopped is None:
                _probe_leader(seen, leader, contract)
    report = Report(
        base_url.rstrip("/"),
        contract,
        mask_api_key(key.api_key),
        mask_api_key(read_only.api_key) if read_only else None,
        spacing,
        seen,
        leader_key=mask_api_key(leader.api_key) if leader else None,
    )
    report.findings = judge(seen, contract)
    return report
