"""Render ``toobit_follower_models/protocol.py``: the wire protocol's constants, read from
where the spec states them, so the client and the simulator retype none of them.

* ``API_KEY_HEADER``: ``components.securitySchemes.ApiKey.name`` (``in: header``);
* ``DEFAULT_BASE_URL``: ``servers[0].url`` (production);
* ``DEFAULT_RECV_WINDOW``, ``MIN_RECV_WINDOW``, ``MAX_RECV_WINDOW``: the ``default``,
  ``minimum`` and ``maximum`` of ``components.parameters.RecvWindow.schema``;
* ``RATE_LIMIT_STATUS_HEADER``, ``RATE_LIMIT_HEADER``, ``RATE_LIMIT_RESET_HEADER``: the
  name every response's ``headers:`` map gives ``components.headers.XApiLimitStatus``,
  ``XApiLimit`` and ``XApiLimitResetTimestamp`` (one spelling each, or generation stops);
* ``SUCCESS_CODE``: ``components.schemas.ErrorCode.not.const``, the one code that is
  never an error's: the envelope's ``code`` on success.

A fact that is missing or malformed raises ``ProtocolModuleError`` saying where.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

_HTTP_METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")
# RFC 9110 token: what a header name may be made of
_TOKEN = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
# The Python name of each rate-limit header, by the components.headers entry it names
RATE_LIMIT_HEADERS = {
    "XApiLimitStatus": "RATE_LIMIT_STATUS_HEADER",
    "XApiLimit": "RATE_LIMIT_HEADER",
    "XApiLimitResetTimestamp": "RATE_LIMIT_RESET_HEADER",
}


class ProtocolModuleError(ValueError):
    """The spec lacks a protocol fact or states it malformed; the message says where."""


def _at(spec: Any, path: str) -> Any:
    """The node at a dotted path (``servers.0.url``), or ProtocolModuleError naming it."""
    node = spec
    for part in path.split("."):
        if isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        elif isinstance(node, dict) and part in node:
            node = node[part]
        else:
            raise ProtocolModuleError(f"{path} is missing")
    return node


def _integer(spec: Any, path: str) -> int:
    value = _at(spec, path)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ProtocolModuleError(f"{path} must be an integer, got {value!r}")
    return value


def _header_name(value: Any, where: str) -> str:
    if not isinstance(value, str) or not _TOKEN.match(value):
        raise ProtocolModuleError(f"{where} must be an HTTP header name, got {value!r}")
    return value


def _api_key_header(spec: Any) -> str:
    where = "components.securitySchemes.ApiKey"
    scheme = _at(spec, where)
    if not isinstance(scheme, dict) or scheme.get("type") != "apiKey":
        raise ProtocolModuleError(f"{where} must be a security scheme of type apiKey")
    if scheme.get("in") != "header":
        raise ProtocolModuleError(f"{where}.in must be header, got {scheme.get('in')!r}")
    return _header_name(_at(spec, f"{where}.name"), f"{where}.name")


def _base_url(spec: Any) -> str:
    url = _at(spec, "servers.0.url")
    parts = urlsplit(url) if isinstance(url, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
        raise ProtocolModuleError(f"servers.0.url must be an absolute http(s) URL, got {url!r}")
    if parts.query or parts.fragment or url.endswith("/"):
        raise ProtocolModuleError(
            f"servers.0.url must be a base URL (no query, fragment or trailing /), got {url!r}"
        )
    return url


def _recv_window(spec: Any) -> tuple[int, int, int]:
    where = "components.parameters.RecvWindow.schema"
    if _at(spec, f"{where}.type") != "integer":
        raise ProtocolModuleError(f"{where}.type must be integer")
    low, default, high = (_integer(spec, f"{where}.{k}") for k in ("minimum", "default", "maximum"))
    if not 0 < low <= default <= high:
        raise ProtocolModuleError(
            f"{where}: 0 < minimum <= default <= maximum must hold, got {low}, {default}, {high}"
        )
    return default, low, high


def _responses(spec: Any) -> list[tuple[str, Any]]:
    """Every response object with where it is: the operations' and components.responses'."""
    found: list[tuple[str, Any]] = []
    paths = spec.get("paths") if isinstance(spec, dict) else None
    for path, item in (paths or {}).items():
        for method in _HTTP_METHODS:
            operation = item.get(method) if isinstance(item, dict) else None
            if isinstance(operation, dict):
                for status, response in (operation.get("responses") or {}).items():
                    found.append((f"{method.upper()} {path} {status}", response))
    components = _at(spec, "components") if isinstance(spec, dict) else {}
    for name, response in ((components or {}).get("responses") or {}).items():
        found.append((f"components.responses.{name}", response))
    return found


def _rate_limit_headers(spec: Any) -> dict[str, str]:
    """The header name of each RATE_LIMIT_HEADERS component, one spelling across responses."""
    names: dict[str, dict[str, list[str]]] = {component: {} for component in RATE_LIMIT_HEADERS}
    for where, response in _responses(spec):
        headers = response.get("headers") if isinstance(response, dict) else None
        for name, header in (headers or {}).items():
            ref = header.get("$ref") if isinstance(header, dict) else None
            component = ref.removeprefix("#/components/headers/") if isinstance(ref, str) else ""
            if component in names:
                names[component].setdefault(name, []).append(where)
    result: dict[str, str] = {}
    for component, spellings in names.items():
        _at(spec, f"components.headers.{component}")
        if not spellings:
            raise ProtocolModuleError(
                f"no response names a header for components.headers.{component}"
            )
        if len(spellings) > 1:
            listed = "; ".join(f"{name!r} in {', '.join(w[:2])}" for name, w in spellings.items())
            raise ProtocolModuleError(
                f"responses name components.headers.{component} differently: {listed}"
            )
        (name,) = spellings
        result[component] = _header_name(name, f"the header of components.headers.{component}")
    return result


def _success_code(spec: Any) -> int:
    return _integer(spec, "components.schemas.ErrorCode.not.const")


def facts(spec: Any) -> list[tuple[str, str | int, str]]:
    """Every protocol fact of the spec: (Python name, value, docstring), in module order."""
    default, low, high = _recv_window(spec)
    recv = "components.parameters.RecvWindow.schema"
    rows: list[tuple[str, str | int, str]] = [
        (
            "API_KEY_HEADER",
            _api_key_header(spec),
            "The API key's request header: ``components.securitySchemes.ApiKey.name``.",
        ),
        ("DEFAULT_BASE_URL", _base_url(spec), "The production host: ``servers[0].url``."),
        ("DEFAULT_RECV_WINDOW", default, f"The default ``recvWindow`` (ms): ``{recv}.default``."),
        ("MIN_RECV_WINDOW", low, f"The smallest ``recvWindow`` (ms): ``{recv}.minimum``."),
        ("MAX_RECV_WINDOW", high, f"The largest ``recvWindow`` (ms): ``{recv}.maximum``."),
    ]
    headers = _rate_limit_headers(spec)
    for component, python_name in RATE_LIMIT_HEADERS.items():
        doc = f"The response header of ``components.headers.{component}``."
        rows.append((python_name, headers[component], doc))
    rows.append(
        (
            "SUCCESS_CODE",
            _success_code(spec),
            "The envelope's ``code`` on success: ``components.schemas.ErrorCode.not.const``.",
        )
    )
    spellings = [str(value).lower() for name, value, _ in rows if name.endswith("_HEADER")]
    if len(set(spellings)) != len(spellings):
        raise ProtocolModuleError(f"two protocol headers share a name: {sorted(spellings)}")
    return rows


_HEAD = '''\
"""The wire protocol's constants, each read from where openapi.yaml states it (the
client's ``toobit_follower.constants`` and the simulator import them from here)."""

from __future__ import annotations

from typing import Final

'''


def render_protocol_module(spec: Any) -> str:
    """The module's source for the parsed spec (ruff formats it after)."""
    rows = facts(spec)
    lines = [_HEAD, f"__all__ = {sorted(name for name, _, _ in rows)!r}\n"]
    for name, value, doc in rows:
        lines.append(f'\n{name}: Final = {value!r}\n"""{doc}"""\n')
    return "".join(lines)
