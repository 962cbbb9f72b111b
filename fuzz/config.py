"""fuzz/schemathesis.toml: the one configuration file, for schemathesis and for our checks.

schemathesis reads it with `--config-file` (the runner) or
`SchemathesisConfig.from_path` (the in-process tests). The `[checks.toobit_*]`
tables hold the tunables of our own checks; schemathesis keeps them as custom
check settings and our checks read them here, so both runs use the same values.
"""

from __future__ import annotations

import functools
import os
import tomllib
from pathlib import Path
from typing import Any

CONFIG_PATH = Path(__file__).with_name("schemathesis.toml")
# The runner sets this for a live host: gateways may send errors with HTTP 200.
ENV_ERRORS_WITH_HTTP_200 = "FUZZ_ERRORS_WITH_HTTP_200"


@functools.cache
def raw() -> dict[str, Any]:
    with open(CONFIG_PATH, "rb") as fh:
        return tomllib.load(fh)


def check_option(check: str, option: str, default: Any = None) -> Any:
    if check == "toobit_envelope_code" and option == "errors-with-http-200":
        if os.environ.get(ENV_ERRORS_WITH_HTTP_200) == "1":
            return True
    return raw().get("checks", {}).get(check, {}).get(option, default)


def schemathesis_config() -> Any:
    """The file as a `SchemathesisConfig` (for schemathesis.openapi.from_path/from_asgi)."""
    from schemathesis.config import SchemathesisConfig

    return SchemathesisConfig.from_path(CONFIG_PATH)
