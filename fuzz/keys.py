"""Key pairs the fuzzer signs with. Secrets never show in a repr.

Embedded/in-process runs use the simulator's default seed: the exchange's published
demo key (read-write, follower 10001) and the seed's read-only key for the same
follower; both use the published demo secret. A live run takes the key pair from
TOOBIT_API_KEY / TOOBIT_API_SECRET.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

# The exchange's published demo pair (docs/reference/basic-information.md, openapi.yaml).
DEMO_API_KEY = "SRQGN9M8Sr87nbfKsaSxm33Y6CmGVtUu9Erz73g9vHFNn36VROOKSaWBQ8OSOtSq"
DEMO_SECRET = "30lfjDT51iOG1kYZnDoLNynOyMdIcmQyO1XYfxzYOmQfx9tjiI98Pzio4uhZ0Uk2"  # noqa: S105 - published demo secret

API_KEY_ENV = "TOOBIT_API_KEY"
API_SECRET_ENV = "TOOBIT_API_SECRET"  # noqa: S105 - a variable name


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


def from_env(environ: dict[str, str] | None = None) -> KeyPair:
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


def _seed_key(kind: str) -> str:
    from fuzz import seed

    return seed.key_of(kind)
