"""How many contract-fuzzing cases per second `make fuzz` gets through.

    .venv/bin/python bench/bench_fuzz.py [--reuse]

Runs `python -m fuzz.run --seed 1` (schemathesis against the embedded simulator, the
same as `make fuzz`), times it, and reads the case and request counts from the
summary it writes (reports/fuzz-summary.md). With --reuse it reads an existing
summary instead of running. The figure is a rate, not a ratio: schemathesis' own
case generation and checks dominate it. A fuzz run that reports failures still counts
for speed; its result is shown.
Writes bench/results/fuzz.md and fuzz.json.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import re
import subprocess
import sys
import time

from _common import ROOT, Headline, machine_line, write_results

SUMMARY = ROOT / "reports" / "fuzz-summary.md"
_RESULT = re.compile(
    r"\*\*result\*\*: ([A-Za-z]+); (\d+) test cases, (\d+) requests, ([0-9.]+) s wall time"
)
_PASS_ROW = re.compile(
    r"^\| ([a-z-]+) \| ([a-z-]+) \| ([a-z,]+) \| (\d+) \| (\d+) \| (\d+) \| ([0-9.]+) \|",
    re.MULTILINE,
)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reuse", action="store_true", help="read the last summary, do not run")
    args = parser.parse_args()
    if not (ROOT / "fuzz" / "run.py").exists():
        raise SystemExit("fuzz/run.py does not exist yet")

    wall: float | None = None
    exit_code: int | None = None
    if not args.reuse:
        start = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-m", "fuzz.run", "--seed", "1"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=1800,
        )
        wall = time.perf_counter() - start
        exit_code = proc.returncode
    if not SUMMARY.exists():
        raise SystemExit(f"{SUMMARY} was not written")
    text = SUMMARY.read_text(encoding="utf-8")
    match = _RESULT.search(text)
    if match is None:
        raise SystemExit(f"no result line in {SUMMARY}")
    result, cases, requests, seconds = (
        match.group(1),
        int(match.group(2)),
        int(match.group(3)),
        float(match.group(4)),
    )
    written = _dt.datetime.fromtimestamp(SUMMARY.stat().st_mtime, tz=_dt.UTC)

    rate = cases / seconds
    md = [
        "# Contract fuzzing speed (`make fuzz`)",
        "",
        machine_line("schemathesis", "hypothesis", "uvicorn"),
        (
            f"`python -m fuzz.run --seed 1` run by this benchmark: {wall:.1f} s wall including"
            f" simulator start-up, exit {exit_code}."
            if wall is not None
            else f"Read from the summary written {written:%Y-%m-%d %H:%M} UTC (not re-run)."
        ),
        "",
        "| figure | value |",
        "|---|---|",
        f"| test cases | {cases:,} |",
        f"| requests | {requests:,} |",
        f"| fuzzing wall time (summary) | {seconds:.1f} s |",
        f"| **cases per second** | **{rate:,.0f}** |",
        f"| requests per second | {requests / seconds:,.0f} |",
        f"| fuzz result | {result} (see reports/fuzz-summary.md) |",
        "",
        "| pass | key | phases | cases | requests | seconds | cases/s |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in _PASS_ROW.finditer(text):
        name, key, phases, _, pcases, preq, psec = row.groups()
        per = int(pcases) / float(psec) if float(psec) else 0.0
        md.append(f"| {name} | {key} | {phases} | {pcases} | {preq} | {psec} | {per:,.0f} |")
    md += ["", "Reproduce: `make bench` (or `.venv/bin/python bench/bench_fuzz.py`)."]
    headlines = [
        Headline(
            "contract fuzzing",
            "`make fuzz` test cases per second",
            f"{rate:,.0f} ({cases:,} cases in {seconds:.1f} s)",
        ),
    ]
    write_results("fuzz", md, headlines)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
