"""What the fuzz checks need from the contract, read once.

The operations (method, path, whether signed or writes, `x-error-codes`) come from the
operation table generated from the spec, `toobit_follower_models.operations`; every error
fact from the module generated from the spec's error table,
`toobit_follower_models.errors`: the documented codes and the HTTP status of each. The
checks group codes by HTTP status (400 refused request, 401 key/timestamp/signature, 403
permission, 429/418 rate limit, 5XX server), so a code added to the spec falls into its
family with no edit here. Only a rule that acts on one code names it, as
`ErrorCode.<NAME>`.
"""

from __future__ import annotations

import functools
import re
from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from toobit_follower_models.errors import ERROR_TABLE, ErrorCode
from toobit_follower_models.operations import OPERATIONS
from toobit_follower_models.protocol import SUCCESS_CODE

REPO_ROOT = Path(__file__).resolve().parents[1]
SPEC_PATH = REPO_ROOT / "openapi.yaml"

SUCCESS = SUCCESS_CODE  # the envelope's `code` on success, with HTTP 200
UNAUTHORIZED_STATUS = 401
SERVER_ERROR_STATUSES = frozenset(range(500, 600))  # operations declare `5XX`

# The request itself is malformed (missing, unknown, wrongly typed or invalid data): the
# codes the spec's validation rules name. The other 400 codes are business rules
# (no follow relation, open positions, ...) that a valid request may meet.
VALIDATION_CODES = frozenset(
    {
        ErrorCode.ILLEGAL_CHARS,
        ErrorCode.TOO_MANY_PARAMETERS,
        ErrorCode.MANDATORY_PARAM_EMPTY_OR_MALFORMED,
        ErrorCode.UNKNOWN_PARAM,
        ErrorCode.PARAM_EMPTY,
        ErrorCode.INVALID_PARAMETER,
    }
)
READ_ONLY_CODE = ErrorCode.NOT_SUPPORTED


def _statuses_by_code() -> dict[int, frozenset[int]]:
    statuses: dict[int, set[int]] = defaultdict(set)
    for row in ERROR_TABLE:
        family = SERVER_ERROR_STATUSES if row.http_status >= 500 else {row.http_status}
        statuses[row.code] |= family
    return {code: frozenset(found) for code, found in statuses.items()}


# code -> the HTTP statuses the spec's error table gives it (TOO_MANY_REQUESTS: 429 and 418)
STATUS_OF_CODE: dict[int, frozenset[int]] = _statuses_by_code()
# Key, timestamp and signature failures (HTTP 401): the harness signs every request
# correctly, so a correctly signed request never deserves one of these.
AUTH_CODES = frozenset(row.code for row in ERROR_TABLE if row.http_status == UNAUTHORIZED_STATUS)


@dataclass(frozen=True)
class Operation:
    operation_id: str
    method: str  # upper case
    path: str  # the template, e.g. /api/v2/.../{leaderUserId}
    error_codes: frozenset[int] | None  # x-error-codes; None when the spec lists none
    signed: bool  # has a security requirement
    is_write: bool  # the method is not GET
    tag: str  # the first tag: the side of copy trading (`follower`, `leader`), whose key signs

    @property
    def label(self) -> str:
        return f"{self.method} {self.path}"

    @functools.cached_property
    def path_pattern(self) -> re.Pattern[str]:
        """The path of a URL sent to this operation: the template after the base URL's own
        path, if any; a path parameter is one percent-encoded segment (possibly empty, as a
        generated negative value may be)."""
        parts = re.split(r"\{[^{}/]+\}", self.path)
        return re.compile("(?:/.*)?" + "[^/]*".join(re.escape(part) for part in parts))


@dataclass(frozen=True)
class Contract:
    operations: dict[str, Operation]  # by operationId
    documented_codes: frozenset[int]  # every code of the spec's error table

    def by_label(self, method: str, path: str) -> Operation | None:
        return self._labels.get(f"{method.upper()} {path}")

    @functools.cached_property
    def _labels(self) -> dict[str, Operation]:
        return {op.label: op for op in self.operations.values()}

    def allowed_codes(self, op: Operation) -> frozenset[int]:
        """200 plus the operation's `x-error-codes` (all documented codes if it lists none)."""
        codes = op.error_codes if op.error_codes is not None else self.documented_codes
        return codes | {SUCCESS}

    def read_only_operation_ids(self, tags: Collection[str] | None = None) -> list[str]:
        """Operations that cannot change anything: the GETs, in spec order (of `tags` only,
        when given)."""
        return [
            op.operation_id
            for op in self.operations.values()
            if not op.is_write and (tags is None or op.tag in tags)
        ]

    def write_operation_ids(self) -> list[str]:
        return [op.operation_id for op in self.operations.values() if op.is_write]

    @functools.cached_property
    def tags(self) -> tuple[str, ...]:
        """The sides of the contract, in the spec's order: each operation's first tag."""
        return tuple(dict.fromkeys(op.tag for op in self.operations.values()))

    def operation_ids(self, tag: str) -> list[str]:
        return [op.operation_id for op in self.operations.values() if op.tag == tag]

    def tag_of_url(self, url: str) -> str:
        """The tag of the operation whose path `url` is sent to, whatever the method (a
        coverage probe may send an undeclared one)."""
        path = urlsplit(url).path
        found = {op.tag for op in self.operations.values() if op.path_pattern.fullmatch(path)}
        if len(found) != 1:
            raise LookupError(f"{path!r} is the path of {len(found)} tags' operations, not one")
        return found.pop()


from toobit_follower_api.api import ROLES  # noqa: E402 - beside its one use


@functools.cache
def load() -> Contract:
    """The contract's operations, from the generated table, in the spec's order."""
    operations = {
        op.operation_id: Operation(
            operation_id=op.operation_id,
            method=op.method,
            path=op.path,
            error_codes=op.error_codes or None,
            signed=op.signed,
            is_write=op.write,
            # an operation of a tag of no role (common to every client) is the first
            # role's to sign (the follower's)
            tag=op.tag if op.tag in ROLES or not ROLES else next(iter(ROLES)),
        )
        for op in OPERATIONS
    }
    documented = frozenset(row.code for row in ERROR_TABLE)
    return Contract(operations=operations, documented_codes=documented)
