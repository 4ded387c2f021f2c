# The two commands of the README: `make run` and `make test`. Each sets up what is missing first.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
TEST_WORKERS ?= $(shell $(PYTHON) -c 'import os; print((os.cpu_count() or 1) + 1)')
# Set-up is redone only when the lock file changed since the last install.
SETUP_STAMP := $(VENV)/.installed-from-lock
export DAGSTER_HOME ?= $(CURDIR)/data/dagster_home
export DBT_SEND_ANONYMOUS_USAGE_STATS := false
.DEFAULT_GOAL := help

.PHONY: help setup run test dev backfill daily bench lock clean

# `make help`: every target with the text after its `##`.
help: ## list the targets
	@echo "KPI warehouse. Usage: make <target>   (the first target run sets up .venv: about 2-3 minutes, once)"
	@grep -E '^[a-z]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/^([a-z]+):.*## (.*)/  \1\t\2/' | expand -t 12
	@echo "Settings (environment variables): README \"Settings\", or: .venv/bin/python -m orchestration.cli --help"

# The project on the venv's path (a .pth file, as editable installs do), so every Dagster process
# (webserver, daemon, code server) imports orchestration/, e.g. the instance storage in dagster.yaml.
setup: $(SETUP_STAMP) ## create .venv from requirements.lock (done by every target that needs it)
	@$(BIN)/python -c 'import pathlib, site; pathlib.Path(site.getsitepackages()[0], "kpi_warehouse.pth").write_text("$(CURDIR)\n")'

$(SETUP_STAMP): requirements.lock
	@echo "Setting up $(VENV): a virtualenv with the $$(grep -c '==' requirements.lock) hash-pinned packages of requirements.lock"
	@echo "(Dagster, dbt, Great Expectations, DuckDB, ...). About 2-3 minutes, once; again only when the lock changes."
	@start=$$(date +%s); \
	 test -x $(BIN)/python || $(PYTHON) -m venv $(VENV) && \
	 $(BIN)/python -m pip install --quiet --disable-pip-version-check --require-hashes --no-deps -r requirements.lock && \
	 $(BIN)/python -m pip check >/dev/null && \
	 echo "Set up $(VENV) in $$(( $$(date +%s) - start )) s."
	@touch $(SETUP_STAMP)

run: setup ## full build on the bundled snapshot (about a minute), then publish to data/serving (ARGS=--accept-shrink)
	@$(BIN)/python -m orchestration.cli run $(ARGS)

# Reload and rebuild a range of years in one run, then publish: make backfill FROM=2005 TO=2010
backfill: setup ## reload and rebuild years FROM-TO in one run, then publish: make backfill FROM=2005 TO=2010
	@test -n "$(FROM)" -a -n "$(TO)" || { echo "usage: make backfill FROM=<year> TO=<year>"; exit 2; }
	@$(BIN)/python -m orchestration.cli backfill --from $(FROM) --to $(TO) $(ARGS)

# What the daily schedule runs: the revision window, new releases whole, what is not yet published
daily: setup ## what the daily schedule runs: the revision window; new releases loaded whole; nothing new and nothing pending: skipped
	@$(BIN)/python -m orchestration.cli daily $(ARGS)

# Tests run on one worker more than the machine has cores (pytest-xdist; TEST_WORKERS=N to choose):
# many tests wait on real daemons, servers and schedule ticks, and three workers on 2 cores ran the
# suite in 27 min 14 s against 30 min 18 s with two (fresh clones, docs/speed.md). The shared full
# build and compiled project are made once per run and reused by the workers (tests/conftest.py
# shared_dir); modules whose tests share state run on one worker in file order (conftest
# SERIAL_MODULES); the longest tests start first (conftest LONG_RUNNING_FIRST) so the workers end
# together; earlier versions' builds and the BI clients'
# virtualenvs are kept in ~/.cache/kpi-warehouse-tests for later runs and clones. PYTEST_ARGS adds arguments.
test: setup ## the test suite, one worker more than cores (25-45 minutes on 2 cores, by the machine's other load; installs test clients when missing)
	@$(BIN)/python -m pytest -n $(TEST_WORKERS) $(PYTEST_ARGS)

# The speed benchmarks (issue 8): minutes; prints one table of figures, references and ratios
bench: setup ## speed benchmarks (minutes): make bench BENCH_ARGS="--skip scale"
	@$(BIN)/python -m bench.run $(BENCH_ARGS)

# Host and port come validated from the settings module (a bad KPI_DAGSTER_PORT stops here, named), not raw from the shell
dev: setup ## the Dagster UI on http://127.0.0.1:3000 (KPI_DAGSTER_HOST/KPI_DAGSTER_PORT to change)
	@$(BIN)/python -m orchestration.platform.instance_config $(DAGSTER_HOME)
	@values=$$($(BIN)/python -m orchestration.cli settings --get KPI_DAGSTER_HOST KPI_DAGSTER_PORT) && \
	 { read -r host; read -r port; } <<<"$$values" && \
	 echo "$(BIN)/dagster dev -w workspace.yaml -h $$host -p $$port" && \
	 exec $(BIN)/dagster dev -w workspace.yaml -h "$$host" -p "$$port"

# Re-resolve the pins from requirements.in (see docs/operations.md, "Updating the lock").
lock: setup ## re-resolve requirements.lock from requirements.in (hash-pinned)
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check uv==0.13.8
	$(BIN)/uv pip compile requirements.in --python-version 3.11 --generate-hashes --no-header -o requirements.lock

clean: ## remove data/ (warehouse, serving copy, logs, run history) and dbt's target/
	rm -rf data dbt_project/target dbt_project/logs
