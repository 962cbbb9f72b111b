"""Injected faults, off by default. Syntax (comma-separated, any order):

    latency=P:DURATION   with probability P, wait DURATION before answering (e.g. 0.05:200ms)
    html502=P            answer 502 with a gateway HTML page (nothing done)
    html503=P            answer 503 with a gateway HTML page (nothing done)
    drop=P               close the connection without any response (nothing done)
    commit500=P          on a write that succeeded and committed, answer 500 (UNKNOWN) anyway
    clock=OFFSET         shift the server clock, e.g. +1500ms, -2s
    seed=N               seed of the fault RNG (default 0), for reproducible runs

P is a probability in [0, 1]; DURATION and OFFSET take ms or s (bare numbers are ms).
Faults apply to /api/* only; admin and docs routes are never faulted.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field

_DURATION = re.compile(r"([+-]?[0-9]+(?:\.[0-9]+)?)(ms|s)?")


class FaultSpecError(ValueError):
    """The --faults string is not valid."""


_MAX_DURATION_MS = 24 * 3600 * 1000  # a day: any longer is a typo, and too far for a timer


def _duration_ms(text: str, what: str) -> int:
    match = _DURATION.fullmatch(text.strip())
    if match is None:
        raise FaultSpecError(f"{what}: {text!r} is not a duration such as 200ms or 1.5s")
    value = float(match.group(1))
    ms = value * 1000 if match.group(2) == "s" else value
    if not abs(ms) <= _MAX_DURATION_MS:
        raise FaultSpecError(f"{what}: {text.strip()!r} is longer than a day")
    return round(ms)


def _probability(text: str, what: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise FaultSpecError(f"{what}: {text!r} is not a probability") from None
    if not 0.0 <= value <= 1.0:
        raise FaultSpecError(f"{what}: probability {value} is not in [0, 1]")
    return value


@dataclass(slots=True)
class FaultSpec:
    latency_p: float = 0.0
    latency_ms: int = 0
    html502: float = 0.0
    html503: float = 0.0
    drop: float = 0.0
    commit500: float = 0.0
    clock_offset_ms: int = 0
    seed: int = 0

    @classmethod
    def parse(cls, text: str | None) -> FaultSpec:
        spec = cls()
        if not text:
            return spec
        for part in text.split(","):
            part = part.strip()
            if not part:
                continue
            name, sep, value = part.partition("=")
            name = name.strip().lower()
            if not sep:
                raise FaultSpecError(f"{part!r}: expected NAME=VALUE")
            if name == "latency":
                prob, colon, duration = value.partition(":")
                if not colon:
                    raise FaultSpecError("latency: expected P:DURATION, e.g. 0.05:200ms")
                spec.latency_p = _probability(prob, name)
                spec.latency_ms = _duration_ms(duration, name)
                if spec.latency_ms < 0:
                    raise FaultSpecError("latency: the duration cannot be negative")
            elif name in ("html502", "html503", "drop", "commit500"):
                setattr(spec, name, _probability(value, name))
            elif name == "clock":
                spec.clock_offset_ms = _duration_ms(value, name)
            elif name == "seed":
                try:
                    spec.seed = int(value)
                except ValueError:
                    raise FaultSpecError(f"seed: {value!r} is not an integer") from None
            else:
                raise FaultSpecError(
                    f"unknown fault {name!r} (known: latency, html502, html503, drop, "
                    "commit500, clock, seed)"
                )
        if spec.html502 + spec.html503 + spec.drop > 1.0:
            raise FaultSpecError("html502 + html503 + drop must not exceed 1")
        return spec

    def __str__(self) -> str:
        parts = []
        if self.latency_p:
            parts.append(f"latency={self.latency_p}:{self.latency_ms}ms")
        for name in ("html502", "html503", "drop", "commit500"):
            if getattr(self, name):
                parts.append(f"{name}={getattr(self, name)}")
        if self.clock_offset_ms:
            parts.append(f"clock={self.clock_offset_ms:+d}ms")
        parts.append(f"seed={self.seed}")
        return ",".join(parts)


# What a request draws before it reaches the API.
PASS = 0
HTML502 = 1
HTML503 = 2
DROP = 3


@dataclass(slots=True)
class Faults:
    """The fault switchboard with its own seeded RNG (one draw sequence per process)."""

    spec: FaultSpec = field(default_factory=FaultSpec)
    rng: random.Random = field(init=False)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.spec.seed)  # noqa: S311 - simulation, not crypto
        s = self.spec
        self.active = bool(s.latency_p or s.html502 or s.html503 or s.drop or s.commit500)

    active: bool = field(init=False)

    def latency_s(self) -> float:
        if self.spec.latency_p and self.rng.random() < self.spec.latency_p:
            return self.spec.latency_ms / 1000
        return 0.0

    def gateway(self) -> int:
        s = self.spec
        if not (s.html502 or s.html503 or s.drop):
            return PASS
        draw = self.rng.random()
        if draw < s.html502:
            return HTML502
        if draw < s.html502 + s.html503:
            return HTML503
        if draw < s.html502 + s.html503 + s.drop:
            return DROP
        return PASS

    def commit_500(self) -> bool:
        return bool(self.spec.commit500) and self.rng.random() < self.spec.commit500


GATEWAY_PAGES = {
    HTML502: (
        502,
        b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
        b"<center><h1>502 Bad Gateway</h1></center>\r\n</body>\r\n</html>\r\n",
    ),
    HTML503: (
        503,
        b"<html>\r\n<head><title>503 Service Temporarily Unavailable</title></head>\r\n<body>\r\n"
        b"<center><h1>503 Service Temporarily Unavailable</h1></center>\r\n</body>\r\n</html>\r\n",
    ),
}
