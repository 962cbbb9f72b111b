"""Simulator throughput vs Stoplight Prism mocking the same openapi.yaml.

    .venv/bin/python bench/bench_prism.py [--rounds N] [--duration S]

One process each on 127.0.0.1: the simulator (`toobit-follower-sim serve`, uvicorn, one
worker, rate limit lifted) and Prism 5.16.0 (`prism mock openapi.yaml`, from
bench/node_modules, installed by `make bench`). The load generator is wrk (one thread,
16 keep-alive connections) with a Lua script that cycles through requests signed just
before the run (distinct timestamps, the spec's largest recvWindow), so the simulator
verifies a real HMAC on every request. Prism checks the request against the schema (key
header, timestamp and signature present) but verifies no signature and keeps no state.

Workloads: reads (GET config, leaders, current orders, history page of 10, in turn)
and writes (PUT stop-profit-loss and PUT config, in turn; the simulator commits each to
SQLite). Both servers are measured at their defaults (simulator: no access log;
Prism: log level info), and each with the other logging choice (simulator
--access-log, which logs every request as Prism's default does; Prism -v warn);
logs go to /dev/null. Every run must answer only 2XX, or the figure is
rejected.
Writes bench/results/prism.md and prism.json.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import re
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from _common import (
    CONFIG_BODY,
    DEMO_API_KEY,
    DEMO_SECRET,
    LEADER_ID,
    ROOT,
    STOP_BODY,
    Headline,
    free_port,
    machine_line,
    start_simulator,
    stop,
    verdict,
    wait_http,
    write_results,
)
from toobit_follower_models.protocol import API_KEY_HEADER, MAX_RECV_WINDOW, SUCCESS_CODE

PREFIX = "/api/v2/copy-trading/follower"
SECRET = DEMO_SECRET.encode()
PRISM = ROOT / "bench" / "node_modules" / ".bin" / "prism"
RECV_WINDOW = MAX_RECV_WINDOW  # the pre-signed requests stay valid longest
PRESIGNED = 4000

READS: list[tuple[str, str, str, dict[str, Any] | None]] = [
    ("GET", f"{PREFIX}/config", f"leaderUserId={LEADER_ID}&", None),
    ("GET", f"{PREFIX}/leaders", "", None),
    ("GET", f"{PREFIX}/orders/current", "", None),
    ("GET", f"{PREFIX}/orders/history", "page=1&size=10&", None),
]
WRITES: list[tuple[str, str, str, dict[str, Any] | None]] = [
    ("PUT", f"{PREFIX}/positions/stop-profit-loss", "", STOP_BODY),
    ("PUT", f"{PREFIX}/config", "", CONFIG_BODY),
]


def presign(
    kinds: list[tuple[str, str, str, dict[str, Any] | None]], count: int
) -> list[tuple[str, str, bytes]]:
    """``count`` signed requests cycling through ``kinds``, timestamps now, now-1, ..."""
    now = int(time.time() * 1000)
    out = []
    for i in range(count):
        method, path, query, body = kinds[i % len(kinds)]
        raw = json.dumps(body, separators=(",", ":")).encode() if body is not None else b""
        q = f"{query}recvWindow={RECV_WINDOW}&timestamp={now - i}"
        sig = hmac.new(SECRET, q.encode() + raw, hashlib.sha256).hexdigest()
        out.append((method, f"{path}?{q}&signature={sig}", raw))
    return out


def lua_script(requests: list[tuple[str, str, bytes]], path: Path) -> Path:
    lines = [
        "local raw = {",
        *(
            f"  {{[==[{method}]==], [==[{target}]==], [==[{body.decode()}]==]}},"
            for method, target, body in requests
        ),
        "}",
        "local reqs = {}",
        "function init(args)",
        "  for i, r in ipairs(raw) do",
        f'    local h = {{["{API_KEY_HEADER}"] = "{DEMO_API_KEY}"}}',
        "    local body = nil",
        "    if r[3] ~= '' then h['Content-Type'] = 'application/json'; body = r[3] end",
        "    reqs[i] = wrk.format(r[1], r[2], h, body)",
        "  end",
        "end",
        "local n = 0",
        "function request()",
        "  n = n + 1",
        "  return reqs[(n % #reqs) + 1]",
        "end",
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def check(url: str, requests: list[tuple[str, str, bytes]]) -> None:
    """The first requests of the script must succeed (HTTP 2XX, and the success code when
    the answer is an envelope)."""
    with httpx.Client(base_url=url) as http:
        for method, target, body in requests[:6]:
            headers = {API_KEY_HEADER: DEMO_API_KEY}
            if body:
                headers["Content-Type"] = "application/json"
            response = http.request(method, target, content=body or None, headers=headers)
            payload = response.json()
            if response.status_code // 100 != 2 or payload.get("code") != SUCCESS_CODE:
                raise RuntimeError(
                    f"{url} {method} {target[:60]}: {response.status_code} {payload}"
                )


_RPS = re.compile(r"Requests/sec:\s+([0-9.]+)")
_NON2XX = re.compile(r"Non-2xx or 3xx responses:\s+(\d+)")
_ERRORS = re.compile(r"Socket errors:.*")


def wrk(url: str, script: Path, duration: int, connections: int) -> float:
    out = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{duration}s", "-s", str(script), url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    bad = _NON2XX.search(out)
    if bad and int(bad.group(1)):
        raise RuntimeError(f"{url}: {bad.group(1)} non-2XX answers under load:\n{out}")
    match = _RPS.search(out)
    if match is None:
        raise RuntimeError(f"no Requests/sec in wrk output:\n{out}")
    errors = _ERRORS.search(out)
    if errors:
        print(f"  note: {errors.group(0)}")
    return float(match.group(1))


def start_prism(verbose: str | None) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    cmd = [str(PRISM), "mock", str(ROOT / "openapi.yaml"), "-h", "127.0.0.1", "-p", str(port)]
    if verbose:
        cmd += ["-v", verbose]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(url + "/api/v1/time", timeout=60, proc=proc)
    except BaseException:
        stop(proc)
        raise
    return proc, url


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=int, default=8, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=16)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (make bench installs it: apt-get install wrk)")
    if not PRISM.exists():
        raise SystemExit(f"{PRISM} is missing (make bench runs npm ci --prefix bench)")

    servers: dict[str, tuple[subprocess.Popen[bytes], str]] = {}
    try:
        servers["simulator (defaults: no access log)"] = start_simulator(
            None, "--log-level", "info", output_to_devnull=True
        )
        servers["Prism (defaults: log level info)"] = start_prism(None)
        servers["simulator (--access-log: every request logged)"] = start_simulator(
            None, "--log-level", "info", "--access-log", output_to_devnull=True
        )
        servers["Prism (quiet: -v warn)"] = start_prism("warn")
        return _run(servers, args)
    finally:
        for proc, _ in servers.values():
            stop(proc)


def _run(servers: dict[str, tuple[subprocess.Popen[bytes], str]], args: argparse.Namespace) -> int:
    tmp = Path(tempfile.mkdtemp(prefix="bench-prism-"))
    rps: dict[tuple[str, str], list[float]] = {}
    for r in range(args.rounds):
        for workload, kinds in (("reads", READS), ("writes", WRITES)):
            order = list(servers.items()) if r % 2 == 0 else list(reversed(servers.items()))
            for name, (_, url) in order:
                requests = presign(kinds, PRESIGNED)
                check(url, requests)
                script = lua_script(requests, tmp / f"{workload}.lua")
                value = wrk(url, script, args.duration, args.connections)
                rps.setdefault((name, workload), []).append(value)
                print(f"round {r + 1} {workload:6} {name}: {value:,.0f} req/s", flush=True)

    def med(name: str, workload: str) -> float:
        return statistics.median(rps[(name, workload)])

    names = list(servers)
    sim_default, prism_default, sim_logged, prism_quiet = names
    md = [
        "# Simulator throughput vs Prism (same openapi.yaml, same load generator)",
        "",
        machine_line("uvicorn", "starlette", "uvloop", "httptools")
        + f" Prism {_prism_version()}; {_wrk_version()}.",
        f"wrk -t1 -c{args.connections} -d{args.duration}s, Lua script cycling {PRESIGNED}"
        f" requests signed just before each run (recvWindow={RECV_WINDOW}); median of"
        f" {args.rounds} rounds, servers alternating; ratios are medians of per-round ratios."
        " Server and wrk share 2 cores; every answer counted was 2XX.",
        "",
        "| server | reads req/s | writes req/s |",
        "|---|---|---|",
    ]
    for name in names:
        md.append(f"| {name} | {med(name, 'reads'):,.0f} | {med(name, 'writes'):,.0f} |")

    def per_round(a: str, b: str, workload: str) -> float:
        """Median over rounds of a / b, both measured in the same round."""
        pairs = zip(rps[(a, workload)], rps[(b, workload)], strict=True)
        return statistics.median(x / y for x, y in pairs)

    reads_default = per_round(sim_default, prism_default, "reads")
    reads_both_logging = per_round(sim_logged, prism_default, "reads")
    reads_both_quiet = per_round(sim_default, prism_quiet, "reads")
    writes_default = per_round(sim_default, prism_default, "writes")
    writes_both_quiet = per_round(sim_default, prism_quiet, "writes")
    headlines = [
        Headline(
            "simulator vs Prism",
            "reads, both at defaults (simulator / Prism)",
            f"{reads_default:.1f}x",
            ">= 5x",
            reads_default >= 5,
        ),
        Headline(
            "simulator vs Prism",
            "reads, both logging every request (simulator --access-log / Prism defaults)",
            f"{reads_both_logging:.1f}x",
        ),
        Headline(
            "simulator vs Prism",
            "reads, neither logging requests (simulator defaults / Prism -v warn)",
            f"{reads_both_quiet:.1f}x",
        ),
        Headline("simulator vs Prism", "writes, both at defaults", f"{writes_default:.1f}x"),
        Headline(
            "simulator vs Prism",
            "writes, neither logging requests",
            f"{writes_both_quiet:.1f}x",
        ),
    ]
    md += [
        "",
        "| ratio | value | goal | verdict |",
        "|---|---|---|---|",
        *(f"| {h.figure} | {h.result} | {h.goal} | {verdict(h.met)} |" for h in headlines),
        "",
        "Every run (req/s, in round order):",
        "",
        "| server | workload | runs |",
        "|---|---|---|",
        *(
            f"| {name} | {workload} | {', '.join(f'{v:,.0f}' for v in values)} |"
            for (name, workload), values in rps.items()
        ),
        "",
        "What each does per request: the simulator routes, checks the rate limit, the key,"
        " timestamp and HMAC signature, validates parameters and body against the spec's"
        " rules and reads (or writes, in a transaction) its SQLite store; Prism validates the"
        " request against the schema and answers the spec's static example.",
        "",
        "Reproduce: `make bench` (or `.venv/bin/python bench/bench_prism.py`).",
    ]
    write_results("prism", md, headlines)
    return 0


def _prism_version() -> str:
    lock = json.loads((ROOT / "bench" / "package-lock.json").read_text(encoding="utf-8"))
    return str(lock["packages"]["node_modules/@stoplight/prism-cli"]["version"])


def _wrk_version() -> str:
    out = subprocess.run(["wrk", "--version"], capture_output=True, text=True).stdout
    return out.split(" Copyright")[0].strip() or "wrk"


if __name__ == "__main__":
    raise SystemExit(main())
