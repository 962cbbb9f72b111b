"""One function per API operation: the method, path and query come from the generated
module's ``_get_kwargs``; the body is the generated pydantic model, validated and sent as
:func:`request_body` bytes; the success body is parsed with the generated pydantic models.

Shared by the sync and async clients; nothing here does I/O.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any, Final, Generic, NamedTuple, Protocol, TypeVar
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
    json: bytes | None
    """The JSON body, exactly the bytes sent and signed (``None`` for GET/DELETE)."""
    headers: Mapping[str, str] | None
    parse: Parser[T]
    """Parses the raw bytes of a 200 answer; raises pydantic.ValidationError on mismatch."""
    signed: bool


def _prepare(
    kwargs: dict[str, Any],
    parse: Parser[T],
    *,
    signed: bool = True,
    body: BaseModel | None = None,
) -> Prepared[T]:
    path: str = kwargs["url"]
    params = kwargs.get("params")
    # The query is encoded here, not by httpx's params merge, which would parse the URL
    # once more per request; the result is the same percent-encoding.
    target = f"{path}?{urlencode(params, quote_via=quote)}" if params else path
    return Prepared(
        kwargs["method"].upper(),
        path,
        target,
        None if body is None else request_body(body),
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

LeaderId = int | str
"""A leader user ID: an int, or the string of digits the responses carry."""

M = TypeVar("M", bound=BaseModel)


class _BodyFromModel:
    """Stands in for the generated attrs body that ``_get_kwargs`` of a PUT expects: the
    body sent is ``request_body`` of the pydantic model, one model family end to end."""

    def to_dict(self) -> dict[str, Any]:
        return {}


_BODY_FROM_MODEL: Final[Any] = _BodyFromModel()


def leader_id(value: LeaderId) -> int:
    """``value`` as the int the requests carry (responses give it as a string)."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise TypeError(f"leader_user_id must be an int or a string of digits, not {value!r}")
    # str.isdigit() and int() take digits of every script ("١٢٣" is 123) and int() takes
    # "9_8_7", " 12" and "+12": an ID is ASCII digits and nothing else
    if isinstance(value, str) and not (value.isascii() and value.isdigit()):
        raise ValueError(f"leader_user_id must be ASCII digits (0-9) only, got {value!r}")
    return int(value)


def build(model: type[M], fields: Mapping[str, object]) -> M:
    """``model`` validated from keyword fields named as its Python fields.

    A name the model does not have, or a float (money must stay exact), raises TypeError;
    ``None`` leaves an optional field out; pydantic.ValidationError for the rest.
    """
    for name, value in fields.items():
        if name not in model.model_fields:
            raise TypeError(f"{model.__name__} has no field {name!r}")
        if isinstance(value, float):
            raise TypeError(
                f"{name} is a float ({value!r}); pass money as Decimal or str to keep it exact"
            )
    return model.model_validate({k: v for k, v in fields.items() if v is not None})


def _plain(value: object) -> str:
    if isinstance(value, Decimal):
        # plain notation, exactly: Decimal('1E-8') -> '0.00000001' (the spec's patterns
        # forbid exponents); -0 is sent as 0
        return format(value.copy_abs() if value.is_zero() else value, "f")
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def request_body(model: BaseModel) -> bytes:
    """The exact bytes sent (and signed) for a request model: compact JSON under the
    wire names, optional fields that are unset or ``None`` left out, ``Decimal`` as a
    plain decimal string (``Decimal('1E-8')`` -> ``"0.00000001"``)."""
    data = model.model_dump(by_alias=True, exclude_none=True)
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False, default=_plain).encode(
        "utf-8"
    )


def follow_config_update(
    config: FollowConfigUpdate | None, fields: Mapping[str, object]
) -> FollowConfigUpdate:
    """A validated FollowConfigUpdate from a model, keyword fields (its Python field
    names), or a model plus overrides."""
    if config is not None and not fields:
        return config
    base = {} if config is None else config.model_dump(exclude_none=True)
    return build(FollowConfigUpdate, {**base, **fields})


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
    kwargs = _update_follow_config._get_kwargs(body=_BODY_FROM_MODEL, recv_window=UNSET)
    return _prepare(kwargs, _PARSE_EMPTY, body=update)


def update_stop_profit_loss(
    leader_user_id: LeaderId, symbol_id: str, is_long: bool | int, fields: Mapping[str, object]
) -> Prepared[None]:
    """``fields``: the optional StopProfitLossUpdate fields by Python name."""
    update = build(
        StopProfitLossUpdate,
        {
            **fields,
            "leader_user_id": leader_id(leader_user_id),
            "symbol_id": symbol_id,
            "is_long": int(is_long) if isinstance(is_long, bool) else is_long,
        },
    )
    kwargs = _update_stop_profit_loss._get_kwargs(body=_BODY_FROM_MODEL, recv_window=UNSET)
    return _prepare(kwargs, _PARSE_EMPTY, body=update)


def list_leaders() -> Prepared[list[Leader]]:
    return _prepare(_list_leaders._get_kwargs(recv_window=UNSET), _PARSE_LEADERS)


def cancel_leader(leader_user_id: LeaderId) -> Prepared[None]:
    return _prepare(
        _cancel_leader._get_kwargs(leader_id(leader_user_id), recv_window=UNSET), _PARSE_EMPTY
    )
