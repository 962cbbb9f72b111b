"""The leader side's business rules: one method per leader operation (tag `leader`), on
the same store as the follower's (service.py's `FollowerService` combines both sides).

The signed account of a leader operation is the leader: `role_check` (app.py runs it
after the parameters and body are validated, before the rule; first with the
alternative of leader-role-after-validation) answers a key whose account is not an
active leader, so a rule starts from a leader that exists. Reads send the stored
documents as JSON text; a write is one store transaction that a refusal rolls back.

The sides are one exchange: a follow relation (`follows`) is the follower's leader and
the leader's follower (My Followers pages them; Remove Follower ends one, as the
follower's Cancel Leader does), and the leader's config holds the minimums the
follower's config rules read (service.py, assumption leader-minimums-feed-follow-rules).

Rules as numbered in the operations' descriptions in openapi.yaml; each assumption a
rule plays names its x-assumption marker, and `alternatives` switches it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Set
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from toobit_follower_models.errors import ErrorCode
from toobit_follower_models.operations import Operation

from .errors import api_error, invalid, missing
from .store import Store

if TYPE_CHECKING:
    from .service import Call

_NEWEST = "leader-lists-newest-first"
_LATEST = 100  # profit-sharing-latest-100: the records served
_ALL_TYPES = -1  # LeadPositionType ALL: leads every position type
_SWITCH_VALUES = (0, 1)
# Alternatives that make a setting a switch, 0 or 1 (-1130 otherwise).
_SWITCHES = (
    ("trade-protect-values", "tradeProtect"),
    ("is-need-invite-values", "isNeedInvite"),
    ("recommend-share-values", "recommendShare"),
)
_COOL_DOWN = ("unLeadStartTime", "unLeadEndTime")
# invite-code-rule: the "Chinese characters", the CJK ideographs.
_CJK = ((0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF), (0x20000, 0x2FA1F))


def holds_position(db: Any, follower: int, leader: int | None) -> bool:
    """Whether the follower holds an open copy position (under `leader`, if given)."""
    if leader is None:
        found = db.execute("SELECT 1 FROM positions WHERE follower_id = ? LIMIT 1", (follower,))
    else:
        found = db.execute(
            "SELECT 1 FROM positions WHERE follower_id = ? AND leader_id = ? LIMIT 1",
            (follower, leader),
        )
    return found.fetchone() is not None


def end_follow(db: Any, follower: int, leader: int, *, scoped: bool) -> None:
    """End a follow relation, as Cancel Leader (the follower) and Remove Follower (the
    leader) both do: the relation must exist (FOLLOWER_NOT_FOUND), and no open copy
    position may remain (FOLLOWER_HAS_POSITIONS), under whichever leader, or under this
    one only when ``scoped`` (each rule's marker names the alternative)."""
    if (
        db.execute(
            "SELECT 1 FROM follows WHERE follower_id = ? AND leader_id = ?", (follower, leader)
        ).fetchone()
        is None
    ):
        raise api_error(ErrorCode.FOLLOWER_NOT_FOUND)
    if holds_position(db, follower, leader if scoped else None):
        raise api_error(ErrorCode.FOLLOWER_HAS_POSITIONS)
    db.execute("DELETE FROM follows WHERE follower_id = ? AND leader_id = ?", (follower, leader))


def _array(docs: list[str]) -> str:
    return "[" + ",".join(docs) + "]"


def _page(total: int, size: int, docs: list[str]) -> str:
    head = json.dumps({"pages": str(-(-total // size)), "total": str(total)})
    return head[:-1] + ',"list":' + _array(docs) + "}"


def _decimal(value: Any) -> Decimal | None:
    """A stored decimal; None when it is not set ("" or null)."""
    return None if value is None or value == "" else Decimal(value)


class LeaderService:
    """The nine leader operations' rules (a mixin: `FollowerService` provides `store` and
    `alternatives`)."""

    store: Store
    alternatives: Set[str]

    # -- the role of the signed account -------------------------------------------------
    def role_check(self, op: Operation) -> Callable[[int], None] | None:
        """What a key must be to call `op`, as a check of its account (None: no check).

        Leader operations: an account that is not a leader gets -120041 where the
        operation lists it, else -120047 (Remove Follower); a leader that is not active
        gets -120041 where listed and may still remove a follower (assumption
        follower-key-on-leader-endpoint; its alternative: -120047 for an account that is
        not a leader wherever that is listed). Follower operations: a leader's key is
        answered like any account without a follow relation, by the rules (assumption
        leader-key-on-follower-endpoint; its alternative: -1005 here)."""
        store = self.store
        if op.tag == "leader":
            listed = op.error_codes
            inactive = (
                ErrorCode.LEADER_NOT_AVAILABLE if ErrorCode.LEADER_NOT_AVAILABLE in listed else None
            )
            stranger = inactive or ErrorCode.LEADER_NOT_FOUND
            if (
                "follower-key-on-leader-endpoint" in self.alternatives
                and ErrorCode.LEADER_NOT_FOUND in listed
            ):
                stranger = ErrorCode.LEADER_NOT_FOUND

            def leader(account: int) -> None:
                active = store.leader_active.get(account)
                if active is None:
                    raise api_error(stranger)
                if not active and inactive is not None:
                    raise api_error(inactive)

            return leader
        if op.signed and "leader-key-on-follower-endpoint" in self.alternatives:

            def follower(account: int) -> None:
                if account in store.leader_active:
                    raise api_error(ErrorCode.NO_PERMISSION)

            return follower
        return None

    def _direction(self) -> str:
        """Newest first (assumption leader-lists-newest-first; its alternative: no order,
        played as oldest first)."""
        return "ASC" if _NEWEST in self.alternatives else "DESC"

    # -- reads (JSON text) ---------------------------------------------------------------
    def list_current_lead_orders(self, call: Call) -> str:
        order = self._direction()
        with self.store.reading() as db:
            rows = db.execute(
                "SELECT doc FROM lead_orders WHERE leader_id = ?"  # noqa: S608 - ASC or DESC
                f" ORDER BY open_time {order}, seq {order}",
                (call.account,),
            ).fetchall()
        return _array([doc for (doc,) in rows])

    def list_history_lead_orders(self, call: Call) -> str:
        leader, page, size = call.account, call.params["page"], call.params["size"]
        with self.store.reading() as db:
            top = db.execute(
                "SELECT pos FROM lead_history WHERE leader_id = ? ORDER BY pos DESC LIMIT 1",
                (leader,),
            ).fetchone()
            total = top[0] if top else 0
            skipped = (page - 1) * size
            rows = []
            if skipped < total:  # rule 1: a page past the end is empty
                # Numbered oldest first (pos 1): newest first, page 1 ends at the top.
                if _NEWEST in self.alternatives:
                    low, high, order = skipped, min(skipped + size, total), "ASC"
                else:
                    low, high, order = max(total - skipped - size, 0), total - skipped, "DESC"
                rows = db.execute(
                    "SELECT doc FROM lead_history WHERE leader_id = ?"  # noqa: S608
                    f" AND pos > ? AND pos <= ? ORDER BY pos {order}",
                    (leader, low, high),
                ).fetchall()
        return _page(total, size, [doc for (doc,) in rows])

    def get_trade_data(self, call: Call) -> str:
        # Rule 1 (the period) is the parameter's schema; one item per period
        # (assumption trade-data-one-item, checked by the seed).
        with self.store.reading() as db:
            rows = db.execute(
                "SELECT doc FROM trade_data WHERE leader_id = ? AND period = ? ORDER BY seq",
                (call.account, call.params["type"]),
            ).fetchall()
        return _array([doc for (doc,) in rows])

    def list_profit_sharing_history(self, call: Call) -> str:
        # The latest 100 records, newest first (assumption profit-sharing-latest-100).
        with self.store.reading() as db:
            rows = db.execute(
                "SELECT doc FROM profit_sharing WHERE leader_id = ?"
                " ORDER BY sharing_date DESC, seq DESC LIMIT ?",
                (call.account, _LATEST),
            ).fetchall()
        docs = [doc for (doc,) in rows]
        if _NEWEST in self.alternatives:
            docs.reverse()
        return _array(docs)

    def list_leader_symbols(self, call: Call) -> str:
        # isLead: whether the pair is in the config's symbolIds (assumption
        # leader-symbols-are-the-available-pairs; kept so by update_leader_config).
        with self.store.reading() as db:
            rows = db.execute(
                "SELECT doc FROM leader_symbols WHERE leader_id = ? ORDER BY seq", (call.account,)
            ).fetchall()
        return _array([doc for (doc,) in rows])

    def get_leader_config(self, call: Call) -> str:
        with self.store.reading() as db:
            (doc,) = db.execute(
                "SELECT config FROM leaders WHERE id = ?", (call.account,)
            ).fetchone()
        zero_is_null = "cool-down-reset-reads-zero" in self.alternatives
        code_is_empty = "invite-code-when-none" in self.alternatives
        if not (zero_is_null or code_is_empty):
            return str(doc)
        values = json.loads(doc)
        if zero_is_null and values["unLeadType"] == 0:  # its alternative: they read null
            values.update(dict.fromkeys(_COOL_DOWN))
        if code_is_empty and values.get("inviteCode") is None:  # its alternative: ""
            values["inviteCode"] = ""
        return self.store.docs.leader_config.encode(values, {})[0]

    def list_followers(self, call: Call) -> str:
        leader, page, size = call.account, call.params["page"], call.params["size"]
        order = self._direction()
        with self.store.reading() as db:
            (total,) = db.execute(
                "SELECT COUNT(*) FROM follows WHERE leader_id = ?", (leader,)
            ).fetchone()
            skipped = (page - 1) * size
            rows = []
            if skipped < total:  # rule 1: a page past the end is empty
                sql = (
                    "SELECT follower_id, follower, json_extract(config, '$.investAmount'),"  # noqa: S608
                    " since_ms FROM follows WHERE leader_id = ?"
                    f" ORDER BY since_ms {order}, seq {order} LIMIT ? OFFSET ?"
                )
                rows = db.execute(sql, (leader, size, skipped)).fetchall()
        follower_row = self.store.docs.follower
        listed = "follower-user-id-not-listed" in self.alternatives
        docs = []
        for follower, stored, invest, since in rows:
            # Assumption follower-row-figures: the config's investment, the time since.
            running = max(call.now_ms - since, 0)
            figures = {"followAmountLimit": invest, "followRunningMills": running}
            served, _ = follower_row.split({**json.loads(stored), **figures}, {})
            if listed:  # its alternative: the row carries the follower's user ID
                served["followerUserId"] = str(follower)
            docs.append(json.dumps(served, separators=(",", ":")))
        return _page(total, size, docs)

    # -- writes --------------------------------------------------------------------------
    def remove_follower(self, call: Call) -> None:
        leader, follower = call.account, call.params["followerUserId"]
        # Rules 2-4: the relation must exist; any open copy position refuses it, under
        # whichever leader (assumption remove-refused-while-any-position-open; its
        # alternative: only positions under this leader); then it is gone on both sides
        # (remove-follower-ends-relation).
        scoped = "remove-refused-while-any-position-open" in self.alternatives
        with self.store.transaction() as db:
            end_follow(db, follower, leader, scoped=scoped)

    def update_leader_config(self, call: Call) -> None:
        leader, body, alternatives = call.account, call.body or {}, self.alternatives
        assert leader is not None  # a signed operation
        store = self.store
        for marker, name in _SWITCHES:  # their alternatives: a switch, 0 or 1
            if marker in alternatives and body.get(name, 0) not in _SWITCH_VALUES:
                raise invalid(name)
        with store.transaction() as db:
            level_id, custom, stored_text = db.execute(
                "SELECT level, custom_ratio, config FROM leaders WHERE id = ?", (leader,)
            ).fetchone()
            stored = json.loads(stored_text)
            values = dict(body)
            values.update(self._cool_down(body))  # rule 3
            # Rule 5: the level's limits (-120067 without a level config); a private
            # leader's where they differ.
            level = store.levels.get(level_id)
            if level is None:
                raise api_error(ErrorCode.LEVEL_CONFIG_NOT_FOUND)
            private = body["isNeedInvite"] == 1
            limits = level.limits | (level.private_limits if private else {})
            for name, (low, high) in limits.items():
                if name in body and not low <= Decimal(body[name]) <= high:
                    raise api_error(ErrorCode.LEADER_CONFIG_INVALID)
            # Rule 6: private with a custom ratio stays private (assumption
            # custom-profit-sharing-ratio: the account's state; its alternative: the
            # stored rate differs from the level's).
            if stored["isNeedInvite"] == 1 and not private:
                if "custom-profit-sharing-ratio" in alternatives:
                    rate = _decimal(stored["profitRate"])
                    custom = rate is not None and rate != level.default_profit_rate
                if custom:
                    raise api_error(ErrorCode.INVITE_SWITCH_NOT_ALLOWED)
            values["symbolIds"] = led = self._symbols(db, leader, body["symbolIds"])  # rule 7
            self._position_type(db, leader, body["leadPositionType"], stored)  # rule 8
            values.update(self._referral(body, stored))  # rule 9
            code = self._invite_code(db, leader, body, stored)  # rule 10
            values.pop("inviteCode", None)
            if code is not None:
                values["inviteCode"] = code
            config, _ = store.docs.leader_config.encode(values, {})
            db.execute("UPDATE leaders SET config = ? WHERE id = ?", (config, leader))
            pairs = db.execute(
                "SELECT seq, symbol_id, doc FROM leader_symbols WHERE leader_id = ?", (leader,)
            ).fetchall()
            for seq, symbol, doc in pairs:  # leader-symbols-are-the-available-pairs
                pair = {**json.loads(doc), "isLead": int(symbol in led)}
                doc = store.docs.leader_symbol.encode(pair, {})[0]
                db.execute("UPDATE leader_symbols SET doc = ? WHERE seq = ?", (doc, seq))

    # -- the config rules ------------------------------------------------------------------
    def _cool_down(self, body: dict[str, Any]) -> dict[str, int]:
        """Rule 3: a custom cool-down needs an end, not 0, not before the start (a missing
        start counts as 0; assumption cool-down-window-rule, its alternative: both are
        mandatory, -1102); none resets both times to 0."""
        if body["unLeadType"] == 0:
            return dict.fromkeys(_COOL_DOWN, 0)
        if "cool-down-window-rule" in self.alternatives:
            for name in _COOL_DOWN:
                if name not in body:
                    raise missing(name)
        start, end = (body.get(name) for name in _COOL_DOWN)
        if end is None or end == 0 or end < (start or 0):
            raise api_error(ErrorCode.COOL_DOWN_INVALID)
        return {_COOL_DOWN[0]: start or 0, _COOL_DOWN[1]: end}

    def _symbols(self, db: Any, leader: int, sent: list[str]) -> list[str]:
        """Rule 7: the pairs led after the update. A repeated ID counts once; an empty list
        disables every pair; a pair that is not the leader's is -1130 (assumption
        leader-symbol-ids-list; its alternative: an empty list is -1102, an unknown pair
        is ignored); an available pair left out is disabled, unless it has current lead
        orders (-32090)."""
        alternative = "leader-symbol-ids-list" in self.alternatives
        if alternative and not sent:
            raise missing("symbolIds")
        available = [
            symbol
            for (symbol,) in db.execute(
                "SELECT symbol_id FROM leader_symbols WHERE leader_id = ? ORDER BY seq", (leader,)
            )
        ]
        wanted = list(dict.fromkeys(sent))
        if any(symbol not in available for symbol in wanted):
            if not alternative:
                raise invalid("symbolIds")
            wanted = [symbol for symbol in wanted if symbol in available]
        disabled = [symbol for symbol in available if symbol not in wanted]
        if (
            disabled
            and db.execute(
                "SELECT 1 FROM lead_orders WHERE leader_id = ? AND symbol_id IN"  # noqa: S608
                f" ({','.join('?' * len(disabled))}) LIMIT 1",
                (leader, *disabled),
            ).fetchone()
        ):
            raise api_error(ErrorCode.SYMBOL_CHANGE_NOT_ALLOWED)
        return wanted

    def _position_type(self, db: Any, leader: int, new: int, stored: dict[str, Any]) -> None:
        """Rule 8: the position type led cannot change while the leader has current lead
        orders (assumption lead-position-type-frozen-while-positions-open; its
        alternative: only orders of a type the new one excludes refuse it)."""
        if new == stored["leadPositionType"]:
            return
        if "lead-position-type-frozen-while-positions-open" in self.alternatives:
            if new == _ALL_TYPES:
                return
            found = db.execute(
                "SELECT 1 FROM lead_orders WHERE leader_id = ? AND position_type != ? LIMIT 1",
                (leader, new),
            )
        else:
            found = db.execute("SELECT 1 FROM lead_orders WHERE leader_id = ? LIMIT 1", (leader,))
        if found.fetchone() is not None:
            raise api_error(ErrorCode.POSITION_TYPE_CHANGE_NOT_ALLOWED)

    def _referral(self, body: dict[str, Any], stored: dict[str, Any]) -> dict[str, Any]:
        """Rule 9: the switch left out stays; switched on, the rate is in (0, 1], a missing
        one counting as 0 (assumption recommend-share-rate-rule; its alternative: only
        when the request sends 1, and off, the rate sent is ignored); -120072
        (assumption leader-config-limit-code; its alternative: -1130)."""
        alternative = "recommend-share-rate-rule" in self.alternatives
        switch = body.get("recommendShare", stored["recommendShare"])
        rate = body.get("recommendShareRate")
        if (body.get("recommendShare") if alternative else switch) == 1:
            value = Decimal(rate) if rate is not None else Decimal(0)
            if not 0 < value <= 1:
                if "leader-config-limit-code" in self.alternatives:
                    raise invalid("recommendShareRate")
                raise api_error(ErrorCode.LEADER_CONFIG_INVALID)
        if alternative and switch != 1:
            rate = stored["recommendShareRate"]
        return {"recommendShare": switch, "recommendShareRate": "" if rate is None else rate}

    def _invite_code(
        self, db: Any, leader: int, body: dict[str, Any], stored: dict[str, Any]
    ) -> str | None:
        """Rule 10: the code to store. Only a private leader's is processed: 6 to 10
        characters, no CJK ideograph (-120512), no sensitive word (-120511), not another
        leader's (-120510); left out, the stored one stays; a public leader's is neither
        checked nor stored (assumption invite-code-rule; its alternative: letters and
        digits only, and left out when private is -1102)."""
        alternative = "invite-code-rule" in self.alternatives
        code = body.get("inviteCode")
        kept = stored.get("inviteCode")
        if body["isNeedInvite"] != 1:
            return kept if isinstance(kept, str) else None
        if code is None:
            if alternative:
                raise missing("inviteCode")
            return kept if isinstance(kept, str) else None
        if alternative:
            shaped = code.isascii() and code.isalnum()
        else:
            shaped = not any(low <= ord(c) <= high for c in code for low, high in _CJK)
        if not (6 <= len(code) <= 10 and shaped):
            raise api_error(ErrorCode.INVITE_CODE_INVALID)
        folded = code.lower()
        if any(word in folded for word in self.store.sensitive_words):
            raise api_error(ErrorCode.INVITE_CODE_SENSITIVE)
        if db.execute(
            "SELECT 1 FROM leaders WHERE id != ? AND json_extract(config, '$.inviteCode') = ?",
            (leader, code),
        ).fetchone():
            raise api_error(ErrorCode.INVITE_CODE_EXISTS)
        return str(code)
