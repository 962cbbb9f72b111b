"""What the running checks are checking: which target, which key, which admin access.

The runner passes these to the schemathesis subprocess through environment
variables (`FUZZ_*`, read by `fuzz.hooks`); in-process tests call `configure()`.
The checks read `current()`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from fuzz.admin import AdminClient
from fuzz.auth import SignerByTag

Target = Literal["embedded", "live"]
KeyProfile = Literal["read-write", "read-only"]

ENV_TARGET = "FUZZ_TARGET"
ENV_KEY_PROFILE = "FUZZ_KEY_PROFILE"
ENV_ADMIN_URL = "FUZZ_ADMIN_URL"
ENV_ADMIN_TOKEN = "FUZZ_ADMIN_TOKEN"  # noqa: S105 - a variable name
ENV_TIMESTAMP_LEAD_MS = "FUZZ_TIMESTAMP_LEAD_MS"


@dataclass
class Settings:
    target: Target = "embedded"
    key_profile: KeyProfile = "read-write"
    # Set only against the embedded simulator: state digests before/after writes.
    admin: AdminClient | None = None
    # Strings that must never appear in a response (the secrets in use).
    secrets: tuple[str, ...] = field(default=(), repr=False)
    # Signs each request with the key of its operation's tag (fuzz.auth.SignerByTag).
    signer: SignerByTag | None = None
    # Called after every response (the live runner stops on 429/418 with it).
    on_response: Callable[[Any, Any], None] | None = None

    @property
    def embedded(self) -> bool:
        return self.target == "embedded"

    @property
    def read_only(self) -> bool:
        return self.key_profile == "read-only"


_current = Settings()


def configure(settings: Settings) -> Settings:
    global _current
    _current = settings
    return settings


def current() -> Settings:
    return _current
