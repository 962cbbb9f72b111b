#!/usr/bin/env python3
"""Publish the contract for other teams: `tools/publish_spec.py OUTDIR` (run by `make docs`).

Writes, from the repository's openapi.yaml (and CHANGELOG.md, spec-releases/):

- OUTDIR/openapi.yaml        the contract, byte for byte;
- OUTDIR/openapi.json        the same document as JSON (keys in the YAML's order, indent 2);
- OUTDIR/openapi.deref.json  the same with every `$ref` replaced by what it points to, for
                             tools with poor `$ref` support (done here, in Python: Redocly's
                             `bundle --dereferenced` rounds int64 bounds through a double);
- OUTDIR/openapi.d.ts        TypeScript types of the contract (pinned openapi-typescript);
- OUTDIR/changes.md          what changed since the previous release and the semver step it
                             needs (`tools/spec_release.py diff`, rated by `redocly diff`);
- OUTDIR/CHANGELOG.md        the contract's changelog, byte for byte;
- OUTDIR/index.html          the reference page, `redocly build-docs --inlineBundle`: one file
                             with Redoc's script inlined, so it works offline from disk. It
                             shows info.version in its title and, in the published copy only,
                             a "Changelog" section (CHANGELOG.md, linked to the files above);
- OUTDIR/SHA256SUMS          `sha256sum -c SHA256SUMS` checks every file above.

The same inputs and pinned tools give the same bytes. The page is checked for external
script, style or frame loads before it is kept; the only remote URL Redoc itself touches
at run time is its attribution logo, which hides itself when it cannot load.
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "openapi.yaml"
CHANGELOG = ROOT / "CHANGELOG.md"
REDOCLY_CONFIG = ROOT / "redocly.yaml"
# openapi-typescript reads the spec with its own openapi-core 1.x: ts/redocly.yaml says why
TS_REDOCLY_CONFIG = ROOT / "ts" / "redocly.yaml"
SPEC_RELEASE = ROOT / "tools" / "spec_release.py"
CHECKSUMS = "SHA256SUMS"
# `$ref` siblings that only annotate (OpenAPI 3.1 lets them override the target's)
_ANNOTATIONS = frozenset(
    {"description", "summary", "title", "examples", "example", "deprecated", "$comment"}
)

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


def node_tool(name: str) -> list[str]:
    local = ROOT / "node_modules" / ".bin" / name
    if local.exists():
        return [str(local)]
    found = shutil.which(name)
    if found:
        return [found]
    raise PublishError(f"{name} not found: run `make npm` (npm ci) first")


def redocly_command() -> list[str]:
    return node_tool("redocly")


def _run(command: list[str], what: str) -> None:
    env = dict(os.environ, REDOCLY_TELEMETRY="off", NO_UPDATE_NOTIFIER="1")
    result = subprocess.run(  # noqa: S603 - fixed argv, no shell
        command, cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        sys.stderr.write(result.stdout + result.stderr)
        raise PublishError(f"{what} failed (exit {result.returncode})")


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


def load_spec(text: str) -> Any:
    document = yaml.safe_load(text)
    _check_keys(document)
    return document


def as_json(document: Any) -> str:
    # allow_nan=False: a float NaN/Infinity is not JSON; fail instead of writing it
    return json.dumps(document, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def spec_as_json(text: str) -> str:
    return as_json(load_spec(text))


def _pointer(document: Any, ref: str) -> Any:
    if not ref.startswith("#/"):
        raise PublishError(f"$ref {ref!r}: only references inside openapi.yaml are supported")
    node = document
    for token in ref[2:].split("/"):
        key = token.replace("~1", "/").replace("~0", "~")
        try:
            node = node[int(key)] if isinstance(node, list) else node[key]
        except (KeyError, IndexError, ValueError):
            raise PublishError(f"$ref {ref!r} points at nothing") from None
    return node


def dereference(document: Any) -> Any:
    """A copy of `document` with every `$ref` replaced by (a copy of) its target.

    Siblings of a `$ref` that only annotate (description, examples, ...) override the
    target's, as OpenAPI 3.1 says; any other sibling keeps its meaning next to the target
    through `allOf`. A recursive reference cannot be inlined and is refused.
    """

    def walk(node: Any, chain: tuple[str, ...]) -> Any:
        if isinstance(node, list):
            return [walk(item, chain) for item in node]
        if not isinstance(node, dict):
            return node
        ref = node.get("$ref")
        if not isinstance(ref, str):
            return {key: walk(value, chain) for key, value in node.items()}
        if ref in chain:
            raise PublishError(f"recursive $ref {' -> '.join((*chain, ref))}")
        target = walk(_pointer(document, ref), (*chain, ref))
        siblings = {key: walk(value, chain) for key, value in node.items() if key != "$ref"}
        if not siblings:
            return target
        if isinstance(target, dict) and siblings.keys() <= _ANNOTATIONS:
            return {**target, **siblings}
        return {"allOf": [target], **siblings}

    return walk(document, ())


def _keys(node: Any) -> set[str]:
    if isinstance(node, dict):
        return set(node).union(*(_keys(value) for value in node.values()))
    if isinstance(node, list):
        return set().union(*(_keys(value) for value in node))
    return set()


def _demote_headings(markdown: str, levels: int) -> str:
    lines, fenced = [], False
    for line in markdown.splitlines():
        if line.startswith("```"):
            fenced = not fenced
        elif not fenced and re.match(r"#{1,6} ", line):
            line = "#" * levels + line
        lines.append(line)
    return "\n".join(lines)


def page_document(document: Any, changelog: str) -> Any:
    """The spec as the page shows it: info.description ends with a "Changelog" section.

    Only the page gets it; openapi.yaml/json stay the contract as written. Redoc already
    shows info.version in the page's title.
    """
    page = copy.deepcopy(document)
    version = page["info"]["version"]
    body = re.sub(r"\A# [^\n]*\n+", "", changelog.strip() + "\n")  # its own title
    section = (
        "## Changelog\n"
        f"This page documents version **{version}** of the contract. Published with it: "
        "[changes.md](changes.md), what changed since the previous release and the "
        "semantic-version step that needs; [CHANGELOG.md](CHANGELOG.md), every version, "
        "also below; [openapi.yaml](openapi.yaml), [openapi.json](openapi.json), "
        "[openapi.deref.json](openapi.deref.json) (no `$ref`), "
        "[openapi.d.ts](openapi.d.ts) (TypeScript types) and [SHA256SUMS](SHA256SUMS).\n\n"
        + _demote_headings(body, 2)
    )
    page["info"]["description"] = page["info"]["description"].rstrip("\n") + "\n\n" + section
    return page


def external_loads(html: str) -> list[str]:
    """Remote resources the static page would fetch (inline script bodies excluded)."""
    markup = _SCRIPT_BODY.sub(r"\1\2", html)
    found = [m.group("url") for m in _LOADING_TAG.finditer(markup)]
    styles = re.findall(r"<style\b[^>]*>(.*?)</style>", markup, flags=re.I | re.S)
    found += [f"css: {m.group(0)}" for css in styles for m in _CSS_REMOTE.finditer(css)]
    return found


def build_page(out: Path, document: Any) -> None:
    """index.html from `document` (the page's copy of the spec)."""
    with tempfile.TemporaryDirectory(prefix="publish-spec-") as tmp:
        source, target = Path(tmp) / "openapi.json", Path(tmp) / "index.html"
        source.write_text(as_json(document), encoding="utf-8")
        command = [
            *redocly_command(),
            "build-docs",
            str(source),
            "--config",
            str(REDOCLY_CONFIG.relative_to(ROOT)),
            "--output",
            str(target),
            "--inlineBundle",
        ]
        _run(command, "redocly build-docs")
        if not target.exists():
            raise PublishError("redocly build-docs wrote no page")
        html = target.read_text(encoding="utf-8")
        if '<script type="module">' not in html or "hydrate(" not in html:
            raise PublishError("index.html does not inline Redoc's script (--inlineBundle?)")
        remote = external_loads(html)
        if remote:
            raise PublishError(f"index.html loads remote resources: {remote}")
        shutil.move(str(target), out)


def typescript_types(out: Path) -> None:
    command = [*node_tool("openapi-typescript"), str(SPEC.relative_to(ROOT)),
               "--redocly", str(TS_REDOCLY_CONFIG), "--output", str(out)]  # fmt: skip
    _run(command, "openapi-typescript")


def changes_report(out: Path) -> None:
    """`tools/spec_release.py diff`: this spec against the release before its version."""
    command = [sys.executable, str(SPEC_RELEASE), "--spec", str(SPEC),
               "diff", "--format", "markdown", "--output", str(out)]  # fmt: skip
    _run(command, "tools/spec_release.py diff")


def checksums(outdir: Path, names: list[str]) -> str:
    """sha256sum's own format (text mode), one line per file, sorted by name."""
    return "".join(
        f"{hashlib.sha256((outdir / name).read_bytes()).hexdigest()}  {name}\n"
        for name in sorted(names)
    )


def _remove_stale(outdir: Path, keep: set[str]) -> None:
    """Files an earlier run listed in SHA256SUMS that this run no longer writes."""
    listed = outdir / CHECKSUMS
    if listed.is_file():
        for line in listed.read_text(encoding="utf-8").splitlines():
            name = line.partition("  ")[2]
            if name and "/" not in name and name not in keep and (outdir / name).is_file():
                (outdir / name).unlink()


def publish(outdir: Path) -> dict[str, Path]:
    outdir.mkdir(parents=True, exist_ok=True)
    text = SPEC.read_text(encoding="utf-8")
    document = load_spec(text)
    names = ["openapi.yaml", "openapi.json", "openapi.deref.json", "openapi.d.ts",
             "changes.md", "CHANGELOG.md", "index.html"]  # fmt: skip
    written = {name: outdir / name for name in [*names, CHECKSUMS]}
    _remove_stale(outdir, set(written))
    written[CHECKSUMS].unlink(missing_ok=True)  # written last: a failed run leaves none
    shutil.copyfile(SPEC, written["openapi.yaml"])
    shutil.copyfile(CHANGELOG, written["CHANGELOG.md"])
    written["openapi.json"].write_text(as_json(document), encoding="utf-8")
    dereferenced = dereference(document)
    if "$ref" in _keys(dereferenced):
        raise PublishError("openapi.deref.json would still hold a $ref")
    written["openapi.deref.json"].write_text(as_json(dereferenced), encoding="utf-8")
    page = page_document(document, CHANGELOG.read_text(encoding="utf-8"))
    with ThreadPoolExecutor(max_workers=3) as pool:  # three independent Node/Python tools
        jobs = [
            pool.submit(typescript_types, written["openapi.d.ts"]),
            pool.submit(changes_report, written["changes.md"]),
            pool.submit(build_page, written["index.html"], page),
        ]
        for job in jobs:
            job.result()
    written[CHECKSUMS].write_text(checksums(outdir, names), encoding="utf-8")
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
