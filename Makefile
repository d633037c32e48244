# HealthHub. `make run` starts everything on the embedded default; `make test` runs the suite.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
# The Python that creates the venv: pyenv's shim honours .python-version (3.13).
PYTHON ?= python3

# Test services: the local PostgreSQL and Redis unless the caller says otherwise.
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/healthhub
TEST_REDIS_URL ?= redis://127.0.0.1:6379/1
# Fixed, test-only secrets (never used outside the suite and the benchmarks). The test
# client and the live server speak plain HTTP, so no redirect to https (tests/core/
# test_security.py turns it on to check it).
TEST_ENV = ENV_FILE= DEBUG=0 SECURE_SSL_REDIRECT=0 \
  SECRET_KEY=test-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz \
  FIELD_ENCRYPTION_KEYS=dGVzdC1vbmx5LWZpZWxkLWtleS0wMDAwMDAwMDAwMDA= \
  DATABASE_URL=$${DATABASE_URL:-$(TEST_DATABASE_URL)} REDIS_URL=$${REDIS_URL:-$(TEST_REDIS_URL)}

.PHONY: help install install-dev run test lint fmt migrate bench check-deploy secrets browser clean

help:  ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

$(VENV)/.runtime: requirements.txt
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 13), "HealthHub needs Python 3.13 (see .python-version)"'
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

$(VENV)/.dev: $(VENV)/.runtime requirements-dev.txt
	$(PIP) install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

install: $(VENV)/.runtime  ## Create .venv and install the runtime requirements

install-dev: $(VENV)/.dev  ## Install the test and lint requirements too

.env:
	$(PY) scripts/make_env.py > .env
	@echo "Wrote .env with freshly generated SECRET_KEY and FIELD_ENCRYPTION_KEYS."

secrets: install  ## Print a fresh SECRET_KEY and FIELD_ENCRYPTION_KEYS
	@$(PY) scripts/make_env.py

run: install .env  ## Set up and start web + worker + beat on http://127.0.0.1:8000
	DEBUG=$${DEBUG:-1} $(PY) manage.py migrate --noinput
	DEBUG=$${DEBUG:-1} $(PY) manage.py demo_account
	DEBUG=$${DEBUG:-1} LOG_LEVEL=WARNING $(PY) manage.py demo_data --days 90
	DEBUG=$${DEBUG:-1} PATH="$(CURDIR)/$(VENV)/bin:$$PATH" exec $(VENV)/bin/honcho -f Procfile.dev start

migrate: install  ## Apply database migrations
	$(PY) manage.py migrate

browser:  ## Install Debian's Chromium for the browser tests (needs root and apt)
	@command -v chromium >/dev/null || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "chromium is missing: the browser tests will be skipped"; fi; }

test: install-dev browser  ## Set up and run the whole suite on PostgreSQL and Redis
	$(TEST_ENV) $(VENV)/bin/pytest $(PYTEST_ARGS)

lint: install-dev  ## ruff check and format check
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

fmt: install-dev  ## Format and fix what ruff can
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

check-deploy: install  ## manage.py check --deploy with production-like settings
	ENV_FILE= DEBUG=0 SECRET_KEY="$$($(PY) -c 'import secrets; print(secrets.token_urlsafe(50))')" \
	  FIELD_ENCRYPTION_KEYS="$$($(PY) -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())')" \
	  ALLOWED_HOSTS=health.example.org EMAIL_URL=smtp+tls://mailer:pw@smtp.example.org:587 DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) \
	  $(PY) manage.py check --deploy --fail-level WARNING

bench: install-dev  ## Run every benchmark under bench/ (one line per figure: BENCH name value unit)
	$(TEST_ENV) $(PY) bench/run.py

clean:  ## Remove the embedded data (SQLite, broker folders) and collected static files
	rm -rf .data staticfiles
