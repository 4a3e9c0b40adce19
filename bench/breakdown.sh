#!/usr/bin/env bash
# The breakdown endpoints against a straightforward GROUP BY over raw CDRs, in one run
# (bench/breakdown.py), over BENCH_ROWS CDRs of the realistic profile in 24 h (seed 7, hot account
# 40 %). Results: bench/results/breakdown-<date>.md.
# Env: BREAKDOWN_ENGINE_URL (an engine already running; default http://127.0.0.1:18123),
#      BREAKDOWN_GATEWAY_ADDR (127.0.0.1:18091), BENCH_ROWS (5000000), BREAKDOWN_REQUESTS (30).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

ENGINE="${BREAKDOWN_ENGINE_URL:-http://127.0.0.1:18123}"
ADDR="${BREAKDOWN_GATEWAY_ADDR:-127.0.0.1:18091}"
ROWS="${BENCH_ROWS:-5000000}"
DB=bench_breakdown
BIN=target/release/cdrstats
export CLICKHOUSE_URL="$ENGINE" CLICKHOUSE_DATABASE=$DB
export JWT_SECRET=cdrstats-bench-secret-0123456789 RUST_LOG=warn
export LIMITS_CUSTOMER="rps=0,concurrency=0"

[ -x "$BIN" ] || cargo build --release --locked
curl -fsS --max-time 2 "$ENGINE/ping" >/dev/null || { echo "no engine at $ENGINE" >&2; exit 1; }
$BIN migrate >/dev/null
$BIN seed --profile realistic --rows "$ROWS" --days 1 --seed 7 --hot-share 0.4 --no-active-calls --if-empty

LISTEN_ADDR="$ADDR" $BIN serve 2> target/breakdown-bench-gateway.log &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
for _ in $(seq 100); do curl -fs "http://$ADDR/healthz" >/dev/null && break; sleep 0.1; done

q() { curl -fsS "$ENGINE/" --data-binary "$1"; }
account=$(q "SELECT toString(uuid) FROM $DB.accounts FINAL WHERE id = 1")
# A fixed 24 h window ending on the minute after the newest CDR (the previous period is empty).
end=$(q "SELECT toStartOfMinute(max(time_start)) + 59 FROM $DB.cdrs")
start=$(q "SELECT toDateTime('$end') - 86399")
rows=$(q "SELECT count() FROM $DB.cdrs")
mkdir -p bench/results
out="bench/results/breakdown-$(date -u +%Y-%m-%d-%H%M).md"
{
  echo "# Breakdown endpoints, $(date -u '+%Y-%m-%d %H:%M') UTC"
  echo
  echo "Dataset: $rows CDRs (realistic profile, hot account 40 %); $(nproc) CPUs shared by the"
  echo "engine, the gateway and the client. The breakdowns read raw CDRs (no rollup yet)."
  echo
  .venv/bin/python bench/breakdown.py "http://$ADDR" "$ENGINE" "$DB" "$($BIN token --access-id 1)" \
    "$account" "$start" "$end" "${BREAKDOWN_REQUESTS:-30}"
} | tee "$out"
echo "wrote $out"
