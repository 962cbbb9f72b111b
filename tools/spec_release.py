#!/usr/bin/env python3
"""Released contracts and the breaking-change gate.

`spec-releases/<X.Y.Z>/openapi.yaml` holds every released contract, byte for byte, and is
never edited afterwards. Three commands:

    gate     openapi.yaml against the latest release (`make spec-gate`, part of `make test`):
             fails when the changes need a bigger semver step than `info.version` took, when
             CHANGELOG.md has no `## [X.Y.Z]` section for a moved version, when a major change
             is not marked there (`### Breaking`, `### Removed` or "(breaking change)"), and
             when the spec changed but its version did not (a release is immutable).
    release  records openapi.yaml as spec-releases/<info.version>/ (`make release`), when the
             version moved past the latest release, CHANGELOG.md has its section and the
             gate passes.
    diff     the report between two versions, markdown or JSON (`make spec-diff FROM=1.0.5`).

Changes are rated by `redocly diff` (pinned @redocly/cli, rules in tools/redocly-diff.yaml),
plus two house checks for what it does not rate on our shapes (see `house_changes`).
Reports name versions and JSON pointers only: the same inputs give the same bytes.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "openapi.yaml"
CHANGELOG = ROOT / "CHANGELOG.md"
RELEASES = ROOT / "spec-releases"
DIFF_CONFIG = ROOT / "tools" / "redocly-diff.yaml"

IMPACTS = ("patch", "minor", "major")
RANK = {impact: rank for rank, impact in enumerate(IMPACTS, start=1)}
Version = tuple[int, int, int]
_MISSING = object()


class ReleaseError(RuntimeError):
    pass


# ---- versions and releases ----------------------------------------------------------------
def parse_version(text: str) -> Version:
    match = re.fullmatch(r"(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)", str(text))
    if not match:
        raise ReleaseError(f"{text!r} is not a MAJOR.MINOR.PATCH version")
    major, minor, patch = (int(part) for part in match.groups())
    return major, minor, patch


def show(version: Version) -> str:
    return ".".join(map(str, version))


def step(old: Version, new: Version) -> str | None:
    """The semver part a move from `old` to `new` bumps (None when it did not move up)."""
    if new <= old:
        return None
    if new[0] > old[0]:
        return "major"
    return "minor" if new[1] > old[1] else "patch"


def next_version(old: Version, impact: str) -> Version:
    if impact == "major":
        return old[0] + 1, 0, 0
    if impact == "minor":
        return old[0], old[1] + 1, 0
    return old[0], old[1], old[2] + 1


def load(path: Path) -> Any:
    # YAML 1.2, as redocly reads it: PyYAML (1.1) reads a JSON `1e-08` as a string
    return YAML(typ="safe", pure=True).load(path.read_text(encoding="utf-8"))


def spec_version(path: Path) -> Version:
    return parse_version(load(path)["info"]["version"])


def releases(releases_dir: Path) -> dict[Version, Path]:
    """Every release by its folder name (tests/test_spec_release.py checks each file's
    info.version is its folder's name)."""
    found = {parse_version(spec.parent.name): spec for spec in releases_dir.glob("*/openapi.yaml")}
    return dict(sorted(found.items()))


def latest_release(releases_dir: Path, below: Version | None = None) -> Version | None:
    """The highest released version (below `below`, if given), by semver order."""
    versions = [v for v in releases(releases_dir) if below is None or v < below]
    return max(versions, default=None)


# ---- CHANGELOG.md ---------------------------------------------------------------------------
def changelog_section(text: str, version: Version) -> str | None:
    match = re.search(
        rf"^## \[{re.escape(show(version))}\][^\n]*\n(.*?)(?=^## |\Z)", text, re.M | re.S
    )
    return match.group(1) if match else None


def marks_breaking(section: str) -> bool:
    return bool(
        re.search(r"^### (Breaking|Removed)\b", section, re.M)
        or re.search(r"\(breaking change\)", section, re.I)
    )


# ---- changes --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Change:
    impact: str  # patch | minor | major
    kind: str  # added | removed | modified
    location: str  # JSON pointer of the changed node (in the revision, or in the base if removed)
    used_at: str  # JSON pointer of one place that uses it (redocly's path), or ""
    property: str  # the changed keyword of a modified node, or ""
    rules: tuple[str, ...]
    message: str


@dataclass
class Report:
    base: str  # label: "1.0.5"
    revision: str  # label: "1.0.6" or "1.0.6 (openapi.yaml)"
    base_version: Version | None
    revision_version: Version
    changes: list[Change] = field(default_factory=list)

    @property
    def bump(self) -> str | None:
        """The semver part these changes need (None: nothing changed)."""
        return max((c.impact for c in self.changes), key=RANK.__getitem__, default=None)

    def count(self, impact: str) -> int:
        return sum(c.impact == impact for c in self.changes)


def redocly_command() -> list[str]:
    local = ROOT / "node_modules" / ".bin" / "redocly"
    found = str(local) if local.exists() else shutil.which("redocly")
    if not found:
        raise ReleaseError("redocly not found: run `make npm` (npm ci) first")
    return [found]


def redocly_diff(base: Path, revision: Path) -> dict[str, Any]:
    """`redocly diff --format json`, every change with its impact (fails on nothing itself)."""
    env = dict(
        os.environ,
        REDOCLY_TELEMETRY="off",
        NO_UPDATE_NOTIFIER="1",
        REDOCLY_SUPPRESS_NOTIFICATIONS="true",
    )
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "diff.json"
        command = [*redocly_command(), "diff", str(base.resolve()), str(revision.resolve())]
        command += ["--config", str(DIFF_CONFIG), "--format", "json", "--fail-on", "none"]
        command += ["--output", str(out)]
        result = subprocess.run(  # noqa: S603 - our own pinned binary, our own arguments
            command, cwd=ROOT, env=env, capture_output=True, text=True, check=False
        )
        if result.returncode != 0 or not out.exists():
            raise ReleaseError(f"redocly diff {base} {revision} failed:\n{result.stderr[-3000:]}")
        if "No diff rules are on" in result.stderr:
            raise ReleaseError(f"{DIFF_CONFIG} turns no diff rule on; the gate would be blind")
        report: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    if report.get("reportVersion") != "1":
        raise ReleaseError(f"unknown redocly diff report version {report.get('reportVersion')!r}")
    return report


def _describe(kind: str, prop: str, base: Any, revision: Any) -> str:
    if kind != "modified":
        return kind
    if isinstance(base, list) and isinstance(revision, list):
        gained = [v for v in revision if v not in base]
        lost = [v for v in base if v not in revision]
        parts = [
            f"{word} {json.dumps(values, ensure_ascii=False)}"
            for word, values in (("added", gained), ("removed", lost))
            if values
        ]
        if parts:
            return f"`{prop}`: " + ", ".join(parts)
    old, new = (
        "(none)" if v is _MISSING else json.dumps(v, ensure_ascii=False) for v in (base, revision)
    )
    if len(old) + len(new) <= 80:
        return f"`{prop}` {old} -> {new}"
    return f"`{prop}` changed"


def redocly_changes(base: Path, revision: Path) -> list[Change]:
    changes = []
    for raw in redocly_diff(base, revision)["changes"]:
        prop = raw.get("property") or ""
        if raw["path"] == "#/info" and prop == "version":
            continue  # the version itself is what the gate judges
        side = raw.get("revision") or raw.get("base") or {}
        old, new = (raw.get(s, {}).get("value", _MISSING) for s in ("base", "revision"))
        verdicts = raw.get("verdicts", [])
        impact, rules = raw["impact"], tuple(v["ruleId"] for v in verdicts)
        message = " ".join(v["message"] for v in verdicts) or _describe(raw["kind"], prop, old, new)
        # House check 1 -- redocly rates a changed or removed `default` as a patch. In our
        # spec defaults live on request parameters (page, size, recvWindow): a request that
        # leaves the value out now means something else, and a server built to the old
        # default no longer conforms. Major, as CHANGELOG.md defines it.
        if prop == "default" and old is not _MISSING and RANK[impact] < RANK["major"]:
            impact, rules = "major", (*rules, "house/default-changed")
            message = f"{message}: a request that leaves it out now means something else"
        location = side.get("pointer", raw["path"])
        changes.append(Change(impact, raw["kind"], location, raw["path"], prop, rules, message))
    return changes


def _escape(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")


def extensions(node: Any, pointer: str = "#") -> Iterator[tuple[str, Any]]:
    """Every `x-*` value with its JSON pointer (example payloads are not looked into)."""
    if isinstance(node, dict):
        for key, value in node.items():
            here = f"{pointer}/{_escape(str(key))}"
            if str(key).startswith("x-"):
                yield here, value
            elif key not in ("example", "examples"):
                yield from extensions(value, here)
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from extensions(value, f"{pointer}/{index}")


def house_changes(base_doc: Any, revision_doc: Any) -> list[Change]:
    """House check 2 -- `redocly diff` does not look at `x-*` extensions at all: a code added
    to an operation's `x-error-codes` came out as no change. Here they feed the generator
    (`x-error-table` -> the error classes, `x-enum-varnames` -> enum member names), so they
    are API surface: any change is at least minor; a renamed or dropped enum member name
    (`x-enum-varnames`) breaks code that uses it: major."""
    before, after = dict(extensions(base_doc)), dict(extensions(revision_doc))
    changes = []
    for pointer in sorted(before.keys() | after.keys()):
        old, new = before.get(pointer, _MISSING), after.get(pointer, _MISSING)
        if old == new:
            continue
        kind = "added" if old is _MISSING else "removed" if new is _MISSING else "modified"
        impact, rule = "minor", "house/extension-changed"
        if pointer.endswith("/x-enum-varnames") and isinstance(old, list):
            gone = [name for name in old if not isinstance(new, list) or name not in new]
            if gone:
                impact, rule = "major", "house/enum-varnames-removed"
        prop = pointer.rsplit("/", 1)[1]
        message = _describe(kind, prop, old, new)
        changes.append(Change(impact, kind, pointer, "", prop, (rule,), message))
    return changes


UNRATED = Change(
    impact="patch",
    kind="modified",
    location="#",
    used_at="",
    property="",
    rules=("house/unrated-change",),
    message="the document differs; no rule rates it",
)


def _without_version(document: Any) -> Any:
    document = dict(document)
    document["info"] = {k: v for k, v in document.get("info", {}).items() if k != "version"}
    return document


def compare(base: Path, revision: Path, base_label: str, revision_label: str) -> Report:
    base_doc, revision_doc = load(base), load(revision)
    changes = redocly_changes(base, revision)
    for house in house_changes(base_doc, revision_doc):
        # redocly reports an extension node added or removed (not a changed value), as a
        # patch or minor: one row per place, at the higher impact, with both rule names
        same = [c for c in changes if c.location == house.location]
        for c in same:
            changes.remove(c)
        impact = max([house.impact, *(c.impact for c in same)], key=RANK.__getitem__)
        rules = tuple(r for c in same for r in c.rules) + house.rules
        changes.append(
            replace(house, impact=impact, rules=rules, used_at=same[0].used_at if same else "")
        )
    if not changes and _without_version(base_doc) != _without_version(revision_doc):
        # Neither redocly nor the house checks rate it, but the document differs: at least
        # a patch, so a released version can never silently mean two documents.
        changes.append(UNRATED)
    changes.sort(key=lambda c: (-RANK[c.impact], c.location, c.property, c.used_at))
    versions = (parse_version(doc["info"]["version"]) for doc in (base_doc, revision_doc))
    return Report(base_label, revision_label, *versions, changes)


# ---- the gate -------------------------------------------------------------------------------
def judge(report: Report, changelog_text: str) -> list[str]:
    """Why `report` may not go out under its revision's version (empty: it may)."""
    if report.base_version is None:
        return []
    old, new, bump = report.base_version, report.revision_version, report.bump
    if new < old:
        return [f"info.version {show(new)} is lower than the latest release {show(old)}"]
    problems = []
    if new == old:
        if bump:
            problems.append(
                f"openapi.yaml differs from release {show(old)} (a {bump} change) but "
                f"info.version is still {show(old)}; the released file is immutable: "
                f"bump info.version and add a CHANGELOG section"
            )
        return problems
    took = step(old, new)
    assert took is not None
    if bump and RANK[took] < RANK[bump]:
        problems.append(
            f"info.version went {show(old)} -> {show(new)} (a {took} step), but the changes "
            f"need a {bump} step (at least {show(next_version(old, bump))})"
        )
    section = changelog_section(changelog_text, new)
    if section is None:
        problems.append(f"CHANGELOG.md has no '## [{show(new)}]' section")
    elif bump == "major" and not marks_breaking(section):
        problems.append(
            f"CHANGELOG.md's [{show(new)}] section does not mark the breaking change: add a "
            f"'### Breaking' or '### Removed' subsection, or mark entries '(breaking change)'"
        )
    return problems


def gate(spec: Path, releases_dir: Path, changelog: Path) -> tuple[Report, list[str]]:
    latest = latest_release(releases_dir)
    if latest is None:
        raise ReleaseError(f"no release in {releases_dir}")
    report = compare(
        releases(releases_dir)[latest],
        spec,
        show(latest),
        f"{show(spec_version(spec))} ({spec.name})",
    )
    return report, judge(report, changelog.read_text(encoding="utf-8"))


def release(spec: Path, releases_dir: Path, changelog: Path) -> Path:
    version, latest = spec_version(spec), latest_release(releases_dir)
    if latest is not None and version <= latest:
        raise ReleaseError(
            f"info.version {show(version)} has not moved past the latest release "
            f"{show(latest)}: bump it in {spec.name} first"
        )
    if changelog_section(changelog.read_text(encoding="utf-8"), version) is None:
        raise ReleaseError(f"{changelog.name} has no '## [{show(version)}]' section")
    if latest is not None:
        _, problems = gate(spec, releases_dir, changelog)
        if problems:
            raise ReleaseError("the gate fails:\n" + "\n".join(f"- {p}" for p in problems))
    target = releases_dir / show(version) / "openapi.yaml"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(spec.read_bytes())
    return target


# ---- reports --------------------------------------------------------------------------------
def _where(pointer: str) -> str:
    """`#/paths/~1api~1v1~1time/get/responses/200` -> `GET /api/v1/time responses/200`."""
    parts = [p.replace("~1", "/").replace("~0", "~") for p in pointer.lstrip("#/").split("/")]
    if len(parts) >= 3 and parts[0] == "paths":
        return " ".join([parts[2].upper(), parts[1], "/".join(parts[3:])]).strip()
    return "/".join(parts)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(report: Report) -> str:
    if report.base_version is None:
        return (
            f"# Contract changes: {report.revision}\n\n"
            "The first release: no earlier release in spec-releases/ to compare with.\n"
        )
    lines = [f"# Contract changes: {report.base} -> {report.revision}", ""]
    if not report.changes:
        lines.append("No change to the contract.")
    else:
        counts = ", ".join(f"{report.count(i)} {i}" for i in reversed(IMPACTS))
        lines += [
            f"Needs a **{report.bump}** version step ({counts}).",
            "",
            "| impact | change | where | used at | rule | details |",
            "|---|---|---|---|---|---|",
        ]
        for c in report.changes:
            what = f"{c.kind} `{c.property}`" if c.property else c.kind
            used_at = f"`{_where(c.used_at)}`" if c.used_at and c.used_at != c.location else ""
            cells = (
                c.impact,
                what,
                f"`{_where(c.location)}`",
                used_at,
                ", ".join(c.rules),
                c.message,
            )
            lines.append("| " + " | ".join(_cell(cell) for cell in cells) + " |")
    return "\n".join(lines) + "\n"


def render_json(report: Report) -> str:
    data = {
        "base": report.base,
        "revision": report.revision,
        "bump": report.bump,
        "summary": {impact: report.count(impact) for impact in IMPACTS},
        "changes": [asdict(c) for c in report.changes],
    }
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def diff(releases_dir: Path, spec: Path, from_: str | None, to: str | None) -> Report:
    """The report from release `from_` (default: the release before the revision) to release
    `to` (default: the working tree's `spec`)."""
    known = releases(releases_dir)

    def released(text: str) -> Path:
        version = parse_version(text)
        if version not in known:
            raise ReleaseError(f"no release {text} in {releases_dir}")
        return known[version]

    revision = released(to) if to else spec
    revision_version = spec_version(revision)
    revision_label = show(revision_version) if to else f"{show(revision_version)} ({spec.name})"
    base_version = parse_version(from_) if from_ else latest_release(releases_dir, revision_version)
    if base_version is None:
        return Report("", revision_label, None, revision_version)
    return compare(released(show(base_version)), revision, show(base_version), revision_label)


# ---- command line ---------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--spec", type=Path, default=SPEC, help="default: openapi.yaml")
    parser.add_argument("--changelog", type=Path, default=CHANGELOG, help="default: CHANGELOG.md")
    parser.add_argument(
        "--releases-dir", type=Path, default=RELEASES, help="default: spec-releases/"
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("gate", help="openapi.yaml against the latest release")
    commands.add_parser("release", help="record openapi.yaml as a new release")
    report_parser = commands.add_parser("diff", help="what changed between two versions")
    report_parser.add_argument(
        "--from", dest="from_", metavar="X.Y.Z", help="a release (default: the one before --to)"
    )
    report_parser.add_argument("--to", metavar="X.Y.Z", help="a release (default: --spec)")
    report_parser.add_argument("--format", choices=("markdown", "json"), default="markdown")
    report_parser.add_argument("--output", type=Path, help="write here instead of stdout")
    args = parser.parse_args(argv)

    try:
        if args.command == "gate":
            report, problems = gate(args.spec, args.releases_dir, args.changelog)
            for problem in problems:
                print(f"spec gate: {problem}", file=sys.stderr)
            if problems:
                print(render_markdown(report), file=sys.stderr)
                return 1
            print(
                f"spec gate: {report.revision} against release {report.base}: "
                f"{report.bump or 'no'} change, ok"
            )
        elif args.command == "release":
            target = release(args.spec, args.releases_dir, args.changelog)
            print(f"released {target.relative_to(target.parents[2])}")
        else:
            report = diff(args.releases_dir, args.spec, args.from_, args.to)
            text = render_markdown(report) if args.format == "markdown" else render_json(report)
            if args.output:
                args.output.write_text(text, encoding="utf-8")
            else:
                sys.stdout.write(text)
    except ReleaseError as error:
        print(f"{args.command}: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
