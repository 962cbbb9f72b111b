"""The contract itself: openapi.yaml against the OpenAPI 3.1 schema, the house rules,
and the exchange's reference pages (docs/reference/), which are the source of truth.

The reference page is parsed as text: its tables are run together without separators
(`leaderUserIdstringLeader user ID`), so each table kind has a row pattern, and the
parser asserts the number of tables and rows it finds, so that a page it no longer
understands fails loudly instead of checking nothing.
"""

from __future__ import annotations

import itertools
import json
import re
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

ROOT = Path(__file__).resolve().parent.parent
SPEC_PATH = ROOT / "openapi.yaml"
PAGE_PATH = ROOT / "docs" / "reference" / "follower-endpoints.txt"
BASIC_PATH = ROOT / "docs" / "reference" / "basic-information.md"

SPEC: dict[str, Any] = yaml.safe_load(SPEC_PATH.read_text(encoding="utf-8"))
METHODS = ("get", "put", "post", "delete", "patch")
LIMIT_HEADERS = ("X-Api-Limit-Status", "X-Api-Limit", "X-Api-Limit-Reset-Timestamp")
FOLLOWER_PREFIX = "/api/v2/copy-trading/follower/"
LEADER_PREFIX = "/api/v2/copy-trading/leader/"
TAG_BY_PREFIX = {FOLLOWER_PREFIX: "follower", LEADER_PREFIX: "leader"}
ERROR_TABLE: list[dict[str, Any]] = SPEC["components"]["schemas"]["ErrorCode"]["x-error-table"]
TABLE_CODES = {row["code"] for row in ERROR_TABLE}
CODE = {row["name"]: row["code"] for row in ERROR_TABLE}


# --------------------------------------------------------------------------- spec helpers
def pointer(*parts: str) -> str:
    return "#/" + "/".join(p.replace("~", "~0").replace("/", "~1") for p in parts)


def deref(node: Any) -> Any:
    """Follow local `$ref`s to the node they name (siblings of `$ref` are dropped)."""
    seen = 0
    while isinstance(node, dict) and "$ref" in node:
        ref = node["$ref"]
        assert ref.startswith("#/"), ref
        node = SPEC
        for part in ref[2:].split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
        seen += 1
        assert seen < 20, "reference loop"
    return node


def operations() -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in SPEC["paths"].items():
        for method in METHODS:
            if method in item:
                yield path, method, item[method]


OPS = {op["operationId"]: (path, method, op) for path, method, op in operations()}
ALL_OPERATIONS = set(OPS)
FOLLOWER_OPERATIONS = {
    op_id for op_id, (path, _, _) in OPS.items() if path.startswith(FOLLOWER_PREFIX)
}
# the signed copy-trading operations of both sides (tests/test_spec_leader.py: the leader page)
SIGNED_OPERATIONS = {
    op_id for op_id, (path, _, _) in OPS.items() if path.startswith(tuple(TAG_BY_PREFIX))
}


def json_types(schema: Any) -> set[str]:
    """The JSON types an instance of `schema` can have (refs, allOf, anyOf and oneOf followed)."""
    if not isinstance(schema, dict):
        return set()
    result: set[str] | None = None

    def meet(types: set[str]) -> None:
        nonlocal result
        result = types if result is None else result & types

    if "$ref" in schema:
        meet(json_types(deref(schema)))
    if "type" in schema:
        t = schema["type"]
        meet({t} if isinstance(t, str) else set(t))
    for key in ("anyOf", "oneOf"):
        if key in schema:
            meet(set().union(*(json_types(s) for s in schema[key])))
    for sub in schema.get("allOf", []):
        sub_types = json_types(sub)
        if sub_types:
            meet(sub_types)
    return result if result is not None else set()


def schema_format(schema: Any) -> str | None:
    if not isinstance(schema, dict):
        return None
    if "format" in schema:
        return str(schema["format"])
    if "$ref" in schema:
        return schema_format(deref(schema))
    return None


def properties(schema: Any) -> dict[str, Any]:
    """Properties of an object schema, merged over allOf (later parts win)."""
    schema = deref(schema)
    merged: dict[str, Any] = {}
    for sub in schema.get("allOf", []):
        merged.update(properties(sub))
    merged.update(schema.get("properties", {}))
    return merged


def required(schema: Any) -> set[str]:
    schema = deref(schema)
    names = set(schema.get("required", []))
    for sub in schema.get("allOf", []):
        names |= required(sub)
    return names


def items(schema: Any) -> Any:
    schema = deref(schema)
    assert json_types(schema) == {"array"}, schema
    return schema["items"]


def success_schema(op: dict[str, Any]) -> Any:
    """The 200 answer's success envelope (a read's 200 may also be the error envelope)."""
    schema = op["responses"]["200"]["content"]["application/json"]["schema"]
    return schema.get("anyOf", [schema])[0]


def request_schema(op: dict[str, Any]) -> Any:
    return op["requestBody"]["content"]["application/json"]["schema"]


def parameters(op: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {p["name"]: p for p in (deref(p) for p in op.get("parameters", []))}


# --------------------------------------------------------------------------- page parser
# the follower page's type words, and the leader page's (`number`, `INTEGER`, `ARRAY`)
PAGE_TYPES = "string|integer|boolean|array|LONG|DECIMAL|STRING|number|INTEGER|ARRAY"
NAME = r"[a-z][A-Za-z0-9]*?"
ROW_PATTERNS = {
    # header line -> (kind, row pattern)
    "FieldTypeDescription": ("response", rf"^(?P<name>{NAME})(?P<type>{PAGE_TYPES})(?P<desc>.+)$"),
    "FieldTypeMandatoryDescription": (
        "body",
        rf"^(?P<name>{NAME})(?P<type>{PAGE_TYPES})(?P<mandatory>YES|NO)(?P<desc>.+)$",
    ),
    "NameLocationTypeMandatoryDescription": (
        "params",
        rf"^(?P<name>{NAME})(?P<location>query|path|header)(?P<type>{PAGE_TYPES})"
        r"(?P<mandatory>YES|NO)(?P<desc>.+)$",
    ),
    "NameLocationTypeMandatoryDefaultDescription": (
        "params",
        rf"^(?P<name>{NAME})(?P<location>query|path|header)(?P<type>{PAGE_TYPES})"
        r"(?P<mandatory>YES|NO)(?P<default>-?[0-9]+)(?P<desc>[A-Z].*)$",
    ),
    "codemsgDescription": ("errors", r"^(?P<code>-?[0-9]+)(?P<msg>.+?)(?P<desc>[A-Z][^.]*)$"),
}


@dataclass
class Table:
    kind: str
    intro: str  # the line just above the header, e.g. "data.list[] fields:"
    rows: list[dict[str, str]]


@dataclass
class Section:
    title: str
    weight: int
    method: str
    path: str
    tables: list[Table] = field(default_factory=list)
    examples: list[Any] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)

    def tables_of(self, kind: str) -> list[Table]:
        return [t for t in self.tables if t.kind == kind]


def _parse_tables(lines: list[str]) -> list[Table]:
    tables: list[Table] = []
    i = 0
    while i < len(lines):
        header = lines[i].strip()
        if header in ROW_PATTERNS:
            kind, pattern = ROW_PATTERNS[header]
            intro = next((lines[j].strip() for j in range(i - 1, -1, -1) if lines[j].strip()), "")
            rows = []
            i += 1
            while i < len(lines) and lines[i].strip():
                match = re.match(pattern, lines[i].strip())
                assert match, f"unparsed row under {header!r}: {lines[i]!r}"
                rows.append(match.groupdict())
                i += 1
            assert rows, f"empty table {header!r}"
            tables.append(Table(kind, intro, rows))
        i += 1
    return tables


def _parse_json_blocks(lines: list[str]) -> list[Any]:
    """The `json` code blocks of a section: a line `json`, then JSON up to a `}` line."""
    blocks = []
    for i, line in enumerate(lines):
        if line.strip() == "json" and i + 1 < len(lines) and lines[i + 1].startswith("{"):
            end = next(j for j in range(i + 1, len(lines)) if lines[j].rstrip() == "}")
            blocks.append(json.loads("\n".join(lines[i + 1 : end + 1])))
    return blocks


def parse_page(text: str) -> list[Section]:
    chunks = text.split("\nRequest URL\n")
    sections = []
    for before, chunk in itertools.pairwise(chunks):
        head = [line.strip() for line in before.splitlines() if line.strip()]
        # ... <title>, <one-line description>, "Request Weight", <weight>
        assert head[-2] == "Request Weight", head[-4:]
        lines = chunk.splitlines()
        url = next(line.strip() for line in lines if line.strip())
        method, path = url.split(" ", 1)
        # this chunk runs into the next section's heading; cut at the next "Request Weight"
        if "Request Weight" in [line.strip() for line in lines]:
            cut = [line.strip() for line in lines].index("Request Weight")
            lines = lines[:cut]
        section = Section(head[-4], int(head[-1]), method.lower(), path)
        section.tables = _parse_tables(lines)
        section.examples = _parse_json_blocks(lines)
        section.lines = lines
        sections.append(section)
    return sections


PAGE_TEXT = PAGE_PATH.read_text(encoding="utf-8")
SECTIONS = parse_page(PAGE_TEXT)
SECTION_BY_OP: dict[str, Section] = {}
for _s in SECTIONS:
    for _op_id, (_path, _method, _op) in OPS.items():
        if (_path, _method) == (_s.path, _s.method):
            SECTION_BY_OP[_op_id] = _s


def basic_information_codes() -> dict[int, str]:
    text = BASIC_PATH.read_text(encoding="utf-8")
    part = text.split("## Error codes that apply to signed v2 calls", 1)[1].split("\n## ", 1)[0]
    return {
        int(m["code"]): m["meaning"].strip()
        for m in re.finditer(r"^\| (?P<code>-?[0-9]+) \| (?P<meaning>[^|]+)\|$", part, re.M)
    }


# --------------------------------------------------------------------------- the parser itself
def test_page_parser_finds_every_section_table_and_row() -> None:
    """Counted on the page text another way: a section per "Request URL" line, a table per
    header line, a row per non-blank line under it, a JSON example per `json` line."""
    lines = [line.strip() for line in PAGE_TEXT.splitlines()]
    assert len(SECTIONS) == lines.count("Request URL") > 0
    expected_rows = []
    for i, line in enumerate(lines):
        if line in ROW_PATTERNS:
            end = lines.index("", i + 1) if "" in lines[i + 1 :] else len(lines)
            expected_rows.append(end - i - 1)
    found_rows = [len(t.rows) for s in SECTIONS for t in s.tables]
    assert found_rows == expected_rows
    in_sections = lines[lines.index("Request URL") :]  # the page's intro has a JSON block too
    assert sum(len(s.examples) for s in SECTIONS) == in_sections.count("json") >= len(SECTIONS)
    # every section has what an endpoint page always has: an error table and an example
    for section in SECTIONS:
        assert len(section.tables_of("errors")) == 1, section.title
        assert section.examples, section.title


def test_every_page_section_maps_to_one_operation() -> None:
    assert len(SECTION_BY_OP) == len(SECTIONS)
    assert set(SECTION_BY_OP) == FOLLOWER_OPERATIONS
    # what neither endpoint page describes is the unsigned server time of Basic Information
    for op_id in ALL_OPERATIONS - SIGNED_OPERATIONS:
        assert OPS[op_id][2]["security"] == [], op_id


# --------------------------------------------------------------------------- structure
def test_spec_validates_against_openapi_3_1() -> None:
    assert SPEC["openapi"].startswith("3.1.")
    validate(SPEC)


@pytest.mark.parametrize("op_id", sorted(ALL_OPERATIONS))
def test_operation_documents_itself(op_id: str) -> None:
    path, method, op = OPS[op_id]
    assert op["summary"].strip()
    assert len(op["description"].strip()) > 40
    assert op["x-request-weight"] == 1
    side = next((p for p in TAG_BY_PREFIX if path.startswith(p)), None)
    # a copy-trading path is its side's alone; the server's clock (/api/v1/time) serves both
    expected = [TAG_BY_PREFIX[side]] if side else list(TAG_BY_PREFIX.values())
    assert op["tags"] == expected, op_id
    responses = op["responses"]
    for status in ("200", "429", "418", "5XX"):
        assert status in responses, f"{op_id}: no {status} response"
    assert any(re.fullmatch(r"4[0-9X]{2}", s) for s in responses), f"{op_id}: no 4XX response"
    if op_id not in SIGNED_OPERATIONS:
        assert op["security"] == []
        assert "x-error-codes" not in op
    else:
        assert op["security"] == [{"ApiKey": [], "Timestamp": [], "Signature": []}]
        for status in ("400", "401", "403"):
            assert status in responses, f"{op_id}: no {status} response"
        error_codes = op["x-error-codes"]
        assert len(error_codes) == len(set(error_codes)), f"{op_id}: duplicate error codes"
        assert set(error_codes) <= TABLE_CODES, set(error_codes) - TABLE_CODES
        # every signed call can meet every key, signature, timestamp, rate limit and
        # server failure (the table's 401, 429, 418 and 5XX rows) ...
        common = {row["code"] for row in ERROR_TABLE if row["status"] in (401, 418, 429)}
        common |= {row["code"] for row in ERROR_TABLE if row["status"] >= 500}
        assert common <= set(error_codes), common - set(error_codes)
        # ... the account check, and the "Unknown parameters" rule of info.description
        assert {CODE["NO_PERMISSION"], CODE["UNKNOWN_PARAM"]} <= set(error_codes)
        # "Write endpoints do not support read-only API Keys."
        assert (CODE["NOT_SUPPORTED"] in error_codes) == (method != "get"), op_id
        assert "RecvWindow" in json.dumps(op.get("parameters", []))


def test_security_schemes_are_the_signing_parameters() -> None:
    schemes = SPEC["components"]["securitySchemes"]
    assert {k: (v["in"], v["name"]) for k, v in schemes.items()} == {
        "ApiKey": ("header", "X-BB-APIKEY"),
        "Timestamp": ("query", "timestamp"),
        "Signature": ("query", "signature"),
    }


def test_every_response_carries_the_rate_limit_headers() -> None:
    checked = 0
    for path, method, op in operations():
        for status, response in op["responses"].items():
            headers = deref(response).get("headers", {})
            missing = [h for h in LIMIT_HEADERS if h not in headers]
            assert not missing, f"{method.upper()} {path} {status}: missing {missing}"
            if status in ("429", "418"):
                assert "Retry-After" in headers, f"{method.upper()} {path} {status}"
            checked += 1
    assert checked == sum(len(op["responses"]) for _, _, op in operations()) > 0


# --------------------------------------------------------------------------- page <-> spec
def _check_type(where: str, page_type: str, schema: Any, *, request: bool) -> None:
    types = json_types(schema)
    fmt = schema_format(schema)
    if page_type in ("string", "STRING") and not request:
        # answers (spec 2.0.0, issue 14): a string, or what the page does not rule out: a
        # JSON number for a 64-bit integer ("usually serialized as strings"), null when unset
        assert "string" in types and types <= {"string", "integer", "null"}, (
            f"{where}: page says {page_type}, spec allows {types}"
        )
    elif page_type in ("string", "STRING"):
        assert types == {"string"}, f"{where}: page says {page_type}, spec allows {types}"
        if request and page_type == "string":
            assert fmt != "decimal", where
    elif page_type == "integer":
        assert types == {"integer"}, f"{where}: page says integer, spec allows {types}"
    elif page_type == "boolean":
        assert types == {"boolean"}, f"{where}: page says boolean, spec allows {types}"
    elif page_type == "array":
        assert types == {"array"}, f"{where}: page says array, spec allows {types}"
    elif page_type == "LONG":
        assert types == {"integer"} and fmt == "int64", f"{where}: LONG is int64, not {types} {fmt}"
    elif page_type == "DECIMAL":
        assert types == {"string"} and fmt == "decimal", (
            f"{where}: DECIMAL is a decimal string, not {types} {fmt}"
        )
    else:  # pragma: no cover - the row pattern admits nothing else
        raise AssertionError(page_type)


def _response_object_for(table: Table, op: dict[str, Any]) -> Any:
    data = properties(success_schema(op))["data"]
    if table.intro.startswith("data.list[]"):
        return items(properties(data)["list"])
    if table.intro.startswith("data is an array"):
        return items(data)
    assert table.intro in ("data is a page object:", "data contains:"), table.intro
    return data


@pytest.mark.parametrize("op_id", sorted(FOLLOWER_OPERATIONS))
def test_page_section_matches_operation(op_id: str) -> None:
    section = SECTION_BY_OP[op_id]
    _, _, op = OPS[op_id]
    assert op["summary"].casefold() == section.title.casefold()
    assert op["x-request-weight"] == section.weight

    # responses: every field of the page, with the page's type; a field the spec adds
    # beyond the page (a newer release of the API) is optional
    for table in section.tables_of("response"):
        obj = _response_object_for(table, op)
        props = properties(obj)
        page_names = {r["name"] for r in table.rows}
        assert page_names <= set(props), (
            f"{op_id} ({table.intro}): page-only {page_names - set(props)}"
        )
        assert not (set(props) - page_names) & required(obj), (
            f"{op_id}: a field beyond the page is required"
        )
        for row in table.rows:
            _check_type(
                f"{op_id} response {row['name']}", row["type"], props[row["name"]], request=False
            )

    # request body
    bodies = section.tables_of("body")
    if bodies:
        (table,) = bodies
        body = request_schema(op)
        props, req = properties(body), required(body)
        page_names = {r["name"] for r in table.rows}
        assert page_names <= set(props), page_names - set(props)
        assert not (set(props) - page_names) & req, (
            f"{op_id}: a body field beyond the page is required"
        )
        assert deref(body).get("additionalProperties") is False
        for row in table.rows:
            where = f"{op_id} body {row['name']}"
            _check_type(where, row["type"], props[row["name"]], request=True)
            assert (row["name"] in req) == (row["mandatory"] == "YES"), f"{where}: mandatory"
    else:
        assert "requestBody" not in op, op_id

    # parameters (recvWindow is the signing parameter the page leaves to Basic Information)
    params = parameters(op)
    assert "recvWindow" in params
    page_params = [r for t in section.tables_of("params") for r in t.rows]
    page_names = {r["name"] for r in page_params}
    assert page_names <= set(params), op_id
    beyond = set(params) - page_names - {"recvWindow"}
    assert not any(params[name].get("required") for name in beyond), op_id
    for row in page_params:
        param = params[row["name"]]
        where = f"{op_id} parameter {row['name']}"
        assert param["in"] == row["location"], where
        assert bool(param.get("required", False)) == (row["mandatory"] == "YES"), where
        _check_type(where, row["type"], param["schema"], request=True)
        if "default" in row and row["default"] is not None:
            assert deref(param["schema"])["default"] == int(row["default"]), where

    # the page's example is one of the operation's examples (request body or 200 response)
    examples = [
        ex["value"]
        for media in (
            [op["requestBody"]["content"]["application/json"]] if "requestBody" in op else []
        )
        + [op["responses"]["200"]["content"]["application/json"]]
        for ex in media["examples"].values()
    ]
    for page_example in section.examples:
        assert page_example in examples, f"{op_id}: the page's example is not in the spec"


def _page_rules(op_id: str) -> list[str]:
    """The bullet lines of a section's "Rules" (one rule per line on the page)."""
    return [
        line.strip()[1:].strip()
        for line in SECTION_BY_OP[op_id].lines
        if line.strip().startswith("\u2022")
    ]


def _names(text: str) -> list[str]:
    """`a, b, and c` -> [a, b, c]."""
    return [n for n in re.split(r",\s*(?:and\s+)?|\s+and\s+", text.strip()) if n]


def test_page_constraints_are_in_the_spec() -> None:
    """Ranges the page states in words, read from the page: parameter descriptions
    ("maximum 100", "starting from 1", "greater than or equal to 1") and body rules
    ("... support up to 8 decimal places and cannot be negative", "between 0 and 1")."""
    checked = 0
    for op_id, section in SECTION_BY_OP.items():
        params = parameters(OPS[op_id][2])
        for row in (r for t in section.tables_of("params") for r in t.rows):
            schema = deref(params[row["name"]]["schema"])
            for words, keyword in (
                (r"maximum (\d+)", "maximum"),
                (r"starting from (\d+)", "minimum"),
                (r"greater than or equal to (\d+)", "minimum"),
            ):
                for match in re.finditer(words, row["desc"]):
                    assert schema[keyword] == int(match[1]), (op_id, row["name"], keyword)
                    checked += 1
        if "requestBody" not in OPS[op_id][2]:
            continue
        body = properties(request_schema(OPS[op_id][2]))
        for rule in _page_rules(op_id):
            match = re.fullmatch(r"(.+?) supports? up to (\d+) decimal places and (.+)", rule)
            if not match:
                continue
            for name in _names(match[1]):
                schema = deref(body[name])
                assert schema["multipleOf"] == pytest.approx(10 ** -int(match[2])), name
                assert schema["minimum"] == 0, name  # "cannot be negative" / "between 0 and ..."
                bounds = re.match(r"must be between (\d+) and (\d+)", match[3])
                if bounds:
                    assert (schema["minimum"], schema["maximum"]) == tuple(
                        map(int, bounds.groups())
                    )
                checked += 1
    assert checked >= 10  # the page's ranges were found, not skipped


def test_page_enum_values_are_in_the_spec() -> None:
    """`field=N means ...` in a page rule: N is a value of the field's enum."""
    checked = 0
    for op_id in SECTION_BY_OP:
        if "requestBody" not in OPS[op_id][2]:
            continue
        body = properties(request_schema(OPS[op_id][2]))
        for rule in _page_rules(op_id):
            for name, value in re.findall(r"\b([a-z][A-Za-z]*)=(\d+)", rule):
                schema = deref(body[name])
                if "enum" in schema:
                    assert int(value) in schema["enum"], (name, value)
                    assert len(schema["x-enum-varnames"]) == len(schema["enum"]), name
                    checked += 1
    assert checked > 0


# --------------------------------------------------------------------------- error codes
def test_error_codes_of_the_reference_are_in_the_error_table() -> None:
    basic = basic_information_codes()
    page_codes = {int(r["code"]) for s in SECTIONS for t in s.tables_of("errors") for r in t.rows}
    assert basic and page_codes
    assert 200 in basic and 200 in page_codes  # the parsers read the success row too
    documented = (set(basic) | page_codes) - {200}
    assert documented <= TABLE_CODES, documented - TABLE_CODES


def test_basic_information_statuses_are_in_the_error_table() -> None:
    """ "Over it: HTTP 429 with code -1003" and the 418 ban after it."""
    text = BASIC_PATH.read_text(encoding="utf-8")
    pairs = {(int(c), int(st)) for st, c in re.findall(r"HTTP (\d{3}) with code (-\d+)", text)}
    assert pairs
    rows = {(row["code"], row["status"]) for row in ERROR_TABLE}
    assert pairs <= rows, pairs - rows
    rate_limited = {code for code, _ in pairs}
    if "leads to HTTP 418" in text:
        assert {(code, 418) for code in rate_limited} <= rows


def test_the_error_table_is_consistent() -> None:
    names = [row["name"] for row in ERROR_TABLE]
    assert len(names) == len(set(names)), "duplicate names in x-error-table"
    pairs = [(row["code"], row["status"]) for row in ERROR_TABLE]
    assert len(pairs) == len(set(pairs)), "a code is listed twice with the same status"
    for row in ERROR_TABLE:
        assert row["code"] < 0 and re.fullmatch(r"[A-Z][A-Z0-9_]*", row["name"]), row
        assert 400 <= row["status"] <= 599, row
        assert row["message"].strip() and row["meaning"].strip(), row
        # placeholders are the ones the toolkit fills in
        assert set(re.findall(r"\{(\w*)\}", row["message"])) <= {"name", "limit", "until"}, row


def _declares(responses: dict[str, Any], status: int) -> bool:
    text = str(status)
    return text in responses or f"{text[0]}XX" in responses


@pytest.mark.parametrize("op_id", sorted(SIGNED_OPERATIONS))
def test_every_listed_code_has_a_declared_response(op_id: str) -> None:
    """Each x-error-codes entry is in the table, and each of its rows' HTTP statuses is a
    response the operation declares (400/401/403/418/429/5XX)."""
    _, _, op = OPS[op_id]
    for code in op["x-error-codes"]:
        rows = [row for row in ERROR_TABLE if row["code"] == code]
        assert rows, f"{op_id}: {code} is not in x-error-table"
        for row in rows:
            assert _declares(op["responses"], row["status"]), (op_id, row["name"], row["status"])


def _backticked_codes(text: str) -> set[int]:
    """Codes a prose text names: `-1002`, and ranges `-1100`..`-1130` (the table's codes in it)."""
    codes = {int(c) for c in re.findall(r"`(-\d+)`", text)}
    for low, high in re.findall(r"`(-\d+)`\s*\.\.\s*`(-\d+)`", text):
        lo, hi = sorted((int(low), int(high)))
        codes |= {code for code in TABLE_CODES if lo <= code <= hi}
    return codes


def _status_matches(row_status: int, prose_status: str) -> bool:
    return prose_status == str(row_status) or (
        prose_status.endswith("XX") and str(row_status)[0] == prose_status[0]
    )


def test_the_prose_status_table_agrees_with_the_error_table() -> None:
    """info.description's "HTTP statuses" table: every code it names has that status in
    x-error-table, and every status of x-error-table has a row there."""
    part = SPEC["info"]["description"].split("## HTTP statuses", 1)[1].split("\n## ", 1)[0]
    prose = re.findall(r"^\| (\w+) \| (.+) \|$", part, re.M)
    assert prose, "no HTTP statuses table in info.description"
    for status, when in prose:
        for code in _backticked_codes(when):
            statuses = {row["status"] for row in ERROR_TABLE if row["code"] == code}
            assert any(_status_matches(st, status) for st in statuses), (status, code, statuses)
    for row in ERROR_TABLE:
        assert any(_status_matches(row["status"], status) for status, _ in prose), row


def test_the_shared_error_responses_agree_with_the_error_table() -> None:
    """A code named in a shared error response (BadRequest, Unauthorized, ...) has the
    status under which the operations use that response."""
    used: dict[str, set[str]] = {}
    for _, _, op in operations():
        for status, response in op["responses"].items():
            if "$ref" in response:
                used.setdefault(response["$ref"].rsplit("/", 1)[1], set()).add(status)
    checked = 0
    for name, response in SPEC["components"]["responses"].items():
        examples = response.get("content", {}).get("application/json", {}).get("examples", {})
        named = _backticked_codes(response["description"]) | {
            ex["value"]["code"] for ex in examples.values()
        }
        for code in named:
            statuses = {row["status"] for row in ERROR_TABLE if row["code"] == code}
            assert any(_status_matches(st, s) for st in statuses for s in used[name]), (name, code)
            checked += 1
    assert checked > 0


@pytest.mark.parametrize("op_id", sorted(FOLLOWER_OPERATIONS))
def test_operation_error_codes_include_the_page_table(op_id: str) -> None:
    _, _, op = OPS[op_id]
    (table,) = SECTION_BY_OP[op_id].tables_of("errors")
    page_codes = {int(r["code"]) for r in table.rows} - {200}
    assert page_codes <= set(op["x-error-codes"]), page_codes - set(op["x-error-codes"])
    for code in page_codes:
        assert str(code) in op["description"], f"{op_id}: description does not name {code}"


def _error_examples() -> list[dict[str, Any]]:
    found = []
    for response in SPEC["components"]["responses"].values():
        media = response.get("content", {}).get("application/json")
        if media:
            found += [ex["value"] for ex in media["examples"].values()]
    return found


def test_error_messages_follow_the_page() -> None:
    """Each message of a page's error table is the x-error-table message of its code (its
    `{name}` filled in) and the message of an error example of the spec."""
    examples = _error_examples()
    templates = {(row["code"], row["message"]) for row in ERROR_TABLE}
    checked = 0
    for section in SECTIONS:
        for row in section.tables_of("errors")[0].rows:
            code, msg = int(row["code"]), row["msg"].strip()
            if code == 200:
                assert msg == "success"
                continue
            if msg == "unknown":
                pattern = r".*unknown.*"
            else:
                pattern = re.escape(msg.removesuffix("...").strip())
                pattern = re.sub(r"'[A-Za-z]+'", r"'[A-Za-z]+'", pattern)
                pattern += ".*" if msg.endswith("...") else ""
            assert any(
                ex["code"] == code and re.fullmatch(pattern, ex["msg"], re.I) for ex in examples
            ), f"no error example with code {code} and a message like {msg!r}"
            assert any(
                c == code and re.fullmatch(pattern, t.replace("{name}", "x"), re.I)
                for c, t in templates
            ), f"x-error-table has no message of {code} like {msg!r}"
            checked += 1
    assert checked >= len(SECTIONS)


# --------------------------------------------------------------------------- examples
REGISTRY = Registry().with_resource(
    "urn:openapi", Resource(contents=SPEC, specification=DRAFT202012)
)


def _validator_at(ptr: str) -> Draft202012Validator:
    return Draft202012Validator({"$ref": "urn:openapi" + ptr}, registry=REGISTRY)


def _walk(node: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    yield path, node
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _walk(value, (*path, str(key)))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _walk(value, (*path, str(index)))


def collect_examples() -> list[tuple[str, str, Any]]:
    """(where, pointer of the schema, example value) for every example in the spec."""
    found: list[tuple[str, str, Any]] = []
    for path, node in _walk(SPEC):
        if not isinstance(node, dict):
            continue
        where = "/".join(path)
        # schema keywords: `examples` is a list, `example` (deprecated) a value
        is_schema = path and (
            path[-2:-1] in (("schemas",), ("properties",))
            or path[-1] in ("schema", "items")
            or (len(path) > 1 and path[-2] in ("allOf", "anyOf", "oneOf"))
        )
        if is_schema and isinstance(node.get("examples"), list):
            found += [(where, pointer(*path), value) for value in node["examples"]]
        if is_schema and "example" in node:
            found.append((where, pointer(*path), node["example"]))
        # media types, parameters, headers: a sibling `schema`
        if "schema" in node and not is_schema:
            schema_ptr = pointer(*path, "schema")
            if "example" in node:
                found.append((where, schema_ptr, node["example"]))
            if isinstance(node.get("examples"), dict):
                for name, ex in node["examples"].items():
                    found.append((f"{where}/examples/{name}", schema_ptr, deref(ex)["value"]))
    return found


EXAMPLES = collect_examples()


def test_examples_were_found() -> None:
    # media-type examples, parameter/header examples and schema examples all counted
    assert len(EXAMPLES) > 100
    media = [w for w, _, _ in EXAMPLES if "/content/" in w]
    assert len(media) >= 21


def test_every_media_type_parameter_and_header_has_an_example() -> None:
    counts = {"content": 0, "parameter": 0, "header": 0}
    for path, node in _walk(SPEC):
        if len(path) >= 2 and path[-2] == "content" and isinstance(node, dict):
            assert node.get("examples"), "/".join(path)
            counts["content"] += 1
        elif isinstance(node, dict) and "schema" in node and node.get("in") in ("query", "path"):
            assert "example" in node or node.get("examples"), "/".join(path)
            counts["parameter"] += 1
        elif len(path) >= 2 and path[-2] == "headers" and isinstance(node, dict):
            if "$ref" not in node:
                assert "example" in node or node.get("examples"), "/".join(path)
                counts["header"] += 1
    # a success response per operation at least; every parameter and header was seen
    assert counts["content"] > len(OPS), counts
    assert counts["parameter"] > 0 and counts["header"] > 0, counts


@pytest.mark.parametrize(("where", "schema_ptr", "value"), EXAMPLES, ids=[e[0] for e in EXAMPLES])
def test_example_validates_against_its_schema(where: str, schema_ptr: str, value: Any) -> None:
    errors = sorted(_validator_at(schema_ptr).iter_errors(value), key=str)
    assert not errors, f"{where}: {[e.message for e in errors]}"


def test_example_validation_can_fail() -> None:
    """The validator really follows the spec's refs: broken values are rejected."""
    ptr = pointer("components", "schemas", "FollowConfigUpdate")
    good = OPS["updateFollowConfig"][2]["requestBody"]["content"]["application/json"]
    value = dict(good["examples"]["followConfig"]["value"])
    assert _validator_at(ptr).is_valid(value)
    for key, bad in [
        ("investAmount", 100),
        ("maxInvestRate", "1.5"),
        ("followSymbolIds", ""),
        ("leaderUserId", "123"),
        ("stopLossRate", "0.001"),
    ]:
        assert not _validator_at(ptr).is_valid({**value, key: bad}), (key, bad)
    assert not _validator_at(ptr).is_valid({**value, "extra": 1})


# --------------------------------------------------------------------------- spec as package data
def test_spec_module_reads_the_checkout_spec_in_a_dev_install() -> None:
    from toobit_follower import spec

    assert spec.spec_path() == SPEC_PATH
    assert spec.spec_text() == SPEC_PATH.read_text(encoding="utf-8")
    assert spec.spec_dict() == SPEC
    assert spec.spec_version() == SPEC["info"]["version"]
    copy_ = spec.spec_dict()
    copy_["info"]["version"] = "mutated"
    assert spec.spec_dict()["info"]["version"] == SPEC["info"]["version"]


def test_generated_spec_module_is_of_this_spec() -> None:
    """toobit_follower_models.spec carries the version and sha256 of the openapi.yaml it was
    generated from: an edited spec without `make generate` fails here (and check-generated)."""
    import hashlib

    from toobit_follower import spec
    from toobit_follower_models import spec as generated

    assert generated.VERSION == SPEC["info"]["version"]
    assert generated.SHA256 == hashlib.sha256(SPEC_PATH.read_bytes()).hexdigest()
    assert f"(sha256 {generated.SHA256})" in Path(generated.__file__).read_text(encoding="utf-8")
    # the client package's public module is the generated one, re-exported
    for name in spec.__all__:
        assert getattr(spec, name) is getattr(generated, name), name
    assert sorted(spec.__all__) == ["spec_dict", "spec_path", "spec_text", "spec_version"]


def test_wheel_ships_the_spec(tmp_path: Path) -> None:
    """`pip wheel .` puts openapi.yaml in the package, and spec_path() finds it there."""
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "--disable-pip-version-check",
            "-w",
            str(tmp_path / "dist"),
            str(ROOT),
        ],
        check=True,
    )
    (wheel,) = (tmp_path / "dist").glob("toobit_follower-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        assert archive.read("toobit_follower_models/openapi.yaml") == SPEC_PATH.read_bytes()
        assert [name for name in names if name.endswith("openapi.yaml")] == [
            "toobit_follower_models/openapi.yaml"
        ]
        assert {"toobit_follower_models/spec.py", "toobit_follower/spec.py"} <= set(names)
        archive.extractall(tmp_path / "site")
    # the installed layout: the packaged copy wins, nothing is read from the checkout; the
    # simulator finds the same copy without importing the client package
    probe = (
        "import sys;"
        "from toobit_follower_sim.spec import find_spec_path;"
        "print(find_spec_path()); print('toobit_follower' in sys.modules);"
        "from toobit_follower.spec import spec_path, spec_text, spec_version;"
        "print(spec_path()); print(spec_version()); print(len(spec_text()))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe],
        env={"PYTHONPATH": str(tmp_path / "site"), "PATH": "/usr/bin:/bin"},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    )
    sim_path, client_imported, path, version, length = result.stdout.split()
    packaged = tmp_path / "site" / "toobit_follower_models" / "openapi.yaml"
    assert Path(sim_path) == Path(path) == packaged
    assert client_imported == "False"
    assert version == SPEC["info"]["version"]
    assert int(length) == len(SPEC_PATH.read_text(encoding="utf-8"))
