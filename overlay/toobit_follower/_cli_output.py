"""How the command line shows data: rich tables for people, exact JSON for scripts.

Money stays exact everywhere: a ``Decimal`` is printed in plain notation from its own
digits (``format(d, "f")``, so ``0.00000001`` never turns into ``1E-8``) and JSON
carries it as a string, never as a number.
"""

from __future__ import annotations

import datetime as _dt
import io
import json
import shutil
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import IO, Any

from pydantic import BaseModel

__all__ = [
    "Column",
    "dump_json",
    "exact",
    "millis_to_utc",
    "to_jsonable",
]


def exact(value: Decimal) -> str:
    """A decimal in plain notation with exactly its own digits."""
    if value.is_zero():
        value = value.copy_abs()
    return format(value, "f")


def to_jsonable(value: Any) -> Any:
    """Models under the exchange's own field names; decimals as exact strings."""
    if isinstance(value, BaseModel):
        return to_jsonable(value.model_dump(by_alias=True))
    if isinstance(value, Decimal):
        return exact(value)
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_jsonable(v) for v in value]
    if isinstance(value, float):  # nothing we print is a float; refuse to invent digits
        raise TypeError(f"refusing to print a float as money: {value!r}")
    return value


def dump_json(value: Any, stream: IO[str]) -> None:
    json.dump(to_jsonable(value), stream, ensure_ascii=False, indent=2)
    stream.write("\n")


def millis_to_utc(ms: int | str) -> str:
    """Epoch milliseconds as ``2024-06-01 00:00:00.000 UTC``."""
    moment = _dt.datetime.fromtimestamp(int(ms) / 1000, tz=_dt.UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S.") + f"{int(ms) % 1000:03d} UTC"


def _text(value: Any) -> str:
    if isinstance(value, Decimal):
        return exact(value)
    if value is None or value == "":
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


@dataclass(frozen=True, slots=True)
class Column:
    """One table column: its header, how to get its text from a row, and alignment."""

    header: str
    get: Callable[[Any], Any]
    numeric: bool = False

    def text(self, row: Any) -> str:
        return _text(self.get(row))


def render_table(
    title: str | None,
    columns: Sequence[Column],
    rows: Iterable[Any],
    *,
    stream: IO[str],
    terminal: bool,
) -> None:
    """An aligned rich table; numbers right-aligned and never cut short."""
    try:
        from rich.console import Console
        from rich.table import Table
    except ImportError:
        raise RuntimeError(
            "tables need rich: pip install 'toobit-follower[cli]' (or use --json)"
        ) from None

    table = Table(title=title, title_justify="left", header_style="bold")
    for column in columns:
        table.add_column(
            column.header,
            justify="right" if column.numeric else "left",
            overflow="fold",
            no_wrap=column.numeric,
        )
    for row in rows:
        table.add_row(*(column.text(row) for column in columns))
    # On a pipe rich would assume 80 columns and fold wide tables; there is no screen
    # to fit, so give it room instead, and drop the padding that room leaves.
    buffer = io.StringIO()
    console = Console(
        file=buffer,
        width=shutil.get_terminal_size().columns if terminal else 240,
        force_terminal=terminal,
        soft_wrap=False,
    )
    console.print(table)
    stream.write("\n".join(line.rstrip() for line in buffer.getvalue().splitlines()) + "\n")


def render_pairs(
    title: str | None, pairs: Sequence[tuple[str, Any]], *, stream: IO[str], terminal: bool
) -> None:
    """A two-column field/value table (one record)."""
    render_table(
        title,
        [Column("field", lambda p: p[0]), Column("value", lambda p: p[1])],
        pairs,
        stream=stream,
        terminal=terminal,
    )
