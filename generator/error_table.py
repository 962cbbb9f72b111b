"""Render ``toobit_follower_models/errors.py`` from the spec's error facts.

Neither pinned generator reads vendor extensions, so this one does, for three of them:
``components.schemas.ErrorCode.x-error-table`` (one row per documented error: code,
name, HTTP status, message template, meaning), each operation's ``x-error-codes`` and
each operation's ``x-request-weight`` (what a call costs of the -1003 budget).
The client, the simulator, the fuzz checks and the command line import the result;
none of them writes a code, a status, a message or a weight down by hand.
"""

from __future__ import annotations

import keyword
import re
from typing import Any

_HTTP_METHODS = ("get", "put", "post", "delete", "patch")
_NAME = re.compile(r"^[A-Z][A-Z0-9_]*$")
_ROW_KEYS = {"code", "name", "status", "message", "meaning"}


class ErrorTableError(ValueError):
    """The spec's error table is malformed; the message says where and how."""


def _rows(spec: dict[str, Any]) -> list[dict[str, Any]]:
    try:
        rows = spec["components"]["schemas"]["ErrorCode"]["x-error-table"]
    except KeyError as exc:
        raise ErrorTableError("components.schemas.ErrorCode.x-error-table is missing") from exc
    if not isinstance(rows, list) or not rows:
        raise ErrorTableError("ErrorCode.x-error-table must be a non-empty list of rows")
    names: set[str] = set()
    for index, row in enumerate(rows):
        where = f"ErrorCode.x-error-table[{index}]"
        if not isinstance(row, dict) or set(row) != _ROW_KEYS:
            raise ErrorTableError(f"{where}: a row has exactly the keys {sorted(_ROW_KEYS)}")
        code, name, status = row["code"], row["name"], row["status"]
        if isinstance(code, bool) or not isinstance(code, int) or code >= 0:
            raise ErrorTableError(f"{where}: code must be a negative integer, got {code!r}")
        if not isinstance(name, str) or not _NAME.match(name) or keyword.iskeyword(name):
            raise ErrorTableError(f"{where}: name must be UPPER_SNAKE_CASE, got {name!r}")
        if name in names:
            raise ErrorTableError(f"{where}: name {name} is used twice")
        names.add(name)
        if isinstance(status, bool) or not isinstance(status, int) or not 400 <= status <= 599:
            raise ErrorTableError(f"{where}: status must be an HTTP error status, got {status!r}")
        for text in ("message", "meaning"):
            if not isinstance(row[text], str) or not row[text].strip():
                raise ErrorTableError(f"{where}: {text} must be a non-empty string")
    return rows


def _operation_codes(spec: dict[str, Any], known: set[int]) -> dict[str, list[int]]:
    result: dict[str, list[int]] = {}
    for path, item in spec.get("paths", {}).items():
        for method in _HTTP_METHODS:
            operation = item.get(method)
            if not isinstance(operation, dict) or "x-error-codes" not in operation:
                continue
            op_id = operation["operationId"]
            codes = [int(c) for c in operation["x-error-codes"]]
            unknown = sorted(set(codes) - known)
            if unknown:
                raise ErrorTableError(
                    f"{method.upper()} {path} ({op_id}): x-error-codes {unknown} are not in"
                    " ErrorCode.x-error-table; add a row for each"
                )
            result[op_id] = sorted(set(codes), reverse=True)
    return result


def _request_weights(spec: dict[str, Any]) -> dict[tuple[str, str], int]:
    result: dict[tuple[str, str], int] = {}
    for path, item in spec.get("paths", {}).items():
        for method in _HTTP_METHODS:
            operation = item.get(method)
            if not isinstance(operation, dict):
                continue
            weight = operation.get("x-request-weight")
            if isinstance(weight, bool) or not isinstance(weight, int) or weight < 1:
                raise ErrorTableError(
                    f"{method.upper()} {path} ({operation.get('operationId')}): x-request-weight"
                    f" must be a positive integer, got {weight!r}"
                )
            result[(method.upper(), path)] = weight
    return result


def render_errors_module(spec: dict[str, Any]) -> str:
    """The Python source of ``toobit_follower_models/errors.py`` (ruff formats it after)."""
    rows = _rows(spec)
    operations = _operation_codes(spec, {row["code"] for row in rows})
    weights = "".join(f"    {key!r}: {weight},\n" for key, weight in _request_weights(spec).items())
    members = "".join(f"    {row['name']} = {row['code']}\n" for row in rows)
    table = "".join(
        f"    ErrorInfo({row['code']}, {row['name']!r}, {row['status']}, {row['message']!r},"
        f" {row['meaning']!r}),\n"
        for row in rows
    )
    per_operation = "".join(
        f"    {op_id!r}: frozenset({{{', '.join(map(str, codes))}}}),\n"
        for op_id, codes in operations.items()
    )
    return f'''"""The contract's error facts: ``ErrorCode.x-error-table``, ``x-error-codes`` and the
``x-request-weight`` of each operation (its cost of the budget whose excess is -1003).

One row per documented error: its code, name, the HTTP status the contract gives it,
the message template (``str.format`` fields such as ``{{name}}``) and its meaning. A code
may have several rows (``-1003``: HTTP 429, and HTTP 418 once banned); ``BY_CODE``
keeps the first.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import IntEnum
from types import MappingProxyType
from typing import Final, NamedTuple

__all__ = [
    "BY_CODE",
    "BY_NAME",
    "ERROR_TABLE",
    "OPERATION_ERROR_CODES",
    "REQUEST_WEIGHTS",
    "error_info",
    "ErrorCode",
    "ErrorInfo",
]


class ErrorCode(IntEnum):
    """Every documented code by name (a second row of a code is an alias)."""

{members}

class ErrorInfo(NamedTuple):
    """One row of the spec's error table."""

    code: int
    name: str
    http_status: int
    message: str
    """Template: ``format_message(name=...)`` fills its fields."""
    meaning: str

    def format_message(self, **fields: object) -> str:
        """The message with its ``{{field}}`` placeholders filled in."""
        return self.message.format(**fields)


ERROR_TABLE: Final[tuple[ErrorInfo, ...]] = (
{table})
"""Every row of ``ErrorCode.x-error-table``, in the spec's order."""

BY_NAME: Final[Mapping[str, ErrorInfo]] = MappingProxyType({{row.name: row for row in ERROR_TABLE}})
"""Row by name (``ErrorCode`` member name)."""

BY_CODE: Final[Mapping[int, ErrorInfo]] = MappingProxyType(
    {{row.code: row for row in reversed(ERROR_TABLE)}}
)
"""The first row of each code."""


def error_info(code: int, status_code: int | None = None) -> ErrorInfo | None:
    """The row of ``code`` (the one with this HTTP status when the code has several, e.g.
    rate limited / banned), or ``None`` for a code the spec does not list."""
    rows = [row for row in ERROR_TABLE if row.code == code]
    return next((row for row in rows if row.http_status == status_code), rows[0] if rows else None)

OPERATION_ERROR_CODES: Final[Mapping[str, frozenset[int]]] = MappingProxyType(
    {{
{per_operation}    }}
)
"""operationId -> the codes its ``x-error-codes`` lists."""

REQUEST_WEIGHTS: Final[Mapping[tuple[str, str], int]] = MappingProxyType(
    {{
{weights}    }}
)
"""(HTTP method, path template) -> the operation's ``x-request-weight``: what one request
costs of the request-weight budget whose excess is answered -1003."""
'''
