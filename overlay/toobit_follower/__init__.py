"""toobit-follower: the signed, typed clients of Toobit's copy-trading API, both sides.

>>> from toobit_follower import FollowerClient, LeaderClient
>>> with FollowerClient() as client:          # TOOBIT_API_KEY / TOOBIT_API_SECRET
...     leaders = client.list_leaders()

Everything public is importable from here; the generated packages stay reachable
(``toobit_follower_models``: the models and the operation table; ``toobit_follower_api``:
the generated methods the clients are made of).
"""

from __future__ import annotations

from importlib import metadata as _metadata

from toobit_follower_models import (
    CurrentOrder,
    FollowConfig,
    FollowConfigUpdate,
    HistoryOrder,
    HistoryOrdersPage,
    Leader,
    StopProfitLossUpdate,
)

from . import constants
from ._auth import ToobitAuth
from ._client import (
    AsyncFollowerClient,
    AsyncFollowerClientWithRawResponse,
    AsyncLeaderClient,
    AsyncLeaderClientWithRawResponse,
    FollowerClient,
    FollowerClientWithRawResponse,
    LeaderClient,
    LeaderClientWithRawResponse,
)
from ._exceptions import (
    CODE_CLASSES,
    ERROR_TABLE,
    FAMILIES,
    APIConnectionError,
    APIError,
    APITimeoutError,
    AuthenticationError,
    CredentialsError,
    DeadlineExceededError,
    ErrorCode,
    ErrorInfo,
    FollowerNotFoundError,
    HasOpenPositionsError,
    InvalidRequestError,
    IPBannedError,
    NotALeaderError,
    OutcomeUnknownError,
    PermissionDeniedError,
    RateLimitError,
    ResponseTooLargeError,
    TimestampError,
    ToobitError,
    UnexpectedResponseError,
    UnknownServerError,
    error_class,
    error_info,
)
from ._operations import LeaderId, Money
from ._secret import Secret
from ._types import RateLimit, RateLimitBlock, RawResponse
from .signing import BodySigning
from .spec import spec_path, spec_text  # the contract itself (the packaged openapi.yaml)

__version__ = _metadata.version("toobit-follower")
"""The installed distribution's version (pyproject.toml), not a second copy of it."""

__all__ = [
    "CODE_CLASSES",
    "ERROR_TABLE",
    "FAMILIES",
    "APIConnectionError",
    "APIError",
    "APITimeoutError",
    "AsyncFollowerClient",
    "AsyncFollowerClientWithRawResponse",
    "AsyncLeaderClient",
    "AsyncLeaderClientWithRawResponse",
    "AuthenticationError",
    "BodySigning",
    "CredentialsError",
    "CurrentOrder",
    "DeadlineExceededError",
    "ErrorCode",
    "ErrorInfo",
    "FollowConfig",
    "FollowConfigUpdate",
    "FollowerClient",
    "FollowerClientWithRawResponse",
    "FollowerNotFoundError",
    "HasOpenPositionsError",
    "HistoryOrder",
    "HistoryOrdersPage",
    "IPBannedError",
    "InvalidRequestError",
    "Leader",
    "LeaderClient",
    "LeaderClientWithRawResponse",
    "LeaderId",
    "Money",
    "NotALeaderError",
    "OutcomeUnknownError",
    "PermissionDeniedError",
    "RateLimit",
    "RateLimitBlock",
    "RateLimitError",
    "RawResponse",
    "ResponseTooLargeError",
    "Secret",
    "StopProfitLossUpdate",
    "TimestampError",
    "ToobitAuth",
    "ToobitError",
    "UnexpectedResponseError",
    "UnknownServerError",
    "constants",
    "error_class",
    "error_info",
    "spec_path",
    "spec_text",
]
