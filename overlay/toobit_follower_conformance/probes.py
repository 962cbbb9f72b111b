"""The probes conformance runs, which the client's ``body_signing="auto"`` runs too:
generators that yield ``(label, request)``, are sent the :class:`Answer`, and stop at a 429
or 418. Safety: the only write is a PUT of a stop-profit-loss, no optional field, about a
leader the host says the account does not follow: with no position to change, it can only
be refused."""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import Any, Final, NamedTuple, TypeVar

import httpx
from pydantic import ValidationError
from toobit_follower._exceptions import APIError, AuthenticationError, RateLimitError, error_class
from toobit_follower._operations import Prepared, prepare
from toobit_follower.constants import SUCCESS_CODE
from toobit_follower.signing import BodySigning
from toobit_follower_models import Envelope, LeadersResponse, StopProfitLossUpdate
from toobit_follower_models.errors import ErrorCode
from toobit_follower_models.operations import BY_ID

T = TypeVar("T")
MakeRequest = Callable[[Prepared[Any], BodySigning], Any]  # a request signed with that rule
Flow = Generator[tuple[str, Any], "Answer", T]

LEADER_CANDIDATES: Final = (2**63 - 1, 2**53 - 1, 10**12 - 1)
"""Leader IDs to write about: far above the exchange's (nine digits), each checked unfollowed."""


class Answer(NamedTuple):
    """HTTP status, the envelope's ``code`` and ``msg`` (``None`` without one), body, headers."""

    status: int
    code: int | None
    msg: str | None
    body: bytes
    headers: httpx.Headers

    @classmethod
    def of_error(cls, error: APIError) -> Answer:
        """The answer behind a client's APIError (a gate's refusal to send has none)."""
        if (response := error.response) is not None:
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
        limit = self.code == ErrorCode.TOO_MANY_REQUESTS
        return limit or issubclass(error_class(self.status, None), RateLimitError)

    @property
    def past_signature(self) -> bool:
        """Success, or an error the spec's table does not count as a key/signature refusal."""
        refused = issubclass(error_class(self.status, self.code), AuthenticationError)
        return self.code is not None and (self.ok or not refused)

    @property
    def brief(self) -> str:
        """``HTTP 400 -32045``, without what the host wrote (it may echo a signature)."""
        code = ", no JSON envelope" if self.code is None else f" {self.code}"
        return f"HTTP {self.status}{code}"


class Stop(NamedTuple):
    """Why a probe ended without a rule; ``definite``: do not ask again."""

    reason: str
    definite: bool = False


def unfollowed_leader(make: MakeRequest) -> Flow[int | Stop]:
    """A leader ID the account surely does not follow (see LEADER_CANDIDATES)."""
    # Safety: reads only.
    listed = yield "leaders", make(prepare(BY_ID["listLeaders"], {}), BodySigning.QUERY_AND_BODY)
    if listed.limited:
        return Stop("rate limited")
    followed: set[int] = set()  # FOLLOWER_NOT_FOUND: the account follows nobody
    if listed.ok:
        try:
            data = LeadersResponse.model_validate_json(listed.body).data
        except ValidationError:
            return Stop("the list of leaders followed does not match the spec")
        followed = {int(x.leader_user_id) for x in data}
    elif listed.code != ErrorCode.FOLLOWER_NOT_FOUND:
        return Stop(f"listing the leaders followed failed: {listed.brief}")
    tried = [f"{c}: followed" for c in LEADER_CANDIDATES if c in followed]
    for candidate in (c for c in LEADER_CANDIDATES if c not in followed):
        query = prepare(BY_ID["getFollowConfig"], {"leaderUserId": candidate})
        config = yield "unfollowed-config", make(query, BodySigning.QUERY_AND_BODY)
        if config.limited:
            return Stop("rate limited")
        if config.code == ErrorCode.FOLLOWER_NOT_FOUND:
            return candidate
        if not config.past_signature:
            return Stop(f"the follow config query failed: {config.brief}")
        tried.append(f"{candidate}: {config.brief}")
    reason = "found no leader ID the account surely does not follow (" + "; ".join(tried) + ")"
    return Stop(reason, definite=True)


def harmless_put(leader: int) -> Prepared[None]:
    """PUT stop-profit-loss for ``leader``, only the required fields (the spec's examples)."""
    model = StopProfitLossUpdate.model_fields.items()
    fields = {name: f.examples[0] for name, f in model if f.is_required() and f.examples}
    update = StopProfitLossUpdate.model_validate({**fields, "leader_user_id": leader})
    return prepare(BY_ID["updateStopProfitLoss"], {}, update)


def body_signing_rule(make: MakeRequest, leader: int) -> Flow[BodySigning | Stop]:
    """The rule whose harmless PUT gets past the signature check, the other's INVALID_SIGNATURE."""
    # Safety: the harmless PUT (unfollowed leader): FOLLOWER_NOT_FOUND whichever rule passes.
    put = harmless_put(leader)
    answers: dict[BodySigning, Answer] = {}
    for rule in BodySigning.QUERY_AND_BODY, BodySigning.QUERY_ONLY:
        answers[rule] = answer = yield f"put-signed-{rule.value}", make(put, rule)
        if answer.limited:
            return Stop("rate limited")
    both, alone = answers[BodySigning.QUERY_AND_BODY], answers[BodySigning.QUERY_ONLY]
    if both.past_signature and alone.code == ErrorCode.INVALID_SIGNATURE:
        return BodySigning.QUERY_AND_BODY
    if alone.past_signature and both.code == ErrorCode.INVALID_SIGNATURE:
        return BodySigning.QUERY_ONLY
    shown = f"query+body {both.brief}; query-only {alone.brief}"
    return Stop(f"inconclusive: {shown}", definite=both.code is not None and alone.code is not None)


def find_body_signing(make: MakeRequest) -> Flow[BodySigning | Stop]:
    """:func:`unfollowed_leader`, then :func:`body_signing_rule` (4 requests at best)."""
    leader = yield from unfollowed_leader(make)
    if isinstance(leader, Stop):
        return leader
    return (yield from body_signing_rule(make, leader))
