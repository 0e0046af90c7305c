# Two commands: `make run` serves the app on embedded defaults, `make test` runs every check
# against real PostgreSQL, Redis and Chromium. See README.md.

SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
VAR := var
HOST ?= 127.0.0.1
PORT ?= 8000

# What `make test` talks to; override to point elsewhere.
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/esanjeevani
TEST_REDIS_URL ?= redis://127.0.0.1:6379/1

DEBIAN_TEST_PACKAGES := chromium fonts-noto-core gettext docker-compose poppler-utils tesseract-ocr tesseract-ocr-hin zbar-tools

.PHONY: help run test lint typecheck jstest pytest services system-packages run-packages messages vendor clean

help:
	@echo "make run   - set up and serve the app at http://$(HOST):$(PORT) (SQLite unless DATABASE_URL/REDIS_URL are set) beside the offline ABDM gateway on port $(ABDM_GATEWAY_PORT)"
	@echo "make test  - set up and run ruff, import-linter, mypy, the JavaScript unit tests (node --test, tests/js/) and the whole test suite on PostgreSQL, Redis and Chromium"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade "pip>=24"

# Reinstall whenever the declared dependencies or the pins change.
$(VENV)/.installed: $(BIN)/python pyproject.toml constraints.txt
	$(BIN)/pip install --quiet -c constraints.txt -e ".[dev]"
	@touch $@

$(VAR)/secret_key:
	@mkdir -p $(VAR)
	@umask 077 && $(BIN)/python -c "import secrets; print(secrets.token_urlsafe(50))" > $@

# What `make run` needs from Debian: msgfmt for the catalogues, Noto fonts for Hindi in PDFs.
RUN_PACKAGES := gettext fonts-noto-core

run-packages:
	@$(MAKE) --no-print-directory system-packages DEBIAN_TEST_PACKAGES="$(RUN_PACKAGES)"

messages:
	@command -v msgfmt >/dev/null || $(MAKE) system-packages DEBIAN_TEST_PACKAGES=gettext
	@for po in locale/*/LC_MESSAGES/*.po; do msgfmt --check -o "$${po%.po}.mo" "$$po" || exit 1; done

# Browser libraries, pinned by package-lock.json, installed from npm and copied where
# collectstatic finds them (static/vendor/ is generated: never edit or commit it). No CDN.
CHARTJS := static/vendor/chart.js/chart.umd.js

node_modules/.installed: package.json package-lock.json
	@command -v npm >/dev/null || $(MAKE) --no-print-directory system-packages DEBIAN_TEST_PACKAGES="nodejs npm"
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

$(CHARTJS): node_modules/.installed
	@mkdir -p $(@D)
	cp node_modules/chart.js/dist/chart.umd.js node_modules/chart.js/dist/chart.umd.js.map node_modules/chart.js/LICENSE.md $(@D)/
	@touch $@

vendor: $(CHARTJS)

# What `make run` serves with, all kept running by supervisord (deploy/supervisord.conf restarts
# any that exits; Ctrl-C stops them all): Daphne; the offline ABDM gateway (abdm_gateway/,
# docs/abdm.md) on ABDM_GATEWAY_PORT, unless ABDM_GATEWAY_URL points elsewhere (ABDM's sandbox);
# and, with REDIS_URL set, a Celery worker and beat (without it Celery runs in the web process).
RUN_WEB_COMMAND = $(CURDIR)/$(BIN)/daphne -b $(HOST) -p $(PORT) esanjeevani.asgi:application
ABDM_GATEWAY_PORT ?= 8090
OFFLINE_ABDM_GATEWAY = http://127.0.0.1:$(ABDM_GATEWAY_PORT)
RUN_ABDM_GATEWAY_COMMAND = $(CURDIR)/$(BIN)/python -m abdm_gateway --host 127.0.0.1 \
  --port $(ABDM_GATEWAY_PORT) --data-dir $(CURDIR)/$(VAR)/abdm_gateway

run: export SECRET_KEY_FILE ?= $(CURDIR)/$(VAR)/secret_key
run: export ALLOWED_HOSTS ?= 127.0.0.1,localhost
run: export PUBLIC_BASE_URL ?= http://$(HOST):$(PORT)
run: export ABDM_GATEWAY_URL ?= $(OFFLINE_ABDM_GATEWAY)/api/hiecm
run: export ABDM_ABHA_URL ?= $(OFFLINE_ABDM_GATEWAY)/abha/api/v3
run: export ABDM_REGISTRY_URL ?= $(OFFLINE_ABDM_GATEWAY)/v4/int
run: $(VENV)/.installed $(VAR)/secret_key run-packages messages vendor
	$(BIN)/python manage.py migrate --no-input -v 0
	$(BIN)/python manage.py collectstatic --no-input -v 0
	$(BIN)/python manage.py seed_demo
	@echo "Serving http://$(HOST):$(PORT)  (Ctrl-C stops)"
	@if [ "$$ABDM_GATEWAY_URL" = "$(OFFLINE_ABDM_GATEWAY)/api/hiecm" ]; then \
	  echo "Offline ABDM gateway: $(OFFLINE_ABDM_GATEWAY) (data in $(VAR)/abdm_gateway); its ABHA service knows demo ABHA 91-1234-5678-9015 (Sunita Devi), test OTP 123456 (docs/abdm.md)"; \
	else \
	  echo "ABDM gateway: $$ABDM_GATEWAY_URL (no offline gateway started)"; \
	fi
	@if [ -n "$$REDIS_URL" ]; then \
	  echo "REDIS_URL is set: a Celery worker and beat run beside Daphne (deploy/supervisord.conf)"; \
	fi
	@RUN_VENV_BIN="$(CURDIR)/$(BIN)" RUN_VAR_DIR="$(CURDIR)/$(VAR)" RUN_WEB_COMMAND="$(RUN_WEB_COMMAND)" \
	  RUN_CELERY="$$([ -n "$$REDIS_URL" ] && echo true || echo false)" \
	  RUN_ABDM_GATEWAY="$$([ "$$ABDM_GATEWAY_URL" = "$(OFFLINE_ABDM_GATEWAY)/api/hiecm" ] && echo true || echo false)" \
	  RUN_ABDM_GATEWAY_COMMAND="$(RUN_ABDM_GATEWAY_COMMAND)" \
	  exec $(BIN)/supervisord -c deploy/supervisord.conf

system-packages:
	@missing=""; for p in $(DEBIAN_TEST_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "Installing Debian packages:$$missing"; \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing; \
	fi

services:
	@pg_isready -h 127.0.0.1 -p 5432 -q || { \
	  echo "Starting PostgreSQL"; pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql) main start; \
	  for i in $$(seq 30); do pg_isready -h 127.0.0.1 -p 5432 -q && break; sleep 1; done; }
	@redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 || { \
	  echo "Starting Redis"; redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no; \
	  for i in $$(seq 30); do redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && break; sleep 1; done; }

lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache

typecheck: $(VENV)/.installed
	$(BIN)/mypy .

# The pages' JavaScript logic without a browser: tests/js/*.test.mjs on node's own test runner.
# The shell names the files: from Node 21 on, `node --test tests/js/` takes the folder for a file.
jstest:
	@command -v node >/dev/null || $(MAKE) --no-print-directory system-packages DEBIAN_TEST_PACKAGES="nodejs npm"
	node --test tests/js/*.test.mjs

pytest: export DATABASE_URL = $(TEST_DATABASE_URL)
pytest: export REDIS_URL = $(TEST_REDIS_URL)
pytest: $(VENV)/.installed system-packages messages services vendor
	$(BIN)/python -m pytest

test: lint typecheck jstest pytest

clean:
	rm -rf $(VENV) $(VAR) .mypy_cache .pytest_cache .ruff_cache
