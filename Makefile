# Two commands for a new user: `make run` and `make test` (see README.md).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
UV := $(BIN)/uv
UV_VERSION := 0.13.8

.PHONY: run test setup frontend lock clean-db

run: setup
	$(BIN)/trading serve --demo

test: setup
	$(BIN)/python -m pytest

setup: $(VENV)/.installed node_modules/.installed

# The virtual environment, rebuilt whenever the lock file or pyproject changes.
$(VENV)/.installed: requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)
	VIRTUAL_ENV=$(VENV) $(UV) pip sync --quiet requirements.lock
	VIRTUAL_ENV=$(VENV) $(UV) pip install --quiet --no-deps -e .
	touch $@

# Front-end packages from the npm registry, pinned by package-lock.json, served locally.
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

frontend: node_modules/.installed

# Re-pin Python dependencies after editing pyproject.toml.
lock: $(VENV)/.installed
	$(UV) pip compile pyproject.toml --group dev --universal --generate-hashes --python-version 3.11 -o requirements.lock

# Stop and delete the local embedded database (demo data is loaded again on next run).
clean-db:
	-$(BIN)/python -c "from trading.database import start_embedded_server; from trading.settings import get_settings; start_embedded_server(get_settings().pgdata, cleanup_mode='delete').cleanup()"
