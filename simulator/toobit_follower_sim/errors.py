"""Error answers, built from the spec's error table (`toobit_follower_models.errors`).

Code, HTTP status and message template all come from the table's row; the simulator
names a row only where one of its checks or rules raises it.
"""

from __future__ import annotations

from toobit_follower_models.errors import BY_NAME, ErrorCode


class ApiError(Exception):
    """An error answer: the exchange's code and message plus the HTTP status we send."""

    __slots__ = ("code", "msg", "status")

    def __init__(self, code: int, msg: str, status: int) -> None:
        super().__init__(code, msg)
        self.code = code
        self.msg = msg
        self.status = status


def api_error(row: ErrorCode | str, **fields: object) -> ApiError:
    """The error of a table row (an `ErrorCode`, or a row name where a code has several
    rows, such as `IP_BANNED`), its message filled with `fields` ({name}, {limit}, ...)."""
    info = BY_NAME[row if isinstance(row, str) else row.name]
    return ApiError(info.code, info.format_message(**fields), info.http_status)


def missing(name: str) -> ApiError:
    """A mandatory parameter is missing, null, of the wrong type or malformed."""
    return api_error(ErrorCode.MANDATORY_PARAM_EMPTY_OR_MALFORMED, name=name)


def invalid(name: str) -> ApiError:
    """A parameter is present but out of range, precision, pattern or enum."""
    return api_error(ErrorCode.INVALID_PARAMETER, name=name)


def unknown_parameter(name: str) -> ApiError:
    """A query parameter or body field the operation does not declare."""
    return api_error(ErrorCode.UNKNOWN_PARAM, name=name)
