"""The published reference page (dist/spec/index.html, `make docs`) renders offline.

Headless Chromium opens the page from disk with the network cut and dumps the DOM that
Redoc's JavaScript built. The page is one file with Redoc inlined; Redoc renders one
operation at a time around the current hash route, so each operation is opened by its
deep link (`index.html#/follower/<operationid>`), and its heading must be in the DOM
Redoc rendered (script bodies removed, and absent from the page's static markup).

How the network is cut: Chromium runs inside a new, empty network namespace
(`unshare -n`: no interface but a loopback that is down, so not even 127.0.0.1 of this
machine answers), and is also pointed at a dead proxy with every host name unresolvable,
as a second layer. `test_the_browser_cannot_reach_anything` proves the cut with a
server on this machine's loopback that the same browser setup cannot reach, while a
browser outside the cut can. Chromium's net log of every run lists what the page
tried to fetch; only Redoc's decorative attribution logo is allowed, and it must fail.
"""

from __future__ import annotations

import html
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
        op_id: f"{base}#/{SPEC['paths'][path][method.lower()]['tags'][0]}/{op_id.lower()}"
        for op_id, _, method, path in OPERATIONS
    }
    tmp = tmp_path_factory.mktemp("chromium")
    with ThreadPoolExecutor(max_workers=3) as pool:
        futures = {
            key: pool.submit(render, url, tmp / (key or "overview")) for key, url in targets.items()
        }
        return {key: future.result() for key, future in futures.items()}


def test_spec_covers_the_seven_follower_operations_and_server_time() -> None:
    assert len(OPERATIONS) == 8
    assert sum(path.startswith("/api/v2/copy-trading/follower/") for *_, path in OPERATIONS) == 7


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
    h2 = [text for name, text, _ in found if name == "h2"]
    assert {"Envelope", "Numbers", "Rate limits", "HTTP statuses"} <= set(h2), h2
    # The overview is also in the file's static (prerendered) markup; that Redoc's script
    # ran on it shows in the console: its banner, and no uncaught error.
    assert "Redoc" in overview.console, overview.console
    assert "Uncaught" not in overview.console, overview.console


def test_operation_pages_link_every_operation(rendered: dict[str, Rendered]) -> None:
    expected = {f"#/follower/{op_id.lower()}" for op_id, *_ in OPERATIONS}
    for op_id, *_ in OPERATIONS:
        links = set(re.findall(r'href="(#/follower/[a-z]+)"', rendered[op_id].markup))
        assert links == expected, f"{op_id}: sidebar links {links}"


@pytest.mark.parametrize(
    ("op_id", "summary", "method", "path"), OPERATIONS, ids=[o[0] for o in OPERATIONS]
)
def test_operation_renders_offline(
    rendered: dict[str, Rendered], op_id: str, summary: str, method: str, path: str
) -> None:
    shown = rendered[op_id]
    anchor = f"#/follower/{op_id.lower()}"
    h2 = [(text, hrefs) for name, text, hrefs in headings(shown.markup) if name == "h2"]
    assert (summary, [anchor]) in h2, f"{op_id}: no heading {summary!r} in {h2}"
    # the request line Redoc shows for the operation
    assert re.search(rf">{method}</div>", shown.markup), f"{op_id}: no {method} tag"
    assert f">{html.escape(path)}</span>" in shown.markup, f"{op_id}: no path {path}"
    assert "Uncaught" not in shown.console, shown.console
    # rendered by the script: the static markup of the file has no such heading
    static = headings(strip_scripts(PAGE.read_text(encoding="utf-8")))
    assert (summary, [anchor]) not in [(t, h) for n, t, h in static if n == "h2"]


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
