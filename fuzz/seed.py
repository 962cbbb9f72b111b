"""The simulator's default seed, read for the key strings and leader IDs the fuzzer uses.

The seed file is the one place those strings live (docs/ARCHITECTURE.md); the fuzzer
reads it instead of copying them. Only API key strings and IDs are taken: every seed
key signs with the published demo secret (`secret: demo`).
"""

from __future__ import annotations

import functools
import importlib.util
from pathlib import Path
from typing import Any

import yaml

REPO_SEED = (
    Path(__file__).resolve().parents[1] / "simulator" / "toobit_follower_sim" / "default_seed.yaml"
)

# The follower whose two keys (read-write demo key, read-only key) the fuzzer uses.
FOLLOWER_ID = 10001


@functools.cache
def default_seed() -> dict[str, Any]:
    path = REPO_SEED
    if not path.is_file():  # installed without the checkout: the package's copy, found
        # without importing the simulator (fuzz imports it only where it starts one)
        found = importlib.util.find_spec("toobit_follower_sim")
        if found is None or found.origin is None:
            raise LookupError("the simulator's default seed is not installed (toobit_follower_sim)")
        path = Path(found.origin).with_name("default_seed.yaml")
    with open(path, encoding="utf-8") as fh:
        data: dict[str, Any] = yaml.safe_load(fh)
    return data


def key_of(kind: str) -> str:
    """`read_only` or `read_write`: the ACTIVE key of follower 10001 with that permission."""
    permission = {"read_only": "READ_ONLY", "read_write": "READ_WRITE"}[kind]
    for entry in default_seed()["apiKeys"]:
        if (
            entry["accountId"] == FOLLOWER_ID
            and entry["permission"] == permission
            and entry.get("status", "ACTIVE") == "ACTIVE"
        ):
            return str(entry["key"])
    raise LookupError(f"the default seed has no active {permission} key of account {FOLLOWER_ID}")


def leader_ids() -> list[int]:
    return [int(leader["id"]) for leader in default_seed()["leaders"]]
