"""toobit-follower: the signed, typed clients of Toobit's copy-trading API, both sides.

>>> from toobit_follower import FollowerClient, LeaderClient
>>> with FollowerClient() as client:          # TOOBIT_API_KEY / TOOBIT_API_SECRET
...     leaders = client.list_leaders()

Everything public is importable from here; ``toobit_follower_models`` (the models, the
operation table) and ``toobit_follower_api`` (the generated methods) stay reachable.
"""

from __future__ import annotations

from importlib import metadata as _metadata

from toobit_follower_api.types import RawResponse
from toobit_follower_models import (
    CurrentOrder,
    FollowConfig,
    FollowConfigUpdate,
    HistoryOrder,
    HistoryOrdersPage,
    Leader,
    StopProfitLossUpdate,
)

from . import _client, _exceptions, constants
from ._auth import ToobitAuth
from ._client import *  # noqa: F403 - the clients: _client.__all__
from ._exceptions import *  # noqa: F403 - the exception tree and its table: _exceptions.__all__
from ._operations import LeaderId, Money
from ._secret import Secret
from ._types import RateLimit, RateLimitBlock
from .signing import BodySigning
from .spec import spec_path, spec_text  # the contract itself (the packaged openapi.yaml)

__version__ = _metadata.version("toobit-follower")  # pyproject.toml's, not a second copy

# the models a call takes or returns, then the client layer's own names
__all__ = ["CurrentOrder", "FollowConfig", "FollowConfigUpdate", "HistoryOrder", "Leader"]
__all__ += ["HistoryOrdersPage", "StopProfitLossUpdate"]
__all__ += ["BodySigning", "LeaderId", "Money", "RateLimit", "RateLimitBlock", "RawResponse"]
__all__ += ["Secret", "ToobitAuth", "constants", "spec_path", "spec_text"]
__all__ += _client.__all__
__all__ += _exceptions.__all__
