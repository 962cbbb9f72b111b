"""The contract's assumptions, and the simulator's choice on each (issue 14).

openapi.yaml marks every rule, status or constraint the exchange's pages do not state
with an `x-assumption` marker `{id, assumes, page, alternative?}`. The simulator plays
the contract's reading of each by default; `SimOptions.assumptions` (`serve --assume
ID=alternative`) makes it play a marker's `alternative` instead, so a client, a probe or
a test can meet the other reading. The ids are checked against the spec's markers when
the simulator starts.

The markers are read from `toobit_follower_models.assumptions` (generated from the spec,
checked by tools/assumptions.py at generation): the one representation of them.
`PLAYED` says, for every marker whose alternative the simulator implements, what it
then does and where; `NOT_PLAYABLE` names the alternatives it cannot play and why.
`FLAG_ALIASES` are the `serve` flags older than `--assume`, kept as its aliases.
tests/test_sim_assumptions.py shows, for each marker with an alternative, that the two
readings answer differently, and fails for a marker that is in neither table.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final, Literal

from toobit_follower_models.assumptions import ASSUMPTIONS

Choice = Literal["contract", "alternative"]
CONTRACT: Final = "contract"
ALTERNATIVE: Final = "alternative"
CHOICES: Final = (CONTRACT, ALTERNATIVE)

PLAYED: Final[dict[str, str]] = {
    "unknown-parameter-refused": "undeclared query parameters and body fields are ignored (app.py)",
    "body-signed-with-query": "the signature covers the query string alone (app.py)",
    "request-decimal-plain-string": "a request decimal may be a JSON number or a string in"
    " exponent notation; it is checked and stored in plain notation (app.py)",
    "put-content-type-json": "a PUT body is read as JSON whatever its Content-Type (app.py)",
    "read-only-before-validation": "a read-only key on a write is refused after the"
    " parameters and body are validated, before the business rules (app.py)",
    "history-size-at-least-one": "`size=0` is an empty page (`pages` 0) (app.py, service.py)",
    "stop-profit-loss-rate-format": "the config's rules for the fields both bodies share: a"
    " non-zero stop rate below the config's minimum is INVALID_PARAMETER (app.py)",
    "stop-profit-loss-position-not-found": "a followed leader without that open position is"
    " INVALID_PARAMETER naming symbolId; a leader not followed stays FOLLOWER_NOT_FOUND"
    " (service.py)",
    "stop-profit-loss-field-left-out-kept": "an optional field left out clears the stored"
    ' value (a stop rate shows "") (service.py)',
    "min-per-order-higher-of-leader-and-system": "the minimum per-order amount is the"
    " leader's, the system's only for a leader without one (service.py)",
    "leverage-frozen-while-any-position-open": "only open positions under the leader being"
    " configured freeze its leverage (service.py)",
    "cancel-refused-while-any-position-open": "only open positions under the leader being"
    " cancelled refuse the cancel (service.py)",
    "retry-after-header": "a 429 or 418 carries no Retry-After (app.py)",
    "follow-symbol-ids-spaces": "spaces belong to the symbol IDs they surround: ` all` is a"
    " symbol, so `BTC-SWAP-USDT, all` is two symbols, not `all` mixed in (validation.py)",
    "error-status-per-code": "the refusals with HTTP 400, 401 and 403 come with HTTP 200 (app.py)",
    "permission-errors-are-403": "NOT_SUPPORTED and NO_PERMISSION come with the status of"
    " the validation rows, HTTP 400 (app.py)",
    # -- the leader side
    "leader-lists-newest-first": "the leader's lists come oldest first: current lead orders,"
    " history pages, the latest 100 profit-sharing records, followers (leader_service.py)",
    "leader-config-round-trip-types": "the config update takes the cool-down times as strings"
    " of digits too, as the config query answers them (app.py)",
    "cool-down-window-rule": "a custom cool-down (`unLeadType` 1) without `unLeadStartTime` or"
    " `unLeadEndTime` is MANDATORY_PARAM_EMPTY_OR_MALFORMED naming it (leader_service.py)",
    "leader-config-limit-code": "a referral rate out of (0, 1] is INVALID_PARAMETER naming"
    " recommendShareRate; the level limits stay LEADER_CONFIG_INVALID (leader_service.py)",
    "custom-profit-sharing-ratio": "a private leader's ratio is custom when its stored"
    " `profitRate` differs from its level's `defaultProfitRate` (leader_service.py)",
    "leader-symbol-ids-list": "an empty `symbolIds` is MANDATORY_PARAM_EMPTY_OR_MALFORMED; a"
    " pair that is not the leader's is dropped from the list (leader_service.py)",
    "lead-position-type-frozen-while-positions-open": "only current lead orders of a position"
    " type the new `leadPositionType` excludes refuse the change; -1 (all) is always"
    " accepted (leader_service.py)",
    "recommend-share-rate-rule": "the referral rate's range applies only when the update"
    " sends `recommendShare` 1; with the switch off the rate sent is ignored, the stored"
    " one kept (leader_service.py)",
    "invite-code-rule": "an invite code is 6 to 10 ASCII letters and digits; a private"
    " leader's update without `inviteCode` is MANDATORY_PARAM_EMPTY_OR_MALFORMED"
    " (leader_service.py)",
    "leader-minimums-feed-follow-rules": "the follower's config rules take the system's"
    " minimums (per order, fixed-rate and follow investment), not the leader's config's"
    " (service.py)",
    "remove-refused-while-any-position-open": "only open positions copied from the signed"
    " leader refuse the removal (leader_service.py)",
    "follower-user-id-not-listed": "each row of My Followers carries the follower's user ID"
    " as `followerUserId` (leader_service.py)",
    "leader-page-size-range": "the leader's paged lists take `size` up to the follower page's"
    " maximum, 100 (app.py)",
    "follower-key-on-leader-endpoint": "a key whose account is not a leader gets"
    " LEADER_NOT_FOUND on the operations that list it (update config, remove follower),"
    " LEADER_NOT_AVAILABLE on the others (leader_service.py)",
    "leader-key-on-follower-endpoint": "a leader's key on a follower operation is"
    " NO_PERMISSION (leader_service.py, checked where the leader role is)",
    "leader-role-after-validation": "the role check (a leader operation's, and"
    " leader-key-on-follower-endpoint's alternative) comes before the parameters and body"
    " are validated (app.py)",
    "cool-down-reset-reads-zero": "with no cool-down (`unLeadType` 0) the config query"
    " answers both cool-down times as null (leader_service.py)",
    "invite-code-when-none": 'the config query answers `inviteCode` "" when the leader has'
    " none (leader_service.py)",
    "trade-protect-values": "`tradeProtect` is 0 or 1, else INVALID_PARAMETER (leader_service.py)",
    "is-need-invite-values": "`isNeedInvite` is 0 or 1, else INVALID_PARAMETER (leader_service.py)",
    "recommend-share-values": "`recommendShare` is 0 or 1, else INVALID_PARAMETER"
    " (leader_service.py)",
}
"""Marker id -> what the simulator does when told to play the marker's alternative."""

NOT_PLAYABLE: Final[dict[str, str]] = {
    "business-rule-refusal-code": "the alternative is the exchange's own code for a broken"
    " business rule, which nobody knows yet: the error table has no row to answer with, and"
    " inventing a code would be a fact the pages do not give",
    # -- the leader side: readings of the exchange's data, not rules the simulator applies
    "lead-order-one-per-symbol-and-side": "the seed's lead orders are the exchange's data,"
    " one per symbol and direction; several on one would be rows no request names, and no"
    " rule would read them otherwise",
    "trade-data-one-item": "the figures of the sub-periods are the exchange's data, which"
    " no page gives: serving several items would mean inventing them",
    "leader-symbols-are-the-available-pairs": "the other set of available pairs is not"
    " published: nothing says which pairs it holds, nor how `isLead` would then change",
    "leader-config-query-invalid-parameter": "the alternative does not say which window an"
    " out-of-range `recvWindow` then gives (the value sent, the default, or none): any"
    " choice would be a guess",
    "current-lead-order-position-type": 'an encoding of the exchange\'s data ("such as"):'
    " the seed's lead orders carry the encoding the seed writes; the alternative names no"
    " one to serve",
    "trade-data-figures": "the meaning of the seed's figures, not a rule: the simulator"
    " computes no rate; a seed holding percentages is that reading",
    "leader-integer-counts": "the alternative's answer (strings of digits for integers the"
    " schema types `integer`) is outside the contract, which the simulator never sends",
    "profit-sharing-date-and-week": "the seed's records, not a rule: the simulator derives"
    " no week from a date; a seed with ISO weeks is that reading",
    "follower-row-figures": "the alternative names no cap: nothing says what"
    " `followAmountLimit` would then hold",
    "leader-config-decimal-format": "the alternative names no precision or range: there is"
    " nothing definite to check instead",
    "invite-scope-values": "the closed set of scopes is not known: no page lists one",
}
"""Marker id -> why the simulator cannot play its alternative."""


class AssumptionError(ValueError):
    """A choice on an assumption that the spec or the simulator cannot take."""


def spec_markers() -> dict[str, str | None]:
    """Every `x-assumption` marker of the contract: id -> its alternative (None without)."""
    return {marker.id: marker.alternative for marker in ASSUMPTIONS}


@dataclass(frozen=True, slots=True)
class FlagAlias:
    """A `serve` flag older than `--assume`: it plays one marker's alternative."""

    marker: str
    values: tuple[str, str] | None
    """(the contract's value, the alternative's), the default first; None: an on/off flag."""


FLAG_ALIASES: Final[dict[str, FlagAlias]] = {
    "errors_as_200": FlagAlias("error-status-per-code", None),
    "body_signing": FlagAlias("body-signed-with-query", ("query+body", "query-only")),
    "unknown_params": FlagAlias("unknown-parameter-refused", ("refuse", "ignore")),
    "read_only_check": FlagAlias(
        "read-only-before-validation", ("before-validation", "after-validation")
    ),
}
"""`serve --errors-as-200`, `--body-signing`, `--unknown-params`, `--read-only-check` (by
their argparse names): aliases of `--assume MARKER=alternative`, kept for one release
(README, docs/ARCHITECTURE.md and the conformance report name them)."""


def with_flag_aliases(
    chosen: Mapping[str, Choice], flags: Mapping[str, object]
) -> dict[str, Choice]:
    """`chosen` (`--assume`) plus the alternatives the alias flags ask for (argparse names
    -> values); AssumptionError when a flag and `--assume` choose differently."""
    result: dict[str, Choice] = dict(chosen)
    for name, alias in FLAG_ALIASES.items():
        value = flags.get(name)
        if not (value is True if alias.values is None else value == alias.values[1]):
            continue
        if result.get(alias.marker, ALTERNATIVE) != ALTERNATIVE:
            flag = "--" + name.replace("_", "-")
            raise AssumptionError(
                f"{flag} plays the alternative of {alias.marker}, and --assume chose"
                f" {result[alias.marker]!r}"
            )
        result[alias.marker] = ALTERNATIVE
    return result


def switchable(markers: Mapping[str, str | None]) -> list[str]:
    """The markers the simulator can play otherwise: an alternative, and implemented."""
    return [m for m, alternative in markers.items() if alternative and m in PLAYED]


def check_choices(chosen: Mapping[str, str]) -> None:
    """Each choice is `contract` or `alternative` (the ids are checked at startup)."""
    for marker_id, choice in chosen.items():
        if choice not in CHOICES:
            raise AssumptionError(
                f"assumption {marker_id}: choose {' or '.join(CHOICES)}, not {choice!r}"
            )


def resolve(
    chosen: Mapping[str, str], markers: Mapping[str, str | None] | None = None
) -> frozenset[str]:
    """The marker ids whose alternative the simulator plays; AssumptionError (naming the
    valid ids) for an id the spec does not mark, or an alternative it cannot play.
    `markers`: id -> alternative (default: the contract's, `spec_markers()`)."""
    check_choices(chosen)
    if markers is None:
        markers = spec_markers()
    valid = ", ".join(switchable(markers)) or "none"
    played = set()
    for marker_id, choice in chosen.items():
        if marker_id not in markers:
            raise AssumptionError(
                f"unknown assumption {marker_id!r}: openapi.yaml has no x-assumption with"
                f" that id. Those with an alternative the simulator plays: {valid}"
                " (python tools/assumptions.py lists every marker)"
            )
        if choice == CONTRACT:
            continue
        if not markers[marker_id]:
            raise AssumptionError(
                f"assumption {marker_id} has no alternative in openapi.yaml; those with"
                f" one the simulator plays: {valid}"
            )
        if marker_id in NOT_PLAYABLE:
            raise AssumptionError(
                f"the simulator cannot play the alternative of {marker_id}:"
                f" {NOT_PLAYABLE[marker_id]}"
            )
        if marker_id not in PLAYED:
            raise AssumptionError(
                f"assumption {marker_id} has an alternative but the simulator does not"
                " implement it (toobit_follower_sim.assumptions.PLAYED)"
            )
        played.add(marker_id)
    return frozenset(played)


def parse_assume(text: str) -> tuple[str, Choice]:
    """`ID=alternative` or `ID=contract` (the `--assume` flag) -> (id, choice)."""
    marker_id, sep, choice = text.partition("=")
    if not sep or not marker_id or choice not in CHOICES:
        raise AssumptionError(f"--assume {text!r}: write ID=alternative or ID=contract")
    return marker_id, ALTERNATIVE if choice == ALTERNATIVE else CONTRACT
