"""What the fuzz checks need from openapi.yaml, read once.

Everything here comes from the contract itself: the operations with their method
and path, `x-error-codes` per operation, the `ErrorCode` enum, and which
operations write. The only table that is not machine-readable in the spec is the
HTTP status of each code (the spec's "HTTP statuses" table, in prose): it is
written out in `STATUS_OF_CODE` below with the same content.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parents[1]
SPEC_PATH = REPO_ROOT / "openapi.yaml"
HTTP_METHODS = ("get", "put", "post", "delete", "patch")

SUCCESS = 200
# Validation codes: the request itself is malformed (-1100..-1130 in the spec's tables).
VALIDATION_CODES = frozenset({-1100, -1101, -1102, -1103, -1105, -1130})
# Key, timestamp and signature failures: the harness signs every request correctly,
# so a correctly signed request never deserves one of these.
AUTH_CODES = frozenset({-1002, -1021, -1022, -2014, -2015, -2017, -2018})
READ_ONLY_CODE = -1020

# The spec's "HTTP statuses" table (info.description), code -> the statuses it may come with.
STATUS_OF_CODE: dict[int, frozenset[int]] = {
    **{code: frozenset({400}) for code in VALIDATION_CODES},
    -32045: frozenset({400}),
    -120055: frozenset({400}),
    **{code: frozenset({401}) for code in AUTH_CODES},
    -1020: frozenset({403}),
    -1005: frozenset({403}),
    -1003: frozenset({429, 418}),
    -1000: frozenset(range(500, 600)),
}


@dataclass(frozen=True, slots=True)
class Operation:
    operation_id: str
    method: str  # upper case
    path: str  # the template, e.g. /api/v2/.../{leaderUserId}
    error_codes: frozenset[int] | None  # x-error-codes; None when the spec lists none
    signed: bool  # has a security requirement

    @property
    def is_write(self) -> bool:
        return self.method != "GET"

    @property
    def label(self) -> str:
        return f"{self.method} {self.path}"


@dataclass(frozen=True)
class Contract:
    operations: dict[str, Operation]  # by operationId
    documented_codes: frozenset[int]  # components.schemas.ErrorCode.enum

    def by_label(self, method: str, path: str) -> Operation | None:
        return self._labels.get(f"{method.upper()} {path}")

    @functools.cached_property
    def _labels(self) -> dict[str, Operation]:
        return {op.label: op for op in self.operations.values()}

    def allowed_codes(self, op: Operation) -> frozenset[int]:
        """200 plus the operation's `x-error-codes` (all documented codes if it lists none)."""
        codes = op.error_codes if op.error_codes is not None else self.documented_codes
        return codes | {SUCCESS}

    def read_only_operation_ids(self) -> list[str]:
        """Operations that cannot change anything: the GETs, in spec order."""
        return [op.operation_id for op in self.operations.values() if not op.is_write]

    def write_operation_ids(self) -> list[str]:
        return [op.operation_id for op in self.operations.values() if op.is_write]


def parse(raw: dict[str, Any]) -> Contract:
    operations: dict[str, Operation] = {}
    for path, item in raw.get("paths", {}).items():
        for method in HTTP_METHODS:
            definition = item.get(method)
            if not isinstance(definition, dict):
                continue
            op_id = definition["operationId"]
            codes = definition.get("x-error-codes")
            security = definition.get("security", raw.get("security", []))
            operations[op_id] = Operation(
                operation_id=op_id,
                method=method.upper(),
                path=path,
                error_codes=frozenset(int(c) for c in codes) if codes is not None else None,
                signed=any(bool(requirement) for requirement in security),
            )
    enum = raw["components"]["schemas"]["ErrorCode"]["enum"]
    return Contract(operations=operations, documented_codes=frozenset(int(c) for c in enum))


@functools.cache
def load(path: str | None = None) -> Contract:
    with open(path or SPEC_PATH, encoding="utf-8") as fh:
        return parse(yaml.safe_load(fh))
