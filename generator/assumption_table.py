"""Render ``toobit_follower_models/assumptions.py`` from the spec's ``x-assumption`` markers.

The markers are read and checked by ``tools/assumptions.py`` (the one parser of them: a
malformed marker stops generation with where and what); this writes them out as data, so
the client's conformance report and anyone else read them without walking the spec.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tools"))

from assumptions import AssumptionError, assumptions

__all__ = ["AssumptionError", "render_assumptions_module"]


def render_assumptions_module(spec: dict[str, Any]) -> str:
    """The Python source of ``toobit_follower_models/assumptions.py`` (ruff formats it after)."""
    rows = "".join(
        f"    Assumption({a.id!r}, {a.where!r}, {a.assumes!r}, {a.page!r}, {a.alternative!r}),\n"
        for a in assumptions(spec)
    )
    return f'''"""The contract's assumptions: every ``x-assumption`` marker of openapi.yaml.

What the contract assumes beyond the exchange's pages, where (a JSON pointer to the node
the marker qualifies), what the pages say, and the other reading where there is one.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final, NamedTuple

__all__ = ["ASSUMPTIONS", "BY_ID", "Assumption"]


class Assumption(NamedTuple):
    """One marker."""

    id: str
    where: str
    assumes: str
    page: str
    alternative: str | None


ASSUMPTIONS: Final[tuple[Assumption, ...]] = (
{rows})
"""Every marker, in document order."""

BY_ID: Final[Mapping[str, Assumption]] = MappingProxyType({{a.id: a for a in ASSUMPTIONS}})
"""Marker by id."""
'''
