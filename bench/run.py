"""Run every bench/bench_*.py, then write bench/results/README.md and the README's table.

    .venv/bin/python bench/run.py [--only client,prism] [--skip-readme]

`make bench` runs this after installing the benchmark-only tools (the .venv/bench
virtualenv with ccxt, Prism under bench/node_modules, wrk). Benchmarks run one after
the other, never in parallel, since each measures CPU or a server on this machine.

Each benchmark writes bench/results/<name>.md; those written for this runner also write
<name>.json with headline figures, which the combined table collects. For the others
(generate, simulator) the table links their page. A benchmark that fails is reported
in the table and makes the runner exit 1 after the rest have run.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import RESULTS, ROOT, machine_line

BENCH = ROOT / "bench"
BENCH_VENV_PYTHON = ROOT / ".venv" / "bench" / "bin" / "python"
# These import ccxt, which lives only in the benchmark venv (see bench/requirements.lock).
NEEDS_BENCH_VENV = {"bench_client.py", "bench_loopback.py", "bench_soak.py"}
README = ROOT / "README.md"
HEADING = "## Benchmarks"


def interpreter(script: Path) -> str:
    if script.name in NEEDS_BENCH_VENV:
        if not BENCH_VENV_PYTHON.exists():
            raise SystemExit(f"{BENCH_VENV_PYTHON} is missing: run `make bench`, which makes it")
        return str(BENCH_VENV_PYTHON)
    return sys.executable


def stem(script: Path) -> str:
    return script.stem.removeprefix("bench_")


def headline_rows(name: str) -> list[str]:
    summary = RESULTS / f"{name}.json"
    page = RESULTS / f"{name}.md"
    if summary.exists():
        data = json.loads(summary.read_text(encoding="utf-8"))
        rows = []
        for h in data["headlines"]:
            met = h.get("met")
            verdict = "" if met is None else ("met" if met else "**not met**")
            rows.append(
                f"| [{h['benchmark']}]({name}.md) | {h['figure']} | {h['result']} "
                f"| {h.get('goal', '')} | {verdict} |"
            )
        return rows
    if name == "generate" and page.exists():
        # bench_generate.py (not written for this runner) has a fixed table layout.
        match = re.search(r"\| `make generate`[^|]*\| ([^|]+) \|", page.read_text(encoding="utf-8"))
        if match:
            took = match.group(1).strip()
            return [f"| [generation](generate.md) | `make generate` (wall) | {took} | | |"]
    if page.exists():
        rows = goal_rows(name, page.read_text(encoding="utf-8"))
        return rows or [f"| [{name}]({name}.md) | see its page | | | |"]
    return [f"| {name} | no results | | | |"]


def goal_rows(name: str, text: str) -> list[str]:
    """From a page written without a .json summary: the rows of its tables that have
    `goal` and `verdict` columns and a goal set (figure = first cell, result = the cell
    before the goal)."""
    rows: list[str] = []
    header: list[str] | None = None
    for line in text.splitlines():
        if not line.startswith("|"):
            header = None
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if header is None:
            header = cells
            continue
        if set(cells) <= {"---", ""} or "goal" not in header or "verdict" not in header:
            continue
        g, v = header.index("goal"), header.index("verdict")
        if len(cells) > max(g, v) and cells[g] and g > 0:
            rows.append(
                f"| [{name}]({name}.md) | {cells[0]} | {cells[g - 1]} | {cells[g]} | {cells[v]} |"
            )
    return rows


def combined_table(names: list[str], failures: dict[str, str]) -> list[str]:
    lines = [
        "| benchmark | figure | result | goal | verdict |",
        "|---|---|---|---|---|",
    ]
    for name in names:
        if name in failures:
            lines.append(f"| {name} | **failed**: {failures[name]} | | | |")
        else:
            lines += headline_rows(name)
    return lines


def update_readme(table: list[str], footer: list[str], busy: bool) -> None:
    """Replace the body of README.md's "## Benchmarks" section (append the section when
    missing); the rest of the README belongs to others and is left as it is."""
    lines = README.read_text(encoding="utf-8").splitlines() if README.exists() else []
    section = [
        HEADING,
        "",
        "Reproduce with `make bench` (it installs ccxt, Prism and wrk for the comparisons;",
        "about 10 minutes on 2 cores). Method, versions and full tables:",
        "[bench/results/](bench/results/README.md). Each figure is measured side by side in",
        "the same run, median of several rounds; the load average shows whether other work",
        "shared the cores"
        + (" (it did for this run: treat small differences as noise)." if busy else "."),
        "",
        *table,
        "",
        *footer,
    ]
    if HEADING in lines:
        start = lines.index(HEADING)
        end = next(
            (i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines)
        )
        rest = lines[end:]
        lines = lines[:start] + section + (["", *rest] if rest else [])
    else:
        while lines and not lines[-1].strip():
            lines.pop()
        lines += ["", *section] if lines else section
    README.write_text("\n".join(lines) + "\n", encoding="utf-8")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", help="comma-separated names (client, loopback, prism, ...)")
    parser.add_argument("--skip-readme", action="store_true", help="leave README.md alone")
    parser.add_argument(
        "--tables-only",
        action="store_true",
        help="run nothing; rebuild the combined tables from the pages in bench/results/",
    )
    args = parser.parse_args()

    scripts = sorted(BENCH.glob("bench_*.py"))
    if args.only:
        wanted = set(args.only.split(","))
        scripts = [s for s in scripts if stem(s) in wanted]
    if args.tables_only:
        scripts = []
    failures: dict[str, str] = {}
    # Other work on the machine's cores during the run makes every figure noisier.
    busy = max(os.getloadavg()[0], 0.0) > 0.5
    env = dict(os.environ, PYTHONPATH=str(BENCH))
    for script in scripts:
        name = stem(script)
        print(f"=== {script.name}", flush=True)
        start = time.monotonic()
        proc = subprocess.run([interpreter(script), str(script)], cwd=ROOT, env=env)
        took = time.monotonic() - start
        print(f"=== {script.name}: exit {proc.returncode} after {took:.0f} s", flush=True)
        if proc.returncode != 0:
            failures[name] = f"exit {proc.returncode}"

    names = [stem(s) for s in sorted(BENCH.glob("bench_*.py"))]
    table = combined_table(names, failures)
    stamp = _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    footer = [f"{machine_line()} Run {stamp}."]
    previous = RESULTS / "README.md"
    if (args.tables_only or args.only) and previous.exists():
        # The figures of the full run stay; say which ones were re-run, and when.
        lines = previous.read_text(encoding="utf-8").splitlines()
        kept = [line for line in lines if line.startswith(("Machine: ", "Re-run "))]
        if kept:
            seen = re.search(r"Load average at start ([0-9.]+)", kept[0])
            busy = float(seen.group(1)) > 0.5 if seen else busy
            if args.only:
                kept.append(f"Re-run of {args.only} alone: {stamp}.")
            footer = [" ".join(kept)]
    page = [
        "# Benchmark results",
        "",
        "Written by `make bench` (`bench/run.py`); each row links the page with the full",
        "table, method and versions.",
        "",
        *table,
        "",
        *footer,
    ]
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "README.md").write_text("\n".join(page) + "\n", encoding="utf-8")
    if not args.skip_readme and not args.only:
        update_readme(
            [
                line.replace("](", "](bench/results/", 1) if line.startswith("| [") else line
                for line in table
            ],
            footer,
            busy,
        )
    print("\n".join(page))
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
