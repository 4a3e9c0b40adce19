#!/usr/bin/env bash
# Cold p50 of termination-statistics 24 h by minute, raw CDRs against the rollup path, in one
# run on one dataset (BENCH_ROWS CDRs over 24 h, seed 7, hot account 40 %, its termination side
# rolled up by `rollups rebuild`). Results: bench/results/statistics-rollup-<date>.md.
# Env: STATS_ENGINE_URL (an engine already running; default http://127.0.0.1:18123),
#      STATS_GATEWAY_ADDR (default 127.0.0.1:18091), STATS_DATABASE (bench_statistics_rollup),
#      BENCH_ROWS (2000000), STATS_REQUESTS (50).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ENGINE="${STATS_ENGINE_URL:-http://127.0.0.1:18123}"
ADDR="${STATS_GATEWAY_ADDR:-127.0.0.1:18091}"
ROWS="${BENCH_ROWS:-2000000}"
DB="${STATS_DATABASE:-bench_statistics_rollup}"
BIN=target/release/cdrstats
export CLICKHOUSE_URL="$ENGINE" CLICKHOUSE_DATABASE=$DB
export JWT_SECRET=cdrstats-bench-secret-0123456789 RUST_LOG=warn
export LIMITS_CUSTOMER="rps=0,concurrency=0"
[ -x "$BIN" ] || cargo build --release --locked
curl -fsS --max-time 2 "$ENGINE/ping" >/dev/null || { echo "no engine at $ENGINE" >&2; exit 1; }
$BIN migrate >/dev/null
$BIN seed --rows "$ROWS" --days 1 --seed 7 --hot-share 0.4 --if-empty
curl -fsS "$ENGINE/?database=$DB" --data-binary "INSERT INTO rollup_accounts (side, account_id, since) VALUES (0, 1, 0)"
$BIN rollups rebuild --from "$(date -u -d '2 days ago' +%F)" --to "$(date -u +%F)" >/dev/null
LISTEN_ADDR="$ADDR" $BIN serve 2> target/statistics-rollup-gateway.log &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
for _ in $(seq 100); do curl -fs "http://$ADDR/healthz" >/dev/null && break; sleep 0.1; done
account=$(curl -fsS "$ENGINE/" --data-binary "SELECT toString(uuid) FROM $DB.accounts FINAL WHERE id = 1")
cdrs=$(curl -fsS "$ENGINE/" --data-binary "SELECT count() FROM $DB.cdrs")
mkdir -p bench/results
out="bench/results/statistics-rollup-$(date -u +%Y-%m-%d-%H%M).md"
{
  echo "# termination-statistics 24 h by minute: raw CDRs vs rollup, $(date -u '+%Y-%m-%d %H:%M') UTC"
  echo
  echo "Dataset: $cdrs CDRs over 24 h; $(nproc) CPUs shared by the engine, the gateway and the client."
  echo
  .venv/bin/python bench/statistics_rollup.py "http://$ADDR" "$ENGINE" "$DB" \
    "$($BIN token --access-id 1)" "$account" 1 "${STATS_REQUESTS:-50}"
} | tee "$out"
