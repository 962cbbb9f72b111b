"""Python types of the spec's scalars that no pydantic builtin reads as the spec says.

generate.py copies this file into the generated models package as
``toobit_follower_models/scalars.py``; a schema names one of these types with
``x-python-type`` (datamodel-code-generator's extension), so the generated models use
it wherever the schema is referenced. It imports nothing of the project.

Typed access is exact (an ``int``; a ``Decimal``, or ``None`` when not set), whatever
form the answer took; JSON dumps (``model_dump(mode="json")``) write the form the
exchange usually sends, the page's: digits in a string, ``""`` for a value not set.
The exact text of an answer is its raw body (``client.with_raw_response``).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, PlainSerializer

__all__ = ["FollowSymbolIds", "Int64", "UnsetDecimal"]


def _unset_as_none(value: Any) -> Any:
    # The exchange writes a value that is not set as "" (the page's examples) or null.
    return None if value == "" else value


def _as_text(value: Decimal | None) -> str:
    return "" if value is None else str(value)


UnsetDecimal = Annotated[
    Decimal | None,
    BeforeValidator(_unset_as_none),
    PlainSerializer(_as_text, return_type=str, when_used="json"),
]
"""``DecimalString``: a ``Decimal``, or ``None`` for ``""`` and ``null`` (not set)."""

Int64 = Annotated[int, PlainSerializer(str, return_type=str, when_used="json")]
"""``Int64``: an ``int``, read from a string of digits or a JSON number."""


def _all_stands_alone(value: str) -> str:
    # The `not` of the spec's FollowSymbolIds, which pydantic cannot take (its pattern it
    # does): `all` is never one item of several, spaces around it or not.
    items = [item.strip() for item in value.split(",")]
    if len(items) > 1 and "all" in items:
        raise ValueError("`all` cannot be mixed with symbol IDs")
    return value


FollowSymbolIds = Annotated[str, AfterValidator(_all_stands_alone)]
"""``FollowSymbolIds``: ``all``, or symbol IDs separated by commas, never both."""
