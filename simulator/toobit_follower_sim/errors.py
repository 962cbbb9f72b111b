"""Error codes, messages and HTTP statuses, as in docs/ARCHITECTURE.md (wire conventions)."""

from __future__ import annotations

# Codes (names follow the spec's ErrorCode x-enum-varnames).
UNKNOWN = -1000
UNAUTHORIZED = -1002
TOO_MANY_REQUESTS = -1003
NO_PERMISSION = -1005
NOT_SUPPORTED = -1020
INVALID_TIMESTAMP = -1021
INVALID_SIGNATURE = -1022
MANDATORY_PARAM = -1102
INVALID_PARAMETER = -1130
BAD_API_KEY_FMT = -2014
REJECTED_API_KEY = -2015
API_KEY_EXPIRED = -2017
API_KEY_SUSPENDED = -2018
FOLLOWER_NOT_FOUND = -32045
FOLLOWER_HAS_POSITIONS = -120055

MSG_UNAUTHORIZED = "You are not authorized to execute this request."
MSG_BAD_API_KEY_FMT = "API-key format invalid."
MSG_REJECTED_API_KEY = "Invalid API-key, IP, or permissions for action."
MSG_API_KEY_EXPIRED = "API-key has expired."
MSG_API_KEY_SUSPENDED = "API-key is suspended."
MSG_NO_PERMISSION = "No permission."
MSG_INVALID_TIMESTAMP = "Timestamp for this request is outside of the recvWindow."
MSG_INVALID_SIGNATURE = "Signature for this request is not valid."
MSG_NOT_SUPPORTED = "This operation is not supported."
MSG_FOLLOWER_NOT_FOUND = "Copy trading follower not found."
MSG_FOLLOWER_HAS_POSITIONS = "The follower currently has copy position, cannot be removed."
MSG_UNKNOWN = "An unknown error occurred while processing the request."
MSG_TOO_MANY_REQUESTS = (
    "Too many requests; current limit is {limit} request weight per 1 MINUTE. "
    "Please use the websocket for live updates to avoid polling the API."
)
MSG_BANNED = (
    "Way too many requests; IP banned until {until}. "
    "Please use the websocket for live updates to avoid bans."
)
# The exchange's own spelling ("paramter") is part of the template.
MSG_MANDATORY = "Mandatory parameter '{name}' was not sent, was empty/null, or malformed."
MSG_INVALID = "Data sent for paramter '{name}' is not valid."


class ApiError(Exception):
    """An error answer: the exchange's code and message plus the HTTP status we send."""

    __slots__ = ("code", "msg", "status")

    def __init__(self, code: int, msg: str, status: int) -> None:
        super().__init__(code, msg)
        self.code = code
        self.msg = msg
        self.status = status


def missing(name: str) -> ApiError:
    """-1102: a mandatory parameter is missing, null, of the wrong type or malformed."""
    return ApiError(MANDATORY_PARAM, MSG_MANDATORY.format(name=name), 400)


def invalid(name: str) -> ApiError:
    """-1130: a parameter is present but out of range, precision, pattern or enum."""
    return ApiError(INVALID_PARAMETER, MSG_INVALID.format(name=name), 400)


def unauthorized() -> ApiError:
    return ApiError(UNAUTHORIZED, MSG_UNAUTHORIZED, 401)


def bad_key_format() -> ApiError:
    return ApiError(BAD_API_KEY_FMT, MSG_BAD_API_KEY_FMT, 401)


def rejected_key() -> ApiError:
    return ApiError(REJECTED_API_KEY, MSG_REJECTED_API_KEY, 401)


def key_expired() -> ApiError:
    return ApiError(API_KEY_EXPIRED, MSG_API_KEY_EXPIRED, 401)


def key_suspended() -> ApiError:
    return ApiError(API_KEY_SUSPENDED, MSG_API_KEY_SUSPENDED, 401)


def no_permission() -> ApiError:
    return ApiError(NO_PERMISSION, MSG_NO_PERMISSION, 403)


def bad_timestamp() -> ApiError:
    return ApiError(INVALID_TIMESTAMP, MSG_INVALID_TIMESTAMP, 401)


def bad_signature() -> ApiError:
    return ApiError(INVALID_SIGNATURE, MSG_INVALID_SIGNATURE, 401)


def read_only() -> ApiError:
    return ApiError(NOT_SUPPORTED, MSG_NOT_SUPPORTED, 403)


def follower_not_found() -> ApiError:
    return ApiError(FOLLOWER_NOT_FOUND, MSG_FOLLOWER_NOT_FOUND, 400)


def has_positions() -> ApiError:
    return ApiError(FOLLOWER_HAS_POSITIONS, MSG_FOLLOWER_HAS_POSITIONS, 400)


def unknown_error() -> ApiError:
    return ApiError(UNKNOWN, MSG_UNKNOWN, 500)
