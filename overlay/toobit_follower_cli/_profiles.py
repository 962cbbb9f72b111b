"""Where the command line finds its credentials: the environment or a profile file.

Profile file (TOML), by default ``$XDG_CONFIG_HOME/toobit-follower/profiles.toml``
(``~/.config/...``), or ``--profiles-file`` / ``$TOOBIT_FOLLOWER_PROFILES``::

    [default]
    api_key = "..."
    api_secret = "..."
    base_url = "http://127.0.0.1:8080"   # optional
    recv_window = 5000                   # optional
    body_signing = "auto"                # optional: query+body (default), query-only, auto

The file holds API secrets, so it is read only when no one but its owner can read or
write it (mode 0600 or narrower), it belongs to the current user, it is a regular file
and not a symbolic link, and no one else can write to its directory (who can, could
replace the file), as ssh does with its keys. A malformed key or secret (a trailing
newline, a space) is refused with the key masked.
"""

from __future__ import annotations

import os
import stat
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

from toobit_follower import BodySigning, CredentialsError, Secret
from toobit_follower._auth import AUTO
from toobit_follower._secret import check_api_key, check_api_secret
from toobit_follower.constants import (
    API_KEY_ENV,
    API_SECRET_ENV,
    BASE_URL_ENV,
    MAX_RECV_WINDOW,
    MIN_RECV_WINDOW,
)

__all__ = [
    "PROFILES_ENV",
    "Credentials",
    "CredentialsError",
    "ProfileError",
    "default_profiles_path",
    "resolve_credentials",
]

PROFILES_ENV = "TOOBIT_FOLLOWER_PROFILES"
DEFAULT_PROFILE = "default"


class ProfileError(Exception):
    """The profile file cannot be used (permissions, syntax, missing profile)."""


@dataclass(frozen=True, slots=True)
class Credentials:
    api_key: str
    api_secret: Secret
    source: str
    """Where they came from, for messages: ``environment`` or ``profile 'x' in PATH``."""
    base_url: str | None = None
    recv_window: int | None = None
    body_signing: str | None = None
    """``query+body``, ``query-only`` or ``auto`` (``None``: the client's default)."""


BODY_SIGNING_VALUES: tuple[str, ...] = (*(rule.value for rule in BodySigning), AUTO)


def default_profiles_path(environ: dict[str, str] | None = None) -> Path:
    env = os.environ if environ is None else environ
    if env.get(PROFILES_ENV):
        return Path(env[PROFILES_ENV]).expanduser()
    base = env.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "toobit-follower" / "profiles.toml"


def _check_owner(path: Path, info: os.stat_result, what: str) -> None:
    if hasattr(os, "getuid") and info.st_uid not in (os.getuid(), 0):
        raise ProfileError(
            f"refusing to read {path}: {what} belongs to user id {info.st_uid}, not to you"
            f" ({os.getuid()})"
        )


def _check_private(path: Path, info: os.stat_result) -> None:
    """Refuse a profile file (``info``: its fstat) that others could read or change."""
    if not stat.S_ISREG(info.st_mode):
        raise ProfileError(f"refusing to read {path}: not a regular file")
    mode = stat.S_IMODE(info.st_mode)
    if mode & 0o077:
        raise ProfileError(
            f"refusing to read {path}: its permissions are {mode:04o}, wider than 0600, "
            f"and it holds API secrets. Fix it with: chmod 600 {path}"
        )
    if hasattr(os, "getuid") and info.st_uid != os.getuid():
        raise ProfileError(
            f"refusing to read {path}: it belongs to user id {info.st_uid}, not to you"
            f" ({os.getuid()})"
        )
    folder = path.parent
    folder_info = folder.stat()
    folder_mode = stat.S_IMODE(folder_info.st_mode)
    if folder_mode & 0o022:
        raise ProfileError(
            f"refusing to read {path}: its directory {folder} is writable by others"
            f" ({folder_mode:04o}), who could replace the file. Fix it with:"
            f" chmod go-w {folder}"
        )
    _check_owner(path, folder_info, f"its directory {folder}")


def _load(path: Path) -> dict[str, object]:
    """The profile file's TOML, read through a descriptor that is checked first: not a
    symbolic link (O_NOFOLLOW), private, in a directory only its owner can write."""
    if path.is_symlink():
        raise ProfileError(
            f"refusing to read {path}: it is a symbolic link; name the file itself"
            f" (--profiles-file or ${PROFILES_ENV})"
        )
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError as exc:
        raise ProfileError(f"cannot read {path}: {exc.strerror}") from None
    with os.fdopen(fd, "rb") as fh:
        if sys.platform != "win32":  # POSIX modes mean nothing there
            _check_private(path, os.fstat(fd))
        try:
            return tomllib.load(fh)
        except tomllib.TOMLDecodeError as exc:
            raise ProfileError(f"{path} is not valid TOML: {exc}") from None
        except OSError as exc:
            raise ProfileError(f"cannot read {path}: {exc.strerror}") from None


def _read_profile(path: Path, name: str) -> Credentials:
    document = _load(path)
    section = document.get(name)
    if not isinstance(section, dict):
        known = ", ".join(sorted(k for k, v in document.items() if isinstance(v, dict)))
        raise ProfileError(
            f"no profile [{name}] in {path}" + (f" (profiles: {known})" if known else "")
        )
    where = f"profile '{name}' in {path}"
    api_key = section.get("api_key")
    api_secret = section.get("api_secret")
    if not isinstance(api_key, str) or not api_key:
        raise ProfileError(f"{where} has no api_key")
    if not isinstance(api_secret, str) or not api_secret:
        raise ProfileError(f"{where} has no api_secret")
    check_api_key(api_key, f"{where}: api_key")
    secret = check_api_secret(api_secret, f"{where}: api_secret")
    base_url = section.get("base_url")
    if base_url is not None and not isinstance(base_url, str):
        raise ProfileError(f"{where}: base_url must be a string")
    recv_window = section.get("recv_window")
    if recv_window is not None and (
        isinstance(recv_window, bool)
        or not isinstance(recv_window, int)
        or not MIN_RECV_WINDOW <= recv_window <= MAX_RECV_WINDOW
    ):
        raise ProfileError(
            f"{where}: recv_window must be an integer in {MIN_RECV_WINDOW}..{MAX_RECV_WINDOW}"
            " (milliseconds)"
        )
    body_signing = section.get("body_signing")
    if body_signing is not None and body_signing not in BODY_SIGNING_VALUES:
        raise ProfileError(f"{where}: body_signing must be one of {', '.join(BODY_SIGNING_VALUES)}")
    return Credentials(api_key, secret, where, base_url, recv_window, body_signing)


def resolve_credentials(
    profile: str | None,
    profiles_file: str | None,
    environ: dict[str, str] | None = None,
) -> Credentials:
    """The credentials to use, in this order:

    1. ``--profile NAME``: that profile of the profile file (which must exist);
    2. ``TOOBIT_API_KEY`` and ``TOOBIT_API_SECRET`` from the environment;
    3. the ``[default]`` profile, when the profile file exists.
    """
    env = dict(os.environ) if environ is None else environ
    path = Path(profiles_file).expanduser() if profiles_file else default_profiles_path(env)
    if profile is not None:
        if not os.path.lexists(path):
            raise ProfileError(f"--profile {profile}: the profile file {path} does not exist")
        return _read_profile(path, profile)
    key, secret = env.get(API_KEY_ENV, ""), env.get(API_SECRET_ENV, "")
    if key and secret:
        check_api_key(key, API_KEY_ENV)
        checked = check_api_secret(secret, API_SECRET_ENV)
        return Credentials(key, checked, "environment", env.get(BASE_URL_ENV) or None)
    if key or secret:
        missing = API_SECRET_ENV if key else API_KEY_ENV
        raise CredentialsError(f"{missing} is not set (the other of the pair is)")
    if os.path.lexists(path):
        return _read_profile(path, DEFAULT_PROFILE)
    raise CredentialsError(
        f"no credentials: set {API_KEY_ENV} and {API_SECRET_ENV}, or write a profile file"
        f" {path} (mode 0600) and pass --profile NAME"
    )
