# Two commands set everything up on a fresh machine:
#   make demo   - builds .venv and walks the engine through a delivery, step by step
#   make test   - builds .venv, lints (ruff, mypy) and runs the CI tier (needs PostgreSQL and Redis)
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test lint format saleor-test bench clean

$(STAMP): setup.py constraints.txt
	test -x $(PY) || "$$(./scripts/python312)" -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e '.[test,lint]'
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/saleor-delivery-otp story

federation/node_modules: federation/package.json federation/package-lock.json
	npm ci --prefix federation --no-audit --no-fund --loglevel=error
	touch federation/node_modules

test: $(STAMP) federation/node_modules
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/pytest

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

format: $(STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

bench: $(STAMP)
	$(PY) benchmarks/verify.py

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
