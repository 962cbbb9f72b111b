"""Key pairs the fuzzer signs with, one per side of copy trading. Secrets never show in a repr.

Each operation is signed with the key of its side, the operation's tag (`follower`,
`leader`: `fuzz.spec`, from the generated operation table), chosen per request by
`fuzz.auth.SignerByTag`.

Embedded/in-process runs use the simulator's default seed. Follower side: the exchange's
published demo key (read-write, follower 10001) and the seed's read-only key for the same
follower, both with the published demo secret. Leader side: the demo leader's read-write
and read-only keys (`LEADER_API_KEY`, `LEADER_READONLY_API_KEY` and their secrets, from
`toobit_follower_sim.testing`), the leader the demo follower follows.

A live run takes the follower pair from TOOBIT_API_KEY / TOOBIT_API_SECRET and, when both
are set, a leader pair from TOOBIT_LEADER_API_KEY / TOOBIT_LEADER_API_SECRET (the names
`toobit-follower conformance` reads); without a leader pair the leader operations are
left out of a live run.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

# The exchange's published demo pair (docs/reference/basic-information.md, openapi.yaml).
DEMO_API_KEY = "SRQGN9M8Sr87nbfKsaSxm33Y6CmGVtUu9Erz73g9vHFNn36VROOKSaWBQ8OSOtSq"
DEMO_SECRET = "30lfjDT51iOG1kYZnDoLNynOyMdIcmQyO1XYfxzYOmQfx9tjiI98Pzio4uhZ0Uk2"  # noqa: S105 - published demo secret

API_KEY_ENV = "TOOBIT_API_KEY"
API_SECRET_ENV = "TOOBIT_API_SECRET"  # noqa: S105 - a variable name
LEADER_KEY_ENV = "TOOBIT_LEADER_API_KEY"
LEADER_SECRET_ENV = "TOOBIT_LEADER_API_SECRET"  # noqa: S105 - a variable name

FOLLOWER = "follower"
LEADER = "leader"
"""The tags of the spec's two sides (`tags:` in openapi.yaml): the key of an operation is
its tag's. tests/test_fuzz_units.py checks that every tag of the operation table has keys."""


class MissingKeys(RuntimeError):
    """The live mode needs TOOBIT_API_KEY and TOOBIT_API_SECRET."""


@dataclass(frozen=True)
class KeyPair:
    api_key: str
    secret: str = field(repr=False)
    name: str = "key"

    def __repr__(self) -> str:
        masked = f"{self.api_key[:4]}...{self.api_key[-4:]}" if len(self.api_key) > 8 else "****"
        return f"KeyPair({self.name}, {masked}, secret=***)"


def demo() -> KeyPair:
    return KeyPair(DEMO_API_KEY, DEMO_SECRET, "demo read-write")


def read_only() -> KeyPair:
    """The seed's read-only key of follower 10001 (signed with the demo secret)."""
    return KeyPair(_seed_key("read_only"), DEMO_SECRET, "seed read-only")


def leader() -> KeyPair:
    """The seed's read-write key of the demo leader (the leader the demo follower follows)."""
    from toobit_follower_sim import testing

    return KeyPair(testing.LEADER_API_KEY, testing.LEADER_API_SECRET, "seed leader read-write")


def leader_read_only() -> KeyPair:
    """The seed's read-only key of the same leader."""
    from toobit_follower_sim import testing

    return KeyPair(
        testing.LEADER_READONLY_API_KEY,
        testing.LEADER_READONLY_API_SECRET,
        "seed leader read-only",
    )


_SEED_KEYS = {
    (FOLLOWER, "read-write"): demo,
    (FOLLOWER, "read-only"): read_only,
    (LEADER, "read-write"): leader,
    (LEADER, "read-only"): leader_read_only,
}


def seed_keys(profile: str) -> dict[str, KeyPair]:
    """The seed's keys of `profile` (`read-write`, `read-only`), by tag."""
    return {tag: make() for (tag, kind), make in _SEED_KEYS.items() if kind == profile}


def from_env(environ: Mapping[str, str] | None = None) -> KeyPair:
    env = os.environ if environ is None else environ
    key = env.get(API_KEY_ENV, "").strip()
    secret = env.get(API_SECRET_ENV, "").strip()
    missing = [name for name, value in ((API_KEY_ENV, key), (API_SECRET_ENV, secret)) if not value]
    if missing:
        raise MissingKeys(
            "live fuzzing needs the key pair in the environment: "
            + " and ".join(missing)
            + " not set (the run signs every request; nothing was sent)"
        )
    return KeyPair(key, secret, "live")


def leader_from_env(environ: Mapping[str, str] | None = None) -> KeyPair | None:
    """The live leader pair, or None when neither variable is set (half a pair is refused)."""
    env = os.environ if environ is None else environ
    key = env.get(LEADER_KEY_ENV, "").strip()
    secret = env.get(LEADER_SECRET_ENV, "").strip()
    if not key and not secret:
        return None
    if not (key and secret):
        missing = LEADER_SECRET_ENV if key else LEADER_KEY_ENV
        raise MissingKeys(
            f"{missing} is not set: set both {LEADER_KEY_ENV} and {LEADER_SECRET_ENV}, or"
            " neither (nothing was sent)"
        )
    return KeyPair(key, secret, "live leader")


def live_keys(environ: Mapping[str, str] | None = None) -> dict[str, KeyPair]:
    """The live keys by tag: the follower pair always, the leader pair when given."""
    found = {FOLLOWER: from_env(environ)}
    pair = leader_from_env(environ)
    if pair is not None:
        found[LEADER] = pair
    return found


def _seed_key(kind: str) -> str:
    from fuzz import seed

    return seed.key_of(kind)
