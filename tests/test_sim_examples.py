"""Every example on the exchange's follower page (and in openapi.yaml) against the fresh
default seed with the demo key: responses are exactly the page's, requests succeed
(the cancel example gets -120055: the demo follower holds the page's open position)."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from test_sim_support import (
    CONFIG,
    CURRENT,
    DEMO_KEY,
    NOW,
    SECRET,
    STOP,
    STOP_EXAMPLE,
    Sim,
    assert_error,
    compact,
    envelope_ok,
    sign,
)
from toobit_follower_sim import SimOptions, create_app

ROOT = Path(__file__).resolve().parents[1]
PAGE = (ROOT / "docs/reference/follower-endpoints.txt").read_text(encoding="utf-8")
SPEC = yaml.safe_load((ROOT / "openapi.yaml").read_text(encoding="utf-8"))


def page_examples() -> list[tuple[str, str, Any]]:
    """(method, path with query, JSON after it) for each `http` example block of the page."""
    found = []
    decoder = json.JSONDecoder()
    for match in re.finditer(r"^http\n(GET|PUT|DELETE) (\S+)\njson\n", PAGE, re.M):
        value, _ = decoder.raw_decode(PAGE, match.end())
        found.append((match.group(1), match.group(2), value))
    return found


EXAMPLES = page_examples()


def test_the_page_has_all_seven_examples() -> None:
    paths = {(m, p.split("?")[0]) for m, p, _ in EXAMPLES}
    assert len(EXAMPLES) == 7
    assert ("DELETE", "/api/v2/copy-trading/follower/leaders/123456789") in paths


@pytest.fixture
def sim() -> Any:
    s = Sim()
    yield s
    s.close()


@pytest.mark.parametrize(
    ("method", "target", "example"), EXAMPLES, ids=[f"{m} {p}" for m, p, _ in EXAMPLES]
)
def test_page_example(sim: Sim, method: str, target: str, example: Any) -> None:
    path, _, params = target.partition("?")
    if method == "GET":
        resp = sim.signed("GET", path, params)
        assert resp.status == 200
        assert resp.json == example  # exactly the page's response, envelope included
    elif method == "PUT":
        before = sim.state()
        resp = sim.signed("PUT", path, params, compact(example))
        assert resp.json == {"code": 200, "msg": "success", "data": None}
        assert resp.status == 200
        if path == CONFIG:
            # The example stores what the config example shows; nothing else changes.
            got = sim.signed("GET", CONFIG, "leaderUserId=123456789")
            shown = {k: v for k, v in example.items() if k != "realInvestAmount"}
            shown["leaderUserId"] = str(shown["leaderUserId"])
            assert envelope_ok(got) == shown
            assert sim.state() == before  # the example equals the seeded config
        else:
            orders = envelope_ok(sim.signed("GET", CURRENT))
            assert (orders[0]["stopProfitRate"], orders[0]["stopLossRate"]) == ("0.1", "0.2")
            assert sim.dump()["positions"][0]["stopLossDelay"] == 30
    else:
        before = sim.state()
        resp = sim.signed("DELETE", path, params)
        assert_error(
            resp,
            -120055,
            400,
            "The follower currently has copy position, cannot be removed.",
        )
        assert sim.state() == before


def spec_examples() -> list[tuple[str, str, Any, Any]]:
    """(operationId, method, request example or query, response example) from openapi.yaml,
    of the follower operations (the demo key's; the leader's: tests/test_sim_leader.py)."""
    out = []
    for path, item in SPEC["paths"].items():
        for method, op in item.items():
            if "leader" in op.get("tags", []):
                continue
            content = op["responses"]["200"]["content"]["application/json"]
            (response,) = content["examples"].values()
            request = None
            if "requestBody" in op:
                (req,) = op["requestBody"]["content"]["application/json"]["examples"].values()
                request = req["value"]
            query = [
                f"{p['name']}={p['example']}"
                for p in op.get("parameters", [])
                if "name" in p and p.get("in") == "query"
            ]
            target = path.replace("{leaderUserId}", "123456789")
            out.append(
                (
                    op["operationId"],
                    method.upper(),
                    target,
                    "&".join(query),
                    request,
                    response["value"],
                )
            )
    return out


@pytest.mark.parametrize(
    ("op_id", "method", "path", "query", "request_body", "response"),
    [e for e in spec_examples() if e[0] not in ("getServerTime", "cancelLeader")],
    ids=[e[0] for e in spec_examples() if e[0] not in ("getServerTime", "cancelLeader")],
)
def test_spec_example(
    sim: Sim, op_id: str, method: str, path: str, query: str, request_body: Any, response: Any
) -> None:
    resp = sim.signed(method, path, query, compact(request_body) if request_body else b"")
    assert resp.json == response
    assert resp.status == 200


def test_server_time_example_shape(sim: Sim) -> None:
    resp = sim.raw("GET", "/api/v1/time")
    assert resp.json == {"serverTime": NOW}


def test_spec_worked_signature_vectors_are_accepted(sim: Sim) -> None:
    # The signatures printed in openapi.yaml / basic-information.md, at their timestamp.
    sim.clock.now = 1717200000000 + 100
    key = [(b"x-bb-apikey", DEMO_KEY.encode())]
    get = sim.raw(
        "GET",
        CURRENT,
        b"recvWindow=5000&timestamp=1717200000000"
        b"&signature=e02e1a0c8de99db2ead6c144d587c54eb40feac513bdd0e5836a2e0a9fc2dec7",
        headers=key,
    )
    assert envelope_ok(get)[0]["symbolId"] == "BTC-SWAP-USDT"
    put = sim.raw(
        "PUT",
        STOP,
        b"recvWindow=5000&timestamp=1717200000000"
        b"&signature=13b95ea365da7ccdd64321878b741e02803cbc43073371f8fac0d8ef207e4d95",
        compact(STOP_EXAMPLE),
        headers=[*key, (b"content-type", b"application/json")],
    )
    assert envelope_ok(put) is None


def test_examples_through_httpx_asgi_transport() -> None:
    """The same demo-key reads through a real HTTP client stack (httpx, in process)."""
    app = create_app(options=SimOptions(validate_responses=True))

    async def run() -> list[Any]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://sim") as client:
            out = []
            for method, target, example in EXAMPLES:
                if method != "GET":
                    continue
                path, _, params = target.partition("?")
                ts = app.sim.now_ms()
                query = "&".join(filter(None, [params, f"timestamp={ts}"]))
                url = f"{path}?{query}&signature={sign(query.encode(), SECRET)}"
                resp = await client.get(url, headers={"X-BB-APIKEY": DEMO_KEY})
                out.append((resp.json(), example))
            return out

    pairs = asyncio.run(run())
    assert len(pairs) == 4
    for got, example in pairs:
        assert got == example
