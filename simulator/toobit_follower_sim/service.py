"""The business rules: one method per operation, on top of the store (no HTTP here).

The simulator routes every operation of the generated table
(`toobit_follower_models.operations`) to the method of `FollowerService` named after it
(the follower operations' rules here, the leader operations' in leader_service.py, which
`FollowerService` combines: both sides of one exchange on one store),
the snake_case of its operationId (`getFollowConfig` -> `get_follow_config`). A rule
takes one `Call`: the parameters and body already parsed and checked against the spec
(app.py), the signed account, the server's time. It answers the success answer's `data`:

* a `str`: JSON text sent as it is (the stored documents; no second encoding);
* `None`: `data` null (a write);
* anything else (dict, list, a pydantic model): checked against the operation's 200
  model, then encoded; a rule answering outside the spec is a logged -1000, never sent.

It refuses with `api_error(ErrorCode.NAME)` (errors.py). An operation without a method
here is answered with an error naming the missing rule (and logged at startup);
`missing_rules()` lists them. To add a rule, add the method here, or subclass
`FollowerService` and pass the class as `create_app(service=...)` (simulator/README.md).

Reads send the stored documents as they are (JSON text). Each write runs inside one
store transaction; a rule that fails raises an ApiError inside it, so the transaction
rolls back and nothing changes. Fields are named only where a numbered rule of the
spec acts on them.

Order of the update-follow-config checks after validation (rules as numbered in the
updateFollowConfig description of openapi.yaml): 13 (follow relation), then 6 or 7
(mode minimums), 8 (investAmount), 9 (dailyMaxInvestAmount), 10 (leverage). Rules 1-5,
11 and 12 are format checks done before (app.py / validation.py). The minimums are the
followed leader's config's (assumption leader-minimums-feed-follow-rules): what its
`updateLeaderConfig` stores applies to the next follow config update.

Where a rule is one of the contract's assumptions (an x-assumption of the spec), it names
the marker, and `alternatives` (the markers whose alternative the simulator plays, see
assumptions.py) switches it to the other reading.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Set
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from toobit_follower_models.errors import ErrorCode
from toobit_follower_models.operations import OPERATIONS, Operation

from .errors import api_error, invalid
from .leader_service import LeaderService, end_follow, holds_position
from .store import Store

# A row per follow relation without positions (p.doc NULL), else one per position, so the
# relation check costs no second query.
_CURRENT_ORDERS_SQL = (
    "SELECT p.doc FROM follows f LEFT JOIN positions p"
    " ON p.follower_id = f.follower_id AND p.leader_id = f.leader_id"
    " WHERE f.follower_id = ? ORDER BY p.seq"
)
_HISTORY_SQL = (
    "SELECT doc FROM history WHERE follower_id = ? AND pos > ? AND pos <= ? ORDER BY pos DESC"
)


def _array(docs: list[str]) -> str:
    return "[" + ",".join(docs) + "]"


@dataclass(slots=True)  # not frozen: built per request, and a frozen one is slower to build
class Call:
    """One request as a business rule sees it, parsed and validated against the spec."""

    op: Operation
    """The operation's row of the generated table."""
    account: int | None
    """The signed key's account id; None on an unsigned operation."""
    params: Mapping[str, Any]
    """Every path and query parameter the operation declares (recvWindow aside), by wire
    name: its value, its default when left out, None when left out without a default."""
    body: dict[str, Any] | None
    """The JSON body (wire names), checked against its schema; None without one."""
    now_ms: int
    """The server's clock, epoch milliseconds."""


def missing_rules(service: type[Any] | object | None = None) -> list[Operation]:
    """The operations of the table for which `service` (default FollowerService) has no rule."""
    where = FollowerService if service is None else service
    return [op for op in OPERATIONS if not callable(getattr(where, op.python_name, None))]


class FollowerService(LeaderService):
    """One method per operation, named after its operationId (snake_case), taking a Call:
    the follower operations' here, the leader operations' from `LeaderService`."""

    def __init__(self, store: Store, alternatives: Set[str] = frozenset()) -> None:
        self.store = store
        self.alternatives = alternatives
        stop = store.docs.position
        assert stop.written is not None
        # Optional properties of a stop-profit-loss update (rule 4 keeps them when left out).
        self._stop_optional = tuple(
            n for n in stop.written.properties if n not in stop.written.required
        )
        config = store.docs.config
        assert config.written is not None
        # FollowConfig properties that no update writes keep their stored values.
        self._config_kept = frozenset(config.served.properties) - frozenset(
            config.written.properties
        )

    # -- reads (JSON text) ------------------------------------------------
    def get_server_time(self, call: Call) -> dict[str, int]:
        return {"serverTime": call.now_ms}

    def list_current_orders(self, call: Call) -> str:
        follower = call.account
        store = self.store
        with store.lock:
            rows = store.conn.execute(_CURRENT_ORDERS_SQL, (follower,)).fetchall()
        if not rows:
            raise api_error(ErrorCode.FOLLOWER_NOT_FOUND)
        return _array([doc for (doc,) in rows if doc is not None])

    def list_history_orders(self, call: Call) -> str:
        follower, page, size = call.account, call.params["page"], call.params["size"]
        with self.store.reading() as db:
            if (
                db.execute(
                    "SELECT 1 FROM follows WHERE follower_id = ? LIMIT 1", (follower,)
                ).fetchone()
                is None
            ):
                raise api_error(ErrorCode.FOLLOWER_NOT_FOUND)
            top = db.execute(
                "SELECT pos FROM history WHERE follower_id = ? ORDER BY pos DESC LIMIT 1",
                (follower,),
            ).fetchone()
            total = top[0] if top else 0
            # Newest first: page 1 holds pos total..total-size+1.
            high = total - (page - 1) * size
            rows = []
            if high > 0:
                rows = db.execute(_HISTORY_SQL, (follower, max(high - size, 0), high)).fetchall()
        pages = -(-total // size) if size else 0  # size 0: history-size-at-least-one
        head = json.dumps({"pages": str(pages), "total": str(total)})
        return head[:-1] + ',"list":' + _array([doc for (doc,) in rows]) + "}"

    def list_leaders(self, call: Call) -> str:
        with self.store.reading() as db:
            rows = db.execute(
                "SELECT figures FROM follows WHERE follower_id = ? ORDER BY seq", (call.account,)
            ).fetchall()
        if not rows:
            raise api_error(ErrorCode.FOLLOWER_NOT_FOUND)
        return _array([doc for (doc,) in rows])

    def get_follow_config(self, call: Call) -> str:
        with self.store.reading() as db:
            row = db.execute(
                "SELECT config FROM follows WHERE follower_id = ? AND leader_id = ?",
                (call.account, call.params["leaderUserId"]),
            ).fetchone()
        if row is None:
            raise api_error(ErrorCode.FOLLOWER_NOT_FOUND)
        return str(row[0])

    # -- writes -----------------------------------------------------------
    def update_stop_profit_loss(self, call: Call) -> None:
        follower, body = call.account, call.body or {}
        store = self.store
        with store.transaction() as db:
            leader = body["leaderUserId"]
            found = db.execute(
                "SELECT seq, doc, extra FROM positions WHERE follower_id = ? AND leader_id = ?"
                " AND symbol_id = ? AND is_long = ?",
                (follower, leader, body["symbolId"], body["isLong"]),
            ).fetchone()
            if found is None:  # rule 3: no relation or no such position
                if "stop-profit-loss-position-not-found" in self.alternatives and (
                    db.execute(
                        "SELECT 1 FROM follows WHERE follower_id = ? AND leader_id = ?",
                        (follower, leader),
                    ).fetchone()
                    is not None
                ):
                    raise invalid("symbolId")  # a followed leader without that position
                raise api_error(ErrorCode.FOLLOWER_NOT_FOUND)
            seq, doc, extra = found
            # Rule 4: a field left out keeps its stored value (assumption
            # stop-profit-loss-field-left-out-kept; its alternative: it is cleared).
            values = {**json.loads(doc), **json.loads(extra), **body}
            if "stop-profit-loss-field-left-out-kept" in self.alternatives:
                for name in self._stop_optional:
                    if name not in body:
                        values.pop(name, None)
                        if name in store.docs.position.served.properties:
                            values[name] = ""  # served: shown as not set, as rule 5
            for rate in ("stopProfitRate", "stopLossRate"):
                if rate in body and Decimal(body[rate]) == 0:
                    values[rate] = ""  # rule 5: 0 clears it, shown as ""
            doc, extra = store.docs.position.encode(values, store.leaders[leader])
            db.execute("UPDATE positions SET doc = ?, extra = ? WHERE seq = ?", (doc, extra, seq))

    def update_follow_config(self, call: Call) -> None:
        follower, body = call.account, call.body or {}
        store = self.store
        leader = body["leaderUserId"]
        with store.transaction() as db:
            row = db.execute(
                "SELECT f.config, json_extract(f.config, '$.leverage'),"
                " json_extract(l.config, '$.fixedAmountFollowMin'),"
                " json_extract(l.config, '$.fixedRateFollowMin'),"
                " json_extract(l.config, '$.followAssetLowerLimit')"
                " FROM follows f JOIN leaders l ON l.id = f.leader_id"
                " WHERE f.follower_id = ? AND f.leader_id = ?",
                (follower, leader),
            ).fetchone()
            if row is None:
                raise api_error(ErrorCode.FOLLOWER_NOT_FOUND)  # rule 13
            stored, stored_leverage, *minimums = row
            system = store.system
            max_leverage = system.max_follow_leverage
            # The leader's config's minimums: per order, fixed-rate investment,
            # investment (assumption leader-minimums-feed-follow-rules; its alternative:
            # the system's alone). One the leader has not set is the system's.
            if "leader-minimums-feed-follow-rules" in self.alternatives:
                minimums = [None, None, None]
            leader_min_single, leader_fixed_rate_min, leader_min_invest = (
                None if value is None or value == "" else Decimal(value) for value in minimums
            )
            fixed_rate_min = system.fixed_rate_min_invest_amount
            if leader_fixed_rate_min is not None:
                fixed_rate_min = leader_fixed_rate_min
            min_invest = system.min_follow_invest_amount
            if leader_min_invest is not None:
                min_invest = leader_min_invest
            # Rules 6 and 9 (assumption min-per-order-higher-of-leader-and-system; its
            # alternative: the leader's minimum when it has one).
            min_per_order = system.min_single_place_amount
            if leader_min_single is not None:
                if "min-per-order-higher-of-leader-and-system" in self.alternatives:
                    min_per_order = leader_min_single
                else:
                    min_per_order = max(leader_min_single, min_per_order)
            invest = Decimal(body["investAmount"])
            single = Decimal(body["singlePlaceAmount"])
            daily = Decimal(body["dailyMaxInvestAmount"])
            leverage = Decimal(body["leverage"])
            real = Decimal(body["realInvestAmount"])
            reserved = Decimal(body["isolatedReservedAmount"])
            if body["followAmountMode"] == 0:  # rule 6: fixed amount per order
                if single < min_per_order:
                    raise invalid("singlePlaceAmount")
                if real < reserved + single:
                    raise invalid("realInvestAmount")
                if invest < min_invest:  # rule 8
                    raise invalid("investAmount")
            else:  # rule 7: fixed rate
                if real < fixed_rate_min or real < reserved + fixed_rate_min:
                    raise invalid("realInvestAmount")
                if invest < fixed_rate_min:  # rule 8
                    raise invalid("investAmount")
            if daily != 0 and daily < min_per_order:  # rule 9
                raise invalid("dailyMaxInvestAmount")
            if leverage > max_leverage:  # rule 10
                raise invalid("leverage")
            if leverage != Decimal(stored_leverage):
                # Rule 10: frozen while any copy position is open, under whichever leader
                # (the page's words; assumption leverage-frozen-while-any-position-open,
                # its alternative: only positions under this leader).
                scoped = "leverage-frozen-while-any-position-open" in self.alternatives
                if holds_position(db, follower, leader if scoped else None):
                    raise invalid("leverage")
            # A full replacement by the body; what only the response declares is kept.
            kept = self._config_kept
            values = body
            if kept:
                values = {k: v for k, v in json.loads(stored).items() if k in kept} | body
            config, extra = store.docs.config.encode(values, store.leaders[leader])
            db.execute(
                "UPDATE follows SET config = ?, config_extra = ?"
                " WHERE follower_id = ? AND leader_id = ?",
                (config, extra, follower, leader),
            )

    def cancel_leader(self, call: Call) -> None:
        follower, leader = call.account, call.params["leaderUserId"]
        # Rules 2-3: the relation must exist; any open copy position refuses it, under
        # whichever leader (the page's reading; assumption
        # cancel-refused-while-any-position-open, its alternative: only positions under
        # this leader).
        scoped = "cancel-refused-while-any-position-open" in self.alternatives
        with self.store.transaction() as db:
            end_follow(db, follower, leader, scoped=scoped)
