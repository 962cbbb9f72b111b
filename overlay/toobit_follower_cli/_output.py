"""How the command line shows data: rich tables for people, exact JSON for scripts.

Money stays exact everywhere: a ``Decimal`` is printed in plain notation from its own
digits (``format(d, "f")``, so ``0.00000001`` never turns into ``1E-8``) and JSON
carries it as a string, never as a number.

Tables take their columns, headers and descriptions from the generated models, so a
field added to the spec shows up after ``make generate`` with no change here. A value
that is not set (``None``: ``""`` or ``null`` on the wire) shows as ``-``; a value of an
open enum that the spec does not list shows as itself with a note (``3 (unknown)``).
``--json`` prints the answer's own JSON (see the CLI), not these cells.

Two rules name a field, because they act on it: an avatar is a URL, too wide for a table
(``--json`` has it); a direction reads as long / short.
"""

from __future__ import annotations

import datetime as _dt
import io
import json
import shutil
import types
import typing
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import IO, Any

from pydantic import BaseModel

__all__ = [
    "UNSET",
    "Column",
    "dump_json",
    "exact",
    "field_description",
    "listed_values",
    "millis_to_utc",
    "model_columns",
    "render_record",
    "shown",
    "to_jsonable",
    "unknown",
    "unoptional",
]

UNSET = "-"
"""How a table shows a value that is not set."""

EPOCH_MS_SUFFIX = "_time_ms"
"""A field whose name ends so holds epoch milliseconds; tables show it as UTC."""


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


# ---- what the models say about their fields ---------------------------------------------
def unoptional(annotation: Any) -> Any:
    """``X`` for ``X | None``; any other annotation unchanged."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return annotation


def _is_numeric(annotation: Any) -> bool:
    """Decimal or int (also inside a union, e.g. ``Literal[""] | Decimal``)."""
    annotation = unoptional(annotation)
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return any(_is_numeric(a) for a in typing.get_args(annotation))
    return annotation is Decimal or annotation is int


def listed_values(annotation: Any) -> frozenset[Any] | None:
    """The values an open enum lists (``int | Literal[0, 1]``: one of those, or another
    integer the exchange may add), or None for any other annotation."""
    annotation = unoptional(annotation)
    if typing.get_origin(annotation) not in (typing.Union, types.UnionType):
        return None
    args = typing.get_args(annotation)
    literals = [a for a in args if typing.get_origin(a) is typing.Literal]
    if len(literals) != 1 or int not in args:
        return None
    return frozenset(typing.get_args(literals[0]))


def unknown(value: Any) -> str:
    """A value the spec does not list, shown as itself with a note."""
    return f"{value} (unknown)"


def field_description(model: type[BaseModel], name: str) -> str:
    """The spec's description of a field, on one line (``""`` when it has none)."""
    text = model.model_fields[name].description or ""
    return " ".join(text.split())


def _header(name: str) -> str:
    return name.removesuffix(EPOCH_MS_SUFFIX[-3:]).replace("_", " ")


_SIDES = {0: "short", 1: "long"}  # IsLong: 0 short, 1 long


def _side(value: Any) -> str:
    side = _SIDES.get(value)
    return side if side is not None else unknown(value)  # an answer's enum is open


HIDDEN = frozenset({"leader_avatar"})
SHOWN_AS: Mapping[str, Callable[[Any], Any]] = {"is_long": _side}
"""How a field's value reads, where the spec's value is a code."""


def shown(name: str, value: Any) -> str:
    """The text of a value of the field ``name`` (Python name), as a table shows it."""
    rule = SHOWN_AS.get(name)
    return _text(rule(value) if rule is not None and value is not None else value)


def _field_value(model: type[BaseModel], name: str) -> Callable[[Any], Any]:
    rule = SHOWN_AS.get(name)
    if rule is not None:
        return lambda row: rule(getattr(row, name))
    if name.endswith(EPOCH_MS_SUFFIX):
        return lambda row: millis_to_utc(getattr(row, name))
    listed = listed_values(model.model_fields[name].annotation)
    if listed is not None:  # an open enum: a value not listed is kept, and said so
        return lambda row: _enum_text(getattr(row, name), listed)
    return lambda row: getattr(row, name)


def _enum_text(value: Any, listed: frozenset[Any]) -> Any:
    return value if value is None or value in listed else unknown(value)


def model_columns(model: type[BaseModel]) -> list[Column]:
    """One column per field of ``model``, in the spec's order, but the hidden ones."""
    return [
        Column(_header(name), _field_value(model, name), _is_numeric(info.annotation))
        for name, info in model.model_fields.items()
        if name not in HIDDEN
    ]


def _text(value: Any) -> str:
    if isinstance(value, Decimal):
        return exact(value)
    if value is None or value == "":
        return UNSET
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


_PIPE_WIDTH = 1000
"""Width of a table written to a pipe or file: wide enough for every model's fields."""


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

    cells = [[column.text(row) for column in columns] for row in rows]
    table = Table(title=title, title_justify="left", header_style="bold")
    for i, column in enumerate(columns):
        # A number is never cut or folded: its column is at least as wide as its
        # longest cell; a header may fold instead.
        longest = max((len(line[i]) for line in cells), default=0)
        table.add_column(
            column.header,
            justify="right" if column.numeric else "left",
            overflow="fold",
            min_width=longest if column.numeric else None,
        )
    for line in cells:
        table.add_row(*line)
    # On a pipe rich would assume 80 columns and fold wide tables; there is no screen
    # to fit, so give it room instead, and drop the padding that room leaves.
    buffer = io.StringIO()
    console = Console(
        file=buffer,
        width=shutil.get_terminal_size().columns if terminal else _PIPE_WIDTH,
        force_terminal=terminal,
        soft_wrap=False,
    )
    console.print(table)
    stream.write("\n".join(line.rstrip() for line in buffer.getvalue().splitlines()) + "\n")


def render_pairs(
    title: str | None, pairs: Sequence[tuple[str, Any]], *, stream: IO[str], terminal: bool
) -> None:
    """A two-column field/value table."""
    render_table(
        title,
        [Column("field", lambda p: p[0]), Column("value", lambda p: p[1])],
        pairs,
        stream=stream,
        terminal=terminal,
    )


def render_record(title: str | None, record: BaseModel, *, stream: IO[str], terminal: bool) -> None:
    """One record, a row per field of its model: field, value, the spec's description."""
    model = type(record)
    rows = [
        (_header(name), _field_value(model, name)(record), field_description(model, name))
        for name in model.model_fields
    ]
    render_table(
        title,
        [
            Column("field", lambda r: r[0]),
            Column("value", lambda r: r[1]),
            Column("description", lambda r: r[2]),
        ],
        rows,
        stream=stream,
        terminal=terminal,
    )
