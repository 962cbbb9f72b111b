"""The seed: the simulator's initial state, from YAML or JSON (format in simulator/README.md).

`load_seed` reads and checks a seed and returns it normalised (camelCase keys as in the
file). Follow configs, figures, positions, history rows and the leaders' configs, pairs,
lead orders, trade data, profit-sharing records and follower rows are documents of the
spec's schemas and are checked against them (documents.py); the rest (system figures,
accounts, keys, levels, the leaders' identity and state flags) is the seed's own. Checks
are strict so that a typo fails at startup, not as a surprising answer later: unknown
keys, values the spec refuses, dangling references and duplicates are all `SeedError`s
naming where they are.
"""

from __future__ import annotations

import copy
import json
import os
import re
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml

from .documents import Documents, Kind, documents, leader_identity
from .signing import DEMO_SECRET
from .spec import SpecData, load_spec

DEFAULT_SEED_PATH = Path(__file__).with_name("default_seed.yaml")

ACCOUNT_TYPES = ("COPY_TRADING", "STANDARD")
PERMISSIONS = ("READ_WRITE", "READ_ONLY")
KEY_STATUSES = ("ACTIVE", "EXPIRED", "SUSPENDED")

# The seed's own figures (inputs of the business rules; not API documents).
_AMOUNT = re.compile(r"[0-9]{1,20}(\.[0-9]{1,8})?")
_KEY = re.compile(r"[A-Za-z0-9]{1,128}")
_INT64_MAX = 2**63 - 1
SYSTEM_FIELDS = (
    "minSinglePlaceAmount",
    "fixedRateMinInvestAmount",
    "minFollowInvestAmount",
    "maxFollowLeverage",
)
RELATION = ("followerId", "leaderUserId")  # which follower and leader a document belongs to
LEADER_KEYS = {
    "id", "nickname", "avatar", "level", "active", "customProfitSharing", "config", "symbols",
    "orders", "history", "tradeData", "profitSharing",
}  # fmt: skip
PERIOD = "type"  # a trade data item's period, as getTradeData's query names it
# A follower row's figures derived from the relation (not seeded): the config's investment
# and the time since it started (assumption follower-row-figures).
FOLLOWER_DERIVED = ("followAmountLimit", "followRunningMills")


class SeedError(ValueError):
    """The seed is not valid; the message says where."""


def _fail(where: str, what: str) -> SeedError:
    return SeedError(f"seed {where}: {what}")


def _mapping(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise _fail(where, "must be a mapping")
    return dict(value)


def _list(value: Any, where: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise _fail(where, "must be a list")
    return value


def _only(item: dict[str, Any], allowed: set[str], where: str) -> None:
    extra = sorted(set(item) - allowed)
    if extra:
        raise _fail(where, f"unknown key(s) {extra}")


def _int(value: Any, where: str, minimum: int = 0, maximum: int = _INT64_MAX) -> int:
    if isinstance(value, str) and re.fullmatch(r"[0-9]{1,19}", value):
        value = int(value)
    if type(value) is not int or not minimum <= value <= maximum:
        raise _fail(where, f"must be an integer in [{minimum}, {maximum}]")
    return value


def _amount(value: Any, where: str) -> str:
    # Decimals are strings (quote them in YAML): a float would lose the exact digits.
    if not isinstance(value, str) or _AMOUNT.fullmatch(value) is None:
        raise _fail(where, f'{value!r} is not a decimal string such as "12.5" (quote it)')
    return value


def _choice(value: Any, choices: tuple[str, ...], where: str) -> str:
    if value not in choices:
        raise _fail(where, f"must be one of {list(choices)}")
    return str(value)


def _text(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise _fail(where, "must be a string")
    return value


def read_seed_file(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Parse a seed file: JSON when it ends in .json, YAML otherwise."""
    file = Path(path)
    text = file.read_text(encoding="utf-8")
    try:
        if file.suffix.lower() == ".json":
            data = json.loads(text)
        else:
            loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
            data = yaml.load(text, Loader=loader)  # noqa: S506 - a safe loader
    except (ValueError, yaml.YAMLError) as exc:
        raise SeedError(f"seed file {file}: {exc}") from None
    return _mapping(data, str(file))


def load_seed(
    source: str | os.PathLike[str] | Mapping[str, Any] | None = None,
    spec: SpecData | None = None,
) -> dict[str, Any]:
    """The checked seed from a path, a mapping, or the default seed when None; its
    documents are checked against `spec`'s schemas (default: the repo's openapi.yaml)."""
    if source is None:
        raw = read_seed_file(DEFAULT_SEED_PATH)
    elif isinstance(source, Mapping):
        raw = copy.deepcopy(dict(source))
    else:
        raw = read_seed_file(source)
    return normalise_seed(raw, documents(spec or load_spec()))


def normalise_seed(raw: dict[str, Any], docs: Documents) -> dict[str, Any]:
    _only(
        raw,
        {
            "version",
            "system",
            "accounts",
            "apiKeys",
            "sensitiveWords",
            "levels",
            "leaders",
            "follows",
            "positions",
            "history",
        },
        "top level",
    )
    if raw.get("version", 1) != 1:
        raise _fail("version", "only version 1 is known")

    system_raw = _mapping(raw.get("system", {}), "system")
    _only(system_raw, set(SYSTEM_FIELDS), "system")
    system = {name: _amount(system_raw.get(name), f"system.{name}") for name in SYSTEM_FIELDS}

    accounts: list[dict[str, Any]] = []
    account_types: dict[int, str] = {}
    for i, item in enumerate(_list(raw.get("accounts"), "accounts")):
        where = f"accounts[{i}]"
        item = _mapping(item, where)
        _only(item, {"id", "type", "note"}, where)
        account_id = _int(item.get("id"), f"{where}.id", 1)
        if account_id in account_types:
            raise _fail(where, f"duplicate account id {account_id}")
        kind = _choice(item.get("type", "COPY_TRADING"), ACCOUNT_TYPES, f"{where}.type")
        account_types[account_id] = kind
        accounts.append({"id": account_id, "type": kind})

    words = _list(raw.get("sensitiveWords"), "sensitiveWords")
    sensitive = [_text(word, f"sensitiveWords[{i}]") for i, word in enumerate(words)]
    levels = _levels(raw.get("levels"), docs)
    leaders = [
        _leader_entry(item, f"leaders[{i}]", docs)
        for i, item in enumerate(_list(raw.get("leaders"), "leaders"))
    ]
    leader_ids: set[int] = set()
    for i, leader_entry in enumerate(leaders):
        if leader_entry["id"] in leader_ids:
            raise _fail(f"leaders[{i}]", f"duplicate leader id {leader_entry['id']}")
        if leader_entry["id"] in account_types:
            raise _fail(f"leaders[{i}]", "a leader is an account of its own, not in accounts")
        leader_ids.add(leader_entry["id"])
    identities = {
        ld["id"]: leader_identity(ld["id"], ld["nickname"], ld["avatar"]) for ld in leaders
    }
    # A leader's keys name its id: one COPY_TRADING account per leader.
    key_accounts = {**account_types, **dict.fromkeys(leader_ids, "COPY_TRADING")}

    keys: list[dict[str, Any]] = []
    seen_keys: set[str] = set()
    for i, item in enumerate(_list(raw.get("apiKeys"), "apiKeys")):
        where = f"apiKeys[{i}]"
        item = _mapping(item, where)
        _only(item, {"key", "secret", "accountId", "permission", "status", "note"}, where)
        key = item.get("key")
        if not isinstance(key, str) or _KEY.fullmatch(key) is None:
            raise _fail(f"{where}.key", "must be 1..128 characters of [A-Za-z0-9]")
        if key in seen_keys:
            raise _fail(where, "duplicate key")
        seen_keys.add(key)
        secret = item.get("secret", "demo")
        if not isinstance(secret, str) or not secret:
            raise _fail(f"{where}.secret", "must be a non-empty string, or `demo`")
        account_id = _int(item.get("accountId"), f"{where}.accountId", 1)
        if account_id not in key_accounts:
            raise _fail(f"{where}.accountId", f"no account {account_id}")
        keys.append(
            {
                "key": key,
                "secret": DEMO_SECRET if secret == "demo" else secret,  # noqa: S105
                "accountId": account_id,
                "permission": _choice(
                    item.get("permission", "READ_WRITE"), PERMISSIONS, f"{where}.permission"
                ),
                "status": _choice(item.get("status", "ACTIVE"), KEY_STATUSES, f"{where}.status"),
            }
        )

    follows: list[dict[str, Any]] = []
    relations: set[tuple[int, int]] = set()
    for i, item in enumerate(_list(raw.get("follows"), "follows")):
        where = f"follows[{i}]"
        item = _mapping(item, where)
        _only(item, {*RELATION, "config", "figures", "sinceMs", "follower"}, where)
        follower_id = _follower(item, where, account_types)
        leader_id = _leader(item, where, leader_ids)
        if (follower_id, leader_id) in relations:
            raise _fail(where, "duplicate follow relation")
        relations.add((follower_id, leader_id))
        leader = identities[leader_id]
        config = _document(docs.config, item.get("config"), f"{where}.config", leader)
        follows.append(
            {
                "followerId": follower_id,
                "leaderUserId": leader_id,
                "config": config,
                "figures": _document(docs.figures, item.get("figures"), f"{where}.figures", leader),
                "sinceMs": _int(item.get("sinceMs"), f"{where}.sinceMs"),
                "follower": _follower_row(item.get("follower"), f"{where}.follower", docs, config),
            }
        )

    positions: list[dict[str, Any]] = []
    position_keys: set[tuple[int, int, str, int]] = set()
    for i, item in enumerate(_list(raw.get("positions"), "positions")):
        where = f"positions[{i}]"
        item = _mapping(item, where)
        follower_id = _follower(item, where, account_types)
        leader_id = _leader(item, where, leader_ids)
        if (follower_id, leader_id) not in relations:
            raise _fail(where, "a position needs a follow relation with that leader")
        values = _document(docs.position, _without_relation(item), where, identities[leader_id])
        # updateStopProfitLoss rule 3: a position is addressed by leader, symbol, direction.
        key = (follower_id, leader_id, values["symbolId"], values["isLong"])
        if key in position_keys:
            raise _fail(where, "duplicate position (leader, symbol, direction)")
        position_keys.add(key)
        positions.append({"followerId": follower_id, "leaderUserId": leader_id, **values})

    history: list[dict[str, Any]] = []
    for i, item in enumerate(_list(raw.get("history"), "history")):
        where = f"history[{i}]"
        item = _mapping(item, where)
        follower_id = _follower(item, where, account_types)
        leader_id = _leader(item, where, leader_ids)
        values = _document(docs.history, _without_relation(item), where, identities[leader_id])
        history.append({"followerId": follower_id, "leaderUserId": leader_id, **values})

    return {
        "version": 1,
        "system": system,
        "accounts": accounts,
        "apiKeys": keys,
        "sensitiveWords": sensitive,
        "levels": levels,
        "leaders": leaders,
        "follows": follows,
        "positions": positions,
        "history": history,
    }


def _without_relation(item: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if k not in RELATION}


def _document(kind: Kind, value: Any, where: str, leader: Mapping[str, Any]) -> dict[str, Any]:
    """A document checked against the spec: the schema it is served as (the leader's
    identity filled in from the leader) and, for properties only the writing request
    declares, that request's schema. Returns the values as stored."""
    item = _mapping(value, where)
    _only(item, {k for k in item if kind.known(k) and k not in leader}, where)
    served, extra = kind.split(item, leader)
    problem = kind.problem(served, extra)
    if problem is not None:
        name, what = problem
        raise _fail(f"{where}.{name}" if name else where, what)
    return {k: served.get(k, v) for k, v in item.items()}


def _follower(item: dict[str, Any], where: str, account_types: dict[int, str]) -> int:
    follower_id = _int(item.get("followerId"), f"{where}.followerId", 1)
    if follower_id not in account_types:
        raise _fail(f"{where}.followerId", f"no account {follower_id}")
    return follower_id


def _leader(item: dict[str, Any], where: str, leader_ids: set[int]) -> int:
    leader_id = _int(item.get("leaderUserId"), f"{where}.leaderUserId", 1)
    if leader_id not in leader_ids:
        raise _fail(f"{where}.leaderUserId", f"no leader {leader_id}")
    return leader_id


def _levels(value: Any, docs: Documents) -> list[dict[str, Any]]:
    """Leader levels: the [min, max] limits of updateLeaderConfig rule 5 on the update's
    decimals (`limits`, and `privateLimits` where a private leader's differ) and the
    level's profit-sharing ratio (`defaultProfitRate`)."""
    written = docs.leader_config.written
    assert written is not None
    decimals = {n for n, rule in written.properties.items() if rule.is_decimal}
    levels: list[dict[str, Any]] = []
    seen: set[int] = set()
    for i, item in enumerate(_list(value, "levels")):
        where = f"levels[{i}]"
        item = _mapping(item, where)
        _only(item, {"id", "defaultProfitRate", "limits", "privateLimits", "note"}, where)
        level_id = _int(item.get("id"), f"{where}.id")
        if level_id in seen:
            raise _fail(where, f"duplicate level {level_id}")
        seen.add(level_id)
        limits = {}
        for part in ("limits", "privateLimits"):
            ranges = _mapping(item.get(part, {}), f"{where}.{part}")
            _only(ranges, decimals, f"{where}.{part}")
            limits[part] = {
                name: _range(bounds, f"{where}.{part}.{name}") for name, bounds in ranges.items()
            }
        levels.append(
            {
                "id": level_id,
                "defaultProfitRate": _amount(
                    item.get("defaultProfitRate"), f"{where}.defaultProfitRate"
                ),
                **limits,
            }
        )
    return levels


def _range(value: Any, where: str) -> list[str]:
    if not isinstance(value, list) or len(value) != 2:
        raise _fail(where, 'must be [min, max], such as ["0", "0.2"]')
    low, high = (_amount(bound, where) for bound in value)
    if Decimal(low) > Decimal(high):
        raise _fail(where, "min is above max")
    return [low, high]


def _leader_entry(value: Any, where: str, docs: Documents) -> dict[str, Any]:
    """A leader: its identity, level and state flags (the seed's own), its config (a
    `LeaderConfig`), its pairs (`LeaderSymbol`s; `isLead` from the config's `symbolIds`),
    lead orders, history, trade data (one per period) and profit-sharing records."""
    item = _mapping(value, where)
    _only(item, LEADER_KEYS, where)
    leader_id = _int(item.get("id"), f"{where}.id", 1)
    config = _document(docs.leader_config, item.get("config"), f"{where}.config", {})
    symbols = []
    for i, pair in enumerate(_list(item.get("symbols"), f"{where}.symbols")):
        pair = _mapping(pair, f"{where}.symbols[{i}]")
        if "isLead" in pair:
            raise _fail(f"{where}.symbols[{i}].isLead", "comes from config.symbolIds")
        led = int(pair.get("symbolId") in config["symbolIds"])
        symbols.append(
            _document(docs.leader_symbol, {**pair, "isLead": led}, f"{where}.symbols[{i}]", {})
        )
    available = [pair["symbolId"] for pair in symbols]
    if len(set(available)) != len(available):
        raise _fail(f"{where}.symbols", "a pair is listed twice")
    for symbol in config["symbolIds"]:
        if symbol not in available:
            raise _fail(f"{where}.config.symbolIds", f"{symbol!r} is not one of its symbols")
    orders = [
        _document(docs.lead_order, order, f"{where}.orders[{i}]", {})
        for i, order in enumerate(_list(item.get("orders"), f"{where}.orders"))
    ]
    # Assumption lead-order-one-per-symbol-and-side: a symbol and direction name one.
    sides = [(order["symbolId"], order["isLong"]) for order in orders]
    if len(set(sides)) != len(sides):
        raise _fail(f"{where}.orders", "two lead orders on one symbol and direction")
    trade_data = []
    for i, figures in enumerate(_list(item.get("tradeData"), f"{where}.tradeData")):
        figures = _mapping(figures, f"{where}.tradeData[{i}]")
        period = figures.get(PERIOD)
        if type(period) is not int or period not in docs.trade_periods:
            raise _fail(f"{where}.tradeData[{i}].type", f"must be one of {docs.trade_periods}")
        rest = {k: v for k, v in figures.items() if k != PERIOD}
        doc = _document(docs.trade_data, rest, f"{where}.tradeData[{i}]", {})
        trade_data.append({PERIOD: period, **doc})
    periods = sorted(figures[PERIOD] for figures in trade_data)
    if periods != sorted(docs.trade_periods):  # assumption trade-data-one-item
        raise _fail(f"{where}.tradeData", f"needs one item of each type {docs.trade_periods}")
    level = _int(item.get("level"), f"{where}.level")
    return {
        "id": leader_id,
        "nickname": _text(item.get("nickname", ""), f"{where}.nickname"),
        "avatar": _text(item.get("avatar", ""), f"{where}.avatar"),
        "level": level,  # a level not in `levels` is the config update's -120067
        "active": _flag(item.get("active", True), f"{where}.active"),
        "customProfitSharing": _flag(
            item.get("customProfitSharing", False), f"{where}.customProfitSharing"
        ),
        "config": config,
        "symbols": symbols,
        "orders": orders,
        "history": [
            _document(docs.lead_history, row, f"{where}.history[{i}]", {})
            for i, row in enumerate(_list(item.get("history"), f"{where}.history"))
        ],
        "tradeData": trade_data,
        "profitSharing": [
            _document(docs.profit_sharing, row, f"{where}.profitSharing[{i}]", {})
            for i, row in enumerate(_list(item.get("profitSharing"), f"{where}.profitSharing"))
        ],
    }


def _flag(value: Any, where: str) -> bool:
    if not isinstance(value, bool):
        raise _fail(where, "must be true or false")
    return value


def _follower_row(
    value: Any, where: str, docs: Documents, config: dict[str, Any]
) -> dict[str, Any]:
    """A follow relation as its leader's My Followers shows it: the seeded figures; the
    derived ones (FOLLOWER_DERIVED) are filled in to check the whole row."""
    item = _mapping(value, where)
    for name in FOLLOWER_DERIVED:
        if name in item:
            raise _fail(f"{where}.{name}", "is derived, not seeded (follower-row-figures)")
    derived = {"followAmountLimit": config.get("investAmount", ""), "followRunningMills": "0"}
    row = _document(docs.follower, {**item, **derived}, where, {})
    return {k: v for k, v in row.items() if k not in FOLLOWER_DERIVED}
