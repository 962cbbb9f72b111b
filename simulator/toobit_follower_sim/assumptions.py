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
}
"""Marker id -> what the simulator does when told to play the marker's alternative."""

NOT_PLAYABLE: Final[dict[str, str]] = {
    "business-rule-refusal-code": "the alternative is the exchange's own code for a broken"
    " business rule, which nobody knows yet: the error table has no row to answer with, and"
    " inventing a code would be a fact the pages do not give",
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
