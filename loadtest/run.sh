#!/usr/bin/env bash
# Load test: 256 connections of mixed requests for LT_SECONDS (default 60) against the release
# gateway over a seeded local engine. Passes when every answer is an intended status
# (200/304/400/401/429/503), there are no socket errors, and the gateway's RSS stays flat.
set -euo pipefail
cd "$(dirname "$0")/.."

ENGINE_PORT=${LT_ENGINE_PORT:-38123}
GATEWAY_PORT=${LT_GATEWAY_PORT:-38080}
SECONDS_TO_RUN=${LT_SECONDS:-60}
CONNECTIONS=${LT_CONNECTIONS:-256}
ROWS=${LT_ROWS:-2000000}
export CLICKHOUSE_URL=http://127.0.0.1:$ENGINE_PORT CLICKHOUSE_DATABASE=loadtest
export LOCAL_ENGINE_DIR=loadtest/data/engine JWT_SECRET=${JWT_SECRET:-loadtest-secret-0123456789}
BIN=target/release/cdrstats
RESULTS=loadtest/results
mkdir -p "$RESULTS" "$LOCAL_ENGINE_DIR"

command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
[ -x "$BIN" ] || cargo build --release --locked
bash engine/start.sh
$BIN migrate >/dev/null
$BIN seed --rows "$ROWS" --days 1 --if-empty

gateway_pid=""
rss_pid=""
cleanup() {
  [ -n "$rss_pid" ] && kill "$rss_pid" 2>/dev/null || true
  [ -n "$gateway_pid" ] && kill "$gateway_pid" 2>/dev/null || true
  bash engine/stop.sh >/dev/null 2>&1 || true
}
trap cleanup EXIT

LISTEN_ADDR=127.0.0.1:$GATEWAY_PORT LIMITS_LOADTEST="queries=2" RUST_LOG=warn \
  $BIN serve 2> "$RESULTS/gateway.log" &
gateway_pid=$!
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$GATEWAY_PORT/healthz" >/dev/null && break; sleep 0.1; done

# Tokens: the demo customer (api_access 1) and dynamic tokens for three more customers (customer
# class: 50 req/s each, so most of their requests are refused with 429 by design), and as many
# load-test-class tokens (no rate limit, 2 ClickHouse query slots: their cold requests queue or
# get 503). Accounts of those customers.
account_of() {
  curl -s "$CLICKHOUSE_URL/?database=loadtest" --data-binary \
    "SELECT toString(uuid) FROM accounts FINAL WHERE contractor_id = $1 ORDER BY id LIMIT 1 FORMAT TSV"
}
pairs="$($BIN token --access-id 1)=$(account_of 1)"
for c in 2 3 4; do pairs="$pairs $($BIN token --customer $c)=$(account_of $c)"; done
for c in 1 2 3 4; do pairs="$pairs $($BIN token --customer $c --class loadtest)=$(account_of $c)"; done
export LT_PAIRS="$pairs"

rss() { awk '/VmRSS/ {print int($2/1024)}' "/proc/$gateway_pid/status"; }
: > "$RESULTS/rss.txt"
( while kill -0 "$gateway_pid" 2>/dev/null; do echo "$(date +%s) $(rss)" >> "$RESULTS/rss.txt"; sleep 5; done ) &
rss_pid=$!

echo "load: $CONNECTIONS connections, ${SECONDS_TO_RUN}s, mixed requests"
wrk -t2 -c"$CONNECTIONS" -d"${SECONDS_TO_RUN}s" --timeout 5s -s loadtest/mixed.lua \
  "http://127.0.0.1:$GATEWAY_PORT" | tail -1 > "$RESULTS/wrk.json"
echo "$(date +%s) $(rss)" >> "$RESULTS/rss.txt"
kill "$rss_pid" 2>/dev/null || true; rss_pid=""

.venv/bin/python - "$RESULTS" <<'PY'
import json, sys, datetime
d = sys.argv[1]
w = json.load(open(f"{d}/wrk.json"))
rss = [int(l.split()[1]) for l in open(f"{d}/rss.txt") if len(l.split()) == 2]
intended = {"200", "304", "400", "401", "429", "503"}
unexpected = {k: v for k, v in w["status"].items() if k not in intended}
# Flat: after the first 20 s of warm-up, RSS grows by less than 15 % (or 10 MiB).
warm = rss[4] if len(rss) > 4 else rss[0]
flat = rss[-1] <= max(warm * 1.15, warm + 10)
ok = not unexpected and w["socket_errors"] == 0 and w["timeouts"] == 0 and flat
lines = [
    f"# Load test {datetime.datetime.utcnow():%Y-%m-%d %H:%M} UTC",
    "",
    f"- requests: {w['requests']} in {w['seconds']} s ({w['rps']} req/s)",
    f"- latency: p50 {w['p50_ms']} ms, p99 {w['p99_ms']} ms, max {w['max_ms']} ms",
    f"- by status: {dict(sorted(w['status'].items()))}",
    f"- socket errors: {w['socket_errors']}, timeouts: {w['timeouts']}, unexpected statuses: {unexpected or 'none'}",
    f"- gateway RSS MiB every 5 s: {rss} (after warm-up {warm} → end {rss[-1]}: {'flat' if flat else 'GROWING'})",
    f"- result: {'PASS' if ok else 'FAIL'}",
]
open(f"{d}/latest.md", "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
sys.exit(0 if ok else 1)
PY
