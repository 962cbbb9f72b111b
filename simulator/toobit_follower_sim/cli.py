"""`toobit-follower-sim`: serve the simulator with uvicorn, check a seed file, list the
contract's assumptions and what the simulator does with each, or list the operations and
their business rules."""

from __future__ import annotations

import argparse
import logging
import os
import sys

from .app import SimOptions
from .assumptions import (
    FLAG_ALIASES,
    NOT_PLAYABLE,
    PLAYED,
    parse_assume,
    spec_markers,
    with_flag_aliases,
)
from .faults import FaultSpec, FaultSpecError
from .seed import SeedError, load_seed
from .spec import SpecError

ADMIN_TOKEN_ENV = "TOOBIT_SIM_ADMIN_TOKEN"  # noqa: S105 - a variable name


# Limits of the server's connections: flag, SimOptions field, type, meaning.
_CONNECTION_FLAGS = (
    ("--header-timeout", "header_timeout_s", float,
     "seconds to complete a request's headers, from connect or the previous response"),
    ("--body-timeout", "body_timeout_s", float, "seconds for a request's body to arrive"),
    ("--keep-alive", "keep_alive_s", int, "seconds an idle keep-alive connection stays open"),
    ("--max-connections", "max_connections", int,
     "connections open at once; past it the one waiting longest for a request is closed"),
)  # fmt: skip


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="toobit-follower-sim",
        description="A stateful simulator of the Toobit copy-trading follower API.",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="serve the API over HTTP (uvicorn)")
    serve.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8080, help="port (default 8080)")
    serve.add_argument(
        "--db",
        metavar="PATH",
        help="SQLite file (WAL, synchronous=FULL); seeded only when new. Default: in memory",
    )
    serve.add_argument("--seed", metavar="FILE", help="seed file, YAML or JSON (default: built-in)")
    serve.add_argument(
        "--rate-limit",
        type=int,
        default=3000,
        metavar="N",
        help="request weight per minute and key",
    )
    serve.add_argument(
        "--ban-grace",
        type=int,
        default=10,
        metavar="N",
        help="requests tolerated after the first 429 of a window before the 418 ban (default 10)",
    )
    serve.add_argument(
        "--assume",
        action="append",
        default=[],
        metavar="ID=alternative",
        help="play the alternative of the spec's x-assumption ID (repeatable; ID=contract is"
        " the default); `python tools/assumptions.py` lists the markers, README which the"
        " simulator plays",
    )
    serve.add_argument(
        "--errors-as-200",
        action="store_true",
        help="answer validation/business/auth errors with HTTP 200 and the negative code"
        f" (alias of --assume {FLAG_ALIASES['errors_as_200'].marker}=alternative)",
    )
    for name, alias in FLAG_ALIASES.items():  # aliases of --assume, older than it
        if alias.values is not None:
            serve.add_argument(
                "--" + name.replace("_", "-"),
                choices=alias.values,
                default=alias.values[0],
                help=f"default {alias.values[0]}, as the contract assumes; {alias.values[1]}:"
                f" alias of --assume {alias.marker}=alternative",
            )
    serve.add_argument(
        "--variants",
        action="store_true",
        help="serve every success answer in a tolerant shape its schema allows: null and"
        ' "" decimals, 64-bit integers as numbers, unlisted enum values, extra fields,'
        " optional fields left out (see README)",
    )
    serve.add_argument(
        "--variants-seed",
        type=int,
        default=0,
        metavar="N",
        help="seed of the variants: the same seed and requests give the same answers",
    )
    admin = serve.add_mutually_exclusive_group()
    admin.add_argument(
        "--admin-token",
        metavar="T",
        help=f"serve /_sim/* to callers sending X-Sim-Admin-Token: T (or ${ADMIN_TOKEN_ENV})",
    )
    admin.add_argument("--enable-admin", action="store_true", help="serve /_sim/* without a token")
    serve.add_argument(
        "--faults",
        metavar="SPEC",
        help="e.g. latency=0.05:200ms,html502=0.02,html503=0.02,drop=0.01,commit500=0.05,"
        "clock=+1500ms,seed=7 (see README)",
    )
    serve.add_argument("--spec", metavar="PATH", help="openapi.yaml to serve (default: the repo's)")
    serve.add_argument(
        "--docs-dir", metavar="DIR", help="built docs served at /docs (default dist/spec)"
    )
    serve.add_argument(
        "--log-level",
        default="info",
        choices=["critical", "error", "warning", "info", "debug", "trace"],
        help="uvicorn log level",
    )
    serve.add_argument(
        "--access-log",
        action="store_true",
        help="log every request (uvicorn's access log, signatures redacted; off by default: "
        "it costs about a third of the read throughput)",
    )
    serve.add_argument(
        "--http",
        default="auto",
        choices=["auto", "httptools", "h11"],
        help="uvicorn's HTTP parser (default auto: httptools when installed, else h11)",
    )
    serve.add_argument(
        "--loop",
        default="auto",
        choices=["auto", "uvloop", "asyncio"],
        help="event loop (default auto: uvloop when installed, else asyncio)",
    )
    defaults = SimOptions()
    for flag, dest, kind, meaning in _CONNECTION_FLAGS:
        serve.add_argument(
            flag,
            dest=dest,
            type=kind,
            default=getattr(defaults, dest),
            metavar="N",
            help=f"{meaning} (default {getattr(defaults, dest)})",
        )

    check = commands.add_parser("check-seed", help="validate a seed file and print a summary")
    check.add_argument("file")

    commands.add_parser(
        "assumptions",
        help="list the spec's x-assumption markers and what `serve --assume ID=alternative`"
        " does with each",
    )
    # -- the operations and their business rules (issue 18)
    commands.add_parser(
        "rules",
        help="list the spec's operations and the business rule serving each; exit 1 when"
        " one has none",
    )
    return parser


def _rules() -> int:
    from toobit_follower_models.operations import OPERATIONS

    from .service import FollowerService, missing_rules

    missing = {op.operation_id for op in missing_rules()}
    for op in OPERATIONS:
        rule = f"{FollowerService.__name__}.{op.python_name}"
        state = "MISSING: answered with an error naming it" if op.operation_id in missing else "ok"
        print(f"{op.method:6} {op.path}\n    {op.operation_id} -> {rule} ({state})")
    for op_id in sorted(missing):
        print(f"no business rule for operation {op_id!r}", file=sys.stderr)
    return 1 if missing else 0


def _assumptions() -> int:
    for marker_id, alternative in spec_markers().items():
        if not alternative:
            does = "no alternative: always the contract's reading"
        elif marker_id in PLAYED:
            does = "--assume " + marker_id + "=alternative: " + PLAYED[marker_id]
        else:
            does = "alternative not played: " + NOT_PLAYABLE.get(marker_id, "not implemented")
        print(f"{marker_id}\n    {does}")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "check-seed":
        try:
            seed = load_seed(args.file)
        except (SeedError, OSError) as exc:
            print(exc, file=sys.stderr)
            return 1
        print(
            f"ok: {len(seed['accounts'])} accounts, {len(seed['apiKeys'])} keys, "
            f"{len(seed['leaders'])} leaders, {len(seed['follows'])} follows, "
            f"{len(seed['positions'])} positions, {len(seed['history'])} history rows"
        )
        return 0
    if args.command == "assumptions":
        return _assumptions()
    if args.command == "rules":
        return _rules()
    return _serve(args)


def _serve(args: argparse.Namespace) -> int:
    from .app import create_app
    from .server import serve

    try:
        faults = FaultSpec.parse(args.faults)
    except FaultSpecError as exc:
        print(f"--faults: {exc}", file=sys.stderr)
        return 2
    token = args.admin_token or (None if args.enable_admin else os.environ.get(ADMIN_TOKEN_ENV))
    # before the app: the simulator logs an operation without a business rule at startup
    logging.basicConfig(level=args.log_level.upper() if args.log_level != "trace" else "DEBUG")
    try:
        chosen = dict(parse_assume(text) for text in args.assume)
        options = SimOptions(
            rate_limit=args.rate_limit,
            ban_grace=args.ban_grace,
            assumptions=with_flag_aliases(chosen, vars(args)),
            admin=bool(args.enable_admin or token),
            admin_token=token,
            faults=faults,
            variants=args.variants,
            variants_seed=args.variants_seed,
            spec_path=args.spec,
            docs_dir=args.docs_dir,
            **{dest: getattr(args, dest) for _, dest, _, _ in _CONNECTION_FLAGS},
        )
        app = create_app(seed=args.seed, db=args.db, options=options)
    except (SeedError, SpecError, OSError) as exc:
        print(exc, file=sys.stderr)
        return 1
    except ValueError as exc:  # AssumptionError among them: a choice it cannot take
        print(exc, file=sys.stderr)
        return 2
    log = logging.getLogger("toobit_follower_sim")
    log.info(
        "simulator on http://%s:%d (db=%s, admin=%s, faults=%s, rate limit=%d, alternatives=%s,"
        " variants=%s)",
        args.host,
        args.port,
        args.db or "memory",
        "token" if token else ("open" if args.enable_admin else "off"),
        faults if faults != FaultSpec() else "off",
        args.rate_limit,
        ", ".join(sorted(app.sim.alternatives)) or "none",
        f"seed {args.variants_seed}" if args.variants else "off",
    )
    serve(
        app,
        host=args.host,
        port=args.port,
        log_level=args.log_level,
        access_log=args.access_log,
        http=args.http,
        loop=args.loop,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
