"""The probes that ``body_signing="auto"`` and ``toobit-follower conformance`` share: find a
leader the account surely does not follow, then sign one harmless PUT about it both ways.

Each probe is a generator: it yields ``(label, request)`` (a stable name of the
step: ``leaders``, ``unfollowed-config``, ``put-signed-query+body``, ...) and is sent the
:class:`Answer`; whoever drives it sends the requests (the client's httpx auth flow, or
the conformance run with its spacing and its record). It returns at once after a 429 or
418 (a :class:`Stop` carrying that answer), so no driver sends another request.

Safety: the only write is a PUT of a stop-profit-loss for a leader the host itself says
the account does not follow (``FOLLOWER_NOT_FOUND`` to a read first), with the optional
fields left out. Without a follow relation there is no copy position to change, so the
host can only refuse it; and it is never a DELETE.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Any, Final, NamedTuple, TypeVar

import httpx
from pydantic import ValidationError
from toobit_follower_models import Envelope, LeadersResponse, StopProfitLossUpdate
from toobit_follower_models.errors import ErrorCode
from toobit_follower_models.operations import BY_ID

from ._constants import SUCCESS_CODE
from ._exceptions import APIError, AuthenticationError, RateLimitError, error_class
from ._operations import Prepared, prepare
from .signing import BodySigning

__all__ = [
    "LEADER_CANDIDATES",
    "Answer",
    "Flow",
    "MakeRequest",
    "Stop",
    "body_signing_rule",
    "find_body_signing",
    "harmless_put",
    "unfollowed_leader",
]

T = TypeVar("T")

LEADER_CANDIDATES: Final = (2**63 - 1, 2**53 - 1, 10**12 - 1)
"""Leader IDs a probe may write about, tried in turn: the largest int64, the largest
integer a JavaScript number holds exactly, and twelve nines. Far above the IDs the
exchange hands out (its examples have nine digits), so none is likely to be a leader
anyone can follow; even so, one is used only when it is not in the account's list of
leaders and the host answers ``FOLLOWER_NOT_FOUND`` for its follow config."""

_LEADER_FIELD: Final = "leader_user_id"

# The operations the probes are made of (what each does with them is its rule, below).
_LEADERS: Final = BY_ID["listLeaders"]
_CONFIG: Final = BY_ID["getFollowConfig"]
_STOP_PROFIT_LOSS: Final = BY_ID["updateStopProfitLoss"]


class Answer(NamedTuple):
    """What the host answered: HTTP status, the envelope's ``code`` and ``msg`` (``None``
    without a JSON envelope), the raw body and the headers."""

    status: int
    code: int | None
    msg: str | None
    body: bytes
    headers: httpx.Headers

    @classmethod
    def of_error(cls, error: APIError) -> Answer:
        """The answer behind a client's APIError (a gate's refusal to send has none)."""
        response = error.response
        if response is not None:
            return cls.of(response, response.content)
        return cls(error.status_code, error.code, error.msg, b"", httpx.Headers())

    @classmethod
    def of(cls, response: httpx.Response, body: bytes) -> Answer:
        try:
            envelope = Envelope.model_validate_json(body)
        except ValidationError:
            return cls(response.status_code, None, None, body, response.headers)
        return cls(response.status_code, envelope.code, envelope.msg, body, response.headers)

    @property
    def ok(self) -> bool:
        return self.status == SUCCESS_CODE and self.code == SUCCESS_CODE

    @property
    def limited(self) -> bool:
        """A 429 or 418 (or the rate-limit code under another status): stop at once."""
        return self.code == ErrorCode.TOO_MANY_REQUESTS or issubclass(
            error_class(self.status, None), RateLimitError
        )

    @property
    def past_signature(self) -> bool:
        """The host checked the signature and went on: success, or an error the spec's
        table does not put among the key, signature and timestamp refusals."""
        if self.code is None:
            return False
        if self.ok:
            return True
        return not issubclass(error_class(self.status, self.code), AuthenticationError)

    def shown(self, text: bool = True) -> str:
        """``HTTP 400 -32045 'Copy trading follower not found.'`` (or the body's start);
        ``text=False`` leaves out what the host wrote (it may echo a signature)."""
        if self.code is None:
            start = " ".join(self.body[:80].decode("utf-8", "replace").split())
            return f"HTTP {self.status}, no JSON envelope" + (f": {start!r}" if text else "")
        return f"HTTP {self.status} {self.code}" + (f" {self.msg!r}" if text else "")


@dataclass(frozen=True)
class Stop:
    """A probe that ended without its answer: why, and the 429/418 that stopped it.
    ``definite``: the host answered, and asking again would not help."""

    reason: str
    limited: Answer | None = None
    definite: bool = False


MakeRequest = Callable[[Prepared[Any], BodySigning], Any]
"""Builds the request of an operation, signed with the given body rule: an httpx
request (conformance), or whatever its driver sends (the client: the pair itself)."""

Flow = Generator[tuple[str, Any], Answer, T]


def unfollowed_leader(make: MakeRequest) -> Flow[int | Stop]:
    """A leader ID the account surely does not follow (see LEADER_CANDIDATES)."""
    # Safety: reads only.
    listed = yield "leaders", make(prepare(_LEADERS, {}), BodySigning.QUERY_AND_BODY)
    if listed.limited:
        return Stop("rate limited", listed)
    if listed.ok:
        try:
            data = LeadersResponse.model_validate_json(listed.body).data
        except ValidationError:
            return Stop("the list of leaders followed does not match the spec")
        followed = {int(x.leader_user_id) for x in data}
    elif listed.code == ErrorCode.FOLLOWER_NOT_FOUND:
        followed = set()  # the account follows nobody
    else:
        return Stop(f"listing the leaders followed failed: {listed.shown(text=False)}")
    tried = []
    for candidate in LEADER_CANDIDATES:
        if candidate in followed:
            tried.append(f"{candidate}: followed")
            continue
        config = yield (
            "unfollowed-config",
            make(prepare(_CONFIG, {"leaderUserId": candidate}), BodySigning.QUERY_AND_BODY),
        )
        if config.limited:
            return Stop("rate limited", config)
        if config.code == ErrorCode.FOLLOWER_NOT_FOUND:
            return candidate
        if not config.past_signature:
            return Stop(f"the follow config query failed: {config.shown(text=False)}")
        tried.append(f"{candidate}: {config.shown(text=False)}")
    reason = "found no leader ID the account surely does not follow (" + "; ".join(tried) + ")"
    return Stop(reason, definite=True)


def harmless_put(leader: int) -> Prepared[None]:
    """PUT stop-profit-loss for ``leader`` with the required fields only (each the spec's
    example): no optional field, so nothing would change even with a position."""
    fields = {
        name: info.examples[0]
        for name, info in StopProfitLossUpdate.model_fields.items()
        if info.is_required() and info.examples
    }
    update = StopProfitLossUpdate.model_validate({**fields, _LEADER_FIELD: leader})
    return prepare(_STOP_PROFIT_LOSS, {}, update)


def with_body(prepared: Prepared[T], change: Callable[[dict[str, Any]], None]) -> Prepared[T]:
    """``prepared`` with its JSON body changed by ``change`` (compact, as sent)."""
    body = json.loads(prepared.json or b"{}")
    change(body)
    return prepared._replace(json=json.dumps(body, separators=(",", ":")).encode())


def body_signing_rule(make: MakeRequest, leader: int) -> Flow[BodySigning | Stop]:
    """Sign the same harmless PUT over query and body, then over the query alone: the rule
    is the one whose request gets past the signature check while the other gets
    ``INVALID_SIGNATURE``."""
    # Safety: the PUT is about a leader the account does not follow (unfollowed_leader),
    # with no optional field: refused with FOLLOWER_NOT_FOUND whichever signature passes.
    put = harmless_put(leader)
    answers: dict[BodySigning, Answer] = {}
    for rule in (BodySigning.QUERY_AND_BODY, BodySigning.QUERY_ONLY):
        answer = yield f"put-signed-{rule.value}", make(put, rule)
        if answer.limited:
            return Stop("rate limited", answer)
        answers[rule] = answer
    both, alone = answers[BodySigning.QUERY_AND_BODY], answers[BodySigning.QUERY_ONLY]
    if both.past_signature and alone.code == ErrorCode.INVALID_SIGNATURE:
        return BodySigning.QUERY_AND_BODY
    if alone.past_signature and both.code == ErrorCode.INVALID_SIGNATURE:
        return BodySigning.QUERY_ONLY
    definite = both.code is not None and alone.code is not None
    return Stop(
        f"inconclusive: query+body {both.shown(text=False)}; query-only {alone.shown(text=False)}",
        None,
        definite,
    )


def find_body_signing(make: MakeRequest) -> Flow[BodySigning | Stop]:
    """:func:`unfollowed_leader`, then :func:`body_signing_rule` (4 requests at best)."""
    leader = yield from unfollowed_leader(make)
    if isinstance(leader, Stop):
        return leader
    return (yield from body_signing_rule(make, leader))
