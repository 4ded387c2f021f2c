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
# The code server binds KPI_CODE_SERVER_BIND (default 127.0.0.1: only its own machine reaches it; 0.0.0.0 or
# its address to serve the webserver and daemon of other machines).
#
# Every setting comes from the settings module (`orchestration.cli settings --get`), validated: a bad value stops
# here with the variable's name. KPI_BIN is the one variable read before Python can run (it says where Python is);
# the settings module then checks that it holds the Dagster programs.
set -euo pipefail
cd "$(dirname "$0")/.."
python_bin=${KPI_BIN:-.venv/bin}/python
if [ ! -x "$python_bin" ]; then
  echo "KPI_BIN: no python in ${python_bin%/python} (give the bin directory of a virtualenv made by \`make setup\`)" >&2
  exit 2
fi
setting() { "$python_bin" -m orchestration.cli settings --get "$@"; }
case "${1:-}" in code-server|webserver|daemon) ;; *)
  echo "usage: deploy/services.sh code-server|webserver|daemon" >&2
  exit 2
  ;;
esac
: "${DAGSTER_HOME:?set DAGSTER_HOME to the directory holding dagster.yaml (a copy of deploy/dagster-postgres.yaml)}"
# one call, one validated value per line (set -e stops here when a setting is bad; the error names it)
values=$(setting KPI_BIN KPI_CODE_SERVER_HOST KPI_CODE_SERVER_PORT KPI_CODE_SERVER_BIND KPI_DAGSTER_HOST KPI_DAGSTER_PORT)
{ read -r bin; read -r code_server_host; read -r code_server_port; read -r code_server_bind; read -r ui_host; read -r ui_port; } <<<"$values"
# deploy/workspace.yaml reads these two from the environment: the validated values, defaults filled in
export KPI_CODE_SERVER_HOST=$code_server_host KPI_CODE_SERVER_PORT=$code_server_port

case "$1" in
  code-server)
    exec "$bin/dagster" code-server start -m orchestration.definitions --location-name kpi_warehouse \
      -h "$code_server_bind" -p "$code_server_port"
    ;;
  webserver)
    exec "$bin/dagster-webserver" -w deploy/workspace.yaml -h "$ui_host" -p "$ui_port"
    ;;
  daemon)
    exec "$bin/dagster-daemon" run -w deploy/workspace.yaml
    ;;
esac
