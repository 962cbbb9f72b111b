"""toobit-follower: the signed, typed clients of Toobit's copy-trading API, both sides.

>>> from toobit_follower import FollowerClient, LeaderClient
>>> with FollowerClient() as client:          # TOOBIT_API_KEY / TOOBIT_API_SECRET
...     leaders = client.list_leaders()

Everything public is importable from here; ``toobit_follower_models`` (the models, the
operation table) and ``toobit_follower_api`` (the generated methods) stay reachable.
"""

from __future__ import annotations

from importlib import metadata as _metadata

from toobit_follower_api import types as _api_types
from toobit_follower_api.types import *  # noqa: F403 - the models of the calls, RawResponse

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

__all__ = ["BodySigning", "LeaderId", "Money", "RateLimit", "RateLimitBlock", "Secret"]
__all__ += ["ToobitAuth", "constants", "spec_path", "spec_text"]
__all__ += _api_types.__all__  # generated: every model a method takes or returns, RawResponse
__all__ += _client.__all__
__all__ += _exceptions.__all__
