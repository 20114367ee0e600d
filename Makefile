# Two commands set everything up on a fresh machine:
#   make sandbox - builds .venv and serves the plugin's API with a sample shop on
#                  127.0.0.1:8000, no Saleor needed (make story: the whole delivery
#                  played against it, step by step)
#   make test   - builds .venv, lints (ruff, mypy) and runs the CI tier (needs PostgreSQL and Redis)
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

# The Saleor tier and overhead benchmark need a Saleor 3.23 installed beside the
# project (docs/saleor-plugin.md says how); they are not part of `make test`.
SALEOR_VENV ?= ../saleor-venv
SALEOR_DB ?= postgres://postgres@127.0.0.1:5432/saleor
# The App tier creates and drops its own databases on this server.
APP_TIER_DB ?= postgres://postgres@127.0.0.1:5432

.PHONY: sandbox story test lint format bench bench-timing saleor-test saleor-mypy bench-saleor app-test bench-app driver-screenshots clean

$(STAMP): setup.py constraints.txt
	test -x $(PY) || "$$(./scripts/python312)" -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e '.[test,lint]'
	touch $(STAMP)

sandbox: $(STAMP)
	$(VENV)/bin/saleor-delivery-otp sandbox

story: $(STAMP)
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

# Renders docs/driver-page-*.png with the browser tests' Chromium (360 px wide).
driver-screenshots: $(STAMP)
	DELIVERY_OTP_WRITE_SCREENSHOTS=1 $(VENV)/bin/pytest -q tests/test_driver_page.py \
		-k "wrong_code_right_code or locked_after"

bench: $(STAMP)
	$(PY) benchmarks/verify.py

# Constant-time comparison, measured: prints the sign test's share and a verdict.
bench-timing: $(STAMP)
	$(PY) benchmarks/timing.py

# mypy over the Saleor plugin (saleor_delivery_otp/plugin/), with Saleor installed.
saleor-mypy:
	SECRET_KEY=mypy $(SALEOR_VENV)/bin/mypy --config-file tests/saleor/mypy.ini

saleor-test: saleor-mypy
	DATABASE_URL=$(SALEOR_DB) $(SALEOR_VENV)/bin/pytest -c tests/saleor/saleor-tier.ini tests/saleor

# The App tier: a real Saleor (from SALEOR_VENV) under uvicorn with its Celery
# worker, the App (from this project's .venv) with its worker, and an SMTP server,
# on 127.0.0.1 (tests/app_tier/conftest.py). Without a Saleor virtualenv its
# tests are reported as skipped, with the reason.
app-test: $(STAMP)
	@if test -x $(SALEOR_VENV)/bin/pytest; then \
		DELIVERY_OTP_APP_TIER_DB=$(APP_TIER_DB) DELIVERY_OTP_APP_PYTHON=$(abspath $(PY)) \
			$(SALEOR_VENV)/bin/pytest -c tests/app_tier/app-tier.ini tests/app_tier; \
	else \
		echo "No Saleor virtualenv at $(SALEOR_VENV) (set SALEOR_VENV=...):"; \
		$(VENV)/bin/pytest -c tests/app_tier/app-tier.ini tests/app_tier \
			|| test $$? -eq 5; \
	fi

# The App's benchmarks (benchmarks/app.py) on the App tier's stack, with databases
# and Redis databases of their own: it may run beside app-test.
bench-app: $(STAMP)
	DELIVERY_OTP_APP_TIER_DB=$(APP_TIER_DB) DELIVERY_OTP_APP_PYTHON=$(abspath $(PY)) \
		$(SALEOR_VENV)/bin/python benchmarks/app.py

bench-saleor:
	DATABASE_URL=$(SALEOR_DB) $(SALEOR_VENV)/bin/python benchmarks/saleor_overhead.py

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis sandbox-data federation/node_modules
