"""How long `make generate` takes, and how long each generated package takes to import.

    .venv/bin/python bench/bench_generate.py [--rounds N]

Each figure is the median of N rounds, every round in a fresh process (imports are
cold: no module cache but the OS's file cache). Writes bench/results/generate.md.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import subprocess
import sys
import time
from importlib.metadata import version
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "generate.md"


def _wall(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True)
    return time.perf_counter() - start


def _import_seconds(module: str) -> float:
    code = f"import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, check=True, capture_output=True, text=True
    )
    return float(out.stdout)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    generate = [
        _wall([sys.executable, "generator/generate.py", "--check"]) for _ in range(args.rounds)
    ]
    baseline = [_import_seconds("httpx") for _ in range(args.rounds)]
    rows = [
        ("`make generate` (both generators + ruff, via --check)", statistics.median(generate), None)
    ]
    base = statistics.median(baseline)
    rows.append(("import httpx (reference)", base, 1.0))
    for module in (
        "toobit_follower_api",
        "toobit_follower_api.api",
        "toobit_follower_models",
    ):
        seconds = statistics.median(_import_seconds(module) for _ in range(args.rounds))
        rows.append((f"import {module}", seconds, seconds / base))

    lines = [
        "# Generation and import times",
        "",
        f"Machine: {platform.machine()}, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}; openapi-python-client "
        f"{version('openapi-python-client')}, datamodel-code-generator "
        f"{version('datamodel-code-generator')}, pydantic {version('pydantic')}. "
        f"Median of {args.rounds} fresh processes.",
        "",
        "| what | median | ratio to `import httpx` |",
        "|---|---|---|",
    ]
    for name, seconds, ratio in rows:
        lines.append(
            f"| {name} | {seconds * 1000:.0f} ms | {'' if ratio is None else f'{ratio:.2f}x'} |"
        )
    lines += ["", "Reproduce: `.venv/bin/python bench/bench_generate.py` (or `make bench`)."]
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
