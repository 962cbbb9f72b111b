"""The readable report of a run (reports/fuzz-summary.md) and the secret scan of reports/.

Counts come from schemathesis' NDJSON event stream (`--report ndjson`): every
`ScenarioFinished` event carries the cases (with generation mode and phase), the
checks run on each case with their status, and the request/response pairs.
"""

from __future__ import annotations

import base64
import json
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fuzz import spec

if TYPE_CHECKING:
    from fuzz.run import PassResult

TEST_PHASES = ("examples", "coverage", "fuzzing", "stateful")


@dataclass
class Failure:
    operation: str
    check: str
    title: str
    message: str
    case_id: str
    phase: str
    request: str = ""
    request_body: str = ""
    status: int | None = None
    response_body: str = ""

    @property
    def key(self) -> tuple[str, str, str]:
        return (
            self.operation,
            self.check,
            self.message.splitlines()[0] if self.message else self.title,
        )


@dataclass
class OperationStats:
    cases: int = 0
    failed_cases: int = 0
    modes: Counter[str] = field(default_factory=Counter)
    codes: Counter[str] = field(default_factory=Counter)


@dataclass
class SideStats:
    """One side of copy trading (an operation tag) within a pass."""

    cases: int = 0
    failed_cases: int = 0
    failures: int = 0  # unique failures


def side_of(operation: str) -> str:
    """The tag of an operation label (`GET /api/...`, the path a template or as sent)."""
    _, _, path = operation.partition(" ")
    try:
        return spec.load().tag_of_url(path)
    except LookupError:
        return "?"


@dataclass
class PassStats:
    cases: int = 0
    requests: int = 0
    seconds: float = 0.0
    phases: dict[str, dict[str, float]] = field(default_factory=dict)
    operations: dict[str, OperationStats] = field(
        default_factory=lambda: defaultdict(OperationStats)
    )
    sides: dict[str, SideStats] = field(default_factory=lambda: defaultdict(SideStats))
    checks: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    failures: list[Failure] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    seed: int | None = None
    # stateful: link name -> answers (code) of the requests the link shaped
    links: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    # ... and of those where its expression found nothing in the answer, so schemathesis
    # generated the value (RemoveFirstFollower: no My Followers row carries a user ID)
    unresolved_links: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))


def _decode(content: Any) -> str:
    if content is None:
        return ""
    if isinstance(content, dict):
        if "$base64" in content:
            return base64.b64decode(content["$base64"]).decode("utf-8", "replace")
        if "string" in content:
            return str(content["string"])
    return str(content)


def _envelope_code(body: str, status: int) -> str:
    try:
        data = json.loads(body)
    except ValueError:
        return f"HTTP {status} (not JSON)"
    if isinstance(data, dict) and "code" in data:
        return str(data["code"])
    if isinstance(data, dict) and "serverTime" in data:
        return "serverTime"
    return f"HTTP {status}"


def read_ndjson(path: Path) -> PassStats:
    stats = PassStats()
    phase_started: dict[str, float] = {}
    phase_cases: Counter[str] = Counter()
    seen_failures: set[tuple[str, str, str]] = set()
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            event = json.loads(line)
            (kind, data), *_ = event.items()
            if kind == "Initialize":
                stats.seed = data.get("seed")
            elif kind == "PhaseStarted":
                phase_started[data["phase"]["name"]] = data["timestamp"]
            elif kind == "PhaseFinished":
                name = data["phase"]["name"]
                if (
                    name in TEST_PHASES
                    and name in phase_started
                    and data["phase"].get("is_enabled", True)
                ):
                    entry = stats.phases.setdefault(name, {"cases": 0, "seconds": 0.0})
                    entry["seconds"] += data["timestamp"] - phase_started[name]
            elif kind == "ScenarioFinished":
                _scenario(stats, data, phase_cases, seen_failures)
            elif kind == "NonFatalError":
                stats.errors.append(_short(data))
            elif kind == "FatalError":
                stats.errors.append("fatal: " + _short(data))
            elif kind == "EngineFinished":
                stats.seconds = data.get("running_time", 0.0)
    for name, count in phase_cases.items():
        stats.phases.setdefault(name, {"cases": 0, "seconds": 0.0})["cases"] = count
    return stats


def _short(data: Any) -> str:
    text = json.dumps(data)[:400]
    return text


def _scenario(
    stats: PassStats,
    data: dict[str, Any],
    phase_cases: Counter[str],
    seen: set[tuple[str, str, str]],
) -> None:
    recorder = data["recorder"]
    phase = data.get("phase", "?")
    label = recorder.get("label", "?")
    cases = recorder.get("cases", {})
    checks = recorder.get("checks", {})
    interactions = recorder.get("interactions", {})
    stats.requests += len(interactions)
    for case_id, results in checks.items():
        case = cases.get(case_id, {}).get("value", {})
        meta = case.get("meta") or {}
        operation = label
        if phase == "stateful":
            operation = f"{case.get('method', '?')} {case.get('path', '?')}"
        op_stats = stats.operations[operation]
        side = stats.sides[side_of(operation)]
        op_stats.cases += 1
        side.cases += 1
        stats.cases += 1
        phase_cases[phase] += 1
        op_stats.modes[(meta.get("generation") or {}).get("mode", "?")] += 1
        interaction = interactions.get(case_id) or {}
        response = interaction.get("response") or {}
        request = interaction.get("request") or {}
        body = _decode(response.get("content"))
        if response:
            answer = _envelope_code(body, response.get("status_code", 0))
            op_stats.codes[answer] += 1
            transition = cases.get(case_id, {}).get("transition")
            if transition:
                applied = cases[case_id].get("is_transition_applied")
                links = stats.links if applied else stats.unresolved_links
                links[_link_name(transition.get("id", "?"))][answer] += 1
        failed = False
        for result in results:
            stats.checks[result["name"]][result["status"]] += 1
            if result["status"] != "failure":
                continue
            failed = True
            info = (result.get("failure_info") or {}).get("failure") or {}
            failure = Failure(
                operation=operation,
                check=result["name"],
                title=info.get("title", ""),
                message=info.get("message", ""),
                case_id=case_id,
                phase=phase,
                request=f"{request.get('method', '')} {request.get('uri', '')}",
                request_body=_decode(request.get("body")),
                status=response.get("status_code"),
                response_body=body,
            )
            if failure.key not in seen:
                seen.add(failure.key)
                stats.failures.append(failure)
                side.failures += 1
        if failed:
            op_stats.failed_cases += 1
            side.failed_cases += 1


def _link_name(transition_id: str) -> str:
    """`GET /a -> [200] Name -> PUT /b` -> `Name (GET /a -> PUT /b)`."""
    source, _, rest = transition_id.partition(" -> [")
    _, _, rest = rest.partition("] ")
    name, _, target = rest.partition(" -> ")
    return f"{name} ({source} -> {target})" if target else transition_id


# --- Markdown ---------------------------------------------------------------------------
def _table(header: list[str], rows: list[list[Any]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return out


def _clip(text: str, limit: int = 600) -> str:
    text = text.strip()
    return text if len(text) <= limit else text[:limit] + " ..."


def render(results: list[PassResult], facts: dict[str, str], elapsed: float) -> str:
    lines = ["# Contract fuzzing summary", ""]
    lines += [f"- **{name}**: {value}" for name, value in facts.items()]
    total_cases = sum(r.stats.cases for r in results if r.stats)
    total_requests = sum(r.stats.requests for r in results if r.stats)
    clean = all(r.returncode == 0 for r in results)
    lines += [
        f"- **result**: {'clean' if clean else 'FAILED'}; {total_cases} test cases, "
        f"{total_requests} requests, {elapsed:.1f} s wall time",
        "- *cases* are the test cases schemathesis generated and checked; *requests* also count"
        " the checks' own follow-up requests (e.g. `ignored_auth` retrying without the key)",
        "",
        "## Passes",
        "",
    ]
    rows = []
    for r in results:
        s = r.stats
        rows.append(
            [
                r.spec.name,
                r.spec.key_profile,
                ",".join(r.spec.phases),
                r.spec.max_examples,
                s.cases if s else "-",
                s.requests if s else "-",
                f"{r.seconds:.1f}",
                len(s.failures) if s else "-",
                "ok" if r.returncode == 0 else f"exit {r.returncode}",
            ]
        )
    lines += _table(
        [
            "pass",
            "key",
            "phases",
            "max examples",
            "cases",
            "requests",
            "seconds",
            "unique failures",
            "result",
        ],
        rows,
    )
    lines += ["", "## Per side (operation tag; each side signed with its own key)", ""]
    rows = []
    totals: dict[str, SideStats] = defaultdict(SideStats)
    for r in results:
        if not r.stats:
            continue
        for tag, side in sorted(r.stats.sides.items()):
            rows.append([r.spec.name, tag, side.cases, side.failed_cases, side.failures])
            total = totals[tag]
            total.cases += side.cases
            total.failed_cases += side.failed_cases
            total.failures += side.failures
    rows += [
        ["**all passes**", tag, t.cases, t.failed_cases, t.failures]
        for tag, t in sorted(totals.items())
    ]
    lines += _table(["pass", "side", "cases", "failed cases", "unique failures"], rows)
    lines += ["", "## Per phase", ""]
    rows = []
    for r in results:
        if not r.stats:
            continue
        for phase in TEST_PHASES:
            if phase in r.stats.phases:
                entry = r.stats.phases[phase]
                rows.append([r.spec.name, phase, int(entry["cases"]), f"{entry['seconds']:.1f}"])
    lines += _table(["pass", "phase", "cases", "seconds"], rows)

    lines += ["", "## Per operation", ""]
    merged: dict[str, OperationStats] = defaultdict(OperationStats)
    for r in results:
        if not r.stats:
            continue
        for op, st in r.stats.operations.items():
            m = merged[op]
            m.cases += st.cases
            m.failed_cases += st.failed_cases
            m.modes.update(st.modes)
            m.codes.update(st.codes)
    rows = []
    for op in sorted(merged):
        st = merged[op]
        codes = ", ".join(f"{code}: {n}" for code, n in st.codes.most_common())
        rows.append(
            [
                f"`{op}`",
                st.cases,
                st.modes.get("positive", 0),
                st.modes.get("negative", 0),
                st.failed_cases,
                codes,
            ]
        )
    lines += _table(
        ["operation", "cases", "positive", "negative", "failed cases", "answers (code: count)"],
        rows,
    )

    lines += ["", "## Per check", ""]
    checks: dict[str, Counter[str]] = defaultdict(Counter)
    for r in results:
        if r.stats:
            for name, counter in r.stats.checks.items():
                checks[name].update(counter)
    rows = [
        [f"`{name}`", c.get("success", 0), c.get("failure", 0), c.get("skip", 0)]
        for name, c in sorted(checks.items())
    ]
    lines += _table(["check", "passed", "failed", "skipped"], rows)

    links: dict[str, Counter[str]] = defaultdict(Counter)
    unresolved: dict[str, Counter[str]] = defaultdict(Counter)
    for r in results:
        if r.stats and r.spec.key_profile == "read-write":
            for name, counter in r.stats.links.items():
                links[name].update(counter)
            for name, counter in r.stats.unresolved_links.items():
                unresolved[name].update(counter)
    if links or unresolved:
        lines += [
            "",
            "## Stateful links (read-write keys; each request signed with its side's key)",
            "",
        ]
        rows = []
        for name in sorted(set(links) | set(unresolved)):
            answers = links[name] + unresolved[name]
            rows.append(
                [
                    name,
                    sum(links[name].values()),
                    sum(unresolved[name].values()),
                    ", ".join(f"{code}: {n}" for code, n in answers.most_common()),
                ]
            )
        lines += _table(
            [
                "link (source -> target)",
                "requests shaped by it",
                "of which its value was generated (not in the answer)",
                "answers (code: count)",
            ],
            rows,
        )

    failures = [(r.spec.name, f) for r in results if r.stats for f in r.stats.failures]
    lines += ["", f"## Failures ({len(failures)} unique)", ""]
    if not failures:
        lines.append("None.")
    for name, f in failures:
        lines += [
            f"### {f.check} on `{f.operation}` ({name}, {f.phase})",
            "",
            f"{f.title}",
            "",
            "```",
            _clip(f.message, 1500),
            "```",
            "",
            f"- request: `{f.request}`"
            + (f" body `{_clip(f.request_body, 400)}`" if f.request_body else ""),
            f"- response: HTTP {f.status} `{_clip(f.response_body, 400)}`",
            "",
        ]
    errors = [(r.spec.name, e) for r in results if r.stats for e in r.stats.errors]
    if errors:
        lines += ["", "## Errors", ""]
        lines += [f"- {name}: `{_clip(e, 400)}`" for name, e in errors]
    for r in results:
        for note in r.notes:
            lines.append(f"- {r.spec.name}: {note}")
    lines += [
        "",
        "Reports: `fuzz-junit-<pass>.xml` (JUnit), `fuzz-<pass>.ndjson` (schemathesis events), "
        "`fuzz-<pass>.log` (console output). Reproduce a pass with the command at the top "
        "of its log.",
        "",
    ]
    return "\n".join(lines)


# --- secret scan -------------------------------------------------------------------------
def scan_for_secrets(directory: Path, secrets: list[str], pattern: str = "fuzz-*") -> list[Path]:
    """Files under `directory` that contain one of `secrets` (raw, or base64 of a body)."""
    needles = [s.encode() for s in secrets if s]
    hits: list[Path] = []
    if not needles:
        return hits
    for path in sorted(directory.glob(pattern)):
        if not path.is_file():
            continue
        data = path.read_bytes()
        if any(needle in data for needle in needles) or _base64_hit(data, needles):
            hits.append(path)
    return hits


def _base64_hit(data: bytes, needles: list[bytes]) -> bool:
    """NDJSON/VCR reports store bodies as base64: decode those and look again."""
    if b"$base64" not in data:
        return False
    for line in data.splitlines():
        try:
            event = json.loads(line)
        except ValueError:
            continue
        for blob in _base64_blobs(event):
            try:
                decoded = base64.b64decode(blob)
            except ValueError:
                continue
            if any(needle in decoded for needle in needles):
                return True
    return False


def _base64_blobs(value: Any) -> list[str]:
    found: list[str] = []
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            blob = item.get("$base64")
            if isinstance(blob, str):
                found.append(blob)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return found
