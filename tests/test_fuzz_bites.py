"""The fuzzer's checks bite: each deliberately broken simulator (fuzz/faults.py wraps the
real app in a small ASGI middleware) is run through schemathesis in-process with the
fuzzer's configuration, signer and checks, and the fault must be reported by the
check meant to catch it, while the same run against the unbroken simulator does not
report that check.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import pytest  # noqa: E402

from fuzz import faults, inprocess  # noqa: E402

# fault -> (operations fuzzed, phases, key, the checks that must report it)
CASES = {
    "server_error_on_full_page": (
        ["listHistoryOrders"],
        ("coverage",),
        "read-write",
        {"not_a_server_error"},
    ),
    "undocumented_code": (
        ["getFollowConfig"],
        ("examples", "fuzzing"),
        "read-write",
        {"toobit_envelope_code"},
    ),
    "status_mismatch": (
        ["getFollowConfig"],
        ("examples", "fuzzing"),
        "read-write",
        {"toobit_envelope_code"},
    ),
    "missing_field": (
        ["listLeaders"],
        ("examples",),
        "read-write",
        {"response_schema_conformance"},
    ),
    "accepts_invalid": (
        ["updateStopProfitLoss"],
        ("coverage",),
        "read-write",
        {"negative_data_rejection", "toobit_negative_rejected"},
    ),
    "rejects_valid": (
        ["listLeaders"],
        ("examples",),
        "read-write",
        {"toobit_positive_accepted"},
    ),
    "write_then_error": (
        ["updateFollowConfig"],
        ("coverage",),
        "read-write",
        {"toobit_rejected_write_keeps_state"},
    ),
    "read_only_write_accepted": (
        ["updateStopProfitLoss", "cancelLeader"],
        ("examples",),
        "read-only",
        {"toobit_read_only_key"},
    ),
    "leaks_secret": (
        ["listLeaders"],
        ("examples",),
        "read-write",
        {"toobit_no_secret_in_response"},
    ),
}
MAX_EXAMPLES = 15
_clean_runs: dict[tuple[tuple[str, ...], tuple[str, ...], str], inprocess.EngineResult] = {}


def run(app, operations, phases, key) -> inprocess.EngineResult:  # type: ignore[no-untyped-def]
    return inprocess.run_engine(
        app,
        phases=phases,
        max_examples=MAX_EXAMPLES,
        operation_ids=operations,
        key_profile=key,
    )


def clean_run(operations, phases, key) -> inprocess.EngineResult:  # type: ignore[no-untyped-def]
    """The same run against the unbroken simulator (memoised per configuration)."""
    config = (tuple(operations), tuple(phases), key)
    if config not in _clean_runs:
        _clean_runs[config] = run(inprocess.simulator_app(), operations, phases, key)
    return _clean_runs[config]


@pytest.mark.parametrize("fault", sorted(CASES))
def test_a_broken_simulator_is_reported_by_the_right_check(fault: str) -> None:
    operations, phases, key, expected = CASES[fault]
    broken = faults.broken(inprocess.simulator_app(), fault)
    result = run(broken, operations, phases, key)
    assert result.cases > 0
    missing = expected - result.failed_checks
    assert not missing, f"{fault}: {sorted(missing)} did not report it\n{result.describe()}"

    clean = clean_run(operations, phases, key)
    assert clean.cases > 0
    assert expected <= clean.checks_run, clean.describe()
    false_alarms = expected & clean.failed_checks
    assert not false_alarms, (
        f"{sorted(false_alarms)} fire without the fault too\n{clean.describe()}"
    )


def test_every_fault_is_exercised() -> None:
    assert set(CASES) == set(faults.FAULTS)


def test_the_unbroken_simulator_passes_every_check() -> None:
    """Every operation, both keys: no check fails against the real simulator."""
    app = inprocess.simulator_app()
    for key in ("read-write", "read-only"):
        result = inprocess.run_engine(
            app,
            phases=("examples", "coverage", "fuzzing"),
            max_examples=MAX_EXAMPLES,
            key_profile=key,
        )
        assert result.cases > 100
        assert not result.failed_checks and not result.errors, f"{key}: {result.describe()}"
