"""The code stays typed and lint-clean: `mypy --strict` on the overlay and the generated
packages (config in pyproject.toml), ruff over every hand-written file."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, check=False
    )


def test_mypy_strict_passes_on_overlay_and_generated() -> None:
    result = _run("mypy", "--no-incremental")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Success" in result.stdout


def test_ruff_passes_on_every_hand_written_file() -> None:
    result = _run("ruff", "check", "--no-cache", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_no_hand_written_python_writes_an_error_code() -> None:
    """One fact, one place (STYLE.md rule 14): outside generated/ and tests/, a documented
    error code is named `ErrorCode.<NAME>`, never written as a number (comments aside)."""
    import ast

    from toobit_follower_models.errors import ERROR_TABLE

    codes = {row.code for row in ERROR_TABLE}
    found = []
    checked = 0
    for folder in ("overlay", "simulator", "fuzz", "bench", "tools"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            if "node_modules" in path.parts:
                continue
            checked += 1
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if (
                    isinstance(node, ast.UnaryOp)
                    and isinstance(node.op, ast.USub)
                    and isinstance(node.operand, ast.Constant)
                    and type(node.operand.value) is int
                    and -node.operand.value in codes
                ):
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno}: {-node.operand.value}")
    assert checked > 0
    assert not found, "write these as ErrorCode.<NAME>:\n" + "\n".join(found)
