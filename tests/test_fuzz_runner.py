"""`python -m fuzz.run` end to end, kept small: the embedded simulator on a loopback port,
the examples phase with both key profiles on both sides, reports and summary in a
temporary directory."""

from __future__ import annotations

import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

from toobit_follower_models.errors import ErrorCode

ROOT = Path(__file__).resolve().parents[1]


def test_runner_fuzzes_the_embedded_simulator_and_writes_its_reports(tmp_path: Path) -> None:
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "fuzz.run",
            "--phases",
            "examples",
            "--seed",
            "3",
            "--report-dir",
            str(tmp_path),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    output = completed.stdout + completed.stderr
    assert completed.returncode == 0, output
    assert "simulator up at http://127.0.0.1:" in output
    assert "all 3 passes clean (seed 3)" in output  # read-write, read-only, variants
    names = {p.name for p in tmp_path.iterdir()}
    assert {
        "fuzz-junit-read-write-examples.xml",
        "fuzz-junit-read-only.xml",
        "fuzz-read-write-examples.ndjson",
        "fuzz-read-only.ndjson",
        "fuzz-summary.md",
        "fuzz-simulator.log",
        "fuzz-junit-read-write-variants.xml",
        "fuzz-simulator-variants.log",
    } <= names
    suite = ET.parse(tmp_path / "fuzz-junit-read-write-examples.xml").getroot()
    assert int(suite.get("tests", "0")) >= 7 and suite.get("failures") == "0"
    text = (tmp_path / "fuzz-summary.md").read_text(encoding="utf-8")
    for heading in (
        "## Passes",
        "## Per phase",
        "## Per operation",
        "## Per check",
        "## Failures (0 unique)",
    ):
        assert heading in text
    assert "`toobit_rejected_write_keeps_state`" in text and "`toobit_role_key`" in text
    # both sides in every pass, each with cases and no failure
    for side in ("follower", "leader"):
        assert re.search(rf"\| \*\*all passes\*\* \| {side} \| [1-9]\d* \| 0 \| 0 \|", text), side
        assert re.search(rf"{side}: 3 passes, [1-9]\d* cases, 0 unique failure", output), side
    # the variants pass: the simulator served its answers in other shapes the spec allows
    varied = re.search(r"; (\d+) answers varied \(null \d+", text)
    assert varied is not None and int(varied.group(1)) > 0, text
    # the read-only pass: every write refused as NOT_SUPPORTED
    read_only_code = str(int(ErrorCode.NOT_SUPPORTED))
    assert "| `PUT /api/v2/copy-trading/follower/config` |" in text and read_only_code in text
    log = (tmp_path / "fuzz-read-write-examples.log").read_text(encoding="utf-8")
    assert "--config-file" in log and "schemathesis.toml" in log
    # admin calls (/_sim/*) are the harness's, never part of the fuzzed traffic
    for report in tmp_path.glob("fuzz-*.ndjson"):
        content = report.read_text(encoding="utf-8")
        assert "/_sim/" not in content and "X-Sim-Admin-Token" not in content
