"""generator/protocol_module.py: the wire protocol's constants (the API key header,
recvWindow's default and range, the production host, the rate-limit headers, the success
code) are read from openapi.yaml into toobit_follower_models.protocol; the client and the
simulator take them from there; a missing or malformed fact stops generation; and a spec
that changes them changes every layer (the drill at the end, run as a script in a
subprocess with the drill's generated packages first, as tests/test_spec_evolution.py does).
"""

from __future__ import annotations

import ast
import copy
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "generator"))

from protocol_module import ProtocolModuleError, render_protocol_module  # noqa: E402
from test_spec_evolution import _step, drill_environment  # noqa: E402

DRILL_TIMEOUT_S = 300
SPEC: dict[str, Any] = yaml.safe_load((ROOT / "openapi.yaml").read_text(encoding="utf-8"))
LIMIT_HEADERS = {
    "RATE_LIMIT_STATUS_HEADER": "XApiLimitStatus",
    "RATE_LIMIT_HEADER": "XApiLimit",
    "RATE_LIMIT_RESET_HEADER": "XApiLimitResetTimestamp",
}


def _response_headers(spec: dict[str, Any]) -> dict[str, set[str]]:
    """components.headers name -> the header names responses give it (paths and
    components.responses), read here on its own rather than with the generator's code."""
    responses = [
        response
        for item in spec["paths"].values()
        for operation in item.values()
        if isinstance(operation, dict)
        for response in operation.get("responses", {}).values()
    ]
    responses += list(spec["components"].get("responses", {}).values())
    found: dict[str, set[str]] = {}
    for response in responses:
        for name, header in response.get("headers", {}).items():
            ref = header.get("$ref", "")
            if ref.startswith("#/components/headers/"):
                found.setdefault(ref.rsplit("/", 1)[1], set()).add(name)
    return found


def _expected(spec: dict[str, Any]) -> dict[str, Any]:
    recv = spec["components"]["parameters"]["RecvWindow"]["schema"]
    headers = _response_headers(spec)
    expected = {
        "API_KEY_HEADER": spec["components"]["securitySchemes"]["ApiKey"]["name"],
        "DEFAULT_BASE_URL": spec["servers"][0]["url"],
        "DEFAULT_RECV_WINDOW": recv["default"],
        "MIN_RECV_WINDOW": recv["minimum"],
        "MAX_RECV_WINDOW": recv["maximum"],
        "SUCCESS_CODE": spec["components"]["schemas"]["ErrorCode"]["not"]["const"],
    }
    for python_name, component in LIMIT_HEADERS.items():
        (expected[python_name],) = headers[component]  # one spelling across responses
    return expected


def _rendered(spec: dict[str, Any]) -> dict[str, Any]:
    namespace: dict[str, Any] = {"__name__": "drill_protocol"}
    exec(compile(render_protocol_module(spec), "protocol.py", "exec"), namespace)
    return {name: namespace[name] for name in namespace["__all__"]}


# --------------------------------------------------------------------------- (a) the values
def test_every_generated_value_is_what_the_spec_says() -> None:
    from toobit_follower_models import protocol

    expected = _expected(SPEC)
    assert sorted(protocol.__all__) == sorted(expected)
    assert {name: getattr(protocol, name) for name in protocol.__all__} == expected
    # the spec's own words agree (a sanity check of the places read, not a second source)
    assert expected["API_KEY_HEADER"] == "X-BB-APIKEY"
    assert (expected["MIN_RECV_WINDOW"], expected["MAX_RECV_WINDOW"]) == (1, 60000)


def test_every_constant_is_final_with_a_docstring_naming_its_place() -> None:
    from toobit_follower_models import protocol

    tree = ast.parse(Path(protocol.__file__).read_text(encoding="utf-8"))
    documented: dict[str, str] = {}
    for node, after in zip(tree.body, tree.body[1:], strict=False):
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            assert ast.unparse(node.annotation) == "Final", node.target.id
            assert isinstance(after, ast.Expr) and isinstance(after.value, ast.Constant)
            documented[node.target.id] = str(after.value.value)
    assert sorted(documented) == sorted(protocol.__all__)
    places = {
        "API_KEY_HEADER": "components.securitySchemes.ApiKey.name",
        "DEFAULT_BASE_URL": "servers[0].url",
        "DEFAULT_RECV_WINDOW": "components.parameters.RecvWindow.schema.default",
        "MIN_RECV_WINDOW": "components.parameters.RecvWindow.schema.minimum",
        "MAX_RECV_WINDOW": "components.parameters.RecvWindow.schema.maximum",
        "SUCCESS_CODE": "components.schemas.ErrorCode.not.const",
        **{name: f"components.headers.{c}" for name, c in LIMIT_HEADERS.items()},
    }
    for name, place in places.items():
        assert place in documented[name], (name, documented[name])


def test_the_client_and_the_simulator_take_them_from_the_generated_module() -> None:
    import toobit_follower._base_client as core
    import toobit_follower.constants as public
    from toobit_follower_models import protocol
    from toobit_follower_sim import app

    for name in protocol.__all__:
        assert getattr(public, name) is getattr(protocol, name), name
        assert getattr(core.C, name) is getattr(protocol, name), name
    lowered = {
        app._API_KEY: protocol.API_KEY_HEADER,
        app._LIMIT_STATUS: protocol.RATE_LIMIT_STATUS_HEADER,
        app._LIMIT: protocol.RATE_LIMIT_HEADER,
        app._LIMIT_RESET: protocol.RATE_LIMIT_RESET_HEADER,
    }
    for wire, name in lowered.items():
        assert wire == name.lower().encode("ascii")
    assert app._OK == b'{"code":%d,"msg":"success","data":' % protocol.SUCCESS_CODE


def test_a_signed_call_carries_the_spec_s_headers_both_ways() -> None:
    from toobit_follower import FollowerClient
    from toobit_follower_models import protocol
    from toobit_follower_sim.testing import BASE_URL, DEMO_API_KEY, DEMO_API_SECRET, SimExchange

    exchange = SimExchange()
    try:
        client = FollowerClient(
            DEMO_API_KEY,
            DEMO_API_SECRET,
            base_url=BASE_URL,
            transport=exchange.transport(),
            clock=exchange.clock.time,
        )
        with client:
            _, response = client.with_raw_response.list_leaders()
        sent = exchange.requests[-1]
        assert sent.headers[protocol.API_KEY_HEADER] == DEMO_API_KEY
        assert sent.url.params["recvWindow"] == str(protocol.DEFAULT_RECV_WINDOW)
        for name in LIMIT_HEADERS:
            assert response.headers.get(getattr(protocol, name), "").isdigit(), name
        assert json.loads(response.content)["code"] == protocol.SUCCESS_CODE
        assert client.rate_limit is not None and client.rate_limit.reset_timestamp_ms
    finally:
        exchange.close()


# --------------------------------------------------------------------------- refusals
def _api_key(spec: dict[str, Any]) -> dict[str, Any]:
    return spec["components"]["securitySchemes"]["ApiKey"]


def _recv(spec: dict[str, Any]) -> dict[str, Any]:
    return spec["components"]["parameters"]["RecvWindow"]["schema"]


def _responses_naming(spec: dict[str, Any], component: str) -> list[dict[str, Any]]:
    """Every headers map, in paths and components.responses, that names the component."""
    maps = [
        response["headers"]
        for item in spec["paths"].values()
        for operation in item.values()
        if isinstance(operation, dict)
        for response in operation.get("responses", {}).values()
        if "headers" in response
    ] + [r["headers"] for r in spec["components"]["responses"].values() if "headers" in r]
    ref = f"#/components/headers/{component}"
    return [m for m in maps if any(h.get("$ref") == ref for h in m.values())]


def _respell_once(spec: dict[str, Any]) -> None:
    headers = _responses_naming(spec, "XApiLimit")[-1]
    headers["X-API-LIMIT"] = headers.pop("X-Api-Limit")


def _unnamed(spec: dict[str, Any]) -> None:
    for headers in _responses_naming(spec, "XApiLimitResetTimestamp"):
        del headers["X-Api-Limit-Reset-Timestamp"]


BROKEN: list[tuple[str, Callable[[dict[str, Any]], Any], str]] = [
    (
        "no-key-name",
        lambda s: _api_key(s).pop("name"),
        "components.securitySchemes.ApiKey.name is missing",
    ),
    (
        "key-in-query",
        lambda s: _api_key(s).update({"in": "query"}),
        "ApiKey.in must be header",
    ),
    (
        "key-name-not-a-token",
        lambda s: _api_key(s).update({"name": "X BB APIKEY"}),
        "ApiKey.name must be an HTTP header name",
    ),
    ("no-servers", lambda s: s.update({"servers": []}), "servers.0.url is missing"),
    (
        "relative-server",
        lambda s: s["servers"][0].update({"url": "api.toobit.com"}),
        "servers.0.url must be an absolute http(s) URL",
    ),
    (
        "server-trailing-slash",
        lambda s: s["servers"][0].update({"url": "https://api.toobit.com/"}),
        "servers.0.url must be a base URL",
    ),
    (
        "no-recv-maximum",
        lambda s: _recv(s).pop("maximum"),
        "components.parameters.RecvWindow.schema.maximum is missing",
    ),
    (
        "recv-default-above-maximum",
        lambda s: _recv(s).update({"maximum": 1000}),
        "0 < minimum <= default <= maximum must hold, got 1, 5000, 1000",
    ),
    (
        "recv-minimum-boolean",
        lambda s: _recv(s).update({"minimum": True}),
        "RecvWindow.schema.minimum must be an integer, got True",
    ),
    (
        "recv-default-string",
        lambda s: _recv(s).update({"default": "5000"}),
        "RecvWindow.schema.default must be an integer, got '5000'",
    ),
    (
        "limit-header-two-spellings",
        _respell_once,
        "responses name components.headers.XApiLimit differently: 'X-Api-Limit' in",
    ),
    (
        "limit-header-named-nowhere",
        _unnamed,
        "no response names a header for components.headers.XApiLimitResetTimestamp",
    ),
    (
        "limit-header-component-gone",
        lambda s: s["components"]["headers"].pop("XApiLimitStatus"),
        "components.headers.XApiLimitStatus is missing",
    ),
    (
        "no-success-code",
        lambda s: s["components"]["schemas"]["ErrorCode"].pop("not"),
        "components.schemas.ErrorCode.not.const is missing",
    ),
    (
        "key-header-is-a-limit-header",
        lambda s: _api_key(s).update({"name": "x-api-limit"}),
        "two protocol headers share a name",
    ),
]


@pytest.mark.parametrize(("change", "says"), [b[1:] for b in BROKEN], ids=[b[0] for b in BROKEN])
def test_a_missing_or_malformed_fact_is_refused(
    change: Callable[[dict[str, Any]], Any], says: str
) -> None:
    spec = copy.deepcopy(SPEC)
    change(spec)
    with pytest.raises(ProtocolModuleError) as raised:
        render_protocol_module(spec)
    assert says in str(raised.value)


def test_the_spec_as_it_is_renders_what_is_committed() -> None:
    assert _rendered(SPEC) == _expected(SPEC)
    assert render_protocol_module(SPEC) == render_protocol_module(copy.deepcopy(SPEC))


def test_generation_stops_on_a_malformed_fact(tmp_path: Path) -> None:
    spec = copy.deepcopy(SPEC)
    _respell_once(spec)
    spec_path = tmp_path / "openapi.yaml"
    spec_path.write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    result = _generate(spec_path, tmp_path / "generated")
    assert result.returncode != 0
    assert (
        "generator failed: responses name components.headers.XApiLimit differently" in result.stderr
    ), result.stdout + result.stderr
    assert not (tmp_path / "generated").exists()


def _generate(spec_path: Path, output: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "generator" / "generate.py"), "--spec", str(spec_path),
         "--output", str(output)],
        cwd=ROOT, capture_output=True, text=True, timeout=DRILL_TIMEOUT_S, check=False,
    )  # fmt: skip


# --------------------------------------------------------------------------- (c) the drill
# The changed facts: another API key header, a larger recvWindow maximum, and another name
# for the reset header in every response.
DRILL = {
    "api_key_header": "X-TB-APIKEY",
    "max_recv_window": 90000,
    "reset_header": "X-Api-Limit-Reset",
}


def evolve(spec: dict[str, Any], drill: dict[str, Any]) -> dict[str, Any]:
    """The change, on a copy of the parsed spec."""
    spec = copy.deepcopy(spec)
    assert _api_key(spec)["name"] != drill["api_key_header"]
    _api_key(spec)["name"] = drill["api_key_header"]
    assert _recv(spec)["maximum"] < drill["max_recv_window"]
    _recv(spec)["maximum"] = drill["max_recv_window"]
    for headers in _responses_naming(spec, "XApiLimitResetTimestamp"):
        (old,) = [n for n, h in headers.items() if h.get("$ref", "").endswith("ResetTimestamp")]
        headers[drill["reset_header"]] = headers.pop(old)
    return spec


def test_a_changed_spec_changes_the_constants_in_every_layer(tmp_path: Path) -> None:
    evolved = evolve(SPEC, DRILL)
    assert _rendered(evolved) == _expected(evolved) != _expected(SPEC)
    spec_path = tmp_path / "openapi.yaml"
    spec_path.write_text(yaml.safe_dump(evolved, sort_keys=False), encoding="utf-8")
    generate = _generate(spec_path, tmp_path / "generated")
    assert generate.returncode == 0, generate.stdout + generate.stderr
    script = subprocess.run(
        [sys.executable, str(Path(__file__)), json.dumps(DRILL)],
        cwd=tmp_path,
        env=drill_environment(tmp_path, spec_path),
        capture_output=True,
        text=True,
        timeout=DRILL_TIMEOUT_S,
        check=False,
    )
    assert script.returncode == 0, f"drill failed:\n{script.stdout}\n{script.stderr}"
    assert script.stdout.strip().endswith("drill: every layer reads the protocol from the spec")


# =========================================================================== the subprocess
def drill_main(drill: dict[str, Any]) -> None:
    import httpx
    import toobit_follower
    import toobit_follower.constants as constants
    import toobit_follower_models
    import toobit_follower_sim
    from toobit_follower import FollowerClient
    from toobit_follower_models import protocol
    from toobit_follower_models.errors import ErrorCode
    from toobit_follower_sim.testing import BASE_URL, DEMO_API_KEY, DEMO_API_SECRET, SimExchange

    here = Path(toobit_follower_models.__file__).resolve()
    assert here.is_relative_to(Path.cwd()), f"the repo's generated models were imported: {here}"
    for package in (toobit_follower, toobit_follower_sim):
        assert Path(package.__file__).resolve().is_relative_to(ROOT), package.__file__
    key_header, recv_max, reset = (
        drill["api_key_header"],
        drill["max_recv_window"],
        drill["reset_header"],
    )
    old_key_header = _api_key(SPEC)["name"]
    _step(f"generated packages from {here.parent.parent}")

    assert (protocol.API_KEY_HEADER, protocol.MAX_RECV_WINDOW) == (key_header, recv_max)
    assert protocol.RATE_LIMIT_RESET_HEADER == reset
    for name in protocol.__all__:
        assert getattr(constants, name) == getattr(protocol, name), name
    _step("toobit_follower.constants has the new header names and maximum")

    exchange = SimExchange()
    client = FollowerClient(
        DEMO_API_KEY,
        DEMO_API_SECRET,
        base_url=BASE_URL,
        transport=exchange.transport(),
        clock=exchange.clock.time,
        recv_window=recv_max,  # past the old maximum: refused by the old client
    )
    with client:
        _, response = client.with_raw_response.list_leaders()
    sent = exchange.requests[-1]
    assert sent.headers.get(key_header) == DEMO_API_KEY and old_key_header not in sent.headers
    assert sent.url.params["recvWindow"] == str(recv_max)
    assert response.headers.get(reset, "").isdigit()
    assert protocol.RATE_LIMIT_RESET_HEADER in response.headers
    assert "X-Api-Limit-Reset-Timestamp" not in response.headers
    assert client.rate_limit is not None
    assert client.rate_limit.reset_timestamp_ms == int(response.headers[reset])
    _step(f"the client signs with recvWindow={recv_max}, sends {key_header}, reads {reset}")

    def too_wide() -> None:
        with FollowerClient(
            DEMO_API_KEY,
            DEMO_API_SECRET,
            base_url=BASE_URL,
            transport=exchange.transport(),
            clock=exchange.clock.time,
            recv_window=recv_max + 1,
        ) as client:
            client.list_leaders()

    try:
        too_wide()
    except ValueError as exc:
        assert f"..{recv_max} ms" in str(exc), exc
    else:
        raise AssertionError(f"recvWindow {recv_max + 1} was not refused")
    _step(f"the client refuses recvWindow={recv_max + 1}")

    with httpx.Client(transport=exchange.transport(), base_url=BASE_URL) as raw:
        old = raw.get(
            "/api/v2/copy-trading/follower/leaders",
            params={"timestamp": "1", "signature": "0"},
            headers={old_key_header: DEMO_API_KEY},
        )
    assert old.json()["code"] == ErrorCode.UNAUTHORIZED, old.text
    assert reset in old.headers
    _step(f"the simulator reads the key from {key_header} only ({old_key_header}: -1002)")
    exchange.close()
    print("drill: every layer reads the protocol from the spec", flush=True)


if __name__ == "__main__":
    drill_main(json.loads(sys.argv[1]))
