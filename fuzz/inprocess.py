"""The fuzzer in-process: schemathesis against the simulator's ASGI app, no socket.

The tests use it with the same configuration file, signer and checks as the
runner: `contract_schema(app)` for `@schema.parametrize()` / `as_state_machine()`,
`run_engine(app, ...)` for a whole schemathesis run whose failures are collected
by check name (what the CLI prints), e.g. against a deliberately broken app.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import schemathesis

from fuzz import checks, config, harness, keys, settings, spec
from fuzz.admin import AdminClient
from fuzz.auth import SignerByTag, measure_offset_ms

# Same clock, exact offset: see fuzz.run.EMBEDDED_TIMESTAMP_LEAD_MS.
TIMESTAMP_LEAD_MS = 900
RATE_LIMIT = 10_000_000


class KeepAlive:
    """The app without its lifespan: one simulator for a whole test module.

    schemathesis' pytest plugin ends every ASGI lifespan after each test, and the
    simulator closes its store on lifespan shutdown; a module-level app would be dead
    from the second test on. The store needs no startup, so lifespan events are
    simply acknowledged here.
    """

    def __init__(self, app: Any) -> None:
        self.app = app
        self.sim = getattr(app, "sim", None)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "lifespan":
            await self.app(scope, receive, send)
            return
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return


def simulator_app(*, service: Any = None, **options: Any) -> Any:
    """The real simulator from the default seed, admin on, a rate limit no test reaches;
    `service`: its business rules (a FollowerService subclass adding some), if not the
    default. The one place fuzz imports the simulator: it starts one here."""
    from toobit_follower_sim.app import SimOptions, create_app

    rules = {} if service is None else {"service": service}
    options = {"admin": True, "rate_limit": RATE_LIMIT, **options}
    return KeepAlive(create_app(options=SimOptions(**options), **rules))


def server_time(app: Any) -> int:
    from schemathesis.python import asgi

    with asgi.get_client(app) as client:
        response = client.get("http://testserver/api/v1/time")
    response.raise_for_status()
    return int(response.json()["serverTime"])


def configure(
    app: Any,
    key_profile: settings.KeyProfile = "read-write",
    keys_by_tag: Mapping[str, keys.KeyPair] | None = None,
) -> settings.Settings:
    """Point the registered signer, hooks and checks at `app` with the seed's keys of
    `key_profile`, one per side (or `keys_by_tag`, a test's own choice)."""
    pairs = dict(keys.seed_keys(key_profile) if keys_by_tag is None else keys_by_tag)
    signer = SignerByTag(
        pairs,
        tag_of_url=spec.load().tag_of_url,
        offset_ms=measure_offset_ms(lambda: server_time(app)),
        lead_ms=TIMESTAMP_LEAD_MS,
    )
    return harness.configure(
        settings.Settings(
            target="embedded",
            key_profile=key_profile,
            admin=AdminClient(app=app),
            secrets=tuple(dict.fromkeys(pair.secret for pair in pairs.values())),
            signer=signer,
        )
    )


def schemathesis_config(
    *,
    phases: Sequence[str] | None = None,
    max_examples: int | None = None,
    seed: int | None = None,
    no_shrink: bool = False,
) -> Any:
    """fuzz/schemathesis.toml plus what the runner passes on the command line."""
    cfg = config.schemathesis_config()
    if seed is not None:
        cfg.update(seed=seed, max_failures=None)
    override = cfg.projects.override
    override.checks.update(included_check_names=["all"])
    if phases is not None:
        override.phases.update(phases=list(phases))
    override.generation.update(
        max_examples=max_examples, no_shrink=no_shrink or None, with_security_parameters=False
    )
    return cfg


def contract_schema(app: Any, **kwargs: Any) -> Any:
    """The spec as the simulator serves it (GET /openapi.yaml), bound to `app`."""
    cfg = schemathesis_config(**kwargs)
    return schemathesis.openapi.from_asgi("/openapi.yaml", app, config=cfg)


@dataclass
class EngineResult:
    failures: dict[str, list[Any]] = field(default_factory=lambda: defaultdict(list))
    errors: list[str] = field(default_factory=list)
    cases: int = 0
    checks_run: set[str] = field(default_factory=set)
    # cases per side (the operation's tag), and per stateful link applied (its transition id)
    cases_by_tag: Counter[str] = field(default_factory=Counter)
    links: Counter[str] = field(default_factory=Counter)
    # requests a link shaped whose value its expression did not find (schemathesis
    # generated it), per transition id
    unresolved_links: Counter[str] = field(default_factory=Counter)
    # answers (envelope code, or HTTP status without one) per link, applied or not
    link_codes: dict[str, Counter[Any]] = field(default_factory=lambda: defaultdict(Counter))
    # answers (envelope code, or HTTP status without one) per side
    codes_by_tag: dict[str, Counter[Any]] = field(default_factory=lambda: defaultdict(Counter))

    @property
    def failed_checks(self) -> set[str]:
        return set(self.failures)

    def describe(self) -> str:
        lines = [f"{self.cases} cases; failed checks: {sorted(self.failed_checks) or 'none'}"]
        for name, items in sorted(self.failures.items()):
            lines += [f"  {name}: {str(item).splitlines()[0][:200]}" for item in items[:3]]
        lines += [f"  error: {e[:300]}" for e in self.errors]
        return "\n".join(lines)


def run_engine(
    app: Any,
    *,
    phases: Sequence[str] = ("examples", "coverage", "fuzzing"),
    max_examples: int = 20,
    operation_ids: Sequence[str] | None = None,
    key_profile: settings.KeyProfile = "read-write",
    seed: int = 1,
    keys_by_tag: Mapping[str, keys.KeyPair] | None = None,
) -> EngineResult:
    """One schemathesis run (the engine the CLI drives) against `app`; failures by check name."""
    from schemathesis.engine import Status, events
    from schemathesis.engine import from_schema as engine_for

    schema = contract_schema(
        app, phases=phases, max_examples=max_examples, seed=seed, no_shrink=True
    )
    if operation_ids:
        schema = schema.include(operation_id=list(operation_ids))
    admin = AdminClient(app=app)
    admin.reset()
    configure(app, key_profile, keys_by_tag)
    contract = spec.load()
    result = EngineResult()
    for event in engine_for(schema).execute():
        if isinstance(event, events.ScenarioFinished):
            recorder = event.recorder
            for case_id, case_checks in recorder.checks.items():
                result.cases += 1
                node = recorder.cases[case_id]
                op = contract.by_label(node.value.operation.method, node.value.operation.path)
                tag = op.tag if op is not None else "?"
                result.cases_by_tag[tag] += 1
                if node.transition is not None:
                    applied = node.is_transition_applied
                    links = result.links if applied else result.unresolved_links
                    links[str(node.transition.id)] += 1
                interaction = recorder.interactions.get(case_id)
                if interaction is not None and interaction.response is not None:
                    answer = interaction.response
                    data = checks.envelope(answer)  # type: ignore[arg-type]
                    code = data.get("code") if data else f"HTTP {answer.status_code}"
                    result.codes_by_tag[tag][code] += 1
                    if node.transition is not None:
                        result.link_codes[str(node.transition.id)][code] += 1
                for check in case_checks:
                    result.checks_run.add(check.name)
                    if check.status == Status.FAILURE and check.failure_info is not None:
                        result.failures[check.name].append(check.failure_info.failure)
        elif isinstance(event, events.NonFatalError):
            result.errors.append(str(event.info))
        elif isinstance(event, events.FatalError):
            result.errors.append(f"fatal: {event.exception!r}")
    return result
