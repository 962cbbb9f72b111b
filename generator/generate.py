"""Regenerate generated/ from openapi.yaml, byte for byte reproducibly.

    python generator/generate.py            # rewrite generated/
    python generator/generate.py --check    # regenerate elsewhere, diff, exit 1 on drift

Two generators, each with one job, both pinned in requirements-dev.lock:
  * openapi-python-client -> generated/toobit_follower_api     (the client methods; its
    types.py is templates/types.py.jinja: RawResponse and the with_raw_response wrappers)
  * datamodel-code-generator -> generated/toobit_follower_models (pydantic v2 models, Decimal money)
and ours for what neither reads (the spec's extensions) or writes:
  * error_table.py -> generated/toobit_follower_models/errors.py (ErrorCode x-error-table and
    each operation's x-error-codes)
  * assumption_table.py -> generated/toobit_follower_models/assumptions.py (every x-assumption
    marker, as tools/assumptions.py reads and checks them)
  * operation_table.py -> generated/toobit_follower_models/operations.py (every operation:
    method, path, parameters, models, weight, read/write, error codes)
  * spec_module.py -> generated/toobit_follower_models/spec.py (the contract's accessor:
    spec_path/spec_text/spec_dict/spec_version, the spec's VERSION and SHA256)
  * protocol_module.py -> generated/toobit_follower_models/protocol.py (the wire protocol's
    constants: the API key header, recvWindow's range, the production host, the rate-limit
    headers, the success code)
and the Python types that schemas name with `x-python-type` (copied as they are):
  * scalars.py -> generated/toobit_follower_models/scalars.py (e.g. DecimalString's
    UnsetDecimal: "" and null read as None)

Every generated .py file gets a header naming its source, the spec's sha256 and the
command that regenerates it, so a stale tree is visible at a glance.
"""

from __future__ import annotations

import argparse
import ast
import difflib
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from importlib.metadata import version
from importlib.resources import files
from pathlib import Path

import yaml
from assumption_table import AssumptionError, render_assumptions_module
from client_methods import render_methods_template
from error_table import ErrorTableError, render_errors_module
from operation_table import OperationTableError, render_operations_module
from protocol_module import ProtocolModuleError, render_protocol_module
from spec_module import SpecModuleError, render_spec_module

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "openapi.yaml"
GENERATED = ROOT / "generated"
CLIENT_CONFIG = ROOT / "generator" / "openapi-python-client.yaml"
CLIENT_PACKAGE = "toobit_follower_api"
MODELS_PACKAGE = "toobit_follower_models"
SCALARS = ROOT / "generator" / "scalars.py"
# openapi-python-client renders the client methods with our templates (--custom-template-path):
# a copy of this folder plus _methods.jinja, what its parse drops (generator/client_methods.py).
CLIENT_TEMPLATES = ROOT / "generator" / "templates"
# openapi-python-client 0.29.1 also writes, unconditionally, its attrs models, one module of
# sync/asyncio functions per operation, and the httpx client, types and errors they use.
# Shipped while something still imports them; False removes them from its output.
SHIP_LEGACY_CLIENT = False
LEGACY_CLIENT_FILES = ("client.py", "errors.py", "models", "api/*/[!_]*.py")
# types.py is ours (templates/types.py.jinja: RawResponse, the raw twins' wrappers); the
# legacy client's types (UNSET, Response, File) are appended to it only when shipped.

# datamodel-code-generator options. Each one matters:
DATAMODEL_ARGS = [
    "--input-file-type",
    "openapi",
    "--output-model-type",
    "pydantic_v2.BaseModel",
    "--target-python-version",
    "3.11",
    # constraints stay as Annotated[..., Field(...)] and are enforced
    "--use-annotated",
    "--field-constraints",
    # multipleOf 0.00000001 -> Decimal("1E-8"): an exact eight-decimal check, not a float
    "--use-decimal-for-multiple-of",
    # Literal[0, 1] rather than Enum classes: plain ints, as on the wire
    "--enum-field-as-literal",
    "all",
    # DecimalString etc. become plain Decimal fields instead of RootModel wrappers
    "--collapse-root-models",
    # path and query parameters get models too (ListHistoryOrdersParameters: page >= 1,
    # size <= 100; CancelLeaderParameters: leaderUserId >= 1, an int)
    "--openapi-scopes",
    "schemas",
    "paths",
    "parameters",
    "--include-path-parameters",
    "--use-operation-id-as-name",
    "--use-schema-description",
    "--use-field-description",
    # ... and pydantic reads those docstrings as Field descriptions (model_fields[x].description)
    "--use-attribute-docstrings",
    "--use-standard-collections",
    "--use-union-operator",
    # snake_case attributes, the exchange's camelCase names as aliases
    "--snake-case-field",
    "--allow-population-by-field-name",
    # reproducible output: no timestamp, one pinned formatter
    "--disable-timestamp",
    "--formatters",
    "ruff-format",
]


def _run(cmd: list[str], cwd: Path) -> None:
    env = dict(os.environ)
    # the post-hooks and formatters call ruff: take the pinned one next to this interpreter
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    result = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, check=False)  # noqa: S603
    if result.returncode != 0:
        sys.stderr.write(result.stdout + result.stderr)
        raise SystemExit(f"generator failed: {' '.join(cmd)}")


def _header(tool: str, digest: str) -> str:
    return (
        f"# Generated by {tool} {version(tool)} from openapi.yaml (sha256 {digest}).\n"
        "# Do not edit: changes will be lost. Regenerate with `make generate`;\n"
        "# fix the spec or generator/ instead (see generator/README.md).\n"
    )


def _header_ours(generator: str, digest: str) -> str:
    return (
        f"# Generated by generator/{generator} from openapi.yaml (sha256 {digest}).\n"
        "# Do not edit: changes will be lost. Regenerate with `make generate`;\n"
        "# fix the spec or generator/ instead (see generator/README.md).\n"
    )


def _header_copy(source: Path, digest: str) -> str:
    return (
        f"# Generated by generator/generate.py (a copy of generator/{source.name}) from"
        f" openapi.yaml (sha256 {digest}).\n"
        "# Do not edit: changes will be lost. Regenerate with `make generate`;\n"
        f"# edit generator/{source.name} instead (see generator/README.md).\n"
    )


_FOREIGN_BANNER = ("#   filename:", "# generated by datamodel-codegen")


def _stamp(folder: Path, header: str) -> None:
    for path in sorted(folder.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        # datamodel-codegen writes its own two-line banner; ours replaces it
        lines = text.splitlines(keepends=True)
        while lines and lines[0].startswith(_FOREIGN_BANNER):
            lines.pop(0)
        path.write_text(header + "".join(lines), encoding="utf-8")


def _write_ours(module: Path, source: str, generator: str, digest: str) -> None:
    """One of our own generated modules: written, ruff-formatted, then headed."""
    module.write_text(source, encoding="utf-8")
    exe = Path(sys.executable).parent
    _run(
        [str(exe / "ruff"), "format", "--isolated", "--quiet", "--no-cache", str(module)],
        module.parent,
    )
    module.write_text(
        _header_ours(generator, digest) + module.read_text(encoding="utf-8"), encoding="utf-8"
    )


def generate_into(target: Path, spec: Path = SPEC) -> None:
    """Write both generated packages from spec into target (which must not exist yet)."""
    digest = hashlib.sha256(spec.read_bytes()).hexdigest()
    target.mkdir(parents=True)
    with tempfile.TemporaryDirectory(prefix="toobit-gen-") as work:
        work_dir = Path(work)
        exe = Path(sys.executable).parent
        client_out = work_dir / CLIENT_PACKAGE
        templates = work_dir / "templates"
        shutil.copytree(CLIENT_TEMPLATES, templates)
        try:
            methods = render_methods_template(
                yaml.safe_load(spec.read_text(encoding="utf-8")), legacy=SHIP_LEGACY_CLIENT
            )
        except OperationTableError as exc:
            raise SystemExit(f"generator failed: {exc}") from exc
        (templates / "_methods.jinja").write_text(methods, encoding="utf-8")
        if SHIP_LEGACY_CLIENT:
            upstream = files("openapi_python_client") / "templates" / "types.py.jinja"
            (templates / "_upstream_types.py.jinja").write_text(
                upstream.read_text(encoding="utf-8"), encoding="utf-8"
            )
        _run(
            [
                str(exe / "openapi-python-client"),
                "generate",
                "--path",
                str(spec),
                "--config",
                str(CLIENT_CONFIG),
                "--custom-template-path",
                str(templates),
                "--meta",
                "none",
                "--output-path",
                str(client_out),
                "--overwrite",
            ],
            cwd=work_dir,
        )
        if not SHIP_LEGACY_CLIENT:
            for pattern in LEGACY_CLIENT_FILES:
                for legacy in sorted(client_out.glob(pattern)):
                    shutil.rmtree(legacy) if legacy.is_dir() else legacy.unlink()
        _stamp(client_out, _header("openapi-python-client", digest))
        # openapi-python-client writes py.typed only with --meta; the package is typed (PEP 561)
        (client_out / "py.typed").write_text("# Marker file for PEP 561\n", encoding="utf-8")
        shutil.copytree(client_out, target / CLIENT_PACKAGE)

        models_out = work_dir / MODELS_PACKAGE
        models_out.mkdir()
        _run(
            [
                str(exe / "datamodel-codegen"),
                "--input",
                str(spec),
                "--output",
                str(models_out / "__init__.py"),
                *DATAMODEL_ARGS,
            ],
            cwd=work_dir,
        )
        _stamp(models_out, _header("datamodel-code-generator", digest))
        document = yaml.safe_load(spec.read_text(encoding="utf-8"))
        for name, render, generator in (
            ("errors.py", render_errors_module, "error_table.py"),
            ("assumptions.py", render_assumptions_module, "assumption_table.py"),
        ):
            try:
                source = render(document)
            except (ErrorTableError, AssumptionError) as exc:
                raise SystemExit(f"generator failed: {exc}") from exc
            module = models_out / name
            module.write_text(source, encoding="utf-8")
            _run(
                [str(exe / "ruff"), "format", "--isolated", "--quiet", "--no-cache", str(module)],
                models_out,
            )
            module.write_text(
                _header_ours(generator, digest) + module.read_text(encoding="utf-8"),
                encoding="utf-8",
            )
        # The operation table names the models datamodel-codegen just wrote: pass their names,
        # so a model it cannot find stops generation here rather than at import time.
        models_tree = ast.parse((models_out / "__init__.py").read_text(encoding="utf-8"))
        model_names = {n.name for n in models_tree.body if isinstance(n, ast.ClassDef)}
        try:
            operations_source = render_operations_module(document, model_names)
        except OperationTableError as exc:
            raise SystemExit(f"generator failed: {exc}") from exc
        _write_ours(models_out / "operations.py", operations_source, "operation_table.py", digest)
        try:
            spec_source = render_spec_module(document, digest)
        except SpecModuleError as exc:
            raise SystemExit(f"generator failed: {exc}") from exc
        _write_ours(models_out / "spec.py", spec_source, "spec_module.py", digest)
        try:
            protocol_source = render_protocol_module(document)
        except ProtocolModuleError as exc:
            raise SystemExit(f"generator failed: {exc}") from exc
        _write_ours(models_out / "protocol.py", protocol_source, "protocol_module.py", digest)
        (models_out / SCALARS.name).write_text(
            _header_copy(SCALARS, digest) + SCALARS.read_text(encoding="utf-8"), encoding="utf-8"
        )
        (models_out / "py.typed").write_text("# Marker file for PEP 561\n", encoding="utf-8")
        shutil.copytree(models_out, target / MODELS_PACKAGE)


def _tree(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts
    }


def check() -> int:
    with tempfile.TemporaryDirectory(prefix="toobit-check-") as tmp:
        fresh = Path(tmp) / "generated"
        generate_into(fresh)
        want, have = _tree(fresh), _tree(GENERATED)
    drift = False
    for name in sorted(set(want) | set(have)):
        if want.get(name) == have.get(name):
            continue
        drift = True
        old = have.get(name, b"").decode("utf-8", "replace").splitlines(keepends=True)
        new = want.get(name, b"").decode("utf-8", "replace").splitlines(keepends=True)
        sys.stdout.writelines(
            difflib.unified_diff(
                old, new, f"generated/{name} (committed)", f"generated/{name} (from spec)"
            )
        )
        if name not in have:
            print(f"missing: generated/{name}")
        if name not in want:
            print(f"not produced by the generators: generated/{name}")
    if drift:
        print("\ngenerated/ drifted from openapi.yaml: run `make generate` and commit the result.")
        return 1
    print("generated/ matches openapi.yaml")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--check", action="store_true", help="diff against generated/ instead of writing"
    )
    parser.add_argument("--spec", type=Path, default=SPEC, help="the spec (default: openapi.yaml)")
    parser.add_argument(
        "--output", type=Path, default=GENERATED, help="the folder to write (default: generated/)"
    )
    args = parser.parse_args()
    if args.check:
        return check()
    spec, output = args.spec.resolve(), args.output.resolve()
    with tempfile.TemporaryDirectory(prefix="toobit-gen-out-") as tmp:
        fresh = Path(tmp) / "generated"
        generate_into(fresh, spec)
        for package in (CLIENT_PACKAGE, MODELS_PACKAGE):
            shutil.rmtree(output / package, ignore_errors=True)
            shutil.copytree(fresh / package, output / package)
    print(f"{output}/{{{CLIENT_PACKAGE},{MODELS_PACKAGE}}} written from {spec}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
