"""Variants: success answers in the tolerant shapes the contract allows (issue 14, item 4).

With `SimOptions.variants` (`serve --variants [--variants-seed N]`) every success answer
is rewritten, node by node, into a shape its 200 response schema in openapi.yaml also
admits, so that clients, the end-to-end tests and `make fuzz` meet what a live host may
send. At each node, with probability `RATE`, one of the shapes the node's schema admits:

| kind | what | where the schema admits it |
|---|---|---|
| `null` | `null` for the value | a `null` branch (an unset decimal, a nickname) |
| `empty` | `""` for the value | an explicit `""` (an unset decimal) |
| `number` | a string of digits as a JSON number | an integer branch (`Int64`) |
| `exponent` | a decimal in exponent notation (`"7.12197E+3"`) | the decimal's pattern |
| `unknown-enum` | an integer the enum does not list | an open enum |
| `absent` | an optional property left out | not `required` (`data` of a write, a nickname) |
| `extra-field` | a property the schema does not declare | `additionalProperties` not false |

Every candidate is checked against the node's schemas before it is used, and the whole
answer against the operation's 200 schema afterwards (the original is sent if it ever
failed: never an answer outside the spec). Field names appear nowhere here: the shapes
come from the schemas. Error answers are never changed.

Deterministic: the n-th answer a simulator varies with seed S is varied with
`random.Random(f"{S}:{n}")`, so a run is reproduced from its seed and its requests.
"""

from __future__ import annotations

import json
import logging
import random
import re
from collections import Counter
from collections.abc import Iterator
from decimal import Decimal, InvalidOperation
from typing import Any

from .spec import SpecData
from .validation import pattern_matches

log = logging.getLogger("toobit_follower_sim")

RATE = 0.35
"""Probability that a node (a value, an optional property, an object's extra field) varies."""

KINDS = ("null", "empty", "number", "exponent", "unknown-enum", "absent", "extra-field")
"""The shapes a variant may take (the table above)."""

_DIGITS = re.compile(r"-?[0-9]{1,19}")
_EXTRA_VALUES: tuple[Any, ...] = ("variant", 7, True, None, {"nested": 1}, [1, "two"])

Schema = dict[str, Any]


class Variants:
    """Rewrites success answers of one simulator into tolerant shapes (see the module)."""

    def __init__(self, spec: SpecData, seed: int = 0) -> None:
        self.seed = seed
        self.served: Counter[str] = Counter()
        """How many times each kind was served."""
        self.answers = 0
        self._document = spec.document
        self._schemas: dict[str, Schema] = {}
        for item in spec.document["paths"].values():
            for op in item.values():
                if isinstance(op, dict) and "operationId" in op:
                    content = op["responses"]["200"]["content"]["application/json"]
                    self._schemas[op["operationId"]] = content["schema"]

    def report(self) -> str:
        """One line: answers varied, and how often each kind was served."""
        kinds = ", ".join(f"{kind} {self.served[kind]}" for kind in KINDS)
        return f"variants served: {self.answers} answers varied ({kinds})"

    def vary(self, operation_id: str, body: bytes) -> bytes:
        """A variant of the success answer `body` of the operation."""
        rng = random.Random(f"{self.seed}:{self.answers}")  # noqa: S311 - test data
        self.answers += 1
        schema = self._schemas[operation_id]
        kinds: Counter[str] = Counter()
        varied = self._node([schema], json.loads(body), rng, kinds)
        if not self.admits(schema, varied):  # never expected; never sent if it happens
            log.error("variant of %s outside its schema; the answer is sent as is", operation_id)
            return body
        self.served.update(kinds)
        return json.dumps(varied, separators=(",", ":")).encode()

    # -- the walk ----------------------------------------------------------------------
    def _node(
        self, schemas: list[Schema], value: Any, rng: random.Random, kinds: Counter[str]
    ) -> Any:
        flat = [s for schema in schemas for s in self._flatten(schema)]
        if isinstance(value, (dict, list)):
            flat = self._branches(flat, value)
        if isinstance(value, dict):
            return self._object(flat, value, rng, kinds)
        if isinstance(value, list):
            items = [s["items"] for s in flat if "items" in s]
            return [self._node(items, item, rng, kinds) for item in value]
        return self._scalar(flat, value, rng, kinds)

    def _object(
        self, flat: list[Schema], value: dict[str, Any], rng: random.Random, kinds: Counter[str]
    ) -> dict[str, Any]:
        properties: dict[str, list[Schema]] = {}
        required: set[str] = set()
        closed = False
        for schema in flat:
            for name, sub in schema.get("properties", {}).items():
                properties.setdefault(name, []).append(sub)
            required.update(schema.get("required", ()))
            closed = closed or schema.get("additionalProperties") is False
        out: dict[str, Any] = {}
        for name, item in value.items():
            if name in properties and name not in required and rng.random() < RATE:
                kinds["absent"] += 1
                continue
            out[name] = self._node(properties.get(name, []), item, rng, kinds)
        if not closed and rng.random() < RATE:
            name = f"simExtra{rng.randrange(1000)}"
            if name not in properties:
                out[name] = rng.choice(_EXTRA_VALUES)
                kinds["extra-field"] += 1
        return out

    def _scalar(
        self, flat: list[Schema], value: Any, rng: random.Random, kinds: Counter[str]
    ) -> Any:
        if not flat or rng.random() >= RATE:
            return value
        candidates = [
            (kind, other)
            for kind, other in self._candidates(flat, value, rng)
            if other != value and all(self.admits(s, other) for s in flat)
        ]
        if not candidates:
            return value
        kind, other = rng.choice(candidates)
        kinds[kind] += 1
        return other

    def _candidates(
        self, flat: list[Schema], value: Any, rng: random.Random
    ) -> Iterator[tuple[str, Any]]:
        """Other values for the node; the caller keeps those its schemas admit."""
        listed = [v for s in flat for v in self._nested(s, "enum")]
        if value is not None:
            yield "null", None
        if value != "" and "" in listed:
            yield "empty", ""
        if isinstance(value, str) and _DIGITS.fullmatch(value):
            yield "number", int(value)
        decimal = any(f == "decimal" for s in flat for f in self._nested(s, "format"))
        if decimal and isinstance(value, str) and value:
            try:
                yield "exponent", f"{Decimal(value):E}"
            except InvalidOperation:
                pass
        integers = [v for v in listed if type(v) is int]
        if type(value) is int and integers:
            yield "unknown-enum", max(integers) + 1 + rng.randrange(5)

    # -- schemas -----------------------------------------------------------------------
    def _resolve(self, schema: Schema) -> Schema:
        """$ref followed (its siblings kept, as in OpenAPI 3.1)."""
        seen = 0
        while "$ref" in schema:
            node: Any = self._document
            for part in schema["$ref"].removeprefix("#/").split("/"):
                node = node[part.replace("~1", "/").replace("~0", "~")]
            schema = {**node, **{k: v for k, v in schema.items() if k != "$ref"}}
            seen += 1
            if seen > 20:
                raise ValueError("$ref loop")
        return schema

    def _flatten(self, schema: Schema) -> list[Schema]:
        """The schema and its allOf parts, resolved: a value must meet every one."""
        resolved = self._resolve(schema)
        parts = [{k: v for k, v in resolved.items() if k != "allOf"}]
        for part in resolved.get("allOf", ()):
            parts.extend(self._flatten(part))
        return parts

    def _branches(self, flat: list[Schema], value: Any) -> list[Schema]:
        """For an object or array: each anyOf/oneOf replaced by the first branch that
        admits the value (the success envelope of a read's answer)."""
        out: list[Schema] = []
        for schema in flat:
            choice = schema.get("anyOf") or schema.get("oneOf")
            if not choice:
                out.append(schema)
                continue
            rest = {k: v for k, v in schema.items() if k not in ("anyOf", "oneOf")}
            out.append(rest)
            branch = next((b for b in choice if self.admits(b, value)), None)
            if branch is not None:
                out.extend(self._branches(self._flatten(branch), value))
        return out

    def _nested(self, schema: Schema, key: str) -> Iterator[Any]:
        """The values of `key` ("enum": each listed value; "format") in the schema and its
        branches."""
        resolved = self._resolve(schema)
        if key in resolved:
            found = resolved[key]
            yield from found if isinstance(found, list) else [found]
        for branches in ("anyOf", "oneOf", "allOf"):
            for branch in resolved.get(branches, ()):
                yield from self._nested(branch, key)

    def admits(self, schema: Schema, value: Any) -> bool:
        """Whether the JSON Schema (the subset openapi.yaml uses) admits the value."""
        s = self._resolve(schema)
        if "allOf" in s and not all(self.admits(p, value) for p in s["allOf"]):
            return False
        if "anyOf" in s and not any(self.admits(p, value) for p in s["anyOf"]):
            return False
        if "oneOf" in s and sum(self.admits(p, value) for p in s["oneOf"]) != 1:
            return False
        if "not" in s and self.admits(s["not"], value):
            return False
        if "const" in s and not _same(s["const"], value):
            return False
        if "enum" in s and not any(_same(e, value) for e in s["enum"]):
            return False
        types = s.get("type")
        if types is not None and not any(
            _is_type(t, value) for t in (types if isinstance(types, list) else [types])
        ):
            return False
        if isinstance(value, str):
            if "pattern" in s and not pattern_matches(s["pattern"], value):  # linear time
                return False
            if len(value) > s.get("maxLength", len(value)):
                return False
            if len(value) < s.get("minLength", 0):
                return False
        if type(value) in (int, float):
            if "minimum" in s and value < s["minimum"]:
                return False
            if "maximum" in s and value > s["maximum"]:
                return False
        if isinstance(value, dict):
            if any(name not in value for name in s.get("required", ())):
                return False
            properties = s.get("properties", {})
            for name, item in value.items():
                if name in properties:
                    if not self.admits(properties[name], item):
                        return False
                elif s.get("additionalProperties") is False:
                    return False
        if isinstance(value, list) and "items" in s:
            return all(self.admits(s["items"], item) for item in value)
        return True


def _same(a: Any, b: Any) -> bool:
    """JSON equality: true is not 1."""
    return type(a) is type(b) and a == b if isinstance(a, bool) or isinstance(b, bool) else a == b


def _is_type(name: str, value: Any) -> bool:
    if name == "integer":
        return type(value) is int or (type(value) is float and value.is_integer())
    if name == "number":
        return type(value) in (int, float)
    return {
        "string": str,
        "boolean": bool,
        "null": type(None),
        "object": dict,
        "array": list,
    }[name] is type(value)
