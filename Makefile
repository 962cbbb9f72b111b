# The one entry point for people and CI. `make` runs the main job, `make test` every test.
# Both bootstrap .venv (pinned by requirements-dev.lock) and node_modules (pinned by
# package-lock.json) on a bare machine with only Python, Node/npm and the registries.
SHELL := /bin/bash
.DEFAULT_GOAL := all
PYTHON ?= python3
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
export PATH := $(BIN):$(CURDIR)/node_modules/.bin:$(PATH)
PY := $(BIN)/python
PYTEST_ARGS ?=

.PHONY: all test lint docs generate check-generated fuzz simulate bench clean venv npm typecheck

## all: the main job: set up, regenerate and verify, lint the spec, fuzz the contract, build the published spec
all: venv generate check-generated lint fuzz docs

## test: every test (CI runs this)
test: venv npm chromium spec-gate check-generated docs
	$(PY) -m pytest $(PYTEST_ARGS)

# --- bootstrap -------------------------------------------------------------
venv: $(VENV)/.installed
$(VENV)/.installed: requirements-dev.lock pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -r requirements-dev.lock
	$(PY) -m pip install -q --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $@

npm: node_modules/.installed
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# tests/test_docs.py renders the published page in headless Chromium: Debian's package,
# installed here when missing (as `make bench` does for wrk), so `make test` needs no setup.
.PHONY: chromium
chromium:
	@command -v chromium >/dev/null || test -x /usr/bin/chromium || { \
	  echo "installing chromium (apt-get) for tests/test_docs.py"; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  apt-get update -qq && apt-get install -y -qq chromium >/dev/null; }

# --- the contract ----------------------------------------------------------
## generate: regenerate generated/ and ts/openapi.d.ts from openapi.yaml
generate: venv ts-types
	$(PY) generator/generate.py

## check-generated: fail with a diff when generated/ or ts/openapi.d.ts differs from what the spec gives
check-generated: venv check-ts-types
	$(PY) generator/generate.py --check

# The TypeScript types of the contract (openapi-typescript, pinned in package.json),
# committed like generated/: ts/usage.ts builds on them (tests/test_typescript.py).
.PHONY: ts-types check-ts-types
TS_TYPES := openapi-typescript openapi.yaml --redocly ts/redocly.yaml --output ts/openapi.d.ts
ts-types: npm
	@$(TS_TYPES) >/dev/null
check-ts-types: npm
	@$(TS_TYPES) --check >/dev/null || { \
	  echo "ts/openapi.d.ts is not what openapi.yaml gives: run make generate" >&2; exit 1; }

## lint: structural validation and style lint of openapi.yaml (zero warnings), and no pattern that can backtrack (recheck)
lint: venv npm
	$(PY) -m openapi_spec_validator openapi.yaml
	redocly lint openapi.yaml --config redocly.yaml --max-problems 100
	$(PY) tools/check_patterns.py

## docs: dist/spec/: openapi.yaml/.json/.deref.json, openapi.d.ts, changes.md, CHANGELOG.md, an offline index.html, SHA256SUMS
docs: venv npm
	$(PY) tools/publish_spec.py dist/spec

# --- releases of the contract (tools/spec_release.py) ------------------------
.PHONY: spec-gate spec-diff release
## spec-gate: openapi.yaml against the latest spec-releases/: the semver step and CHANGELOG.md match the changes (redocly diff)
spec-gate: venv npm
	$(PY) tools/spec_release.py gate

## spec-diff: what changed, as markdown: FROM=1.0.5 (default: the release before TO), TO=X.Y.Z (default: openapi.yaml)
spec-diff: venv npm
	@$(PY) tools/spec_release.py diff $(if $(FROM),--from $(FROM)) $(if $(TO),--to $(TO))

## release: record openapi.yaml as spec-releases/<info.version>/ (the version moved, CHANGELOG.md has its section, the gate passes)
release: venv npm
	$(PY) tools/spec_release.py release

## typecheck: mypy on the overlay (strict) and the generated code
typecheck: venv
	$(PY) -m mypy

# --- running it ------------------------------------------------------------
## simulate: serve the simulator on 127.0.0.1:8080 from the default seed
simulate: venv
	$(BIN)/toobit-follower-sim serve --host 127.0.0.1 --port 8080

## fuzz: schemathesis over openapi.yaml, both sides (each operation signed with its tag's key: follower or leader), against the embedded simulator, or URL=... (keys: TOOBIT_API_KEY/_SECRET; leader operations only with TOOBIT_LEADER_API_KEY/_SECRET; read-only unless ALLOW_WRITES=1)
fuzz: venv
	$(PY) -m fuzz.run $(if $(URL),--url "$(URL)") $(if $(SEED),--seed $(SEED)) $(if $(ALLOW_WRITES),--allow-writes)

## conformance: probe a live host, URL=... (keys: TOOBIT_API_KEY/_SECRET; optional: a read-only pair in TOOBIT_READONLY_API_KEY/_SECRET, a leader pair in TOOBIT_LEADER_API_KEY/_SECRET for the leader side): ~17 requests (31 with both) that cannot change the account, never a DELETE, report in reports/
.PHONY: conformance
conformance: venv
	@test -n "$(URL)" || { echo "usage: make conformance URL=https://api.toobit.com (keys in TOOBIT_API_KEY / TOOBIT_API_SECRET; optional TOOBIT_READONLY_API_KEY / _SECRET and TOOBIT_LEADER_API_KEY / _SECRET)" >&2; exit 2; }
	@mkdir -p reports
	set -o pipefail; $(BIN)/toobit-follower --base-url "$(URL)" conformance --output reports/conformance.json | tee reports/conformance.md

## bench: benchmarks, results in bench/results/ and README.md (installs ccxt, Prism and wrk for them)
BENCH_VENV := $(VENV)/bench
bench: venv $(BENCH_VENV)/.installed bench/node_modules/.installed
	command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
	$(PY) bench/run.py

# ccxt pins older idna/charset-normalizer/uvloop than requirements-dev.lock, so it gets
# its own virtualenv (bench/requirements.lock) instead of changing the project's pins.
$(BENCH_VENV)/.installed: bench/requirements.lock pyproject.toml
	test -x $(BENCH_VENV)/bin/python || $(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/python -m pip install -q --disable-pip-version-check -r bench/requirements.lock
	$(BENCH_VENV)/bin/python -m pip install -q --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $@

bench/node_modules/.installed: bench/package.json bench/package-lock.json
	npm ci --prefix bench --no-audit --no-fund --loglevel=error
	touch $@

clean:
	rm -rf $(VENV) node_modules bench/node_modules dist reports .pytest_cache .mypy_cache .ruff_cache .hypothesis .schemathesis
