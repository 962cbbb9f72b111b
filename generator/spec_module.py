"""Render ``toobit_follower_models/spec.py``: the contract's accessor, with the spec's
``info.version`` and sha256 as constants (the spec itself ships next to it in the wheel)."""

from __future__ import annotations

from typing import Any


class SpecModuleError(ValueError):
    """The spec lacks what the accessor needs (``info.version``)."""


_BODY = '''\
"""The API contract: the wheel's ``toobit_follower_models/openapi.yaml`` (pyproject's
``force-include``), else a development checkout's own ``openapi.yaml``: one source of truth,
nothing to sync."""

from __future__ import annotations

import copy
import functools
from pathlib import Path
from typing import Any, Final, cast

import yaml

__all__ = ["SHA256", "VERSION", "spec_dict", "spec_path", "spec_text", "spec_version"]

VERSION: Final = {version!r}
"""``info.version`` of the spec this package was generated from (see CHANGELOG.md)."""
SHA256: Final = {digest!r}
"""The sha256 of that spec's bytes."""


def spec_path() -> Path:
    """The packaged contract, else ``<repo>/openapi.yaml`` seen from ``<repo>/generated/``."""
    here = Path(__file__).resolve().parent
    checkout = [here.parent.parent / "openapi.yaml"] if here.parent.name == "generated" else []
    for path in [here / "openapi.yaml", *checkout]:
        if path.is_file():
            return path
    raise FileNotFoundError(f"openapi.yaml is neither in {{here}} (wheel) nor in a source checkout")


def spec_text() -> str:
    """The contract as YAML text, exactly as shipped."""
    return spec_path().read_text(encoding="utf-8")


@functools.lru_cache(maxsize=1)
def _parsed(text: str) -> dict[str, Any]:
    return cast(dict[str, Any], yaml.safe_load(text))


def spec_dict() -> dict[str, Any]:
    """The contract parsed into plain dicts and lists (a fresh copy on each call)."""
    return copy.deepcopy(_parsed(spec_text()))


def spec_version() -> str:
    """``info.version`` of the contract, e.g. ``"1.0.1"`` (:data:`VERSION`)."""
    return VERSION
'''


def render_spec_module(spec: dict[str, Any], digest: str) -> str:
    """The module's source for the parsed spec whose bytes have sha256 ``digest``."""
    version = spec.get("info", {}).get("version") if isinstance(spec, dict) else None
    if not isinstance(version, str) or not version:
        raise SpecModuleError(f"info.version must be a non-empty string, got {version!r}")
    return _BODY.format(version=version, digest=digest)
