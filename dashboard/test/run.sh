#!/usr/bin/env bash
# Starts a gateway (which serves the chart page compiled into it) on LISTEN_ADDR (default 127.0.0.1:8095), mints a token
# and runs the headless browser test against it. Needs an engine already answering at
# CLICKHOUSE_URL with CLICKHOUSE_DATABASE migrated and seeded. Always stops the gateway it started.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"

if [[ -z "${CDRSTATS_BIN:-}" ]]; then
  CDRSTATS_BIN=target/release/cdrstats
  # fall back to the debug build when there is no release build, or when it is newer
  if [[ -x target/debug/cdrstats && ( ! -x $CDRSTATS_BIN || target/debug/cdrstats -nt $CDRSTATS_BIN ) ]]; then
    CDRSTATS_BIN=target/debug/cdrstats
  fi
fi
[[ -x "$CDRSTATS_BIN" ]] || { echo "run.sh: no cdrstats binary at $CDRSTATS_BIN (build it first)" >&2; exit 1; }

export CLICKHOUSE_URL="${CLICKHOUSE_URL:-http://127.0.0.1:8123}"
export CLICKHOUSE_DATABASE="${CLICKHOUSE_DATABASE:-cdrstats}"
export JWT_SECRET="${JWT_SECRET:-cdrstats-local-demo-secret-change-me}"
LISTEN_ADDR="${DASHBOARD_LISTEN_ADDR:-127.0.0.1:8095}"

log="$(mktemp -t cdrstats-dashboard-gw.XXXXXX.log)"
gw_pid=""
cleanup() {
  if [[ -n "$gw_pid" ]] && kill -0 "$gw_pid" 2>/dev/null; then
    kill "$gw_pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$gw_pid" 2>/dev/null || break; sleep 0.2; done
    kill -9 "$gw_pid" 2>/dev/null || true
  fi
  rm -f "$log"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "run.sh: starting $CDRSTATS_BIN serve on $LISTEN_ADDR (engine $CLICKHOUSE_URL, db $CLICKHOUSE_DATABASE)"
LISTEN_ADDR="$LISTEN_ADDR" "$CDRSTATS_BIN" serve >"$log" 2>&1 &
gw_pid=$!

for i in $(seq 150); do
  if curl -fsS -o /dev/null "http://$LISTEN_ADDR/healthz" 2>/dev/null; then break; fi
  if ! kill -0 "$gw_pid" 2>/dev/null || [[ $i -eq 150 ]]; then
    echo "run.sh: gateway did not come up; its log:" >&2
    cat "$log" >&2
    exit 1
  fi
  sleep 0.2
done

DASHBOARD_TOKEN="$("$CDRSTATS_BIN" token --access-id 1)"
export DASHBOARD_TOKEN
export DASHBOARD_URL="http://$LISTEN_ADDR/dashboard/"

status=0
node dashboard/test/e2e.mjs || status=$?
if [[ $status -ne 0 ]]; then
  echo "run.sh: gateway log (last 40 lines):" >&2
  tail -n 40 "$log" >&2
fi
exit "$status"
