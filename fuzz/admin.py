"""The simulator's admin endpoints: `POST /_sim/reset` and `GET /_sim/state`.

Used only against the embedded simulator (never a live host): reset to the seed
between passes, and the state digest before/after each write for the checks.
Works over HTTP (`base_url`) or in-process against the ASGI app (`app`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import requests

RESET_PATH = "/_sim/reset"
STATE_PATH = "/_sim/state"
ADMIN_TOKEN_HEADER = "X-Sim-Admin-Token"  # noqa: S105 - a header name


class AdminError(RuntimeError):
    pass


@dataclass
class AdminClient:
    base_url: str | None = None
    app: Any = None
    token: str | None = field(default=None, repr=False)
    timeout: float = 10.0
    _session: requests.Session | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        if (self.base_url is None) == (self.app is None):
            raise ValueError("AdminClient needs exactly one of base_url and app")

    @contextlib.contextmanager
    def _client(self) -> Iterator[requests.Session]:
        if self.app is not None:
            from schemathesis.python import asgi

            with asgi.get_client(self.app) as client:
                yield client
        else:
            if self._session is None:
                self._session = requests.Session()
                self._session.trust_env = False  # loopback only, never a proxy
            yield self._session

    def _url(self, path: str) -> str:
        return (self.base_url or "http://testserver").rstrip("/") + path

    def _headers(self) -> dict[str, str]:
        return {ADMIN_TOKEN_HEADER: self.token} if self.token else {}

    def _request(self, method: str, path: str) -> requests.Response:
        with self._client() as client:
            response = client.request(
                method, self._url(path), headers=self._headers(), timeout=self.timeout
            )
        if response.status_code != 200:
            raise AdminError(
                f"{method} {path} answered {response.status_code}: {response.text[:200]}"
            )
        return response

    def reset(self) -> None:
        self._request("POST", RESET_PATH)

    def state(self) -> dict[str, Any]:
        data: dict[str, Any] = self._request("GET", STATE_PATH).json()
        return data

    def digest(self) -> str:
        state = self.state()
        digest = state.get("digest") or state.get("sha256")
        if not isinstance(digest, str):
            raise AdminError(f"{STATE_PATH} carries no digest (keys: {sorted(state)})")
        return digest

    def close(self) -> None:
        if self._session is not None:
            self._session.close()
            self._session = None
