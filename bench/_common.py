"""Shared helpers of the benchmarks: timing, the machine record, result files.

Every figure the benchmarks publish is a ratio of two things measured side by side in
the same process and the same run (rounds interleave the candidates), reported as the
median over rounds, next to the machine and the versions that produced it.
"""

from __future__ import annotations

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
DEMO_SECRET = "30lfjDT51iOG1kYZnDoLNynOyMdIcmQyO1XYfxzYOmQfx9tjiI98Pzio4uhZ0Uk2"  # noqa: S105
LEADER_ID = 123456789


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


def machine_line(*packages: str) -> str:
    return (
        f"Machine: {cpu_model()}, {os.cpu_count()} cores, {platform.system()} "
        f"{platform.release()}; Python {platform.python_version()}"
        + (f"; {versions(*packages)}" if packages else "")
        + "."
    )


def cpu_per_call(fn: Callable[[], object], iterations: int) -> float:
    """CPU seconds per call of ``fn`` (process time: every thread of this process)."""
    start = time.process_time()
    for _ in range(iterations):
        fn()
    return (time.process_time() - start) / iterations


def calibrate(fn: Callable[[], object], target_seconds: float = 0.2) -> int:
    """How many iterations of ``fn`` take about ``target_seconds`` of CPU."""
    n = 10
    while True:
        took = cpu_per_call(fn, n) * n
        if took >= target_seconds / 4 or n >= 1_000_000:
            return max(10, int(n * target_seconds / max(took, 1e-9)))
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
    candidates: Sequence[tuple[str, Callable[[], object]]],
    rounds: int,
    target_seconds: float = 0.2,
) -> dict[str, Series]:
    """Time each candidate ``rounds`` times, alternating them within every round so that
    drift (frequency scaling, a noisy neighbour) hits all of them alike."""
    for _, fn in candidates:  # warm up: imports, connection pools, caches
        for _ in range(20):
            fn()
    iterations = {name: calibrate(fn, target_seconds) for name, fn in candidates}
    series = {name: Series(name) for name, _ in candidates}
    for r in range(rounds):
        order = candidates if r % 2 == 0 else list(reversed(candidates))
        for name, fn in order:
            series[name].rounds.append(cpu_per_call(fn, iterations[name]))
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
            with urllib.request.urlopen(url, timeout=2):  # noqa: S310 - loopback only
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
