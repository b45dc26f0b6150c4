# API Portal: `make run` to try it, `make test` to test it.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
HOST ?= 127.0.0.1
PORT ?= 8000
LOCALSTRIPE_PORT ?= 8420
# What `make run` tells the portal about its own address and localstripe's, derived
# from the ports above unless set in the environment or on the command line.
PORTAL_BASE_URL ?= http://$(HOST):$(PORT)
STRIPE_API_BASE ?= http://127.0.0.1:$(LOCALSTRIPE_PORT)
STRIPE_JS_URL ?= $(STRIPE_API_BASE)/js.stripe.com/v3/
RUN_ENV := PORTAL_BASE_URL='$(PORTAL_BASE_URL)' STRIPE_API_BASE='$(STRIPE_API_BASE)' \
	STRIPE_JS_URL='$(STRIPE_JS_URL)'

.PHONY: run test lint typecheck install install-test migrate seed localstripe worker beat clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed-base: requirements/base.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements/base.txt
	touch $@

# PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD: browser tests drive the system's Chromium.
$(VENV)/.installed-test: requirements/base.txt requirements/test.txt | $(BIN)/python
	PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 $(BIN)/pip install --quiet -r requirements/test.txt
	touch $(VENV)/.installed-base $@

install: $(VENV)/.installed-base
install-test: $(VENV)/.installed-test

migrate: install
	@mkdir -p var
	$(PY) manage.py migrate --noinput

# With the same URLs as `run`: the demo's emails link to where the portal serves.
seed: migrate
	$(RUN_ENV) $(PY) manage.py seed_demo

# Serve the portal on http://$(HOST):$(PORT) with localstripe beside it; Ctrl-C stops both.
# Other ports: make run PORT=8123 LOCALSTRIPE_PORT=8423.
run: seed
	@$(RUN_ENV) $(PY) manage.py run_localstripe --port $(LOCALSTRIPE_PORT) & LS=$$!; \
	trap 'kill $$LS 2>/dev/null' EXIT INT TERM; \
	echo "Portal on $(PORTAL_BASE_URL)/  (localstripe on $(STRIPE_API_BASE))"; \
	$(RUN_ENV) $(PY) manage.py runserver $(HOST):$(PORT)

test: install-test
	$(BIN)/pytest $(PYTEST_ARGS)

lint: install-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# mypy with django-stubs over the apps and the project package.
TYPED := groups members apikeys usage billing limits invoices gateway portal
typecheck: install-test
	$(BIN)/mypy $(TYPED)

worker: install
	$(BIN)/celery -A portal worker --loglevel INFO

beat: install
	$(BIN)/celery -A portal beat --loglevel INFO --schedule var/celerybeat-schedule

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache .mypy_cache
