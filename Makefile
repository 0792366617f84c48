# GovGrid: `make run` serves the demo city, `make test` runs the whole suite. Both are idempotent
# and start from a fresh machine: system packages, services, virtualenv, npm assets, database.
SHELL := /bin/bash
.DEFAULT_GOAL := help
VENV ?= .venv
PY := $(VENV)/bin/python
PYTHON ?= python3
HOST ?= 127.0.0.1
PORT ?= 8000
# The live stream (Procfile `live`, uvicorn): the next port; the pages reach it there (LIVE_STREAM_PORT).
LIVE_PORT ?= $(shell echo $$(( $(PORT) + 1 )))
export DJANGO_SETTINGS_MODULE := govgrid.settings
# DEBUG is off unless set (production-safe defaults). The demo on this machine runs with it on, unless
# the caller says otherwise (`make run DEBUG=0` with SECRET_KEY and ALLOWED_HOSTS set).
DEMO = DEBUG=$${DEBUG:-1}

.PHONY: help setup services venv assets database run test bench faults replica replica-stop lint screenshots

help:
	@echo "make run    install what is missing, load the demo city, serve it (web + live stream + worker + beat)"
	@echo "make test   the same set-up, then the whole test suite"
	@echo "make bench  benchmarks (bench/)"
	@echo "make faults faults injected into a real stack under load (scripts/faults.py, ~15 min)"
	@echo "make screenshots  every role's pages from a running demo (var/screenshots/, docs/screenshots/)"
	@echo "make lint   ruff"

services:
	@bash scripts/ensure-services.sh $(if $(BROWSER),--browser,)

$(VENV)/.installed: pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install -q --upgrade pip
	@$(PY) -m pip install -q -e '.[dev,seed]'
	@touch $@

venv: $(VENV)/.installed

node_modules/.installed: package.json package-lock.json
	@npm ci --no-audit --no-fund --loglevel=error
	@touch $@

assets: node_modules/.installed

database: services venv assets
	@mkdir -p var
	@bash scripts/ensure-database.sh
	@$(DEMO) $(PY) manage.py migrate --no-input -v 0
	@$(DEMO) $(PY) manage.py compilemessages -v 0 --ignore '$(VENV)/*' --ignore 'node_modules/*'
	@$(DEMO) $(PY) manage.py collectstatic --no-input -v 0
	@$(DEMO) $(PY) manage.py seed_categories
	@$(DEMO) $(PY) manage.py seed_city --preset demo --if-empty
	@$(DEMO) $(PY) manage.py seed_demo_cases --if-empty
	@$(DEMO) $(PY) manage.py seed_demo_plans --if-empty

setup: database

run: setup
	@$(DEMO) $(PY) manage.py demo_logins --url http://$(HOST):$(PORT)/
	@$(DEMO) HOST=$(HOST) PORT=$(PORT) LIVE_PORT=$(LIVE_PORT) LIVE_STREAM_PORT=$${LIVE_STREAM_PORT:-$(LIVE_PORT)} \
		LIVE_ALLOWED_ORIGINS=$${LIVE_ALLOWED_ORIGINS:-http://$(HOST):$(PORT),http://localhost:$(PORT),http://127.0.0.1:$(PORT)} \
		$(VENV)/bin/honcho start -f Procfile

# Tests use their own Redis database indexes, so a running `make run` stack and the tests' Celery
# worker never take each other's messages: REDIS_URL's database n is the cache, n+1 the broker, n+2 the
# results (govgrid/settings.py), so 10, 11 and 12. (Not CELERY_BROKER_URL: Celery lets that variable win
# over its configuration, which the Redis-down test needs to change.)
# The suite runs in two processes (pytest-xdist, a test file per process at a time, so a file's
# fixtures are made once): each has its own test database and Redis databases 10-12 and 13-15
# (govgrid/testing.py). TEST_PROCESSES=0 runs it in one.
TEST_REDIS_DB ?= 10
TEST_PROCESSES ?= 2

test:
	@$(MAKE) --no-print-directory setup BROWSER=1
	@bash scripts/replica.sh  # the streaming read replica tests/test_replica.py reads (port 5439)
	@for db in 0 1 2 3 4 5; do redis-cli -n $$(( $(TEST_REDIS_DB) + db )) flushdb >/dev/null; done
	@REDIS_URL=redis://127.0.0.1:6379/$(TEST_REDIS_DB) $(VENV)/bin/pytest \
		$(if $(filter-out 0,$(TEST_PROCESSES)),-n $(TEST_PROCESSES) --dist loadfile,) $(PYTEST_ARGS)

# A streaming read replica of the local PostgreSQL on port 5439 (scripts/replica.sh; `make replica-stop`
# stops it): DATABASE_REPLICA_URL=postgis://postgres@127.0.0.1:5439/govgrid sends reports to it.
replica: services
	@bash scripts/replica.sh

replica-stop:
	@bash scripts/replica.sh stop

# Benchmarks print figures, never assert them (bench/README.md). They use their own database
# (BENCH_DATABASE_URL, default govgrid_bench) and Redis db 14 (tests use 10-12), created and seeded on first use;
# the first run also loads 1M cases (a few minutes), so intake always runs beside 1M cases.
# BENCH_SECONDS: measured seconds per intake run (floor and intake each).
BENCH_SECONDS ?= 15
bench: services venv
	@$(PY) bench/locate.py
	@$(PY) bench/sweep.py
	@$(PY) bench/intake.py --seconds $(BENCH_SECONDS)
	@$(PY) bench/triage.py --producer sql --seconds $(BENCH_SECONDS)
	@$(PY) bench/residents_import.py
	@$(PY) bench/pages.py
	@$(PY) bench/sweep_tasks.py
	@$(PY) bench/exports.py
	@$(PY) bench/tiles.py
	@$(PY) bench/map_page.py
	@$(PY) bench/summary.py

# Screenshots of every role's main pages (phone and desktop) from a running demo (`make run` in another
# shell): var/screenshots/, and the README's pictures in docs/screenshots/.
screenshots: venv
	@$(PY) scripts/screenshots.py --base http://$(HOST):$(PORT) --readme

# Faults under load (scripts/faults.py): a private PostgreSQL cluster (15/faults, port 5441), Redis
# (6391), gunicorn (8640), the workers and beat, all started and stopped by the script; loopback only.
faults: services venv
	@$(PY) scripts/faults.py

lint: venv
	@$(VENV)/bin/ruff check .
