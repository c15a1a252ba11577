# corpbank — make targets. `make help` lists them.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
WORKERS ?= 2
TEST_POSTGRES_URL ?= postgres://postgres@127.0.0.1:5432/postgres
export CORPBANK_VAR_DIR ?= $(CURDIR)/var

.PHONY: help run test test-sqlite test-postgres lint format bench messages venv system-deps

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | column -t -s $$'\t'

$(BIN)/corpbank: pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "needs $(PYTHON)"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $@

venv: $(BIN)/corpbank ## create .venv and install corpbank with its development tools

$(CORPBANK_VAR_DIR)/secret.key:
	mkdir -p $(CORPBANK_VAR_DIR)
	umask 077 && $(PYTHON) -c "import secrets; print(secrets.token_urlsafe(50))" > $@

$(CORPBANK_VAR_DIR)/seed.keys $(CORPBANK_VAR_DIR)/audit.keys:
	mkdir -p $(CORPBANK_VAR_DIR)
	umask 077 && $(PYTHON) -c "import base64, os; print('k1:' + base64.b64encode(os.urandom(32)).decode())" > $@

# The demo prints its mail in the terminal (subjects decoded, readable) instead of needing a mail relay,
# mails phones the address of its own software-token set-up page, and says it is plain HTTP (no Secure
# cookies, no HSTS, no redirect to HTTPS: production's defaults).
run: export CORPBANK_EMAIL_BACKEND ?= corpbank.core.mail.ConsoleEmailBackend
run: export CORPBANK_INSECURE_HTTP ?= 1
run: export CORPBANK_SOFTTOKEN_APP_URL ?= http://$(HOST):$(PORT)/softtoken/
$(CORPBANK_VAR_DIR)/ca.passphrase:
	mkdir -p $(CORPBANK_VAR_DIR)
	umask 077 && $(PYTHON) -c "import secrets; print(secrets.token_urlsafe(32))" > $@

run: venv $(CORPBANK_VAR_DIR)/secret.key $(CORPBANK_VAR_DIR)/seed.keys $(CORPBANK_VAR_DIR)/audit.keys $(CORPBANK_VAR_DIR)/ca.passphrase ## set up and serve the demo bank on http://127.0.0.1:8000 (SQLite), with the transfer worker beside it
	$(BIN)/corpbank migrate --noinput -v 0 && \
	CORPBANK_DEMO_URL=http://$(HOST):$(PORT) $(BIN)/corpbank loaddemo && \
	{ $(BIN)/corpbank worker & worker=$$!; trap 'kill $$worker 2>/dev/null' EXIT INT TERM; \
	$(BIN)/corpbank serve --bind $(HOST):$(PORT) --workers $(WORKERS); }

SYSTEM_PACKAGES := chromium fonts-noto-cjk oathtool nginx-light libnginx-mod-http-js curl

system-deps: ## install Debian's chromium (browser tests), oathtool (an independent TOTP), nginx with njs and curl (TLS tests), if missing
	@if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/oathtool ] || [ ! -x /usr/sbin/nginx ] \
		|| [ ! -f /usr/lib/nginx/modules/ngx_http_js_module.so ] || [ ! -x /usr/bin/curl ]; then \
		if [ "$$(id -u)" = 0 ]; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(SYSTEM_PACKAGES) >/dev/null; \
		else echo "the tests need: sudo apt-get install $(SYSTEM_PACKAGES)"; exit 1; fi; \
	fi

test: venv system-deps ## the whole suite, on SQLite and then on PostgreSQL
	$(MAKE) --no-print-directory test-sqlite
	$(MAKE) --no-print-directory test-postgres

test-sqlite: venv
	env -u DATABASE_URL $(BIN)/pytest $(PYTEST_ARGS)

test-postgres: venv
	DATABASE_URL=$(TEST_POSTGRES_URL) $(BIN)/pytest $(PYTEST_ARGS)

lint: venv ## ruff (lint and format check), mypy, and import-linter (the packages' dependency order)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	CORPBANK_DEBUG=1 $(BIN)/mypy
	$(BIN)/lint-imports

format: venv ## apply ruff's formatting and safe fixes
	$(BIN)/ruff check --fix src tests bench
	$(BIN)/ruff format src tests bench

bench: venv ## benchmarks under bench/ (each takes --help), each ending with PASS or FAIL; fails if one fails
	$(BIN)/python bench/login.py; login=$$?; $(BIN)/python bench/otp.py; otp=$$?; \
	$(BIN)/python bench/signed_in.py; signed_in=$$?; $(BIN)/python bench/transfers.py; transfers=$$?; \
	exit $$((login || otp || signed_in || transfers))

messages: venv ## regenerate and compile the English translation of the Japanese UI
	cd src/corpbank && export CORPBANK_DEBUG=1 && ../../$(BIN)/corpbank makemessages -l en --no-obsolete && ../../$(BIN)/corpbank compilemessages -l en
