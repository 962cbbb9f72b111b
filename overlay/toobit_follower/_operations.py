"""One function per API operation: build the request with the generated module's
``_get_kwargs`` and pick the pydantic model its success body is parsed with.

Shared by the sync and async clients; nothing here does I/O.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any, Generic, NamedTuple, Protocol, TypedDict, TypeVar
from urllib.parse import quote, urlencode

from pydantic import BaseModel
from toobit_follower_api.api.follower import (
    cancel_leader as _cancel_leader,
)
from toobit_follower_api.api.follower import (
    get_follow_config as _get_follow_config,
)
from toobit_follower_api.api.follower import (
    get_server_time as _get_server_time,
)
from toobit_follower_api.api.follower import (
    list_current_orders as _list_current_orders,
)
from toobit_follower_api.api.follower import (
    list_history_orders as _list_history_orders,
)
from toobit_follower_api.api.follower import (
    list_leaders as _list_leaders,
)
from toobit_follower_api.api.follower import (
    update_follow_config as _update_follow_config,
)
from toobit_follower_api.api.follower import (
    update_stop_profit_loss as _update_stop_profit_loss,
)
from toobit_follower_api.models.follow_config_update import (
    FollowConfigUpdate as _WireFollowConfigUpdate,
)
from toobit_follower_api.models.stop_profit_loss_update import (
    StopProfitLossUpdate as _WireStopProfitLossUpdate,
)
from toobit_follower_api.types import UNSET
from toobit_follower_models import (
    CurrentOrder,
    CurrentOrdersResponse,
    EmptyResponse,
    FollowConfig,
    FollowConfigResponse,
    FollowConfigUpdate,
    HistoryOrdersPage,
    HistoryOrdersResponse,
    Leader,
    LeadersResponse,
    ServerTime,
    StopProfitLossUpdate,
)

from ._constants import SUCCESS_CODE

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)


class SuccessEnvelope(Protocol[T_co]):
    """What a success parser returns: the envelope's ``code`` and its typed ``data``."""

    @property
    def code(self) -> int: ...

    @property
    def data(self) -> T_co: ...


Parser = Callable[[bytes], SuccessEnvelope[T]]


class Prepared(NamedTuple, Generic[T]):
    """A request ready to send, and how to read its success body."""

    method: str
    """Upper-case HTTP method."""
    path: str
    """URL path (no query): what errors and logs show."""
    target: str
    """Path and query, relative to the base URL."""
    json: Any
    """JSON body for ``httpx`` (``None`` for GET/DELETE)."""
    headers: Mapping[str, str] | None
    parse: Parser[T]
    """Parses the raw bytes of a 200 answer; raises pydantic.ValidationError on mismatch."""
    signed: bool


def _prepare(kwargs: dict[str, Any], parse: Parser[T], *, signed: bool = True) -> Prepared[T]:
    path: str = kwargs["url"]
    params = kwargs.get("params")
    # The query is encoded here, not by httpx's params merge, which would parse the URL
    # once more per request; the result is the same percent-encoding.
    target = f"{path}?{urlencode(params, quote_via=quote)}" if params else path
    return Prepared(
        kwargs["method"].upper(),
        path,
        target,
        kwargs.get("json"),
        kwargs.get("headers"),
        parse,
        signed,
    )


class _ServerTimeEnvelope(NamedTuple):
    code: int
    data: int


def _parse_server_time(content: bytes) -> _ServerTimeEnvelope:
    # /api/v1/time is not wrapped in an envelope.
    return _ServerTimeEnvelope(SUCCESS_CODE, ServerTime.model_validate_json(content).server_time)


_PARSE_CURRENT_ORDERS: Parser[list[CurrentOrder]] = CurrentOrdersResponse.model_validate_json
_PARSE_HISTORY_ORDERS: Parser[HistoryOrdersPage] = HistoryOrdersResponse.model_validate_json
_PARSE_FOLLOW_CONFIG: Parser[FollowConfig] = FollowConfigResponse.model_validate_json
_PARSE_LEADERS: Parser[list[Leader]] = LeadersResponse.model_validate_json
_PARSE_EMPTY: Parser[None] = EmptyResponse.model_validate_json


# ---- request bodies ------------------------------------------------------------------
Money = Decimal | str | int
"""Money, rates and leverage: ``Decimal``, an exact decimal string, or an int. Never float."""


class FollowConfigFields(TypedDict, total=False):
    """Keyword fields of ``update_follow_config`` (the FollowConfigUpdate fields)."""

    leader_user_id: int | str
    invest_amount: Money
    single_place_amount: Money
    daily_max_invest_amount: Money
    leverage: Money
    max_invest_rate: Money
    stop_profit_rate: Money
    stop_loss_rate: Money
    real_invest_amount: Money
    follow_amount_mode: int
    stop_loss_delay: int
    isolated_reserved_amount: Money
    follow_margin_type: int
    follow_symbol_ids: str
    zero_slippage_switch: bool


def decimal_str(value: Decimal) -> str:
    """Plain decimal notation, exactly: ``Decimal('1E-8')`` -> ``'0.00000001'``,
    ``Decimal('10.50')`` -> ``'10.50'`` (the spec's patterns forbid exponents)."""
    if value.is_zero():
        value = value.copy_abs()
    return format(value, "f")


LeaderId = int | str
"""A leader user ID: an int, or the string of digits the responses carry."""


def leader_id(value: LeaderId) -> int:
    """``value`` as the int the requests carry (responses give it as a string)."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise TypeError(f"leader_user_id must be an int or a string of digits, not {value!r}")
    if isinstance(value, str) and not value.isdigit():
        raise ValueError(f"leader_user_id must be digits, got {value!r}")
    return int(value)


def _reject_floats(fields: Mapping[str, object]) -> None:
    for name, value in fields.items():
        if isinstance(value, float):
            raise TypeError(
                f"{name} is a float ({value!r}); pass money as Decimal or str to keep it exact"
            )


def _wire_dict(model: BaseModel) -> dict[str, Any]:
    """The model as JSON-ready values under the wire names, unset optionals left out."""
    return {
        name: decimal_str(value) if isinstance(value, Decimal) else value
        for name, value in model.model_dump(by_alias=True, exclude_none=True).items()
    }


def _json_default(value: object) -> str:
    if isinstance(value, Decimal):
        return decimal_str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def request_body(model: BaseModel) -> bytes:
    """The exact bytes sent (and signed) for a request model: compact JSON under the
    wire names, optional fields that are unset or ``None`` left out, ``Decimal`` as a
    plain decimal string (``Decimal('1E-8')`` -> ``"0.00000001"``)."""
    data = model.model_dump(by_alias=True, exclude_none=True)
    return json.dumps(
        data, separators=(",", ":"), ensure_ascii=False, default=_json_default
    ).encode("utf-8")


def follow_config_update(
    config: FollowConfigUpdate | None, fields: Mapping[str, object]
) -> FollowConfigUpdate:
    """A validated FollowConfigUpdate from a model, keyword fields, or a model plus overrides."""
    if config is not None and not fields:
        return config
    _reject_floats(fields)
    data: dict[str, object] = config.model_dump() if config is not None else {}
    data.update(fields)
    return FollowConfigUpdate.model_validate(data)


# ---- operations ----------------------------------------------------------------------
def get_server_time() -> Prepared[int]:
    """GET /api/v1/time (unsigned)."""
    return _prepare(_get_server_time._get_kwargs(), _parse_server_time, signed=False)


def list_current_orders() -> Prepared[list[CurrentOrder]]:
    return _prepare(_list_current_orders._get_kwargs(recv_window=UNSET), _PARSE_CURRENT_ORDERS)


def list_history_orders(page: int, size: int) -> Prepared[HistoryOrdersPage]:
    return _prepare(
        _list_history_orders._get_kwargs(page=page, size=size, recv_window=UNSET),
        _PARSE_HISTORY_ORDERS,
    )


def get_follow_config(leader_user_id: LeaderId) -> Prepared[FollowConfig]:
    return _prepare(
        _get_follow_config._get_kwargs(leader_user_id=leader_id(leader_user_id), recv_window=UNSET),
        _PARSE_FOLLOW_CONFIG,
    )


def update_follow_config(update: FollowConfigUpdate) -> Prepared[None]:
    body = _WireFollowConfigUpdate.from_dict(_wire_dict(update))
    return _prepare(_update_follow_config._get_kwargs(body=body, recv_window=UNSET), _PARSE_EMPTY)


def update_stop_profit_loss(
    leader_user_id: LeaderId,
    symbol_id: str,
    is_long: bool | int,
    stop_profit_rate: Money | None,
    stop_loss_rate: Money | None,
    stop_loss_delay: int | None,
) -> Prepared[None]:
    fields: dict[str, object] = {
        "leader_user_id": leader_id(leader_user_id),
        "symbol_id": symbol_id,
        "is_long": int(is_long) if isinstance(is_long, bool) else is_long,
        "stop_profit_rate": stop_profit_rate,
        "stop_loss_rate": stop_loss_rate,
        "stop_loss_delay": stop_loss_delay,
    }
    _reject_floats(fields)
    update = StopProfitLossUpdate.model_validate(fields)
    body = _WireStopProfitLossUpdate.from_dict(_wire_dict(update))
    return _prepare(
        _update_stop_profit_loss._get_kwargs(body=body, recv_window=UNSET), _PARSE_EMPTY
    )


def list_leaders() -> Prepared[list[Leader]]:
    return _prepare(_list_leaders._get_kwargs(recv_window=UNSET), _PARSE_LEADERS)


def cancel_leader(leader_user_id: LeaderId) -> Prepared[None]:
    return _prepare(
        _cancel_leader._get_kwargs(leader_id(leader_user_id), recv_window=UNSET), _PARSE_EMPTY
    )
