#!/usr/bin/env python3
"""Publish the contract for other teams: `tools/publish_spec.py OUTDIR` (run by `make docs`).

Writes, from the repository's openapi.yaml:

- OUTDIR/openapi.yaml  the contract, byte for byte;
- OUTDIR/openapi.json  the same document as JSON (keys in the YAML's order, indent 2);
- OUTDIR/index.html    the reference page, `redocly build-docs --inlineBundle`: one file
                       with Redoc's script inlined, so it works offline from disk.

The same spec and pinned tools give the same bytes. The page is checked for external
script, style or frame loads before it is kept; the only remote URL Redoc itself touches
at run time is its attribution logo, which hides itself when it cannot load.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "openapi.yaml"
REDOCLY_CONFIG = ROOT / "redocly.yaml"

# Tags whose src/href the browser fetches by itself when the page loads.
_LOADING_TAG = re.compile(
    r"<(script|link|img|iframe|frame|embed|object|source|audio|video)\b[^>]*?"
    r"\b(?:src|href|data)\s*=\s*[\"']?\s*(?P<url>(?:https?:)?//[^\"'\s>]+)",
    re.IGNORECASE,
)
_CSS_REMOTE = re.compile(r"(?:@import\s+(?:url\()?|url\()\s*[\"']?\s*(?:https?:)?//", re.I)
_SCRIPT_BODY = re.compile(r"(<script\b[^>]*>).*?(</script>)", re.IGNORECASE | re.DOTALL)


class PublishError(RuntimeError):
    pass


def redocly_command() -> list[str]:
    local = ROOT / "node_modules" / ".bin" / "redocly"
    if local.exists():
        return [str(local)]
    found = shutil.which("redocly")
    if found:
        return [found]
    raise PublishError("redocly not found: run `make npm` (npm ci) first")


def _check_keys(node: Any, where: str = "#") -> None:
    """JSON object keys are strings; YAML would let `200:` through as an int."""
    if isinstance(node, dict):
        for key, value in node.items():
            if not isinstance(key, str):
                raise PublishError(f"{where}: non-string key {key!r}; quote it in openapi.yaml")
            _check_keys(value, f"{where}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            _check_keys(value, f"{where}/{index}")


def spec_as_json(text: str) -> str:
    document = yaml.safe_load(text)
    _check_keys(document)
    # allow_nan=False: a float NaN/Infinity is not JSON; fail instead of writing it
    return json.dumps(document, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def external_loads(html: str) -> list[str]:
    """Remote resources the static page would fetch (inline script bodies excluded)."""
    markup = _SCRIPT_BODY.sub(r"\1\2", html)
    found = [m.group("url") for m in _LOADING_TAG.finditer(markup)]
    styles = re.findall(r"<style\b[^>]*>(.*?)</style>", markup, flags=re.I | re.S)
    found += [f"css: {m.group(0)}" for css in styles for m in _CSS_REMOTE.finditer(css)]
    return found


def build_page(out: Path) -> None:
    env = dict(os.environ, REDOCLY_TELEMETRY="off", NO_UPDATE_NOTIFIER="1")
    with tempfile.TemporaryDirectory(prefix="publish-spec-") as tmp:
        target = Path(tmp) / "index.html"
        command = [
            *redocly_command(),
            "build-docs",
            str(SPEC.relative_to(ROOT)),
            "--config",
            str(REDOCLY_CONFIG.relative_to(ROOT)),
            "--output",
            str(target),
            "--inlineBundle",
        ]
        result = subprocess.run(  # noqa: S603 - fixed argv, no shell
            command, cwd=ROOT, env=env, capture_output=True, text=True, check=False
        )
        if result.returncode != 0 or not target.exists():
            sys.stderr.write(result.stdout + result.stderr)
            raise PublishError(f"redocly build-docs failed (exit {result.returncode})")
        html = target.read_text(encoding="utf-8")
        if '<script type="module">' not in html or "hydrate(" not in html:
            raise PublishError("index.html does not inline Redoc's script (--inlineBundle?)")
        remote = external_loads(html)
        if remote:
            raise PublishError(f"index.html loads remote resources: {remote}")
        shutil.move(str(target), out)


def publish(outdir: Path) -> dict[str, Path]:
    outdir.mkdir(parents=True, exist_ok=True)
    text = SPEC.read_text(encoding="utf-8")
    written = {
        "openapi.yaml": outdir / "openapi.yaml",
        "openapi.json": outdir / "openapi.json",
        "index.html": outdir / "index.html",
    }
    shutil.copyfile(SPEC, written["openapi.yaml"])
    written["openapi.json"].write_text(spec_as_json(text), encoding="utf-8")
    build_page(written["index.html"])
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("outdir", type=Path, help="where to write the published files")
    args = parser.parse_args(argv)
    try:
        written = publish(args.outdir)
    except PublishError as error:
        print(f"publish_spec: {error}", file=sys.stderr)
        return 1
    for path in written.values():
        digest = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
        print(f"{path}  {path.stat().st_size:>9} bytes  sha256 {digest}...")
    return 0


if __name__ == "__main__":
    sys.exit(main())
