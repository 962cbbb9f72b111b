"""Checks against the spec's rules: MANDATORY_PARAM_EMPTY_OR_MALFORMED (missing / null /
wrong JSON type / malformed), UNKNOWN_PARAM (unknown field) and INVALID_PARAMETER (present
but out of range, precision, pattern, enum); `conforms` applies the same rules to a
stored document.

Order inside one request: the body must be a JSON object; then every field's presence
and JSON type in the spec's property order (missing); then unknown fields (unknown);
then every field's value in property order (invalid); then the generated pydantic model.

The spec's patterns are matched in linear time (`pattern_matches`): by pydantic-core's Rust
`regex`, the engine the generated models use, never by Python's backtracking `re`, so no
value can make a pattern backtrack and hold the event loop (issue 17, item 7: one
`followSymbolIds` of forty items froze the simulator for good).
"""

from __future__ import annotations

import json
import re
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import SchemaError, SchemaValidator, core_schema

from .errors import ApiError, invalid, missing, unknown_parameter
from .spec import FieldRule, SpecError

BODY = "body"
_INT_TEXT = re.compile(r"-?[0-9]{1,25}")
_MAX_NAME = 100  # unknown field names are echoed in the message; keep it bounded


class _DuplicateKey(ValueError):
    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj: dict[str, Any] = {}
    for key, value in pairs:
        if key in obj:
            raise _DuplicateKey(key)
        obj[key] = value
    return obj


def _no_constants(name: str) -> Any:
    # NaN / Infinity are not JSON.
    raise ValueError(name)


_MAX_INT_DIGITS = 25  # beyond any int64: refused as out of range without building the int
_HUGE = 10**_MAX_INT_DIGITS
# A number longer than this is malformed, as in Jackson (StreamReadConstraints'
# maxNumberLength); it also stays clear of Python's 4300-digit guard on int().
_MAX_NUMBER_CHARS = 1000


def _parse_int(text: str) -> int:
    if len(text) > _MAX_NUMBER_CHARS:
        raise ValueError("number too long")
    return int(text)


def _parse_float(text: str) -> Decimal:
    """A JSON number with a fraction or exponent, exactly (Decimal), so that `30.0` can be
    taken as the integer it is (JSON Schema's `integer`, and Jackson's default) without
    float rounding. One too long, or with an exponent past Decimal's +-999999999999999999
    (`1e99999999999999999999`), is malformed."""
    if len(text) > _MAX_NUMBER_CHARS:
        raise ValueError("number too long")
    try:
        return Decimal(text)
    except InvalidOperation:
        raise ValueError("exponent out of range") from None


_DECODER = json.JSONDecoder(
    object_pairs_hook=_pairs,
    parse_constant=_no_constants,
    parse_float=_parse_float,
    parse_int=_parse_int,
)


def _shown(name: str) -> str:
    # Echoed in the message: bounded, and lone surrogates ("\ud800") made encodable.
    name = name.encode("utf-8", "replace").decode("utf-8")
    return name if len(name) <= _MAX_NAME else name[:_MAX_NAME] + "..."


def parse_json_object(raw: bytes) -> dict[str, Any]:
    """The request body as a JSON object, else missing 'body' (invalid for a duplicated key)."""
    # Basic Information: a body that is empty or does not start with { or [ is rejected.
    if not raw or raw[0] not in b"{[":
        raise missing(BODY)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise missing(BODY) from None
    try:
        obj = _DECODER.decode(text)
    except _DuplicateKey as dup:
        raise invalid(_shown(dup.name)) from None
    except (ValueError, RecursionError):
        raise missing(BODY) from None
    if not isinstance(obj, dict):
        raise missing(BODY)
    return obj


# JSON Schema's patterns are ECMA-262 regular expressions: `\s` is this class, without
# U+0085 or U+001C..U+001F, which Rust's (Unicode White_Space) and Python's `\s` add
# (the contract fuzz found "ab,\x85" refused although the spec's pattern admits it).
_ECMA_SPACE = (
    r"\t\n\x{0B}\x{0C}\r \x{A0}\x{1680}\x{2000}-\x{200A}\x{2028}\x{2029}\x{202F}"
    r"\x{205F}\x{3000}\x{FEFF}"
)


def _ecma_classes(pattern: str) -> str:
    r"""``pattern`` with ``\s`` and ``\S`` spelled out as ECMA-262 defines them."""
    out: list[str] = []
    in_class = False
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\" and i + 1 < len(pattern):
            escaped = pattern[i + 1]
            if escaped == "s":
                out.append(_ECMA_SPACE if in_class else f"[{_ECMA_SPACE}]")
            elif escaped == "S" and not in_class:
                out.append(f"[^{_ECMA_SPACE}]")
            else:
                out.append(pattern[i : i + 2])
            i += 2
            continue
        if char == "[" and not in_class:
            in_class = True
        elif char == "]" and in_class:
            in_class = False
        out.append(char)
        i += 1
    return "".join(out)


@lru_cache(maxsize=256)  # the spec's patterns only: a handful
def _linear_matcher(pattern: str) -> SchemaValidator:
    try:
        return SchemaValidator(core_schema.str_schema(pattern=_ecma_classes(pattern)))
    except SchemaError as error:  # a look-around or a backreference: no linear engine has them
        raise SpecError(f"pattern {pattern!r} has no linear-time match: {error}") from None


def pattern_matches(pattern: str | re.Pattern[str], value: str) -> bool:
    """JSON Schema's `pattern`: the value contains a match anywhere (a search; the spec anchors
    its patterns with ^ and $ itself). Matched by Rust's `regex` through pydantic-core, in
    time linear in the value, whatever the pattern; a pattern it cannot run raises SpecError.
    `\\s` and `\\S` are ECMA-262's, as JSON Schema says (`_ecma_classes`)."""
    source = pattern.pattern if isinstance(pattern, re.Pattern) else pattern
    return _linear_matcher(source).isinstance_python(value)


_ABSENT = object()
_SYMBOL_IDS = "FollowSymbolIds"
_ALL = "all"
_TYPES = {"integer": int, "string": str, "boolean": bool, "null": type(None), "array": list}


def _value_ok(rule: FieldRule, value: Any, spaces_in_symbol_ids: bool = False) -> bool:
    """True when a value of the right JSON type meets the rule's enum/range/pattern."""
    each = rule.items
    if each is not None:  # an array: each item (of its JSON type, checked before)
        if each.any_of is not None:
            return all(conforms(each, item) for item in value)
        return all(_value_ok(each, item, spaces_in_symbol_ids) for item in value)
    if rule.kind == "integer":
        if rule.enum is not None and value not in rule.enum:
            return False
        if rule.minimum is not None and value < rule.minimum:
            return False
        return rule.maximum is None or value <= rule.maximum
    if rule.kind != "string":
        return True
    if rule.max_length is not None and len(value) > rule.max_length:
        return False
    if rule.enum is not None and value not in rule.enum:
        return False
    if rule.pattern is not None and not pattern_matches(rule.pattern, value):
        return False
    if rule.is_decimal and (rule.minimum is not None or rule.maximum is not None):
        try:
            number = Decimal(value)
        except InvalidOperation:
            return False
        if rule.minimum is not None and number < rule.minimum:
            return False
        if rule.maximum is not None and number > rule.maximum:
            return False
    if rule.schema_name == _SYMBOL_IDS:
        # Rule 5: `all` stands alone: the `not` beside the spec's pattern, which the
        # FieldRule does not carry. Spaces around the commas are allowed (assumption
        # follow-symbol-ids-spaces; its alternative: they belong to the IDs).
        items = value.split(",")
        if not spaces_in_symbol_ids:
            items = [item.strip() for item in items]
        if len(items) > 1 and _ALL in items:
            return False
    return True


def _integral(value: Decimal) -> bool:
    return value.is_finite() and value == value.to_integral_value()


class BodyPlan:
    """A body schema's rules, compiled once: (name, required, JSON type, rule) and the names.
    `spaces_in_symbol_ids`: the alternative of assumption follow-symbol-ids-spaces."""

    __slots__ = ("fields", "names", "spaces_in_symbol_ids")

    def __init__(self, rules: tuple[FieldRule, ...], spaces_in_symbol_ids: bool = False) -> None:
        for rule in rules:
            for each in (rule, rule.items):
                if each is not None and each.pattern is not None:
                    _linear_matcher(each.pattern.pattern)  # one it cannot run fails at start
        self.fields = tuple((rule.name, rule.required, _TYPES[rule.kind], rule) for rule in rules)
        self.names = frozenset(rule.name for rule in rules)
        self.spaces_in_symbol_ids = spaces_in_symbol_ids


def check_body(plan: BodyPlan, obj: dict[str, Any]) -> None:
    """Raise the first missing / unknown / invalid error the body deserves, or return."""
    fields = plan.fields
    for name, required, kind, rule in fields:
        value = obj.get(name, _ABSENT)
        if value is _ABSENT:
            if required:
                raise missing(name)
            continue
        if type(value) is not kind:  # also null, and a bool where an integer is wanted
            if kind is int and type(value) is Decimal and _integral(value):
                # 30.0 or 3e1 is an integer; it goes on as one (range checked below).
                value = obj[name] = int(value) if value.adjusted() < _MAX_INT_DIGITS else _HUGE
                continue
            raise missing(name)
        if type(value) is str and (not value or value.isspace()) and not _value_ok(rule, value):
            raise missing(name)  # blank where the schema wants text (followSymbolIds, rule 5)
        items = rule.items
        if type(value) is list and items is not None and items.any_of is None:
            item_kind = _TYPES[items.kind]  # each item of its JSON type (a null one: missing)
            if any(type(item) is not item_kind for item in value):
                raise missing(name)
    names = plan.names
    for key in obj:
        if key not in names:
            raise unknown_parameter(_shown(key))
    spaces = plan.spaces_in_symbol_ids
    for name, _, _, rule in fields:
        value = obj.get(name, _ABSENT)
        if value is not _ABSENT and not _value_ok(rule, value, spaces):
            raise invalid(name)


def model_view(plan: BodyPlan, obj: dict[str, Any]) -> dict[str, Any]:
    """The body as the generated model is to see it. The model reads `followSymbolIds` the
    contract's way; when the plan reads it the alternative's way (spaces kept, checked by
    check_body), the model sees `all` there instead."""
    if not plan.spaces_in_symbol_ids:
        return obj
    names = [name for name, _, _, rule in plan.fields if rule.schema_name == _SYMBOL_IDS]
    return {**obj, **{name: _ALL for name in names if name in obj}}


_EXPONENT = re.compile(r"-?[0-9]+(\.[0-9]+)?[eE][+-]?[0-9]+")
_PLAIN_DIGITS = 40  # past this many digits either side of the point, left to be refused


def plain_decimals(plan: BodyPlan, obj: dict[str, Any]) -> None:
    """Assumption request-decimal-plain-string, its alternative: a decimal field sent as a
    JSON number or in exponent notation is taken in plain notation (`1E+2` -> `"100"`),
    then checked as if sent so."""
    for name, _, _, rule in plan.fields:
        value = obj.get(name)
        if not rule.is_decimal or not (
            (isinstance(value, (int, Decimal)) and type(value) is not bool)
            or (isinstance(value, str) and _EXPONENT.fullmatch(value) is not None)
        ):
            continue
        number = Decimal(value)
        if abs(number.adjusted()) <= _PLAIN_DIGITS:
            obj[name] = format(number, "f")


def conforms(rule: FieldRule, value: Any) -> bool:
    """True when a value (of any JSON type) meets the rule: type, then enum/range/pattern."""
    if rule.any_of is not None:
        return any(conforms(alternative, value) for alternative in rule.any_of)
    if rule.items is not None:
        items = rule.items
        return type(value) is list and all(conforms(items, item) for item in value)
    return type(value) is _TYPES[rule.kind] and _value_ok(rule, value)


def check_model(model: type[BaseModel], obj: dict[str, Any]) -> BaseModel:
    """The generated model as a second gate; anything it refuses is invalid on that field."""
    try:
        return model.model_validate(obj)
    except ValidationError as exc:
        errors = exc.errors()
        if errors and all(e["type"] == "string_pattern_mismatch" for e in errors):
            # Every spec pattern was matched already as ECMA-262 reads it (pattern_matches);
            # pydantic-core's `\s` is Unicode White_Space (U+0085 too), so its verdict on a
            # pattern is not the contract's: the model gets a value its patterns take.
            fields = {str(e["loc"][0]) for e in errors if e["loc"]}
            try:
                return model.model_validate({**obj, **dict.fromkeys(fields, _PLAIN)})
            except ValidationError:
                pass
        loc = errors[0]["loc"] if errors else ()
        name = str(loc[0]) if loc else BODY
        raise invalid(_shown(name)) from None


_PLAIN = "A"
"""A value every pattern of the spec's strings takes (no comma, not blank)."""


def parse_int_param(rule: FieldRule, value: str | None) -> int:
    """A query or path integer: absent -> default or missing, empty -> missing, bad -> invalid."""
    if value is None:
        if rule.required or rule.default is None:
            raise missing(rule.name)
        return int(rule.default)
    if value == "":
        raise missing(rule.name)
    if _INT_TEXT.fullmatch(value) is None:
        raise invalid(rule.name)
    number = int(value)
    if rule.enum is not None and number not in rule.enum:  # getTradeData's `type`
        raise invalid(rule.name)
    if rule.minimum is not None and number < rule.minimum:
        raise invalid(rule.name)
    if rule.maximum is not None and number > rule.maximum:
        raise invalid(rule.name)
    return number


__all__ = [
    "BODY",
    "ApiError",
    "BodyPlan",
    "check_body",
    "check_model",
    "conforms",
    "model_view",
    "parse_int_param",
    "parse_json_object",
    "pattern_matches",
    "plain_decimals",
]
