# Incasso: `make run` starts the application with demo data, `make test` runs the test suite.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: run install test lint bench messages clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		(echo "Incasso needs Python 3.11 or newer: run 'make PYTHON=python3.11 ...'"; exit 1)
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: install
	$(PY) manage.py migrate --noinput
	$(PY) manage.py load_demo
	@echo "Incasso: http://127.0.0.1:8000 (admin / incasso-admin, operatore / incasso-operatore)"
	$(PY) manage.py serve 127.0.0.1:8000

test: install
	bash scripts/ensure-chromium
	$(VENV)/bin/pytest -n 2

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy .
	$(PY) manage.py makemigrations --check --dry-run

bench: install
	$(PY) scripts/bench.py

messages: install
	$(PY) manage.py makemessages -l it --ignore '.venv/*' --ignore 'var/*'
	$(PY) manage.py compilemessages --ignore '.venv/*'

clean:
	rm -rf var/test.sqlite3* .pytest_cache .mypy_cache .ruff_cache
