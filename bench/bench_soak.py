"""Soak: 20 async tasks and 4 threads make 10,000 calls against the simulator at its
default rate limit (3000 request weight per minute per key).

    .venv/bin/python bench/bench_soak.py [--calls N] [--tasks N] [--threads N]

The simulator runs in its own process (`toobit-follower-sim serve`, default limit and
ban rules: 429 past 3000 a minute, 418 after 10 more). One AsyncFollowerClient is shared
by the 20 tasks (on one event loop, in a thread of its own) and one FollowerClient by
the 4 threads; both use the demo key on the same host, so they share one rate-limit
gate. The workers draw calls from one counter until 10,000 are made: reads of every
kind and, one call in ten, a stop-profit-loss PUT. Every answer's HTTP status is
counted by an httpx response hook.

Goal (issue 13): no 418, at most one 429, every call succeeds. Throughput against the
limit: the calls served in each minute of server time (from the answers'
X-Api-Limit-Reset-Timestamp, the server's clock when not limited) over the limit, and
the minutes used against the fewest any client could use (10,000 / 3000, rounded up,
from the minute the run starts in). Writes bench/results/soak.md and soak.json.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import threading
import time
from collections import Counter
from typing import Any

import httpx
from _common import (
    DEMO_API_KEY,
    DEMO_SECRET,
    LEADER_ID,
    Headline,
    machine_line,
    start_simulator,
    stop,
    write_results,
)
from toobit_follower import AsyncFollowerClient, FollowerClient, ToobitError

LIMIT = 3000  # the simulator's default, the exchange's REQUEST_WEIGHT
WINDOW_S = 60


class Tally:
    """Calls handed out, answers seen, failures: shared by every thread and task."""

    def __init__(self, calls: int) -> None:
        self.calls = calls
        self.issued = 0
        self.lock = threading.Lock()
        self.statuses: Counter[int] = Counter()
        self.served_minute: Counter[int] = Counter()  # successes per minute of server time
        self.failures: Counter[str] = Counter()
        self.longest_wait = 0.0

    def take(self) -> int | None:
        with self.lock:
            if self.issued >= self.calls:
                return None
            self.issued += 1
            return self.issued

    def seen(self, response: httpx.Response) -> None:
        with self.lock:
            self.statuses[response.status_code] += 1
            server_ms = response.headers.get("X-Api-Limit-Reset-Timestamp", "")
            if response.status_code == 200 and server_ms.isdigit():
                self.served_minute[int(server_ms) // (WINDOW_S * 1000)] += 1

    def failed(self, exc: BaseException) -> None:
        with self.lock:
            self.failures[type(exc).__name__] += 1

    def waited(self, seconds: float) -> None:
        with self.lock:
            self.longest_wait = max(self.longest_wait, seconds)


def plan(n: int) -> tuple[str, tuple[Any, ...], dict[str, Any]]:
    """The n-th call: a mix of every read, and a write one call in ten."""
    if n % 10 == 0:
        return (
            "update_stop_profit_loss",
            (LEADER_ID, "BTC-SWAP-USDT", 1),
            {"stop_profit_rate": "0.1"},
        )
    reads: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = [
        ("list_leaders", (), {}),
        ("get_follow_config", (LEADER_ID,), {}),
        ("list_current_orders", (), {}),
        ("list_history_orders", (1, 10), {}),
    ]
    return reads[n % len(reads)]


def thread_worker(client: FollowerClient, tally: Tally) -> None:
    while (n := tally.take()) is not None:
        name, args, kwargs = plan(n)
        started = time.monotonic()
        try:
            getattr(client, name)(*args, **kwargs)
        except ToobitError as exc:
            tally.failed(exc)
        tally.waited(time.monotonic() - started)


async def task_worker(client: AsyncFollowerClient, tally: Tally) -> None:
    while (n := tally.take()) is not None:
        name, args, kwargs = plan(n)
        started = time.monotonic()
        try:
            await getattr(client, name)(*args, **kwargs)
        except ToobitError as exc:
            tally.failed(exc)
        tally.waited(time.monotonic() - started)


def soak(url: str, calls: int, tasks: int, threads: int) -> tuple[Tally, float, float]:
    tally = Tally(calls)
    sync_client = FollowerClient(DEMO_API_KEY, DEMO_SECRET, base_url=url)
    sync_client.generated.get_httpx_client().event_hooks["response"].append(tally.seen)

    async def run_tasks() -> None:
        async def seen(response: httpx.Response) -> None:
            tally.seen(response)

        async with AsyncFollowerClient(DEMO_API_KEY, DEMO_SECRET, base_url=url) as client:
            client.generated.get_async_httpx_client().event_hooks["response"].append(seen)
            await asyncio.gather(*(task_worker(client, tally) for _ in range(tasks)))

    workers = [
        threading.Thread(target=thread_worker, args=(sync_client, tally)) for _ in range(threads)
    ]
    workers.append(threading.Thread(target=asyncio.run, args=(run_tasks(),)))
    started_at = time.time()
    started = time.monotonic()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    took = time.monotonic() - started
    sync_client.close()
    return tally, took, started_at


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=10_000)
    parser.add_argument("--tasks", type=int, default=20)
    parser.add_argument("--threads", type=int, default=4)
    args = parser.parse_args()
    proc, url = start_simulator(None, "--rate-limit", str(LIMIT), output_to_devnull=True)
    try:
        tally, took, started_at = soak(url, args.calls, args.tasks, args.threads)
    finally:
        stop(proc)

    served = tally.statuses[200]
    banned, limited = tally.statuses[418], tally.statuses[429]
    minutes = sorted(tally.served_minute)
    used = len(minutes)
    # from the minute the run started in, no client can be served in fewer minutes
    fewest = math.ceil(args.calls / LIMIT)
    full = [tally.served_minute[m] for m in minutes[:-1]]  # every minute but the last
    fill = min(full) / LIMIT if full else 1.0
    met = banned == 0 and limited <= 1 and not tally.failures and served == args.calls
    first_second = started_at % WINDOW_S

    rows = "\n".join(
        f"| {i + 1} | {tally.served_minute[m]:,} | {tally.served_minute[m] / LIMIT:.2f} |"
        for i, m in enumerate(minutes)
    )
    md = [
        "# Soak: one gate against the simulator's default rate limit",
        "",
        machine_line("httpx", "uvicorn"),
        f"Simulator: `toobit-follower-sim serve` in its own process on 127.0.0.1, default rate"
        f" limit ({LIMIT} weight a minute per key, windows on the minute; 429 past it, 418"
        f" after 10 more). Client: {args.tasks} asyncio tasks sharing one"
        f" AsyncFollowerClient and {args.threads} threads sharing one FollowerClient, one"
        " key and host, so one gate; calls drawn from one counter (reads of every kind,"
        " a stop-profit-loss PUT one call in ten). Statuses counted by httpx response hooks."
        f" The run started {first_second:.0f} s into a minute of this machine's clock.",
        "",
        "| figure | result | goal | verdict |",
        "|---|---|---|---|",
        f"| calls made / succeeded | {args.calls:,} / {served:,} | every call | "
        f"{'met' if served == args.calls and not tally.failures else '**not met**'} |",
        f"| HTTP 418 answers | {banned} | 0 | {'met' if banned == 0 else '**not met**'} |",
        f"| HTTP 429 answers | {limited} | <= 1 | {'met' if limited <= 1 else '**not met**'} |",
        f"| failures raised | {sum(tally.failures.values())} {dict(tally.failures) or ''} | 0 | |",
        f"| minutes of server time used | {used} | {fewest} (fewest possible) | |",
        f"| served in each minute but the last / limit | {fill:.2f} | 1.00 | |",
        f"| wall time (from {first_second:.0f} s into a minute) | {took:.1f} s | | |",
        f"| longest single call (waits for the next minute included) | "
        f"{tally.longest_wait:.1f} s | < 61 s | |",
        "",
        "Calls served per minute of server time:",
        "",
        "| minute | served | / limit |",
        "|---|---|---|",
        rows,
        "",
        "A minute's budget goes as fast as the calls come (a few seconds for 3000 on this"
        " machine); then every worker waits for the next minute, when one call goes alone"
        " to learn the new budget and the others follow. So the run needs as many minutes"
        " as the limit allows and no more, and the server never refuses a call. What a"
        " full minute leaves unused (about the number of calls in flight) is the price of"
        " answers overtaking each other: the gate counts down from the lowest weight any"
        " answer of the minute reported, less the calls still out, never up.",
    ]
    headlines = [
        Headline(
            "soak",
            f"{args.calls:,} calls, {args.tasks} tasks + {args.threads} threads, default limit:"
            " 418s / 429s / failed calls",
            f"{banned} / {limited} / {args.calls - served}",
            "0 / <= 1 / 0",
            met,
        ),
        Headline(
            "soak",
            "throughput against the limit: served per full minute / limit; minutes used"
            " / fewest possible",
            f"{fill:.2f}; {used} / {fewest}",
        ),
    ]
    write_results("soak", md, headlines)
    return 0 if met else 1


if __name__ == "__main__":
    raise SystemExit(main())
