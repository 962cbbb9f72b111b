"""The hooks module schemathesis loads in the runner's subprocess (SCHEMATHESIS_HOOKS=fuzz.hooks).

Importing it registers the checks (`fuzz.checks`), the signing auth and the hooks
(`fuzz.harness`), configured from the environment the runner sets:

    FUZZ_TARGET              embedded | live
    FUZZ_KEY_PROFILE         read-write | read-only (embedded: which seed keys sign, one per
                             side: the operation's tag picks the follower or the leader key)
    FUZZ_ADMIN_URL           the simulator's base URL for /_sim/* (embedded only)
    FUZZ_ADMIN_TOKEN         its admin token, if any
    FUZZ_CLOCK_OFFSET_MS     server time minus local time, measured by the runner
    FUZZ_TIMESTAMP_LEAD_MS   see fuzz.auth.ToobitSigner
    FUZZ_STOP_FILE           live: where to explain a stop on HTTP 429/418
    TOOBIT_API_KEY / TOOBIT_API_SECRET   live: the follower key pair
    TOOBIT_LEADER_API_KEY / TOOBIT_LEADER_API_SECRET   live: the leader key pair (optional;
                             the runner leaves the leader operations out without it)
"""

from __future__ import annotations

import json
import os
from typing import Any

from toobit_follower_models.protocol import RATE_LIMIT_RESET_HEADER

from fuzz import checks as _checks  # noqa: F401 - registers the checks
from fuzz import harness, keys, settings, spec
from fuzz.admin import AdminClient
from fuzz.auth import SignerByTag

RATE_LIMIT_STATUSES = (429, 418)
RATE_LIMIT_EXIT = 75  # EX_TEMPFAIL


def _stop_on_rate_limit(stop_file: str) -> Any:
    def on_response(case: Any, response: Any) -> None:
        if response.status_code not in RATE_LIMIT_STATUSES:
            return
        headers = {k.lower(): v for k, v in response.headers.items()}

        def header(name: str) -> str | None:
            value = headers.get(name.lower())
            return value[0] if isinstance(value, list) and value else value

        info = {
            "status": response.status_code,
            "body": response.content[:500].decode("utf-8", "replace"),
            "retry_after": header("Retry-After"),
            "reset_timestamp": header(RATE_LIMIT_RESET_HEADER),
            "request": f"{case.method} {case.formatted_path}",
        }
        with open(stop_file, "w", encoding="utf-8") as fh:
            json.dump(info, fh)
        # Stop at once: any further request after a 429 risks an IP ban (418).
        os._exit(RATE_LIMIT_EXIT)

    return on_response


def settings_from_env(environ: dict[str, str] | os._Environ[str] = os.environ) -> settings.Settings:
    target = environ.get(settings.ENV_TARGET, "embedded")
    if target not in ("embedded", "live"):
        raise ValueError(f"{settings.ENV_TARGET}={target!r}: expected embedded or live")
    profile = environ.get(settings.ENV_KEY_PROFILE, "read-write")
    if profile not in ("read-write", "read-only"):
        raise ValueError(
            f"{settings.ENV_KEY_PROFILE}={profile!r}: expected read-write or read-only"
        )
    if target == "live":
        pairs = keys.live_keys(dict(environ))
        admin = None
    else:
        pairs = keys.seed_keys(profile)
        admin_url = environ.get(settings.ENV_ADMIN_URL)
        admin = (
            AdminClient(base_url=admin_url, token=environ.get(settings.ENV_ADMIN_TOKEN))
            if admin_url
            else None
        )
    signer = SignerByTag(
        pairs,
        tag_of_url=spec.load().tag_of_url,
        offset_ms=int(environ.get("FUZZ_CLOCK_OFFSET_MS", "0")),
        lead_ms=int(environ.get(settings.ENV_TIMESTAMP_LEAD_MS, "0")),
    )
    stop_file = environ.get("FUZZ_STOP_FILE")
    return settings.Settings(
        target=target,  # type: ignore[arg-type]
        key_profile=profile,  # type: ignore[arg-type]
        admin=admin,
        secrets=tuple(dict.fromkeys(pair.secret for pair in pairs.values())),
        signer=signer,
        on_response=_stop_on_rate_limit(stop_file) if stop_file else None,
    )


# The runner's subprocess starts unconfigured; an in-process user (fuzz.inprocess, the
# tests) has configured the harness before schemathesis imports this module.
if settings.current().signer is None:
    harness.configure(settings_from_env())
else:
    harness.install()
