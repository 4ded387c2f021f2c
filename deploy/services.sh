#!/usr/bin/env bash
# One of the three long-running processes of a deployment beyond one machine, each started on its
# own (a systemd unit, a container, a terminal), all against the Dagster instance in $DAGSTER_HOME
# (deploy/dagster-postgres.yaml: runs, events and schedules on PostgreSQL):
#
#   deploy/services.sh code-server   the code location (orchestration.definitions) over gRPC; the runs
#                                    it is asked to launch execute on its machine: give it the KPI_*
#                                    settings (KPI_WAREHOUSE=postgres, KPI_PG_*, KPI_SERVING_DIR ...)
#   deploy/services.sh webserver     the UI and GraphQL API (reads the instance, launches runs into the queue)
#   deploy/services.sh daemon        schedules, sensors, the run queue, backfills, run monitoring
#
# The webserver and the daemon find the code server at KPI_CODE_SERVER_HOST:KPI_CODE_SERVER_PORT
# (deploy/workspace.yaml). tests/integration/test_postgres_deployment.py starts the three this way.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${KPI_BIN:-.venv/bin}
export KPI_CODE_SERVER_HOST=${KPI_CODE_SERVER_HOST:-127.0.0.1}
export KPI_CODE_SERVER_PORT=${KPI_CODE_SERVER_PORT:-4000}
: "${DAGSTER_HOME:?set DAGSTER_HOME to the directory holding dagster.yaml (a copy of deploy/dagster-postgres.yaml)}"

case "${1:-}" in
  code-server)
    exec "$BIN/dagster" code-server start -m orchestration.definitions --location-name kpi_warehouse \
      -h "${KPI_CODE_SERVER_BIND:-127.0.0.1}" -p "$KPI_CODE_SERVER_PORT"
    ;;
  webserver)
    exec "$BIN/dagster-webserver" -w deploy/workspace.yaml -h "${KPI_DAGSTER_HOST:-127.0.0.1}" -p "${KPI_DAGSTER_PORT:-3000}"
    ;;
  daemon)
    exec "$BIN/dagster-daemon" run -w deploy/workspace.yaml
    ;;
  *)
    echo "usage: deploy/services.sh code-server|webserver|daemon" >&2
    exit 2
    ;;
esac
