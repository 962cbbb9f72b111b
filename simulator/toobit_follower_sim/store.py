"""SQLite state of the simulator.

One connection, guarded by a lock: every write is one `BEGIN IMMEDIATE ... COMMIT`
transaction and reads run between transactions, so a request never sees (or leaves) a
half-applied update. In memory by default; with a file, WAL and `synchronous=FULL`,
so an acknowledged write survives `kill -9`. Follow configs, figures, positions,
history rows and the leaders' configs, pairs, lead orders, trade data, profit-sharing
records and follower rows are JSON documents of the spec's schemas (documents.py):
decimals in them are the exact strings received or seeded, never floats.

Both sides live in one store: a follow relation (`follows`) is the follower's leader and
the leader's follower, and the leader's config holds the minimums the follower's config
rules read.

History pages: rows are numbered per follower (`pos`, 1 = oldest by close time, id)
and indexed on (follower_id, pos), so any page - first or millionth - is an index
range scan and the total is the largest `pos`, both O(log n). History is written only
by the seed and `add_history`, which keep the numbering. A leader's history is numbered
the same way per leader (`lead_history`).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, NamedTuple

from .documents import Documents, documents, leader_identity
from .signing import DEMO_SECRET, new_mac
from .spec import SpecData, load_spec

SCHEMA_VERSION = "3"  # 3: the leader side; 2: documents as JSON text (1: a column per field)

# Documents are JSON text: `doc` the served object exactly as sent, `extra` the properties
# only the writing request declares. The other columns are keys, lookups and ordering.
SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS system_config (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    min_single_place_amount TEXT NOT NULL,
    fixed_rate_min_invest_amount TEXT NOT NULL,
    min_follow_invest_amount TEXT NOT NULL,
    max_follow_leverage TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS accounts (id INTEGER PRIMARY KEY, type TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS api_keys (
    api_key TEXT PRIMARY KEY,
    secret TEXT NOT NULL,
    account_id INTEGER NOT NULL REFERENCES accounts(id),
    permission TEXT NOT NULL,
    status TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS levels (id INTEGER PRIMARY KEY, doc TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sensitive_words (word TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS leaders (
    id INTEGER PRIMARY KEY REFERENCES accounts(id),
    nickname TEXT NOT NULL,
    avatar TEXT NOT NULL,
    level INTEGER NOT NULL,
    active INTEGER NOT NULL,
    custom_ratio INTEGER NOT NULL,
    config TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS leader_symbols (
    seq INTEGER PRIMARY KEY,
    leader_id INTEGER NOT NULL REFERENCES leaders(id),
    symbol_id TEXT NOT NULL,
    doc TEXT NOT NULL,
    UNIQUE (leader_id, symbol_id)
);
CREATE TABLE IF NOT EXISTS lead_orders (
    seq INTEGER PRIMARY KEY,
    leader_id INTEGER NOT NULL REFERENCES leaders(id),
    symbol_id TEXT NOT NULL,
    position_type INTEGER NOT NULL,
    open_time INTEGER NOT NULL,
    doc TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS lead_orders_newest ON lead_orders (leader_id, open_time, seq);
CREATE TABLE IF NOT EXISTS lead_history (
    id INTEGER PRIMARY KEY,
    leader_id INTEGER NOT NULL REFERENCES leaders(id),
    pos INTEGER NOT NULL,
    doc TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS lead_history_page ON lead_history (leader_id, pos);
CREATE TABLE IF NOT EXISTS trade_data (
    seq INTEGER PRIMARY KEY,
    leader_id INTEGER NOT NULL REFERENCES leaders(id),
    period INTEGER NOT NULL,
    doc TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS trade_data_period ON trade_data (leader_id, period);
CREATE TABLE IF NOT EXISTS profit_sharing (
    seq INTEGER PRIMARY KEY,
    leader_id INTEGER NOT NULL REFERENCES leaders(id),
    sharing_date TEXT NOT NULL,
    doc TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS profit_sharing_newest ON profit_sharing (leader_id, sharing_date, seq);
CREATE TABLE IF NOT EXISTS follows (
    seq INTEGER PRIMARY KEY,
    follower_id INTEGER NOT NULL REFERENCES accounts(id),
    leader_id INTEGER NOT NULL REFERENCES leaders(id),
    config TEXT NOT NULL,
    config_extra TEXT NOT NULL,
    figures TEXT NOT NULL,
    since_ms INTEGER NOT NULL,
    follower TEXT NOT NULL,
    UNIQUE (follower_id, leader_id)
);
CREATE INDEX IF NOT EXISTS follows_of_leader ON follows (leader_id, since_ms, seq);
CREATE TABLE IF NOT EXISTS positions (
    seq INTEGER PRIMARY KEY,
    follower_id INTEGER NOT NULL,
    leader_id INTEGER NOT NULL,
    symbol_id TEXT NOT NULL,
    is_long INTEGER NOT NULL,
    doc TEXT NOT NULL,
    extra TEXT NOT NULL,
    UNIQUE (follower_id, leader_id, symbol_id, is_long),
    FOREIGN KEY (follower_id, leader_id) REFERENCES follows (follower_id, leader_id)
);
CREATE TABLE IF NOT EXISTS history (
    id INTEGER PRIMARY KEY,
    follower_id INTEGER NOT NULL,
    leader_id INTEGER NOT NULL REFERENCES leaders(id),
    pos INTEGER NOT NULL,
    last_close_time_ms INTEGER NOT NULL,
    doc TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS history_page ON history (follower_id, pos);
CREATE INDEX IF NOT EXISTS history_close ON history (follower_id, last_close_time_ms, id);
"""
# What the history pages are ordered by (newest first): HistoryOrder's close time.
CLOSE_TIME = "lastCloseTimeMs"
# The leader's lists, newest first (assumption leader-lists-newest-first): current lead
# orders by open time, history by close time, profit sharing by date.
LEAD_OPEN_TIME = "openTime"
LEAD_CLOSE_TIME = "closeTime"
SHARING_DATE = "sharingDate"
SYSTEM_FIELDS = (
    "minSinglePlaceAmount",
    "fixedRateMinInvestAmount",
    "minFollowInvestAmount",
    "maxFollowLeverage",
)


class System(NamedTuple):
    """The system-wide figures of the follower's config rules."""

    min_single_place_amount: Decimal
    fixed_rate_min_invest_amount: Decimal
    min_follow_invest_amount: Decimal
    max_follow_leverage: Decimal


@dataclass(frozen=True, slots=True)
class Level:
    """A leader level: the limits of updateLeaderConfig rule 5 and its default ratio."""

    default_profit_rate: Decimal
    limits: dict[str, tuple[Decimal, Decimal]]
    private_limits: dict[str, tuple[Decimal, Decimal]]


@dataclass(frozen=True, slots=True)
class KeyRecord:
    """What the signing check needs about one API key. The secret lives only in `mac`."""

    account_id: int
    account_type: str
    read_only: bool
    status: str
    mac: Any  # hmac.HMAC keyed with the secret; .copy() per request

    def __repr__(self) -> str:  # never show key material
        return f"KeyRecord(account_id={self.account_id}, status={self.status!r})"


class Store:
    """The simulator's database. Thread-safe; every method takes the lock."""

    def __init__(self, path: str | None = None, spec: SpecData | None = None) -> None:
        self.path = path
        self.docs: Documents = documents(spec or load_spec())
        self._lock = threading.RLock()
        self._conn = sqlite3.connect(
            path or ":memory:",
            check_same_thread=False,
            isolation_level=None,  # we issue BEGIN / COMMIT ourselves
            cached_statements=256,
        )
        self._conn.execute("PRAGMA foreign_keys = ON")
        if path:
            self._conn.execute("PRAGMA journal_mode = WAL")
            self._conn.execute("PRAGMA synchronous = FULL")
        found = self._conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'"
        ).fetchone()
        version = found and self._conn.execute("SELECT v FROM meta WHERE k = 'schema'").fetchone()
        if version and version[0] != SCHEMA_VERSION:
            raise RuntimeError(
                f"{path} holds schema {version[0]} of an older simulator (now {SCHEMA_VERSION}):"
                " remove the file to start from the seed"
            )
        self._conn.executescript(SCHEMA)
        self.keys: dict[str, KeyRecord] = {}
        # The served identity of each leader (leaders change only with the seed).
        self.leaders: dict[int, dict[str, Any]] = {}
        # Whether each leader is active (the role checks; only the seed changes it).
        self.leader_active: dict[int, bool] = {}
        self.levels: dict[int, Level] = {}
        self.sensitive_words: tuple[str, ...] = ()  # lower case
        self.system = System(Decimal(0), Decimal(0), Decimal(0), Decimal(0))
        self._load_keys()
        # For hot single-statement reads: `with store.lock: store.conn.execute(...)`.
        self.lock = self._lock
        self.conn = self._conn

    # -- plumbing ---------------------------------------------------------
    def close(self) -> None:
        with self._lock:
            self._conn.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction: committed on success, rolled back on any exception."""
        with self._lock:
            conn = self._conn
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    @contextmanager
    def reading(self) -> Iterator[sqlite3.Connection]:
        """Reads between transactions (they only ever see committed state)."""
        with self._lock:
            yield self._conn

    def is_seeded(self) -> bool:
        with self.reading() as db:
            row = db.execute("SELECT v FROM meta WHERE k = 'seeded'").fetchone()
        return row is not None

    # -- seeding ----------------------------------------------------------
    def load_seed(self, seed: Mapping[str, Any]) -> None:
        """Replace the whole state by `seed` (normalised by seed.load_seed) in one transaction."""
        with self.transaction() as db:
            for table in (
                "history", "positions", "follows", "lead_history", "lead_orders", "trade_data",
                "profit_sharing", "leader_symbols", "api_keys", "leaders", "accounts", "levels",
                "sensitive_words",
            ):  # fmt: skip
                db.execute(f"DELETE FROM {table}")  # noqa: S608 - fixed table names
            db.execute("DELETE FROM system_config")
            db.execute("DELETE FROM meta")
            system = seed["system"]
            db.execute(
                "INSERT INTO system_config VALUES (1, ?, ?, ?, ?)",
                tuple(system[name] for name in SYSTEM_FIELDS),
            )
            # A leader is a COPY_TRADING account of its own: its keys name its id.
            db.executemany(
                "INSERT INTO accounts (id, type) VALUES (?, ?)",
                [(a["id"], a["type"]) for a in seed["accounts"]]
                + [(ld["id"], "COPY_TRADING") for ld in seed["leaders"]],
            )
            db.executemany(
                "INSERT INTO api_keys VALUES (?, ?, ?, ?, ?)",
                [
                    (k["key"], k["secret"], k["accountId"], k["permission"], k["status"])
                    for k in seed["apiKeys"]
                ],
            )
            db.executemany(
                "INSERT INTO sensitive_words VALUES (?)", [(w,) for w in seed["sensitiveWords"]]
            )
            db.executemany(
                "INSERT INTO levels VALUES (?, ?)",
                [(level["id"], _ENCODE(level)) for level in seed["levels"]],
            )
            self._insert_leaders(db, seed["leaders"])
            identities = {
                ld["id"]: leader_identity(ld["id"], ld["nickname"], ld["avatar"])
                for ld in seed["leaders"]
            }
            docs = self.docs
            follows = []
            for f in seed["follows"]:
                leader = identities[f["leaderUserId"]]
                config, config_extra = docs.config.encode(f["config"], leader)
                figures, _ = docs.figures.encode(f["figures"], leader)
                row = _ENCODE(f["follower"])
                follows.append(
                    (f["followerId"], f["leaderUserId"], config, config_extra, figures,
                     f["sinceMs"], row)
                )  # fmt: skip
            db.executemany(
                "INSERT INTO follows (follower_id, leader_id, config, config_extra, figures,"
                " since_ms, follower) VALUES (?, ?, ?, ?, ?, ?, ?)",
                follows,
            )
            positions = []
            for p in seed["positions"]:
                doc, extra = docs.position.encode(p, identities[p["leaderUserId"]])
                # updateStopProfitLoss rule 3: a position is found by leader, symbol, direction.
                key = (p["followerId"], p["leaderUserId"], p["symbolId"], p["isLong"])
                positions.append((*key, doc, extra))
            db.executemany(
                "INSERT INTO positions (follower_id, leader_id, symbol_id, is_long, doc, extra)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                positions,
            )
            self._insert_history(db, seed["history"])
            db.execute("INSERT INTO meta VALUES ('seeded', '1'), ('schema', ?)", (SCHEMA_VERSION,))
        self._load_keys()

    def _insert_leaders(self, db: sqlite3.Connection, leaders: Iterable[Mapping[str, Any]]) -> None:
        """The leaders (seed format): config, pairs, lead orders, history (numbered oldest
        first by close time, as the follower's), trade data, profit-sharing records."""
        docs = self.docs
        for ld in leaders:
            leader = ld["id"]
            config, _ = docs.leader_config.encode(ld["config"], {})
            db.execute(
                "INSERT INTO leaders VALUES (?, ?, ?, ?, ?, ?, ?)",
                (leader, ld["nickname"], ld["avatar"], ld["level"], ld["active"],
                 ld["customProfitSharing"], config),
            )  # fmt: skip
            db.executemany(
                "INSERT INTO leader_symbols (leader_id, symbol_id, doc) VALUES (?, ?, ?)",
                [
                    (leader, p["symbolId"], docs.leader_symbol.encode(p, {})[0])
                    for p in ld["symbols"]
                ],
            )
            db.executemany(
                "INSERT INTO lead_orders (leader_id, symbol_id, position_type, open_time, doc)"
                " VALUES (?, ?, ?, ?, ?)",
                [
                    (leader, o["symbolId"], o["positionType"], int(o[LEAD_OPEN_TIME]),
                     docs.lead_order.encode(o, {})[0])
                    for o in ld["orders"]
                ],
            )  # fmt: skip
            ordered = sorted(
                enumerate(ld["history"]), key=lambda item: (int(item[1][LEAD_CLOSE_TIME]), item[0])
            )
            db.executemany(
                "INSERT INTO lead_history (leader_id, pos, doc) VALUES (?, ?, ?)",
                [
                    (leader, pos, docs.lead_history.encode(row, {})[0])
                    for pos, (_, row) in enumerate(ordered, 1)
                ],
            )
            db.executemany(
                "INSERT INTO trade_data (leader_id, period, doc) VALUES (?, ?, ?)",
                [(leader, t["type"], docs.trade_data.encode(t, {})[0]) for t in ld["tradeData"]],
            )
            db.executemany(
                "INSERT INTO profit_sharing (leader_id, sharing_date, doc) VALUES (?, ?, ?)",
                [
                    (leader, r[SHARING_DATE], docs.profit_sharing.encode(r, {})[0])
                    for r in ld["profitSharing"]
                ],
            )

    def add_history(self, rows: Iterable[Mapping[str, Any]]) -> int:
        """Append closed positions (seed format) in one transaction; returns how many."""
        with self.transaction() as db:
            return self._insert_history(db, rows)

    def _insert_history(self, db: sqlite3.Connection, rows: Iterable[Mapping[str, Any]]) -> int:
        """Rows in the seed's format (checked by the seed, trusted here)."""
        top: dict[int, tuple[int, int]] = {}  # follower -> (last pos, last close time)
        renumber: set[int] = set()
        batch: list[tuple[Any, ...]] = []
        count = 0
        sql = (
            "INSERT INTO history (follower_id, leader_id, pos, last_close_time_ms, doc)"
            " VALUES (?, ?, ?, ?, ?)"
        )
        encode = self.docs.history.encode
        identities = self._identities(db)
        for row in rows:
            follower = row["followerId"]
            leader = row["leaderUserId"]
            if follower not in top:
                found = db.execute(
                    "SELECT pos, last_close_time_ms FROM history WHERE follower_id = ? "
                    "ORDER BY pos DESC LIMIT 1",
                    (follower,),
                ).fetchone()
                top[follower] = (found[0], found[1]) if found else (0, -1)
            pos, last_close = top[follower]
            close = int(row[CLOSE_TIME])
            if close < last_close:
                renumber.add(follower)  # out of order: number the follower again below
            top[follower] = (pos + 1, max(close, last_close))
            batch.append((follower, leader, pos + 1, close, encode(row, identities[leader])[0]))
            count += 1
            if len(batch) >= 10_000:
                db.executemany(sql, batch)
                batch.clear()
        if batch:
            db.executemany(sql, batch)
        for follower in renumber:
            db.execute(
                "UPDATE history SET pos = ranked.n FROM ("
                " SELECT id, row_number() OVER (ORDER BY last_close_time_ms, id) AS n"
                " FROM history WHERE follower_id = ?) AS ranked"
                " WHERE history.id = ranked.id",
                (follower,),
            )
        return count

    @staticmethod
    def _identities(db: sqlite3.Connection) -> dict[int, dict[str, Any]]:
        return {
            i: leader_identity(i, nickname, avatar)
            for i, nickname, avatar in db.execute("SELECT id, nickname, avatar FROM leaders")
        }

    def _load_keys(self) -> None:
        with self.reading() as db:
            rows = db.execute(
                "SELECT k.api_key, k.secret, k.account_id, a.type, k.permission, k.status "
                "FROM api_keys k JOIN accounts a ON a.id = k.account_id"
            ).fetchall()
            system = db.execute(
                "SELECT min_single_place_amount, fixed_rate_min_invest_amount,"
                " min_follow_invest_amount, max_follow_leverage FROM system_config WHERE id = 1"
            ).fetchone()
            self.leaders = self._identities(db)
            self.leader_active = dict(db.execute("SELECT id, active = 1 FROM leaders"))
            levels = db.execute("SELECT id, doc FROM levels").fetchall()
            words = db.execute("SELECT word FROM sensitive_words").fetchall()
        self.keys = {
            key: KeyRecord(account, kind, permission == "READ_ONLY", status, new_mac(secret))
            for key, secret, account, kind, permission, status in rows
        }
        # Keys, leaders' roles, levels and system figures change only with the seed:
        # cached for every request.
        if system is not None:
            self.system = System(*(Decimal(value) for value in system))
        self.levels = {level: _level(json.loads(doc)) for level, doc in levels}
        self.sensitive_words = tuple(word.lower() for (word,) in words)

    # -- state dump -------------------------------------------------------
    def dump(self, *, history_rows_limit: int = 10_000) -> dict[str, Any]:
        """The whole state as JSON-able data plus `digest`, the sha256 of all of it.

        Secrets are not dumped: a key shows `secret: "demo"` or `"custom"`. History rows
        are listed up to `history_rows_limit` but always covered by the digest.
        """
        with self.reading() as db:
            system = db.execute("SELECT * FROM system_config").fetchone()
            state: dict[str, Any] = {
                "system": dict(
                    zip(
                        SYSTEM_FIELDS,
                        system[1:] if system else ("",) * len(SYSTEM_FIELDS),
                        strict=True,
                    )
                ),
                "accounts": [
                    {"id": i, "type": t}
                    for i, t in db.execute(
                        "SELECT id, type FROM accounts"
                        " WHERE id NOT IN (SELECT id FROM leaders) ORDER BY id"
                    )
                ],
                "apiKeys": [
                    {
                        "key": k,
                        "secret": "demo" if hmac.compare_digest(s, DEMO_SECRET) else "custom",
                        "accountId": a,
                        "permission": p,
                        "status": st,
                    }
                    for k, s, a, p, st in db.execute(
                        "SELECT api_key, secret, account_id, permission, status "
                        "FROM api_keys ORDER BY api_key"
                    )
                ],
                "sensitiveWords": [w for (w,) in db.execute("SELECT word FROM sensitive_words")],
                "levels": [
                    json.loads(doc) for (doc,) in db.execute("SELECT doc FROM levels ORDER BY id")
                ],
                "leaders": [
                    self._dump_leader(db, row)
                    for row in db.execute("SELECT * FROM leaders ORDER BY id").fetchall()
                ],
                "follows": [
                    {
                        "followerId": follower,
                        "leaderUserId": leader,
                        "config": {**json.loads(config), **json.loads(extra)},
                        "figures": json.loads(figures),
                        "sinceMs": since,
                        "follower": json.loads(row),
                    }
                    for follower, leader, config, extra, figures, since, row in db.execute(
                        "SELECT follower_id, leader_id, config, config_extra, figures, since_ms,"
                        " follower FROM follows ORDER BY follower_id, leader_id"
                    )
                ],
                "positions": [
                    {**json.loads(doc), **json.loads(extra), "followerId": f, "leaderUserId": ld}
                    for f, ld, doc, extra in db.execute(
                        "SELECT follower_id, leader_id, doc, extra FROM positions"
                        " ORDER BY follower_id, leader_id, symbol_id, is_long"
                    )
                ],
            }
            digest = hashlib.sha256()
            rows: list[dict[str, Any]] = []
            count = 0
            cursor = db.execute(
                "SELECT follower_id, leader_id, pos, doc FROM history ORDER BY follower_id, pos"
            )
            for follower, leader, pos, doc in cursor:
                item = {
                    **json.loads(doc),
                    "followerId": follower,
                    "leaderUserId": leader,
                    "pos": pos,
                }
                digest.update(_canonical(item) + b"\n")
                count += 1
                if count <= history_rows_limit:
                    rows.append(item)
        state["history"] = {
            "count": count,
            "sha256": digest.hexdigest(),
            "rows": rows if count <= history_rows_limit else None,
        }
        covered = {**state, "history": {k: v for k, v in state["history"].items() if k != "rows"}}
        return {"state": state, "digest": hashlib.sha256(_canonical(covered)).hexdigest()}

    @staticmethod
    def _dump_leader(db: sqlite3.Connection, row: tuple[Any, ...]) -> dict[str, Any]:
        leader, nickname, avatar, level, active, custom, config = row

        def docs(sql: str) -> list[Any]:
            return [json.loads(doc) for (doc,) in db.execute(sql, (leader,))]

        return {
            "id": leader,
            "nickname": nickname,
            "avatar": avatar,
            "level": level,
            "active": bool(active),
            "customProfitSharing": bool(custom),
            "config": json.loads(config),
            "symbols": docs("SELECT doc FROM leader_symbols WHERE leader_id = ? ORDER BY seq"),
            "orders": docs("SELECT doc FROM lead_orders WHERE leader_id = ? ORDER BY seq"),
            "history": docs("SELECT doc FROM lead_history WHERE leader_id = ? ORDER BY pos"),
            "tradeData": [
                {"type": period, **json.loads(doc)}
                for period, doc in db.execute(
                    "SELECT period, doc FROM trade_data WHERE leader_id = ? ORDER BY seq", (leader,)
                )
            ],
            "profitSharing": docs(
                "SELECT doc FROM profit_sharing WHERE leader_id = ? ORDER BY seq"
            ),
        }

    def digest(self) -> str:
        return str(self.dump(history_rows_limit=0)["digest"])


_ENCODE = json.JSONEncoder(separators=(",", ":")).encode


def _level(doc: Mapping[str, Any]) -> Level:
    def ranges(part: str) -> dict[str, tuple[Decimal, Decimal]]:
        return {name: (Decimal(low), Decimal(high)) for name, (low, high) in doc[part].items()}

    return Level(Decimal(doc["defaultProfitRate"]), ranges("limits"), ranges("privateLimits"))


def _canonical(data: Any) -> bytes:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
