# The one entry point for people and CI. `make` runs the main job, `make test` every test.
# Both bootstrap .venv (pinned by requirements-dev.lock) and node_modules (pinned by package-lock.json).
SHELL := /bin/bash
.DEFAULT_GOAL := all
PYTHON ?= python3
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
export PATH := $(BIN):$(CURDIR)/node_modules/.bin:$(PATH)
PY := $(BIN)/python
SPEC := openapi.yaml

.PHONY: all test lint docs generate check-generated fuzz simulate bench clean venv npm

all: venv generate check-generated lint fuzz docs

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

clean:
	rm -rf $(VENV) node_modules dist reports .pytest_cache .mypy_cache .ruff_cache

# --- the contract ----------------------------------------------------------
generate: venv
	$(PY) generator/generate.py

check-generated: venv
	$(PY) generator/generate.py --check
