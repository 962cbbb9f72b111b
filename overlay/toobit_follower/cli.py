"""``toobit-follower``: the command line of the Toobit copy-trading follower API.

Every command goes through :class:`toobit_follower.FollowerClient`; this module only
parses arguments, finds credentials, prints results and turns exceptions into a
message, a hint and an exit code (see ``EXIT_CODES``).

The follow config's flags, the tables' columns and the ``--json`` output come from the
generated models (``toobit_follower_models``), and the error codes and their meanings
from the spec's error table: a field or code added to ``openapi.yaml`` reaches the
command line through ``make generate`` alone. A field is named here only where a rule
acts on it.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import sys
import textwrap
import time
import typing
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import IO, Any, Final

import httpx
from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo
from toobit_follower_models import (
    CurrentOrder,
    FollowConfig,
    FollowConfigUpdate,
    HistoryOrder,
    Leader,
    ServerTime,
    StopProfitLossUpdate,
)
from toobit_follower_models.errors import ERROR_TABLE, ErrorCode

from . import _constants as C
from ._cli_output import (
    Column,
    dump_json,
    exact,
    field_description,
    millis_to_utc,
    model_columns,
    render_pairs,
    render_record,
    render_table,
    unknown,
    unoptional,
)
from ._cli_profiles import (
    PROFILES_ENV,
    Credentials,
    CredentialsError,
    ProfileError,
    default_profiles_path,
    resolve_credentials,
)
from ._exceptions import (
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
from ._operations import request_body
from ._secret import mask_api_key

__all__ = ["EXIT_CODES", "main"]

PROG: Final = "toobit-follower"


class UsageError(Exception):
    """Bad arguments found after parsing (exit 2)."""


# ---- exit codes ---------------------------------------------------------------------
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


# ---- argument types -----------------------------------------------------------------
_DECIMAL_RE: Final = re.compile(r"-?[0-9]+(\.[0-9]+)?")
_INT_RE: Final = re.compile(r"-?[0-9]+")
_ID_RE: Final = re.compile(r"[0-9]+")


def _decimal(text: str) -> Decimal:
    """An exact decimal typed by the user in plain ASCII notation (no float on the way)."""
    if not _DECIMAL_RE.fullmatch(text.strip()):
        raise argparse.ArgumentTypeError(f"not a plain decimal number: {text!r}")
    return Decimal(text.strip())


def _int(text: str) -> int:
    """An integer of ASCII digits, as typed: ``int()`` alone would take ``1_000``, digits
    of other scripts, ``+1`` and surrounding spaces."""
    if not _INT_RE.fullmatch(text):
        raise argparse.ArgumentTypeError(f"not an integer of ASCII digits: {text!r}")
    return int(text)


def _leader_id(text: str) -> int:
    value = int(text) if _ID_RE.fullmatch(text) else 0
    if value < 1:
        raise argparse.ArgumentTypeError(
            f"a leader user ID is a positive integer of ASCII digits, got {text!r}"
        )
    return value


# The follow config's leader is the command's LEADER_ID argument, not a flag.
_LEADER_FIELD: Final = "leader_user_id"
_FIELD_DEST: Final = "field:"
"""Prefix of a field option's dest, so no field name can clash with another option's."""


def _add_field_option(
    parser: argparse._ActionsContainer, model: type[BaseModel], name: str
) -> None:
    """``--field-name`` for a field of ``model``: its type, choices and help from the model."""
    info: FieldInfo = model.model_fields[name]
    kind = unoptional(info.annotation)
    flag = "--" + name.replace("_", "-")
    help_text = field_description(model, name).replace("%", "%%")
    if name not in FollowConfig.model_fields and info.is_required():
        help_text += " Required: `config get` does not return it."
    if kind is bool:
        parser.add_argument(
            flag,
            dest=_FIELD_DEST + name,
            action=argparse.BooleanOptionalAction,
            default=None,
            help=help_text,
        )
        return
    options: dict[str, Any] = {"metavar": "TEXT", "type": str}
    if typing.get_origin(kind) is typing.Literal:
        values = typing.get_args(kind)
        number = all(isinstance(v, int) for v in values)
        options = {"type": _int if number else str, "choices": values, "metavar": None}
    elif kind is Decimal:
        options = {"type": _decimal, "metavar": "DECIMAL"}
    elif kind is int:
        options = {"type": _int, "metavar": "INT"}
    parser.add_argument(flag, dest=_FIELD_DEST + name, default=None, help=help_text, **options)


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
  {PROG} positions stop 123456789 BTC-SWAP-USDT --long --take-profit 0.1 --stop-loss 0.2
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
        type=_int,
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

    def sub(group: Any, name: str, help_text: str, **kwargs: Any) -> argparse.ArgumentParser:
        p: argparse.ArgumentParser = group.add_parser(
            name, help=help_text, description=help_text, parents=[leaf], **kwargs
        )
        return p

    # leaders
    leaders = sub(commands, "leaders", "list the leaders you follow (or: leaders cancel ID)")
    leaders_cmds = leaders.add_subparsers(dest="leaders_command", metavar="SUBCOMMAND")
    sub(leaders_cmds, "list", "list the leaders you follow (the default)")
    cancel = sub(leaders_cmds, "cancel", "stop following a leader (asks first)")
    cancel.add_argument("leader_id", metavar="LEADER_ID", type=_leader_id)
    cancel.add_argument(
        "-y", "--yes", action="store_true", help="do not ask; required when not on a terminal"
    )

    # orders
    orders = sub(commands, "orders", "copy orders: open positions and history")
    orders_cmds = orders.add_subparsers(dest="orders_command", metavar="SUBCOMMAND", required=True)
    sub(orders_cmds, "current", "open copy positions")
    history = sub(orders_cmds, "history", "closed copy positions, one page or all")
    history.add_argument("--page", type=_int, default=None, help="page number (default 1)")
    history.add_argument(
        "--size",
        type=_int,
        default=None,
        help="rows per page, at most 100 (default 10; 100 with --all)",
    )
    history.add_argument("--all", action="store_true", help="walk every page")
    progress = history.add_mutually_exclusive_group()
    progress.add_argument(
        "--progress",
        dest="progress",
        action="store_true",
        default=None,
        help="show progress on stderr with --all (default: on a terminal)",
    )
    progress.add_argument("--no-progress", dest="progress", action="store_false")

    # config
    config = sub(commands, "config", "follow config of one leader")
    config_cmds = config.add_subparsers(dest="config_command", metavar="SUBCOMMAND", required=True)
    get = sub(config_cmds, "get", "show the follow config of a leader")
    get.add_argument("leader_id", metavar="LEADER_ID", type=_leader_id)
    set_ = sub(
        config_cmds,
        "set",
        "replace the follow config of a leader (fields not given keep their current value)",
        epilog="The update replaces the whole config. Fields come from --file (JSON, the"
        " exchange's names as `config get --json` prints them, or snake_case), then the"
        " options; any field still missing is taken from the current config. A required"
        " field that `config get` does not return must be given in the file or as an option.",
    )
    set_.add_argument("leader_id", metavar="LEADER_ID", type=_leader_id)
    set_.add_argument(
        "-f", "--file", metavar="FILE", help="JSON object with the fields ('-' reads stdin)"
    )
    set_.add_argument(
        "--dry-run", action="store_true", help="print the exact body that would be sent and stop"
    )
    fields = set_.add_argument_group("follow config fields (from the spec)")
    for name in FollowConfigUpdate.model_fields:
        if name != _LEADER_FIELD:
            _add_field_option(fields, FollowConfigUpdate, name)

    # positions
    positions = sub(commands, "positions", "open copy positions")
    positions_cmds = positions.add_subparsers(
        dest="positions_command", metavar="SUBCOMMAND", required=True
    )
    stop = sub(positions_cmds, "stop", "set take-profit / stop-loss of an open copy position")
    stop.add_argument("leader_id", metavar="LEADER_ID", type=_leader_id)
    stop.add_argument("symbol", metavar="SYMBOL", help="symbol ID, e.g. BTC-SWAP-USDT")
    side = stop.add_mutually_exclusive_group(required=True)
    side.add_argument("--long", dest="is_long", action="store_true", default=None)
    side.add_argument("--short", dest="is_long", action="store_false")
    stop.add_argument(
        "--take-profit",
        metavar="RATE",
        type=_decimal,
        help="take-profit rate (0.1 = 10 %%; 0 = off)",
    )
    stop.add_argument(
        "--stop-loss", metavar="RATE", type=_decimal, help="stop-loss rate (0.2 = 20 %%; 0 = off)"
    )
    stop.add_argument("--delay", metavar="SECONDS", type=_int, help="stop-loss delay")

    # time
    sub(commands, "time", "server time and this machine's clock offset (no key needed)")

    # conformance
    from .conformance import READ_ONLY_KEY_ENV, READ_ONLY_SECRET_ENV

    conformance = sub(
        commands,
        "conformance",
        "probe the host (about 17 requests that cannot change the account) and report where"
        " it agrees with the contract",
        epilog=f"A read-only key of the same account (--read-only-profile, or"
        f" ${READ_ONLY_KEY_ENV} and ${READ_ONLY_SECRET_ENV}) lets it tell the order of"
        " checks. Exit 0 when the report is complete, whatever the verdicts.",
    )
    conformance.add_argument(
        "--read-only-profile", metavar="NAME", help="profile of a read-only key (optional)"
    )
    conformance.add_argument(
        "--spacing",
        metavar="SECONDS",
        type=float,
        default=None,
        help="pause between two requests (default 0.3)",
    )
    conformance.add_argument(
        "--output",
        metavar="FILE",
        default="conformance.json",
        help="where the report for machines goes (default conformance.json)",
    )
    return parser


# ---- running ------------------------------------------------------------------------
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

    @property
    def creds(self) -> Credentials:
        if self.credentials is None:  # main() resolves them for every command but `time`
            raise CredentialsError("no credentials")
        return self.credentials

    @property
    def json(self) -> bool:
        return bool(self.args.json)

    @property
    def terminal(self) -> bool:
        return _isatty(self.out)

    def table(self, title: str | None, columns: Sequence[Column], rows: Sequence[Any]) -> None:
        render_table(title, columns, rows, stream=self.out, terminal=self.terminal)

    def pairs(self, title: str | None, pairs: Sequence[tuple[str, Any]]) -> None:
        render_pairs(title, pairs, stream=self.out, terminal=self.terminal)

    def note(self, text: str) -> None:
        self.err.write(text + "\n")


def _isatty(stream: IO[str]) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def _base_url(args: argparse.Namespace, creds: Credentials | None, env: dict[str, str]) -> str:
    url = (
        args.base_url
        or (creds.base_url if creds is not None else None)
        or env.get(C.BASE_URL_ENV)
        or C.DEFAULT_BASE_URL
    )
    return str(url).rstrip("/")


@contextmanager
def _client(ctx: Context) -> Iterator[Any]:
    from . import FollowerClient

    creds = ctx.creds
    recv_window = ctx.args.recv_window
    if recv_window is None:
        recv_window = creds.recv_window if creds.recv_window is not None else C.DEFAULT_RECV_WINDOW
    kwargs: dict[str, Any] = {
        "api_key": creds.api_key,
        "api_secret": creds.api_secret,
        "base_url": ctx.base_url,
        "recv_window": recv_window,
    }
    if creds.body_signing is not None:  # a profile's query+body, query-only or auto
        kwargs["body_signing"] = creds.body_signing
    if ctx.args.timeout is not None:
        kwargs["timeout"] = ctx.args.timeout
    if ctx.args.attempt_timeout is not None:
        kwargs["attempt_timeout"] = ctx.args.attempt_timeout
    if ctx.args.max_wait is not None:
        kwargs["max_rate_limit_wait"] = ctx.args.max_wait
    with FollowerClient(**kwargs) as client:
        yield client


# ---- commands -----------------------------------------------------------------------
_SIDES: Final = {0: "short", 1: "long"}  # IsLong: 0 short, 1 long


def _side(row: Any) -> str:
    side = _SIDES.get(row.is_long)
    return side if side is not None else unknown(row.is_long)  # an answer's enum is open


def _answer_data(response: httpx.Response) -> Any:
    """The answer's ``data`` exactly as the exchange wrote it, for ``--json``: strings
    and integers as sent (a 64-bit ID stays a string or a number, an unset value ``""``
    or ``null``); a JSON number with a fraction, which the spec does not expect, becomes
    an exact decimal string rather than a float."""
    return json.loads(response.content, parse_float=Decimal)["data"]


# Columns are the models' fields. Rules: an avatar is a URL, too wide for a table
# (--json has it); the direction reads as long / short.
_TABLE_RULES: Final[dict[str, Any]] = {
    "hidden": ("leader_avatar",),
    "shown_as": {"is_long": _side},
}
LEADER_COLUMNS: Final = model_columns(Leader, **_TABLE_RULES)
CURRENT_COLUMNS: Final = model_columns(CurrentOrder, **_TABLE_RULES)
HISTORY_COLUMNS: Final = model_columns(HistoryOrder, **_TABLE_RULES)


def cmd_leaders(ctx: Context) -> int:
    with _client(ctx) as client:
        leaders, response = client.with_raw_response.list_leaders()
    if ctx.json:
        dump_json(_answer_data(response), ctx.out)
    elif not leaders:
        ctx.note("You follow no leader.")
    else:
        ctx.table(None, LEADER_COLUMNS, leaders)
    return EXIT_OK


def cmd_leaders_cancel(ctx: Context) -> int:
    leader_id: int = ctx.args.leader_id
    creds = ctx.creds
    if not ctx.args.yes:
        if not _isatty(ctx.stdin):
            raise UsageError(
                f"refusing to cancel leader {leader_id} without confirmation: this session is"
                " not interactive; add --yes to confirm"
            )
        ctx.err.write(
            f"Stop following leader {leader_id} with key {mask_api_key(creds.api_key)}"
            f" on {ctx.base_url}? [y/N] "
        )
        ctx.err.flush()
        answer = ctx.stdin.readline().strip().lower()
        if answer not in ("y", "yes"):
            ctx.note("Not cancelled.")
            return EXIT_OTHER
    with _client(ctx) as client:
        client.cancel_leader(leader_id)
    if ctx.json:
        dump_json({"ok": True, "leaderUserId": str(leader_id), "following": False}, ctx.out)
    else:
        ctx.out.write(f"No longer following leader {leader_id}.\n")
    return EXIT_OK


def cmd_orders_current(ctx: Context) -> int:
    with _client(ctx) as client:
        orders, response = client.with_raw_response.list_current_orders()
    if ctx.json:
        dump_json(_answer_data(response), ctx.out)
    elif not orders:
        ctx.note("No open copy positions.")
    else:
        ctx.table(None, CURRENT_COLUMNS, orders)
    return EXIT_OK


@dataclass
class _History:
    """Every history row, walked page by page: typed, and as the answers wrote them."""

    total: int
    rows: list[Any]
    answer_total: Any  # the first page's `total`, as sent
    answer_rows: list[Any]
    pages: int  # pages read


def _walk_history(ctx: Context, client: Any, size: int) -> _History:
    """Every history row, page by page; a progress bar on stderr when wanted
    (--progress, or stderr is a terminal)."""
    show = ctx.args.progress if ctx.args.progress is not None else _isatty(ctx.err)
    first, response = client.with_raw_response.list_history_orders(page=1, size=size)
    answer = _answer_data(response)
    walked = _History(first.total, list(first.list_), answer["total"], list(answer["list"]), 1)
    rows = walked.rows
    pages = int(first.pages)
    with contextlib.ExitStack() as stack:
        bar: Any = None
        if show and pages > 1 and first.list_:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

            console = Console(file=ctx.err)
            bar = stack.enter_context(
                Progress(
                    TextColumn("history pages"),
                    BarColumn(),
                    MofNCompleteColumn(),
                    TextColumn("{task.fields[rows]} rows"),
                    console=console,
                    transient=console.is_terminal,
                )
            )
            task = bar.add_task("pages", total=pages, completed=1, rows=len(rows))
        page = 1
        while page < pages and first.list_:
            batch, response = client.with_raw_response.list_history_orders(page=page + 1, size=size)
            if not batch.list_:  # the history shrank while we walked it
                break
            page += 1
            rows.extend(batch.list_)
            walked.answer_rows.extend(_answer_data(response)["list"])
            if bar is not None:
                bar.update(task, completed=page, rows=len(rows))
    walked.pages = page
    return walked


def cmd_orders_history(ctx: Context) -> int:
    args = ctx.args
    if args.all and args.page is not None:
        raise UsageError("--page and --all exclude each other")
    with _client(ctx) as client:
        if args.all:
            size = args.size if args.size is not None else 100
            walked = _walk_history(ctx, client, size)
            if ctx.json:
                dump_json(
                    {
                        "total": walked.answer_total,
                        "pages": str(walked.pages),
                        "list": walked.answer_rows,
                    },
                    ctx.out,
                )
            else:
                ctx.table(
                    f"{len(walked.rows)} of {walked.total} closed copy position(s)",
                    HISTORY_COLUMNS,
                    walked.rows,
                )
            return EXIT_OK
        page_no = args.page if args.page is not None else 1
        size = args.size if args.size is not None else 10
        page, response = client.with_raw_response.list_history_orders(page=page_no, size=size)
    if ctx.json:
        dump_json(_answer_data(response), ctx.out)
    else:
        ctx.table(
            f"page {page_no} of {page.pages} ({page.total} closed copy position(s))",
            HISTORY_COLUMNS,
            page.list_,
        )
    return EXIT_OK


def cmd_config_get(ctx: Context) -> int:
    with _client(ctx) as client:
        config, response = client.with_raw_response.get_follow_config(ctx.args.leader_id)
    if ctx.json:
        dump_json(_answer_data(response), ctx.out)
    else:
        render_record(
            f"follow config of leader {ctx.args.leader_id}",
            config,
            stream=ctx.out,
            terminal=ctx.terminal,
        )
    return EXIT_OK


def _wire_name(name: str) -> str:
    return FollowConfigUpdate.model_fields[name].alias or name


def _read_config_file(ctx: Context, name: str) -> dict[str, Any]:
    """The follow config fields of a JSON file, under their Python names. It may be the
    output of `config get --json` (its read-only fields are dropped) or an API envelope."""
    try:
        text = ctx.stdin.read() if name == "-" else Path(name).read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot read {name}: {exc.strerror}") from None
    try:
        # Exact numbers: a JSON number with a fraction becomes a Decimal, never a float.
        data = json.loads(text, parse_float=Decimal)
    except json.JSONDecodeError as exc:
        raise UsageError(f"{name} is not valid JSON: {exc}") from None
    if isinstance(data, dict) and isinstance(data.get("data"), dict) and "code" in data:
        data = data["data"]  # a whole API envelope
    if not isinstance(data, dict):
        raise UsageError(f"{name}: expected a JSON object of follow config fields")
    known = {
        key: field
        for model in (FollowConfig, FollowConfigUpdate)
        for field, info in model.model_fields.items()
        for key in (field, info.alias or field)
    }
    fields: dict[str, Any] = {}
    for key, value in data.items():
        if key not in known:
            raise UsageError(f"{name}: unknown follow config field {key!r}")
        if known[key] in FollowConfigUpdate.model_fields:
            fields[known[key]] = value
    in_file = fields.pop(_LEADER_FIELD, ctx.args.leader_id)
    if str(in_file) != str(ctx.args.leader_id):
        raise UsageError(f"{name} is for leader {in_file}, not {ctx.args.leader_id}")
    return fields


def _can_send_back(name: str, value: Any) -> bool:
    """Whether a value of the current config can go into the update as it is: it is set
    and, where the request's field is a closed enum, one of its values (an answer's enum
    is open)."""
    if value is None:
        return False
    kind = unoptional(FollowConfigUpdate.model_fields[name].annotation)
    return typing.get_origin(kind) is not typing.Literal or value in typing.get_args(kind)


def cmd_config_set(ctx: Context) -> int:
    args = ctx.args
    settable = [name for name in FollowConfigUpdate.model_fields if name != _LEADER_FIELD]
    fields: dict[str, Any] = _read_config_file(ctx, args.file) if args.file else {}
    given = {name: getattr(args, _FIELD_DEST + name) for name in settable}
    fields |= {name: value for name, value in given.items() if value is not None}
    for name in settable:  # what the current config cannot fill in
        info = FollowConfigUpdate.model_fields[name]
        if name not in fields and name not in FollowConfig.model_fields and info.is_required():
            raise UsageError(
                f"{_wire_name(name)} is required and `config get` does not return it: pass"
                f" --{name.replace('_', '-')} or put {_wire_name(name)} in the file"
            )
    with _client(ctx) as client:
        missing = [name for name in settable if name not in fields]
        if any(name in FollowConfig.model_fields for name in missing):
            current = client.get_follow_config(args.leader_id)
            for name in missing:
                value = getattr(current, name, None)
                if _can_send_back(name, value):
                    fields[name] = value
                elif FollowConfigUpdate.model_fields[name].is_required():
                    # an answer may hold what a request cannot send: ask for the field
                    shown = "not set" if value is None else unknown(value)
                    raise UsageError(
                        f"{_wire_name(name)} is {shown} in the current config: pass"
                        f" --{name.replace('_', '-')} or put {_wire_name(name)} in the file"
                    )
        update = FollowConfigUpdate.model_validate(fields | {_LEADER_FIELD: args.leader_id})
        body = request_body(update)
        if args.dry_run:
            ctx.out.write(body.decode("utf-8") + "\n")
            return EXIT_OK
        client.update_follow_config(update)
    if ctx.json:
        dump_json({"ok": True, "config": json.loads(body)}, ctx.out)
    else:
        ctx.out.write(f"Follow config of leader {args.leader_id} updated.\n")
    return EXIT_OK


def cmd_positions_stop(ctx: Context) -> int:
    args = ctx.args
    if args.take_profit is None and args.stop_loss is None and args.delay is None:
        raise UsageError("give at least one of --take-profit, --stop-loss, --delay")
    update = StopProfitLossUpdate(
        leader_user_id=args.leader_id,
        symbol_id=args.symbol,
        is_long=1 if args.is_long else 0,
        stop_profit_rate=args.take_profit,
        stop_loss_rate=args.stop_loss,
        stop_loss_delay=args.delay,
    )
    with _client(ctx) as client:
        client.update_stop_profit_loss(**update.model_dump(exclude_none=True))
    if ctx.json:
        dump_json({"ok": True} | json.loads(request_body(update)), ctx.out)
        return EXIT_OK
    parts = []
    if args.take_profit is not None:
        parts.append(f"take-profit {exact(args.take_profit)}")
    if args.stop_loss is not None:
        parts.append(f"stop-loss {exact(args.stop_loss)}")
    if args.delay is not None:
        parts.append(f"stop-loss delay {args.delay} s")
    ctx.out.write(
        f"Set {', '.join(parts)} on the {_side(update)} {args.symbol} position of leader"
        f" {args.leader_id}.\n"
    )
    return EXIT_OK


def measure_offset(base_url: str, timeout: float = C.DEFAULT_TIMEOUT) -> tuple[int, int, int]:
    """(server ms, local ms at the middle of the round trip, round trip ms) from
    GET /api/v1/time. Public and unsigned, so no key is needed or sent."""
    with httpx.Client(base_url=base_url, timeout=timeout) as http:
        before = time.time()
        response = http.get("/api/v1/time")
        after = time.time()
    response.raise_for_status()
    server_ms = ServerTime.model_validate_json(response.content).server_time
    return server_ms, round((before + after) * 500), round((after - before) * 1000)


def cmd_time(ctx: Context) -> int:
    timeout = ctx.args.timeout if ctx.args.timeout is not None else C.DEFAULT_TIMEOUT
    try:
        server_ms, local_ms, rtt = measure_offset(ctx.base_url, timeout)
    except (httpx.HTTPError, ValueError) as exc:
        raise APIConnectionError(
            f"no server time from {ctx.base_url}: {exc}", method="GET", path="/api/v1/time"
        ) from exc
    offset = server_ms - local_ms
    if ctx.json:
        dump_json(
            {
                "serverTime": server_ms,
                "localTime": local_ms,
                "offsetMs": offset,
                "roundTripMs": rtt,
                "baseUrl": ctx.base_url,
            },
            ctx.out,
        )
    else:
        ctx.pairs(
            None,
            [
                ("server time", f"{millis_to_utc(server_ms)} ({server_ms})"),
                ("local time", f"{millis_to_utc(local_ms)} ({local_ms})"),
                ("offset", f"{offset:+d} ms (server minus local; positive: your clock is behind)"),
                ("round trip", f"{rtt} ms"),
                ("base URL", ctx.base_url),
            ],
        )
    return EXIT_OK


def cmd_conformance(ctx: Context) -> int:
    from . import conformance

    args, env = ctx.args, ctx.environ
    creds = ctx.creds
    read_only = None
    if args.read_only_profile:
        other = resolve_credentials(args.read_only_profile, args.profiles_file, env)
        read_only = conformance.Key(other.api_key, other.api_secret, "read-only")
    elif env.get(conformance.READ_ONLY_KEY_ENV) or env.get(conformance.READ_ONLY_SECRET_ENV):
        key = env.get(conformance.READ_ONLY_KEY_ENV, "")
        secret = env.get(conformance.READ_ONLY_SECRET_ENV, "")
        if not (key and secret):
            raise CredentialsError(
                f"set both {conformance.READ_ONLY_KEY_ENV} and"
                f" {conformance.READ_ONLY_SECRET_ENV}, or neither"
            )
        read_only = conformance.Key(key, secret, "read-only")
    spacing = conformance.DEFAULT_SPACING if args.spacing is None else args.spacing
    if spacing < 0:
        raise UsageError(f"--spacing must be at least 0 seconds, got {spacing}")
    ctx.note(f"probing {ctx.base_url} with {mask_api_key(creds.api_key)}, {spacing:g} s apart")
    report = conformance.run(
        ctx.base_url,
        conformance.Key(creds.api_key, creds.api_secret),
        read_only,
        spacing=spacing,
        timeout=ctx.args.timeout if ctx.args.timeout is not None else C.DEFAULT_TIMEOUT,
    )
    document = json.dumps(report.to_json(), indent=2, ensure_ascii=False) + "\n"
    Path(args.output).write_text(document, encoding="utf-8")
    ctx.out.write(document if ctx.json else report.to_markdown())
    ctx.note(f"report for machines: {args.output}")
    if report.limited:
        return EXIT_RATE_LIMITED
    if report.stopped:
        return EXIT_OTHER
    return EXIT_OK


COMMANDS: Final[dict[tuple[str, str | None], Callable[[Context], int]]] = {
    ("leaders", None): cmd_leaders,
    ("leaders", "list"): cmd_leaders,
    ("leaders", "cancel"): cmd_leaders_cancel,
    ("orders", "current"): cmd_orders_current,
    ("orders", "history"): cmd_orders_history,
    ("config", "get"): cmd_config_get,
    ("config", "set"): cmd_config_set,
    ("positions", "stop"): cmd_positions_stop,
    ("time", None): cmd_time,
    ("conformance", None): cmd_conformance,
}


# ---- errors -------------------------------------------------------------------------
def is_write(args: argparse.Namespace) -> bool:
    """Whether the command sends a change (config set, positions stop, leaders cancel)."""
    if args.command == "config":
        return bool(args.config_command == "set" and not args.dry_run)
    if args.command == "leaders":
        return bool(getattr(args, "leaders_command", None) == "cancel")
    return bool(args.command == "positions")


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
        server_ms, local_ms, rtt = measure_offset(ctx.base_url)
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
        f"clock skew: measured from {ctx.base_url}/api/v1/time, this machine's clock is"
        f" {abs(offset)} ms {direction} the server's (offset {offset:+d} ms, round trip"
        f" {rtt} ms; recvWindow {recv} ms). A request is accepted only if its timestamp is"
        f" at most recvWindow behind server time and not ahead of it.{slow} {fix}"
    )


def _api_hint(ctx: Context, error: APIError, meaning: str | None) -> str | None:
    """A hint for the error's family (or, where a hint is code-specific, its code)."""
    leader = getattr(ctx.args, "leader_id", None)
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
        if ctx.args.command == "positions":
            return (
                f"no open {'long' if ctx.args.is_long else 'short'} {ctx.args.symbol} copy"
                f" position under leader {leader} (see `{PROG} orders current`)"
            )
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
            hint="check --base-url and the network" + (maybe if is_write(ctx.args) else ""),
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
    handler = COMMANDS[(args.command, getattr(args, f"{args.command}_command", None))]
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
            if args.command != "time":
                raise
            ctx.credentials = None  # the server time needs no key
        ctx.base_url = _base_url(args, ctx.credentials, ctx.environ)
        return handler(ctx)
    except KeyboardInterrupt:
        maybe = "; the change may or may not have been applied, check before repeating it"
        err.write(f"{PROG}: interrupted{maybe if is_write(args) else ''}\n")
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # `... | head`
        return EXIT_OK
    except Exception as exc:
        failure = describe(ctx, exc)
        report(ctx, failure)
        return failure.exit_code


if __name__ == "__main__":
    sys.exit(main())
