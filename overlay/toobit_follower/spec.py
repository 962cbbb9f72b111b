"""The API contract (openapi.yaml) shipped inside the package.

>>> from toobit_follower.spec import spec_dict, spec_path
>>> spec_dict()["info"]["title"]
'Toobit Copy-Trading Follower API'

The wheel carries the contract as ``toobit_follower/openapi.yaml`` (pyproject's
``force-include``). In a development checkout (editable install) the package folder has
no copy, so the repository's own ``openapi.yaml`` is used: there is one source of truth
and nothing to keep in sync.
"""

from __future__ import annotations

import copy
import functools
from pathlib import Path
from typing import Any

import yaml

__all__ = ["spec_dict", "spec_path", "spec_text", "spec_version"]

_PACKAGE_DIR = Path(__file__).resolve().parent
_FILENAME = "openapi.yaml"


def _checkout_spec() -> Path | None:
    """<repo>/openapi.yaml when this module runs from <repo>/overlay/toobit_follower/."""
    if _PACKAGE_DIR.parent.name != "overlay":
        return None
    candidate = _PACKAGE_DIR.parent.parent / _FILENAME
    return candidate if candidate.is_file() else None


def spec_path() -> Path:
    """Path of the OpenAPI 3.1 document this package was built from.

    Raises FileNotFoundError when neither the packaged copy nor a checkout's is there.
    """
    packaged = _PACKAGE_DIR / _FILENAME
    if packaged.is_file():
        return packaged
    checkout = _checkout_spec()
    if checkout is not None:
        return checkout
    raise FileNotFoundError(
        f"{_FILENAME} is neither in {_PACKAGE_DIR} (wheel) nor in a source checkout"
    )


def spec_text() -> str:
    """The contract as YAML text, exactly as shipped."""
    return spec_path().read_text(encoding="utf-8")


@functools.cache
def _parsed(path: Path, mtime_ns: int) -> dict[str, Any]:
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(document, dict):
        raise ValueError(f"{path} is not an OpenAPI document")
    return document


def spec_dict() -> dict[str, Any]:
    """The contract parsed into plain dicts and lists (a fresh copy on each call)."""
    path = spec_path()
    return copy.deepcopy(_parsed(path, path.stat().st_mtime_ns))


def spec_version() -> str:
    """``info.version`` of the contract (see CHANGELOG.md), e.g. ``"1.0.1"``."""
    return str(spec_dict()["info"]["version"])
