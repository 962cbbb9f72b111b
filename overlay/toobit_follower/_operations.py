"""Requests of the API's operations, built from their rows of the operation table.

:func:`prepare` turns an operation (``toobit_follower_models.operations``), its arguments
by wire name and a body model into a :class:`Prepared`: the path and the query validated
by the generated models and percent-encoded, the body as :func:`request_body` bytes, and
the parser of the success answer. Nothing here does I/O.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from decimal import Decimal
from types import MappingProxyType
from typing import Any, Final, Generic, NamedTuple, TypeVar
from urllib.parse import quote

from pydantic import BaseModel
from toobit_follower_models.operations import BodyField, Operation, Param

from ._constants import SUCCESS_CODE

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
    """Parses a 200 answer into an object with ``code`` and typed ``data``; raises
    pydantic.ValidationError on a mismatch."""
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


# ---- prepare: every operation from its row of the table ---------------------------
_JSON_HEADERS: Final[Mapping[str, str]] = MappingProxyType({"Content-Type": "application/json"})


class _Bare(NamedTuple):
    """The success of an answer that is no envelope (``x-python: {result: ...}``)."""

    code: int
    data: Any


class _Plan(NamedTuple):
    """What :func:`prepare` needs of an operation beyond its row, worked out once."""

    operation: Operation
    path: tuple[str, ...]
    """Path parameters (wire names), in the template's order."""
    query: tuple[tuple[str, str], ...]
    """Query parameters the caller may give (the signer's left out), in order: wire name and
    its percent-encoded form."""
    typed: Mapping[str, Param]
    """The caller's parameters the query model reads, by wire name (path ones too)."""
    parse: Callable[[bytes], Any]


_PLANS: dict[str, _Plan] = {}


def _parser(operation: Operation) -> Callable[[bytes], Any]:
    model, attribute = operation.response_model, operation.result_attribute
    if attribute is None:
        # an envelope: BaseClient checks its code before it reads data
        return model.model_validate_json

    def parse_bare(content: bytes) -> _Bare:
        return _Bare(SUCCESS_CODE, getattr(model.model_validate_json(content), attribute))

    return parse_bare


def _plan(operation: Operation) -> _Plan:
    plan = _PLANS.get(operation.operation_id)
    if plan is None or plan.operation is not operation:
        model_fields = operation.query_model.model_fields if operation.query_model else {}
        callers = [p for p in operation.params if not p.signer]
        plan = _Plan(
            operation,
            tuple(p.name for p in operation.params if p.location == "path"),
            tuple((p.name, _component(p.name)) for p in callers if p.location == "query"),
            {p.name: p for p in callers if p.python_name in model_fields},
            _parser(operation),
        )
        _PLANS[operation.operation_id] = plan
    return plan


def _checked(field: Param | BodyField, value: object) -> object:
    """``value`` for ``field``, refused before pydantic's lax reading would take it: a float
    (money stays exact), a bool for an integer, an integer's string that is not ASCII digits
    (``" 12"``, ``"+12"``, ``"9_8_7"``, ``"١٢٣"``). Messages name the model's attribute."""
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
    """A path parameter's value that no model types: an int or a non-empty string."""
    if isinstance(value, bool | float) or not isinstance(value, int | str):
        raise TypeError(f"{name} must be an int or a string, not {value!r}")
    if value == "":
        raise ValueError(f"{name} must not be empty")
    return value


def _component(value: object) -> str:
    """``value`` as the wire writes it (``true``, a plain decimal), percent-encoded as one
    query or path component (``urlencode``'s ``quote_via=quote``: nothing is safe but
    letters, digits and ``_.-~``)."""
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
    """The request of ``operation`` with ``arguments`` (by wire name: path and query
    parameters, body fields; ``None`` is "not given") and ``body`` (a model of the
    operation's body; the fields given override its values).

    Path parameters are substituted and percent-encoded; the query is validated with the
    operation's query model (its defaults applied, the signer's ``recvWindow`` left out)
    and encoded; the body is validated with its model and sent as :func:`request_body`.
    A name the operation does not have, a float or a bool where an integer goes raises
    TypeError; an invalid value pydantic.ValidationError (a ValueError); both before
    sending. ``check=False`` sends path and query values as given (probes that send
    what the spec forbids on purpose).
    """
    plan = _plan(operation)
    query: dict[str, object] = {}  # what the query model reads (path parameters it has too)
    untyped: dict[str, object] = {}  # path parameters no model types
    fields: dict[str, object] = {}  # body fields
    for name, value in arguments.items():
        if value is None:
            continue
        if name in operation.body_fields:
            fields[name] = _checked(operation.body_fields[name], value)
        elif name in plan.typed:
            query[name] = _checked(plan.typed[name], value)
        elif name in plan.path:
            untyped[name] = value if not check else _segment(name, value)
        else:
            raise TypeError(f"{operation.operation_id} has no argument {name!r}")
    if check and operation.query_model is not None and (query or plan.query):
        # validated, the spec's defaults applied; read back by attribute (model_dump and
        # urlencode would double the cost of a small GET)
        valid = operation.query_model.model_validate(query)
        query = {name: getattr(valid, param.python_name) for name, param in plan.typed.items()}
    path = operation.path
    for name in plan.path:
        value = query.get(name, untyped.get(name))
        if value is None:
            raise TypeError(f"{operation.operation_id} needs its path parameter {name!r}")
        path = path.replace("{" + name + "}", _component(value))
    pairs = [
        f"{encoded}={_component(query[name])}"
        for name, encoded in plan.query
        if query.get(name) is not None
    ]
    target = f"{path}?{'&'.join(pairs)}" if pairs else path
    model: BaseModel | None = None
    if operation.body_model is not None:
        if body is not None and not isinstance(body, operation.body_model):
            raise TypeError(
                f"{operation.operation_id} takes a {operation.body_model.__name__},"
                f" not {type(body).__name__}"
            )
        if body is not None and not fields:
            model = body
        elif body is not None or fields or operation.body_required:
            base = {} if body is None else body.model_dump(by_alias=True, exclude_none=True)
            model = operation.body_model.model_validate({**base, **fields})
    elif body is not None:
        raise TypeError(f"{operation.operation_id} takes no body")
    return Prepared(
        operation.method,
        path,
        target,
        None if model is None else request_body(model),
        _JSON_HEADERS if model is not None else None,
        plan.parse,
        operation.signed,
        operation.weight if operation.signed else 0,
    )
