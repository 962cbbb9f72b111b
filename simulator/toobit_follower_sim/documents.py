"""What the simulator stores: documents in the vocabulary of the spec's schemas.

Each kind of thing is stored as the object that serves it (the response schema's
properties, in the spec's order) plus the properties that only the request body writing
it declares (kept, never served):

| kind | served as | written by |
|---|---|---|
| follow config | `FollowConfig` | `FollowConfigUpdate` (the follow-config update's body) |
| a follow relation's figures | `Leader` | (seed only) |
| open position | `CurrentOrder` | `StopProfitLossUpdate` (the stop-profit-loss update's body) |
| closed position | `HistoryOrder` | (seed only) |
| leader config | `LeaderConfig` | `LeaderConfigUpdate` (the leader-config update's body) |
| a leader's trading pair | `LeaderSymbol` | (seed; `isLead` by the config update) |
| current lead order | `LeadOrder` | (seed only) |
| history lead order | `HistoryLeadOrder` | (seed only) |
| trade data of a period | `TradeData` | (seed only) |
| profit-sharing record | `ProfitSharing` | (seed only) |
| a follow relation, as its leader sees it | `Follower` | (seed; two figures derived) |

No field is named here: a property the spec adds to a schema is stored, checked and
served like the others. The one exception is the leader's identity (id, nickname,
avatar), which belongs to the leader and is served with every document under it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .spec import FieldRule, ObjectRules, SpecData
from .validation import conforms

_ENCODE = json.JSONEncoder(separators=(",", ":")).encode


def leader_identity(leader_id: int, nickname: str, avatar: str) -> dict[str, Any]:
    """The leader's properties as every response schema that carries them names them."""
    return {"leaderUserId": str(leader_id), "leaderNickname": nickname, "leaderAvatar": avatar}


class Kind:
    """One kind of stored document: the schema it is served as, and the body that writes it."""

    __slots__ = ("_extra_names", "_names", "_strings", "served", "written")

    def __init__(self, served: ObjectRules, written: ObjectRules | None = None) -> None:
        self.served = served
        self.written = written
        self._names = tuple(served.properties)
        self._strings = frozenset(n for n, r in served.properties.items() if _wants_string(r))
        written_names = written.properties if written else {}
        self._extra_names = tuple(n for n in written_names if n not in served.properties)

    def split(
        self, values: Mapping[str, Any], leader: Mapping[str, Any]
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """(served object, stored-only properties) of `values` under `leader`.

        Served: every property of the response schema found in the leader's identity or
        the values, in the schema's order; an integer where the schema wants a string is
        sent as its digits (the spec's rule for 64-bit integers). Stored only: the
        properties that the writing body declares and the response does not."""
        served = {
            n: leader[n] if n in leader else values[n]
            for n in self._names
            if n in leader or n in values
        }
        for name, value in served.items():
            if type(value) is int and name in self._strings:
                served[name] = str(value)
        return served, {n: values[n] for n in self._extra_names if n in values}

    def encode(self, values: Mapping[str, Any], leader: Mapping[str, Any]) -> tuple[str, str]:
        """`split`, as the compact JSON texts the store keeps."""
        served, extra = self.split(values, leader)
        return _ENCODE(served), _ENCODE(extra) if extra else "{}"

    def answered_as_string(self, name: str) -> bool:
        """The served schema may carry the property as a string (an `Int64`, a decimal)."""
        return name in self._strings

    def known(self, name: str) -> bool:
        return name in self.served.properties or (
            self.written is not None and name in self.written.properties
        )

    def problem(
        self, served: Mapping[str, Any], extra: Mapping[str, Any]
    ) -> tuple[str, str] | None:
        """The first way the document breaks its schemas: (property or "", what), or None."""
        missing = sorted(self.served.required - served.keys())
        if missing:
            return "", f"missing {missing} (required by the spec's {self.served.name})"
        for rules, values in ((self.served, served), (self.written, extra)):
            for name, value in values.items():
                assert rules is not None
                rule = rules.properties[name]
                if not conforms(rule, value):
                    shown = repr(value) if len(repr(value)) <= 40 else repr(value)[:37] + "..."
                    return name, f"{shown} is not a valid {rules.name}.{name}{_hint(rule, value)}"
        return None


def _wants_string(rule: FieldRule) -> bool:
    """A string, or a choice that includes one (Int64: digits or a number; DecimalString;
    an Int64 or null)."""
    return rule.kind == "string" or any(_wants_string(a) for a in rule.any_of or ())


def _hint(rule: FieldRule, value: Any) -> str:
    if _wants_string(rule) and isinstance(value, float):
        return " (decimals are strings: quote them)"
    return ""


@dataclass(frozen=True, slots=True)
class Documents:
    config: Kind
    figures: Kind
    position: Kind
    history: Kind
    leader_config: Kind
    leader_symbol: Kind
    lead_order: Kind
    lead_history: Kind
    trade_data: Kind
    profit_sharing: Kind
    follower: Kind
    trade_periods: tuple[int, ...]
    """The periods of the trade data (the `TradeDataPeriod` enum), one document each."""

    def answered_as_strings(self, body_schema: str | None) -> tuple[str, ...]:
        """The integer properties of a request body that the document it writes serves as
        strings (the leader config's cool-down times)."""
        for kind in (self.config, self.position, self.leader_config):
            written = kind.written
            if written is not None and written.name == body_schema:
                return tuple(
                    name
                    for name, rule in written.properties.items()
                    if rule.kind == "integer" and kind.answered_as_string(name)
                )
        return ()


def documents(spec: SpecData) -> Documents:
    schemas = spec.schemas
    periods = spec.document["components"]["schemas"]["TradeDataPeriod"]["enum"]
    return Documents(
        config=Kind(schemas["FollowConfig"], schemas["FollowConfigUpdate"]),
        figures=Kind(schemas["Leader"]),
        position=Kind(schemas["CurrentOrder"], schemas["StopProfitLossUpdate"]),
        history=Kind(schemas["HistoryOrder"]),
        leader_config=Kind(schemas["LeaderConfig"], schemas["LeaderConfigUpdate"]),
        leader_symbol=Kind(schemas["LeaderSymbol"]),
        lead_order=Kind(schemas["LeadOrder"]),
        lead_history=Kind(schemas["HistoryLeadOrder"]),
        trade_data=Kind(schemas["TradeData"]),
        profit_sharing=Kind(schemas["ProfitSharing"]),
        follower=Kind(schemas["Follower"]),
        trade_periods=tuple(int(p) for p in periods),
    )
