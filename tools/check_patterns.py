#!/usr/bin/env python3
"""No regular expression of the contract can be made to backtrack (issue 17, item 7).

    python tools/check_patterns.py               # every pattern of openapi.yaml (make lint)
    python tools/check_patterns.py --spec X      # another copy of the contract
    python tools/check_patterns.py --pattern P   # these patterns instead (repeatable)
    python tools/check_patterns.py --json        # the verdicts as JSON

Walks the whole document, `x-*` extensions included: every `pattern` keyword whose value is
a string and every key of a `patternProperties`, wherever it stands (schemas, parameters,
`not`, ...). Each is rated by npm `recheck` (pinned in package.json, run by
tools/check_patterns.mjs) as JavaScript reads it, with the flags "" and "u" (what JSON
Schema validators use); the rating says how matching time grows with the input in a
backtracking engine (JavaScript, Java, Python's `re`). Exit status 1, listing each pattern
that is not rated safe with where it stands, its complexity and an attack string; 2 when the
checker cannot run.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "openapi.yaml"
NODE_SCRIPT = ROOT / "tools" / "check_patterns.mjs"
RECHECK_PACKAGE = ROOT / "node_modules" / "recheck" / "package.json"
FLAGS = ("", "u")


class CheckerError(RuntimeError):
    pass


@dataclass(frozen=True)
class Found:
    pointer: str  # JSON pointer of the pattern in the document
    pattern: str


@dataclass(frozen=True)
class Verdict:
    source: str
    flags: str
    status: str  # safe | vulnerable | unknown
    checker: str | None  # automaton | fuzz
    complexity: str | None  # constant | linear | safe | polynomial | exponential
    summary: str | None
    attack_pattern: str | None  # the attack string, compact: "'a'.repeat(31) + '!'"
    attack_length: int | None
    error: str | None

    @property
    def safe(self) -> bool:
        return self.status == "safe"


def _escape(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")


def patterns_in(node: Any, pointer: str = "#") -> Iterator[Found]:
    """Every regular expression of a JSON/YAML document, in document order."""
    if isinstance(node, dict):
        for key, value in node.items():
            here = f"{pointer}/{_escape(str(key))}"
            if key == "pattern" and isinstance(value, str):
                yield Found(here, value)
            elif key == "patternProperties" and isinstance(value, dict):
                for regex in value:
                    yield Found(f"{here}/{_escape(str(regex))}", str(regex))
            yield from patterns_in(value, here)
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from patterns_in(value, f"{pointer}/{index}")


def recheck_version() -> str:
    try:
        return str(json.loads(RECHECK_PACKAGE.read_text(encoding="utf-8"))["version"])
    except (OSError, ValueError, KeyError):
        raise CheckerError("npm recheck is not installed: run `make npm` (npm ci)") from None


def check(patterns: Sequence[str], flags: Sequence[str] = FLAGS) -> list[Verdict]:
    """recheck's verdict on each distinct pattern under each flag set, in input order."""
    recheck_version()
    node = shutil.which("node")
    if node is None:
        raise CheckerError("node is not on PATH")
    distinct = list(dict.fromkeys(patterns))
    if not distinct:
        return []
    request = json.dumps({"patterns": distinct, "flags": list(flags)})
    result = subprocess.run(  # noqa: S603 - our own script, our own arguments
        [node, str(NODE_SCRIPT)],
        input=request,
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
        timeout=600,
    )
    if result.returncode != 0:
        raise CheckerError(f"{NODE_SCRIPT.name} failed:\n{result.stderr[-3000:]}")
    try:
        verdicts = [Verdict(**raw) for raw in json.loads(result.stdout)]
    except (ValueError, TypeError) as error:
        answer = result.stdout[:300]
        raise CheckerError(f"{NODE_SCRIPT.name} answered {answer!r}: {error}") from None
    if len(verdicts) != len(distinct) * len(flags):
        raise CheckerError(f"{NODE_SCRIPT.name} rated {len(verdicts)} of {len(distinct)} patterns")
    return verdicts


def _shown(text: str, limit: int = 120) -> str:
    text = json.dumps(text, ensure_ascii=True)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def problems(found: Sequence[Found], verdicts: Sequence[Verdict]) -> dict[str, list[str]]:
    """By place, one line per flag set under which its pattern is not rated safe."""
    by_pattern: dict[str, list[Verdict]] = {}
    for verdict in verdicts:
        by_pattern.setdefault(verdict.source, []).append(verdict)
    failures: dict[str, list[str]] = {}
    for item in found:
        for v in by_pattern.get(item.pattern, []):
            if v.safe:
                continue
            where = f"{item.pointer}: /{item.pattern}/{v.flags}"
            if v.status == "vulnerable":
                line = (
                    f"{where} is vulnerable, {v.summary} ({v.checker}); attack string "
                    f"({v.attack_length} characters): {v.attack_pattern}"
                )
            else:
                line = f"{where} could not be rated: {v.error or v.status}"
            failures.setdefault(item.pointer, []).append(line)
    return failures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--spec", type=Path, default=SPEC, help="default: openapi.yaml")
    parser.add_argument(
        "--pattern", action="append", default=[], help="check this pattern (repeatable)"
    )
    parser.add_argument("--json", action="store_true", help="every verdict as JSON")
    args = parser.parse_args(argv)

    if args.pattern:
        source = "the --pattern arguments"
        found = [Found(f"--pattern[{n}]", p) for n, p in enumerate(args.pattern)]
    else:
        source = str(args.spec.relative_to(ROOT) if args.spec.is_relative_to(ROOT) else args.spec)
        found = list(patterns_in(yaml.safe_load(args.spec.read_text(encoding="utf-8"))))
    try:
        version = recheck_version()
        verdicts = check([item.pattern for item in found])
    except (CheckerError, subprocess.TimeoutExpired) as error:
        print(f"check_patterns: {error}", file=sys.stderr)
        return 2
    failures = problems(found, verdicts)
    if args.json:
        by_pattern: dict[str, list[dict[str, Any]]] = {}
        for v in verdicts:
            by_pattern.setdefault(v.source, []).append(asdict(v))
        rows = [{"pointer": f.pointer, "verdicts": by_pattern[f.pattern]} for f in found]
        print(json.dumps(rows, indent=2, ensure_ascii=False))
    distinct = len({item.pattern for item in found})
    summary = (
        f"check_patterns: {len(found)} patterns ({distinct} distinct) in {source}, "
        f"recheck {version}, flags {' and '.join(map(repr, FLAGS))}"
    )
    for lines in failures.values():
        for line in lines:
            print(f"check_patterns: {line}", file=sys.stderr)
    if failures:
        print(f"{summary}: {len(failures)} not safe", file=sys.stderr)
        return 1
    print(f"{summary}: all safe", file=sys.stderr if args.json else sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
