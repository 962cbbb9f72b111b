"""Client overhead per call on an in-process fake transport: ours vs hand-written baselines.

    .venv/bench/bin/python bench/bench_client.py [--rounds N]     (needs ccxt: make bench)

No network: every client gets canned response bytes from a fake transport, so what is
measured is the client's own CPU per call — build the URL with timestamp and
recvWindow, sign, send through the HTTP library, parse, check the code.

Candidates, each on its own library's fake transport:
* ours: FollowerClient / AsyncFollowerClient (typed pydantic models, Decimal money);
* baseline httpx: the least a client can do (httpx + hmac + json.loads + code check);
  for the history page it also turns the money fields into Decimal (hand-built), and
  a second variant parses the page with the generated pydantic model once;
* requests: a hand-written requests.Session client of the kind the exchange's demo
  SDK is, with a canned adapter, trust_env at its default (True) and False;
* ccxt: ccxt.toobit's own signed-request path (`request()` -> `fetch2` -> its toobit
  `sign()` -> its requests session, canned adapter mounted; rate limiter off, since
  its sleep is not CPU) with the API URL pointed at the fake host. ccxt returns the
  raw dict (strings), no Decimal.

Every candidate's request is checked once against the signing rule before timing.
Writes bench/results/client.md and client.json.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import time
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

import httpx
import requests
from _common import (
    DEMO_API_KEY,
    DEMO_SECRET,
    LEADER_ID,
    Candidate,
    Headline,
    interleaved,
    machine_line,
    ratio,
    run_async,
    spec_example,
    us,
    verdict,
    write_results,
)
from requests.adapters import BaseAdapter
from toobit_follower import AsyncFollowerClient, FollowerClient
from toobit_follower._base_client import without_cookie_jar
from toobit_follower_models import HistoryOrdersResponse
from toobit_follower_models.protocol import (
    API_KEY_HEADER,
    DEFAULT_RECV_WINDOW,
    RATE_LIMIT_HEADER,
    RATE_LIMIT_RESET_HEADER,
    RATE_LIMIT_STATUS_HEADER,
    SUCCESS_CODE,
)

BASE = "http://fake.toobit.invalid"
CONFIG_PATH = "/api/v2/copy-trading/follower/config"
HISTORY_PATH = "/api/v2/copy-trading/follower/orders/history"
SECRET = DEMO_SECRET.encode()
SIGNED = f"&recvWindow={DEFAULT_RECV_WINDOW}&timestamp="  # what each call appends to its query

CONFIG_RESPONSE = spec_example("getFollowConfig", status="200")
CONFIG_BODY = json.dumps(CONFIG_RESPONSE, separators=(",", ":")).encode()

HISTORY_MONEY = (
    "leverage",
    "openAvgPrice",
    "closeAvgPrice",
    "maxPositionQuantity",
    "closedQuantity",
    "realizedProfit",
)


def _history_body(rows: int) -> bytes:
    items = []
    for i in range(rows):
        items.append(
            {
                "symbolId": ("BTC-SWAP-USDT", "ETH-SWAP-USDT", "SOL-SWAP-USDT")[i % 3],
                "positionType": 1,
                "leverage": str(5 + i % 20),
                "isLong": i % 2,
                "leaderNickname": "S5",
                "leaderAvatar": "https://static.example.com/avatar.png",
                "openTimeMs": str(1717200000000 - i * 3600000),
                "lastCloseTimeMs": str(1717203600000 - i * 3600000),
                "openAvgPrice": f"{6805 + i}.{i % 100:02d}",
                "closeAvgPrice": f"{7100 + i}.5",
                "maxPositionQuantity": f"0.{i + 1:04d}",
                "closedQuantity": f"0.{i + 1:04d}",
                "realizedProfit": f"{'-' if i % 3 == 0 else ''}{i}.{i % 97:02d}",
                "closeStatus": 2,
            }
        )
    body = {
        "code": SUCCESS_CODE,
        "msg": "success",
        "data": {"pages": "7", "total": "700", "list": items},
    }
    return json.dumps(body, separators=(",", ":")).encode()


HISTORY_BODY = _history_body(100)
BODIES = {CONFIG_PATH: CONFIG_BODY, HISTORY_PATH: HISTORY_BODY}
HEADERS = {
    "content-type": "application/json",
    RATE_LIMIT_STATUS_HEADER.lower(): "2999",
    RATE_LIMIT_HEADER.lower(): "3000",
    RATE_LIMIT_RESET_HEADER.lower(): "1717200060000",
}


def check_signature(method: str, url: str, headers: Any, body: bytes | None) -> None:
    """The signing rule, as the exchange states it; raises on a wrong request."""
    query = urlsplit(url).query
    unsigned, sep, signature = query.rpartition("&signature=")
    if not sep or "timestamp=" not in unsigned:
        raise AssertionError(f"{method} {url}: no timestamp/signature")
    expected = hmac.new(SECRET, unsigned.encode() + (body or b""), hashlib.sha256).hexdigest()
    if signature != expected:
        raise AssertionError(f"{method} {url}: bad signature")
    if headers.get(API_KEY_HEADER) != DEMO_API_KEY:
        raise AssertionError(f"{method} {url}: no key header")


# ---- fake transports --------------------------------------------------------------
class Checks:
    """Counts requests checked against the signing rule (the first few of each client)."""

    remaining = 0


def httpx_handler(request: httpx.Request) -> httpx.Response:
    if Checks.remaining:
        Checks.remaining -= 1
        check_signature(request.method, str(request.url), request.headers, request.content)
    return httpx.Response(200, content=BODIES[request.url.path], headers=HEADERS)


class CannedAdapter(BaseAdapter):
    """A requests transport adapter answering canned bytes, like httpx.MockTransport."""

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        body = request.body.encode() if isinstance(request.body, str) else request.body
        if Checks.remaining:
            Checks.remaining -= 1
            check_signature(request.method or "", request.url or "", request.headers, body)
        response = requests.Response()
        response.status_code = 200
        response.reason = "OK"
        response._content = BODIES[urlsplit(request.url).path]
        response.headers.update(HEADERS)
        response.url = request.url or ""
        response.request = request
        return response

    def close(self) -> None:
        pass


# ---- hand-written baselines -----------------------------------------------------------
class HttpxBaseline:
    """The least a client can do: URL with recvWindow/timestamp, HMAC, send, json.loads,
    check code. The URL is absolute, so httpx does not merge it with a base_url."""

    def __init__(self) -> None:
        self.http = httpx.Client(transport=httpx.MockTransport(httpx_handler))
        self.headers = {API_KEY_HEADER: DEMO_API_KEY}
        self.prefix = BASE

    def get_bytes(self, path: str, query: str) -> bytes:
        q = f"{query}{SIGNED}{int(time.time() * 1000)}"
        sig = hmac.new(SECRET, q.encode(), hashlib.sha256).hexdigest()
        url = f"{self.prefix}{path}?{q}&signature={sig}"
        return self.http.get(url, headers=self.headers).content

    def get(self, path: str, query: str) -> Any:
        body = json.loads(self.get_bytes(path, query))
        if body["code"] != SUCCESS_CODE:
            raise RuntimeError(body)
        return body["data"]


class HttpxNoCookiesBaseline(HttpxBaseline):
    """The baseline with the overlay's one httpx-level saving (no cookie jar), so the
    two are compared like for like."""

    def __init__(self) -> None:
        super().__init__()
        without_cookie_jar(self.http)


class HttpxBaseUrlBaseline(HttpxBaseline):
    """The same written the usual way: a client with base_url, relative paths (httpx
    parses and merges the URL on each call)."""

    def __init__(self) -> None:
        self.http = httpx.Client(base_url=BASE, transport=httpx.MockTransport(httpx_handler))
        self.headers = {API_KEY_HEADER: DEMO_API_KEY}
        self.prefix = ""


def pydantic_page(content: bytes) -> Any:
    """The generated model parses the page once (Decimals, patterns, lengths checked)."""
    envelope = HistoryOrdersResponse.model_validate_json(content)
    if envelope.code != SUCCESS_CODE:
        raise RuntimeError(envelope)
    return envelope.data


class AsyncHttpxBaseline:
    def __init__(self) -> None:
        self.http = httpx.AsyncClient(transport=httpx.MockTransport(httpx_handler))
        self.headers = {API_KEY_HEADER: DEMO_API_KEY}

    async def get(self, path: str, query: str) -> Any:
        q = f"{query}{SIGNED}{int(time.time() * 1000)}"
        sig = hmac.new(SECRET, q.encode(), hashlib.sha256).hexdigest()
        url = f"{BASE}{path}?{q}&signature={sig}"
        response = await self.http.get(url, headers=self.headers)
        body = json.loads(response.content)
        if body["code"] != SUCCESS_CODE:
            raise RuntimeError(body)
        return body["data"]


class RequestsBaseline:
    """The shape of the exchange's demo SDK: requests.Session, urlencode, hmac, json."""

    def __init__(self, trust_env: bool) -> None:
        self.session = requests.Session()
        self.session.trust_env = trust_env
        self.session.mount("http://", CannedAdapter())
        self.session.headers[API_KEY_HEADER] = DEMO_API_KEY

    def get(self, path: str, query: str) -> Any:
        q = f"{query}{SIGNED}{int(time.time() * 1000)}"
        sig = hmac.new(SECRET, q.encode(), hashlib.sha256).hexdigest()
        response = self.session.get(f"{BASE}{path}?{q}&signature={sig}")
        body = response.json()
        if body["code"] != SUCCESS_CODE:
            raise RuntimeError(body)
        return body["data"]


def decimals(page: dict[str, Any]) -> dict[str, Any]:
    """A history page's money fields as Decimal, by hand."""
    for row in page["list"]:
        for name in HISTORY_MONEY:
            row[name] = Decimal(row[name])
    return page


def make_ccxt() -> Any:
    import ccxt

    exchange = ccxt.toobit(
        {"apiKey": DEMO_API_KEY, "secret": DEMO_SECRET, "enableRateLimit": False}
    )
    exchange.urls["api"]["private"] = BASE
    exchange.session.mount("http://", CannedAdapter())
    return exchange


# ---- the run ------------------------------------------------------------------------
def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--seconds", type=float, default=0.25, help="CPU per candidate per round")
    args = parser.parse_args()

    ours = FollowerClient(
        DEMO_API_KEY, DEMO_SECRET, base_url=BASE, transport=httpx.MockTransport(httpx_handler)
    )
    ours_async = AsyncFollowerClient(
        DEMO_API_KEY, DEMO_SECRET, base_url=BASE, transport=httpx.MockTransport(httpx_handler)
    )
    base = HttpxBaseline()
    base_url_variant = HttpxBaseUrlBaseline()
    base_nocookies = HttpxNoCookiesBaseline()
    base_async = AsyncHttpxBaseline()
    req_env = RequestsBaseline(trust_env=True)
    req_noenv = RequestsBaseline(trust_env=False)
    cx = make_ccxt()
    loop = asyncio.new_event_loop()
    batch = 50

    cfg_q = f"leaderUserId={LEADER_ID}"
    hist_q = "page=1&size=100"
    config_candidates = [
        Candidate("ours (sync)", lambda: ours.get_follow_config(LEADER_ID)),
        Candidate("baseline httpx (sync)", lambda: base.get(CONFIG_PATH, cfg_q)),
        Candidate("httpx with base_url (sync)", lambda: base_url_variant.get(CONFIG_PATH, cfg_q)),
        Candidate(
            "baseline httpx, no cookie jar (sync)",
            lambda: base_nocookies.get(CONFIG_PATH, cfg_q),
        ),
        Candidate(
            "ours (async)",
            run_async(loop, lambda: ours_async.get_follow_config(LEADER_ID), batch),
            batch,
        ),
        Candidate(
            "baseline httpx (async)",
            run_async(loop, lambda: base_async.get(CONFIG_PATH, cfg_q), batch),
            batch,
        ),
        Candidate("requests, trust_env=True", lambda: req_env.get(CONFIG_PATH, cfg_q)),
        Candidate("requests, trust_env=False", lambda: req_noenv.get(CONFIG_PATH, cfg_q)),
        Candidate(
            "ccxt.toobit request()",
            lambda: cx.request(CONFIG_PATH[1:], ["private"], "GET", {"leaderUserId": LEADER_ID}),
        ),
    ]
    history_candidates = [
        Candidate("ours (sync)", lambda: ours.list_history_orders(1, 100)),
        Candidate(
            "baseline httpx + Decimal (sync)", lambda: decimals(base.get(HISTORY_PATH, hist_q))
        ),
        Candidate(
            "baseline httpx + pydantic once (sync)",
            lambda: pydantic_page(base.get_bytes(HISTORY_PATH, hist_q)),
        ),
        Candidate(
            "ours (async)",
            run_async(loop, lambda: ours_async.list_history_orders(1, 100), batch),
            batch,
        ),
        Candidate(
            "baseline httpx + Decimal (async)",
            run_async(loop, lambda: _async_decimals(base_async.get(HISTORY_PATH, hist_q)), batch),
            batch,
        ),
        Candidate(
            "requests + Decimal, trust_env=False",
            lambda: decimals(req_noenv.get(HISTORY_PATH, hist_q)),
        ),
        Candidate(
            "ccxt.toobit request() (raw dict, no Decimal)",
            lambda: cx.request(HISTORY_PATH[1:], ["private"], "GET", {"page": 1, "size": 100}),
        ),
    ]

    # Correctness first: every candidate's first requests pass the signing check, and
    # the results hold what the canned bodies say.
    for c in config_candidates + history_candidates:
        Checks.remaining = 1
        c.fn()
        if Checks.remaining:
            raise AssertionError(f"{c.name}: its request was not checked")
    assert ours.get_follow_config(LEADER_ID).leverage == Decimal("20")
    page = ours.list_history_orders(1, 100)
    assert len(page.list_) == 100 and isinstance(page.list_[0].realized_profit, Decimal)
    assert decimals(base.get(HISTORY_PATH, hist_q))["list"][1]["openAvgPrice"] == Decimal("6806.01")

    config = interleaved(config_candidates, args.rounds, args.seconds)
    history = interleaved(history_candidates, args.rounds, args.seconds)
    loop.close()

    def table(series: dict[str, Any], base_name: str) -> list[str]:
        rows = ["| client | CPU per call (median) | ratio to baseline |", "|---|---|---|"]
        for name, s in series.items():
            rows.append(f"| {name} | {us(s.median)} | {ratio(series, name, base_name):.2f}x |")
        return rows

    cfg_sync = ratio(config, "ours (sync)", "baseline httpx (sync)")
    cfg_async = ratio(config, "ours (async)", "baseline httpx (async)")
    cfg_nocookies = ratio(config, "ours (sync)", "baseline httpx, no cookie jar (sync)")
    cfg_vs_ccxt = ratio(config, "ours (sync)", "ccxt.toobit request()")
    hist_sync = ratio(history, "ours (sync)", "baseline httpx + Decimal (sync)")
    hist_async = ratio(history, "ours (async)", "baseline httpx + Decimal (async)")
    hist_pyd = ratio(history, "ours (sync)", "baseline httpx + pydantic once (sync)")
    headlines = [
        Headline(
            "client overhead",
            "get_follow_config, ours / httpx baseline (sync)",
            f"{cfg_sync:.3f}x",
            "<= 1.05x",
            cfg_sync <= 1.05,
        ),
        Headline(
            "client overhead",
            "get_follow_config, ours / httpx baseline (async)",
            f"{cfg_async:.3f}x",
            "<= 1.05x",
            cfg_async <= 1.05,
        ),
        Headline(
            "client overhead",
            "get_follow_config, ours / httpx baseline without a cookie jar either (sync)",
            f"{cfg_nocookies:.3f}x",
            "<= 1.05x",
            cfg_nocookies <= 1.05,
        ),
        Headline(
            "client overhead",
            "get_follow_config, ours / ccxt.toobit (sync)",
            f"{cfg_vs_ccxt:.3f}x",
            "<= 1.00x",
            cfg_vs_ccxt <= 1.0,
        ),
        Headline(
            "client overhead",
            "100-row history page, ours / httpx + json.loads + Decimal (sync)",
            f"{hist_sync:.3f}x",
            "<= 1.3x",
            hist_sync <= 1.3,
        ),
        Headline(
            "client overhead",
            "100-row history page, ours / httpx + json.loads + Decimal (async)",
            f"{hist_async:.3f}x",
            "<= 1.3x",
            hist_async <= 1.3,
        ),
        Headline(
            "client overhead",
            "100-row history page, ours / httpx + pydantic once (sync)",
            f"{hist_pyd:.3f}x",
            "",
            None,
        ),
    ]
    md = [
        "# Client overhead per call (in-process fake transport)",
        "",
        machine_line("httpx", "pydantic", "requests", "ccxt", "toobit-follower"),
        f"CPU time per call (time.process_time over a calibrated loop of about {args.seconds} s),"
        f" median of {args.rounds} interleaved rounds; ratios are the median of per-round ratios."
        f" Async candidates make {batch} sequential awaited calls per loop run.",
        "",
        "## get_follow_config (one small object)",
        "",
        *table(config, "baseline httpx (sync)"),
        "",
        "Ratios in this table are to the sync httpx baseline; the async client against the async"
        f" baseline: {cfg_async:.2f}x. The baselines pass httpx an absolute URL, the least"
        " httpx allows; *httpx with base_url* is the same code written the usual way"
        " (`client.get(path)` on a client with `base_url`), which makes httpx parse and merge"
        " the URL on every call. Our client builds its signed query without re-parsing the"
        " URL (`_auth.with_query`).",
        "",
        "## list_history_orders, 100 rows",
        "",
        *table(history, "baseline httpx + Decimal (sync)"),
        "",
        "Baselines: *httpx + Decimal* is json.loads plus `Decimal(...)` on the six money fields"
        " of each row (plain dicts, nothing validated); *httpx + pydantic once* parses the bytes"
        " with the generated `HistoryOrdersResponse` (what our client does, without the client"
        " around it). The goal is judged against the first. Async client against the async"
        f" baseline: {hist_async:.2f}x.",
        "",
        "The other clients: *requests* is a hand-written `requests.Session` client shaped like"
        " the exchange's demo SDK (urlencode, hmac, `response.json()`), on a canned transport"
        " adapter; `trust_env=True` (requests' default) makes every call look up proxy"
        " variables and `~/.netrc`. *ccxt.toobit* is ccxt's own toobit class (ccxt has no"
        " follower methods, but its `toobit.sign()` already does toobit's HMAC for GETs):"
        " `request(path, ['private'], 'GET', params)` runs ccxt's full path (`fetch2` ->"
        " `sign` -> `fetch` on its requests session with the same canned adapter, rate limiter"
        " off) and returns the raw dict with string amounts; building Decimals would add to"
        " it. Every candidate's first request is checked against the signing rule before"
        " timing.",
        "",
        "## Against the goals",
        "",
        "| figure | result | goal | verdict |",
        "|---|---|---|---|",
        *(f"| {h.figure} | {h.result} | {h.goal} | {verdict(h.met)} |" for h in headlines),
        "",
        "Reproduce: `make bench` (or `.venv/bench/bin/python bench/bench_client.py`).",
    ]
    write_results("client", md, headlines)
    ours.close()
    return 0


async def _async_decimals(page: Any) -> Any:
    return decimals(await page)


if __name__ == "__main__":
    raise SystemExit(main())
