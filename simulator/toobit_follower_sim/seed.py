"""The seed: the simulator's initial state, from YAML or JSON (format in simulator/README.md).

`load_seed` reads and checks a seed and returns it normalised (camelCase keys as in the
file, defaults filled in). Checks are strict so that a typo fails at startup, not as a
surprising answer later: unknown keys, wrong types, decimals that are not strings,
dangling references and duplicates are all `SeedError`s naming where they are.
"""

from __future__ import annotations

import copy
import json
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from .signing import DEMO_SECRET

DEFAULT_SEED_PATH = Path(__file__).with_name("default_seed.yaml")

ACCOUNT_TYPES = ("COPY_TRADING", "STANDARD")
PERMISSIONS = ("READ_WRITE", "READ_ONLY")
KEY_STATUSES = ("ACTIVE", "EXPIRED", "SUSPENDED")

_DECIMAL = re.compile(r"-?[0-9]{1,30}(\.[0-9]{1,30})?")  # the spec's DecimalString
_REQUEST_AMOUNT = re.compile(r"[0-9]{1,20}(\.[0-9]{1,8})?")
_KEY = re.compile(r"[A-Za-z0-9]{1,128}")
_SYMBOL = re.compile(r"[A-Z0-9][A-Z0-9_-]{0,63}")  # the spec's SymbolId unless told otherwise
_INT64_MAX = 2**63 - 1

SYSTEM_FIELDS = ("minSinglePlaceAmount", "fixedRateMinInvestAmount", "maxFollowLeverage")
LEADER_AMOUNT_FIELDS = ("minSinglePlaceAmount", "minFollowInvestAmount")
CONFIG_DECIMALS = (
    "investAmount",
    "singlePlaceAmount",
    "dailyMaxInvestAmount",
    "leverage",
    "maxInvestRate",
    "stopProfitRate",
    "stopLossRate",
    "realInvestAmount",
    "isolatedReservedAmount",
)
CONFIG_FIELDS = (
    *CONFIG_DECIMALS,
    "followAmountMode",
    "stopLossDelay",
    "followMarginType",
    "followSymbolIds",
    "zeroSlippageSwitch",
)
FIGURE_FIELDS = (
    "marginBalance",
    "availableMargin",
    "unrealisedPnl",
    "realisedProfit",
    "holdingProfitSharing",
    "settledProfitSharing",
    "netProfit",
)
POSITION_DECIMALS = (
    "leverage",
    "openAvgPrice",
    "markPrice",
    "currentPrice",
    "quantity",
    "margin",
    "unrealizedProfit",
    "unrealizedProfitRate",
)
POSITION_OPTIONAL_DECIMALS = ("liquidationPrice", "stopProfitRate", "stopLossRate")
HISTORY_DECIMALS = (
    "leverage",
    "openAvgPrice",
    "closeAvgPrice",
    "maxPositionQuantity",
    "closedQuantity",
    "realizedProfit",
)


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


def _decimal(value: Any, where: str, *, empty_ok: bool = False, request: bool = False) -> str:
    # Decimals are strings (quote them in YAML): a float would lose the exact digits.
    if not isinstance(value, str):
        raise _fail(where, "must be a decimal string (quote it)")
    if empty_ok and value == "":
        return value
    pattern = _REQUEST_AMOUNT if request else _DECIMAL
    if pattern.fullmatch(value) is None:
        raise _fail(where, f"{value!r} is not a decimal string")
    return value


def _choice(value: Any, choices: tuple[str, ...], where: str) -> str:
    if value not in choices:
        raise _fail(where, f"must be one of {list(choices)}")
    return str(value)


def _text(value: Any, where: str, max_length: int) -> str:
    if not isinstance(value, str) or len(value) > max_length:
        raise _fail(where, f"must be a string of at most {max_length} characters")
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
    symbol_pattern: re.Pattern[str] | None = None,
) -> dict[str, Any]:
    """The normalised seed from a path, a mapping, or the default seed when None.

    `symbol_pattern`: the spec's SymbolId pattern, so that every seeded symbol can be
    addressed through the API."""
    if source is None:
        raw = read_seed_file(DEFAULT_SEED_PATH)
    elif isinstance(source, Mapping):
        raw = copy.deepcopy(dict(source))
    else:
        raw = read_seed_file(source)
    return normalise_seed(raw, symbol_pattern)


def normalise_seed(
    raw: dict[str, Any], symbol_pattern: re.Pattern[str] | None = None
) -> dict[str, Any]:
    symbol_re = symbol_pattern or _SYMBOL
    _only(
        raw,
        {"version", "system", "accounts", "apiKeys", "leaders", "follows", "positions", "history"},
        "top level",
    )
    if raw.get("version", 1) != 1:
        raise _fail("version", "only version 1 is known")

    system_raw = _mapping(raw.get("system", {}), "system")
    _only(system_raw, set(SYSTEM_FIELDS), "system")
    system = {
        "minSinglePlaceAmount": _decimal(
            system_raw.get("minSinglePlaceAmount", "0"), "system.minSinglePlaceAmount", request=True
        ),
        "fixedRateMinInvestAmount": _decimal(
            system_raw.get("fixedRateMinInvestAmount", "0"),
            "system.fixedRateMinInvestAmount",
            request=True,
        ),
        "maxFollowLeverage": _decimal(
            system_raw.get("maxFollowLeverage", "125"), "system.maxFollowLeverage", request=True
        ),
    }

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
        if account_id not in account_types:
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

    leaders: list[dict[str, Any]] = []
    leader_ids: set[int] = set()
    for i, item in enumerate(_list(raw.get("leaders"), "leaders")):
        where = f"leaders[{i}]"
        item = _mapping(item, where)
        _only(item, {"id", "nickname", "avatar", *LEADER_AMOUNT_FIELDS}, where)
        leader_id = _int(item.get("id"), f"{where}.id", 1)
        if leader_id in leader_ids:
            raise _fail(where, f"duplicate leader id {leader_id}")
        leader_ids.add(leader_id)
        leaders.append(
            {
                "id": leader_id,
                "nickname": _text(item.get("nickname", ""), f"{where}.nickname", 256),
                "avatar": _text(item.get("avatar", ""), f"{where}.avatar", 2048),
                **{
                    name: _decimal(item.get(name, "0"), f"{where}.{name}", request=True)
                    for name in LEADER_AMOUNT_FIELDS
                },
            }
        )

    follows: list[dict[str, Any]] = []
    relations: set[tuple[int, int]] = set()
    for i, item in enumerate(_list(raw.get("follows"), "follows")):
        where = f"follows[{i}]"
        item = _mapping(item, where)
        _only(item, {"followerId", "leaderUserId", "config", "figures"}, where)
        follower_id = _follower(item, where, account_types)
        leader_id = _leader(item, where, leader_ids)
        if (follower_id, leader_id) in relations:
            raise _fail(where, "duplicate follow relation")
        relations.add((follower_id, leader_id))
        follows.append(
            {
                "followerId": follower_id,
                "leaderUserId": leader_id,
                "config": _config(item.get("config"), f"{where}.config", symbol_re),
                "figures": _figures(item.get("figures", {}), f"{where}.figures"),
            }
        )

    positions: list[dict[str, Any]] = []
    position_keys: set[tuple[int, int, str, int]] = set()
    for i, item in enumerate(_list(raw.get("positions"), "positions")):
        where = f"positions[{i}]"
        item = _mapping(item, where)
        _only(
            item,
            {
                "followerId",
                "leaderUserId",
                "symbolId",
                "isLong",
                "positionType",
                "stopLossDelay",
                *POSITION_DECIMALS,
                *POSITION_OPTIONAL_DECIMALS,
            },
            where,
        )
        follower_id = _follower(item, where, account_types)
        leader_id = _leader(item, where, leader_ids)
        if (follower_id, leader_id) not in relations:
            raise _fail(where, "a position needs a follow relation with that leader")
        symbol = _symbol(item.get("symbolId"), f"{where}.symbolId", symbol_re)
        is_long = _int(item.get("isLong"), f"{where}.isLong", 0, 1)
        if (follower_id, leader_id, symbol, is_long) in position_keys:
            raise _fail(where, "duplicate position (leader, symbol, direction)")
        position_keys.add((follower_id, leader_id, symbol, is_long))
        positions.append(
            {
                "followerId": follower_id,
                "leaderUserId": leader_id,
                "symbolId": symbol,
                "isLong": is_long,
                "positionType": _int(
                    item.get("positionType", 1), f"{where}.positionType", 0, 2**31 - 1
                ),
                "stopLossDelay": _int(
                    item.get("stopLossDelay", 0), f"{where}.stopLossDelay", 0, 2**31 - 1
                ),
                **{name: _decimal(item.get(name), f"{where}.{name}") for name in POSITION_DECIMALS},
                **{
                    name: _decimal(item.get(name, ""), f"{where}.{name}", empty_ok=True)
                    for name in POSITION_OPTIONAL_DECIMALS
                },
            }
        )

    history: list[dict[str, Any]] = []
    for i, item in enumerate(_list(raw.get("history"), "history")):
        where = f"history[{i}]"
        item = _mapping(item, where)
        _only(
            item,
            {
                "followerId",
                "leaderUserId",
                "symbolId",
                "positionType",
                "isLong",
                "openTimeMs",
                "lastCloseTimeMs",
                "closeStatus",
                *HISTORY_DECIMALS,
            },
            where,
        )
        history.append(
            {
                "followerId": _follower(item, where, account_types),
                "leaderUserId": _leader(item, where, leader_ids),
                "symbolId": _symbol(item.get("symbolId"), f"{where}.symbolId", symbol_re),
                "positionType": _int(
                    item.get("positionType", 1), f"{where}.positionType", 0, 2**31 - 1
                ),
                "isLong": _int(item.get("isLong"), f"{where}.isLong", 0, 1),
                "openTimeMs": _int(item.get("openTimeMs"), f"{where}.openTimeMs"),
                "lastCloseTimeMs": _int(item.get("lastCloseTimeMs"), f"{where}.lastCloseTimeMs"),
                "closeStatus": _int(
                    item.get("closeStatus", 2), f"{where}.closeStatus", 0, 2**31 - 1
                ),
                **{name: _decimal(item.get(name), f"{where}.{name}") for name in HISTORY_DECIMALS},
            }
        )

    return {
        "version": 1,
        "system": system,
        "accounts": accounts,
        "apiKeys": keys,
        "leaders": leaders,
        "follows": follows,
        "positions": positions,
        "history": history,
    }


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


def _symbol(value: Any, where: str, pattern: re.Pattern[str]) -> str:
    if not isinstance(value, str) or pattern.fullmatch(value) is None:
        raise _fail(where, "must be a symbol ID such as BTC-SWAP-USDT")
    return value


def _config(value: Any, where: str, symbol: re.Pattern[str]) -> dict[str, Any]:
    item = _mapping(value, where)
    _only(item, set(CONFIG_FIELDS), where)
    if "realInvestAmount" not in item and "investAmount" in item:
        item["realInvestAmount"] = item["investAmount"]
    missing = [name for name in CONFIG_FIELDS if name not in item]
    if missing:
        raise _fail(where, f"missing {missing}")
    config: dict[str, Any] = {
        name: _decimal(item[name], f"{where}.{name}", request=True) for name in CONFIG_DECIMALS
    }
    config["followAmountMode"] = _int(item["followAmountMode"], f"{where}.followAmountMode", 0, 1)
    config["stopLossDelay"] = _int(item["stopLossDelay"], f"{where}.stopLossDelay", 0, 2**31 - 1)
    config["followMarginType"] = _int(item["followMarginType"], f"{where}.followMarginType", 0, 2)
    symbols = item["followSymbolIds"]
    if not isinstance(symbols, str) or not (
        symbols == "all" or all(symbol.fullmatch(s) and s != "all" for s in symbols.split(","))
    ):
        raise _fail(f"{where}.followSymbolIds", "must be `all` or comma-separated symbol IDs")
    config["followSymbolIds"] = symbols
    if type(item["zeroSlippageSwitch"]) is not bool:
        raise _fail(f"{where}.zeroSlippageSwitch", "must be true or false")
    config["zeroSlippageSwitch"] = item["zeroSlippageSwitch"]
    return config


def _figures(value: Any, where: str) -> dict[str, str]:
    item = _mapping(value, where)
    _only(item, set(FIGURE_FIELDS), where)
    return {name: _decimal(item.get(name, "0"), f"{where}.{name}") for name in FIGURE_FIELDS}
