"""``toobit-follower conformance``: probe a host and report where it agrees with the contract."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import toobit_follower_conformance as conformance  # the probe, a package of its own
from toobit_follower import constants as C
from toobit_follower._secret import mask_api_key

from ._context import EXIT_OK, EXIT_OTHER, EXIT_RATE_LIMITED, Context, UsageError
from ._profiles import CredentialsError, resolve_credentials


def add_command(commands: Any, leaf: argparse.ArgumentParser) -> None:
    help_text = (
        "probe the host (about 17 requests that cannot change the account, 15 more with a"
        " leader key) and report where it agrees with the contract"
    )
    parser: argparse.ArgumentParser = commands.add_parser(
        "conformance",
        help=help_text,
        description=help_text,
        parents=[leaf],
        epilog=f"A read-only key of the same account (--read-only-profile, or"
        f" ${conformance.READ_ONLY_KEY_ENV} and ${conformance.READ_ONLY_SECRET_ENV}) lets it"
        " tell the order of checks. A leader's read-write key (--leader-profile, or"
        f" ${conformance.LEADER_KEY_ENV} and ${conformance.LEADER_SECRET_ENV}) adds the leader"
        " side: its reads and config updates it must refuse; never a DELETE. Exit 0 when the"
        " report is complete, whatever the verdicts.",
    )
    parser.add_argument(
        "--read-only-profile", metavar="NAME", help="profile of a read-only key (optional)"
    )
    parser.add_argument(
        "--leader-profile", metavar="NAME", help="profile of a leader's key (optional)"
    )
    parser.add_argument(
        "--spacing",
        metavar="SECONDS",
        type=float,
        default=None,
        help="pause between two requests (default 0.3)",
    )
    parser.add_argument(
        "--output",
        metavar="FILE",
        default="conformance.json",
        help="where the report for machines goes (default conformance.json)",
    )
    parser.set_defaults(cli_operation=None, cli_run=run)


def run(ctx: Context) -> int:
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
    leader = None
    if args.leader_profile:
        other = resolve_credentials(args.leader_profile, args.profiles_file, env)
        leader = conformance.Key(other.api_key, other.api_secret, "leader")
    elif env.get(conformance.LEADER_KEY_ENV) or env.get(conformance.LEADER_SECRET_ENV):
        key = env.get(conformance.LEADER_KEY_ENV, "")
        secret = env.get(conformance.LEADER_SECRET_ENV, "")
        if not (key and secret):
            raise CredentialsError(
                f"set both {conformance.LEADER_KEY_ENV} and {conformance.LEADER_SECRET_ENV},"
                " or neither"
            )
        leader = conformance.Key(key, secret, "leader")
    spacing = conformance.DEFAULT_SPACING if args.spacing is None else args.spacing
    if spacing < 0:
        raise UsageError(f"--spacing must be at least 0 seconds, got {spacing}")
    ctx.note(f"probing {ctx.base_url} with {mask_api_key(creds.api_key)}, {spacing:g} s apart")
    report = conformance.run(
        ctx.base_url,
        conformance.Key(creds.api_key, creds.api_secret),
        read_only,
        leader=leader,
        spacing=spacing,
        timeout=args.timeout if args.timeout is not None else C.DEFAULT_TIMEOUT,
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
