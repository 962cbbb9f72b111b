"""The generated layer: both packages import, cover every operation, and the pydantic
models enforce the spec (examples parse, violations are rejected, money is Decimal); the
low-level client works against the simulator through ``client.generated``, signed by the
overlay's auth."""

from __future__ import annotations

import subprocess
import sys
import typing
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pydantic
import pytest
import toobit_follower_models as models
import yaml
from toobit_follower import AsyncFollowerClient, FollowerClient
from toobit_follower.signing import sign
from toobit_follower_sim.testing import (
    BASE_URL,
    DEMO_API_KEY,
    DEMO_API_SECRET,
    DEMO_LEADER_ID,
    SimExchange,
)

ROOT = Path(__file__).resolve().parent.parent
SPEC: dict[str, Any] = yaml.safe_load((ROOT / "openapi.yaml").read_text(encoding="utf-8"))

OPERATION_IDS = [
    op["operationId"]
    for path_item in SPEC["paths"].values()
    for method, op in path_item.items()
    if method in {"get", "put", "post", "delete", "patch"}
]


def _snake(name: str) -> str:
    return "".join("_" + c.lower() if c.isupper() else c for c in name).lstrip("_")


def _schema_name(ref: str) -> str:
    return ref.rsplit("/", 1)[-1]


def _response_examples() -> list[tuple[str, str, Any]]:
    """(operationId/status/example name, schema name, value) for every JSON response example."""
    found = []
    responses = SPEC["components"]["responses"]
    for path_item in SPEC["paths"].values():
        for method, op in path_item.items():
            if method not in {"get", "put", "delete"}:
                continue
            for status, response in op["responses"].items():
                if "$ref" in response:
                    response = responses[_schema_name(response["$ref"])]
                media = response.get("content", {}).get("application/json")
                if not media:
                    continue
                # a 200 answer is the success envelope or the error envelope: the first
                schema = _schema_name(media["schema"].get("anyOf", [media["schema"]])[0]["$ref"])
                for name, example in media.get("examples", {}).items():
                    found.append((f"{op['operationId']}/{status}/{name}", schema, example["value"]))
    return found


RESPONSE_EXAMPLES = _response_examples()


def test_operation_ids_are_unique() -> None:
    assert OPERATION_IDS
    assert len(set(OPERATION_IDS)) == len(OPERATION_IDS)


@pytest.mark.parametrize("operation_id", OPERATION_IDS)
def test_every_operation_has_its_generated_methods(operation_id: str) -> None:
    """The client layer is generated per tag: a sync and an async method per operation
    (their with_raw_response twins: tests/test_generated_methods.py)."""
    from toobit_follower_api import api
    from toobit_follower_models.operations import BY_ID

    op = BY_ID[operation_id]
    name = op.extensions.get("x-python", {}).get("name", op.python_name)  # type: ignore[union-attr]
    for cls in (api.Operations, api.AsyncOperations):
        assert callable(getattr(cls, name)), f"{cls.__name__} lacks {name}"


def test_every_response_example_is_covered() -> None:
    # a success example per operation, plus the shared error examples
    count = len(OPERATION_IDS)
    assert len({key.split("/")[0] for key, _, _ in RESPONSE_EXAMPLES}) == count
    assert len(RESPONSE_EXAMPLES) >= count + 4


@pytest.mark.parametrize(
    ("where", "schema", "value"), RESPONSE_EXAMPLES, ids=[e[0] for e in RESPONSE_EXAMPLES]
)
def test_models_parse_every_response_example(where: str, schema: str, value: Any) -> None:
    model = getattr(models, schema)
    parsed = model.model_validate(value)
    # serialising back by alias gives the example again, byte for byte as JSON
    assert parsed.model_dump(mode="json", by_alias=True, exclude_unset=True) == value


def test_money_is_decimal_and_round_trips_as_the_same_string() -> None:
    raw = next(v for k, _, v in RESPONSE_EXAMPLES if k.startswith("listCurrentOrders/200"))
    orders = models.CurrentOrdersResponse.model_validate(raw).data
    order = orders[0]
    assert isinstance(order.mark_price, Decimal)
    assert order.mark_price == Decimal("7121.97")
    assert order.liquidation_price is None  # "" is not set (spec 2.0.0, issue 14)
    assert order.model_dump(mode="json", by_alias=True)["markPrice"] == "7121.97"
    assert order.model_dump(mode="json", by_alias=True)["liquidationPrice"] == ""
    # trailing zeros are kept: Decimal("10.50") is not collapsed to 10.5
    config = models.FollowConfigUpdate.model_validate({**_config_update(), "investAmount": "10.50"})
    assert config.model_dump(mode="json", by_alias=True)["investAmount"] == "10.50"
    assert (
        models.FollowConfigUpdate.model_validate_json(config.model_dump_json(by_alias=True))
        == config
    )


def _config_update() -> dict[str, Any]:
    body = SPEC["paths"]["/api/v2/copy-trading/follower/config"]["put"]["requestBody"]
    return dict(body["content"]["application/json"]["examples"]["followConfig"]["value"])


def _stop_update() -> dict[str, Any]:
    body = SPEC["paths"]["/api/v2/copy-trading/follower/positions/stop-profit-loss"]["put"][
        "requestBody"
    ]
    return dict(body["content"]["application/json"]["examples"]["stopProfitLoss"]["value"])


def test_request_examples_parse() -> None:
    assert models.FollowConfigUpdate.model_validate(_config_update()).leader_user_id == 123456789
    assert models.StopProfitLossUpdate.model_validate(_stop_update()).stop_loss_rate == Decimal(
        "0.2"
    )


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("investAmount", "1.123456789"),  # nine decimal places
        ("singlePlaceAmount", "-1"),  # negative amount
        ("maxInvestRate", "1.5"),  # above 1
        ("maxInvestRate", "-0.1"),
        ("followAmountMode", "<outside the enum>"),
        ("followMarginType", "<outside the enum>"),
        ("leaderUserId", 0),  # below 1
        ("stopLossDelay", -1),
        ("followSymbolIds", "all,BTC-SWAP-USDT"),  # all mixed with symbols
        ("followSymbolIds", "BTC-SWAP-USDT,,ETH-SWAP-USDT"),  # empty item
        ("followSymbolIds", ""),  # blank
        ("investAmount", "NaN"),
        ("zeroSlippageSwitch", "maybe"),
        ("unknownField", "1"),  # extra fields are refused
    ],
)
def test_config_update_rejects_what_the_spec_forbids(field: str, value: Any) -> None:
    if value == "<outside the enum>":  # one past the generated model's values
        (annotation,) = (
            info.annotation
            for info in models.FollowConfigUpdate.model_fields.values()
            if info.alias == field
        )
        value = max(typing.get_args(annotation)) + 1
    with pytest.raises(pydantic.ValidationError) as excinfo:
        models.FollowConfigUpdate.model_validate({**_config_update(), field: value})
    assert field in str(excinfo.value)


@pytest.mark.parametrize(
    "missing", SPEC["components"]["schemas"]["FollowConfigUpdate"].get("required", [])
)
def test_config_update_requires_every_required_field(missing: str) -> None:
    body = _config_update()
    del body[missing]
    with pytest.raises(pydantic.ValidationError):
        models.FollowConfigUpdate.model_validate(body)


@pytest.mark.parametrize(
    ("field", "value"),
    [("isLong", 2), ("stopProfitRate", "0.123456789"), ("symbolId", ""), ("symbolId", "x,y")],
)
def test_stop_update_rejects_what_the_spec_forbids(field: str, value: Any) -> None:
    with pytest.raises(pydantic.ValidationError):
        models.StopProfitLossUpdate.model_validate({**_stop_update(), field: value})


def test_stop_update_optional_fields_may_be_left_out() -> None:
    body = {k: v for k, v in _stop_update().items() if k in {"leaderUserId", "symbolId", "isLong"}}
    parsed = models.StopProfitLossUpdate.model_validate(body)
    assert parsed.stop_profit_rate is None
    assert parsed.model_dump(by_alias=True, exclude_none=True) == body


@pytest.mark.parametrize(("size", "ok"), [(0, False), (1, True), (100, True), (101, False)])
def test_history_query_bounds(size: int, ok: bool) -> None:
    if ok:
        assert models.ListHistoryOrdersParameters(size=size).size == size
    else:
        with pytest.raises(pydantic.ValidationError):
            models.ListHistoryOrdersParameters(size=size)
    defaults = models.ListHistoryOrdersParameters()
    assert (defaults.page, defaults.size, defaults.recv_window) == (1, 10, 5000)


def test_response_models_reject_broken_values() -> None:
    raw = next(v for k, _, v in RESPONSE_EXAMPLES if k.startswith("listCurrentOrders/200"))
    item = raw["data"][0]
    # (a JSON number for a decimal is accepted by the models in lax mode; see generator/README.md)
    # (spec 2.0.0, issue 14: an unknown isLong, "" and null decimals are answers it reads)
    for field, value in [
        ("isLong", "long"),
        ("markPrice", "abc"),
        ("markPrice", "1.2.3"),
        ("leaderUserId", "12a"),
    ]:
        with pytest.raises(pydantic.ValidationError):
            models.CurrentOrder.model_validate({**item, field: value})


def test_every_generated_file_names_its_source_and_command() -> None:
    files = sorted((ROOT / "generated").rglob("*.py"))
    # the models, our tables and the generated client methods (one module per tag)
    assert len(files) >= 8
    for path in files:
        head = path.read_text(encoding="utf-8").splitlines()[:3]
        assert head[0].startswith("# Generated by "), path
        assert "openapi.yaml (sha256 " in head[0], path
        assert "make generate" in head[1], path


def test_generated_headers_carry_the_current_spec_digest() -> None:
    import hashlib

    digest = hashlib.sha256((ROOT / "openapi.yaml").read_bytes()).hexdigest()
    header = (ROOT / "generated/toobit_follower_models/__init__.py").read_text(encoding="utf-8")
    assert digest in header.splitlines()[0]


# ---- what the client sends: signed over the exact body, the key only where signed ------
def _sim_client(mode: str, exchange: SimExchange) -> Any:
    cls = FollowerClient if mode == "sync" else AsyncFollowerClient
    transport = exchange.transport() if mode == "sync" else exchange.async_transport()
    return cls(
        DEMO_API_KEY,
        DEMO_API_SECRET,
        base_url=BASE_URL,
        transport=transport,
        clock=exchange.clock.time,
    )


def _assert_signed(request: httpx.Request) -> None:
    signed, _, signature = request.url.query.rpartition(b"&signature=")
    assert signature.decode() == sign(DEMO_API_SECRET, signed + request.content)
    assert request.url.params.get_list("recvWindow") == ["5000"]
    assert request.headers["X-BB-APIKEY"] == DEMO_API_KEY


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_reads_and_writes_are_signed_over_the_exact_body(mode: str) -> None:
    exchange = SimExchange()
    client = _sim_client(mode, exchange)
    update = {**_config_update(), "stopLossDelay": 45}
    fields = models.FollowConfigUpdate.model_validate(update)
    if mode == "sync":
        client.update_follow_config(fields)
        stored = client.get_follow_config(DEMO_LEADER_ID)
    else:
        await client.update_follow_config(fields)
        stored = await client.get_follow_config(DEMO_LEADER_ID)
    assert stored.stop_loss_delay == 45
    put, get = exchange.requests
    assert put.method == "PUT" and put.headers["Content-Type"] == "application/json"
    for request in (put, get):
        _assert_signed(request)


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_an_unsigned_call_carries_no_api_key(mode: str) -> None:
    """GET /api/v1/time is public: neither a signature nor the key header goes with it
    (the generated low-level client's default header used to send the key)."""
    exchange = SimExchange()
    client = _sim_client(mode, exchange)
    result = client.server_time() if mode == "sync" else await client.server_time()
    assert isinstance(result, int)
    (request,) = exchange.requests
    assert "X-BB-APIKEY" not in request.headers
    assert b"signature=" not in request.url.query


def test_generated_code_passes_mypy_strict() -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--no-incremental",
            "generated/toobit_follower_api",
            "generated/toobit_follower_models",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
