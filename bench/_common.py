"""Shared helpers of the benchmarks: timing, the machine record, result files.

Every figure the benchmarks publish is a ratio of two things measured side by side in
the same process and the same run (rounds interleave the candidates), reported as the
median over rounds, next to the machine and the versions that produced it.
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"

DEMO_API_KEY = "SRQGN9M8Sr87nbfKsaSxm33Y6CmGVtUu9Erz73g9vHFNn36VROOKSaWBQ8OSOtSq"
# The exchange's published demo secret (docs/reference/basic-information.md): the only
# key material the repository carries.
DEMO_SECRET = "30lfjDT51iOG1kYZnDoLNynOyMdIcmQyO1XYfxzYOmQfx9tjiI98Pzio4uhZ0Uk2"
LEADER_ID = 123456789


def spec_example(operation_id: str, *, status: str | None = None) -> dict[str, Any]:
    """The page's example from openapi.yaml: the request body of ``operation_id``, or its
    response body for ``status``. One source for every benchmark (and the same bytes the
    simulator's default seed reproduces)."""
    from toobit_follower.spec import spec_dict

    for path_item in spec_dict()["paths"].values():
        for op in path_item.values():
            if not isinstance(op, dict) or op.get("operationId") != operation_id:
                continue
            holder = op["requestBody"] if status is None else op["responses"][status]
            examples = holder["content"]["application/json"]["examples"]
            value = next(iter(examples.values()))["value"]
            assert isinstance(value, dict)
            return value
    raise KeyError(operation_id)


STOP_BODY = spec_example("updateStopProfitLoss")
CONFIG_BODY = spec_example("updateFollowConfig")


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def versions(*packages: str) -> str:
    out = []
    for name in packages:
        try:
            out.append(f"{name} {version(name)}")
        except PackageNotFoundError:
            out.append(f"{name} (not installed)")
    return ", ".join(out)


def load_average() -> str:
    try:
        one, five, _ = os.getloadavg()
    except OSError:
        return "unknown"
    return f"{one:.1f} (1 min), {five:.1f} (5 min)"


START_LOAD = load_average()
"""Load average when the benchmark started: anything far above 0 means other work
shared the machine's cores during the run, and the figures are noisier for it."""


def machine_line(*packages: str) -> str:
    return (
        f"Machine: {cpu_model()}, {os.cpu_count()} cores, {platform.system()} "
        f"{platform.release()}; Python {platform.python_version()}"
        + (f"; {versions(*packages)}" if packages else "")
        + f". Load average at start {START_LOAD}, at the end {load_average()}."
    )


def cpu_per_call(
    fn: Callable[[], object],
    iterations: int,
    batch: int = 1,
    timer: Callable[[], float] = time.process_time,
) -> float:
    """Seconds per call: ``fn`` makes ``batch`` calls, run ``iterations`` times. The
    default timer is CPU time of this process (every thread); pass time.perf_counter
    for wall-clock time."""
    start = timer()
    for _ in range(iterations):
        fn()
    return (timer() - start) / (iterations * batch)


@dataclass
class Candidate:
    """Something to time: ``fn()`` makes ``batch`` calls (an async loop makes many)."""

    name: str
    fn: Callable[[], object]
    batch: int = 1


def calibrate(
    c: Candidate, target_seconds: float, timer: Callable[[], float] = time.process_time
) -> int:
    """How many runs of ``c.fn`` take about ``target_seconds`` (by ``timer``)."""
    n = 1
    while True:
        took = cpu_per_call(c.fn, n, c.batch, timer) * n * c.batch
        if took >= target_seconds / 5 or n >= 1_000_000:
            return max(1, round(n * target_seconds / max(took, 1e-9)))
        n *= 4


@dataclass
class Series:
    """Per-round seconds-per-call of one candidate."""

    name: str
    rounds: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.rounds)


def interleaved(
    candidates: Sequence[Candidate],
    rounds: int,
    target_seconds: float = 0.25,
    timer: Callable[[], float] = time.process_time,
) -> dict[str, Series]:
    """Time each candidate ``rounds`` times, alternating them within every round (and
    reversing the order every other round) so that drift hits all of them alike."""
    for c in candidates:  # warm up: imports, connection pools, caches
        for _ in range(max(1, 20 // c.batch)):
            c.fn()
    iterations = {c.name: calibrate(c, target_seconds, timer) for c in candidates}
    series = {c.name: Series(c.name) for c in candidates}
    for r in range(rounds):
        order = list(candidates) if r % 2 == 0 else list(reversed(candidates))
        for c in order:
            series[c.name].rounds.append(cpu_per_call(c.fn, iterations[c.name], c.batch, timer))
    return series


def ratio(series: dict[str, Series], name: str, base: str) -> float:
    """Median over rounds of (candidate / baseline) within the same round."""
    pairs = zip(series[name].rounds, series[base].rounds, strict=True)
    return statistics.median(a / b for a, b in pairs)


@dataclass
class Headline:
    """One figure for the combined table in bench/results/README.md."""

    benchmark: str
    figure: str
    result: str
    goal: str = ""
    met: bool | None = None


def write_results(stem: str, markdown: list[str], headlines: list[Headline]) -> None:
    """bench/results/<stem>.md (the full table) and <stem>.json (headline figures)."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{stem}.md").write_text("\n".join(markdown) + "\n", encoding="utf-8")
    payload: dict[str, Any] = {
        "stem": stem,
        "headlines": [asdict(h) for h in headlines],
    }
    (RESULTS / f"{stem}.json").write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    print("\n".join(markdown))


def verdict(met: bool | None) -> str:
    return "" if met is None else ("met" if met else "**not met**")


def us(seconds: float) -> str:
    return f"{seconds * 1e6:,.1f} µs"


def run_async(
    loop: asyncio.AbstractEventLoop, make: Callable[[], Any], batch: int
) -> Callable[[], None]:
    """A sync callable that awaits ``make()`` ``batch`` times on ``loop`` (one timing unit
    of an async candidate)."""

    async def many() -> None:
        for _ in range(batch):
            await make()

    return lambda: loop.run_until_complete(many())


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def main_python() -> str:
    """The project's .venv interpreter (servers run there, with the project's pins)."""
    candidate = ROOT / ".venv" / "bin" / "python"
    return str(candidate) if candidate.exists() else sys.executable


def wait_http(url: str, timeout: float = 30.0, proc: subprocess.Popen[bytes] | None = None) -> None:
    """Poll ``url`` until it answers (any status) or ``timeout`` passes."""
    import urllib.error
    import urllib.request

    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode} before answering {url}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except urllib.error.HTTPError:
            return
        except OSError as exc:
            last = exc
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within {timeout} s: {last}")


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def write_seed(path: Path, history_rows: int) -> Path:
    """The simulator's default seed plus ``history_rows`` closed positions of the demo
    follower (10001), as JSON at ``path``."""
    import yaml

    default = ROOT / "simulator" / "toobit_follower_sim" / "default_seed.yaml"
    seed = yaml.safe_load(default.read_text(encoding="utf-8"))
    template = next(row for row in seed["history"] if row["followerId"] == 10001)
    for i in range(history_rows):
        row = dict(template)
        row["openTimeMs"] = template["openTimeMs"] - (i + 1) * 3_600_000
        row["lastCloseTimeMs"] = row["openTimeMs"] + 1_800_000
        row["openAvgPrice"] = f"{6805 + i}.{i % 100:02d}"
        row["realizedProfit"] = f"{'-' if i % 3 == 0 else ''}{i}.{i % 97:02d}"
        seed["history"].append(row)
    path.write_text(json.dumps(seed), encoding="utf-8")
    return path


def start_simulator(
    seed: Path | None, *extra: str, port: int | None = None, output_to_devnull: bool = False
) -> tuple[subprocess.Popen[bytes], str]:
    """`toobit-follower-sim serve` from the project's .venv on 127.0.0.1 (rate limit off
    and access log off unless ``extra`` says otherwise). Its output goes to a temporary
    log file, or to /dev/null. Returns (process, base URL)."""
    port = port or free_port()
    exe = ROOT / ".venv" / "bin" / "toobit-follower-sim"
    cmd = [str(exe), "serve", "--host", "127.0.0.1", "--port", str(port)]
    if seed is not None:
        cmd += ["--seed", str(seed)]
    if "--rate-limit" not in extra:
        cmd += ["--rate-limit", "1000000000"]
    if "--log-level" not in extra:
        cmd += ["--log-level", "warning"]
    import tempfile

    log = Path(os.devnull if output_to_devnull else tempfile.mkstemp(prefix="bench-sim-")[1])
    with log.open("wb") as sink:  # the child keeps its own handle
        proc = subprocess.Popen([*cmd, *extra], stdout=sink, stderr=sink)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(url + "/api/v1/time", proc=proc)
    except BaseException:
        stop(proc)
        print(log.read_text(encoding="utf-8", errors="replace")[-2000:])
        raise
    return proc, url
