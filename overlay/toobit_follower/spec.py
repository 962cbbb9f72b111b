"""The API contract: the wheel's ``toobit_follower/openapi.yaml`` (pyproject's ``force-include``),
else a development checkout's own ``openapi.yaml``: one source of truth, nothing to sync."""

from __future__ import annotations

import copy
import functools
from pathlib import Path
from typing import Any, cast

import yaml

__all__ = ["spec_dict", "spec_path", "spec_text", "spec_version"]


def spec_path() -> Path:
    """The packaged contract, else ``<repo>/openapi.yaml`` seen from ``<repo>/overlay/``."""
    here = Path(__file__).resolve().parent
    checkout = [here.parent.parent / "openapi.yaml"] if here.parent.name == "overlay" else []
    for path in [here / "openapi.yaml", *checkout]:
        if path.is_file():
            return path
    raise FileNotFoundError(f"openapi.yaml is neither in {here} (wheel) nor in a source checkout")


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
    """``info.version`` of the contract (see CHANGELOG.md), e.g. ``"1.0.1"``."""
    return str(spec_dict()["info"]["version"])
