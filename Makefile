# Two commands do everything on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PIP := PIP_DISABLE_PIP_VERSION_CHECK=1 $(BIN)/python -m pip --quiet
DEV_STAMP := $(VENV)/.installed-dev
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test test-fast install install-dev migrate lint format check clean

# `make run` installs the runtime dependencies only; `make test` and `make lint` add the dev ones.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP) install --upgrade pip
	$(PIP) install -e .
	touch $(STAMP)

$(DEV_STAMP): $(STAMP)
	$(PIP) install -e ".[dev]"
	touch $(DEV_STAMP)

install: $(STAMP)

install-dev: $(DEV_STAMP)

migrate: install
	$(BIN)/python manage.py migrate --noinput

run: migrate
	$(BIN)/python manage.py setup_groups
	EMAIL_BACKEND=django.core.mail.backends.locmem.EmailBackend $(BIN)/python manage.py seed_demo --first-run-only
	$(BIN)/python manage.py runserver $(HOST):$(PORT)

# Prints the branch coverage of the services, notifications and KPI modules (pyproject.toml).
# The suite runs in TEST_WORKERS processes (pytest-xdist; a file's tests stay in one process);
# TEST_WORKERS=0 runs it in this process.
TEST_WORKERS ?= 2
test: install-dev
	$(BIN)/python -m pytest --cov --cov-report=term -n $(TEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

# While working: everything but the tests marked slow (browser, seed_demo, schemathesis, real
# gunicorn/Celery processes), without coverage. `make test` and CI still run them all.
test-fast: install-dev
	$(BIN)/python -m pytest -m "not slow" -n $(TEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/mypy
	$(BIN)/python manage.py makemigrations --check --dry-run

format: install-dev
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) db.sqlite3 .pytest_cache .mypy_cache
