"""Soak: 20 async tasks and 4 threads make 10,000 calls against the simulator at its
default rate limit (3000 request weight per minute per key).

    .venv/bench/bin/python bench/bench_soak.py [--calls N] [--tasks N] [--threads N]
        [--compare-calls N]     (needs ccxt: make bench)

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
from the minute the run starts in).

Then the comparison issue 13 asks for (ccxt's `enableRateLimit` is the floor to beat):
the same shape, scaled down to 4,000 signed GETs of the follow config, from our clients
and from ccxt.toobit's own signed request path with enableRateLimit=True (its default
rateLimit, and one that splits 3000 a minute between its sync and async instances),
each against a fresh simulator. Writes bench/results/soak.md and soak.json.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import threading
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from typing import Any, cast

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
from toobit_follower_models.protocol import RATE_LIMIT_RESET_HEADER

LIMIT = 3000  # the simulator's default, the exchange's REQUEST_WEIGHT
WINDOW_S = 60
RESET_HEADER = RATE_LIMIT_RESET_HEADER.lower()  # the server's clock, when not limited


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
        self.answer(response.status_code, response.headers.get(RESET_HEADER, ""))

    def answer(self, status: int, server_ms: str) -> None:
        with self.lock:
            self.statuses[status] += 1
            if status == 200 and server_ms.isdigit():
                self.served_minute[int(server_ms) // (WINDOW_S * 1000)] += 1

    def failed(self, exc: BaseException) -> None:
        with self.lock:
            self.failures[type(exc).__name__] += 1

    def waited(self, seconds: float) -> None:
        with self.lock:
            self.longest_wait = max(self.longest_wait, seconds)


Plan = tuple[str, tuple[Any, ...], dict[str, Any]]
CONFIG_PATH = "api/v2/copy-trading/follower/config"  # ccxt's request() path: no leading /
CONFIG_CALL: Plan = ("get_follow_config", (LEADER_ID,), {})


def plan(n: int) -> Plan:
    """The n-th call: a mix of every read, and a write one call in ten."""
    if n % 10 == 0:
        return (
            "update_stop_profit_loss",
            (LEADER_ID, "BTC-SWAP-USDT", 1),
            {"stop_profit_rate": "0.1"},
        )
    reads: list[Plan] = [
        ("list_leaders", (), {}),
        ("get_follow_config", (LEADER_ID,), {}),
        ("list_current_orders", (), {}),
        ("list_history_orders", (1, 10), {}),
    ]
    return reads[n % len(reads)]


SyncCall = Callable[[int], object]
AsyncCall = Callable[[int], Awaitable[object]]


def thread_worker(call: SyncCall, tally: Tally, errors: tuple[type[Exception], ...]) -> None:
    while (n := tally.take()) is not None:
        started = time.monotonic()
        try:
            call(n)
        except errors as exc:
            tally.failed(exc)
        tally.waited(time.monotonic() - started)


async def task_worker(call: AsyncCall, tally: Tally, errors: tuple[type[Exception], ...]) -> None:
    while (n := tally.take()) is not None:
        started = time.monotonic()
        try:
            await call(n)
        except errors as exc:
            tally.failed(exc)
        tally.waited(time.monotonic() - started)


def drive(
    tally: Tally,
    tasks: int,
    threads: int,
    sync_call: SyncCall,
    open_async: Callable[[], AbstractAsyncContextManager[AsyncCall]],
    errors: tuple[type[Exception], ...],
) -> tuple[float, float]:
    """``threads`` threads calling ``sync_call`` and ``tasks`` asyncio tasks (one event
    loop in a thread of its own) calling what ``open_async`` yields, until the tally's
    calls are made. Returns (wall seconds, clock time at the start)."""

    async def run_tasks() -> None:
        async with open_async() as call:
            await asyncio.gather(*(task_worker(call, tally, errors) for _ in range(tasks)))

    workers = [
        threading.Thread(target=thread_worker, args=(sync_call, tally, errors))
        for _ in range(threads)
    ]
    workers.append(threading.Thread(target=asyncio.run, args=(run_tasks(),)))
    started_at = time.time()
    started = time.monotonic()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return time.monotonic() - started, started_at


def soak_ours(
    url: str, calls: int, tasks: int, threads: int, pick: Callable[[int], Plan]
) -> tuple[Tally, float, float]:
    """Our clients: one FollowerClient for the threads, one AsyncFollowerClient for the
    tasks, the n-th call being ``pick(n)``."""
    tally = Tally(calls)
    sync_client = FollowerClient(DEMO_API_KEY, DEMO_SECRET, base_url=url)
    sync_client.http_client.event_hooks["response"].append(tally.seen)

    def sync_call(n: int) -> object:
        name, args, kwargs = pick(n)
        return getattr(sync_client, name)(*args, **kwargs)

    @asynccontextmanager
    async def open_async() -> AsyncIterator[AsyncCall]:
        async def seen(response: httpx.Response) -> None:
            tally.seen(response)

        async with AsyncFollowerClient(DEMO_API_KEY, DEMO_SECRET, base_url=url) as client:
            client.http_client.event_hooks["response"].append(seen)

            def call(n: int) -> Awaitable[object]:
                name, args, kwargs = pick(n)
                return cast(Awaitable[object], getattr(client, name)(*args, **kwargs))

            yield call

    took, started_at = drive(tally, tasks, threads, sync_call, open_async, (ToobitError,))
    sync_client.close()
    return tally, took, started_at


def counting(base: type[Any], tally: Tally) -> type[Any]:
    """A ccxt exchange class that counts every HTTP answer in ``tally``: ccxt calls
    on_rest_response once per answer, sync and async, before its own error handling."""

    class Counted(base):  # type: ignore[misc]
        def on_rest_response(
            self, code: int, reason: str, url: str, method: str, response_headers: Any, *rest: Any
        ) -> Any:
            reset = {k.lower(): v for k, v in dict(response_headers).items()}
            tally.answer(int(code), reset.get(RESET_HEADER, ""))
            return super().on_rest_response(code, reason, url, method, response_headers, *rest)

    return Counted


def soak_ccxt(
    url: str, calls: int, tasks: int, threads: int, rate_limits: tuple[float, float] | None
) -> tuple[Tally, float, float]:
    """ccxt.toobit with enableRateLimit=True: one ccxt.toobit for the threads, one
    ccxt.async_support.toobit for the tasks (ccxt's limiter is per instance), each call
    a signed GET of the follow config through ccxt's own request path (`request()` ->
    `fetch2` -> throttle -> toobit `sign()` -> fetch). ``rate_limits`` (async, sync) in
    ms per request replaces ccxt's default rateLimit for toobit."""
    import ccxt
    import ccxt.async_support

    tally = Tally(calls)
    params = {"leaderUserId": LEADER_ID}

    def make(base: type[Any], rate_limit: float | None) -> Any:
        config: dict[str, Any] = {
            "apiKey": DEMO_API_KEY,
            "secret": DEMO_SECRET,
            "enableRateLimit": True,
        }
        if rate_limit is not None:
            config["rateLimit"] = rate_limit
        exchange = counting(base, tally)(config)
        exchange.urls["api"]["private"] = url
        return exchange

    sync_exchange = make(ccxt.toobit, rate_limits[1] if rate_limits else None)

    def sync_call(n: int) -> object:
        return sync_exchange.request(CONFIG_PATH, ["private"], "GET", params)

    @asynccontextmanager
    async def open_async() -> AsyncIterator[AsyncCall]:
        exchange = make(ccxt.async_support.toobit, rate_limits[0] if rate_limits else None)
        try:
            yield lambda n: exchange.request(CONFIG_PATH, ["private"], "GET", params)
        finally:
            await exchange.close()

    took, started_at = drive(tally, tasks, threads, sync_call, open_async, (Exception,))
    return tally, took, started_at


@dataclass
class Outcome:
    """One client's run in the comparison."""

    name: str
    tally: Tally
    took: float
    started_at: float

    @property
    def served(self) -> int:
        return self.tally.statuses[200]

    @property
    def minutes(self) -> list[int]:
        return [self.tally.served_minute[m] for m in sorted(self.tally.served_minute)]

    @property
    def budget_used(self) -> float:
        """Calls served over the budget of the minutes of server time the run spanned, or
        of the fewest minutes its calls need, whichever is more (a client banned in its
        first minute spans one, yet its calls needed more)."""
        minutes = sorted(self.tally.served_minute)
        spanned = minutes[-1] - minutes[0] + 1 if minutes else 1
        return self.served / (LIMIT * max(spanned, math.ceil(self.tally.calls / LIMIT)))


def compare(calls: int, tasks: int, threads: int) -> list[Outcome]:
    """The same workload (``calls`` signed GETs of the follow config, ``tasks`` async tasks
    + ``threads`` threads) from our clients and from ccxt.toobit with enableRateLimit, at
    ccxt's default rateLimit for toobit and at one that splits 3000 a minute between its
    two instances by their callers. Each client gets a fresh simulator (a ban or a
    minute's spent budget must not carry over) and starts as a minute begins."""
    default_ms = 60_000 / LIMIT  # ms a request at the limit (ccxt.toobit's own is 20)
    split = (default_ms * (tasks + threads) / tasks, default_ms * (tasks + threads) / threads)
    runs: list[tuple[str, Callable[[str], tuple[Tally, float, float]]]] = [
        (
            "ours (one gate)",
            lambda url: soak_ours(url, calls, tasks, threads, lambda n: CONFIG_CALL),
        ),
        (
            "ccxt, enableRateLimit, default rateLimit",
            lambda url: soak_ccxt(url, calls, tasks, threads, None),
        ),
        (
            f"ccxt, enableRateLimit, rateLimit {split[0]:.0f} ms async / {split[1]:.0f} ms sync",
            lambda url: soak_ccxt(url, calls, tasks, threads, split),
        ),
    ]
    outcomes = []
    for name, run in runs:
        print(f"--- {name}: {calls:,} calls", flush=True)
        proc, url = start_simulator(None, "--rate-limit", str(LIMIT), output_to_devnull=True)
        try:
            # Every client starts as a minute begins (the windows are on the minute of
            # the same clock): a paced client that starts late in a minute spreads its
            # first minute's calls over less time and can look better than it is.
            time.sleep(WINDOW_S - time.time() % WINDOW_S + 0.2)
            outcomes.append(Outcome(name, *run(url)))
        finally:
            stop(proc)
    return outcomes


def comparison_page(outcomes: list[Outcome], calls: int, tasks: int, threads: int) -> list[str]:
    if not outcomes:
        return []
    import ccxt

    head = "| figure | " + " | ".join(o.name for o in outcomes) + " |"
    rule = "|---|" + "---|" * len(outcomes)

    def row(figure: str, cells: list[str]) -> str:
        return f"| {figure} | " + " | ".join(cells) + " |"

    longest = max(len(o.minutes) for o in outcomes)
    per_minute = [
        row(
            str(i + 1),
            [
                f"{o.minutes[i]:,} ({o.minutes[i] / LIMIT:.2f})" if i < len(o.minutes) else ""
                for o in outcomes
            ],
        )
        for i in range(longest)
    ]
    return [
        "",
        "## Against ccxt's enableRateLimit",
        "",
        f"The same workload from each client, one after the other in this run, each against a"
        " fresh simulator (same command and default limit) and started as a minute of the"
        " clock begins, so each gets a whole first window (a paced client started late in"
        " a minute would spread its first window's calls over less time and look better"
        f" than it is): {calls:,} signed GETs of the"
        f" follow config (weight 1) from {tasks} asyncio tasks and {threads} threads, scaled"
        f" down from the soak's 10,000 for run time"
        + (
            f" ({calls:,} is still more than a minute's budget, so every run crosses a window"
            " boundary)."
            if calls > LIMIT
            else "."
        )
        + f" ccxt {ccxt.__version__}:"
        " `ccxt.toobit` has no follower methods, so every call goes through its generic"
        " signed path, `request('api/v2/copy-trading/follower/config', ['private'], 'GET',"
        " {'leaderUserId': ...})` (`fetch2` -> its throttle -> toobit's `sign()` -> fetch),"
        " with `enableRateLimit=True` and the private API URL pointed at the simulator; the"
        " threads share one `ccxt.toobit`, the tasks one `ccxt.async_support.toobit`."
        " ccxt's limiter belongs to one instance and knows nothing of the X-Api-Limit-*"
        " headers, so the two instances pace independently; the default rateLimit of"
        " `ccxt.toobit` is 20 ms a request (3000 a minute) per instance. The tuned run"
        " splits 3000 a minute between the two instances by their callers. ccxt does not"
        " retry a 429 or 418: each one is a failed call. Answers are counted by ccxt's"
        " `on_rest_response` (called once per HTTP answer) and by httpx hooks for ours.",
        "",
        head,
        rule,
        row("calls made / succeeded", [f"{calls:,} / {o.served:,}" for o in outcomes]),
        row("HTTP 418 answers", [str(o.tally.statuses[418]) for o in outcomes]),
        row("HTTP 429 answers", [str(o.tally.statuses[429]) for o in outcomes]),
        row(
            "failures raised",
            [
                f"{sum(o.tally.failures.values())} {dict(o.tally.failures) or ''}".strip()
                for o in outcomes
            ],
        ),
        row(
            "minutes of server time used / fewest possible",
            [f"{len(o.minutes)} / {math.ceil(calls / LIMIT)}" for o in outcomes],
        ),
        row(
            "served / budget of the minutes spanned, at least the fewest possible (best"
            f" {calls / (LIMIT * math.ceil(calls / LIMIT)):.2f})",
            [f"{o.budget_used:.2f}" for o in outcomes],
        ),
        row(
            "wall time (started s into a minute)",
            [f"{o.took:.1f} s ({o.started_at % WINDOW_S:.0f} s)" for o in outcomes],
        ),
        row(
            "longest single call",
            [f"{o.tally.longest_wait:.1f} s" for o in outcomes],
        ),
        "",
        "Served per minute of server time (/ limit):",
        "",
        "| minute | " + " | ".join(o.name for o in outcomes) + " |",
        rule,
        *per_minute,
    ]


def comparison_headlines(
    outcomes: list[Outcome], calls: int, tasks: int, threads: int
) -> list[Headline]:
    if not outcomes:
        return []
    ours, *others = outcomes

    def counts(o: Outcome) -> str:
        return (
            f"{o.tally.statuses[418]} / {o.tally.statuses[429]} / {calls - o.served};"
            f" {o.budget_used:.2f}"
        )

    beaten = all(
        ours.tally.statuses[418] <= o.tally.statuses[418]
        and ours.tally.statuses[429] <= o.tally.statuses[429]
        and ours.served >= o.served
        for o in others
    )
    return [
        Headline(
            "soak",
            f"vs ccxt enableRateLimit, {calls:,} GETs, {tasks} tasks + {threads} threads:"
            " 418s / 429s / failed; served / budget of the minutes used (at least the fewest). "
            + " vs ".join(o.name for o in outcomes),
            " vs ".join(counts(o) for o in outcomes),
            "ours no worse than ccxt on each",
            beaten,
        )
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=10_000)
    parser.add_argument("--tasks", type=int, default=20)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument(
        "--compare-calls",
        type=int,
        default=4_000,
        help="calls of each client in the comparison with ccxt (0: no comparison)",
    )
    args = parser.parse_args()
    proc, url = start_simulator(None, "--rate-limit", str(LIMIT), output_to_devnull=True)
    try:
        tally, took, started_at = soak_ours(url, args.calls, args.tasks, args.threads, plan)
    finally:
        stop(proc)
    compared = compare(args.compare_calls, args.tasks, args.threads) if args.compare_calls else []

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
        *comparison_page(compared, args.compare_calls, args.tasks, args.threads),
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
    headlines += comparison_headlines(compared, args.compare_calls, args.tasks, args.threads)
    write_results("soak", md, headlines)
    return 0 if met else 1


if __name__ == "__main__":
    raise SystemExit(main())
