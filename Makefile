# Two commands on a fresh machine: `make run` and `make test`. Everything installs into .venv.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
FLASK  := $(BIN)/flask --app wsgi
HOST   ?= 127.0.0.1
PORT   ?= 5000
# the fake Stripe server `make run` starts (localstripe)
LOCALSTRIPE_PORT ?= 8420
LANGS  := en fr it es ru uk
# Resolved for the oldest Python the project supports, so the lock is the same on any machine.
LOCK_COMPILE = $(BIN)/uv pip compile pyproject.toml --extra dev --generate-hashes --no-header --quiet \
  --python-version 3.11
CATALOGS := $(foreach l,$(LANGS),portal/translations/$(l)/LC_MESSAGES/messages.mo)

.PHONY: run test lint install lock lock-upgrade lock-check translations i18n-extract i18n-update migrate-check bench worker screens clean

install: $(VENV)/.installed

# Installs exactly what requirements.lock names (every package, transitive ones included, with hashes), so a
# release of some dependency tomorrow cannot change what a fresh clone gets. The installer itself (uv) is
# pinned by hash in requirements-uv.lock.
$(VENV)/.installed: requirements.lock requirements-uv.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --require-hashes -r requirements-uv.lock
	$(BIN)/uv pip sync --quiet --python $(BIN)/python --require-hashes requirements.lock
	$(BIN)/uv pip install --quiet --python $(BIN)/python --no-deps -e .
	touch $@

## Bring the lock in line with pyproject.toml, keeping every pin it can (commit the result).
lock: $(VENV)/.installed
	$(LOCK_COMPILE) -o requirements.lock

## The same, moving every pin to the newest release pyproject.toml allows (then run make test).
lock-upgrade: $(VENV)/.installed
	$(LOCK_COMPILE) --upgrade -o requirements.lock

## Fails when pyproject.toml and requirements.lock disagree (CI runs it). Compiling over a copy keeps the
## locked pins as they are, so only a change to pyproject.toml (not a new release elsewhere) makes a difference.
lock-check: $(VENV)/.installed
	cp requirements.lock $(VENV)/requirements.check.lock
	$(LOCK_COMPILE) -o $(VENV)/requirements.check.lock
	diff -u requirements.lock $(VENV)/requirements.check.lock || \
	  { echo "requirements.lock is out of date with pyproject.toml: run 'make lock' and commit it" >&2; exit 1; }

portal/translations/%/LC_MESSAGES/messages.mo: portal/translations/%/LC_MESSAGES/messages.po $(VENV)/.installed
	$(BIN)/pybabel compile --statistics -l $* -i $< -o $@

translations: $(CATALOGS)

## Serve the portal with demo data on SQLite (instance/portal.db); e-mail goes to instance/mail/*.eml.
## `make run PORT=5077` serves on 5077, and e-mailed links point there (PUBLIC_URL follows unless it is set).
## Payments go to localstripe (a fake Stripe server, started alongside on LOCALSTRIPE_PORT), so the demo pays offline.
run: export FLASK_RUN_HOST = $(HOST)
run: export FLASK_RUN_PORT = $(PORT)
run: export STRIPE_API_BASE = http://127.0.0.1:$(LOCALSTRIPE_PORT)
run: export STRIPE_WEBHOOK_SECRET = whsec_localstripe_development
run: install translations
	$(FLASK) db upgrade
	$(FLASK) demo-data
	@echo "Portal on http://$(HOST):$(PORT)/ (the outbox worker and localstripe on port $(LOCALSTRIPE_PORT) run alongside; Ctrl-C stops all three)"
	$(BIN)/python -m portal.payments.localstripe_server $(LOCALSTRIPE_PORT) \
	  --webhook http://$(HOST):$(PORT)/funnel/stripe/webhook $$STRIPE_WEBHOOK_SECRET & STRIPE=$$!; \
	$(FLASK) outbox work --interval 2 & WORKER=$$!; trap "kill $$WORKER $$STRIPE 2>/dev/null" EXIT INT TERM; \
	  $(FLASK) run

## The whole suite: SQLite always; PostgreSQL too when TEST_POSTGRES_URL is set (CI sets it).
test: install translations
	$(BIN)/python -m pytest $(PYTEST_ARGS)

## ruff over every package, the migrations and the tests; the import contracts of pyproject.toml (layers).
lint: install
	$(BIN)/ruff check portal core funnel pipeline agreements compliance ledger migrations tests bench docs wsgi.py
	$(BIN)/lint-imports --no-cache

worker: install
	$(FLASK) outbox work

migrate-check: install
	$(FLASK) db upgrade && $(FLASK) db check

## The benchmarks (bench/README.md), each run as a module; `make bench BENCH_ARGS=--quick` for short runs.
bench: install translations
	$(BIN)/python -m bench.web $(BENCH_ARGS)
	$(BIN)/python -m bench.agreements $(BENCH_ARGS)
	$(BIN)/python -m bench.health_screen $(BENCH_ARGS)
	$(BIN)/python -m bench.cases $(BENCH_ARGS)
	$(BIN)/python -m bench.ledger $(BENCH_ARGS)
	$(BIN)/python -m bench.ledger keys $(BENCH_ARGS)
	$(BIN)/python -m bench.privacy $(BENCH_ARGS)
	$(BIN)/python -m bench.funnel $(BENCH_ARGS)
	$(BIN)/python -m bench.funnel_walk $(BENCH_ARGS)
	$(BIN)/python -m bench.compliance $(BENCH_ARGS)

## Screenshots of each role's pages at desktop and phone width in docs/screens/ (needs Debian's chromium).
screens: install translations
	$(BIN)/python docs/make_screens.py

i18n-extract: install
	$(BIN)/pybabel extract -F babel.cfg -k N_ -k _l -k lazy_gettext --no-location --sort-output \
	  --project partner-portal -o portal/translations/messages.pot .

i18n-update: i18n-extract
	$(BIN)/pybabel update -i portal/translations/messages.pot -d portal/translations --no-fuzzy-matching
	$(BIN)/python -m portal.cli.i18n_english

clean:
	rm -rf $(VENV) $(CATALOGS) .pytest_cache
