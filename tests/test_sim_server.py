"""The simulator as a real server (subprocess, uvicorn, 127.0.0.1, free port, --db file):
acknowledged writes survive kill -9; parallel config updates from threads leave exactly
one of the writes, never a mix, and readers never see a mix either; the drop fault
closes the socket without a response."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from test_sim_support import (
    CONFIG,
    CONFIG_EXAMPLE,
    CURRENT,
    DEMO_KEY,
    K7,
    K7_CONFIG,
    SECOND_KEY,
    STOP,
    STOP_EXAMPLE,
    compact,
    sign,
)

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def server(db: Path, *extra: str) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    port = free_port()
    cmd = [
        sys.executable, "-m", "toobit_follower_sim", "serve",
        "--host", "127.0.0.1", "--port", str(port), "--db", str(db),
        "--enable-admin", "--log-level", "warning", *extra,
    ]  # fmt: skip
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if proc.poll() is not None:
                out = proc.stdout.read().decode() if proc.stdout else ""
                raise AssertionError(f"server exited early:\n{out}")
            try:
                if httpx.get(f"{base}/api/v1/time", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError("server did not start")
            time.sleep(0.05)
        yield base, proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=10)
        if proc.stdout:
            proc.stdout.close()


def signed(
    client: httpx.Client,
    method: str,
    path: str,
    params: str = "",
    body: Any = None,
    key: str = DEMO_KEY,
) -> httpx.Response:
    raw = compact(body) if body is not None else b""
    query = "&".join(
        filter(None, [params, "recvWindow=10000", f"timestamp={int(time.time() * 1000)}"])
    )
    url = f"{path}?{query}&signature={sign(query.encode() + raw)}"
    return client.request(
        method, url, content=raw, headers={"X-BB-APIKEY": key, "Content-Type": "application/json"}
    )


def config_of(client: httpx.Client, leader: int, key: str) -> dict[str, Any]:
    resp = signed(client, "GET", CONFIG, f"leaderUserId={leader}", key=key)
    assert resp.status_code == 200, resp.text
    return dict(resp.json()["data"])


FOLLOW_CONFIG_PROPERTIES = yaml.safe_load((ROOT / "openapi.yaml").read_text())["components"][
    "schemas"
]["FollowConfig"]["properties"]


def shown(body: dict[str, Any]) -> dict[str, Any]:
    """What GET config shows for a stored update body: the properties FollowConfig declares."""
    out = {k: v for k, v in body.items() if k in FOLLOW_CONFIG_PROPERTIES}
    out["leaderUserId"] = str(out["leaderUserId"])
    return out


def variant(i: int) -> dict[str, Any]:
    """A valid K7 config where every field depends on i, so a mix is detectable."""
    return dict(
        K7_CONFIG,
        investAmount=f"{300 + i}",
        singlePlaceAmount=f"{30 + i % 7}",
        dailyMaxInvestAmount="0" if i % 2 else f"{40 + i}",
        leverage=f"{1 + i % 40}",
        maxInvestRate=f"0.{10 + i % 80}",
        stopProfitRate=f"0.{11 + i % 80}",
        stopLossRate=f"0.{12 + i % 80}",
        realInvestAmount=f"{300 + i}",
        stopLossDelay=i,
        isolatedReservedAmount=f"{i % 5}",
        followMarginType=i % 3,
        followSymbolIds=f"SYM{i}-SWAP-USDT",
        zeroSlippageSwitch=bool(i % 2),
    )


def test_acknowledged_writes_survive_kill_9(tmp_path: Path) -> None:
    db = tmp_path / "sim.db"
    with server(db) as (base, proc), httpx.Client(base_url=base, timeout=10) as client:
        fresh = client.get("/_sim/state").json()["digest"]
        for i in range(5):
            resp = signed(client, "PUT", CONFIG, body=variant(i), key=SECOND_KEY)
            assert resp.json() == {"code": 200, "msg": "success", "data": None}
        resp = signed(client, "PUT", STOP, body=STOP_EXAMPLE)
        assert resp.json()["code"] == 200
        acknowledged = client.get("/_sim/state").json()
        assert acknowledged["digest"] != fresh
        os.kill(proc.pid, signal.SIGKILL)  # no shutdown, no checkpoint
        proc.wait(timeout=10)
    assert (tmp_path / "sim.db-wal").exists() or db.exists()
    with server(db) as (base, _), httpx.Client(base_url=base, timeout=10) as client:
        after = client.get("/_sim/state").json()
        assert after == acknowledged  # same digest, same data: not re-seeded either
        assert config_of(client, K7, SECOND_KEY) == shown(variant(4))
        orders = signed(client, "GET", CURRENT).json()["data"]
        assert (orders[0]["stopProfitRate"], orders[0]["stopLossRate"]) == ("0.1", "0.2")
        # Reset goes back to the seed, and that too is durable.
        assert client.post("/_sim/reset").json()["data"]["digest"] == fresh


def test_parallel_config_updates_never_mix(tmp_path: Path) -> None:
    writers, per_writer = 6, 8
    bodies = {
        w * per_writer + j: variant(w * per_writer + j)
        for w in range(writers)
        for j in range(per_writer)
    }
    allowed = [shown(b) for b in bodies.values()]
    seed_view: dict[str, Any] = {}
    acknowledged: list[int] = []
    seen_by_readers: list[dict[str, Any]] = []
    errors: list[str] = []
    stop = threading.Event()

    with server(tmp_path / "par.db") as (base, _):
        with httpx.Client(base_url=base, timeout=10) as client:
            seed_view.update(config_of(client, K7, SECOND_KEY))
        allowed.append(seed_view)

        def writer(w: int) -> None:
            with httpx.Client(base_url=base, timeout=20) as client:
                for j in range(per_writer):
                    i = w * per_writer + j
                    resp = signed(client, "PUT", CONFIG, body=bodies[i], key=SECOND_KEY)
                    if resp.json().get("code") == 200:
                        acknowledged.append(i)
                    else:
                        errors.append(resp.text)

        def reader() -> None:
            with httpx.Client(base_url=base, timeout=20) as client:
                while not stop.is_set():
                    seen_by_readers.append(config_of(client, K7, SECOND_KEY))

        threads = [threading.Thread(target=writer, args=(w,)) for w in range(writers)]
        readers = [threading.Thread(target=reader) for _ in range(2)]
        for t in threads + readers:
            t.start()
        for t in threads:
            t.join(timeout=60)
        stop.set()
        for t in readers:
            t.join(timeout=60)

        with httpx.Client(base_url=base, timeout=10) as client:
            final = config_of(client, K7, SECOND_KEY)
            state = client.get("/_sim/state").json()["state"]

    assert errors == []
    assert sorted(acknowledged) == sorted(bodies)
    assert final in [shown(bodies[i]) for i in acknowledged]  # exactly one write, whole
    stored = next(f for f in state["follows"] if f["leaderUserId"] == K7)["config"]
    assert stored["realInvestAmount"] == final["investAmount"]  # the hidden field too
    assert seen_by_readers and all(view in allowed for view in seen_by_readers)


def test_drop_fault_closes_the_socket(tmp_path: Path) -> None:
    with (
        server(tmp_path / "drop.db") as (base, _),
        httpx.Client(base_url=base, timeout=10) as client,
    ):
        assert (
            client.post("/_sim/faults", content=json.dumps({"faults": "drop=1"})).status_code == 200
        )
        before = client.get("/_sim/state").json()["digest"]
        # the socket closes with no response: httpx sees either the early EOF or a reset,
        # depending on whether the request was fully written first
        with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
            signed(client, "PUT", CONFIG, body=CONFIG_EXAMPLE)
        client.post("/_sim/faults", content=json.dumps({"faults": "html502=1"}))
        page = signed(client, "GET", CURRENT)
        assert page.status_code == 502 and "text/html" in page.headers["content-type"]
        assert page.headers["x-api-limit"] == "3000"
        client.post("/_sim/faults", content=json.dumps({"faults": ""}))
        assert client.get("/_sim/state").json()["digest"] == before
        assert signed(client, "GET", CURRENT).status_code == 200
