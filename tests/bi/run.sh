#!/usr/bin/env bash
# Real BI clients against the live gateway (tests/bi/test_clients.py): shillelagh (what Superset
# runs), pandas, Python's csv module and requests with the headers Excel / Power BI / Grafana
# send. Needs a local engine at BI_ENGINE_URL (make test starts one) and the venv with
# tests/bi/requirements.txt. The gateway runs from an empty directory, so the chart page it
# serves can only come from inside the binary. Ports and database are variables so parallel
# runs never collide.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$(pwd)

ENGINE_URL=${BI_ENGINE_URL:-http://127.0.0.1:18123}
# Default: a port the kernel reports free right now.
PORT=${BI_PORT:-$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}
DATABASE=${BI_DATABASE:-bi_tests}
BIN=${CDRSTATS_BIN:-target/debug/cdrstats}
[[ $BIN = /* ]] || BIN="$ROOT/$BIN"
export CLICKHOUSE_URL=$ENGINE_URL CLICKHOUSE_DATABASE=$DATABASE
export JWT_SECRET=bi-test-secret-0123456789abcdef RUST_LOG=warn
# The token's api_access row is a BI client; unlimited rate so the suite's bursts are not 429s.
export BI_ACCESS_IDS=1 LIMITS_BI="rps=0,concurrency=0"
# The fixtures are dated 2024, older than the active-call snapshots' 7-day TTL: lift that check.
export ACTIVE_CALLS_RETENTION_DAYS=0

[ -x "$BIN" ] || cargo build --locked
# A fresh database every run: the tests insert their own fixtures.
curl -fsS "$ENGINE_URL/" --data-binary "DROP DATABASE IF EXISTS $DATABASE" >/dev/null
"$BIN" migrate >/dev/null

rundir=$(mktemp -d)
log="$ROOT/target/bi-gateway.log"
(cd "$rundir" && LISTEN_ADDR=127.0.0.1:$PORT exec "$BIN" serve) 2>"$log" &
pid=$!
trap 'kill $pid 2>/dev/null || true; rm -rf "$rundir"' EXIT
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.1; done

export BI_GATEWAY=http://127.0.0.1:$PORT BI_ENGINE_URL=$ENGINE_URL BI_DATABASE=$DATABASE
BI_TOKEN=$("$BIN" token --access-id 1)
export BI_TOKEN
# shillelagh's HTTP cache (requests-cache) writes a SQLite file into the working directory.
failed() {
  status=$?
  echo "gateway log (last 30 lines):" >&2
  tail -n 30 "$log" >&2
  exit $status
}
(cd "$rundir" && "$ROOT/.venv/bin/python" -m unittest discover -s "$ROOT/tests/bi" -t "$ROOT/tests/bi" -v) || failed
# Superset itself, in its own virtualenv, over the fixtures the run above inserted.
if [[ -n "${BI_SUPERSET_PYTHON:-}" ]]; then
  # The run directory is elsewhere: a relative interpreter path (the Makefile's) is the repo's.
  [[ $BI_SUPERSET_PYTHON = /* ]] || BI_SUPERSET_PYTHON="$ROOT/$BI_SUPERSET_PYTHON"
  (cd "$rundir" && PYTHONPATH="$ROOT/tests/bi" "$BI_SUPERSET_PYTHON" -m unittest -v superset_recipe) || failed
fi
