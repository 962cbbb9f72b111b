"""``toobit-follower``: the command line of the Toobit copy-trading follower API.

Every command goes through :class:`toobit_follower.FollowerClient`; this module parses
arguments, finds credentials and turns exceptions into a message, a hint and an exit
code (see ``EXIT_CODES``). The commands come from the operation table (``_commands``):
an operation added to ``openapi.yaml`` gets its command through ``make generate`` alone,
as a field gets its flag and column and an error code its exit code.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import textwrap
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import IO, Any, Final

from pydantic import ValidationError
from toobit_follower import (
    APIConnectionError,
    APIError,
    AuthenticationError,
    FollowerNotFoundError,
    HasOpenPositionsError,
    InvalidRequestError,
    OutcomeUnknownError,
    PermissionDeniedError,
    RateLimitError,
    TimestampError,
    ToobitError,
    UnexpectedResponseError,
    UnknownServerError,
    error_class,
)
from toobit_follower import constants as C
from toobit_follower._secret import mask_api_key
from toobit_follower_models.errors import ERROR_TABLE, ErrorCode

from . import _commands, _conformance
from ._commands import ascii_int
from ._context import (
    EXIT_AUTH,
    EXIT_HAS_POSITIONS,
    EXIT_INTERRUPTED,
    EXIT_INVALID,
    EXIT_NOT_FOUND,
    EXIT_OK,
    EXIT_OTHER,
    EXIT_PERMISSION,
    EXIT_RATE_LIMITED,
    EXIT_UNKNOWN_OUTCOME,
    EXIT_USAGE,
    PROG,
    Context,
    UsageError,
    base_url,
)
from ._output import millis_to_utc
from ._profiles import (
    PROFILES_ENV,
    CredentialsError,
    ProfileError,
    default_profiles_path,
    resolve_credentials,
)

__all__ = ["EXIT_CODES", "Context", "build_parser", "describe", "main", "report"]

# Each exit code, what it covers, and the exception families that exit with it. An
# error takes the row of its most specific class (HasOpenPositionsError is an
# InvalidRequestError too, and exits 7, not 5). Error codes are not listed: the spec's
# table puts each code in a family, and `--help` shows which codes that makes.
_EXITS: Final[tuple[tuple[int, str, tuple[type[BaseException], ...]], ...]] = (
    (EXIT_OK, "success", ()),
    (EXIT_OTHER, "any other error (also: cancel not confirmed)", ()),
    (
        EXIT_USAGE,
        "usage: bad arguments or file, or cancel without --yes when not interactive",
        (UsageError,),
    ),
    (
        EXIT_AUTH,
        "credentials: missing or malformed, profile refused, or rejected by the server",
        (ProfileError, CredentialsError, AuthenticationError, TimestampError),
    ),
    (
        EXIT_PERMISSION,
        "permission: the key or the account may not do this",
        (PermissionDeniedError,),
    ),
    (
        EXIT_INVALID,
        "invalid request: a parameter refused by the server or by the client before sending",
        (InvalidRequestError, ValidationError, ValueError, TypeError),
    ),
    (EXIT_NOT_FOUND, "no follow relation or no such position", (FollowerNotFoundError,)),
    (EXIT_HAS_POSITIONS, "cancel refused: copy positions still open", (HasOpenPositionsError,)),
    (EXIT_RATE_LIMITED, "rate limited or IP banned", (RateLimitError,)),
    (
        EXIT_UNKNOWN_OUTCOME,
        "no usable answer: connection failed, timeout, server error, not JSON; for a write"
        " the outcome is unknown",
        (APIConnectionError, OutcomeUnknownError, UnknownServerError, UnexpectedResponseError),
    ),
    (EXIT_INTERRUPTED, "interrupted (Ctrl-C)", (KeyboardInterrupt,)),
)


def _with_classes(text: str, classes: tuple[type[BaseException], ...]) -> str:
    names = [c.__name__ for c in classes if issubclass(c, ToobitError)]
    return f"{text} ({', '.join(names)})" if names else text


EXIT_CODES: Final[tuple[tuple[int, str], ...]] = tuple(
    (code, _with_classes(text, classes)) for code, text, classes in _EXITS
)
"""(exit code, what it covers): the table of ``--help`` and the README."""


def exit_code_for(error: type[BaseException] | BaseException) -> int:
    """The exit code of an exception (or exception class): the row of its most specific
    class among ``_EXITS``, else 1."""
    mro = (error if isinstance(error, type) else type(error)).__mro__
    return min(
        ((mro.index(cls), code) for code, _, classes in _EXITS for cls in classes if cls in mro),
        default=(0, EXIT_OTHER),
    )[1]


def spec_codes_by_exit() -> dict[int, list[int]]:
    """The spec's error codes under the exit code of the class each one raises."""
    found: dict[int, list[int]] = {}
    for row in ERROR_TABLE:
        codes = found.setdefault(exit_code_for(error_class(row.http_status, row.code)), [])
        if row.code not in codes:
            codes.append(row.code)
    return found


# ---- parser -------------------------------------------------------------------------
def _epilog() -> str:
    by_exit = spec_codes_by_exit()
    lines = []
    for code, text in EXIT_CODES:
        spec = by_exit.get(code)
        if spec:
            text += f"; codes {', '.join(map(str, spec))}"
        lines.append(
            textwrap.fill(text, 88, initial_indent=f"  {code:>3}  ", subsequent_indent=" " * 7)
        )
    codes = "\n".join(lines)
    return f"""\
credentials (first found wins):
  --profile NAME      profile NAME of the profile file
  environment         {C.API_KEY_ENV} and {C.API_SECRET_ENV} ({C.BASE_URL_ENV} optional)
  [default] profile   of the profile file, when it exists
  The profile file is {default_profiles_path()}
  (or --profiles-file / ${PROFILES_ENV}); TOML, one [name] table per profile with
  api_key, api_secret and optionally base_url and recv_window. It must be mode 0600
  or narrower and yours, or it is refused.

output:
  Tables for people: a value not set shows as -, an enum value the spec does not list
  as itself with "(unknown)". --json prints the answer's data as the exchange sent it:
  its field names and exact strings (amounts are decimal strings, never JSON numbers;
  a value not set stays "" or null). Errors go to stderr (as JSON with --json).

exit codes (the error codes of each family are the spec's):
{codes}

examples:
  {PROG} leaders
  {PROG} orders history --all --json > history.json
  {PROG} config get 123456789 --json > config.json
  {PROG} config set 123456789 --file config.json --real-invest-amount 100
  {PROG} positions stop 123456789 BTC-SWAP-USDT --is-long 1 --stop-profit-rate 0.1
  {PROG} leaders cancel 123456789 --yes
  {PROG} --base-url http://127.0.0.1:8080 time
"""


def _common_options(suppress: bool) -> argparse.ArgumentParser:
    """Options accepted before and after the command (``-j`` anywhere)."""
    default: Any = argparse.SUPPRESS if suppress else None
    common = argparse.ArgumentParser(add_help=False)
    group = common.add_argument_group("global options")
    group.add_argument(
        "--profile", metavar="NAME", default=default, help="use profile NAME of the profile file"
    )
    group.add_argument(
        "--profiles-file",
        metavar="PATH",
        default=default,
        help=f"profile file (default: ${PROFILES_ENV} or ~/.config/toobit-follower/profiles.toml)",
    )
    group.add_argument(
        "--base-url",
        metavar="URL",
        default=default,
        help=f"API host (default: profile, ${C.BASE_URL_ENV}, or "
        f"{C.DEFAULT_BASE_URL}); the simulator's URL works",
    )
    group.add_argument(
        "--recv-window",
        metavar="MS",
        type=ascii_int,
        default=default,
        help=f"validity of a signed request in ms, {C.MIN_RECV_WINDOW}.."
        f"{C.MAX_RECV_WINDOW} (default {C.DEFAULT_RECV_WINDOW})",
    )
    group.add_argument(
        "--timeout",
        metavar="SECONDS",
        type=float,
        default=default,
        help="longest a command's call may take, every attempt and retry included"
        f" (default {C.DEFAULT_TIMEOUT:g})",
    )
    group.add_argument(
        "--attempt-timeout",
        metavar="SECONDS",
        type=float,
        default=default,
        help="longest one attempt may take before a GET or PUT is retried (default: a third"
        f" of --timeout, at most {C.DEFAULT_ATTEMPT_TIMEOUT:g})",
    )
    group.add_argument(
        "--max-wait",
        metavar="SECONDS",
        type=float,
        default=default,
        help="longest wait for a rate-limit window to reset before giving up"
        f" with exit {EXIT_RATE_LIMITED} (default {C.MAX_RATE_LIMIT_WAIT:g})",
    )
    group.add_argument(
        "-j",
        "--json",
        action="store_true",
        default=argparse.SUPPRESS if suppress else False,
        help="print JSON for scripts instead of tables",
    )
    return common


def build_parser() -> argparse.ArgumentParser:
    leaf = _common_options(suppress=True)
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Toobit copy-trading follower API from the command line: followed leaders,"
        " copy orders, follow config, position take-profit / stop-loss.",
        epilog=_epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[_common_options(suppress=False)],
    )
    from importlib.metadata import PackageNotFoundError, version

    try:
        own_version = version("toobit-follower")
    except PackageNotFoundError:  # pragma: no cover - running from a bare checkout
        own_version = "unknown"
    parser.add_argument("--version", action="version", version=f"%(prog)s {own_version}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    _commands.add_commands(commands, leaf)
    _conformance.add_command(commands, leaf)
    return parser


# ---- errors -------------------------------------------------------------------------
@dataclass
class Failure:
    exit_code: int
    title: str
    code: int | None = None
    meaning: str | None = None
    status: int | None = None
    server_msg: str | None = None
    hint: str | None = None


def _key_line(ctx: Context) -> str:
    creds = ctx.credentials
    if creds is None:
        return f"base URL {ctx.base_url}"
    return f"key {mask_api_key(creds.api_key)} (from {creds.source}) on base URL {ctx.base_url}"


def _clock_hint(ctx: Context) -> str:
    recv = ctx.args.recv_window or C.DEFAULT_RECV_WINDOW
    fix = f"Sync the clock (NTP) or raise --recv-window (at most {C.MAX_RECV_WINDOW})."
    try:
        server_ms, local_ms, rtt, path = _commands.measure_clock(ctx)
    except Exception as exc:
        return (
            "clock skew: this machine's clock and the server's differ by more than the"
            f" recvWindow ({recv} ms); measuring the offset failed too ({type(exc).__name__})."
            f" {fix}"
        )
    offset = server_ms - local_ms
    direction = "behind" if offset > 0 else "ahead of"
    slow = (
        f" The round trip alone ({rtt} ms) is about as long as recvWindow: raise it."
        if rtt * 2 >= recv
        else ""
    )
    return (
        f"clock skew: measured from {ctx.base_url}{path}, this machine's clock is"
        f" {abs(offset)} ms {direction} the server's (offset {offset:+d} ms, round trip"
        f" {rtt} ms; recvWindow {recv} ms). A request is accepted only if its timestamp is"
        f" at most recvWindow behind server time and not ahead of it.{slow} {fix}"
    )


def _api_hint(ctx: Context, error: APIError, meaning: str | None) -> str | None:
    """A hint for the error: the operation's own for its code (x-cli.hints), else its
    family's (or, where a hint is code-specific, its code's)."""
    leader = ctx.values.get("leaderUserId")  # the follow relation the request is about
    own = _commands.hint(ctx, error.code)
    if own is not None:
        return own
    if isinstance(error, TimestampError):
        return _clock_hint(ctx)
    if error.code == ErrorCode.INVALID_SIGNATURE:
        return (
            f"the signature was refused: the secret does not belong to {_key_line(ctx)}"
            " (check the secret that goes with this key; it is never printed)"
        )
    if isinstance(error, AuthenticationError | PermissionDeniedError):
        return f"{meaning or 'refused'}: used {_key_line(ctx)}"
    if isinstance(error, FollowerNotFoundError):
        about = f" leader {leader}" if leader is not None else " any leader"
        return f"this account does not follow{about} (see `{PROG} leaders`)"
    if isinstance(error, HasOpenPositionsError):
        return (
            f"close the copy positions under leader {leader} first (see `{PROG} orders"
            " current`), then cancel again"
        )
    if isinstance(error, RateLimitError):
        reset = error.rate_limit.reset_timestamp_ms
        when = f" until {millis_to_utc(reset)}" if reset else ""
        return f"request weight exceeded: wait{when} before retrying"
    if isinstance(error, InvalidRequestError):
        return "the server's message names the parameter it refused"
    if isinstance(error, UnexpectedResponseError):
        return f"the answer from {ctx.base_url} is not the API's JSON (a gateway page?)"
    if isinstance(error, UnknownServerError):
        return "the server failed; try again later"
    return None


def _meaning(error: APIError | OutcomeUnknownError) -> str | None:
    """The spec's meaning of the error's code (``None`` for a code it does not list)."""
    api_error = error.error if isinstance(error, OutcomeUnknownError) else error
    meaning = getattr(api_error, "meaning", None)
    return meaning if isinstance(meaning, str) else None


def describe(ctx: Context, error: BaseException) -> Failure:
    """The message, hint and exit code for an exception (never shows a secret)."""
    exit_code = exit_code_for(error)
    if isinstance(error, OutcomeUnknownError):
        return Failure(
            exit_code,
            f"outcome unknown: {error.error}",
            code=error.code,
            meaning=_meaning(error),
            status=error.status_code,
            hint="the change may or may not have been applied; check the state (for example"
            f" `{PROG} leaders` or `{PROG} config get ID`) before repeating it",
        )
    if isinstance(error, APIError):
        meaning = _meaning(error)
        if error.code is not None:
            title = f"{error.code} {meaning or 'error'}"
        else:
            title = f"HTTP {error.status_code}: {error.msg}"
        return Failure(
            exit_code,
            title,
            code=error.code,
            meaning=meaning,
            status=error.status_code,
            server_msg=error.msg if error.code is not None else getattr(error, "excerpt", None),
            hint=_api_hint(ctx, error, meaning),
        )
    if isinstance(error, APIConnectionError):
        maybe = "; a write may have been applied before the connection broke"
        return Failure(
            exit_code,
            f"no answer from {ctx.base_url}: {error.message}",
            hint="check --base-url and the network" + (maybe if ctx.write else ""),
        )
    if isinstance(error, ValidationError):  # the client checks values before sending
        detail = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'value'}: {e['msg']}" for e in error.errors()
        )
        return Failure(exit_code, f"invalid request (not sent): {detail}")
    if exit_code == EXIT_INVALID:
        return Failure(exit_code, f"invalid request (not sent): {error}")
    if exit_code != EXIT_OTHER or isinstance(error, ToobitError):
        return Failure(exit_code, str(error))
    return Failure(exit_code, f"{type(error).__name__}: {error}")


def report(ctx: Context, failure: Failure) -> None:
    if ctx.json:
        payload: dict[str, Any] = {"exitCode": failure.exit_code, "error": failure.title}
        if failure.code is not None:
            payload["code"] = failure.code
            payload["meaning"] = failure.meaning
        if failure.status is not None:
            payload["httpStatus"] = failure.status
        if failure.server_msg:
            payload["msg"] = failure.server_msg
        if failure.hint:
            payload["hint"] = failure.hint
        ctx.err.write(json.dumps({"error": payload}, ensure_ascii=False) + "\n")
        return
    lines = [f"{PROG}: error: {failure.title}"]
    if failure.status is not None or failure.server_msg:
        said = f"  server said: {failure.server_msg}" if failure.server_msg else "  server said:"
        if failure.status is not None:
            said += f" (HTTP {failure.status})"
        lines.append(said)
    if failure.hint:
        lines.append(f"  hint: {failure.hint}")
    ctx.err.write("\n".join(lines) + "\n")


# ---- entry point --------------------------------------------------------------------
def main(
    argv: Sequence[str] | None = None,
    *,
    stdout: IO[str] | None = None,
    stderr: IO[str] | None = None,
    stdin: IO[str] | None = None,
    environ: dict[str, str] | None = None,
) -> int:
    """Run the command line; returns the exit code (the console script exits with it)."""
    out = stdout if stdout is not None else sys.stdout
    err = stderr if stderr is not None else sys.stderr
    parser = build_parser()
    try:  # argparse prints to sys.stdout / sys.stderr: send it to ours
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, or a usage error (exit 2)
        return int(exc.code) if isinstance(exc.code, int) else EXIT_USAGE
    ctx = Context(
        args=args,
        out=out,
        err=err,
        stdin=stdin if stdin is not None else sys.stdin,
        environ=dict(os.environ) if environ is None else environ,
    )
    try:
        if args.recv_window is not None and not (
            C.MIN_RECV_WINDOW <= args.recv_window <= C.MAX_RECV_WINDOW
        ):
            raise UsageError(
                f"--recv-window must be {C.MIN_RECV_WINDOW}..{C.MAX_RECV_WINDOW} ms,"
                f" got {args.recv_window}"
            )
        try:
            ctx.credentials = resolve_credentials(args.profile, args.profiles_file, ctx.environ)
        except CredentialsError:
            if ctx.operation is None or ctx.operation.signed:
                raise
            ctx.credentials = None  # an unsigned call (the server time) needs no key
        ctx.base_url = base_url(args, ctx.credentials, ctx.environ)
        run: Callable[[Context], int] = args.cli_run
        return run(ctx)
    except KeyboardInterrupt:
        maybe = "; the change may or may not have been applied, check before repeating it"
        err.write(f"{PROG}: interrupted{maybe if ctx.write else ''}\n")
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # `... | head`
        return EXIT_OK
    except Exception as exc:
        failure = describe(ctx, exc)
        report(ctx, failure)
        return failure.exit_code
