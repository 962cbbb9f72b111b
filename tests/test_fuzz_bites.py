"""The fuzzer's checks bite: each deliberately broken simulator (fuzz/faults.py wraps the
real app in a small ASGI middleware) is run through schemathesis in-process with the
fuzzer's configuration, signer and checks, and the fault must be reported by the
check meant to catch it, while the same run against the unbroken simulator does not
report that check. The leader side's operations are fuzzed with the leader keys, and the
checks bite there too (a leader-only fault, a leader write that changes the leader's
state while refused, a harness that signs them with the follower key).
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import pytest  # noqa: E402

from fuzz import faults, inprocess, keys, spec  # noqa: E402

# case -> (fault, operations fuzzed, phases, key, the checks that must report it)
CASES = {
    "server_error_on_full_page": (
        "server_error_on_full_page",
        ["listHistoryOrders"],
        ("coverage",),
        "read-write",
        {"not_a_server_error"},
    ),
    "undocumented_code": (
        "undocumented_code",
        ["getFollowConfig"],
        ("examples", "fuzzing"),
        "read-write",
        {"toobit_envelope_code"},
    ),
    "status_mismatch": (
        "status_mismatch",
        ["getFollowConfig"],
        ("examples", "fuzzing"),
        "read-write",
        {"toobit_envelope_code"},
    ),
    "missing_field": (
        "missing_field",
        ["listLeaders"],
        ("examples",),
        "read-write",
        {"response_schema_conformance"},
    ),
    "accepts_invalid": (
        "accepts_invalid",
        ["updateStopProfitLoss"],
        ("coverage",),
        "read-write",
        {"negative_data_rejection", "toobit_negative_rejected"},
    ),
    "rejects_valid": (
        "rejects_valid",
        ["listLeaders"],
        ("examples",),
        "read-write",
        {"toobit_positive_accepted"},
    ),
    "write_then_error": (
        "write_then_error",
        ["updateFollowConfig"],
        ("coverage",),
        "read-write",
        {"toobit_rejected_write_keeps_state"},
    ),
    "read_only_write_accepted": (
        "read_only_write_accepted",
        ["updateStopProfitLoss", "cancelLeader"],
        ("examples",),
        "read-only",
        {"toobit_read_only_key"},
    ),
    "leaks_secret": (
        "leaks_secret",
        ["listLeaders"],
        ("examples",),
        "read-write",
        {"toobit_no_secret_in_response"},
    ),
    # the leader side, signed with the leader keys
    "leader_undocumented_code": (
        "leader_undocumented_code",
        ["getLeaderConfig"],
        ("examples",),
        "read-write",
        {"toobit_envelope_code"},
    ),
    # proves the state digest covers the leader's state (its config)
    "leader_write_then_error": (
        "leader_write_then_error",
        ["updateLeaderConfig"],
        ("coverage",),
        "read-write",
        {"toobit_rejected_write_keeps_state"},
    ),
    "leader_read_only_write_accepted": (
        "read_only_write_accepted",
        ["updateLeaderConfig", "removeFollower"],
        ("examples",),
        "read-only",
        {"toobit_read_only_key"},
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


@pytest.mark.parametrize("name", sorted(CASES))
def test_a_broken_simulator_is_reported_by_the_right_check(name: str) -> None:
    fault, operations, phases, key, expected = CASES[name]
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
    assert {case[0] for case in CASES.values()} == set(faults.FAULTS)


def test_both_sides_are_bitten() -> None:
    contract = spec.load()
    tags = {contract.operations[op].tag for case in CASES.values() for op in case[1]}
    assert tags == set(contract.tags)


def test_leader_operations_signed_with_the_follower_key_are_reported() -> None:
    """A harness that signs the leader side with the follower's key passes the envelope
    check (the role codes are in those operations' x-error-codes): toobit_role_key reports
    it, and stays silent with the leader key."""
    operations = spec.load().operation_ids("leader")
    wrong = run_engine_with({"follower": keys.demo(), "leader": keys.demo()}, operations)
    assert wrong.cases > 0
    assert "toobit_role_key" in wrong.failed_checks, wrong.describe()
    assert "toobit_envelope_code" not in wrong.failed_checks, wrong.describe()
    right = run_engine_with(None, operations)
    assert right.cases_by_tag["leader"] == right.cases > 0
    assert "toobit_role_key" in right.checks_run and not right.failed_checks, right.describe()


def run_engine_with(keys_by_tag, operations) -> inprocess.EngineResult:  # type: ignore[no-untyped-def]
    return inprocess.run_engine(
        inprocess.simulator_app(),
        phases=("examples",),
        max_examples=MAX_EXAMPLES,
        operation_ids=operations,
        keys_by_tag=keys_by_tag,
    )


def test_the_unbroken_simulator_passes_every_check() -> None:
    """Every operation of both sides, both key profiles: no check fails against the real
    simulator."""
    app = inprocess.simulator_app()
    for key in ("read-write", "read-only"):
        result = inprocess.run_engine(
            app,
            phases=("examples", "coverage", "fuzzing"),
            max_examples=MAX_EXAMPLES,
            key_profile=key,
        )
        assert min(result.cases_by_tag[tag] for tag in spec.load().tags) > 100
        assert not result.failed_checks and not result.errors, f"{key}: {result.describe()}"
