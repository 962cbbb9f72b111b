"""Contract fuzzing of the Toobit copy-trading API, both sides: schemathesis over openapi.yaml.

`python -m fuzz.run` fuzzes the embedded simulator (default) or a live host
(`--url`, read-only unless `--allow-writes`). The pieces:

* `fuzz.spec`     - operations from openapi.yaml, error facts from the generated error table
* `fuzz.keys`     - the key pairs of each side (simulator seed keys, or the environment's)
* `fuzz.auth`     - a `requests` auth that signs the exact bytes on the wire, with the key
                    of the request's operation's tag (`follower`, `leader`)
* `fuzz.admin`    - the simulator's admin endpoints (`/_sim/reset`, `/_sim/state`)
* `fuzz.settings` - which target/key the running checks are for
* `fuzz.checks`   - business-aware schemathesis checks
* `fuzz.hooks`    - the module schemathesis loads (SCHEMATHESIS_HOOKS=fuzz.hooks)
* `fuzz.faults`   - ASGI middlewares that break the simulator on purpose (tests)
* `fuzz.summary`  - the Markdown summary and the secret scan of reports/
* `fuzz.run`      - the runner
"""
