"""The leader side of the contract against the exchange's leader page
(docs/reference/leader-endpoints.txt, verbatim), which is the source of truth.

The page is parsed by tests/test_spec.py's parser (the same table layout as the follower
page, plus the type words `number`, `INTEGER` and `ARRAY`), and every row is checked:
each field in the spec with its type and mandatory flag, each default, value list, range
and example, each error code in `x-error-codes`, the error table and an error example.
Where the page leaves something open, the spec carries an `x-assumption` marker; the
ones the issue names are checked at their place.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from test_spec import (
    ERROR_TABLE,
    LEADER_PREFIX,
    OPS,
    ROW_PATTERNS,
    SPEC,
    TABLE_CODES,
    Section,
    Table,
    _check_type,
    _error_examples,
    _response_object_for,
    basic_information_codes,
    deref,
    json_types,
    parameters,
    parse_page,
    properties,
    request_schema,
    required,
    schema_format,
    success_schema,
)

ROOT = Path(__file__).resolve().parent.parent
LEADER_PAGE_PATH = ROOT / "docs" / "reference" / "leader-endpoints.txt"
LEADER_TEXT = LEADER_PAGE_PATH.read_text(encoding="utf-8")
LEADER_SECTIONS = parse_page(LEADER_TEXT)
LEADER_OPERATIONS = {op_id for op_id, (path, _, _) in OPS.items() if path.startswith(LEADER_PREFIX)}
SECTION_BY_OP: dict[str, Section] = {
    op_id: section
    for section in LEADER_SECTIONS
    for op_id, (path, method, _) in OPS.items()
    if (path, method) == (section.path, section.method)
}
MARKERS: dict[str, tuple[str, dict[str, Any]]] = {}  # id -> (JSON pointer, marker)


def _collect_markers(node: Any, path: str = "#") -> None:
    if isinstance(node, dict):
        for marker in node.get("x-assumption", []):
            MARKERS[marker["id"]] = (path, marker)
        for key, value in node.items():
            _collect_markers(value, f"{path}/{str(key).replace('~', '~0').replace('/', '~1')}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            _collect_markers(value, f"{path}/{index}")


_collect_markers(SPEC)


def rows(kind: str) -> list[tuple[str, Table, dict[str, str]]]:
    """(operationId, table, row) of every row of the leader page's tables of `kind`."""
    return [
        (op_id, table, row)
        for op_id, section in sorted(SECTION_BY_OP.items())
        for table in section.tables_of(kind)
        for row in table.rows
    ]


# --------------------------------------------------------------------------- the parser
def test_the_parser_reads_every_section_table_and_row_of_the_leader_page() -> None:
    """Counted on the text another way, as for the follower page: a section per "Request
    URL" line, a row per non-blank line under a table header, a JSON example per `json`."""
    lines = [line.strip() for line in LEADER_TEXT.splitlines()]
    assert len(LEADER_SECTIONS) == lines.count("Request URL") == 9
    expected = []
    for i, line in enumerate(lines):
        if line in ROW_PATTERNS:
            end = lines.index("", i + 1) if "" in lines[i + 1 :] else len(lines)
            expected.append(end - i - 1)
    assert len(expected) == 9 + 14  # an error table per section, 14 field tables
    assert [len(t.rows) for s in LEADER_SECTIONS for t in s.tables] == expected
    in_sections = lines[lines.index("Request URL") :]
    assert sum(len(s.examples) for s in LEADER_SECTIONS) == in_sections.count("json") == 10
    for section in LEADER_SECTIONS:
        assert len(section.tables_of("errors")) == 1, section.title
        assert section.examples, section.title


def test_the_page_has_98_field_rows_22_request_and_76_answer() -> None:
    """The issue's figures: 98 table rows, 22 request parameters, 76 answer fields."""
    request = rows("params") + rows("body")
    answer = rows("response")
    assert (len(request), len(answer), len(request) + len(answer)) == (22, 76, 98)
    assert len(rows("body")) == 16 and sum(r["mandatory"] == "YES" for *_, r in rows("body")) == 11
    codes = {int(r["code"]) for *_, r in rows("errors")}
    assert (len(rows("errors")), len(codes)) == (50, 18)


def test_every_leader_section_is_one_leader_operation() -> None:
    assert len(LEADER_OPERATIONS) == 9
    assert set(SECTION_BY_OP) == LEADER_OPERATIONS
    for op_id in LEADER_OPERATIONS:
        assert OPS[op_id][2]["tags"] == ["leader"], op_id
    assert "leader" in {tag["name"] for tag in SPEC["tags"]}


# --------------------------------------------------------------------------- page <-> spec
def check_type(where: str, page_type: str, schema: Any, *, request: bool) -> None:
    """The leader page's own type words; the rest as on the follower page."""
    if page_type == "number":
        # History Lead Orders types isLong, positionType and status `number`; its
        # examples are integers, and so is the spec (marker leader-number-is-integer)
        assert json_types(schema) == {"integer"}, f"{where}: number -> integer"
        assert "leader-number-is-integer" in MARKERS
    elif page_type == "INTEGER":
        assert json_types(schema) == {"integer"}, where
    elif page_type == "ARRAY":
        assert json_types(schema) == {"array"}, where
    else:
        _check_type(where, page_type, schema, request=request)


@pytest.mark.parametrize("op_id", sorted(LEADER_OPERATIONS))
def test_leader_section_matches_operation(op_id: str) -> None:
    section = SECTION_BY_OP[op_id]
    _, _, op = OPS[op_id]
    assert op["summary"].casefold() == section.title.casefold()
    assert op["x-request-weight"] == section.weight == 1

    for table in section.tables_of("response"):
        obj = _response_object_for(table, op)
        props = properties(obj)
        page_names = {r["name"] for r in table.rows}
        assert page_names <= set(props), f"{op_id} ({table.intro}): {page_names - set(props)}"
        assert not (set(props) - page_names) & required(obj), f"{op_id}: beyond the page"
        for row in table.rows:
            check_type(f"{op_id} answer {row['name']}", row["type"], props[row["name"]],
                       request=False)  # fmt: skip

    bodies = section.tables_of("body")
    if bodies:
        (table,) = bodies
        body = request_schema(op)
        props, req = properties(body), required(body)
        assert {r["name"] for r in table.rows} == set(props)
        assert deref(body).get("additionalProperties") is False
        for row in table.rows:
            where = f"{op_id} body {row['name']}"
            check_type(where, row["type"], props[row["name"]], request=True)
            assert (row["name"] in req) == (row["mandatory"] == "YES"), f"{where}: mandatory"
    else:
        assert "requestBody" not in op, op_id

    params = parameters(op)
    page_params = [r for t in section.tables_of("params") for r in t.rows]
    assert {r["name"] for r in page_params} | {"recvWindow"} == set(params), op_id
    for row in page_params:
        param = params[row["name"]]
        where = f"{op_id} parameter {row['name']}"
        assert param["in"] == row["location"], where
        assert bool(param.get("required", False)) == (row["mandatory"] == "YES"), where
        check_type(where, row["type"], param["schema"], request=True)
        if row["type"] == "LONG":
            assert schema_format(param["schema"]) == "int64", where
        if row.get("default") is not None:
            assert deref(param["schema"])["default"] == int(row["default"]), where

    # the page's examples (a PUT has two: its body and its answer) are the spec's
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


def _field_schema(op_id: str, table: Table, name: str) -> Any:
    op = OPS[op_id][2]
    if table.kind == "params":
        return parameters(op)[name]["schema"]
    if table.kind == "body":
        return properties(request_schema(op))[name]
    return properties(_response_object_for(table, op))[name]


def _enum(schema: Any) -> list[int] | None:
    """The listed values: the schema's enum, or an answer's open enum (anyOf enum | integer)."""
    schema = deref(schema)
    if "enum" in schema:
        return list(schema["enum"])
    for option in schema.get("anyOf", []):
        if "enum" in deref(option):
            return list(deref(option)["enum"])
    return None


def _page_values(desc: str) -> list[int]:
    """`0 short, 1 long` or `Supported values: 7, 30, 90` in a row's description."""
    listed = re.search(r"Supported values: ([-\d, ]+)", desc)
    if listed:
        return [int(v) for v in listed[1].split(",")]
    return [int(v) for v in re.findall(r"(?:^|[:,]\s*)(-?\d+) [a-z]", desc)]


def test_the_value_lists_of_the_page_are_the_spec_enums() -> None:
    """Every row that lists its values has exactly that enum: closed in a request, open
    (the listed values, then any integer) in an answer, as on the follower side."""
    checked = 0
    for op_id, table, row in rows("params") + rows("body") + rows("response"):
        values = _page_values(row["desc"])
        if not values:
            continue
        schema = _field_schema(op_id, table, row["name"])
        assert _enum(schema) == values, (op_id, row["name"], values)
        named = deref(schema) if "enum" in deref(schema) else None
        if table.kind == "response":
            assert named is None and json_types(schema) == {"integer"}, (op_id, row["name"])
        else:
            assert named and len(named["x-enum-varnames"]) == len(values), row["name"]
        checked += 1
    # isLong x2, positionType, status, type, isLead, and the config's three enums x2
    assert checked == 12


def test_rows_without_a_value_list_have_no_enum() -> None:
    """`Position type` (current orders) and the four settings whose values the page does
    not give are open integers: each carries an x-assumption marker instead."""
    for op_id, table, row in rows("params") + rows("body") + rows("response"):
        if row["type"] in ("integer", "number", "INTEGER") and not _page_values(row["desc"]):
            schema = _field_schema(op_id, table, row["name"])
            if table.kind == "response":
                assert _enum(schema) in (None, [0, 1]), (op_id, row["name"])
            else:
                assert _enum(schema) is None, (op_id, row["name"])
    for name in ("tradeProtect", "isNeedInvite", "inviteScope", "recommendShare"):
        marker = re.sub(r"(?<!^)([A-Z])", r"-\1", name).lower() + "-values"
        where, found = MARKERS[marker]
        assert where.endswith("/LeaderConfigUpdate") and f"`{name}`" in found["assumes"], marker


def test_the_page_ranges_and_precision_are_in_the_spec() -> None:
    """`starting from 1`, `greater than or equal to 1`, `up to 8 decimal places`."""
    checked = 0
    for op_id, table, row in rows("params") + rows("body"):
        schema = deref(_field_schema(op_id, table, row["name"]))
        for words, keyword in (
            (r"starting from (\d+)", "minimum"),
            (r"greater than or equal to (\d+)", "minimum"),
        ):
            for match in re.finditer(words, row["desc"]):
                assert schema[keyword] == int(match[1]), (op_id, row["name"])
                checked += 1
        match = re.search(r"up to (\d+) decimal places", row["desc"])
        if match:
            assert schema["multipleOf"] == pytest.approx(10 ** -int(match[1])), row["name"]
            checked += 1
    assert checked == 4  # page x2, followerUserId, recommendShareRate


def test_the_rules_name_only_values_the_spec_allows() -> None:
    """`field=N` in the page's rules: N is in the field's enum, or the field is an open
    integer whose values the page does not list (marked)."""
    op = OPS["updateLeaderConfig"][2]
    body = properties(request_schema(op))
    rules = [line.strip()[1:].strip() for line in SECTION_BY_OP["updateLeaderConfig"].lines
             if line.strip().startswith("\u2022")]  # fmt: skip
    assert len(rules) == 8
    found = re.findall(r"\b([a-z][A-Za-z]*)=(\d+)", " ".join(rules))
    assert len(found) == 4  # unLeadType=1, unLeadType=0, recommendShare=1, isNeedInvite=1
    for name, value in found:
        values = _enum(body[name])
        assert values is None or int(value) in values, (name, value)
        if values is None:
            assert json_types(body[name]) == {"integer"}, name
    # "profitPeriod only supports 1 and 7."
    assert _enum(body["profitPeriod"]) == [1, 7]


def test_the_config_query_returns_the_fields_the_update_takes() -> None:
    """ "Returned fields match the fields that can be submitted" -- by name; by type they
    differ as the page says, which a marker records."""
    get = properties(properties(success_schema(OPS["getLeaderConfig"][2]))["data"])
    put = properties(request_schema(OPS["updateLeaderConfig"][2]))
    assert set(get) == set(put) and len(get) == 16
    for name in ("unLeadStartTime", "unLeadEndTime"):
        assert "string" in json_types(get[name]) and json_types(put[name]) == {"integer"}
    assert MARKERS["leader-config-round-trip-types"][0].endswith("leader~1config/put")


# --------------------------------------------------------------------------- error codes
LEADER_ONLY = {-120041, -120047, -120067, -120072, -120073, -120078, -32090, -32093}
LEADER_ONLY |= {-120510, -120511, -120512}


def test_the_11_leader_only_codes_are_in_the_error_table() -> None:
    page = {int(r["code"]) for *_, r in rows("errors")} - {200}
    follower = basic_information_codes()
    assert page - set(follower) == LEADER_ONLY
    assert page <= TABLE_CODES
    for row in ERROR_TABLE:
        if row["code"] in LEADER_ONLY:
            assert row["status"] == 400, row  # business errors, as -32045 and -120055


@pytest.mark.parametrize("op_id", sorted(LEADER_OPERATIONS))
def test_operation_error_codes_include_the_page_table(op_id: str) -> None:
    _, method, op = OPS[op_id]
    (table,) = SECTION_BY_OP[op_id].tables_of("errors")
    page_codes = {int(r["code"]) for r in table.rows} - {200}
    assert page_codes <= set(op["x-error-codes"]), page_codes - set(op["x-error-codes"])
    for code in page_codes:
        assert f"`{code}`" in op["description"], f"{op_id}: description does not name {code}"
    # a leader-only code the page does not list for this operation is not listed either
    assert set(op["x-error-codes"]) & LEADER_ONLY == page_codes & LEADER_ONLY, op_id
    # "Write endpoints do not support read-only API Keys."
    assert (-1020 in page_codes) == (method != "get") == (-1020 in op["x-error-codes"])


def test_error_messages_follow_the_leader_page() -> None:
    """Each message of the page's error tables is its code's x-error-table template (its
    `{name}` filled in) and the message of an error example of the spec."""
    examples = _error_examples()
    templates = {(row["code"], row["message"]) for row in ERROR_TABLE}
    checked = 0
    for *_, row in rows("errors"):
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
    assert checked == 50 - 9  # every row but the nine `200 success`


# --------------------------------------------------------------------------- open questions
@pytest.mark.parametrize(
    ("marker", "where", "words"),
    [
        # Remove Follower needs an ID that My Followers never returns
        ("follower-user-id-not-listed", "followers~1{followerUserId}/delete/parameters/0",
         "user ID"),
        # the GET and PUT config types differ
        ("leader-config-round-trip-types", "leader~1config/put", "JSON integers"),
        # values the page does not document
        ("trade-protect-values", "schemas/LeaderConfigUpdate", "`tradeProtect`"),
        ("is-need-invite-values", "schemas/LeaderConfigUpdate", "`isNeedInvite`"),
        ("recommend-share-values", "schemas/LeaderConfigUpdate", "`recommendShare`"),
        ("invite-scope-values", "schemas/LeaderConfigUpdate", "`inviteScope`"),
        # role errors
        ("follower-key-on-leader-endpoint", "schemas/ErrorCode", "`-120041`"),
        ("leader-key-on-follower-endpoint", "schemas/ErrorCode", "`-32045`"),
        # rules the page leaves open
        ("cool-down-window-rule", "leader~1config/put", "Rule 3"),
        ("leader-config-limit-code", "leader~1config/put", "`-120072`"),
        ("lead-position-type-frozen-while-positions-open", "leader~1config/put", "Rule 8"),
        ("leader-symbol-ids-list", "leader~1config/put", "Rule 7"),
        ("leader-page-size-range", "parameters/LeaderPageSize", "no maximum"),
        ("profit-sharing-latest-100", "profit-sharings~1history/get", "100"),
    ],
)  # fmt: skip
def test_the_open_questions_are_marked(marker: str, where: str, words: str) -> None:
    at, found = MARKERS[marker]
    assert where in at and words in found["assumes"], (at, found)
    assert found["page"].strip()


def test_the_link_from_followers_to_remove_reads_an_id_the_page_does_not_give() -> None:
    link = OPS["listFollowers"][2]["responses"]["200"]["links"]["RemoveFirstFollower"]
    assert link["operationId"] == "removeFollower"
    ((name, expression),) = link["parameters"].items()
    assert name == "path.followerUserId"
    row = properties(properties(properties(success_schema(OPS["listFollowers"][2]))["data"])
                     ["list"]["items"])  # fmt: skip
    field = expression.rsplit("/", 1)[1]
    assert field == "followerUserId" and field not in row  # the page's rows have none
    assert "follower-user-id-not-listed" in link["description"]


def test_the_link_from_config_query_to_update_copies_fields_of_both() -> None:
    link = OPS["getLeaderConfig"][2]["responses"]["200"]["links"]["UpdateThisLeaderConfig"]
    assert link["operationId"] == "updateLeaderConfig" and link["x-schemathesis"]["merge_body"]
    get = properties(properties(success_schema(OPS["getLeaderConfig"][2]))["data"])
    put = properties(request_schema(OPS["updateLeaderConfig"][2]))
    assert link["requestBody"]
    for name, expression in link["requestBody"].items():
        assert expression == f"$response.body#/data/{name}", name
        assert name in get and name in put, name
        # what the answer holds for it is what the request may carry (no strings -> integers)
        assert json_types(get[name]) == json_types(put[name]), name
    back = OPS["updateLeaderConfig"][2]["responses"]["200"]["links"]["GetStoredLeaderConfig"]
    assert back["operationId"] == "getLeaderConfig"
