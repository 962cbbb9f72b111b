"""SQLite state of the simulator.

One connection, guarded by a lock: every write is one `BEGIN IMMEDIATE ... COMMIT`
transaction and reads run between transactions, so a request never sees (or leaves) a
half-applied update. In memory by default; with a file, WAL and `synchronous=FULL`,
so an acknowledged write survives `kill -9`. Follow configs, figures, positions and
history rows are JSON documents of the spec's schemas (documents.py): decimals in them
are the exact strings received or seeded, never floats.

History pages: rows are numbered per follower (`pos`, 1 = oldest by close time, id)
and indexed on (follower_id, pos), so any page - first or millionth - is an index
range scan and the total is the largest `pos`, both O(log n). History is written only
by the seed and `add_history`, which keep the numbering.
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
from typing import Any

from .documents import Documents, documents, leader_identity
from .signing import DEMO_SECRET, new_mac
from .spec import SpecData, load_spec

SCHEMA_VERSION = "2"  # 2: documents as JSON text (1: a column per field)

# Documents are JSON text: `doc` the served object exactly as sent, `extra` the properties
# only the writing request declares. The other columns are keys, lookups and ordering.
SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS system_config (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    min_single_place_amount TEXT NOT NULL,
    fixed_rate_min_invest_amount TEXT NOT NULL,
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
CREATE TABLE IF NOT EXISTS leaders (
    id INTEGER PRIMARY KEY,
    nickname TEXT NOT NULL,
    avatar TEXT NOT NULL,
    min_single_place_amount TEXT NOT NULL,
    min_follow_invest_amount TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS follows (
    seq INTEGER PRIMARY KEY,
    follower_id INTEGER NOT NULL REFERENCES accounts(id),
    leader_id INTEGER NOT NULL REFERENCES leaders(id),
    config TEXT NOT NULL,
    config_extra TEXT NOT NULL,
    figures TEXT NOT NULL,
    UNIQUE (follower_id, leader_id)
);
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
        # (min single place amount, fixed-rate min investment, max follow leverage)
        self.system: tuple[Decimal, Decimal, Decimal] = (Decimal(0), Decimal(0), Decimal(0))
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
            for table in ("history", "positions", "follows", "api_keys", "leaders", "accounts"):
                db.execute(f"DELETE FROM {table}")  # noqa: S608 - fixed table names
            db.execute("DELETE FROM system_config")
            db.execute("DELETE FROM meta")
            system = seed["system"]
            db.execute(
                "INSERT INTO system_config VALUES (1, ?, ?, ?)",
                (
                    system["minSinglePlaceAmount"],
                    system["fixedRateMinInvestAmount"],
                    system["maxFollowLeverage"],
                ),
            )
            db.executemany(
                "INSERT INTO accounts (id, type) VALUES (?, ?)",
                [(a["id"], a["type"]) for a in seed["accounts"]],
            )
            db.executemany(
                "INSERT INTO api_keys VALUES (?, ?, ?, ?, ?)",
                [
                    (k["key"], k["secret"], k["accountId"], k["permission"], k["status"])
                    for k in seed["apiKeys"]
                ],
            )
            db.executemany(
                "INSERT INTO leaders VALUES (?, ?, ?, ?, ?)",
                [
                    (
                        ld["id"],
                        ld["nickname"],
                        ld["avatar"],
                        ld["minSinglePlaceAmount"],
                        ld["minFollowInvestAmount"],
                    )
                    for ld in seed["leaders"]
                ],
            )
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
                follows.append((f["followerId"], f["leaderUserId"], config, config_extra, figures))
            db.executemany(
                "INSERT INTO follows (follower_id, leader_id, config, config_extra, figures)"
                " VALUES (?, ?, ?, ?, ?)",
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
                "SELECT min_single_place_amount, fixed_rate_min_invest_amount, max_follow_leverage"
                " FROM system_config WHERE id = 1"
            ).fetchone()
            self.leaders = self._identities(db)
        self.keys = {
            key: KeyRecord(account, kind, permission == "READ_ONLY", status, new_mac(secret))
            for key, secret, account, kind, permission, status in rows
        }
        # Keys and system figures change only with the seed: cached for every request.
        if system is not None:
            self.system = (Decimal(system[0]), Decimal(system[1]), Decimal(system[2]))

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
                        ("minSinglePlaceAmount", "fixedRateMinInvestAmount", "maxFollowLeverage"),
                        system[1:] if system else ("", "", ""),
                        strict=True,
                    )
                ),
                "accounts": [
                    {"id": i, "type": t}
                    for i, t in db.execute("SELECT id, type FROM accounts ORDER BY id")
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
                "leaders": [
                    dict(
                        zip(
                            (
                                "id",
                                "nickname",
                                "avatar",
                                "minSinglePlaceAmount",
                                "minFollowInvestAmount",
                            ),
                            row,
                            strict=True,
                        )
                    )
                    for row in db.execute("SELECT * FROM leaders ORDER BY id")
                ],
                "follows": [
                    {
                        "followerId": follower,
                        "leaderUserId": leader,
                        "config": {**json.loads(config), **json.loads(extra)},
                        "figures": json.loads(figures),
                    }
                    for follower, leader, config, extra, figures in db.execute(
                        "SELECT follower_id, leader_id, config, config_extra, figures"
                        " FROM follows ORDER BY follower_id, leader_id"
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

    def digest(self) -> str:
        return str(self.dump(history_rows_limit=0)["digest"])


def _canonical(data: Any) -> bytes:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
