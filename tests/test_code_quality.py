"""The code stays typed and lint-clean: `mypy --strict` on the overlay and the generated
packages (config in pyproject.toml), ruff over every hand-written file; imports run one way
(generated/ <- simulator/, overlay/)."""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

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


def _packages(folder: str) -> set[str]:
    return {init.parent.name for init in (ROOT / folder).glob("*/__init__.py")}


def _imported_packages(path: Path) -> set[str]:
    """The top-level packages a module imports anywhere (a lazy import in a function too)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found


@pytest.mark.parametrize(
    ("folder", "forbidden"),
    [("generated", ("overlay", "simulator")), ("simulator", ("overlay",))],
)
def test_imports_run_one_way(folder: str, forbidden: tuple[str, ...]) -> None:
    """STYLE.md rule 12: generated/ imports neither the overlay's packages (the client
    package ``toobit_follower``, its CLI, its conformance probe) nor the simulator; the
    simulator does not import the overlay's."""
    banned = set().union(*(_packages(name) for name in forbidden))
    assert "toobit_follower" in banned  # the client package is found, so the check bites
    modules = sorted((ROOT / folder).rglob("*.py"))
    assert modules
    found = [
        f"{path.relative_to(ROOT)}: {name}"
        for path in modules
        for name in sorted(_imported_packages(path) & banned)
    ]
    assert not found, "imports against STYLE.md rule 12:\n" + "\n".join(found)


def _protocol_header_names() -> set[str]:
    """The spec's API key header and the names its responses give to components.headers
    (the exchange's own; standard ones such as Retry-After are not facts of the spec),
    lowercased."""
    from test_protocol import SPEC, _response_headers

    names = {SPEC["components"]["securitySchemes"]["ApiKey"]["name"]}
    names.update(*_response_headers(SPEC).values())
    return {name.lower() for name in names}


def _protocol_literals(source: str, names: set[str]) -> list[tuple[int, str]]:
    """Where ``source`` writes one of ``names`` (lowercased): a str or bytes literal that is
    the name, in any case, or an f-string whose literal text holds it as a whole word (a Lua
    script, a wrk config, a header line); prose in a plain string or docstring is not code.
    ``X-Api-Limit-*`` names a family, not a header, so a name followed by ``-`` is not one."""
    pattern = re.compile(
        "|".join(rf"(?<![\w-]){re.escape(name)}(?![\w-])" for name in sorted(names)), re.I
    )
    found = []
    tree = ast.parse(source)
    in_fstring = {
        id(part)
        for node in ast.walk(tree)
        if isinstance(node, ast.JoinedStr)
        for part in node.values
        if isinstance(part, ast.Constant)
    }
    for node in ast.walk(tree):
        if not isinstance(node, ast.Constant):
            continue
        value = node.value.decode("latin-1") if isinstance(node.value, bytes) else node.value
        if not isinstance(value, str):
            continue
        if value.lower() in names or (id(node) in in_fstring and pattern.search(value)):
            found.append((node.lineno, value))
    return found


def test_the_protocol_literal_check_bites() -> None:
    """The check below finds a name written as a literal, as bytes, and inside an f-string
    (its literal parts are Constant nodes that only hold the name among other text), and
    passes over a constant interpolated into an f-string and over prose."""
    names = _protocol_header_names()
    planted = {
        'H = {"X-BB-APIKEY": key}': 1,
        'H = [(b"x-bb-apikey", key)]': 1,
        'lua = f\'local h = {{["X-BB-APIKEY"] = "{key}"}}\'': 1,
        'line = f"x-api-limit-reset-timestamp: {ms}"': 1,
        'msg = f"see {value} " "the X-Api-Limit-Status header"': 1,
        'lua = f\'local h = {{["{API_KEY_HEADER}"] = "{key}"}}\'': 0,
        'doc = "sets the X-BB-APIKEY header"': 0,
        'msg = f"{n} answers; the X-Api-Limit-* headers say"': 0,
        'name = "X-Api-Limit-Statuses"': 0,
    }
    for source, count in planted.items():
        assert len(_protocol_literals(source, names)) == count, source


def test_no_hand_written_python_writes_a_protocol_header_name() -> None:
    """One fact, one place (STYLE.md rule 14): outside generated/ and tests/, the API key
    header and the rate-limit headers are toobit_follower_models.protocol's constants
    (toobit_follower.constants re-exports them), never a str or bytes literal, in any case,
    nor text in an f-string (docstrings and other prose may name them)."""
    names = _protocol_header_names()
    assert {"x-bb-apikey", "x-api-limit", "x-api-limit-reset-timestamp"} <= names
    skip = {"tests", "generated", "node_modules", "__pycache__", "dist", "build"}
    found = []
    checked = 0
    for folder, subfolders, files in os.walk(ROOT):
        subfolders[:] = sorted(d for d in subfolders if d not in skip and not d.startswith("."))
        for path in sorted(Path(folder) / f for f in files if f.endswith(".py")):
            checked += 1
            where = path.relative_to(ROOT).as_posix()
            found += [
                f"{where}:{line}: {value!r}"
                for line, value in _protocol_literals(path.read_text(encoding="utf-8"), names)
            ]
    assert checked > 50
    assert not found, "import these from toobit_follower_models.protocol:\n" + "\n".join(found)
