"""What every command shares: the exit codes, the run's context, the client it calls."""

from __future__ import annotations

import argparse
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import IO, Any, Final

import toobit_follower
from toobit_follower import _client
from toobit_follower import constants as C
from toobit_follower_api.api import ROLES
from toobit_follower_models.operations import Operation

from ._output import Column, render_pairs, render_table
from ._profiles import Credentials, CredentialsError

PROG: Final = "toobit-follower"

EXIT_OK: Final = 0
EXIT_OTHER: Final = 1
EXIT_USAGE: Final = 2
EXIT_AUTH: Final = 3
EXIT_PERMISSION: Final = 4
EXIT_INVALID: Final = 5
EXIT_NOT_FOUND: Final = 6
EXIT_HAS_POSITIONS: Final = 7
EXIT_RATE_LIMITED: Final = 8
EXIT_UNKNOWN_OUTCOME: Final = 9
EXIT_INTERRUPTED: Final = 130

# An unsigned call (the server time) needs no key, but FollowerClient wants one: these
# stand in. An unsigned request carries no key header, so they never leave the process.
# They can go once the client takes no credentials for unsigned calls.
_NO_KEY: Final = "unsigned"
_NO_SECRET: Final = "unsigned"  # noqa: S105 - a placeholder, never used to sign


class UsageError(Exception):
    """Bad arguments found after parsing (exit 2)."""


def isatty(stream: IO[str]) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


@dataclass
class Context:
    """What a command and the error printer need to know."""

    args: argparse.Namespace
    out: IO[str]
    err: IO[str]
    stdin: IO[str]
    environ: dict[str, str]
    credentials: Credentials | None = None
    base_url: str = C.DEFAULT_BASE_URL
    values: dict[str, Any] = field(default_factory=dict)
    """The command's request by wire name (parameters and body fields), for hints."""

    @property
    def creds(self) -> Credentials:
        if self.credentials is None:  # main() resolves them for every signed command
            raise CredentialsError("no credentials")
        return self.credentials

    @property
    def operation(self) -> Operation | None:
        """The operation the command runs (None: `conformance`)."""
        op: Operation | None = getattr(self.args, "cli_operation", None)
        return op

    @property
    def write(self) -> bool:
        """Whether the command sends a change."""
        op = self.operation
        return op is not None and op.write and not getattr(self.args, "dry_run", False)

    @property
    def json(self) -> bool:
        return bool(self.args.json)

    @property
    def terminal(self) -> bool:
        return isatty(self.out)

    def table(self, title: str | None, columns: Sequence[Column], rows: Sequence[Any]) -> None:
        render_table(title, columns, rows, stream=self.out, terminal=self.terminal)

    def pairs(self, title: str | None, pairs: Sequence[tuple[str, Any]]) -> None:
        render_pairs(title, pairs, stream=self.out, terminal=self.terminal)

    def note(self, text: str) -> None:
        self.err.write(text + "\n")


def base_url(args: argparse.Namespace, creds: Credentials | None, env: dict[str, str]) -> str:
    url = (
        args.base_url
        or (creds.base_url if creds is not None else None)
        or env.get(C.BASE_URL_ENV)
        or C.DEFAULT_BASE_URL
    )
    return str(url).rstrip("/")


def method_name(op: Operation) -> str:
    """The client's public method for ``op``: ``x-python.name``, else its python_name."""
    x_python = op.extensions.get("x-python")
    name = x_python.get("name") if isinstance(x_python, Mapping) else None
    return name if isinstance(name, str) else op.python_name


def client_class(op: Operation | None) -> Any:
    """The client of the role whose generated methods include ``op``'s (a follower's key
    makes a FollowerClient, a leader's a LeaderClient); looked up at each call, so that a
    test can stand a client with a fake transport in."""
    if op is not None:
        # decided on the package's own classes (a test may stand a factory in for them),
        # the one found looked up by name
        for name in dict.fromkeys(ROLES.values()):
            if hasattr(getattr(_client, name), method_name(op)):
                return getattr(toobit_follower, name)
    return toobit_follower.FollowerClient


@contextmanager
def open_client(ctx: Context) -> Iterator[Any]:
    """A client of the command's role, with the context's credentials and options."""
    creds = ctx.credentials
    kwargs: dict[str, Any] = {"base_url": ctx.base_url, "recv_window": C.DEFAULT_RECV_WINDOW}
    if creds is None:
        kwargs |= {"api_key": _NO_KEY, "api_secret": _NO_SECRET}
    else:
        kwargs |= {"api_key": creds.api_key, "api_secret": creds.api_secret}
        if creds.recv_window is not None:
            kwargs["recv_window"] = creds.recv_window
        if creds.body_signing is not None:  # a profile's query+body, query-only or auto
            kwargs["body_signing"] = creds.body_signing
    if ctx.args.recv_window is not None:
        kwargs["recv_window"] = ctx.args.recv_window
    if ctx.args.timeout is not None:
        kwargs["timeout"] = ctx.args.timeout
    if ctx.args.attempt_timeout is not None:
        kwargs["attempt_timeout"] = ctx.args.attempt_timeout
    if ctx.args.max_wait is not None:
        kwargs["max_rate_limit_wait"] = ctx.args.max_wait
    # looked up at each call, so that a test can stand a client with a fake transport in
    with client_class(ctx.operation)(**kwargs) as client:
        yield client
