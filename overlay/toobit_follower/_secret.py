"""A string that never shows itself in a repr, a log record or an exception."""

from __future__ import annotations

from typing import Final, NoReturn

_MASK: Final = "**********"


class Secret:
    """Holds an API secret; ``repr``/``str`` print a mask. Read it with :meth:`get_secret_value`."""

    __slots__ = ("_value",)

    def __init__(self, value: str | Secret) -> None:
        if isinstance(value, Secret):
            value = value.get_secret_value()
        if not isinstance(value, str):
            raise TypeError("a secret must be a str")
        self._value = value

    def get_secret_value(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return f"Secret('{_MASK}')"

    __str__ = __repr__

    def __format__(self, format_spec: str) -> str:
        return repr(self)

    def __bool__(self) -> bool:
        return bool(self._value)

    def __reduce__(self) -> NoReturn:
        # Pickling would write the secret to disk or over a wire in clear.
        raise TypeError("Secret cannot be pickled")


def mask_api_key(api_key: str) -> str:
    """``SRQG...OtSq``: enough to tell keys apart in a repr, not the whole key."""
    if len(api_key) <= 8:
        return "****"
    return f"{api_key[:4]}...{api_key[-4:]}"
