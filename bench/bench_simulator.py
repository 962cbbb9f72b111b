"""Simulator throughput (follower and leader side) against a bare Starlette endpoint,
history page latency with
1,000,000 history rows, the rate limiter with 200,000 callers, and normal requests among
stalled connections.

    .venv/bin/python bench/bench_simulator.py [--rounds N] [--duration S] [--rows N]
        [--callers N] [--stalled N] [--baseline-src DIR]

Throughput: the simulator (`toobit-follower-sim serve`, one uvicorn worker, uvloop +
httptools, in-memory store, access log off, rate limit lifted) and a bare Starlette app
on the same uvicorn settings (a GET returning a small JSON envelope, a PUT reading the
body and returning one) run side by side on 127.0.0.1. The simulator serves four
signed operations, taken from the generated operation table (`BY_ID`) with the spec's
request examples as bodies: the follower's listCurrentOrders (GET) and
updateFollowConfig (PUT), signed with the demo key, and the leader's getLeaderConfig
(GET) and updateLeaderConfig (PUT), signed with the demo leader's read-write key
(`toobit_follower_sim.testing.LEADER_API_KEY`). The load generator is wrk
(`apt-get install wrk`; `make bench` installs it) with a Lua script cycling through 500
pre-signed requests (the spec's largest recvWindow, distinct timestamps, signed right
before each run); every run must end with zero non-2xx answers and zero socket errors, so the
simulator is measured doing the real work (key lookup, HMAC over query + body, SQLite
read or write transaction, JSON). Rounds interleave the runs (order reversed every
other round); each figure is the median over rounds of simulator / bare in the same
round, leader and follower against the same bare endpoints. A follower PUT against a
`--db` file (WAL, synchronous=FULL: one fsync per commit) is shown for information.

History: a `--db` file holding the default seed plus enough history rows for the demo
follower to make `--rows` (default 1,000,000), served by the simulator; sequential
signed GETs over one keep-alive connection (http.client) of the first, a middle and
the last page of size 100, interleaved; median and p95 latency per page. For contrast,
the naive OFFSET query for the last page and a COUNT(*) are timed on the same file.

Limiter (in process, the ASGI app called directly, so only the server's own time is
measured): rounds of one unsigned request from a caller never seen before (a new random
key and a new client address) and one signed GET of the demo key, after 1,000 callers
this minute and after `--callers` (default 200,000); median time per request of each
kind, the ratio many / few, and the process's resident memory growth over the fill.

Stalled connections: a server under an open-file limit of 1,024 (the common default)
with `--stalled` (default 1,500) connections that sent half a request head and then
nothing; how many of 50 normal requests (a new connection each) are served within 5 s,
and their median latency against the same server with none stalled.

`--baseline-src DIR` (a checkout, e.g. `git archive a1b4b86 | tar -x -C DIR`) runs the
limiter and stalled-connection parts against DIR's simulator too, side by side.

Writes bench/results/simulator.md.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import http.client
import json
import os
import random
import re
import resource
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (
    DEMO_API_KEY,
    DEMO_SECRET,
    ROOT,
    free_port,
    machine_line,
    spec_example,
    stop,
    wait_http,
)

RESULT = ROOT / "bench" / "results" / "simulator.md"
VENV_BIN = ROOT / ".venv" / "bin"
PYTHON = str(VENV_BIN / "python") if (VENV_BIN / "python").exists() else sys.executable


def path_of(operation_id: str) -> str:
    """The operation's path from the generated table. Imported here, not at the top: the
    limiter child may run against an older checkout (`--baseline-src`) without it."""
    from toobit_follower_models.operations import BY_ID

    return BY_ID[operation_id].path


class Wire(NamedTuple):
    """What a signed request needs from the generated protocol module."""

    key_header: str  # the API key's header
    recv_window: int  # the spec's largest recvWindow: pre-signed requests stay valid longest


def wire() -> Wire:
    """Imported here, not at the top, as in `path_of`: the limiter child gets these on its
    command line."""
    from toobit_follower_models.protocol import API_KEY_HEADER, MAX_RECV_WINDOW

    return Wire(API_KEY_HEADER, MAX_RECV_WINDOW)


def example_body(operation_id: str) -> str:
    """The page's request example of ``operation_id`` as compact JSON, the bytes sent."""
    return json.dumps(spec_example(operation_id), separators=(",", ":"))


class Workload(NamedTuple):
    """One simulator operation under load: what wrk sends and whose key signs it."""

    operation_id: str
    method: str
    path: str
    body: str
    key: str
    secret: str


def workloads() -> dict[str, Workload]:
    """The four signed operations of the throughput runs. The bodies are the page's
    examples; each passes the rules against the default seed every time, so every
    request of a run is a full, successful call:
    - updateFollowConfig leaves the leverage as stored (rule 10);
    - updateLeaderConfig sets a cool-down window with an end after its start (rule 3),
      pairs the leader has and already leads (rule 7), the leader's position type (rule 8)
      and an invite code held by this same leader (rule 10), so repeating it is accepted.
    """
    from toobit_follower_models.operations import BY_ID
    from toobit_follower_sim.testing import LEADER_API_KEY, LEADER_API_SECRET

    def load(operation_id: str, key: str, secret: str) -> Workload:
        op = BY_ID[operation_id]
        body = example_body(operation_id) if op.body_model is not None else ""
        return Workload(operation_id, op.method, op.path, body, key, secret)

    return {
        "follower read": load("listCurrentOrders", DEMO_API_KEY, DEMO_SECRET),
        "follower write": load("updateFollowConfig", DEMO_API_KEY, DEMO_SECRET),
        "leader read": load("getLeaderConfig", LEADER_API_KEY, LEADER_API_SECRET),
        "leader write": load("updateLeaderConfig", LEADER_API_KEY, LEADER_API_SECRET),
    }


BARE_APP = """
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route


async def get(request):
    return JSONResponse({"code": 200, "msg": "success", "data": []})


async def put(request):
    await request.body()
    return JSONResponse({"code": 200, "msg": "success", "data": None})


app = Starlette(routes=[Route("/bare", get, methods=["GET"]), Route("/bare", put, methods=["PUT"])])
"""


def filesystem(path: Path) -> str:
    """The file system type holding `path` (for the --db row), e.g. ext4."""
    try:
        out = subprocess.run(
            ["df", "--output=fstype", str(path)], capture_output=True, text=True, check=True
        ).stdout.split()
        return out[-1]
    except (OSError, subprocess.CalledProcessError, IndexError):
        return "an unknown file system"


def signed_target(
    path: str, params: str, body: str, timestamp: int, recv_window: int, secret: str = DEMO_SECRET
) -> str:
    window = f"recvWindow={recv_window}"
    query = "&".join(p for p in (params, window, f"timestamp={timestamp}") if p)
    sig = hmac.new(secret.encode(), (query + body).encode(), hashlib.sha256).hexdigest()
    return f"{path}?{query}&signature={sig}"


def lua_script(path: Path, method: str, work: Workload | None, body: str) -> None:
    """wrk script: 500 requests of `work`, freshly signed (or the bare path), cycled."""
    now = int(time.time() * 1000)
    key = work.key if work is not None else DEMO_API_KEY
    facts = wire()
    headers = f'{{["{facts.key_header}"]="{key}", ["Content-Type"]="application/json"}}'
    lines = ["local reqs = {}"]
    for i in range(500):
        if work is None:
            url = "/bare"
        else:
            url = signed_target(work.path, "", work.body, now + i, facts.recv_window, work.secret)
        lua_body = json.dumps(body) if body else "nil"
        call = f"wrk.format({json.dumps(method)}, {json.dumps(url)}, {headers}, {lua_body})"
        lines.append(f"reqs[{i + 1}] = {call}")
    lines.append("local i = 0")
    lines.append("request = function() i = i % #reqs + 1; return reqs[i] end")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def wrk(base: str, script: Path, duration: float, connections: int) -> dict[str, Any]:
    out = subprocess.run(
        [
            "wrk",
            "-t1",
            f"-c{connections}",
            f"-d{round(duration)}s",
            "--latency",
            "-s",
            str(script),
            base,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    if bad or errors:
        raise RuntimeError(f"wrk saw failures against {base}:\n{out}")

    def pct(p: str) -> str:
        match = re.search(rf"^\s+{p}%\s+(\S+)", out, re.M)
        return match.group(1) if match else "?"

    return {"rps": rps, "p50": pct("50"), "p99": pct("99")}


def start(cmd: list[str], url: str) -> subprocess.Popen[bytes]:
    log = Path(tempfile.mkstemp(prefix="bench-sim-", suffix=".log")[1])
    with log.open("wb") as sink:
        proc = subprocess.Popen(cmd, stdout=sink, stderr=sink, cwd=ROOT)
    wait_http(url, proc=proc)
    return proc


def simulator(port: int, *extra: str) -> subprocess.Popen[bytes]:
    cmd = [
        str(VENV_BIN / "toobit-follower-sim"), "serve", "--host", "127.0.0.1", "--port", str(port),
        "--rate-limit", "1000000000", "--log-level", "warning", *extra,
    ]  # fmt: skip
    return start(cmd, f"http://127.0.0.1:{port}/api/v1/time")


def throughput(
    rounds: int, duration: float, work: Path
) -> tuple[list[str], dict[str, float], dict[str, Workload]]:
    (work / "bare.py").write_text(BARE_APP, encoding="utf-8")
    loads = workloads()
    bare_port, sim_port, db_port = free_port(), free_port(), free_port()
    bare = start(
        [
            PYTHON, "-m", "uvicorn", "--app-dir", str(work), "bare:app", "--host", "127.0.0.1",
            "--port", str(bare_port), "--log-level", "warning", "--no-access-log",
            "--loop", "uvloop", "--http", "httptools", "--workers", "1",
        ],
        f"http://127.0.0.1:{bare_port}/bare",
    )  # fmt: skip
    sim = simulator(sim_port)
    sim_db = simulator(db_port, "--db", str(work / "put.db"))
    bare_url, sim_url = f"http://127.0.0.1:{bare_port}", f"http://127.0.0.1:{sim_port}"
    follower_body = loads["follower write"].body
    # name: (method, base URL, workload (None: the bare endpoint), body)
    runs: dict[str, tuple[str, str, Workload | None, str]] = {
        "GET bare": ("GET", bare_url, None, ""),
        "GET sim": ("GET", sim_url, loads["follower read"], ""),
        "GET sim leader": ("GET", sim_url, loads["leader read"], ""),
        "PUT bare": ("PUT", bare_url, None, follower_body),
        "PUT sim": ("PUT", sim_url, loads["follower write"], follower_body),
        "PUT sim leader": ("PUT", sim_url, loads["leader write"], loads["leader write"].body),
        "PUT sim --db": ("PUT", f"http://127.0.0.1:{db_port}", loads["follower write"],
                         follower_body),
    }  # fmt: skip
    results: dict[str, list[dict[str, Any]]] = {name: [] for name in runs}
    try:
        for r in range(rounds):
            order = list(runs) if r % 2 == 0 else list(reversed(runs))
            for name in order:
                method, base, load, body = runs[name]
                script = work / "run.lua"
                lua_script(script, method, load, body)
                results[name].append(wrk(base, script, duration, 32))
                print(f"round {r + 1} {name}: {results[name][-1]}", flush=True)
    finally:
        for proc in (bare, sim, sim_db):
            stop(proc)

    def ratio(a: str, b: str) -> float:
        return statistics.median(
            x["rps"] / y["rps"] for x, y in zip(results[a], results[b], strict=True)
        )

    def med(name: str) -> float:
        return statistics.median(x["rps"] for x in results[name])

    figures = {
        "get": ratio("GET sim", "GET bare"),
        "put": ratio("PUT sim", "PUT bare"),
        "leader_get": ratio("GET sim leader", "GET bare"),
        "leader_put": ratio("PUT sim leader", "PUT bare"),
    }
    rows = [
        "| run | req/s (median) | p50 / p99 latency (last round) | simulator / bare | goal"
        " | verdict |",
        "|---|---|---|---|---|---|",
    ]

    def op(name: str) -> str:
        load = runs[name][2]
        assert load is not None
        short = load.path.removeprefix("/api/v2/copy-trading/")
        return f"{load.method} `{short}` ({load.operation_id})"

    labels = {
        "GET bare": ("bare Starlette GET", "", ""),
        "GET sim": (f"simulator, follower: signed {op('GET sim')}", ">= 0.5", "get"),
        "GET sim leader": (
            f"simulator, leader: signed {op('GET sim leader')}",
            ">= 0.5",
            "leader_get",
        ),
        "PUT bare": ("bare Starlette PUT (reads the body)", "", ""),
        "PUT sim": (f"simulator, follower: signed {op('PUT sim')} (in memory)", ">= 0.3", "put"),
        "PUT sim leader": (
            f"simulator, leader: signed {op('PUT sim leader')} (in memory)",
            ">= 0.3",
            "leader_put",
        ),
        "PUT sim --db": (
            f"simulator, follower: signed {op('PUT sim --db')} with `--db` (fsync per commit)",
            "",
            "",
        ),
    }
    for name in ("GET bare", "GET sim", "GET sim leader", "PUT bare", "PUT sim",
                 "PUT sim leader", "PUT sim --db"):  # fmt: skip
        label, goal, key = labels[name]
        last = results[name][-1]
        share = f"{figures[key]:.2f}" if key else ""
        if name == "PUT sim --db":
            share = f"{ratio('PUT sim --db', 'PUT bare'):.2f} (information)"
        met = ""
        if key:
            met = "met" if figures[key] >= float(goal.split()[-1]) else "**not met**"
        latency = f"{last['p50']} / {last['p99']}"
        rows.append(f"| {label} | {med(name):,.0f} | {latency} | {share} | {goal} | {met} |")
    return rows, figures, loads


def history_rows(follower_rows: int) -> Iterator[dict[str, Any]]:
    """Closed positions of the demo follower, older than the seeded one, oldest first."""
    start_ms = 1_600_000_000_000
    for i in range(follower_rows):
        close = start_ms + i * 1000
        yield {
            "followerId": 10001,
            "leaderUserId": 123456789,
            "symbolId": ("BTC-SWAP-USDT", "ETH-SWAP-USDT", "SOL-SWAP-USDT")[i % 3],
            "positionType": 1,
            "isLong": i % 2,
            "openTimeMs": close - 600_000,
            "lastCloseTimeMs": close,
            "closeStatus": 2,
            "leverage": "20",
            "openAvgPrice": f"{6000 + i % 997}.5",
            "closeAvgPrice": f"{6100 + i % 991}.25",
            "maxPositionQuantity": "0.02",
            "closedQuantity": "0.02",
            "realizedProfit": f"{'-' if i % 3 == 0 else ''}{i % 100}.{i % 97:02d}",
        }


def build_db(path: Path, rows: int) -> float:
    sys.path.insert(0, str(ROOT / "simulator"))
    from toobit_follower_sim.seed import load_seed
    from toobit_follower_sim.store import Store

    began = time.perf_counter()
    store = Store(str(path))
    store.load_seed(load_seed())
    store.add_history(history_rows(rows - 1))  # the seed holds one row of 10001 already
    store.close()
    return time.perf_counter() - began


def history(rows: int, rounds: int, work: Path) -> tuple[list[str], float]:
    db = work / "history.db"
    took = build_db(db, rows)
    print(f"history db with {rows:,} rows for follower 10001 built in {took:.1f} s", flush=True)
    port = free_port()
    proc = simulator(port, "--db", str(db))
    size = 100
    last = -(-rows // size)
    pages = {
        "first (page 1)": 1,
        f"middle (page {last // 2})": last // 2,
        f"last (page {last})": last,
    }
    samples: dict[str, list[float]] = {name: [] for name in pages}
    history_path = path_of("listHistoryOrders")
    facts = wire()
    key_header = {facts.key_header: DEMO_API_KEY}
    conn = http.client.HTTPConnection("127.0.0.1", port)
    try:
        for r in range(rounds):
            order = list(pages) if r % 2 == 0 else list(reversed(pages))
            for name in order:
                for _ in range(200):
                    target = signed_target(
                        history_path,
                        f"page={pages[name]}&size={size}",
                        "",
                        int(time.time() * 1000),
                        facts.recv_window,
                    )
                    began = time.perf_counter()
                    conn.request("GET", target, headers=key_header)
                    resp = conn.getresponse()
                    payload = resp.read()
                    samples[name].append(time.perf_counter() - began)
                    data = json.loads(payload)["data"]
                    if (
                        resp.status != 200
                        or len(data["list"]) != size
                        or data["total"] != str(rows)
                    ):
                        raise RuntimeError(f"unexpected history answer: {payload[:300]!r}")
    finally:
        conn.close()
        stop(proc)
    medians = {name: statistics.median(s) for name, s in samples.items()}
    first, final = medians["first (page 1)"], medians[f"last (page {last})"]
    out = [
        "| page (size 100) | median | p95 |",
        "|---|---|---|",
    ]
    for name, s in samples.items():
        p95 = statistics.quantiles(s, n=20)[-1]
        out.append(f"| {name} | {medians[name] * 1e3:.2f} ms | {p95 * 1e3:.2f} ms |")
    # The naive way, timed on the same file, for contrast.
    conn_db = sqlite3.connect(db)
    naive = []
    for sql in (
        "SELECT * FROM history WHERE follower_id = 10001"
        f" ORDER BY last_close_time_ms DESC, id DESC LIMIT 100 OFFSET {(last - 1) * size}",
        "SELECT COUNT(*) FROM history WHERE follower_id = 10001",
    ):
        times = []
        for _ in range(5):
            began = time.perf_counter()
            conn_db.execute(sql).fetchall()
            times.append(time.perf_counter() - began)
        naive.append(statistics.median(times))
    conn_db.close()
    out += [
        "",
        f"Last / first page: **{final / first:.2f}** (goal: within 2x, "
        f"{'met' if final <= 2 * first else '**not met**'}). Building the file took {took:.0f} s "
        f"({db.stat().st_size / 1e6:.0f} MB).",
        "",
        "For contrast, on the same file, in process (no HTTP): `ORDER BY last_close_time_ms"
        f" DESC, id DESC LIMIT 100 OFFSET {(last - 1) * size:,}` takes {naive[0] * 1e3:.1f} ms and"
        f" `COUNT(*)` {naive[1] * 1e3:.1f} ms (median of 5): what each page would pay"
        " with OFFSET paging and a counted total.",
    ]
    return out, final / first


# -- the rate limiter with many callers (in process) --------------------------------------
FILL_BUDGET_S = 90.0
LIMITER_ROUNDS = 2000


def measure_limiter(callers: int, samples: int, path: str, facts: Wire) -> dict[str, float]:
    """Run in a child process (the simulator on its PYTHONPATH): see the module doc.
    ``path``: listCurrentOrders' path, which the parent read from the operation table;
    ``facts``: the parent's `wire()`."""
    from toobit_follower_sim import SimOptions, create_app

    now = int(time.time() * 1000)
    now -= now % 60_000  # one minute: every caller lands in the same window
    app = create_app(options=SimOptions(rate_limit=10**9), clock=lambda: now)
    rng = random.Random(13)
    letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    sent: list[Any] = []
    key_header = facts.key_header.lower().encode()  # as an ASGI scope carries it

    async def call(scope: dict[str, Any]) -> None:
        sent.clear()

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: Any) -> None:
            sent.append(message)

        await app(scope, receive, send)

    def scope(query: bytes, key: str, address: str) -> dict[str, Any]:
        return {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
            "scheme": "http", "path": path, "raw_path": path.encode(),
            "query_string": query, "root_path": "", "server": ("127.0.0.1", 8080),
            "headers": [(key_header, key.encode())], "client": (address, 40000),
        }  # fmt: skip

    def stranger() -> dict[str, Any]:
        key = "".join(rng.choices(letters, k=64))
        address = ".".join(str(rng.randrange(256)) for _ in range(4))
        return scope(b"timestamp=1", key, address)

    def signed() -> dict[str, Any]:
        target = signed_target("", "", "", now, facts.recv_window)
        return scope(target[1:].encode(), DEMO_API_KEY, "127.0.0.1")

    def rss_kib() -> int:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        return 0

    async def run() -> dict[str, float]:
        out: dict[str, float] = {}
        seen = 0
        rss_start = rss_kib()
        budget = time.monotonic() + FILL_BUDGET_S  # a table that rebuilds per caller is slow
        for label, upto in (("few", 1_000), ("many", callers)):
            while seen < upto and time.monotonic() < budget:
                await call(stranger())
                seen += 1
            if label == "many":
                out["rss_growth_kib"] = rss_kib() - rss_start
                out["callers"] = seen
            strangers, normals = [], []
            for _ in range(samples):
                began = time.perf_counter()
                await call(stranger())
                strangers.append(time.perf_counter() - began)
                request = signed()
                began = time.perf_counter()
                await call(request)
                normals.append(time.perf_counter() - began)
                if sent[0]["status"] != 200:
                    raise RuntimeError(f"signed GET answered {sent[0]['status']}: {sent[1:]}")
            seen += samples
            out[f"{label}_stranger_s"] = statistics.median(strangers)
            out[f"{label}_signed_s"] = statistics.median(normals)
        limiter = app.sim.limiter
        out["entries"] = len(limiter._windows) + len(limiter._bans)
        return out

    return asyncio.run(run())


def child_env(src: Path | None) -> dict[str, str]:
    """The environment of a child that imports the simulator from `src` (default: ours)."""
    env = dict(os.environ)
    if src is not None:
        env["PYTHONPATH"] = os.pathsep.join(
            str(src / d) for d in ("simulator", "generated", "overlay")
        )
    return env


def limiter(callers: int, src: Path | None) -> dict[str, float]:
    child = subprocess.run(
        [PYTHON, __file__, "--measure-limiter", str(callers),
         "--limiter-path", path_of("listCurrentOrders"), "--limiter-wire", json.dumps(wire())],
        capture_output=True, text=True, env=child_env(src), cwd=src or ROOT,
    )  # fmt: skip
    if child.returncode != 0:
        raise RuntimeError(
            f"limiter measurement failed ({src or 'this checkout'}):\n{child.stderr}"
        )
    return dict(json.loads(child.stdout.strip().splitlines()[-1]))


# -- stalled connections (real server) -----------------------------------------------------
def starvation(stalled: int, src: Path | None, samples: int = 50) -> dict[str, float]:
    """Normal requests against a server with an open-file limit of 1,024, with no stalled
    connection, then with `stalled` of them (see the module doc)."""
    port = free_port()

    def limit_files() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (1024, 1024))

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < stalled + 200:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, stalled + 200), hard))
    cmd = [PYTHON, "-m", "toobit_follower_sim", "serve", "--port", str(port),
           "--log-level", "warning"]  # fmt: skip
    log = Path(tempfile.mkstemp(prefix="bench-sim-stall-", suffix=".log")[1])
    with log.open("wb") as sink:
        proc = subprocess.Popen(
            cmd, stdout=sink, stderr=sink, cwd=src or ROOT, env=child_env(src),
            preexec_fn=limit_files,
        )  # fmt: skip
    wait_http(f"http://127.0.0.1:{port}/api/v1/time", proc=proc)

    def normal_requests() -> tuple[int, list[float]]:
        served, took = 0, []
        for _ in range(samples):
            began = time.perf_counter()
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                conn.request("GET", "/api/v1/time")
                ok = conn.getresponse().status == 200
                conn.close()
            except OSError:
                ok = False
            if ok:
                served += 1
                took.append(time.perf_counter() - began)
        return served, took

    socks: list[socket.socket] = []
    try:
        served_idle, idle = normal_requests()
        for _ in range(stalled):
            try:
                sock = socket.create_connection(("127.0.0.1", port), timeout=5)
                sock.sendall(b"GET /api/v1/time HTTP/1.1\r\nHost: sim\r\nX-Slow: ")
                socks.append(sock)
            except OSError:
                break
        served_stalled, busy = normal_requests()
    finally:
        for sock in socks:
            sock.close()
        stop(proc)
    return {
        "opened": len(socks),
        "served_none_stalled": served_idle,
        "served_stalled": served_stalled,
        "median_none_stalled_s": statistics.median(idle) if idle else float("nan"),
        "median_stalled_s": statistics.median(busy) if busy else float("nan"),
        "log_bytes": log.stat().st_size,
    }


def hardening(
    callers: int, stalled: int, baseline: Path | None
) -> tuple[list[str], dict[str, float]]:
    trees: dict[str, Path | None] = {"this checkout": None}
    if baseline is not None:
        trees[f"baseline `{baseline.name}`"] = baseline
    lim = {name: limiter(callers, src) for name, src in trees.items()}
    stall = {name: starvation(stalled, src) for name, src in trees.items()}
    for name in trees:
        print(f"limiter {name}: {lim[name]}\nstalled {name}: {stall[name]}", flush=True)
    ours = lim["this checkout"]
    figures = {
        "signed": ours["many_signed_s"] / ours["few_signed_s"],
        "stranger": ours["many_stranger_s"] / ours["few_stranger_s"],
    }
    rows = [
        f"## Rate limiter with {callers:,} callers in one minute",
        "",
        "In process (the ASGI app called directly: the server's own time). Each caller is"
        " an unsigned request with a new random key from a new client address; the"
        f" signed GET is the demo key's. Median of {LIMITER_ROUNDS:,} rounds after 1,000 callers"
        f" (few) and after {callers:,} (many; a simulator that has not got there within"
        f" {FILL_BUDGET_S:.0f} s of filling is measured where it got to: see callers). The"
        " memory is the process's resident set growth over the fill.",
        "",
        "| simulator | callers | signed GET few / many | many / few | stranger few / many"
        " | many / few | limiter entries | memory growth |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, f in lim.items():
        rows.append(
            f"| {name} | {f['callers']:,.0f}"
            f" | {f['few_signed_s'] * 1e6:.0f} / {f['many_signed_s'] * 1e6:.0f} us"
            f" | **{f['many_signed_s'] / f['few_signed_s']:.2f}**"
            f" | {f['few_stranger_s'] * 1e6:.0f} / {f['many_stranger_s'] * 1e6:.0f} us"
            f" | **{f['many_stranger_s'] / f['few_stranger_s']:.2f}**"
            f" | {f['entries']:,.0f} | {f['rss_growth_kib'] / 1024:.1f} MiB |"
        )
    rows += [
        "",
        "| figure | result | goal | verdict |",
        "|---|---|---|---|",
        f"| limiter, {callers:,} callers: signed GET many / few | {figures['signed']:.2f}"
        f" | <= 1.5 | {'met' if figures['signed'] <= 1.5 else '**not met**'} |",
        f"| limiter, {callers:,} callers: stranger many / few | {figures['stranger']:.2f}"
        f" | <= 1.5 | {'met' if figures['stranger'] <= 1.5 else '**not met**'} |",
        "",
        f"## Normal requests among {stalled:,} stalled connections",
        "",
        "The server under an open-file limit of 1,024; the stalled connections each sent half"
        " a request head, then nothing. 50 normal requests, a new connection each, 5 s"
        " timeout.",
        "",
        "| simulator | stalled connections open | served, none stalled | served, stalled"
        " | median latency none / stalled | stalled / none | server log |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, f in stall.items():
        none, busy = f["median_none_stalled_s"], f["median_stalled_s"]
        ratio_text = f"**{busy / none:.2f}**" if busy == busy else "-"
        busy_text = f"{busy * 1e3:.2f} ms" if busy == busy else "-"
        rows.append(
            f"| {name} | {f['opened']:,.0f} | {f['served_none_stalled']:.0f} / 50"
            f" | {f['served_stalled']:.0f} / 50 | {none * 1e3:.2f} ms / {busy_text}"
            f" | {ratio_text} | {f['log_bytes']:,.0f} bytes |"
        )
    figures["stalled_served"] = stall["this checkout"]["served_stalled"]
    figures["stalled_ratio"] = (
        stall["this checkout"]["median_stalled_s"] / stall["this checkout"]["median_none_stalled_s"]
    )
    all_served = "met" if figures["stalled_served"] == 50 else "**not met**"
    within = "met" if figures["stalled_ratio"] <= 2 else "**not met**"
    rows += [
        "",
        "| figure | result | goal | verdict |",
        "|---|---|---|---|",
        f"| normal requests served among {stalled:,} stalled connections"
        f" | {figures['stalled_served']:.0f} / 50 | 50 / 50 | {all_served} |",
        f"| their latency, stalled / none | {figures['stalled_ratio']:.2f} | <= 2 | {within} |",
        "",
    ]
    return rows, figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=int, default=5, help="seconds per wrk run")
    parser.add_argument(
        "--rows", type=int, default=1_000_000, help="history rows of the demo follower"
    )
    parser.add_argument("--callers", type=int, default=200_000, help="limiter: callers")
    parser.add_argument("--stalled", type=int, default=1_500, help="stalled connections")
    parser.add_argument("--baseline-src", type=Path, help="another checkout to compare with")
    parser.add_argument(
        "--only-hardening", action="store_true", help="run the last two parts, print them"
    )
    parser.add_argument("--measure-limiter", type=int, help=argparse.SUPPRESS)  # child mode
    parser.add_argument("--limiter-path", help=argparse.SUPPRESS)  # the child's GET path
    parser.add_argument("--limiter-wire", help=argparse.SUPPRESS)  # the parent's wire(), JSON
    args = parser.parse_args()
    if args.measure_limiter:
        facts = Wire(*json.loads(args.limiter_wire))
        limited = measure_limiter(args.measure_limiter, LIMITER_ROUNDS, args.limiter_path, facts)
        print(json.dumps(limited))
        return 0
    if args.only_hardening:
        print("\n".join(hardening(args.callers, args.stalled, args.baseline_src)[0]))
        return 0
    if shutil.which("wrk") is None:
        print("wrk is missing: apt-get install wrk (make bench installs it)", file=sys.stderr)
        return 2
    wrk_version = subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout.split("\n")[
        0
    ]
    with tempfile.TemporaryDirectory(prefix="bench-sim-") as tmp:
        work = Path(tmp)
        table, figures, loads = throughput(args.rounds, args.duration, work)
        hist, hist_ratio = history(args.rows, args.rounds, work)
        hard, _ = hardening(args.callers, args.stalled, args.baseline_src)
    page = [
        "# Simulator",
        "",
        "Written by `bench/bench_simulator.py` (`make bench`). "
        + machine_line("starlette", "uvicorn", "uvloop", "httptools"),
        "",
        "## Throughput, one uvicorn worker, simulator vs a bare Starlette endpoint",
        "",
        f"Load: {wrk_version.strip()} (`-t1 -c32 --latency`, {args.duration:g} s per run, "
        f"{args.rounds} rounds, order reversed every other round) with a Lua script cycling"
        " through 500 pre-signed requests; every run ended with zero non-2xx answers and zero"
        " socket errors. Client and servers share the machine's cores.",
        "",
        *table,
        "",
        f"Reads: follower **{figures['get']:.2f}**, leader **{figures['leader_get']:.2f}** of"
        f" bare Starlette (goal >= 0.5); writes: follower **{figures['put']:.2f}**, leader"
        f" **{figures['leader_put']:.2f}** (goal >= 0.3). Ratios are medians over rounds of"
        " simulator / bare measured in the same round, leader and follower runs against the"
        " same bare runs. Operations and bodies come from the generated operation table and"
        " the page's request examples; the follower side is signed with the demo key, the"
        " leader side with the demo leader's read-write key. Both PUT bodies are the page's"
        " examples sent unchanged every time: the follower's keeps the stored leverage, the"
        " leader's sets a cool-down window that ends after it starts, pairs the leader"
        " already leads and an invite code it already holds, so the rules accept every"
        f" repetition (a leader PUT is {len(loads['leader write'].body)} bytes of JSON, a"
        f" follower PUT {len(loads['follower write'].body)}). The `--db` file was on"
        f" {filesystem(Path(tempfile.gettempdir()))} in the system temp directory; its write"
        " rate follows the storage's fsync latency (cheap on this virtual disk).",
        "",
        "Per signed request the simulator does: rate-limit accounting, key lookup (cached"
        " `hmac` object per key, `.copy()` per request), HMAC-SHA256 over the raw query +"
        " body, the parameter/body checks from the spec, one SQLite statement whose stored JSON"
        " documents go out as they are (reads) or one `BEGIN IMMEDIATE ... COMMIT` transaction"
        " storing the new document (writes; the leader's also checks its level limits, pairs,"
        " position type, referral and invite code, and rewrites its pairs' `isLead`), JSON"
        " encoding of the envelope. /api/* bypasses"
        " Starlette's router and middleware (a dict lookup on the path); the bare baseline is"
        " a plain Starlette route.",
        "",
        f"## History pages with {args.rows:,} rows",
        "",
        "Sequential signed GETs over one keep-alive connection (http.client), 200 per page per"
        f" round, {args.rounds} rounds, interleaved; wall-clock latency (client + loopback +"
        " server). Rows are numbered per follower (`pos`, indexed with the follower id), so"
        " page N is an index range scan and the total is the largest `pos`: O(log n) for"
        " any page. Each row is the JSON text of the HistoryOrder it is served as.",
        "",
        *hist,
        "",
        *hard,
    ]
    RESULT.parent.mkdir(parents=True, exist_ok=True)
    RESULT.write_text("\n".join(page), encoding="utf-8")
    print("\n".join(page))
    # A goal not met is a finding written on the page, not a failure of the benchmark.
    del hist_ratio
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
