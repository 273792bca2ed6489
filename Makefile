# Two commands on a fresh machine: `make run` and `make test`. Everything installs into .venv.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
FLASK  := $(BIN)/flask --app wsgi
HOST   ?= 127.0.0.1
PORT   ?= 5000
LANGS  := en fr it es ru uk
CATALOGS := $(foreach l,$(LANGS),portal/translations/$(l)/LC_MESSAGES/messages.mo)

.PHONY: run test lint install translations i18n-extract i18n-update migrate-check bench worker clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

portal/translations/%/LC_MESSAGES/messages.mo: portal/translations/%/LC_MESSAGES/messages.po $(VENV)/.installed
	$(BIN)/pybabel compile --statistics -l $* -i $< -o $@

translations: $(CATALOGS)

## Serve the portal with demo data on SQLite (instance/portal.db); e-mail goes to instance/mail/*.eml.
run: install translations
	$(FLASK) db upgrade
	$(FLASK) demo-data
	@echo "Portal on http://$(HOST):$(PORT)/ (the outbox worker runs alongside; Ctrl-C stops both)"
	$(FLASK) outbox work --interval 2 & WORKER=$$!; trap "kill $$WORKER 2>/dev/null" EXIT INT TERM; \
	  $(FLASK) run --host $(HOST) --port $(PORT)

## The whole suite: SQLite always; PostgreSQL too when TEST_POSTGRES_URL is set (CI sets it).
test: install translations
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check portal core agreements compliance tests bench wsgi.py

worker: install
	$(FLASK) outbox work

migrate-check: install
	$(FLASK) db upgrade && $(FLASK) db check

bench: install translations
	$(BIN)/python bench/web.py
	$(BIN)/python bench/agreements.py
	$(BIN)/python bench/health_screen.py
	$(BIN)/python bench/cases.py
	$(BIN)/python bench/ledger.py

i18n-extract: install
	$(BIN)/pybabel extract -F babel.cfg -k N_ -k _l -k lazy_gettext --no-location --sort-output \
	  --project partner-portal -o portal/translations/messages.pot .

i18n-update: i18n-extract
	$(BIN)/pybabel update -i portal/translations/messages.pot -d portal/translations --no-fuzzy-matching
	$(BIN)/python -m portal.cli.i18n_english

clean:
	rm -rf $(VENV) $(CATALOGS) .pytest_cache
