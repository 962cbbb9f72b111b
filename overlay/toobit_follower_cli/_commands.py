"""A command for every operation of the table (``toobit_follower_models.operations``).

Nothing here names an operation. Each one's parameters and body fields become flags
(``--leader-user-id``: kebab-case of the wire name), typed from the generated models and
validated through them; the client method called is the public one named for it. How a
person reads it comes from the operation's ``x-cli`` extension (generator/README.md):
the command's name (default: the operationId in kebab-case), its help, which values it
also takes as positional arguments, titles, messages, old spellings of its flags.

The rules by kind of operation:

* a read prints a table (a list, or the list inside an answer), a record (one object),
  or with ``--json`` the answer's own JSON; ``x-cli.all`` names its paging, and
  ``--all`` walks every page;
* a write takes its body's fields as flags and from ``--file``; a field still missing is
  read from the read at the same path (the current state), if there is one;
  ``--dry-run`` prints the body that would be sent;
* a DELETE asks first (``--yes`` to skip);
* ``x-cli.show: clock`` shows the answer as this machine's clock offset.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import re
import time
import typing
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from decimal import Decimal
from pathlib import Path
from typing import Any, Final, NamedTuple

from pydantic import BaseModel, ValidationError
from toobit_follower._operations import request_body
from toobit_follower._secret import mask_api_key
from toobit_follower_models.errors import BY_CODE
from toobit_follower_models.operations import OPERATIONS, Operation

from ._context import (
    EXIT_OK,
    EXIT_OTHER,
    PROG,
    Context,
    UsageError,
    client_class,
    isatty,
    method_name,
    open_client,
)
from ._output import (
    UNSET,
    dump_json,
    field_description,
    millis_to_utc,
    model_columns,
    render_record,
    shown,
    unknown,
    unoptional,
)

__all__ = ["add_commands", "clock_operation", "hint", "measure_clock", "method_name"]

_DEST: Final = "field:"
"""Prefix of a parameter's or body field's dest (then its wire name): no clash with options."""
_ARG: Final = "arg:"
"""Prefix of the dest of a value also taken as a positional argument."""


# ---- the operation's wording (x-cli) --------------------------------------------------
@dataclass(frozen=True)
class Wording:
    """An operation's ``x-cli``; generator/README.md says what each key does."""

    command: tuple[str, ...]
    help: str
    args: tuple[str, ...] = ()
    default: bool = False
    aliases: Mapping[str, Any] = field(default_factory=dict)
    title: str | None = None
    empty: str | None = None
    all: Mapping[str, str] | None = None
    all_title: str = "{count} rows"
    show: str | None = None
    confirm: str | None = None
    declined: str = "Nothing sent."
    done: str | None = None
    labels: Mapping[str, str] = field(default_factory=dict)
    json_body: str | None = None
    json_also: Mapping[str, Any] = field(default_factory=dict)
    hints: Mapping[str, str] = field(default_factory=dict)


_KEYS: Final = {f.name.replace("_", "-"): f.name for f in fields(Wording)}


def kebab(name: str) -> str:
    """``leaderUserId`` -> ``leader-user-id``."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "-", name).lower()


def _wording(op: Operation) -> Wording:
    raw = op.extensions.get("x-cli") or {}
    if not isinstance(raw, Mapping) or set(raw) - set(_KEYS):
        raise ValueError(f"{op.operation_id}: x-cli takes the keys {', '.join(_KEYS)}")
    given = {_KEYS[key]: value for key, value in raw.items()}
    given["command"] = tuple(given.get("command") or (kebab(op.operation_id),))
    given["args"] = tuple(given.get("args", ()))
    given.setdefault("help", op.summary)
    return Wording(**given)


WORDING: Final = {op.operation_id: _wording(op) for op in OPERATIONS}


# ---- its fields: parameters and body fields ------------------------------------------------
class Field(NamedTuple):
    wire: str
    python: str
    annotation: Any
    description: str
    required: bool
    model: type[BaseModel] | None
    """The model that validates it (the query's or the body's), if any."""
    location: str
    """``path``, ``query`` or ``body``."""
    default: object = None

    @property
    def body(self) -> bool:
        return self.location == "body"

    @property
    def flag(self) -> str:
        return "--" + kebab(self.wire)


def _signature_type(op: Operation, name: str) -> Any:
    """A parameter's type as the client method declares it (a path parameter has no
    generated model to read it from)."""
    try:
        hints = typing.get_type_hints(getattr(client_class(op), method_name(op)))
    except (AttributeError, NameError, TypeError):
        return str
    return hints.get(name, str)


def _fields(op: Operation) -> list[Field]:
    found = []
    query = op.query_model.model_fields if op.query_model else {}
    for p in op.params:
        info = query.get(p.python_name)
        kind = info.annotation if info else _signature_type(op, p.python_name)
        model = op.query_model if info else None
        text = " ".join(p.description.split())
        found.append(
            Field(p.name, p.python_name, kind, text, p.required, model, p.location, p.default)
        )
    if op.body_model:
        for name, info in op.body_model.model_fields.items():
            text = field_description(op.body_model, name)
            wire, required = info.alias or name, info.is_required()
            found.append(Field(wire, name, info.annotation, text, required, op.body_model, "body"))
    return found


FIELDS: Final = {op.operation_id: {f.wire: f for f in _fields(op)} for op in OPERATIONS}


def _reader(op: Operation) -> Operation | None:
    """The read at a write's path: where the current state is read from."""
    return next((o for o in OPERATIONS if o.path == op.path and not o.write), None)


def _data_model(op: Operation) -> type[BaseModel] | None:
    """The model of a read's answer data, when it is an object."""
    info = op.response_model.model_fields.get("data")
    kind = unoptional(info.annotation) if info else op.response_model
    return kind if isinstance(kind, type) and issubclass(kind, BaseModel) else None


def _command(op: Operation) -> str:
    return " ".join(WORDING[op.operation_id].command)


# ---- argument types ------------------------------------------------------------------------
_DECIMAL_RE: Final = re.compile(r"-?[0-9]+(\.[0-9]+)?")
_INT_RE: Final = re.compile(r"-?[0-9]+")


def _decimal(text: str) -> Decimal:
    """An exact decimal typed by the user in plain ASCII notation (no float on the way)."""
    if not _DECIMAL_RE.fullmatch(text.strip()):
        raise argparse.ArgumentTypeError(f"not a plain decimal number: {text!r}")
    return Decimal(text.strip())


def ascii_int(text: str) -> int:
    """An integer of ASCII digits, as typed: ``int()`` alone would take ``1_000``, digits
    of other scripts, ``+1`` and surrounding spaces."""
    if not _INT_RE.fullmatch(text):
        raise argparse.ArgumentTypeError(f"not an integer of ASCII digits: {text!r}")
    return int(text)


def _typed(annotation: Any) -> dict[str, Any]:
    """argparse's type, choices and metavar for a value of ``annotation``."""
    kind = unoptional(annotation)
    if typing.get_origin(kind) is typing.Literal:
        values = typing.get_args(kind)
        number = all(isinstance(v, int) for v in values)
        return {"type": ascii_int if number else str, "choices": values, "metavar": None}
    kinds = typing.get_args(kind) or (kind,)
    if Decimal in kinds:
        return {"type": _decimal, "metavar": "DECIMAL"}
    if int in kinds:
        return {"type": ascii_int, "metavar": "INT"}
    return {"type": str, "metavar": "TEXT"}


def _checked(f: Field, convert: Callable[[str], Any]) -> Callable[[str], Any]:
    """``convert``, then the field's checks in its model: a positional argument names what
    the command is about, so a bad one is a usage error, as a mistyped option is."""
    model = f.model
    assert model is not None

    def check(text: str) -> Any:
        value = convert(text)
        try:
            model.__pydantic_validator__.validate_assignment(
                model.model_construct(), f.python, value
            )
        except ValidationError as exc:
            raise argparse.ArgumentTypeError(f"{exc.errors()[0]['msg']}: {text!r}") from None
        return value

    return check


class _OldSpelling(argparse.Action):
    """A flag's old spelling, kept for one release: sets the new flag, and says so."""

    def __init__(self, *args: Any, new: str, **kwargs: Any) -> None:
        self.new = new
        super().__init__(*args, **kwargs)

    def __call__(
        self, parser: Any, namespace: argparse.Namespace, values: Any, option: Any = None
    ) -> None:
        setattr(namespace, self.dest, self.const if self.nargs == 0 else values)
        notes = [*getattr(namespace, "cli_notes", ()), f"{option} is now {self.new}"]
        namespace.cli_notes = notes


# ---- the parser ----------------------------------------------------------------------------
def _maximum(f: Field) -> int | None:
    info = f.model.model_fields[f.python] if f.model else None
    return next((m.le for m in info.metadata if hasattr(m, "le")), None) if info else None


def _add_arguments(
    parser: argparse.ArgumentParser, op: Operation, taken: set[str], *, positionals: bool = True
) -> None:
    w, found = WORDING[op.operation_id], FIELDS[op.operation_id]
    if positionals:
        for wire in w.args:
            f = found[wire]
            typed = _typed(f.annotation)
            if f.model is not None:
                typed["type"] = _checked(f, typed["type"])
            typed["metavar"] = kebab(wire).replace("-", "_").upper()
            help_text = f"{f.description} (or {f.flag})".replace("%", "%%")
            parser.add_argument(_ARG + wire, nargs="?", help=help_text, **typed)
    reader = _reader(op) if op.body_model else None
    state = _data_model(reader) if reader else None
    readable = state.model_fields if state else {}
    groups = {
        False: parser.add_argument_group("parameters (from the spec)"),
        True: parser.add_argument_group("body fields (from the spec)"),
    }
    for f in found.values():
        if f.flag in taken:  # a global option (--recv-window): the client sends it
            continue
        help_text = f.description
        if f.required and reader is None:
            help_text += " Required."
        elif f.required and reader is not None and f.python not in readable:
            help_text += f" Required: `{_command(reader)}` does not return it."
        if f.default is not None:
            help_text += f" Default {f.default}."
        if w.all and f.wire == w.all.get("size"):
            help_text += f" {_maximum(f)} with --all."
        options: dict[str, Any] = {"dest": _DEST + f.wire, "default": None}
        if unoptional(f.annotation) is bool:
            options["action"] = argparse.BooleanOptionalAction
        else:
            options |= _typed(f.annotation)
        groups[f.body].add_argument(f.flag, help=help_text.replace("%", "%%"), **options)
    for old, target in w.aliases.items():
        if isinstance(target, Mapping):  # a value of its own: --long sets isLong 1
            ((wire, value),) = target.items()
            extra: dict[str, Any] = {"nargs": 0, "const": value, "new": f"--{kebab(wire)} {value}"}
        else:
            wire, extra = target, {"new": found[target].flag, **_typed(found[target].annotation)}
        extra.pop("choices", None)
        parser.add_argument(
            old, dest=_DEST + wire, action=_OldSpelling, help=argparse.SUPPRESS, **extra
        )
    if w.all:
        parser.add_argument("--all", action="store_true", help="walk every page")
        progress = parser.add_mutually_exclusive_group()
        progress.add_argument(
            "--progress",
            action="store_true",
            default=None,
            help="show progress on stderr with --all (default: on a terminal)",
        )
        progress.add_argument("--no-progress", dest="progress", action="store_false")
    if op.body_model:
        parser.add_argument(
            "-f", "--file", metavar="FILE", help="JSON object with the fields ('-' reads stdin)"
        )
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="print the exact body that would be sent and stop",
        )
    if op.method == "DELETE":
        parser.add_argument(
            "-y", "--yes", action="store_true", help="do not ask; required when not on a terminal"
        )


def _epilog(op: Operation) -> str | None:
    reader = _reader(op) if op.body_model else None
    if reader is None:
        return None
    read = _command(reader)
    return (
        f"Fields come from --file (JSON, the exchange's names as `{read} --json` prints them,"
        " or snake_case), then the options; any field still missing is taken from what"
        f" `{read}` returns now. A required field that `{read}` does not return must be"
        " given in the file or as an option."
    )


def add_commands(commands: Any, leaf: argparse.ArgumentParser) -> None:
    """A command per operation under ``commands`` (the root's subparsers); ``leaf`` holds
    the global options every command takes too."""
    taken = set(leaf._option_string_actions)
    nodes: dict[tuple[str, ...], Any] = {(): commands}
    groups: dict[tuple[str, ...], argparse.ArgumentParser] = {}

    def sub(under: tuple[str, ...], name: str, help_text: str, **kw: Any) -> Any:
        return nodes[under].add_parser(
            name, help=help_text, description=help_text, parents=[leaf], **kw
        )

    for op in OPERATIONS:
        w = WORDING[op.operation_id]
        for depth in range(1, len(w.command)):
            path = w.command[:depth]
            if path not in nodes:
                inner = [v.help for v in WORDING.values() if v.command[:depth] == path]
                groups[path] = sub(path[:-1], path[-1], "; ".join(inner))
                nodes[path] = groups[path].add_subparsers(metavar="SUBCOMMAND", required=True)
        parser = sub(w.command[:-1], w.command[-1], w.help, epilog=_epilog(op))
        _add_arguments(parser, op, taken)
        parser.set_defaults(cli_operation=op, cli_run=run)
        if w.default and len(w.command) > 1:  # the group alone runs it
            _add_arguments(groups[w.command[:-1]], op, taken, positionals=False)
            groups[w.command[:-1]].set_defaults(cli_operation=op, cli_run=run)
            nodes[w.command[:-1]].required = False


# ---- running ------------------------------------------------------------------------------
class _Blank(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return UNSET


def _words(op: Operation, values: Mapping[str, Any], model: BaseModel | None = None) -> _Blank:
    """What an x-cli text may name: the request's values and the answer's fields by wire
    name, shown as a table shows them."""
    words = _Blank(prog=PROG)
    for f in FIELDS[op.operation_id].values():
        value = values.get(f.wire, f.default)
        if value is not None:
            words[f.wire] = shown(f.python, value)
    for name, info in type(model).model_fields.items() if model is not None else ():
        words[info.alias or name] = shown(name, getattr(model, name))
    return words


def hint(ctx: Context, code: int | None) -> str | None:
    """The operation's own hint for an error code (``x-cli.hints``), if it has one."""
    op, row = ctx.operation, BY_CODE.get(code) if code is not None else None
    text = WORDING[op.operation_id].hints.get(row.name) if op and row else None
    return text.format_map(_words(op, ctx.values)) if op and text else None


def _given(args: argparse.Namespace, op: Operation) -> dict[str, Any]:
    """The values given on the command line, by wire name."""
    values = {}
    for f in FIELDS[op.operation_id].values():
        flag, arg = getattr(args, _DEST + f.wire, None), getattr(args, _ARG + f.wire, None)
        if flag is not None and arg is not None and flag != arg:
            raise UsageError(f"{_name(op, f)}: two values, {arg} and {flag}")
        if flag is not None or arg is not None:
            values[f.wire] = arg if arg is not None else flag
    return values


def _name(op: Operation, f: Field) -> str:
    if f.wire in WORDING[op.operation_id].args:
        return f"{kebab(f.wire).replace('-', '_').upper()} (or {f.flag})"
    return f.flag


def _params(op: Operation, values: Mapping[str, Any]) -> dict[str, Any]:
    """The method's keywords for the parameters given, checked by the query's model."""
    given = [f for f in FIELDS[op.operation_id].values() if not f.body and f.wire in values]
    for f in FIELDS[op.operation_id].values():
        if f.required and not f.body and f.wire not in values:
            raise UsageError(f"{_name(op, f)} is required")
    if op.query_model:  # refused before sending (exit 5), as the client refuses a value
        op.query_model.model_validate({f.wire: values[f.wire] for f in given if f.model})
    return {f.python: values[f.wire] for f in given}


def run(ctx: Context) -> int:
    op = ctx.operation
    assert op is not None
    for note in getattr(ctx.args, "cli_notes", ()):
        ctx.note(f"{PROG}: {note}; the old spelling goes in the next release")
    ctx.values = _given(ctx.args, op)
    w = WORDING[op.operation_id]
    if w.show == "clock":
        return _show_clock(ctx)
    return _write(ctx, op, w) if op.write else _read(ctx, op, w)


def answer_json(op: Operation, content: bytes) -> Any:
    """The answer's data exactly as the exchange wrote it, for ``--json``: strings and
    integers as sent (a 64-bit ID stays a string or a number, an unset value ``""`` or
    ``null``); a JSON number with a fraction, which the spec does not expect, becomes an
    exact decimal string rather than a float."""
    answer = json.loads(content, parse_float=Decimal)
    return answer["data"] if "data" in op.response_model.model_fields else answer


def _rows(model: type[BaseModel]) -> tuple[str, str, type[BaseModel]] | None:
    """(Python name, wire name, item model) of a model's list of records, if it has one."""
    for name, info in model.model_fields.items():
        kind = unoptional(info.annotation)
        item = typing.get_args(kind)[0] if typing.get_origin(kind) is list else None
        if isinstance(item, type) and issubclass(item, BaseModel):
            return name, info.alias or name, item
    return None


def _python(model: type[BaseModel], wire: str) -> str:
    return next(n for n, info in model.model_fields.items() if (info.alias or n) == wire)


def _read(ctx: Context, op: Operation, w: Wording) -> int:
    kwargs = _params(op, ctx.values)
    with open_client(ctx) as client:
        call = getattr(client.with_raw_response, method_name(op))
        if w.all and ctx.args.all:
            return _walk(ctx, op, w, call, kwargs)
        parsed, response = call(**kwargs)
    if ctx.json:
        dump_json(answer_json(op, response.content), ctx.out)
        return EXIT_OK
    words = _words(op, ctx.values, parsed if isinstance(parsed, BaseModel) else None)
    title = w.title.format_map(words) if w.title else None
    rows = _rows(type(parsed)) if isinstance(parsed, BaseModel) else None
    if isinstance(parsed, list):
        info = op.response_model.model_fields.get("data")
        item = typing.get_args(unoptional(info.annotation))[0] if info else None
        if not parsed or not isinstance(item, type):
            ctx.note(w.empty or f"{op.summary}: none.")
        else:
            ctx.table(title, model_columns(item), parsed)
    elif rows is not None:
        ctx.table(title, model_columns(rows[2]), getattr(parsed, rows[0]))
    elif isinstance(parsed, BaseModel):
        render_record(title, parsed, stream=ctx.out, terminal=ctx.terminal)
    else:
        ctx.out.write(f"{shown('', parsed)}\n")
    return EXIT_OK


def _walk(ctx: Context, op: Operation, w: Wording, call: Any, kwargs: dict[str, Any]) -> int:
    """``--all``: every page; a progress bar on stderr when wanted (--progress, or
    stderr is a terminal)."""
    assert w.all is not None
    found = FIELDS[op.operation_id]
    page, size = found[w.all["page"]], found[w.all["size"]]
    if page.python in kwargs:
        raise UsageError(f"{page.flag} and --all exclude each other")
    kwargs.setdefault(size.python, _maximum(size) or size.default)
    first, response = call(**kwargs, **{page.python: 1})
    answer = answer_json(op, response.content)
    rows_of = _rows(type(first))
    assert rows_of is not None
    name, wire, item = rows_of
    rows, answer_rows = list(getattr(first, name)), list(answer[wire])
    pages = int(getattr(first, _python(type(first), w.all["pages"])))
    show = ctx.args.progress if ctx.args.progress is not None else isatty(ctx.err)
    number = 1
    with contextlib.ExitStack() as stack:
        bar: Any = None
        if show and pages > 1 and rows:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

            console = Console(file=ctx.err)
            bar = stack.enter_context(
                Progress(
                    TextColumn(f"{w.command[-1]} pages"),
                    BarColumn(),
                    MofNCompleteColumn(),
                    TextColumn("{task.fields[rows]} rows"),
                    console=console,
                    transient=console.is_terminal,
                )
            )
            task = bar.add_task("pages", total=pages, completed=1, rows=len(rows))
        while number < pages and rows:
            batch, response = call(**kwargs, **{page.python: number + 1})
            if not getattr(batch, name):  # the list shrank while we walked it
                break
            number += 1
            rows.extend(getattr(batch, name))
            answer_rows.extend(answer_json(op, response.content)[wire])
            if bar is not None:
                bar.update(task, completed=number, rows=len(rows))
    if ctx.json:
        dump_json(answer | {w.all["pages"]: str(number), wire: answer_rows}, ctx.out)
    else:
        words = _words(op, ctx.values, first) | {"count": str(len(rows))}
        ctx.table(w.all_title.format_map(_Blank(words)), model_columns(item), rows)
    return EXIT_OK


def _write(ctx: Context, op: Operation, w: Wording) -> int:
    params = _params(op, ctx.values)
    if op.method == "DELETE" and not _confirmed(ctx, op, w):
        return EXIT_OTHER
    with open_client(ctx) as client:
        body = _body(ctx, op, client) if op.body_model else None
        sent = json.loads(request_body(body)) if body is not None else {}
        ctx.values |= sent
        if body is not None and ctx.args.dry_run:
            ctx.out.write(request_body(body).decode("utf-8") + "\n")
            return EXIT_OK
        given = {n: getattr(body, n) for n in type(body).model_fields} if body else {}
        getattr(client, method_name(op))(
            **params, **{n: v for n, v in given.items() if v is not None}
        )
    if ctx.json:
        found = FIELDS[op.operation_id].values()
        result: dict[str, Any] = {"ok": True} | {
            f.wire: str(ctx.values[f.wire]) for f in found if f.location == "path"
        }
        result |= {w.json_body: sent} if w.json_body else sent
        dump_json(result | dict(w.json_also), ctx.out)
        return EXIT_OK
    words = _words(op, ctx.values, body)
    words["changes"] = ", ".join(_changes(w, body)) if body is not None else ""
    ctx.out.write((w.done or f"{op.summary}: done.").format_map(words) + "\n")
    return EXIT_OK


def _changes(w: Wording, body: BaseModel) -> list[str]:
    """The optional fields given, each as ``label value`` (x-cli.labels)."""
    said = []
    for name, info in type(body).model_fields.items():
        value = getattr(body, name)
        if not info.is_required() and value is not None:
            label = w.labels.get(info.alias or name, kebab(info.alias or name))
            text = shown(name, value)
            said.append(label.format(text) if "{}" in label else f"{label} {text}")
    return said


def _confirmed(ctx: Context, op: Operation, w: Wording) -> bool:
    if ctx.args.yes:
        return True
    words = _words(op, ctx.values)
    what = w.confirm or f"{op.summary} ({', '.join(map(str, ctx.values.values()))})"
    what = what.format_map(words)
    if not isatty(ctx.stdin):
        raise UsageError(
            f"refusing to {what[:1].lower()}{what[1:]} without confirmation: this session is"
            " not interactive; add --yes to confirm"
        )
    ctx.err.write(f"{what} with key {mask_api_key(ctx.creds.api_key)} on {ctx.base_url}? [y/N] ")
    ctx.err.flush()
    if ctx.stdin.readline().strip().lower() in ("y", "yes"):
        return True
    ctx.note(w.declined)
    return False


# ---- a body: --file, the flags, then the current state ------------------------------------
def _read_file(ctx: Context, op: Operation, known: Sequence[type[BaseModel]]) -> dict[str, Any]:
    """The body fields of a JSON file, under their Python names. It may be what the read
    at the same path prints with --json (its other fields are dropped), or an envelope."""
    name, model = ctx.args.file, op.body_model
    assert model is not None
    try:
        text = ctx.stdin.read() if name == "-" else Path(name).read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot read {name}: {exc.strerror}") from None
    try:
        # Exact numbers: a JSON number with a fraction becomes a Decimal, never a float.
        data = json.loads(text, parse_float=Decimal)
    except json.JSONDecodeError as exc:
        raise UsageError(f"{name} is not valid JSON: {exc}") from None
    if isinstance(data, dict) and isinstance(data.get("data"), dict) and "code" in data:
        data = data["data"]  # a whole API envelope
    if not isinstance(data, dict):
        raise UsageError(f"{name}: expected a JSON object of fields")
    names = {
        key: field
        for m in (*known, model)
        for field, info in m.model_fields.items()
        for key in (field, info.alias or field)
    }
    fields: dict[str, Any] = {}
    for key, value in data.items():
        if key not in names:
            raise UsageError(f"{name}: unknown field {key!r}")
        if names[key] in model.model_fields:
            fields[names[key]] = value
    for wire in WORDING[op.operation_id].args:  # what the command is about must agree
        f = FIELDS[op.operation_id][wire]
        if f.body and f.python in fields and wire in ctx.values:
            if str(fields[f.python]) != str(ctx.values[wire]):
                raise UsageError(f"{name} is for {wire} {fields[f.python]}, not {ctx.values[wire]}")
    return fields


def _can_send_back(model: type[BaseModel], name: str, value: Any) -> bool:
    """Whether a value of the current state can go into the body as it is: it is set
    and, where the body's field is a closed enum, one of its values (an answer's enum is
    open)."""
    if value is None:
        return False
    kind = unoptional(model.model_fields[name].annotation)
    return typing.get_origin(kind) is not typing.Literal or value in typing.get_args(kind)


def _body(ctx: Context, op: Operation, client: Any) -> BaseModel:
    model = op.body_model
    assert model is not None
    found = FIELDS[op.operation_id]
    reader = _reader(op)
    state = _data_model(reader) if reader else None
    fields = _read_file(ctx, op, [state] if state else []) if ctx.args.file else {}
    fields |= {
        f.python: ctx.values[f.wire] for f in found.values() if f.body and f.wire in ctx.values
    }
    missing = [f for f in found.values() if f.body and f.python not in fields]
    readable = state.model_fields if state else {}
    for f in missing:
        if f.required and f.python not in readable:
            why = f" and `{_command(reader)}` does not return it" if reader else ""
            raise UsageError(
                f"{f.wire} is required{why}: pass {_name(op, f)} or put {f.wire} in the file"
            )
    optional = [f for f in found.values() if f.body and not f.required]
    if reader and any(f.python in readable for f in missing):
        values = {f.wire: fields[f.python] for f in found.values() if f.body and f.python in fields}
        current = getattr(client, method_name(reader))(**_params(reader, ctx.values | values))
        for f in missing:
            value = getattr(current, f.python, None)
            if _can_send_back(model, f.python, value):
                fields[f.python] = value
            elif f.required:  # an answer may hold what a request cannot send: ask for it
                said = "not set" if value is None else unknown(value)
                raise UsageError(
                    f"{f.wire} is {said} in what `{_command(reader)}` returns: pass"
                    f" {f.flag} or put {f.wire} in the file"
                )
    elif not reader and op.method != "POST" and optional and set(optional) <= set(missing):
        flags = ", ".join(f.flag for f in optional)  # an update of nothing
        raise UsageError(f"nothing to change: give at least one of {flags}")
    return model.model_validate(fields)


# ---- the clock ------------------------------------------------------------------------------
def clock_operation() -> Operation | None:
    """The operation whose answer is the server's clock (``x-cli.show: clock``)."""
    return next((op for op in OPERATIONS if WORDING[op.operation_id].show == "clock"), None)


def measure_clock(ctx: Context) -> tuple[int, int, int, str]:
    """(server ms, local ms at the middle of the round trip, round trip ms, path), through
    the client (its gate, its deadline)."""
    op = clock_operation()
    if op is None:
        raise LookupError("no operation of the spec reads the server's clock")
    with open_client(ctx) as client:
        before = time.time()
        server = getattr(client, method_name(op))()
        after = time.time()
    if isinstance(server, BaseModel):  # no x-python.result: the answer itself
        server = next(iter(server.model_dump().values()))
    return int(server), round((before + after) * 500), round((after - before) * 1000), op.path


def _show_clock(ctx: Context) -> int:
    server_ms, local_ms, rtt, _ = measure_clock(ctx)
    offset = server_ms - local_ms
    if ctx.json:
        dump_json(
            {
                "serverTime": server_ms,
                "localTime": local_ms,
                "offsetMs": offset,
                "roundTripMs": rtt,
                "baseUrl": ctx.base_url,
            },
            ctx.out,
        )
        return EXIT_OK
    ctx.pairs(
        None,
        [
            ("server time", f"{millis_to_utc(server_ms)} ({server_ms})"),
            ("local time", f"{millis_to_utc(local_ms)} ({local_ms})"),
            ("offset", f"{offset:+d} ms (server minus local; positive: your clock is behind)"),
            ("round trip", f"{rtt} ms"),
            ("base URL", ctx.base_url),
        ],
    )
    return EXIT_OK
