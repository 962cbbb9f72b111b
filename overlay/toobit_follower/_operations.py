"""Requests of the API's operations, built from their rows of the operation table.

:func:`prepare` turns an operation (``toobit_follower_models.operations``), its arguments
by wire name and a body model into a :class:`Prepared`. Nothing here does I/O.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from decimal import Decimal
from functools import partial
from types import MappingProxyType
from typing import Any, Final, Generic, NamedTuple, TypeVar
from urllib.parse import quote

from pydantic import BaseModel
from toobit_follower_models.operations import BodyField, Operation, Param

from .constants import SUCCESS_CODE

Money = Decimal | str | int
"""Money, rates and leverage: ``Decimal``, an exact decimal string, or an int. Never float."""

LeaderId = int | str
"""A leader user ID: an int, or the string of digits the responses carry."""

T = TypeVar("T")


class Prepared(NamedTuple, Generic[T]):
    """A request ready to send, and how to read its success body (``T``: its data)."""

    method: str
    path: str
    """URL path (no query): what errors and logs show."""
    target: str
    """Path and query, relative to the base URL, percent-encoded."""
    json: bytes | None
    """The JSON body, exactly the bytes sent and signed."""
    headers: Mapping[str, str] | None
    parse: Callable[[bytes], Any]
    """A 200 answer's ``code`` and typed ``data``; raises pydantic.ValidationError on a mismatch."""
    signed: bool
    weight: int
    """The spec's request weight; 0 for an unsigned request (counted per address)."""


def _plain(value: object) -> str:
    if isinstance(value, Decimal):
        # plain notation, exactly: Decimal('1E-8') -> '0.00000001' (the spec's patterns
        # forbid exponents); -0 is sent as 0
        return format(value.copy_abs() if value.is_zero() else value, "f")
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def request_body(model: BaseModel) -> bytes:
    """The exact bytes sent (and signed) for a request model: compact JSON under the
    wire names, fields unset or ``None`` left out, ``Decimal`` as a plain decimal string."""
    data = model.model_dump(by_alias=True, exclude_none=True)
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False, default=_plain).encode()


_JSON_HEADERS: Final[Mapping[str, str]] = MappingProxyType({"Content-Type": "application/json"})


class _Bare(NamedTuple):
    """The success of an answer that is no envelope (``x-python: {result: ...}``)."""

    code: int
    data: Any


def _bare(model: type[BaseModel], attribute: str, content: bytes) -> _Bare:
    return _Bare(SUCCESS_CODE, getattr(model.model_validate_json(content), attribute))


def _checked(field: Param | BodyField, value: object) -> object:
    """``value``, or TypeError/ValueError for what pydantic's lax reading would take: a
    float (money stays exact), a bool for an integer, an integer's string that is not
    ASCII digits (``" 12"``, ``"+12"``, ``"9_8_7"``, ``"١٢٣"``)."""
    name = field.python_name
    if isinstance(value, float):
        raise TypeError(
            f"{name} is a float ({value!r}); pass money as Decimal or str to keep it exact"
        )
    if field.integer:
        if isinstance(value, bool):
            raise TypeError(f"{name} must be an int or a string of digits, not {value!r}")
        if isinstance(value, str) and not (value.isascii() and value.isdigit()):
            raise ValueError(f"{name} must be ASCII digits (0-9) only, got {value!r}")
    return value


def _segment(name: str, value: object) -> object:
    """A path parameter no model reads: an int or a non-empty string."""
    if isinstance(value, bool | float) or not isinstance(value, int | str):
        raise TypeError(f"{name} must be an int or a string, not {value!r}")
    if value == "":
        raise ValueError(f"{name} must not be empty")
    return value


def _component(value: object) -> str:
    """``value`` as the wire writes it (``true``, a plain decimal), percent-encoded as one
    component: ``urlencode``'s ``quote_via=quote``, nothing safe but letters, digits, ``_.-~``."""
    if isinstance(value, bool):
        text = "true" if value else "false"
    else:
        text = _plain(value) if isinstance(value, Decimal) else str(value)
    return text if text.isascii() and text.isalnum() else quote(text, safe="")


def prepare(
    operation: Operation,
    arguments: Mapping[str, object],
    body: BaseModel | None = None,
    *,
    check: bool = True,
) -> Prepared[Any]:
    """The request of ``operation`` with ``arguments`` (path and query parameters and body
    fields by wire name; ``None``: not given) over ``body`` (a model of its body): the query
    with the spec's defaults, never the signer's parameters. ``check=False`` (probes) sends
    path and query values unvalidated. Raises TypeError for a name the operation does not
    have, a float, a bool for an integer; ValueError (pydantic.ValidationError among them)
    for an invalid value; all before sending.
    """
    query: dict[str, object] = {}  # what the query model reads (path parameters too)
    untyped: dict[str, object] = {}  # path parameters no model reads
    fields: dict[str, object] = {}  # body fields
    for name, value in arguments.items():
        if value is None:
            continue
        if name in operation.body_fields:
            fields[name] = _checked(operation.body_fields[name], value)
            continue
        for param in operation.params:
            if param.name == name and not param.signer:
                if param.modelled:
                    query[name] = _checked(param, value)
                    break
                if param.location == "path":
                    untyped[name] = _segment(name, value) if check else value
                    break
        else:
            raise TypeError(f"{operation.operation_id} has no argument {name!r}")
    if check and operation.query_model is not None:
        # validated once, read back by attribute (model_dump and urlencode would double the
        # cost of a small GET); with nothing given only a query parameter's default calls for
        # it, and a missing path parameter is the TypeError below
        valid = None
        for param in operation.params:
            if param.modelled and not param.signer and (query or param.location == "query"):
                if valid is None:
                    valid = operation.query_model.model_validate(query)
                query[param.name] = getattr(valid, param.python_name)
    path, pairs = operation.path, []
    for param in operation.params:
        value = query.get(param.name)
        if param.location == "path":
            value = untyped.get(param.name) if value is None else value
            if value is None:
                raise TypeError(f"{operation.operation_id} needs its path parameter {param.name!r}")
            path = path.replace("{" + param.name + "}", _component(value))
        elif value is not None:
            pairs.append(f"{param.encoded or _component(param.name)}={_component(value)}")
    target = f"{path}?{'&'.join(pairs)}" if pairs else path
    model, body_model = body, operation.body_model
    if body_model is None and body is not None:
        raise TypeError(f"{operation.operation_id} takes no body")
    if body_model is not None and body is not None and not isinstance(body, body_model):
        raise TypeError(
            f"{operation.operation_id} takes a {body_model.__name__}, not {type(body).__name__}"
        )
    if body_model is not None and (fields or (body is None and operation.body_required)):
        base = {} if body is None else body.model_dump(by_alias=True, exclude_none=True)
        model = body_model.model_validate({**base, **fields})
    response, attribute = operation.response_model, operation.result_attribute
    return Prepared(
        operation.method,
        path,
        target,
        None if model is None else request_body(model),
        _JSON_HEADERS if model is not None else None,
        # an envelope: BaseClient checks its code before it reads data
        response.model_validate_json if attribute is None else partial(_bare, response, attribute),
        operation.signed,
        operation.weight if operation.signed else 0,
    )
