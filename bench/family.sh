#!/usr/bin/env bash
# p50 of each family endpoint over the bench dataset profile (BENCH_ROWS CDRs over 24 h, seed 7,
# hot account 40 %, plus the active_calls snapshots seed derives), cold and cached, next to the
# quality endpoint as the same-run baseline. Results: bench/results/family-<date>.md.
# Env: FAMILY_ENGINE_URL (an engine already running; default http://127.0.0.1:18123),
#      FAMILY_GATEWAY_ADDR (default 127.0.0.1:18090), BENCH_ROWS (20000000), FAMILY_REQUESTS (100).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

ENGINE="${FAMILY_ENGINE_URL:-http://127.0.0.1:18123}"
ADDR="${FAMILY_GATEWAY_ADDR:-127.0.0.1:18090}"
ROWS="${BENCH_ROWS:-20000000}"
BIN=target/release/cdrstats
export CLICKHOUSE_URL="$ENGINE" CLICKHOUSE_DATABASE=bench_family
export JWT_SECRET=cdrstats-bench-secret-0123456789 RUST_LOG=warn
export LIMITS_CUSTOMER="rps=0,concurrency=0"

[ -x "$BIN" ] || cargo build --release --locked
curl -fsS --max-time 2 "$ENGINE/ping" >/dev/null || { echo "no engine at $ENGINE" >&2; exit 1; }
$BIN migrate >/dev/null
$BIN seed --rows "$ROWS" --days 1 --seed 7 --hot-share 0.4 --if-empty

LISTEN_ADDR="$ADDR" $BIN serve 2> target/family-bench-gateway.log &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
for _ in $(seq 100); do curl -fs "http://$ADDR/healthz" >/dev/null && break; sleep 0.1; done

account=$(curl -fsS "$ENGINE/" --data-binary \
  "SELECT toString(uuid) FROM bench_family.accounts FINAL WHERE id = 1")
sizes=$(curl -fsS "$ENGINE/" --data-binary \
  "SELECT concat(toString((SELECT count() FROM bench_family.cdrs)), ' CDRs, ', toString((SELECT count() FROM bench_family.active_calls)), ' active_calls rows')")
mkdir -p bench/results
out="bench/results/family-$(date -u +%Y-%m-%d-%H%M).md"
{
  echo "# Family endpoints, $(date -u '+%Y-%m-%d %H:%M') UTC"
  echo
  echo "Dataset: $sizes; $(nproc) CPUs shared by the engine, the gateway and the client."
  echo
  .venv/bin/python bench/family.py "http://$ADDR" "$($BIN token --access-id 1)" "$account" \
    "${FAMILY_REQUESTS:-100}"
} | tee "$out"
