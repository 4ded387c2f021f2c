# The two commands of the README: `make run` and `make test`. Each sets up what is missing first.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
# Set-up is redone only when the lock file changed since the last install.
SETUP_STAMP := $(VENV)/.installed-from-lock
export DAGSTER_HOME ?= $(CURDIR)/data/dagster_home
export DBT_SEND_ANONYMOUS_USAGE_STATS := false

.PHONY: setup run test dev backfill daily bench lock clean

# The project on the venv's path (a .pth file, as editable installs do), so every Dagster process
# (webserver, daemon, code server) imports orchestration/, e.g. the instance storage in dagster.yaml.
setup: $(SETUP_STAMP)
	@$(BIN)/python -c 'import pathlib, site; pathlib.Path(site.getsitepackages()[0], "kpi_warehouse.pth").write_text("$(CURDIR)\n")'

$(SETUP_STAMP): requirements.lock
	@echo "Setting up $(VENV) from requirements.lock (once; again only when the lock changes)..."
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check --require-hashes --no-deps -r requirements.lock
	@$(BIN)/python -m pip check >/dev/null
	@touch $(SETUP_STAMP)

run: setup
	@$(BIN)/python -m orchestration.cli run $(ARGS)

# Reload and rebuild a range of years in one run, then publish: make backfill FROM=2005 TO=2010
backfill: setup
	@test -n "$(FROM)" -a -n "$(TO)" || { echo "usage: make backfill FROM=<year> TO=<year>"; exit 2; }
	@$(BIN)/python -m orchestration.cli backfill --from $(FROM) --to $(TO) $(ARGS)

# What the daily schedule runs: the revision window; sources whose bytes did not change are skipped
daily: setup
	@$(BIN)/python -m orchestration.cli daily $(ARGS)

test: setup
	@$(BIN)/python -m pytest

# The speed benchmarks (issue 8): minutes; prints one table of figures, references and ratios
bench: setup
	@$(BIN)/python -m bench.run $(BENCH_ARGS)

dev: setup
	@mkdir -p $(DAGSTER_HOME) && test -f $(DAGSTER_HOME)/dagster.yaml || cp dagster.yaml $(DAGSTER_HOME)/dagster.yaml
	$(BIN)/dagster dev -w workspace.yaml -h $${KPI_DAGSTER_HOST:-127.0.0.1} -p $${KPI_DAGSTER_PORT:-3000}

# Re-resolve the pins from requirements.in (see README "Updating the lock").
lock: setup
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check uv==0.13.8
	$(BIN)/uv pip compile requirements.in --python-version 3.11 --generate-hashes --no-header -o requirements.lock

clean:
	rm -rf data dbt_project/target dbt_project/logs
