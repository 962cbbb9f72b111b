"""Business-aware schemathesis checks of the Toobit copy-trading API, both sides.

Registered with `@schemathesis.check` on import, so `--checks all` (the CLI) and
`case.call_and_validate()` (the in-process tests) run them next to the built-in
checks. They read the contract from openapi.yaml (`fuzz.spec`), the run's target
and key from `fuzz.settings`, and their tunables from the `[checks.toobit_*]`
tables of fuzz/schemathesis.toml (`fuzz.config`).

1. `toobit_envelope_code`       the envelope's `code` is 200 or one of the operation's
                                `x-error-codes`, and the HTTP status is the one the
                                spec's error table gives for that code
2. `toobit_positive_accepted`   a schema-valid request is not rejected as malformed
                                (a validation code) nor, when fuzzing the simulator, as
                                badly signed (any HTTP 401 code)
3. `toobit_negative_rejected`   a schema-invalid request (an undeclared query parameter
                                included) is rejected with a validation code the
                                operation documents
4. `toobit_rejected_write_keeps_state`
                                a write answered with an error leaves the simulator's
                                state digest (`GET /_sim/state`) unchanged
5. `toobit_read_only_key`       with the read-only key every write is NOT_SUPPORTED
                                (HTTP 403) and no read is
6. `toobit_no_secret_in_response`
                                no response body or header contains a secret in use
7. `toobit_role_key`            against the simulator, no operation is refused as from
                                an account that is not an (active) leader: each is
                                signed with its side's seed key, the leader operations
                                with the demo leader's (a wrong key would pass 1-6, as
                                the role codes are in the leader operations' x-error-codes)

They apply to both sides alike: the follower operations signed with the follower key, the
leader operations with the leader key (fuzz.auth.SignerByTag, by the operation's tag).
"""

from __future__ import annotations

import json
import re
import threading
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

import schemathesis
from schemathesis.core.parameters import ParameterLocation
from schemathesis.generation.meta import REQUEST_SHAPE_PROBES, CoverageScenario, coverage_scenario
from toobit_follower_models.errors import ErrorCode

from fuzz import config, settings, spec

if TYPE_CHECKING:
    from schemathesis import Case, Response
    from schemathesis.checks import CheckContext

MISSING = object()
# Checked before the key's permission (docs/ARCHITECTURE.md, order of checks).
SIGNING_PARAMETERS = frozenset({"recvWindow", "timestamp", "signature"})
SIGNATURE_INVALID = ErrorCode.INVALID_SIGNATURE
TIMESTAMP_OUTSIDE_WINDOW = ErrorCode.INVALID_TIMESTAMP
# An account that is not a leader, or not an active one (x-assumption
# follower-key-on-leader-endpoint): what a leader operation signed with the wrong key gets.
ROLE_CODES = frozenset({ErrorCode.LEADER_NOT_AVAILABLE, ErrorCode.LEADER_NOT_FOUND})
_FIELD_IN_MESSAGE = re.compile(r"(?:parameter|paramter) '([^']*)'")


# --- helpers ----------------------------------------------------------------
def operation_of(case: Case) -> spec.Operation | None:
    return spec.load().by_label(case.operation.method, case.operation.path)


def is_probe(case: Case) -> bool:
    """A coverage request-shape probe (undeclared method, bad Content-Type)."""
    return coverage_scenario(case) in REQUEST_SHAPE_PROBES


def is_undeclared_method(case: Case) -> bool:
    """A probe with a method the path does not declare: the operation's contract does not apply
    (the router answers 405 before any key or field check); `unsupported_method` judges it."""
    return coverage_scenario(case) == CoverageScenario.UNSPECIFIED_HTTP_METHOD


def envelope(response: Response) -> dict[str, Any] | None:
    """The JSON object of the response, or None when the body is not one."""
    try:
        data = json.loads(response.content)
    except (ValueError, UnicodeDecodeError):
        return None
    return data if isinstance(data, dict) else None


def envelope_code(response: Response) -> Any:
    data = envelope(response)
    return MISSING if data is None else data.get("code", MISSING)


def field_in_message(response: Response) -> str | None:
    data = envelope(response) or {}
    match = _FIELD_IN_MESSAGE.search(str(data.get("msg", "")))
    return match.group(1) if match else None


def has_undeclared_query_parameter(case: Case, response: Response) -> bool:
    """The query as sent names a parameter the operation does not declare (spec: "Unknown
    parameters" are refused with UNKNOWN_PARAM, reads and writes alike). Read from the URL
    on the wire: `requests` leaves out a value that is None, an empty list, or a list of
    empty objects, which the case still holds."""
    url = getattr(response.request, "url", None) or ""
    sent = {name for name, _ in parse_qsl(urlsplit(url).query, keep_blank_values=True)}
    declared = case.operation.get_parameter_set(ParameterLocation.QUERY)
    return any(name not in declared and name not in SIGNING_PARAMETERS for name in sent)


def is_effectively_negative(ctx: CheckContext, response: Response, case: Case) -> bool:
    """Negative, and not one of the cases schemathesis itself knows reach the server valid.

    The exemptions are those of the built-in `negative_data_rejection` (schemathesis
    4.32.5, pinned): type mutations that read the same on the wire (`"5"` for 5 in a
    query), arrays that serialise like a scalar, extra headers or cookies, and so on.
    One is not taken: an undeclared query parameter, which the API refuses (UNKNOWN_PARAM)
    where schemathesis assumes it is ignored. Request-shape probes are left to
    `unsupported_method` / `not_a_server_error`, as the built-in checks do.
    """
    meta = case.meta
    if meta is None or not meta.generation.mode.is_negative or is_probe(case):
        return False
    if has_undeclared_query_parameter(case, response):
        return True
    from schemathesis.specs.openapi import checks as builtin

    return not (
        builtin.has_only_additional_properties_in_non_body_parameters(case)
        or builtin._body_negation_becomes_valid_after_serialization(response, case)
        or builtin._body_negation_is_only_forbidden_property(case)
        or builtin._single_element_array_becomes_valid_after_serialization(response, case)
        or builtin._type_mutations_become_valid_after_serialization(case)
        or builtin._path_array_becomes_valid_after_serialization(case)
        or builtin._non_body_negative_values_match_schema(response, case)
        or builtin._negative_body_replaced_by_caller(ctx, case)
    )


def body_has_line_terminators(response: Response) -> bool:
    """The server drops CR/LF from the body before verifying (Basic Information rule 6): a
    client that signs such a body byte for byte gets INVALID_SIGNATURE, whatever else the
    request holds."""
    body = response.request.body
    if isinstance(body, str):
        body = body.encode("utf-8", "surrogatepass")
    return isinstance(body, bytes) and (b"\r" in body or b"\n" in body)


def signature_refused_as_documented(response: Response) -> bool:
    return envelope_code(response) == SIGNATURE_INVALID and body_has_line_terminators(response)


def describe(response: Response) -> str:
    body = response.content[:300].decode("utf-8", "replace")
    return f"HTTP {response.status_code} {body}"


# --- 1 ----------------------------------------------------------------------
@schemathesis.check
def toobit_envelope_code(ctx: CheckContext, response: Response, case: Case) -> bool | None:
    """The envelope's `code` is 200 or documented for the operation, with the spec's HTTP status."""
    op = operation_of(case)
    if op is None or is_undeclared_method(case):
        return None
    contract = spec.load()
    data = envelope(response)
    if not op.signed and response.status_code == 200:
        return None  # GET /api/v1/time: a bare {"serverTime": ...}, no envelope
    if data is None:
        if is_probe(case) or response.status_code >= 500:
            # a router's 405/415 page, or a 5XX page (text/html is documented for 5XX;
            # not_a_server_error reports the 5XX itself)
            return None
        raise AssertionError(f"The response is not a JSON envelope: {describe(response)}")
    code = data.get("code", MISSING)
    if isinstance(code, bool) or not isinstance(code, int):
        raise AssertionError(f"`code` is not an integer: {describe(response)}")
    allowed = contract.allowed_codes(op)
    if code not in allowed:
        raise AssertionError(
            f"code {code} is not documented for {op.operation_id} "
            f"(x-error-codes: {sorted(allowed - {spec.SUCCESS})}): {describe(response)}"
        )
    if code == spec.SUCCESS:
        if response.status_code != 200:
            raise AssertionError(f"code 200 with HTTP {response.status_code}: {describe(response)}")
        return None
    statuses = spec.STATUS_OF_CODE.get(code, frozenset())
    if response.status_code in statuses:
        return None
    if response.status_code == 200 and config.check_option(
        "toobit_envelope_code", "errors-with-http-200"
    ):
        return None
    raise AssertionError(
        f"code {code} came with HTTP {response.status_code}; the spec's error table gives "
        f"{sorted(statuses) if len(statuses) < 5 else '5XX'}: {describe(response)}"
    )


# --- 2 ----------------------------------------------------------------------
@schemathesis.check
def toobit_positive_accepted(ctx: CheckContext, response: Response, case: Case) -> bool | None:
    """A schema-valid request is not rejected as malformed (nor as badly signed)."""
    meta = case.meta
    op = operation_of(case)
    if op is None or meta is None or not meta.generation.mode.is_positive or is_probe(case):
        return None
    code = envelope_code(response)
    current = settings.current()
    if code in spec.VALIDATION_CODES:
        name = field_in_message(response)
        exempt = config.check_option("toobit_positive_accepted", "cross-field-rules", {})
        if name is not None and name in exempt.get(op.operation_id, ()):
            return None  # a documented rule between fields, which JSON Schema cannot express
        raise AssertionError(
            f"A request valid under the schema was rejected as malformed ({code}, field "
            f"{name!r}): {describe(response)}"
        )
    # Every request is signed per Basic Information with a valid key. Against the
    # simulator (same clock, timestamps dated ahead) no key/timestamp/signature error is
    # deserved; against a live host INVALID_TIMESTAMP may come from clock skew with a small
    # generated recvWindow, but INVALID_SIGNATURE means the host signs differently (the open
    # question whether the body is signed: toobit_follower.signing.BodySigning).
    if (
        code in spec.AUTH_CODES
        and (current.embedded or code != TIMESTAMP_OUTSIDE_WINDOW)
        and not signature_refused_as_documented(response)
    ):
        target = "the simulator" if current.embedded else "the host"
        raise AssertionError(
            f"A correctly signed request was refused with {code}: {target} and the "
            f"signing rule (query as sent + raw body) disagree: {describe(response)}"
        )
    if code == spec.READ_ONLY_CODE and not current.read_only:
        raise AssertionError(f"{code} (read-only key) for the read-write key: {describe(response)}")
    return None


# --- 3 ----------------------------------------------------------------------
@schemathesis.check
def toobit_negative_rejected(ctx: CheckContext, response: Response, case: Case) -> bool | None:
    """A schema-invalid request is rejected with a validation code the operation documents."""
    op = operation_of(case)
    if op is None or not is_effectively_negative(ctx, response, case):
        return None
    if settings.current().read_only and op.is_write:
        return None  # the read-only refusal comes before validation: toobit_read_only_key's
    code = envelope_code(response)
    allowed = spec.VALIDATION_CODES & spec.load().allowed_codes(op)
    if code in allowed or signature_refused_as_documented(response):
        return None
    scenario = coverage_scenario(case)
    what = f" ({scenario.value})" if isinstance(scenario, CoverageScenario) else ""
    raise AssertionError(
        f"A schema-invalid request{what} was answered with code "
        f"{'none' if code is MISSING else code}, not a validation error "
        f"{sorted(allowed)}: {describe(response)}"
    )


# --- 4 ----------------------------------------------------------------------
_state_before: dict[str, Any] = {}
_state_lock = threading.Lock()


def record_state_before(case: Case) -> None:
    """`before_call` hook: remember the simulator's state before a write is sent."""
    current = settings.current()
    op = operation_of(case)
    if current.admin is None or op is None:
        return
    if op.is_write or case.method.upper() != "GET":
        state = current.admin.state()
        with _state_lock:
            _state_before[case.id] = state


def _digest(state: dict[str, Any]) -> Any:
    return state.get("digest", state.get("sha256"))


def _changed_parts(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    b = before.get("state", before)
    a = after.get("state", after)
    if not (isinstance(a, dict) and isinstance(b, dict)):
        return ["state"]
    return sorted(key for key in set(a) | set(b) if a.get(key) != b.get(key) and key != "digest")


@schemathesis.check
def toobit_rejected_write_keeps_state(
    ctx: CheckContext, response: Response, case: Case
) -> bool | None:
    """A write answered with an error leaves the simulator's state unchanged."""
    current = settings.current()
    with _state_lock:
        before = _state_before.pop(case.id, None)
    if current.admin is None or before is None:
        return None
    if response.status_code >= 500:
        return None  # "the outcome is unknown" (spec); not_a_server_error reports it
    if envelope_code(response) == spec.SUCCESS and response.status_code == 200:
        return None  # accepted: the write may change the state
    after = current.admin.state()
    if _digest(after) != _digest(before):
        raise AssertionError(
            f"The write was rejected ({describe(response)}) but the simulator's state changed "
            f"(digest {_digest(before)} -> {_digest(after)}; changed: "
            f"{', '.join(_changed_parts(before, after)) or '?'})"
        )
    return None


# --- 5 ----------------------------------------------------------------------
@schemathesis.check
def toobit_read_only_key(ctx: CheckContext, response: Response, case: Case) -> bool | None:
    """With the read-only key every write is NOT_SUPPORTED (HTTP 403) and no read is."""
    op = operation_of(case)
    if op is None or not settings.current().read_only or is_undeclared_method(case):
        return None
    code = envelope_code(response)
    if op.is_write:
        if code == spec.READ_ONLY_CODE and response.status_code == 403:
            return None
        if code in spec.VALIDATION_CODES and field_in_message(response) in SIGNING_PARAMETERS:
            return None  # a malformed recvWindow/timestamp is refused before the permission check
        if signature_refused_as_documented(response):
            return None  # so is a body whose line terminators the signature check drops
        raise AssertionError(
            f"A write with the read-only key was not refused with {spec.READ_ONLY_CODE.value}"
            f"/403: {describe(response)}"
        )
    if code == spec.READ_ONLY_CODE:
        raise AssertionError(
            f"A read with the read-only key was refused with {code}: {describe(response)}"
        )
    return None


# --- 6 ----------------------------------------------------------------------
@schemathesis.check
def toobit_no_secret_in_response(ctx: CheckContext, response: Response, case: Case) -> bool | None:
    """No response body or header contains a secret in use."""
    for secret in settings.current().secrets:
        if not secret:
            continue
        needle = secret.encode()
        if needle in response.content:
            raise AssertionError("The response body contains the API secret")
        for name, values in response.headers.items():
            if any(secret in value for value in values):
                raise AssertionError(f"The response header {name} contains the API secret")
    return None


# --- 7 ----------------------------------------------------------------------
@schemathesis.check
def toobit_role_key(ctx: CheckContext, response: Response, case: Case) -> bool | None:
    """Against the simulator, no answer says the signing account is not an active leader."""
    op = operation_of(case)
    if op is None or not settings.current().embedded or is_undeclared_method(case):
        return None
    code = envelope_code(response)
    if code in ROLE_CODES:
        raise AssertionError(
            f"{op.operation_id} ({op.tag}) was refused as from an account that is not an active"
            f" leader ({code}): the seed's {op.tag} key should sign it: {describe(response)}"
        )
    return None


CHECKS = (
    toobit_envelope_code,
    toobit_positive_accepted,
    toobit_negative_rejected,
    toobit_rejected_write_keeps_state,
    toobit_read_only_key,
    toobit_no_secret_in_response,
    toobit_role_key,
)
