"""The follower endpoints' business logic on top of the store (no HTTP here).

Each write runs inside one store transaction; a rule that fails raises an ApiError
inside it, so the transaction rolls back and nothing changes.

Order of the update-follow-config checks after validation (rules as numbered in the
updateFollowConfig description of openapi.yaml): 13 (follow relation, -32045), then
6 or 7 (mode minimums), 8 (investAmount), 9 (dailyMaxInvestAmount), 10 (leverage).
Rules 1-5, 11 and 12 are format checks done before (app.py / validation.py).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from . import errors
from .store import Store

CURRENT_ORDER_KEYS = (
    "leaderUserId",
    "leaderNickname",
    "leaderAvatar",
    "symbolId",
    "isLong",
    "positionType",
    "leverage",
    "openAvgPrice",
    "markPrice",
    "currentPrice",
    "quantity",
    "margin",
    "liquidationPrice",
    "unrealizedProfit",
    "unrealizedProfitRate",
    "stopProfitRate",
    "stopLossRate",
)
# One statement: a row per follow relation without positions (p.seq NULL), else one per
# position, so the relation check costs no second query.
_CURRENT_ORDERS_SQL = (
    "SELECT p.leader_id, l.nickname, l.avatar, p.symbol_id, p.is_long, p.position_type,"
    " p.leverage, p.open_avg_price, p.mark_price, p.current_price, p.quantity, p.margin,"
    " p.liquidation_price, p.unrealized_profit, p.unrealized_profit_rate,"
    " p.stop_profit_rate, p.stop_loss_rate, p.seq"
    " FROM follows f JOIN leaders l ON l.id = f.leader_id"
    " LEFT JOIN positions p ON p.follower_id = f.follower_id AND p.leader_id = f.leader_id"
    " WHERE f.follower_id = ? ORDER BY p.seq"
)

HISTORY_KEYS = (
    "symbolId",
    "positionType",
    "leverage",
    "isLong",
    "leaderNickname",
    "leaderAvatar",
    "openTimeMs",
    "lastCloseTimeMs",
    "openAvgPrice",
    "closeAvgPrice",
    "maxPositionQuantity",
    "closedQuantity",
    "realizedProfit",
    "closeStatus",
)
_HISTORY_SQL = (
    "SELECT h.symbol_id, h.position_type, h.leverage, h.is_long, l.nickname, l.avatar,"
    " CAST(h.open_time_ms AS TEXT), CAST(h.last_close_time_ms AS TEXT), h.open_avg_price,"
    " h.close_avg_price, h.max_position_quantity, h.closed_quantity, h.realized_profit,"
    " h.close_status"
    " FROM history h JOIN leaders l ON l.id = h.leader_id"
    " WHERE h.follower_id = ? AND h.pos > ? AND h.pos <= ? ORDER BY h.pos DESC"
)

LEADER_KEYS = (
    "leaderUserId",
    "leaderNickname",
    "leaderAvatar",
    "marginBalance",
    "availableMargin",
    "unrealisedPnl",
    "realisedProfit",
    "holdingProfitSharing",
    "settledProfitSharing",
    "netProfit",
)
_LEADERS_SQL = (
    "SELECT f.leader_id, l.nickname, l.avatar, f.margin_balance, f.available_margin,"
    " f.unrealised_pnl, f.realised_profit, f.holding_profit_sharing,"
    " f.settled_profit_sharing, f.net_profit"
    " FROM follows f JOIN leaders l ON l.id = f.leader_id"
    " WHERE f.follower_id = ? ORDER BY f.seq"
)

CONFIG_KEYS = (
    "leaderUserId",
    "investAmount",
    "singlePlaceAmount",
    "dailyMaxInvestAmount",
    "leverage",
    "maxInvestRate",
    "stopProfitRate",
    "stopLossRate",
    "followAmountMode",
    "stopLossDelay",
    "isolatedReservedAmount",
    "followMarginType",
    "followSymbolIds",
    "zeroSlippageSwitch",
)
_CONFIG_SQL = (
    "SELECT leader_id, invest_amount, single_place_amount, daily_max_invest_amount, leverage,"
    " max_invest_rate, stop_profit_rate, stop_loss_rate, follow_amount_mode, stop_loss_delay,"
    " isolated_reserved_amount, follow_margin_type, follow_symbol_ids, zero_slippage_switch"
    " FROM follows WHERE follower_id = ? AND leader_id = ?"
)
# Body fields of updateFollowConfig -> column, in the order of the UPDATE.
_CONFIG_UPDATE = (
    ("investAmount", "invest_amount"),
    ("singlePlaceAmount", "single_place_amount"),
    ("dailyMaxInvestAmount", "daily_max_invest_amount"),
    ("leverage", "leverage"),
    ("maxInvestRate", "max_invest_rate"),
    ("stopProfitRate", "stop_profit_rate"),
    ("stopLossRate", "stop_loss_rate"),
    ("realInvestAmount", "real_invest_amount"),
    ("followAmountMode", "follow_amount_mode"),
    ("stopLossDelay", "stop_loss_delay"),
    ("isolatedReservedAmount", "isolated_reserved_amount"),
    ("followMarginType", "follow_margin_type"),
    ("followSymbolIds", "follow_symbol_ids"),
    ("zeroSlippageSwitch", "zero_slippage_switch"),
)
_CONFIG_SETS = ", ".join(f"{column} = ?" for _, column in _CONFIG_UPDATE)
_CONFIG_UPDATE_SQL = f"UPDATE follows SET {_CONFIG_SETS} WHERE follower_id = ? AND leader_id = ?"  # noqa: S608


def _zero_to_unset(rate: str) -> str:
    # A position shows "" for a stop rate that is not set; 0 means "not configured".
    return "" if Decimal(rate) == 0 else rate


class FollowerService:
    """One method per follower endpoint; `follower` is the signed key's account id."""

    def __init__(self, store: Store) -> None:
        self.store = store

    # -- reads ------------------------------------------------------------
    def current_orders(self, follower: int) -> list[dict[str, Any]]:
        store = self.store
        with store.lock:
            rows = store.conn.execute(_CURRENT_ORDERS_SQL, (follower,)).fetchall()
        if not rows:
            raise errors.follower_not_found()
        orders = []
        for row in rows:
            if row[-1] is None:
                continue  # a relation without positions
            item = dict(zip(CURRENT_ORDER_KEYS, row, strict=False))  # drops the last column, seq
            item["leaderUserId"] = str(row[0])
            orders.append(item)
        return orders

    def history(self, follower: int, page: int, size: int) -> dict[str, Any]:
        with self.store.reading() as db:
            if (
                db.execute(
                    "SELECT 1 FROM follows WHERE follower_id = ? LIMIT 1", (follower,)
                ).fetchone()
                is None
            ):
                raise errors.follower_not_found()
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
        return {
            "pages": str(-(-total // size)),
            "total": str(total),
            "list": [dict(zip(HISTORY_KEYS, row, strict=True)) for row in rows],
        }

    def leaders(self, follower: int) -> list[dict[str, Any]]:
        with self.store.reading() as db:
            rows = db.execute(_LEADERS_SQL, (follower,)).fetchall()
        if not rows:
            raise errors.follower_not_found()
        leaders = []
        for row in rows:
            item = dict(zip(LEADER_KEYS, row, strict=True))
            item["leaderUserId"] = str(row[0])
            leaders.append(item)
        return leaders

    def get_config(self, follower: int, leader: int) -> dict[str, Any]:
        with self.store.reading() as db:
            row = db.execute(_CONFIG_SQL, (follower, leader)).fetchone()
        if row is None:
            raise errors.follower_not_found()
        config = dict(zip(CONFIG_KEYS, row, strict=True))
        config["leaderUserId"] = str(row[0])
        config["zeroSlippageSwitch"] = bool(row[-1])
        return config

    # -- writes -----------------------------------------------------------
    def update_stop_profit_loss(self, follower: int, body: dict[str, Any]) -> None:
        with self.store.transaction() as db:
            found = db.execute(
                "SELECT seq FROM positions WHERE follower_id = ? AND leader_id = ?"
                " AND symbol_id = ? AND is_long = ?",
                (follower, body["leaderUserId"], body["symbolId"], body["isLong"]),
            ).fetchone()
            if found is None:
                raise errors.follower_not_found()  # rule 3: no relation or no such position
            sets: list[str] = []
            values: list[Any] = []
            # Rule 4: a field left out keeps its stored value.
            if "stopProfitRate" in body:
                sets.append("stop_profit_rate = ?")
                values.append(_zero_to_unset(body["stopProfitRate"]))
            if "stopLossRate" in body:
                sets.append("stop_loss_rate = ?")
                values.append(_zero_to_unset(body["stopLossRate"]))
            if "stopLossDelay" in body:
                sets.append("stop_loss_delay = ?")
                values.append(body["stopLossDelay"])
            if sets:
                db.execute(
                    f"UPDATE positions SET {', '.join(sets)} WHERE seq = ?",  # noqa: S608
                    (*values, found[0]),
                )

    def update_config(self, follower: int, body: dict[str, Any]) -> None:
        leader = body["leaderUserId"]
        with self.store.transaction() as db:
            row = db.execute(
                "SELECT f.leverage, l.min_single_place_amount, l.min_follow_invest_amount"
                " FROM follows f JOIN leaders l ON l.id = f.leader_id"
                " WHERE f.follower_id = ? AND f.leader_id = ?",
                (follower, leader),
            ).fetchone()
            if row is None:
                raise errors.follower_not_found()  # rule 13
            stored_leverage, leader_min_single, leader_min_invest = row
            system_min_single, fixed_rate_min, max_leverage = self.store.system
            min_per_order = max(Decimal(leader_min_single), system_min_single)
            invest = Decimal(body["investAmount"])
            single = Decimal(body["singlePlaceAmount"])
            daily = Decimal(body["dailyMaxInvestAmount"])
            leverage = Decimal(body["leverage"])
            real = Decimal(body["realInvestAmount"])
            reserved = Decimal(body["isolatedReservedAmount"])
            if body["followAmountMode"] == 0:  # rule 6: fixed amount per order
                if single < min_per_order:
                    raise errors.invalid("singlePlaceAmount")
                if real < reserved + single:
                    raise errors.invalid("realInvestAmount")
                if invest < Decimal(leader_min_invest):  # rule 8
                    raise errors.invalid("investAmount")
            else:  # rule 7: fixed rate
                if real < fixed_rate_min or real < reserved + fixed_rate_min:
                    raise errors.invalid("realInvestAmount")
                if invest < fixed_rate_min:  # rule 8
                    raise errors.invalid("investAmount")
            if daily != 0 and daily < min_per_order:  # rule 9
                raise errors.invalid("dailyMaxInvestAmount")
            if leverage > max_leverage:  # rule 10
                raise errors.invalid("leverage")
            if leverage != Decimal(stored_leverage):
                open_positions = db.execute(
                    "SELECT 1 FROM positions WHERE follower_id = ? AND leader_id = ? LIMIT 1",
                    (follower, leader),
                ).fetchone()
                if open_positions is not None:
                    raise errors.invalid("leverage")  # rule 10: frozen while positions are open
            values = [body[name] for name, _ in _CONFIG_UPDATE]
            values[-1] = 1 if body["zeroSlippageSwitch"] else 0
            db.execute(_CONFIG_UPDATE_SQL, (*values, follower, leader))

    def cancel_leader(self, follower: int, leader: int) -> None:
        with self.store.transaction() as db:
            if (
                db.execute(
                    "SELECT 1 FROM follows WHERE follower_id = ? AND leader_id = ?",
                    (follower, leader),
                ).fetchone()
                is None
            ):
                raise errors.follower_not_found()
            if (
                db.execute(
                    "SELECT 1 FROM positions WHERE follower_id = ? AND leader_id = ? LIMIT 1",
                    (follower, leader),
                ).fetchone()
                is not None
            ):
                raise errors.has_positions()
            db.execute(
                "DELETE FROM follows WHERE follower_id = ? AND leader_id = ?", (follower, leader)
            )
