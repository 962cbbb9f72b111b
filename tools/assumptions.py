#!/usr/bin/env python3
"""List the contract's assumptions: every `x-assumption` marker of openapi.yaml.

    python tools/assumptions.py             # a markdown table: id, where, what it assumes
    python tools/assumptions.py --json      # the same as JSON, every field of every marker
    python tools/assumptions.py --spec X    # another copy of the contract

A marker is a list of `{id, assumes, page, alternative?}` on the node it qualifies (see
the spec's "Assumptions"): what the contract assumes beyond the exchange's pages, what
the pages say, and the other reading where there is one. Each `id` names one assumption
in one place; the simulator names its switches after them. A malformed marker (a key
missing or unknown, an id used twice, an id not in kebab-case) stops the listing with
where and what.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "openapi.yaml"
MARKER = "x-assumption"
REQUIRED = ("id", "assumes", "page")
OPTIONAL = ("alternative",)
ID_PATTERN = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*")


class AssumptionError(ValueError):
    """A marker that does not follow the format."""


@dataclass(frozen=True)
class Assumption:
    id: str
    where: str
    """JSON pointer of the node the marker qualifies."""
    assumes: str
    page: str
    alternative: str | None = None


def _pointer(parts: tuple[str, ...]) -> str:
    return "#/" + "/".join(p.replace("~", "~0").replace("/", "~1") for p in parts)


def _markers(node: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == MARKER:
                yield path, value
            else:
                yield from _markers(value, (*path, str(key)))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _markers(value, (*path, str(index)))


def assumptions(spec: dict[str, Any]) -> list[Assumption]:
    """Every marker of the spec, in document order; AssumptionError for a malformed one."""
    found: list[Assumption] = []
    seen: dict[str, str] = {}
    for path, value in _markers(spec):
        where = _pointer(path)
        if not isinstance(value, list) or not value:
            raise AssumptionError(f"{where}: {MARKER} is a non-empty list of markers")
        for index, marker in enumerate(value):
            at = f"{where}/{MARKER}/{index}"
            if not isinstance(marker, dict):
                raise AssumptionError(f"{at}: a marker is a mapping")
            missing = [key for key in REQUIRED if not marker.get(key)]
            unknown = sorted(set(marker) - set(REQUIRED) - set(OPTIONAL))
            if missing or unknown:
                raise AssumptionError(f"{at}: missing {missing}, unknown {unknown}")
            if not all(isinstance(marker[key], str) for key in marker):
                raise AssumptionError(f"{at}: every value is text")
            marker_id = marker["id"]
            if not ID_PATTERN.fullmatch(marker_id):
                raise AssumptionError(f"{at}: id {marker_id!r} is not kebab-case")
            if marker_id in seen:
                raise AssumptionError(f"{at}: id {marker_id!r} is also at {seen[marker_id]}")
            seen[marker_id] = at
            found.append(
                Assumption(
                    marker_id,
                    where,
                    " ".join(marker["assumes"].split()),
                    " ".join(marker["page"].split()),
                    " ".join(marker["alternative"].split()) if "alternative" in marker else None,
                )
            )
    return found


def load(path: Path = SPEC) -> list[Assumption]:
    return assumptions(yaml.safe_load(path.read_text(encoding="utf-8")))


def markdown(found: list[Assumption]) -> str:
    lines = [
        f"{len(found)} assumptions in the contract (x-assumption markers).",
        "",
        "| id | where | assumes | other reading |",
        "|---|---|---|---|",
    ]
    for a in found:
        cells = [f"`{a.id}`", f"`{a.where}`", a.assumes, a.alternative or "-"]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spec", type=Path, default=SPEC, help="the spec (default: openapi.yaml)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of markdown")
    args = parser.parse_args(argv)
    try:
        found = load(args.spec)
    except AssumptionError as exc:
        print(f"{args.spec}: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps([asdict(a) for a in found], indent=2, ensure_ascii=False))
    else:
        sys.stdout.write(markdown(found))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
