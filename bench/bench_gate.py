"""What the rate-limit gate costs below the limit: the client with its gate, the same
client with the gate replaced by one that lets everything through, and the client as it
was before issue 13 (a1b4b86, no gate, no deadline, no size cap), side by side.

    .venv/bin/python bench/bench_gate.py [--rounds N]

1. CPU per call on an in-process fake transport (canned answer with the X-Api-Limit-*
   headers, 2999 weight left: the gate never waits). Gate on and gate off are timed
   interleaved in one process; the old client runs in a process of its own built from
   `git archive a1b4b86` (the same answer bytes), alternating with the new one, and
   each process's median per call is paired with the other's of the same round.
2. Wall time per call over loopback against the simulator (rate limit lifted), gate on
   and off interleaved.

Writes bench/results/gate.md and gate.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from io import BytesIO
from pathlib import Path
from typing import Any

import httpx
import yaml
from _common import (
    DEMO_API_KEY,
    DEMO_SECRET,
    LEADER_ID,
    ROOT,
    Candidate,
    Headline,
    interleaved,
    machine_line,
    ratio,
    run_async,
    start_simulator,
    stop,
    us,
    write_results,
)

DEFAULT_OLD = "a1b4b86"  # before issue 13: no gate, no deadline, no size cap
OLD_COMMIT = os.environ.get("BENCH_GATE_OLD", DEFAULT_OLD)
"""The client compared against (``BENCH_GATE_OLD=<rev>``: another, e.g. a session's start)."""
_OLD_NOTE = " (before issue 13)" if OLD_COMMIT == DEFAULT_OLD else ""
BASE = "http://fake.toobit.invalid"
GOAL = 1.05  # "nothing measurable": within the round-to-round noise of this machine


def old_tree(into: Path) -> Path:
    """overlay/, generated/ and openapi.yaml of OLD_COMMIT, extracted into ``into``."""
    archive = subprocess.run(
        ["git", "archive", OLD_COMMIT, "overlay", "generated", "openapi.yaml"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return into


def canned_answer(spec: Path) -> bytes:
    """getFollowConfig's example answer in ``spec`` (the old one: both clients parse it)."""
    document = yaml.safe_load(spec.read_text(encoding="utf-8"))
    op = document["paths"]["/api/v2/copy-trading/follower/config"]["get"]
    examples = op["responses"]["200"]["content"]["application/json"]["examples"]
    return json.dumps(next(iter(examples.values()))["value"], separators=(",", ":")).encode()


def canned_headers() -> dict[str, str]:
    """The canned answer's headers: 2999 weight left of 3000, so the gate never waits.
    Imported here, not at the top: the old client's process runs this file against
    OLD_COMMIT's generated package, which may have no protocol module, so each process
    gets these on its command line (the same headers for both clients)."""
    from toobit_follower_models.protocol import (
        RATE_LIMIT_HEADER,
        RATE_LIMIT_RESET_HEADER,
        RATE_LIMIT_STATUS_HEADER,
    )

    return {
        "Content-Type": "application/json",
        RATE_LIMIT_STATUS_HEADER: "2999",
        RATE_LIMIT_HEADER: "3000",
        RATE_LIMIT_RESET_HEADER: "1717200000000",
    }


class Fake(httpx.BaseTransport, httpx.AsyncBaseTransport):
    def __init__(self, body: bytes, headers: dict[str, str]) -> None:
        self.body = body
        self.headers = headers

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers=self.headers, content=self.body)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers=self.headers, content=self.body)


class NoGate:
    """Lets every call go at once and learns nothing: the gate taken out."""

    cause = None

    def admit(self, weight: int, now_ms: int, max_wait: float) -> tuple[int, float]:
        return 0, 0.0

    def answered(self, *args: Any) -> None:
        return None

    def block(self, cause: Any, until_ms: int, now_ms: int) -> int:
        return until_ms


def measure_in_process(
    body: bytes, headers: dict[str, str], rounds: int, with_gate_off: bool
) -> dict[str, float]:
    """Median CPU seconds per call of this process's client (and its gate-off twin)."""
    import asyncio

    from toobit_follower import AsyncFollowerClient, FollowerClient

    def fake() -> Fake:
        return Fake(body, headers)

    loop = asyncio.new_event_loop()
    sync_on = FollowerClient(DEMO_API_KEY, DEMO_SECRET, base_url=BASE, transport=fake())
    async_on = AsyncFollowerClient(DEMO_API_KEY, DEMO_SECRET, base_url=BASE, transport=fake())
    candidates = [
        Candidate("sync", lambda: sync_on.get_follow_config(LEADER_ID)),
        Candidate("async", run_async(loop, lambda: async_on.get_follow_config(LEADER_ID), 20), 20),
    ]
    if with_gate_off:
        sync_off = FollowerClient(DEMO_API_KEY, DEMO_SECRET, base_url=BASE, transport=fake())
        async_off = AsyncFollowerClient(DEMO_API_KEY, DEMO_SECRET, base_url=BASE, transport=fake())
        sync_off._gate = async_off._gate = NoGate()  # type: ignore[assignment]
        candidates += [
            Candidate("sync, gate off", lambda: sync_off.get_follow_config(LEADER_ID)),
            Candidate(
                "async, gate off",
                run_async(loop, lambda: async_off.get_follow_config(LEADER_ID), 20),
                20,
            ),
        ]
    series = interleaved(candidates, rounds)
    result = {name: s.median for name, s in series.items()}
    if with_gate_off:
        for mode in ("sync", "async"):
            on, off = series[mode].rounds, series[f"{mode}, gate off"].rounds
            per_round = [a / b for a, b in zip(on, off, strict=True)]
            result[f"ratio {mode}"] = ratio(series, mode, f"{mode}, gate off")
            result[f"ratio {mode} min"], result[f"ratio {mode} max"] = (
                min(per_round),
                max(per_round),
            )
        result["gate alone"] = gate_alone()
    return result


def gate_alone(calls: int = 200_000) -> float:
    """CPU seconds of the gate's own work per call: one admit and one answered."""
    from toobit_follower._ratelimit import RateLimitGate

    gate = RateLimitGate()
    kind, _ = gate.admit(1, 1717200000000, 60.0)
    gate.answered(1, kind, 10**9, 1717200000000)
    start = time.process_time()
    for _ in range(calls):
        kind, _ = gate.admit(1, 1717200000001, 60.0)
        gate.answered(1, kind, 10**9, 1717200000001)
    return (time.process_time() - start) / calls


def child(args: argparse.Namespace) -> int:
    body = canned_answer(Path(args.spec))
    headers = json.loads(args.headers)
    print(json.dumps(measure_in_process(body, headers, args.rounds, not args.old)))
    return 0


def spawn(
    old: Path, spec: Path, headers: dict[str, str], rounds: int, use_old: bool
) -> dict[str, float]:
    env = dict(os.environ)
    if use_old:
        env["PYTHONPATH"] = os.pathsep.join(
            [str(old / "overlay"), str(old / "generated"), str(ROOT / "bench")]
        )
    cmd = [sys.executable, __file__, "--child", "--spec", str(spec), "--rounds", str(rounds)]
    cmd += ["--headers", json.dumps(headers)]
    out = subprocess.run(
        [*cmd, *(["--old"] if use_old else [])], env=env, capture_output=True, check=True
    ).stdout
    return dict(json.loads(out.decode().strip().splitlines()[-1]))


def loopback(rounds: int) -> dict[str, float]:
    from toobit_follower import FollowerClient

    proc, url = start_simulator(None, output_to_devnull=True)
    try:
        on = FollowerClient(DEMO_API_KEY, DEMO_SECRET, base_url=url)
        off = FollowerClient(DEMO_API_KEY, DEMO_SECRET, base_url=url, timeout=10.0)
        off._gate = NoGate()  # type: ignore[assignment]
        series = interleaved(
            [
                Candidate("on", lambda: on.get_follow_config(LEADER_ID)),
                Candidate("off", lambda: off.get_follow_config(LEADER_ID)),
            ],
            rounds,
            timer=time.perf_counter,
        )
        on.close()
        off.close()
    finally:
        stop(proc)
    return {
        "on": series["on"].median,
        "off": series["off"].median,
        "ratio": ratio(series, "on", "off"),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--processes", type=int, default=4, help="pairs of new/old processes")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--old", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--spec", help=argparse.SUPPRESS)
    parser.add_argument("--headers", help=argparse.SUPPRESS)  # the canned answer's, as JSON
    args = parser.parse_args()
    if args.child:
        return child(args)

    with tempfile.TemporaryDirectory(prefix="bench-gate-") as tmp:
        old = old_tree(Path(tmp))
        spec = old / "openapi.yaml"
        headers = canned_headers()
        new_runs: list[dict[str, float]] = []
        old_runs: list[dict[str, float]] = []
        for k in range(args.processes):
            pair = [False, True] if k % 2 == 0 else [True, False]
            for use_old in pair:
                (old_runs if use_old else new_runs).append(
                    spawn(old, spec, headers, args.rounds, use_old)
                )
    wire = loopback(args.rounds)

    def med(runs: list[dict[str, float]], key: str) -> float:
        return statistics.median(run[key] for run in runs)

    def paired(key: str) -> float:
        return statistics.median(n[key] / o[key] for n, o in zip(new_runs, old_runs, strict=True))

    on_off_sync, on_off_async = med(new_runs, "ratio sync"), med(new_runs, "ratio async")

    def spread(mode: str) -> str:
        low = min(run[f"ratio {mode} min"] for run in new_runs)
        high = max(run[f"ratio {mode} max"] for run in new_runs)
        return f"{low:.2f}-{high:.2f}"

    spread_sync, spread_async = spread("sync"), spread("async")
    alone = med(new_runs, "gate alone")
    share = alone / med(new_runs, "sync")
    share_wire = alone / wire["on"]
    vs_old_sync, vs_old_async = paired("sync"), paired("async")
    md = [
        "# The rate-limit gate below the limit",
        "",
        machine_line("httpx", "pydantic", "uvicorn"),
        f"CPU per call: {args.processes} processes of the client as it is (gate on and gate"
        f" off interleaved, {args.rounds} rounds each) alternating with {args.processes} of"
        f" the client at {OLD_COMMIT}{_OLD_NOTE}, each on an in-process fake"
        " transport answering getFollowConfig's example with 2999 weight left; medians of"
        " the processes. Gate off = the gate replaced by one that admits every call and"
        " learns nothing (the rest of the call path unchanged). Async: 20 sequential"
        " awaited calls per loop run. Loopback: the simulator in its own process, rate"
        " limit lifted, wall time per call.",
        "",
        "| get_follow_config | CPU per call | gate on / gate off (per-round range) |"
        f" ours / {OLD_COMMIT} |",
        "|---|---|---|---|",
        f"| ours, gate on (sync) | {us(med(new_runs, 'sync'))} | {on_off_sync:.3f}x"
        f" ({spread_sync}) | {vs_old_sync:.3f}x |",
        f"| ours, gate off (sync) | {us(med(new_runs, 'sync, gate off'))} | 1.000x | |",
        f"| {OLD_COMMIT} (sync) | {us(med(old_runs, 'sync'))} | | 1.000x |",
        f"| ours, gate on (async) | {us(med(new_runs, 'async'))} | {on_off_async:.3f}x"
        f" ({spread_async}) | {vs_old_async:.3f}x |",
        f"| ours, gate off (async) | {us(med(new_runs, 'async, gate off'))} | 1.000x | |",
        f"| {OLD_COMMIT} (async) | {us(med(old_runs, 'async'))} | | 1.000x |",
        "",
        "| over loopback (sync) | wall per call | ratio |",
        "|---|---|---|",
        f"| gate on | {us(wire['on'])} | {wire['ratio']:.3f}x |",
        f"| gate off | {us(wire['off'])} | 1.000x |",
        "",
        f"The gate's own work, timed alone (one admit and one answered, uncontended):"
        f" {us(alone)} per call, {share:.1%} of a call on the fake transport above and"
        f" {share_wire:.2%} of a loopback call. In the client the median difference is a"
        " little more (a few µs on the fake transport, where a call costs least; the"
        " range in brackets is the round-to-round spread of the same ratio on this shared"
        " machine); over loopback it is lost in the noise, and over a network to the"
        " exchange (tens of ms a call) it is nothing.",
        "",
        f"Ours / {OLD_COMMIT} is everything that changed in a call since then"
        + (
            ": the gate, the deadline on every socket operation, the streamed and capped"
            " body read (issue 13)."
            if OLD_COMMIT == DEFAULT_OLD
            else f" (BENCH_GATE_OLD={OLD_COMMIT})."
        ),
    ]
    worst = max(on_off_sync, on_off_async, wire["ratio"])
    headlines = [
        Headline(
            "rate-limit gate",
            "below the limit, gate on / gate off: CPU per call sync; async; loopback wall",
            f"{on_off_sync:.3f}x; {on_off_async:.3f}x; {wire['ratio']:.3f}x",
            f"<= {GOAL:.2f}x",
            worst <= GOAL,
        ),
        Headline(
            "rate-limit gate",
            "the gate's own work per call (admit + answered): share of a fake-transport"
            " call; of a loopback call",
            f"{us(alone)}: {share:.1%}; {share_wire:.2%}",
        ),
        Headline(
            "rate-limit gate",
            f"CPU per call, ours / {OLD_COMMIT}{_OLD_NOTE or ' (BENCH_GATE_OLD)'}: sync; async",
            f"{vs_old_sync:.3f}x; {vs_old_async:.3f}x",
        ),
    ]
    write_results("gate", md, headlines)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
