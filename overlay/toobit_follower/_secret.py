"""A string that never shows itself in a repr, a log record or an exception."""

from __future__ import annotations

import re
from typing import Final, NoReturn

from ._exceptions import CredentialsError
from .constants import API_KEY_MAX_LENGTH


class Secret:
    """Holds an API secret; ``repr``/``str`` print a mask. Read it with :meth:`get_secret_value`."""

    __slots__ = ("_value",)

    def __init__(self, value: str | Secret) -> None:
        value = value.get_secret_value() if isinstance(value, Secret) else value
        if not isinstance(value, str):
            raise TypeError("a secret must be a str")
        self._value = value

    def get_secret_value(self) -> str:
        return self._value

    def __repr__(self, *_format_spec: object) -> str:
        return "Secret('**********')"

    __str__ = __format__ = __repr__

    def __bool__(self) -> bool:
        return bool(self._value)

    def __reduce__(self) -> NoReturn:
        raise TypeError("Secret cannot be pickled")  # it would go to disk or a wire in clear


def mask_api_key(api_key: str) -> str:
    """``SRQG...OtSq``: enough to tell keys apart in a repr, not the whole key."""
    return "****" if len(api_key) <= 8 else f"{api_key[:4]}...{api_key[-4:]}"


# A key is what the simulator accepts (its BAD_API_KEY_FMT rule). The exchange documents no
# alphabet for secrets: refuse only what no real one holds and a copy-paste often adds
# (whitespace such as a trailing newline, control or non-ASCII characters).
_API_KEY_RE: Final = re.compile(rf"[A-Za-z0-9]{{1,{API_KEY_MAX_LENGTH}}}")
_SECRET_RE: Final = re.compile(r"[\x21-\x7e]+")


def _check(value: str, allowed: re.Pattern[str], what: str, rule: str) -> None:
    """CredentialsError ``<what> <problem> (<rule>)`` unless ``allowed`` matches ``value``."""
    if allowed.fullmatch(value):
        return
    bad = next((i for i, char in enumerate(value) if not allowed.fullmatch(char)), None)
    if bad is None:  # every character is allowed: the length is not
        problem = f"is {len(value)} characters long" if value else "is empty"
        raise CredentialsError(f"{what} {problem} ({rule})")
    char = value[bad]
    if char.isspace():
        kind = "a newline" if char in "\r\n" else "whitespace"
    elif char.isascii() and char.isprintable():
        kind = "a character that is not a letter or a digit"
    else:
        kind = "a control character" if char.isascii() else "a non-ASCII character"
    raise CredentialsError(f"{what} has {kind} at position {bad + 1} of {len(value)} ({rule})")


def check_api_key(api_key: object, where: str = "api_key") -> str:
    """``api_key`` if it is 1..128 ASCII letters and digits, else CredentialsError (masked)."""
    if not isinstance(api_key, str):
        raise CredentialsError(f"{where}: the API key must be a str, not {type(api_key).__name__}")
    shown = f" {mask_api_key(api_key)!r}" if api_key else ""
    rule = f"an API key is 1..{API_KEY_MAX_LENGTH} ASCII letters and digits"
    _check(api_key, _API_KEY_RE, f"{where}: the API key{shown}", rule)
    return api_key


def check_api_secret(api_secret: str | Secret, where: str = "api_secret") -> Secret:
    """``api_secret`` as a Secret if it is visible ASCII, else CredentialsError (not showing it)."""
    secret = api_secret if isinstance(api_secret, Secret) else Secret(api_secret)
    rule = "a secret is visible ASCII characters with no whitespace; it is not shown"
    _check(secret.get_secret_value(), _SECRET_RE, f"{where}: the API secret", rule)
    return secret
