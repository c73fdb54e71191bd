# Two commands for a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PYTEST_ARGS ?=
HOST ?= 127.0.0.1
PORT ?= 8000
LINT_PATHS := app tests migrations $(wildcard bench)

.PHONY: run test install install-dev lint format openapi check-openapi migrate secret bench schemathesis clean lock audit

# Dependencies come from the lock files (exact versions, checked against their hashes);
# `make lock` writes them again from pyproject.toml's ranges.
$(BIN)/.installed: pyproject.toml requirements/runtime.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements/runtime.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $@

$(BIN)/.installed-dev: pyproject.toml requirements/dev.lock $(BIN)/.installed
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements/dev.lock
	touch $@

install: $(BIN)/.installed

install-dev: $(BIN)/.installed-dev

## Serve the API on SQLite (./debrief.db) at http://127.0.0.1:8000, migrations applied.
run: install secret
	$(BIN)/debrief migrate
	$(BIN)/debrief serve --host $(HOST) --port $(PORT)

migrate: install secret
	$(BIN)/debrief migrate

## This install's DEBRIEF_SECRET_KEY: made once, kept in .env (git-ignored, mode 600).
## Skipped if DEBRIEF_SECRET_KEY is set in the environment or .env already has one.
secret:
	@if [ -z "$$DEBRIEF_SECRET_KEY" ] && ! grep -qs '^DEBRIEF_SECRET_KEY=' .env; then \
	  umask 077; \
	  if [ -s .env ] && [ -n "$$(tail -c 1 .env)" ]; then echo >> .env; fi; \
	  printf 'DEBRIEF_SECRET_KEY=%s\n' "$$($(PYTHON) -c 'import secrets; print(secrets.token_urlsafe(48))')" >> .env; \
	  chmod 600 .env; \
	  echo "Wrote a new DEBRIEF_SECRET_KEY for this install to .env"; \
	fi

## The whole test suite (SQLite; set DEBRIEF_TEST_DATABASE_URL for PostgreSQL).
test: install-dev
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install-dev
	$(BIN)/ruff check $(LINT_PATHS)
	$(BIN)/ruff format --check $(LINT_PATHS)
	$(BIN)/mypy

format: install-dev
	$(BIN)/ruff check --fix $(LINT_PATHS)
	$(BIN)/ruff format $(LINT_PATHS)

## Write requirements/*.lock again from pyproject.toml (needs uv: pip install uv).
lock:
	uv pip compile pyproject.toml --python-version 3.11 --generate-hashes --quiet --upgrade -o requirements/runtime.lock
	uv pip compile pyproject.toml --extra dev --python-version 3.11 --generate-hashes --quiet --upgrade -o requirements/dev.lock

## The locked dependencies against published advisories (pip-audit, else requirements/advisories.txt).
audit: install-dev
	VENV=$(VENV) .ci/audit

openapi: install
	$(BIN)/debrief export-openapi

check-openapi: install
	$(BIN)/debrief export-openapi --check

## Schemathesis against the served app (all checks, stateful): DB=sqlite or DB=postgres.
DB ?= sqlite
schemathesis: install-dev
	.ci/schemathesis $(DB)

## HTTP load benchmark: the service under wrk against the floor of its stack, PostgreSQL
## (BENCH_POSTGRES_URL, default postgres@127.0.0.1) and SQLite; needs wrk and 2 cores.
## Figures go to bench/results/http.* and bench/README.md. Options: BENCH_HTTP_ARGS=--quick
.PHONY: bench-http
bench-http: install-dev
	@command -v wrk >/dev/null || { echo "wrk is missing: apt-get install wrk"; exit 1; }
	@$(BIN)/python -c 'import matplotlib' 2>/dev/null || $(BIN)/python -m pip install --quiet -e '.[bench]'
	$(BIN)/python -m bench.http $(BENCH_HTTP_ARGS)

## A day at an agency: mixed load on PostgreSQL (1, 2, 4 workers) and SQLite, and the
## capacity it gives (bench/results/agency.*; about 15 minutes). Options: BENCH_AGENCY_ARGS=--quick
.PHONY: bench-agency
bench-agency: install-dev
	$(BIN)/python -m bench.agency $(BENCH_AGENCY_ARGS)

## Where the cost grows: sweep, queue, feed and reports at 100k, 1M and 5M interviews (PostgreSQL).
.PHONY: bench-scale
bench-scale: install-dev
	$(BIN)/python -m bench.scale $(BENCH_SCALE_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
