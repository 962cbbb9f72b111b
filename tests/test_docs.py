"""The published reference page (dist/spec/index.html, `make docs`) renders offline.

Headless Chromium opens the page from disk with the network cut and dumps the DOM that
Redoc's JavaScript built. The page is one file with Redoc inlined; Redoc renders one
operation at a time around the current hash route, so each operation is opened by its
deep link (`index.html#/<tag>/<operationid>`), and its heading must be in the DOM
Redoc rendered (script bodies removed, and absent from the page's static markup).

How the network is cut: Chromium runs inside a new, empty network namespace
(`unshare -n`: no interface but a loopback that is down, so not even 127.0.0.1 of this
machine answers), and is also pointed at a dead proxy with every host name unresolvable,
as a second layer. `test_the_browser_cannot_reach_anything` proves the cut with a
server on this machine's loopback that the same browser setup cannot reach, while a
browser outside the cut can. Chromium's net log of every run lists what the page
tried to fetch; only Redoc's decorative attribution logo is allowed, and it must fail.

The other release artifacts next to the page (`tools/publish_spec.py`) are checked at the
end: every file present and listed in SHA256SUMS, the same bytes from two runs, the
dereferenced JSON without a `$ref`, and the page's version and changelog.
"""

from __future__ import annotations

import html
import importlib.util
import json
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cache
from html.parser import HTMLParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "dist" / "spec" / "index.html"
SPEC: dict[str, Any] = yaml.safe_load((ROOT / "openapi.yaml").read_text(encoding="utf-8"))
VERSION = SPEC["info"]["version"]
ARTIFACTS = {
    "openapi.yaml", "openapi.json", "openapi.deref.json", "openapi.d.ts",
    "changes.md", "CHANGELOG.md", "index.html", "SHA256SUMS",
}  # fmt: skip

_module = importlib.util.spec_from_file_location("publish_spec", ROOT / "tools" / "publish_spec.py")
assert _module and _module.loader
publish_spec = importlib.util.module_from_spec(_module)
_module.loader.exec_module(publish_spec)

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--window-size=1400,1000",
]
# second layer: a proxy nobody listens on (also for loopback), and no host name resolves
NO_NETWORK_FLAGS = [
    "--proxy-server=127.0.0.1:9",
    "--proxy-bypass-list=<-loopback>",
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
]
# The one remote URL Redoc touches by itself: its attribution logo (an <img> that hides
# itself on error). Everything the page needs is inline.
ALLOWED_REMOTE = {
    "https://cdn.redoc.ly/redoc/logo-mini-full.svg",
    "https://cdn.redoc.ly/redoc/logo-mini.svg",
}
VIRTUAL_TIME_MS = 10_000
RUN_TIMEOUT_S = 60


# --------------------------------------------------------------------------- harness
def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None and Path("/usr/bin/chromium").exists():
        found = "/usr/bin/chromium"
    assert found, "Chromium is missing: `make chromium` installs it (`make test` does)"
    return found


@cache
def netns_prefix() -> tuple[str, ...]:
    """`unshare -n` when this machine lets us create a network namespace."""
    unshare = shutil.which("unshare")
    if unshare:
        probe = subprocess.run([unshare, "-n", "true"], capture_output=True, check=False)
        if probe.returncode == 0:
            return (unshare, "-n")
    return ()


@dataclass
class Rendered:
    url: str
    dom: str
    requests: list[dict[str, Any]]  # http(s) requests the page started, from the net log
    console: str  # what the page wrote to the console

    @property
    def markup(self) -> str:
        return strip_scripts(self.dom)


def strip_scripts(text: str) -> str:
    text = re.sub(r"<script\b[^>]*>.*?</script>", "", text, flags=re.I | re.S)
    return re.sub(r"<style\b[^>]*>.*?</style>", "", text, flags=re.I | re.S)


def page_requests(net_log: Path) -> list[dict[str, Any]]:
    """URL requests started by a page (not by the browser itself) and how each ended."""
    log = json.loads(net_log.read_text(encoding="utf-8"))
    names = {v: k for k, v in log["constants"]["logEventTypes"].items()}
    started: dict[int, dict[str, Any]] = {}
    for event in log["events"]:
        if names.get(event["type"]) != "URL_REQUEST_START_JOB":
            continue
        params, source = event.get("params", {}), event["source"]["id"]
        if "url" in params:
            if params["url"].startswith(("http:", "https:", "ws:", "wss:")):
                # the browser's own requests (component updater, network time) have no origin
                if params.get("initiator") != "not an origin":
                    started[source] = {"url": params["url"], "net_error": None}
        elif source in started and "net_error" in params:
            started[source]["net_error"] = params["net_error"]
    return list(started.values())


def render(url: str, tmp: Path, *, cut_network: bool = True) -> Rendered:
    """Open `url` in headless Chromium and return the DOM after its scripts ran."""
    tmp.mkdir(parents=True, exist_ok=True)
    net_log = tmp / "net-log.json"
    command = [
        *(netns_prefix() if cut_network else ()),
        chromium(),
        *CHROMIUM_FLAGS,
        *(NO_NETWORK_FLAGS if cut_network else []),
        f"--user-data-dir={tmp / 'profile'}",
        f"--log-net-log={net_log}",
        f"--virtual-time-budget={VIRTUAL_TIME_MS}",
        "--enable-logging=stderr",
        "--v=0",
        "--dump-dom",
        url,
    ]
    result = subprocess.run(
        command, capture_output=True, text=True, timeout=RUN_TIMEOUT_S, check=False
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "<html" in result.stdout, f"no DOM for {url}: {result.stderr[-3000:]}"
    # console messages of the page (not of the browser's own pages), which may span lines
    console = "\n".join(
        message
        for message, source in re.findall(
            r':CONSOLE[^\]]*\] "(.*?)", source: (\S+)', result.stderr, flags=re.S
        )
        if source.startswith("file:")
    )
    return Rendered(url, result.stdout, page_requests(net_log), console)


# --------------------------------------------------------------------------- the page
class Headings(HTMLParser):
    """Text and link targets of every <h1>/<h2> in a document."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[str, str, list[str]]] = []
        self._open: tuple[str, list[str], list[str]] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("h1", "h2") and self._open is None:
            self._open = (tag, [], [])
        elif tag == "a" and self._open is not None:
            self._open[2].append(dict(attrs).get("href") or "")

    def handle_endtag(self, tag: str) -> None:
        if self._open is not None and tag == self._open[0]:
            name, text, hrefs = self._open
            self.found.append((name, " ".join("".join(text).split()), hrefs))
            self._open = None

    def handle_data(self, data: str) -> None:
        if self._open is not None:
            self._open[1].append(data)


def headings(markup: str) -> list[tuple[str, str, list[str]]]:
    parser = Headings()
    parser.feed(markup)
    return parser.found


def operations() -> Iterator[tuple[str, str, str, str]]:
    for path, item in SPEC["paths"].items():
        for method, op in item.items():
            if isinstance(op, dict) and "operationId" in op:
                yield op["operationId"], op["summary"], method.upper(), path


OPERATIONS = sorted(operations())
TAGS = "|".join(tag["name"] for tag in SPEC["tags"])


def anchor(op_id: str, method: str, path: str) -> str:
    """The operation's deep link: `#/<its tag>/<operationid>`."""
    return f"#/{SPEC['paths'][path][method.lower()]['tags'][0]}/{op_id.lower()}"


@pytest.fixture(scope="module")
def page() -> Path:
    """dist/spec/index.html, built here when `make docs` has not run."""
    if not PAGE.exists():
        subprocess.run(
            [sys.executable, str(ROOT / "tools" / "publish_spec.py"), str(PAGE.parent)],
            check=True,
            cwd=ROOT,
        )
    return PAGE


@pytest.fixture(scope="module")
def rendered(page: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Rendered]:
    """The overview and every operation's deep link, rendered offline (3 browsers at once)."""
    base = page.resolve().as_uri()
    targets = {"": base} | {
        op_id: base + anchor(op_id, method, path) for op_id, _, method, path in OPERATIONS
    }
    tmp = tmp_path_factory.mktemp("chromium")
    with ThreadPoolExecutor(max_workers=3) as pool:
        futures = {
            key: pool.submit(render, url, tmp / (key or "overview")) for key, url in targets.items()
        }
        return {key: future.result() for key, future in futures.items()}


def test_spec_covers_both_sides_and_server_time() -> None:
    assert len(OPERATIONS) == 17
    assert sum(path.startswith("/api/v2/copy-trading/follower/") for *_, path in OPERATIONS) == 7
    assert sum(path.startswith("/api/v2/copy-trading/leader/") for *_, path in OPERATIONS) == 9


def test_page_is_one_offline_file(page: Path) -> None:
    text = page.read_text(encoding="utf-8")
    markup = strip_scripts(text)
    assert not re.search(r"<(script|link|img|iframe)\b[^>]*\b(src|href)=\"(https?:)?//", markup)
    assert '<script type="module">' in text  # Redoc inlined, not loaded from its CDN
    assert '"routingStrategy":"hash"' in text  # deep links stay inside the file
    assert '"disableTelemetry":true' in text


def test_overview_renders(rendered: dict[str, Rendered]) -> None:
    overview = rendered[""]
    found = headings(overview.markup)
    h1 = [text for name, text, _ in found if name == "h1"]
    assert h1 and h1[0].startswith(SPEC["info"]["title"]), h1
    assert h1[0].endswith(f"({VERSION})"), h1  # the version, from info.version
    h2 = [text for name, text, _ in found if name == "h2"]
    assert {"Envelope", "Numbers", "Rate limits", "HTTP statuses", "Changelog"} <= set(h2), h2
    # The overview is also in the file's static (prerendered) markup; that Redoc's script
    # ran on it shows in the console: its banner, and no uncaught error.
    assert "Redoc" in overview.console, overview.console
    assert "Uncaught" not in overview.console, overview.console


def test_operation_pages_link_every_operation(rendered: dict[str, Rendered]) -> None:
    """The sidebar of an operation's page links every operation of its tag (Redoc expands
    the current tag's group only; an operation of several tags, as getServerTime, is in
    each group) and every tag's group."""
    anchors = {op_id: anchor(op_id, method, path) for op_id, _, method, path in OPERATIONS}
    tags = {
        op_id: SPEC["paths"][path][method.lower()]["tags"] for op_id, _, method, path in OPERATIONS
    }
    for op_id, link in anchors.items():
        tag = link.split("/")[1]
        expected = {f"#/{tag}/{other.lower()}" for other in anchors if tag in tags[other]}
        markup = rendered[op_id].markup
        links = set(re.findall(rf'href="(#/(?:{TAGS})/[a-z]+)"', markup))
        assert links == expected, f"{op_id}: sidebar links {links}"
        groups = set(re.findall(rf'href="#/({TAGS})"', markup))
        assert groups == set(TAGS.split("|")), f"{op_id}: tag groups {groups}"


@pytest.mark.parametrize(
    ("op_id", "summary", "method", "path"), OPERATIONS, ids=[o[0] for o in OPERATIONS]
)
def test_operation_renders_offline(
    rendered: dict[str, Rendered], op_id: str, summary: str, method: str, path: str
) -> None:
    shown = rendered[op_id]
    link = anchor(op_id, method, path)
    h2 = [(text, hrefs) for name, text, hrefs in headings(shown.markup) if name == "h2"]
    assert (summary, [link]) in h2, f"{op_id}: no heading {summary!r} in {h2}"
    # the request line Redoc shows for the operation
    assert re.search(rf">{method}</div>", shown.markup), f"{op_id}: no {method} tag"
    assert f">{html.escape(path)}</span>" in shown.markup, f"{op_id}: no path {path}"
    assert "Uncaught" not in shown.console, shown.console
    # rendered by the script: the static markup of the file has no such heading
    static = headings(strip_scripts(PAGE.read_text(encoding="utf-8")))
    assert (summary, [link]) not in [(t, h) for n, t, h in static if n == "h2"]


def test_page_fetches_nothing_it_needs(rendered: dict[str, Rendered]) -> None:
    attempted = [r for shown in rendered.values() for r in shown.requests]
    unexpected = {r["url"] for r in attempted} - ALLOWED_REMOTE
    assert not unexpected, f"the page fetched {unexpected}"
    # and whatever it tried did not get through
    assert all(r["net_error"] is not None and r["net_error"] < 0 for r in attempted), attempted


# --------------------------------------------------------------------------- the cut itself
class _Probe(BaseHTTPRequestHandler):
    hits: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        type(self).hits.append(self.path)
        body = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"  # noqa: E501
        self.send_response(200)
        self.send_header("Content-Type", "image/gif")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


def test_the_browser_cannot_reach_anything(tmp_path: Path) -> None:
    """Positive and negative control of the harness, on this machine's loopback only."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Probe)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        port = server.server_address[1]
        probe = tmp_path / "probe.html"
        probe.write_text(
            "<!doctype html><html><body><p id=result>pending</p><script>"
            "const img = new Image();"
            "img.onload = () => { result.textContent = 'reached'; };"
            "img.onerror = () => { result.textContent = 'blocked'; };"
            f"img.src = 'http://127.0.0.1:{port}/probe.gif';"
            "</script></body></html>",
            encoding="utf-8",
        )
        _Probe.hits.clear()
        open_run = render(probe.as_uri(), tmp_path / "open", cut_network=False)
        assert ">reached<" in open_run.dom, "the probe does not work even without the cut"
        assert _Probe.hits == ["/probe.gif"]

        _Probe.hits.clear()
        cut_run = render(probe.as_uri(), tmp_path / "cut")
        assert ">blocked<" in cut_run.dom
        assert _Probe.hits == [], "a request got through the cut"
        assert [r["net_error"] for r in cut_run.requests] != []
        assert all(r["net_error"] < 0 for r in cut_run.requests)
    finally:
        server.shutdown()
        server.server_close()


def test_the_cut_is_a_network_namespace() -> None:
    """On this kind of machine (root, util-linux) the cut is a real one, not only flags."""
    assert netns_prefix(), "unshare -n is not available: only the proxy flags cut the network"


# --------------------------------------------------------------------------- the release artifacts
def test_page_links_the_changelog(rendered: dict[str, Rendered]) -> None:
    """A "Changelog" section (the page's copy of the spec only) with CHANGELOG.md in it."""
    markup = rendered[""].markup
    heading = re.search(r"<h2\b[^>]*>(?:(?!</h2>).)*>Changelog<.*?</h2>", markup, re.S)
    assert heading, "no Changelog heading on the overview"
    following = re.compile(r"<h[12]\b").search(markup, heading.end())
    section = markup[heading.start() : following.start() if following else len(markup)]
    for name in ARTIFACTS - {"index.html"}:
        assert f'href="{name}"' in section, f"the Changelog section does not link {name}"
    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    versions = re.findall(r"^## \[(\d+\.\d+\.\d+)\]", changelog, re.M)
    assert VERSION in versions, "CHANGELOG.md has no section for info.version"
    shown = [text for name, text, _ in headings(section) if name == "h2"]
    assert shown[0] == "Changelog", shown
    # every version's heading, one level under the section (h4: below the page's h2/h3)
    h4 = [
        " ".join(re.sub(r"<[^>]+>", "", h).split())
        for h in re.findall(r"<h4\b[^>]*>(.*?)</h4>", section, re.S)
    ]
    assert h4 == re.findall(r"^## (.+)$", changelog, re.M), h4


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """tools/publish_spec.py run twice, into two folders, at the same time. The second
    holds what an earlier run wrote there (SHA256SUMS lists it) and a file of someone else."""
    folders = [tmp_path_factory.mktemp(f"publish-{n}") / "spec" for n in (1, 2)]
    folders[1].mkdir()
    (folders[1] / "old-artifact.json").write_text("{}", encoding="utf-8")
    (folders[1] / "notes.txt").write_text("mine", encoding="utf-8")
    (folders[1] / "SHA256SUMS").write_text(f"{'0' * 64}  old-artifact.json\n", encoding="utf-8")
    command = [sys.executable, str(ROOT / "tools" / "publish_spec.py")]
    with ThreadPoolExecutor(max_workers=2) as pool:
        runs = list(pool.map(
            lambda out: subprocess.run([*command, str(out)], cwd=ROOT, capture_output=True,
                                       text=True, timeout=300, check=False),
            folders,
        ))  # fmt: skip
    for run in runs:
        assert run.returncode == 0, run.stdout + run.stderr
    return folders[0], folders[1]


def test_publish_writes_every_artifact(published: tuple[Path, Path]) -> None:
    first, _ = published
    assert {path.name for path in first.iterdir()} == ARTIFACTS
    assert (first / "openapi.yaml").read_bytes() == (ROOT / "openapi.yaml").read_bytes()
    assert (first / "CHANGELOG.md").read_bytes() == (ROOT / "CHANGELOG.md").read_bytes()
    assert json.loads((first / "openapi.json").read_text(encoding="utf-8")) == SPEC


def test_publish_gives_the_same_bytes_twice(published: tuple[Path, Path]) -> None:
    first, second = published
    for name in sorted(ARTIFACTS):
        assert (first / name).read_bytes() == (second / name).read_bytes(), name


def test_publish_removes_only_what_an_earlier_run_listed(published: tuple[Path, Path]) -> None:
    _, second = published
    assert {path.name for path in second.iterdir()} == ARTIFACTS | {"notes.txt"}


def test_checksums_list_every_other_file_and_verify(published: tuple[Path, Path]) -> None:
    first, _ = published
    lines = (first / "SHA256SUMS").read_text(encoding="utf-8").splitlines()
    names = [line.split("  ", 1)[1] for line in lines]
    assert names == sorted(ARTIFACTS - {"SHA256SUMS"})
    assert all(re.fullmatch(r"[0-9a-f]{64}  \S+", line) for line in lines), lines
    check = subprocess.run(["sha256sum", "-c", "--strict", "SHA256SUMS"], cwd=first,
                           capture_output=True, text=True, check=False)  # fmt: skip
    assert check.returncode == 0, check.stdout + check.stderr
    assert check.stdout.count(": OK") == len(names)
    # and the check bites: one byte changed in one file
    tampered = first.parent / "tampered"
    shutil.copytree(first, tampered)
    (tampered / "openapi.json").write_bytes((first / "openapi.json").read_bytes() + b" ")
    check = subprocess.run(["sha256sum", "-c", "SHA256SUMS"], cwd=tampered,
                           capture_output=True, text=True, check=False)  # fmt: skip
    assert check.returncode != 0 and "openapi.json: FAILED" in check.stdout


def _keys(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield key
            yield from _keys(value)
    elif isinstance(node, list):
        for value in node:
            yield from _keys(value)


def _loose_ints(node: Any) -> Any:
    """Integers beyond 2**53 as a JavaScript tool sees them (a double)."""
    if isinstance(node, dict):
        return {key: _loose_ints(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_loose_ints(value) for value in node]
    if isinstance(node, int) and not isinstance(node, bool) and abs(node) > 2**53:
        return float(node)
    return node


def test_dereferenced_json_has_no_ref_and_agrees_with_redocly(
    published: tuple[Path, Path], tmp_path: Path
) -> None:
    deref = json.loads((published[0] / "openapi.deref.json").read_text(encoding="utf-8"))
    assert "$ref" not in set(_keys(deref))
    assert "$ref" in set(_keys(SPEC))  # the source does use references
    # an operation reads on its own: the schema behind the reference, in place
    leaders = deref["paths"]["/api/v2/copy-trading/follower/leaders"]["get"]
    schema = leaders["responses"]["200"]["content"]["application/json"]["schema"]
    # (the success envelope, the first choice beside the error envelope)
    assert schema["anyOf"][0]["allOf"][0] == SPEC["components"]["schemas"]["Envelope"]
    # int64 bounds stay exact (Redocly's own dereferencing rounds them through a double)
    assert deref["components"]["schemas"]["LeaderUserIdParam"]["maximum"] == 2**63 - 1
    # otherwise it is what Redocly CLI's `bundle --dereferenced` gives (decorators aside)
    config = tmp_path / "redocly.yaml"
    config.write_text("extends:\n  - minimal\n", encoding="utf-8")
    target = tmp_path / "redocly-deref.json"
    result = subprocess.run(
        [str(ROOT / "node_modules" / ".bin" / "redocly"), "bundle", "openapi.yaml",
         "--dereferenced", "--ext", "json", "--config", str(config), "--output", str(target)],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    theirs = json.loads(target.read_text(encoding="utf-8"))
    assert _loose_ints(deref) == _loose_ints(theirs)


def test_the_spec_passes_the_style_lint_make_runs() -> None:
    """`make lint`'s Redocly run (redocly.yaml, its ignore file) in `make test` too: a spec
    change that only `make` would have refused fails here as well."""
    result = subprocess.run(
        [str(ROOT / "node_modules" / ".bin" / "redocly"), "lint", "openapi.yaml",
         "--config", "redocly.yaml", "--max-problems", "100"],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Woohoo! Your API description is valid" in result.stdout + result.stderr


def test_dereference_keeps_what_ref_siblings_say() -> None:
    document = {
        "a": {"type": "string", "description": "target", "maxLength": 9},
        "annotated": {"$ref": "#/a", "description": "here", "examples": ["x"]},
        "constrained": {"$ref": "#/a", "maxLength": 3},
        "plain": {"$ref": "#/a"},
        "escaped": {"$ref": "#/b~1c"},
        "b/c": [{"$ref": "#/a"}],
    }
    out = publish_spec.dereference(document)
    assert out["annotated"] == {"type": "string", "description": "here", "maxLength": 9,
                                "examples": ["x"]}  # fmt: skip
    assert out["constrained"] == {"allOf": [document["a"]], "maxLength": 3}
    assert out["plain"] == document["a"] and out["plain"] is not document["a"]
    assert out["escaped"] == [document["a"]]
    with pytest.raises(publish_spec.PublishError, match="recursive"):
        publish_spec.dereference({"a": {"items": {"$ref": "#/a"}}})
    with pytest.raises(publish_spec.PublishError, match="points at nothing"):
        publish_spec.dereference({"a": {"$ref": "#/missing"}})
    with pytest.raises(publish_spec.PublishError, match="only references inside"):
        publish_spec.dereference({"a": {"$ref": "other.yaml#/a"}})


def test_typescript_types_are_published(published: tuple[Path, Path]) -> None:
    text = (published[0] / "openapi.d.ts").read_text(encoding="utf-8")
    assert text.startswith("/**\n * This file was auto-generated by openapi-typescript.")
    for op_id, *_ in OPERATIONS:
        assert f'operations["{op_id}"]' in text, op_id


def test_changes_report_is_against_the_previous_release(published: tuple[Path, Path]) -> None:
    def version(text: str) -> tuple[int, ...]:
        return tuple(int(part) for part in text.split("."))

    released = [p.parent.name for p in (ROOT / "spec-releases").glob("*/openapi.yaml")]
    earlier = [v for v in released if version(v) < version(VERSION)]
    assert earlier, "no release before info.version in spec-releases/"
    report = (published[0] / "changes.md").read_text(encoding="utf-8")
    previous = max(earlier, key=version)
    title = report.splitlines()[0]
    assert re.match(rf"# .*\b{re.escape(previous)} -> {re.escape(VERSION)}\b", title), title
