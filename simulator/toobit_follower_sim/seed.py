"""The seed: the simulator's initial state, from YAML or JSON (format in simulator/README.md).

`load_seed` reads and checks a seed and returns it normalised (camelCase keys as in the
file). Follow configs, figures, positions and history rows are documents of the spec's
schemas and are checked against them (documents.py); the rest (system figures,
accounts, keys, leaders) is the seed's own. Checks are strict so that a typo fails at
startup, not as a surprising answer later: unknown keys, values the spec refuses,
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
SYSTEM_FIELDS = ("minSinglePlaceAmount", "fixedRateMinInvestAmount", "maxFollowLeverage")
LEADER_AMOUNT_FIELDS = ("minSinglePlaceAmount", "minFollowInvestAmount")
RELATION = ("followerId", "leaderUserId")  # which follower and leader a document belongs to


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
        {"version", "system", "accounts", "apiKeys", "leaders", "follows", "positions", "history"},
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
                "nickname": _text(item.get("nickname", ""), f"{where}.nickname"),
                "avatar": _text(item.get("avatar", ""), f"{where}.avatar"),
                **{
                    name: _amount(item.get(name), f"{where}.{name}")
                    for name in LEADER_AMOUNT_FIELDS
                },
            }
        )
    identities = {
        ld["id"]: leader_identity(ld["id"], ld["nickname"], ld["avatar"]) for ld in leaders
    }

    follows: list[dict[str, Any]] = []
    relations: set[tuple[int, int]] = set()
    for i, item in enumerate(_list(raw.get("follows"), "follows")):
        where = f"follows[{i}]"
        item = _mapping(item, where)
        _only(item, {*RELATION, "config", "figures"}, where)
        follower_id = _follower(item, where, account_types)
        leader_id = _leader(item, where, leader_ids)
        if (follower_id, leader_id) in relations:
            raise _fail(where, "duplicate follow relation")
        relations.add((follower_id, leader_id))
        leader = identities[leader_id]
        follows.append(
            {
                "followerId": follower_id,
                "leaderUserId": leader_id,
                "config": _document(docs.config, item.get("config"), f"{where}.config", leader),
                "figures": _document(docs.figures, item.get("figures"), f"{where}.figures", leader),
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
