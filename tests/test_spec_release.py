"""The breaking-change gate bites (tools/spec_release.py): each planted kind of breaking
change, on a copy of the latest release, is caught at a minor and at a patch step; additive
and editorial changes pass at theirs; CHANGELOG.md must mark a major change; `release`
refuses what it must and records the rest. Everything runs on copies in tmp_path."""

from __future__ import annotations

import copy
import importlib.util
import json
import subprocess
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
TOOL = ROOT / "tools" / "spec_release.py"
_spec = importlib.util.spec_from_file_location("spec_release", TOOL)
assert _spec and _spec.loader
sr = importlib.util.module_from_spec(_spec)
sys.modules["spec_release"] = sr
_spec.loader.exec_module(sr)

# The planted edits are written for the shapes of release 1.0.5 (closed enums in answers, a
# required leaderAvatar): 2.0.0 loosened those on purpose (tolerant reader), so adding an
# enum value is no longer breaking there. The gate's bite is proven on a copy of 1.0.5, a
# fixed released file, whatever later releases look like; the temporary repos below hold
# it as their latest release.
BASE_VERSION = (1, 0, 5)
BASE_SPEC = sr.releases(sr.RELEASES)[BASE_VERSION]
BASE = sr.load(BASE_SPEC)
V = {took: sr.show(sr.next_version(BASE_VERSION, took)) for took in sr.IMPACTS}


# ---- planted changes --------------------------------------------------------------------
def operation(doc: dict[str, Any], operation_id: str) -> dict[str, Any]:
    for item in doc["paths"].values():
        for op in item.values():
            if isinstance(op, dict) and op.get("operationId") == operation_id:
                return op
    raise KeyError(operation_id)


def parameter(doc: dict[str, Any], operation_id: str, name: str) -> dict[str, Any]:
    return next(p for p in operation(doc, operation_id)["parameters"] if p.get("name") == name)


def schema(doc: dict[str, Any], name: str) -> dict[str, Any]:
    return doc["components"]["schemas"][name]


def narrowed_maximum(doc: dict[str, Any]) -> None:
    parameter(doc, "listHistoryOrders", "size")["schema"]["maximum"] = 50


def query_parameter_required(doc: dict[str, Any]) -> None:
    parameter(doc, "listHistoryOrders", "page")["required"] = True


def body_property_required(doc: dict[str, Any]) -> None:
    schema(doc, "StopProfitLossUpdate")["required"].append("stopLossDelay")


def type_changed(doc: dict[str, Any]) -> None:
    schema(doc, "FollowConfigUpdate")["properties"]["zeroSlippageSwitch"]["type"] = "integer"


def request_enum_value_removed(doc: dict[str, Any]) -> None:
    schema(doc, "FollowMarginType")["enum"].remove(2)  # shared by request and response


def response_property_removed(doc: dict[str, Any]) -> None:
    leader = schema(doc, "Leader")
    del leader["properties"]["leaderAvatar"]
    leader["required"].remove("leaderAvatar")


def response_enum_value_added(doc: dict[str, Any]) -> None:
    schema(doc, "IsLong")["enum"].append(2)  # shared by request and response


def optional_response_property(doc: dict[str, Any]) -> None:
    schema(doc, "HistoryOrder")["properties"]["closeReason"] = {
        "type": "string",
        "description": "Why it closed.",
        "examples": ["stop-loss"],
    }


def optional_request_property(doc: dict[str, Any]) -> None:
    schema(doc, "StopProfitLossUpdate")["properties"]["clientTag"] = {
        "type": "string",
        "maxLength": 32,
        "description": "Free text.",
        "examples": ["a"],
    }


def editorial(doc: dict[str, Any]) -> None:
    schema(doc, "HistoryOrder")["description"] = "One closed copy position (a history row)."


def default_changed(doc: dict[str, Any]) -> None:
    parameter(doc, "listHistoryOrders", "size")["schema"]["default"] = 20


def error_code_listed(doc: dict[str, Any]) -> None:
    codes = operation(doc, "listLeaders")["x-error-codes"]
    codes.append(min(codes) - 1)


def enum_varname_renamed(doc: dict[str, Any]) -> None:
    schema(doc, "IsLong")["x-enum-varnames"] = ["SELL", "BUY"]


def unchanged(doc: dict[str, Any]) -> None:
    pass


# name: (edit, the bump it needs, a rule that must have fired)
BREAKING: dict[str, tuple[Callable[[dict[str, Any]], None], str]] = {
    "narrowed maximum": (narrowed_maximum, "schema-constraint-changed"),
    "newly required query parameter": (query_parameter_required, "parameter-became-required"),
    "newly required body property": (body_property_required, "required-properties-added"),
    "type change": (type_changed, "schema-type-changed"),
    "request enum value removed": (request_enum_value_removed, "enum-values-removed"),
    "response property removed": (response_property_removed, "property-removed"),
    "response enum value added": (response_enum_value_added, "enum-values-added"),
    # house checks: what redocly diff does not rate on our shapes
    "request default changed": (default_changed, "house/default-changed"),
    "enum member name renamed": (enum_varname_renamed, "house/enum-varnames-removed"),
}
ADDITIVE = {
    "optional response property": optional_response_property,
    "optional request property": optional_request_property,
    "error code listed for an operation": error_code_listed,
}
EDITS: dict[str, Callable[[dict[str, Any]], None]] = {
    **{name: edit for name, (edit, _) in BREAKING.items()},
    **ADDITIVE,
    "editorial": editorial,
    "unchanged": unchanged,
}


def write_spec(directory: Path, edit: Callable[[dict[str, Any]], None], version: str) -> Path:
    """A copy of the base release with one edit, as JSON (valid YAML; no YAML round trip
    that could change a scalar)."""
    doc = copy.deepcopy(BASE)
    edit(doc)
    doc["info"]["version"] = version
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "openapi.yaml"
    path.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def reports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One `redocly diff` per planted change, run side by side (each takes about a second)."""
    root = tmp_path_factory.mktemp("planted")

    def compare(item: tuple[int, str]) -> Any:
        index, name = item
        spec = write_spec(root / str(index), EDITS[name], V["patch"])
        return sr.compare(BASE_SPEC, spec, sr.show(BASE_VERSION), V["patch"])

    with ThreadPoolExecutor(max_workers=4) as pool:
        return dict(zip(EDITS, pool.map(compare, enumerate(EDITS)), strict=True))


def at(report: Any, took: str) -> Any:
    """The same changes, released under a `took` step from the base release."""
    return replace(report, revision_version=sr.next_version(BASE_VERSION, took))


def changelog(*, breaking: bool) -> str:
    marker = "### Breaking\n- Something breaks.\n" if breaking else "### Changed\n- Things.\n"
    return "".join(f"## [{v}] - 2026-12-01\n\n{marker}\n" for v in V.values())


# ---- the planted changes and the semver step ---------------------------------------------
@pytest.mark.parametrize("took", ["minor", "patch"])
@pytest.mark.parametrize("name", BREAKING)
def test_breaking_change_is_caught_below_major(
    reports: dict[str, Any], name: str, took: str
) -> None:
    report = reports[name]
    assert report.bump == "major", sr.render_markdown(report)
    assert BREAKING[name][1] in {r for c in report.changes for r in c.rules}
    problems = sr.judge(at(report, took), changelog(breaking=True))
    assert any(f"(a {took} step), but the changes need a major step" in p for p in problems)


@pytest.mark.parametrize("name", BREAKING)
def test_breaking_change_passes_as_a_marked_major(reports: dict[str, Any], name: str) -> None:
    assert sr.judge(at(reports[name], "major"), changelog(breaking=True)) == []


@pytest.mark.parametrize("name", ADDITIVE)
def test_additive_change_passes_as_minor_and_fails_as_patch(
    reports: dict[str, Any], name: str
) -> None:
    report = reports[name]
    assert report.bump == "minor", sr.render_markdown(report)
    assert sr.judge(at(report, "minor"), changelog(breaking=False)) == []
    problems = sr.judge(at(report, "patch"), changelog(breaking=False))
    assert any("need a minor step" in p for p in problems)


def test_editorial_change_passes_as_patch(reports: dict[str, Any]) -> None:
    report = reports["editorial"]
    assert report.bump == "patch"
    assert [c.property for c in report.changes] == ["description"]
    assert sr.judge(at(report, "patch"), changelog(breaking=False)) == []


def test_an_untouched_copy_has_no_change(reports: dict[str, Any]) -> None:
    report = reports["unchanged"]
    assert report.changes == [] and report.bump is None
    assert sr.judge(replace(report, revision_version=BASE_VERSION), "") == []


# ---- the version did not move, or went back; CHANGELOG.md --------------------------------
def test_a_change_under_the_released_version_fails(reports: dict[str, Any]) -> None:
    problems = sr.judge(replace(reports["editorial"], revision_version=BASE_VERSION), "")
    assert len(problems) == 1
    assert f"info.version is still {sr.show(BASE_VERSION)}" in problems[0]
    assert "bump info.version and add a CHANGELOG section" in problems[0]


def test_a_version_below_the_latest_release_fails(reports: dict[str, Any]) -> None:
    major, minor, patch = BASE_VERSION
    lower = (major, minor, patch - 1) if patch else (major - 1, 99, 0)
    problems = sr.judge(replace(reports["unchanged"], revision_version=lower), "")
    assert problems and "is lower than the latest release" in problems[0]


def test_a_major_change_needs_a_breaking_or_removed_entry(reports: dict[str, Any]) -> None:
    report = at(reports["response property removed"], "major")
    problems = sr.judge(report, changelog(breaking=False))
    assert problems == [
        f"CHANGELOG.md's [{V['major']}] section does not mark the breaking change: add a "
        "'### Breaking' or '### Removed' subsection, or mark entries '(breaking change)'"
    ]
    removed = f"## [{V['major']}]\n\n### Removed\n- `Leader.leaderAvatar`.\n"
    marked = f"## [{V['major']}]\n\n### Changed\n- `leaderAvatar` is gone (breaking change).\n"
    assert sr.judge(report, removed) == []
    assert sr.judge(report, marked) == []
    # a Breaking heading under another version does not count
    other = f"## [{V['major']}]\n\n### Changed\n- x\n\n## [1.0.0]\n\n### Breaking\n- y\n"
    assert sr.judge(report, other) != []


def test_a_moved_version_needs_its_changelog_section(reports: dict[str, Any]) -> None:
    problems = sr.judge(at(reports["optional response property"], "minor"), "## [9.9.9]\n")
    assert problems == [f"CHANGELOG.md has no '## [{V['minor']}]' section"]


def test_versions_are_ordered_as_semver_not_as_strings(tmp_path: Path) -> None:
    for version in ("1.9.0", "1.10.0", "1.2.0"):
        (tmp_path / version).mkdir()
        (tmp_path / version / "openapi.yaml").write_text(f"info: {{version: {version}}}\n")
    assert sr.latest_release(tmp_path) == (1, 10, 0)
    assert sr.latest_release(tmp_path, below=(1, 10, 0)) == (1, 9, 0)
    assert sr.step((1, 9, 0), (1, 10, 0)) == "minor"
    assert sr.step((1, 10, 0), (2, 0, 0)) == "major"
    assert sr.step((1, 10, 0), (1, 10, 0)) is None
    with pytest.raises(sr.ReleaseError):
        sr.parse_version("1.10")


def test_the_gate_refuses_a_config_that_turns_no_diff_rule_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With a config like redocly.yaml (a lint ruleset, no diff rules) every change is rated
    patch or minor: the ErrorCode enum gaining a value came out as patch that way."""
    config = tmp_path / "lint-only.yaml"
    config.write_text("extends:\n  - recommended\ntelemetry: off\n", encoding="utf-8")
    monkeypatch.setattr(sr, "DIFF_CONFIG", config)
    spec = write_spec(tmp_path / "rev", response_enum_value_added, V["patch"])
    with pytest.raises(sr.ReleaseError, match="turns no diff rule on"):
        sr.redocly_diff(BASE_SPEC, spec)


# ---- the command line on a copy: gate, release, diff --------------------------------------
@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """spec-releases/ with the base release as its latest, and a CHANGELOG.md, in a temporary
    folder."""
    release = tmp_path / "releases" / sr.show(BASE_VERSION)
    release.mkdir(parents=True)
    (release / "openapi.yaml").write_bytes(BASE_SPEC.read_bytes())
    (tmp_path / "CHANGELOG.md").write_text(changelog(breaking=False), encoding="utf-8")
    return tmp_path


def tool(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            str(TOOL),
            "--spec",
            str(repo / "openapi.yaml"),
            "--changelog",
            str(repo / "CHANGELOG.md"),
            "--releases-dir",
            str(repo / "releases"),
            *args,
        ],
        capture_output=True,
        text=True,
        check=False,
        cwd=repo,
    )


def test_gate_command_fails_a_breaking_patch_and_passes_it_as_a_marked_major(repo: Path) -> None:
    write_spec(repo, narrowed_maximum, V["patch"])
    failed = tool(repo, "gate")
    assert failed.returncode == 1
    assert "need a major step" in failed.stderr and "| major |" in failed.stderr

    write_spec(repo, narrowed_maximum, V["major"])
    (repo / "CHANGELOG.md").write_text(changelog(breaking=True), encoding="utf-8")
    passed = tool(repo, "gate")
    assert passed.returncode == 0, passed.stderr
    assert "major change, ok" in passed.stdout


def test_release_refuses_an_unmoved_version(repo: Path) -> None:
    write_spec(repo, unchanged, sr.show(BASE_VERSION))
    result = tool(repo, "release")
    assert result.returncode == 1
    version = sr.show(BASE_VERSION)
    assert f"info.version {version} has not moved past the latest release" in result.stderr
    assert sorted(p.name for p in (repo / "releases").iterdir()) == [sr.show(BASE_VERSION)]


def test_release_refuses_without_a_changelog_section(repo: Path) -> None:
    write_spec(repo, optional_response_property, V["minor"])
    (repo / "CHANGELOG.md").write_text("# Changelog\n\n## [Unreleased]\n", encoding="utf-8")
    result = tool(repo, "release")
    assert result.returncode == 1
    assert f"has no '## [{V['minor']}]' section" in result.stderr
    assert not (repo / "releases" / V["minor"]).exists()


def test_release_refuses_when_the_gate_fails(repo: Path) -> None:
    write_spec(repo, response_enum_value_added, V["minor"])
    result = tool(repo, "release")
    assert result.returncode == 1
    assert "the gate fails" in result.stderr and "need a major step" in result.stderr
    assert not (repo / "releases" / V["minor"]).exists()


def test_release_records_the_spec_byte_for_byte(repo: Path) -> None:
    spec = write_spec(repo, optional_response_property, V["minor"])
    result = tool(repo, "release")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"released releases/{V['minor']}/openapi.yaml"
    assert (repo / "releases" / V["minor"] / "openapi.yaml").read_bytes() == spec.read_bytes()
    # now the latest release: the same spec has nothing left to release
    again = tool(repo, "release")
    assert again.returncode == 1 and "has not moved past" in again.stderr
    assert tool(repo, "gate").returncode == 0


def test_diff_report_is_deterministic_and_names_no_path(repo: Path) -> None:
    write_spec(repo, response_enum_value_added, V["major"])
    first = tool(repo, "diff", "--from", sr.show(BASE_VERSION), "--output", "report.md")
    assert first.returncode == 0, first.stderr
    report = (repo / "report.md").read_text(encoding="utf-8")
    assert tool(repo, "diff").stdout == report  # --from defaults to the release before
    assert report.startswith(
        f"# Contract changes: {sr.show(BASE_VERSION)} -> {V['major']} (openapi.yaml)"
    )
    assert "Needs a **major** version step" in report
    assert "| major | modified `enum` | `components/schemas/IsLong/enum` |" in report
    assert str(repo) not in report and str(ROOT) not in report

    as_json = json.loads(tool(repo, "diff", "--format", "json").stdout)
    assert as_json["bump"] == "major" and as_json["base"] == sr.show(BASE_VERSION)
    assert [c["rules"] for c in as_json["changes"]] == [["enum-values-added"]]


def test_diff_of_the_first_release_says_so(repo: Path) -> None:
    write_spec(repo, unchanged, sr.show(BASE_VERSION))
    result = tool(repo, "diff")
    assert result.returncode == 0, result.stderr
    assert "The first release: no earlier release" in result.stdout


def test_a_difference_no_rule_rates_is_still_a_patch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """If redocly diff saw nothing (a blind spot), the document still differs: patch."""
    monkeypatch.setattr(sr, "redocly_changes", lambda base, revision: [])
    spec = write_spec(tmp_path, editorial, sr.show(BASE_VERSION))
    report = sr.compare(BASE_SPEC, spec, sr.show(BASE_VERSION), "copy")
    assert report.changes == [sr.UNRATED] and report.bump == "patch"
    assert sr.compare(BASE_SPEC, write_spec(tmp_path, unchanged, "9.9.9"), "", "").changes == []


def test_each_release_is_the_version_its_folder_names() -> None:
    releases = sr.releases(sr.RELEASES)
    assert releases and all(sr.spec_version(path) == v for v, path in releases.items())
