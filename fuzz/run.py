"""`python -m fuzz.run`: schemathesis over openapi.yaml, against the embedded simulator or a host.

Both sides of copy trading in every pass: each request is signed with the key of its
operation's side, the operation's tag in the generated operation table (follower
operations with a follower key, leader operations with a leader key; fuzz.auth.SignerByTag).
The summary counts cases and failures per side.

Embedded (default): starts `toobit-follower-sim serve` on a free 127.0.0.1 port
from the default seed (admin endpoints behind a random token, a rate limit no run
reaches), then runs schemathesis once per pass, resetting the simulator to the
seed before each:

    read-write keys: examples, coverage, fuzzing, stateful (one pass per phase); the
                    stateful links run with the key of their operations' side (config GET
                    -> PUT and followers -> remove with the leader key)
    read-only keys: every phase, fewer examples
    variants:       examples and fuzzing, fewer examples, against a second simulator
                    started with --variants (every success answer in another shape the
                    spec allows: "" and null decimals, 64-bit integers as numbers,
                    unlisted enum values, extra fields, optional fields left out), so
                    the response checks meet them. Not stateful: its links would copy
                    an unlisted enum value from an answer into a request.

Live (`--url`): the follower key pair from TOOBIT_API_KEY / TOOBIT_API_SECRET, and a
leader pair from TOOBIT_LEADER_API_KEY / TOOBIT_LEADER_API_SECRET (without it the leader
operations are left out); GET operations only unless `--allow-writes`; `--rate-limit`
(default 20/s, under the 3000 weight per minute); a 429/418 stops the run at once; no
/_sim/* calls.

Reports (git-ignored) in reports/: fuzz-junit-<pass>.xml (schemathesis JUnit),
fuzz-<pass>.ndjson (its event stream), fuzz-<pass>.log (its console output),
fuzz-summary.md (counts per phase, operation, check and code, and the failures).
The run fails (exit 1) on any failure, and when a report contains the secret.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import requests
from toobit_follower_models.protocol import RATE_LIMIT_RESET_HEADER

from fuzz import config, keys, spec, summary
from fuzz.admin import AdminClient
from fuzz.auth import measure_offset_ms

REPO = spec.REPO_ROOT
DEFAULT_REPORT_DIR = REPO / "reports"
PHASES = ("examples", "coverage", "fuzzing", "stateful")
DEFAULT_MAX_EXAMPLES = 100
READ_ONLY_MAX_EXAMPLES = 25
VARIANTS_MAX_EXAMPLES = 25
VARIANTS_PHASES = ("examples", "fuzzing")
# Far above what a run sends (a few thousand requests in a few minutes).
EMBEDDED_RATE_LIMIT = 10_000_000
# Under the documented 3000 request weight per minute (50/s), with room for other clients.
LIVE_RATE_LIMIT = "20/s"
# The embedded simulator shares this machine's clock: date requests 900 ms ahead, so
# any recvWindow >= 1 is satisfiable and INVALID_TIMESTAMP on a valid request is a finding.
EMBEDDED_TIMESTAMP_LEAD_MS = 900
EXIT_FAILURES = 1
EXIT_USAGE = 2
EXIT_RATE_LIMITED = 3


class RunError(RuntimeError):
    """The run could not be carried out (not a finding of the fuzzer)."""


@dataclass
class Pass:
    name: str
    phases: Sequence[str]
    max_examples: int
    key_profile: str = "read-write"
    extra_args: Sequence[str] = ()


@dataclass
class PassResult:
    spec: Pass
    returncode: int
    seconds: float
    junit: Path
    ndjson: Path
    log: Path
    stats: summary.PassStats | None = None
    notes: list[str] = field(default_factory=list)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m fuzz.run",
        description="Contract fuzzing of the Toobit follower API with schemathesis.",
    )
    parser.add_argument("--url", help="fuzz this live host instead of the embedded simulator")
    parser.add_argument("--seed", type=int, help="schemathesis seed (default: random, printed)")
    parser.add_argument(
        "--allow-writes",
        action="store_true",
        default=os.environ.get("ALLOW_WRITES") == "1",
        help="live host: fuzz the write operations too (default: GET operations only)",
    )
    parser.add_argument("--max-examples", type=int, default=DEFAULT_MAX_EXAMPLES)
    parser.add_argument(
        "--read-only-max-examples",
        type=int,
        default=READ_ONLY_MAX_EXAMPLES,
        help="embedded: examples per operation of the read-only key pass",
    )
    parser.add_argument(
        "--phases", default=",".join(PHASES), help="comma-separated subset of " + ",".join(PHASES)
    )
    parser.add_argument(
        "--rate-limit", default=LIVE_RATE_LIMIT, help="live host: schemathesis --rate-limit"
    )
    parser.add_argument("--report-dir", type=Path, default=DEFAULT_REPORT_DIR)
    parser.add_argument("--verbose", action="store_true", help="print schemathesis' own output")
    args = parser.parse_args(argv)
    phases = [p.strip() for p in args.phases.split(",") if p.strip()]
    unknown = [p for p in phases if p not in PHASES]
    if unknown or not phases:
        parser.error(f"--phases: unknown {unknown}; choose from {', '.join(PHASES)}")
    args.phases = phases
    if args.url and not args.url.startswith(("http://", "https://")):
        parser.error("--url must start with http:// or https://")
    return args


# --- operation selection ----------------------------------------------------------
def selected_operations(
    contract: spec.Contract, allow_writes: bool, tags: Sequence[str] | None = None
) -> list[str]:
    """The operations of `tags` (default: every tag) a run fuzzes: GETs only unless writes
    are allowed."""
    chosen = contract.tags if tags is None else tags
    return [
        op.operation_id
        for op in contract.operations.values()
        if op.tag in chosen and (allow_writes or not op.is_write)
    ]


def operation_filter(
    contract: spec.Contract, allow_writes: bool, tags: Sequence[str] | None = None
) -> list[str]:
    """schemathesis arguments selecting the operations of `selected_operations` (none when
    that is every operation)."""
    selected = selected_operations(contract, allow_writes, tags)
    if selected == list(contract.operations):
        return []
    args: list[str] = []
    for operation_id in selected:
        args += ["--include-operation-id", operation_id]
    return args


# --- the embedded simulator --------------------------------------------------------
def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def sim_command(port: int, extra: Sequence[str] = ()) -> list[str]:
    exe = shutil.which(
        "toobit-follower-sim", path=str(Path(sys.executable).parent)
    ) or shutil.which("toobit-follower-sim")
    base = [exe] if exe else [sys.executable, "-m", "toobit_follower_sim"]
    return [
        *base,
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--rate-limit",
        str(EMBEDDED_RATE_LIMIT),
        *extra,
    ]


def wait_until_up(url: str, process: subprocess.Popen[bytes] | None, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    session = requests.Session()
    session.trust_env = False
    last = "no answer"
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RunError(f"the simulator exited with code {process.returncode} before answering")
        try:
            response = session.get(url + "/api/v1/time", timeout=2)
            if response.status_code == 200 and "serverTime" in response.json():
                return
            last = f"HTTP {response.status_code}"
        except (requests.RequestException, ValueError) as exc:
            last = type(exc).__name__
        time.sleep(0.1)
    raise RunError(f"the simulator did not answer GET /api/v1/time within {timeout:.0f} s ({last})")


@contextlib.contextmanager
def embedded_simulator(
    log_path: Path, extra: Sequence[str] = ()
) -> Iterator[tuple[str, AdminClient]]:
    port = free_port()
    token = secrets.token_hex(16)
    url = f"http://127.0.0.1:{port}"
    with open(log_path, "wb") as log:
        # The admin token travels in the environment, not on the command line.
        env = {**os.environ, "TOOBIT_SIM_ADMIN_TOKEN": token}
        process = subprocess.Popen(  # noqa: S603 - our own console script
            sim_command(port, extra), stdout=log, stderr=subprocess.STDOUT, cwd=REPO, env=env
        )
        try:
            wait_until_up(url, process)
            admin = AdminClient(base_url=url, token=token)
            yield url, admin
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def server_time_ms(url: str) -> int:
    session = requests.Session()
    session.trust_env = False
    response = session.get(url + "/api/v1/time", timeout=10)
    response.raise_for_status()
    return int(response.json()["serverTime"])


# --- one schemathesis pass -------------------------------------------------------------
def schemathesis_command(
    url: str, the_pass: Pass, seed: int, junit: Path, ndjson: Path, extra: Sequence[str]
) -> list[str]:
    return [
        sys.executable,
        "-m",
        "schemathesis.cli",
        "--no-color",
        "--config-file",
        str(config.CONFIG_PATH),
        "run",
        str(spec.SPEC_PATH),
        "--url",
        url,
        "--phases",
        ",".join(the_pass.phases),
        "--checks",
        "all",
        "--mode",
        "all",
        "--max-examples",
        str(the_pass.max_examples),
        "--seed",
        str(seed),
        "--generation-with-security-parameters",
        "false",
        "--report",
        "junit,ndjson",
        "--report-junit-path",
        str(junit),
        "--report-ndjson-path",
        str(ndjson),
        *the_pass.extra_args,
        *extra,
    ]


def run_pass(
    the_pass: Pass,
    *,
    url: str,
    seed: int,
    report_dir: Path,
    env: dict[str, str],
    extra: Sequence[str],
    verbose: bool,
) -> PassResult:
    junit = report_dir / f"fuzz-junit-{the_pass.name}.xml"
    ndjson = report_dir / f"fuzz-{the_pass.name}.ndjson"
    log = report_dir / f"fuzz-{the_pass.name}.log"
    command = schemathesis_command(url, the_pass, seed, junit, ndjson, extra)
    started = time.monotonic()
    with open(log, "wb") as fh:
        fh.write(("$ " + " ".join(command) + "\n\n").encode())
        fh.flush()
        if verbose:
            process = subprocess.Popen(  # noqa: S603 - our own argv, no shell
                command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
            )
            assert process.stdout is not None
            for line in process.stdout:
                fh.write(line)
                sys.stdout.buffer.write(line)
                sys.stdout.flush()
            returncode = process.wait()
        else:
            returncode = subprocess.call(  # noqa: S603 - our own argv, no shell
                command, cwd=REPO, env=env, stdout=fh, stderr=subprocess.STDOUT
            )
    result = PassResult(the_pass, returncode, time.monotonic() - started, junit, ndjson, log)
    if ndjson.is_file():
        result.stats = summary.read_ndjson(ndjson)
    return result


def sides_line(stats: summary.PassStats | None) -> str:
    """`follower 120/0, leader 95/0`: cases / unique failures per side."""
    if not stats:
        return ""
    return ", ".join(
        f"{tag} {side.cases}/{side.failures}" for tag, side in sorted(stats.sides.items())
    )


def print_pass(result: PassResult) -> None:
    stats = result.stats
    cases = stats.cases if stats else 0
    failures = len(stats.failures) if stats else 0
    verdict = "ok" if result.returncode == 0 else f"FAILED (exit {result.returncode})"
    print(
        f"  {result.spec.name:<22} {cases:>5} cases  {result.seconds:6.1f} s  "
        f"{failures} unique failure(s)  {verdict}  [cases/failures: {sides_line(stats)}]",
        flush=True,
    )


def failure_excerpt(log: Path, limit: int = 120) -> str:
    lines = log.read_text(encoding="utf-8", errors="replace").splitlines()
    start = next(
        (i for i, line in enumerate(lines) if "FAILURES" in line or "ERRORS" in line), None
    )
    chosen = lines[start:] if start is not None else lines[-40:]
    return "\n".join(chosen[:limit])


# --- the two modes -----------------------------------------------------------------------
def base_env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("SCHEMATHESIS_HOOKS", None)  # the config file names fuzz.hooks
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    env["NO_COLOR"] = "1"
    for name in list(env):
        if name.startswith("FUZZ_"):
            del env[name]
    return env


def run_embedded(args: argparse.Namespace, seed: int) -> tuple[list[PassResult], dict[str, str]]:
    report_dir: Path = args.report_dir
    passes = [Pass(f"read-write-{phase}", [phase], args.max_examples) for phase in args.phases]
    passes.append(
        Pass("read-only", list(args.phases), args.read_only_max_examples, key_profile="read-only")
    )
    variant_phases = [phase for phase in args.phases if phase in VARIANTS_PHASES]
    variants_seed = seed % 2**31
    results: list[PassResult] = []
    facts: dict[str, str] = {"target": "embedded simulator (default seed)"}
    with embedded_simulator(report_dir / "fuzz-simulator.log") as (url, admin):
        offset = measure_offset_ms(lambda: server_time_ms(url))
        facts.update(
            {
                "simulator": f"{url} (rate limit {EMBEDDED_RATE_LIMIT} per key per minute)",
                "clock offset": f"{offset} ms, timestamps {EMBEDDED_TIMESTAMP_LEAD_MS} ms ahead",
            }
        )
        print(f"fuzz: simulator up at {url}; seed {seed}", flush=True)
        results += run_passes(passes, args, seed, url, admin, offset)
    if variant_phases:
        variants = Pass(
            "read-write-variants", variant_phases, min(args.max_examples, VARIANTS_MAX_EXAMPLES)
        )
        extra = ["--variants", "--variants-seed", str(variants_seed)]
        with embedded_simulator(report_dir / "fuzz-simulator-variants.log", extra) as (url, admin):
            facts["variants"] = f"{url} (--variants --variants-seed {variants_seed})"
            print(f"fuzz: simulator with --variants up at {url}", flush=True)
            offset = measure_offset_ms(lambda: server_time_ms(url))
            results += run_passes([variants], args, seed, url, admin, offset)
        log = (report_dir / "fuzz-simulator-variants.log").read_text(errors="replace")
        served = [line for line in log.splitlines() if "variants served:" in line]
        if served:  # the simulator's own count, logged when it stops
            facts["variants"] += "; " + served[-1].split("variants served:", 1)[1].strip()
    return results, facts


def run_passes(
    passes: Sequence[Pass],
    args: argparse.Namespace,
    seed: int,
    url: str,
    admin: AdminClient,
    offset: int,
) -> list[PassResult]:
    """Each pass against the embedded simulator at `url`, reset to the seed before each."""
    results = []
    for the_pass in passes:
        admin.reset()
        env = base_env()
        env.update(
            {
                "FUZZ_TARGET": "embedded",
                "FUZZ_KEY_PROFILE": the_pass.key_profile,
                "FUZZ_ADMIN_URL": url,
                "FUZZ_ADMIN_TOKEN": admin.token or "",
                "FUZZ_CLOCK_OFFSET_MS": str(offset),
                "FUZZ_TIMESTAMP_LEAD_MS": str(EMBEDDED_TIMESTAMP_LEAD_MS),
            }
        )
        result = run_pass(
            the_pass,
            url=url,
            seed=seed,
            report_dir=args.report_dir,
            env=env,
            extra=(),
            verbose=args.verbose,
        )
        results.append(result)
        print_pass(result)
    return results


def run_live(args: argparse.Namespace, seed: int) -> tuple[list[PassResult], dict[str, str]]:
    pairs = keys.live_keys()  # MissingKeys before anything is sent
    url = args.url.rstrip("/")
    contract = spec.load()
    tags = [tag for tag in contract.tags if tag in pairs]
    selection = operation_filter(contract, args.allow_writes, tags)
    report_dir: Path = args.report_dir
    stop_file = report_dir / "fuzz-live-stop.json"
    stop_file.unlink(missing_ok=True)
    offset = measure_offset_ms(lambda: server_time_ms(url))
    operations = selected_operations(contract, args.allow_writes, tags)
    left_out = [tag for tag in contract.tags if tag not in pairs]
    facts = {
        "target": f"live host {url}",
        "keys": ", ".join(f"{tag}: {pair!r}" for tag, pair in pairs.items())
        + "".join(
            f"; {tag}: none ({keys.LEADER_KEY_ENV} / {keys.LEADER_SECRET_ENV} not set),"
            f" its operations left out"
            for tag in left_out
        ),
        "operations": ", ".join(operations)
        + ("" if args.allow_writes else " (GET only; --allow-writes for all)"),
        "rate limit": args.rate_limit,
        "clock offset": f"{offset} ms",
    }
    if args.allow_writes:
        print(
            "fuzz: WARNING: --allow-writes: write operations will change the live account",
            flush=True,
        )
    print(
        f"fuzz: live host {url}, {len(operations)} operations, "
        f"rate limit {args.rate_limit}, seed {seed}",
        flush=True,
    )
    env = base_env()
    env.update(
        {
            "FUZZ_TARGET": "live",
            "FUZZ_KEY_PROFILE": "read-write",
            "FUZZ_CLOCK_OFFSET_MS": str(offset),
            "FUZZ_TIMESTAMP_LEAD_MS": "0",
            "FUZZ_STOP_FILE": str(stop_file),
            config.ENV_ERRORS_WITH_HTTP_200: "1",
        }
    )
    the_pass = Pass("live", list(args.phases), args.max_examples)
    extra = [*selection, "--rate-limit", args.rate_limit]
    result = run_pass(
        the_pass,
        url=url,
        seed=seed,
        report_dir=report_dir,
        env=env,
        extra=extra,
        verbose=args.verbose,
    )
    print_pass(result)
    if stop_file.is_file():
        info = json.loads(stop_file.read_text(encoding="utf-8"))
        result.notes.append(f"stopped on HTTP {info.get('status')}: {info}")
        facts["stopped"] = str(RateLimited(info))
    return [result], facts


class RateLimited(RunError):
    def __init__(self, info: dict[str, object]) -> None:
        self.info = info
        super().__init__(
            f"the host answered HTTP {info.get('status')} ({info.get('request')}): rate limited"
            f" (Retry-After {info.get('retry_after')}, {RATE_LIMIT_RESET_HEADER} "
            f"{info.get('reset_timestamp')}). The run stopped at once; wait before fuzzing again"
            " (continuing after a 429 leads to an IP ban)."
        )


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    seed = args.seed if args.seed is not None else secrets.randbelow(2**63)
    report_dir: Path = args.report_dir
    report_dir.mkdir(parents=True, exist_ok=True)
    for old in report_dir.glob("fuzz-*"):
        if old.is_file():
            old.unlink()
    started = time.monotonic()
    secrets_in_use: list[str] = []
    try:
        if args.url:
            secrets_in_use += [pair.secret for pair in keys.live_keys().values()]
            results, facts = run_live(args, seed)
        else:
            for profile in ("read-write", "read-only"):
                secrets_in_use += [pair.secret for pair in keys.seed_keys(profile).values()]
            results, facts = run_embedded(args, seed)
    except keys.MissingKeys as exc:
        print(f"fuzz: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except RunError as exc:
        print(f"fuzz: {exc}", file=sys.stderr)
        return EXIT_USAGE
    elapsed = time.monotonic() - started
    facts["seed"] = str(seed)
    facts["command"] = "python -m fuzz.run " + " ".join(sys.argv[1:] if argv is None else argv)

    summary_path = report_dir / "fuzz-summary.md"
    summary_path.write_text(summary.render(results, facts, elapsed), encoding="utf-8")
    leaks = summary.scan_for_secrets(report_dir, secrets_in_use)

    if "stopped" in facts:
        print(f"fuzz: STOPPED: {facts['stopped']}", file=sys.stderr)
        return EXIT_RATE_LIMITED
    failed = [r for r in results if r.returncode != 0]
    for result in failed:
        print(
            f"\n--- {result.spec.name}: {result.log} ---\n{failure_excerpt(result.log)}", flush=True
        )
    total_cases = sum(r.stats.cases for r in results if r.stats)
    shown = summary_path.relative_to(REPO) if summary_path.is_relative_to(REPO) else summary_path
    per_side: dict[str, list[int]] = {}
    for r in results:
        for tag, side in (r.stats.sides if r.stats else {}).items():
            entry = per_side.setdefault(tag, [0, 0, 0])
            entry[0] += 1
            entry[1] += side.cases
            entry[2] += side.failures
    sides = "; ".join(
        f"{tag}: {n} passes, {cases} cases, {failures} unique failure(s)"
        for tag, (n, cases, failures) in sorted(per_side.items())
    )
    print(f"fuzz: {total_cases} cases in {elapsed:.1f} s ({sides}); summary {shown}")
    if leaks:
        print(
            "fuzz: FAILED: the secret appears in " + ", ".join(str(p) for p in leaks),
            file=sys.stderr,
        )
        return EXIT_FAILURES
    if failed:
        print(
            f"fuzz: FAILED: {len(failed)} of {len(results)} passes found problems (seed {seed})",
            file=sys.stderr,
        )
        return EXIT_FAILURES
    print(f"fuzz: all {len(results)} passes clean (seed {seed})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
