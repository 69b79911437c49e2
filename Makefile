# Amends: the two commands a newcomer needs are `make run` and `make test` (see README.md).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint types contracts migrations-check pytest pytest-postgres bench bench-sweep bench-simulate bench-services bench-console bench-public bench-api clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Reinstall only when pyproject.toml changes.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/amends run

test: $(STAMP) lint types contracts migrations-check pytest pytest-postgres

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

types: $(STAMP)
	$(BIN)/mypy amends config

contracts: $(STAMP)
	$(BIN)/lint-imports

migrations-check: $(STAMP)
	$(BIN)/amends makemigrations --check --dry-run

# pytest exits 5 when it collected no test: that is a failure here, never green. Two
# processes (pytest-xdist): the machine has two cores.
pytest: $(STAMP)
	$(BIN)/pytest -p no:cacheprovider -n 2

# The same tests on PostgreSQL when AMENDS_TEST_POSTGRES names a server
# (e.g. postgres://root@127.0.0.1:5432/amends); pytest-django creates test_<name>.
pytest-postgres: $(STAMP)
	@if [ -n "$$AMENDS_TEST_POSTGRES" ]; then \
		echo "== the suite again on PostgreSQL =="; \
		DATABASE_URL="$$AMENDS_TEST_POSTGRES" $(BIN)/pytest -p no:cacheprovider -n 2; \
	else \
		echo "AMENDS_TEST_POSTGRES is not set: PostgreSQL run skipped (CI sets it)."; \
	fi

# Benchmarks (results in benchmarks/RESULTS.md); the last two need PostgreSQL at 127.0.0.1.
bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	$(BIN)/python -m benchmarks.calendar

bench-sweep: $(STAMP)
	$(BIN)/python -m benchmarks.sweep --cases 1000000

bench-console: $(STAMP)
	$(BIN)/python -m benchmarks.console --write

bench-simulate: $(STAMP)
	$(BIN)/python -m benchmarks.simulate --complaints 10000 --days 120

# Statements and time per call of each typed service, SQLite and PostgreSQL, beside
# django-helpdesk's public ticket form (in its own virtualenv, var/helpdesk-venv, made on first use).
bench-services: $(STAMP)
	$(BIN)/python -m benchmarks.services --write

# Public form submissions per second over HTTP (amends serve) beside django-helpdesk's public
# ticket form under gunicorn, SQLite and PostgreSQL; then the customer's case page.
bench-public: $(STAMP)
	$(BIN)/python -m benchmarks.public --write

# Case creations and reads per second through the API (amends serve) beside django-helpdesk's
# DRF ticket API under gunicorn, SQLite and PostgreSQL.
bench-api: $(STAMP)
	$(BIN)/python -m benchmarks.api --write

clean:
	rm -rf $(VENV) var/test-*.sqlite3*
