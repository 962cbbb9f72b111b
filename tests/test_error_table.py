"""generator/error_table.py: the spec's x-error-table and x-error-codes become
toobit_follower_models.errors, and a malformed table stops generation with a message
that says where."""

from __future__ import annotations

import copy
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "generator"))

from error_table import ErrorTableError, render_errors_module  # noqa: E402
from toobit_follower_models import errors  # noqa: E402

SPEC: dict[str, Any] = yaml.safe_load((ROOT / "openapi.yaml").read_text(encoding="utf-8"))
ROWS: list[dict[str, Any]] = SPEC["components"]["schemas"]["ErrorCode"]["x-error-table"]


def _module(spec: dict[str, Any]) -> dict[str, Any]:
    namespace: dict[str, Any] = {"__name__": "drill_errors"}
    exec(compile(render_errors_module(spec), "errors.py", "exec"), namespace)
    return namespace


def test_every_row_of_the_spec_is_in_the_generated_table() -> None:
    assert [tuple(row) for row in errors.ERROR_TABLE] == [
        (r["code"], r["name"], r["status"], r["message"], r["meaning"]) for r in ROWS
    ]
    for row in ROWS:
        assert errors.ErrorCode[row["name"]] == row["code"]
        assert errors.BY_NAME[row["name"]].http_status == row["status"]


def test_by_code_keeps_the_first_row_of_a_code() -> None:
    for code in {row["code"] for row in ROWS}:
        first = next(r for r in ROWS if r["code"] == code)
        assert errors.BY_CODE[code].name == first["name"]


def test_operation_codes_are_the_spec_x_error_codes() -> None:
    expected = {
        op["operationId"]: frozenset(op["x-error-codes"])
        for item in SPEC["paths"].values()
        for op in item.values()
        if isinstance(op, dict) and "x-error-codes" in op
    }
    assert dict(errors.OPERATION_ERROR_CODES) == expected


def test_message_templates_fill_their_fields() -> None:
    info = errors.ErrorInfo(-1, "X", 400, "Parameter '{name}' is bad.", "bad")
    assert info.format_message(name="size") == "Parameter 'size' is bad."


def test_a_new_row_needs_no_python() -> None:
    spec = copy.deepcopy(SPEC)
    spec["components"]["schemas"]["ErrorCode"]["x-error-table"].append(
        {"code": -99001, "name": "DRILL_CODE", "status": 400, "message": "Drill.", "meaning": "m"}
    )
    spec["paths"]["/api/v2/copy-trading/follower/leaders"]["get"]["x-error-codes"].append(-99001)
    module = _module(spec)
    assert module["ErrorCode"].DRILL_CODE == -99001
    assert module["BY_CODE"][-99001].http_status == 400
    assert -99001 in module["OPERATION_ERROR_CODES"]["listLeaders"]


def _broken(change: Any) -> dict[str, Any]:
    spec = copy.deepcopy(SPEC)
    change(spec["components"]["schemas"]["ErrorCode"]["x-error-table"], spec)
    return spec


@pytest.mark.parametrize(
    ("change", "says"),
    [
        (lambda t, s: t[0].pop("status"), "x-error-table[0]: a row has exactly the keys"),
        (lambda t, s: t[1].update(code=1002), "x-error-table[1]: code must be a negative"),
        (lambda t, s: t[1].update(name="lower"), "x-error-table[1]: name must be UPPER_SNAKE"),
        (lambda t, s: t[2].update(name=t[0]["name"]), "x-error-table[2]: name UNKNOWN is used"),
        (lambda t, s: t[0].update(status=200), "x-error-table[0]: status must be an HTTP error"),
        (lambda t, s: t[0].update(message=""), "x-error-table[0]: message must be a non-empty"),
        (
            lambda t, s: s["paths"]["/api/v2/copy-trading/follower/leaders"]["get"][
                "x-error-codes"
            ].append(-424242),
            "GET /api/v2/copy-trading/follower/leaders (listLeaders): x-error-codes [-424242]",
        ),
    ],
)
def test_a_malformed_table_is_refused_with_where_and_what(change: Any, says: str) -> None:
    with pytest.raises(ErrorTableError) as caught:
        render_errors_module(_broken(change))
    assert says in str(caught.value)


def test_the_published_page_shows_every_row(tmp_path: Path) -> None:
    # The page is built through redocly.yaml, whose decorator (tools/redocly/error-table.js)
    # renders x-error-table into ErrorCode's description: Redoc shows no extensions.
    import subprocess

    out = tmp_path / "bundle.yaml"
    subprocess.run(
        [
            str(ROOT / "node_modules" / ".bin" / "redocly"),
            "bundle",
            str(ROOT / "openapi.yaml"),
            "--config",
            str(ROOT / "redocly.yaml"),
            "--output",
            str(out),
        ],
        check=True,
        capture_output=True,
        cwd=ROOT,
    )
    description = yaml.safe_load(out.read_text())["components"]["schemas"]["ErrorCode"][
        "description"
    ]
    for row in ROWS:
        line = f"| {row['code']} | `{row['name']}` | {row['status']} | {row['message']} |"
        assert line in description, f"row {row['name']} missing from the page's error table"


def test_the_generated_assumptions_are_the_spec_markers() -> None:
    # generator/assumption_table.py writes what tools/assumptions.py reads, field for field
    sys.path.insert(0, str(ROOT / "tools"))
    import assumptions as markers
    from toobit_follower_models.assumptions import ASSUMPTIONS, BY_ID

    expected = markers.assumptions(SPEC)
    assert [tuple(a) for a in ASSUMPTIONS] == [
        (a.id, a.where, a.assumes, a.page, a.alternative) for a in expected
    ]
    assert list(BY_ID) == [a.id for a in expected]
