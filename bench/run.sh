#!/usr/bin/env bash
# cdrstats benchmark: dataset, gateway, every scenario in one run, Markdown + PNG report.
# Usage (from anywhere): bash bench/run.sh        see bench/README.md
# Env: BENCH_ROWS (default 20000000), BENCH_DURATION (s per scenario, 10), BENCH_WARMUP (s, 2),
#      BENCH_PROFILE (realistic | hot; BENCH_RESEED=1 after changing it),
#      BENCH_RESEED=1 (drop and reseed the bench database), BENCH_KEEP_ENGINE=1 (leave the engine
#      running when this script started it), VENV (default .venv).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

BENCH_ROWS="${BENCH_ROWS:-20000000}"
BENCH_DAYS=1
BENCH_SEED=7
BENCH_HOT_SHARE=0.4
# realistic: 3 000 Zipf accounts with their own destinations, plus the hot account (hot share).
BENCH_PROFILE="${BENCH_PROFILE:-realistic}"
BENCH_DURATION="${BENCH_DURATION:-10}"
BENCH_WARMUP="${BENCH_WARMUP:-2}"
ENGINE_ADDR=127.0.0.1:28123
GATEWAY_ADDR=127.0.0.1:28080
ENGINE="http://$ENGINE_ADDR"
GATEWAY="http://$GATEWAY_ADDR"
DB=bench
ENGINE_DIR=bench/data/engine
ENGINE_LOG="$ENGINE_DIR/engine-${ENGINE_ADDR##*:}.log"
RUN_DIR=bench/data/run
RESULTS=bench/results
VENV="${VENV:-.venv}"
PY="$VENV/bin/python"
BIN=target/release/cdrstats
LUA=bench/wrk/bench.lua
API=/api/rest/customer/v1/termination-statistics-quality

export CLICKHOUSE_URL="$ENGINE" CLICKHOUSE_DATABASE="$DB"
export JWT_SECRET="${BENCH_JWT_SECRET:-cdrstats-bench-secret-0123456789}"

t_start=$SECONDS
step() { printf '\n==> [%4ds] %s\n' "$((SECONDS - t_start))" "$*"; }
note() { printf '    %s\n' "$*"; }
die() { echo "bench: $*" >&2; exit 1; }

# --- cleanup: only what this script started, by pid --------------------------------------------
GATEWAY_PID=""
ENGINE_STARTED=0
cleanup() {
  local rc=$?
  if [ -n "$GATEWAY_PID" ] && kill -0 "$GATEWAY_PID" 2>/dev/null; then
    kill "$GATEWAY_PID" 2>/dev/null || true
    wait "$GATEWAY_PID" 2>/dev/null || true
  fi
  if [ "$ENGINE_STARTED" = 1 ] && [ "${BENCH_KEEP_ENGINE:-0}" != 1 ]; then
    LOCAL_ENGINE_DIR="$ENGINE_DIR" bash engine/stop.sh >/dev/null || true
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- tools --------------------------------------------------------------------------------------
step "tools"
if ! command -v wrk >/dev/null; then
  note "installing wrk (apt-get)"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
fi
note "$(wrk --version 2>&1 | head -1 | cut -c1-60)"
[ -x "$PY" ] || die "$PY not found: run 'make venv' first"
if ! "$PY" -c 'import matplotlib' 2>/dev/null; then
  note "installing bench/requirements.txt into $VENV"
  "$VENV/bin/pip" install --disable-pip-version-check -q -r bench/requirements.txt
fi
if [ ! -x "$BIN" ] || ! "$BIN" sql --help >/dev/null 2>&1; then
  note "building $BIN"
  cargo build --release --locked
fi
mkdir -p "$RUN_DIR" "$RESULTS"
rm -f "$RUN_DIR"/*.json "$RUN_DIR"/*.log "$RUN_DIR"/*.sql

# --- engine and dataset -------------------------------------------------------------------------
step "engine at $ENGINE (data $ENGINE_DIR)"
if ! curl -fsS --max-time 2 "$ENGINE/ping" >/dev/null 2>&1; then
  CLICKHOUSE_URL="$ENGINE" LOCAL_ENGINE_DIR="$ENGINE_DIR" bash engine/start.sh
  ENGINE_STARTED=1
else
  note "already running"
fi

# ch SQL -> text result (database bench)
ch() { curl -sS --fail-with-body "$ENGINE/?database=$DB" --data-binary "$1"; }

step "schema (cdrstats migrate)"
"$BIN" migrate 2>&1 | tail -1
count=$(ch "SELECT count() FROM cdrs")
note "cdrs holds $count rows (target $BENCH_ROWS)"
if [ "${BENCH_RESEED:-0}" = 1 ] || [ "$count" -lt "$BENCH_ROWS" ]; then
  if [ "$count" -gt 0 ]; then
    note "dropping database $DB to seed from scratch"
    curl -sS --fail-with-body "$ENGINE/" --data-binary "DROP DATABASE IF EXISTS $DB SYNC" >/dev/null
    "$BIN" migrate 2>&1 | tail -1
  fi
  step "seed $BENCH_ROWS CDRs over $BENCH_DAYS day(s), seed $BENCH_SEED, hot share $BENCH_HOT_SHARE"
  seed_t0=$SECONDS
  "$BIN" seed --profile "$BENCH_PROFILE" --rows "$BENCH_ROWS" --days "$BENCH_DAYS" --seed "$BENCH_SEED" \
    --hot-share "$BENCH_HOT_SHARE" --parallel 2 2>&1 | tr '\r' '\n' | grep -v '^\s*$' | tail -3
  note "seed took $((SECONDS - seed_t0)) s"
  count=$(ch "SELECT count() FROM cdrs")
  # Rollups are kept only for listed dense account-sides (schema/005_rollup_accounts.sql):
  # `rollups dense` lists them and backfills their past, as `rollups maintain` would.
  step "list dense account-sides and backfill their rollups"
  "$BIN" rollups dense 2>&1 | tail -1
fi

step "dataset check"
hot=$(ch "SELECT count() FROM cdrs WHERE vendor_acc_id = 1")
read -r min_ts max_ts < <(ch "SELECT toUnixTimestamp(min(time_start)), toUnixTimestamp(max(time_start)) FROM cdrs FORMAT TSV")
hot_min=$(( BENCH_ROWS * 2 / 5 ))
note "cdrs: $count rows, $(( (max_ts - min_ts + 59) / 60 )) min of data ending $(date -u -d "@$max_ts" '+%F %T') UTC"
note "hot account 1 (termination): $hot rows (required >= $hot_min)"
[ "$count" -ge "$BENCH_ROWS" ] || die "cdrs holds $count rows, fewer than $BENCH_ROWS"
[ "$hot" -ge "$hot_min" ] || die "hot account has $hot rows, fewer than $hot_min"

# The fixed 24 h window of A-E and the baselines ends on the minute after the newest CDR, so a
# reused dataset is measured over the same data. (F) needs "now" and uses its own window.
now=$(date +%s)
T=$(( (max_ts / 60 + 1) * 60 ))
[ "$T" -le "$now" ] || T=$(( now / 60 * 60 ))
F=$(( T - 86400 ))
stale=$(( now - T ))
if [ "$stale" -gt 3600 ]; then
  note "WARNING: the data ends $((stale / 3600)) h ago; (F) polls a window that is partly empty (BENCH_RESEED=1 refreshes)"
fi
iso() { date -u -d "@$1" '+%Y-%m-%dT%H:%M:%SZ'; }
sqlts() { date -u -d "@$1" '+%Y-%m-%d %H:%M:%S'; }
FROM_ISO=$(iso "$F"); TO_ISO=$(iso "$T")
WIN="time_start BETWEEN toDateTime($F) AND toDateTime($T)"
uuid=$(ch "SELECT toString(uuid) FROM accounts FINAL WHERE id = 1")
read -r country country2 < <(ch "SELECT groupArray(dst_country_id) FROM (SELECT dst_country_id, count() c FROM cdrs WHERE vendor_acc_id = 1 AND $WIN GROUP BY 1 ORDER BY c DESC, 1 LIMIT 2) FORMAT TSV" | tr -d '[]' | tr ',' ' ')
top_prefix=$(ch "SELECT dst_prefix_routing FROM cdrs WHERE vendor_acc_id = 1 AND $WIN GROUP BY 1 ORDER BY count() DESC, 1 LIMIT 1")
if [ "${#top_prefix}" -ge 4 ]; then prefix=${top_prefix:0:3}; else prefix=${top_prefix:0:2}; fi
note "window $FROM_ISO .. $TO_ISO; account 1 = $uuid"
note "top dst country $country (2nd: $country2), top dst prefix $top_prefix -> starts-with $prefix"

# Other work on the machine (builds, tests) skews every number: wait a while for a quiet machine.
idle_wait="${BENCH_IDLE_WAIT:-120}"
if [ "$idle_wait" -gt 0 ]; then
  limit=$(awk -v n="$(nproc)" 'BEGIN {print n / 2}')
  deadline=$((SECONDS + idle_wait))
  while awk -v l="$limit" '{exit !($1 > l)}' /proc/loadavg && [ "$SECONDS" -lt "$deadline" ]; do
    note "load average $(cut -d' ' -f1 /proc/loadavg) > $limit: waiting for a quieter machine (up to ${idle_wait} s, BENCH_IDLE_WAIT)"
    sleep 15
  done
fi
LOADAVG=$(cut -d' ' -f1-3 /proc/loadavg)

# --- gateway ------------------------------------------------------------------------------------
step "gateway on $GATEWAY_ADDR"
# The benchmark's token (api_access 1) is load-test traffic: its own class, no rate limit, so the
# customer limits (50 req/s per customer) do not turn (E) into a 429 benchmark.
LOADTEST_ACCESS_IDS=1 LISTEN_ADDR="$GATEWAY_ADDR" RUST_LOG="${RUST_LOG:-info}" "$BIN" serve >"$RUN_DIR/gateway.log" 2>&1 &
GATEWAY_PID=$!
for _ in $(seq 1 100); do
  curl -fsS --max-time 1 "$GATEWAY/healthz" >/dev/null 2>&1 && break
  kill -0 "$GATEWAY_PID" 2>/dev/null || { tail -20 "$RUN_DIR/gateway.log"; die "gateway exited"; }
  sleep 0.1
done
curl -fsS --max-time 5 "$GATEWAY/readyz" >/dev/null || die "gateway not ready (see $RUN_DIR/gateway.log)"
note "pid $GATEWAY_PID, log $RUN_DIR/gateway.log"
TOKEN=$("$BIN" token --access-id 1 | tail -1)
AUTH="Bearer $TOKEN"
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$GATEWAY_PID/status"; }
hwm_kb() { awk '/^VmHWM/ {print $2}' "/proc/$GATEWAY_PID/status"; }
queries_total() {
  curl -fsS "$GATEWAY/metrics" | awk '/^cdrstats_clickhouse_queries_total/ {s += $NF} END {printf "%d\n", s}'
}
# source PATH [extra curl args] -> "status source"
probe() {
  local p=$1; shift
  curl -sS -o /dev/null -D - -H "Authorization: $AUTH" "$@" "$GATEWAY$p" |
    awk 'NR == 1 {st = $2} tolower($1) == "x-cdrstats-source:" {src = $2} END {gsub("\r", "", src); print st, src}'
}

# --- scenarios ----------------------------------------------------------------------------------
# wrk_run NAME CONNS THREADS URL [VAR=value ...]   (runs a warm-up unless NO_WARMUP=1)
wrk_run() {
  local name=$1 conns=$2 threads=$3 url=$4; shift 4
  local log="$RUN_DIR/$name.log"
  if [ "${NO_WARMUP:-0}" != 1 ] && [ "$BENCH_WARMUP" -gt 0 ]; then
    env "$@" BENCH_THREADS="$threads" wrk -t"$threads" -c"$conns" -d"${BENCH_WARMUP}s" --timeout 30s \
      -s "$LUA" "$url" >"$log.warmup" 2>&1 || true
  fi
  local l0 l1
  l0=$(wc -l <"$ENGINE_LOG")
  env "$@" BENCH_THREADS="$threads" wrk -t"$threads" -c"$conns" -d"${BENCH_DURATION}s" --timeout 30s \
    -s "$LUA" "$url" >"$log" 2>&1 || { cat "$log"; die "wrk failed for $name"; }
  l1=$(wc -l <"$ENGINE_LOG")
  # the engine's own per-request times (its log: "date time METHOD STATUS 12.3ms statement")
  sed -n "$((l0 + 1)),${l1}p" "$ENGINE_LOG" | awk '$5 ~ /ms$/ {sub(/ms$/, "", $5); print $5}' >"$RUN_DIR/$name.engine-ms"
  local json
  json=$(sed -n 's/^BENCHJSON //p' "$log")
  [ -n "$json" ] || { cat "$log"; die "no result line from wrk for $name"; }
  printf '%s\n' "$json" | "$PY" -c '
import json, statistics, sys
r = json.loads(sys.stdin.read())
ms = [float(x) for x in open(sys.argv[1]) if x.strip()]
r["engine_queries"] = len(ms)
r["engine_p50_ms"] = statistics.median(ms) if ms else None
json.dump(r, open(sys.argv[2], "w"))
e = "engine p50 %.1f ms x %d" % (r["engine_p50_ms"], len(ms)) if ms else "engine idle"
print("    %-11s p50 %8.3f ms  p99 %8.3f ms  %9.1f req/s  errors %d  non-2xx %d  %s  sources %s" % (
    sys.argv[3], r["p50_ms"], r["p99_ms"], r["rps"], r["errors"], r["non2xx"], e, r["sources"]))
' "$RUN_DIR/$name.engine-ms" "$RUN_DIR/$name.json" "$name"
}

Q="account-id=$uuid&from-time=$FROM_ISO&to-time=$TO_ISO&sampling=minute"
QA="$Q"
QB="$Q&dst-country-id=$country"
QC="$Q&dst-prefix-routing-starts-with=$prefix"
QD="$Q&duration-gt=60"

step "(A)-(D): cold path (Cache-Control: no-cache), 1 connection, ${BENCH_DURATION} s each"
for s in A B C D; do
  qv="Q$s"
  note "($s) $(probe "$API?${!qv}" -H 'Cache-Control: no-cache') <- status and x-cdrstats-source"
  wrk_run "$s" 1 1 "$GATEWAY" BENCH_PATH="$API?${!qv}" BENCH_AUTH="$AUTH" BENCH_NOCACHE=1 BENCH_CHECK=1
done

step "baselines straight to the engine, 1 connection"
# The straightforward SQL (bench/baseline.sql, shared with the scale curve), without a filter.
sed 's/ {filter}$//' bench/baseline.sql >"$RUN_DIR/baseline.sql"
enc() { "$PY" -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$1"; }
BASE_PATH="/?database=$DB&default_format=JSONCompact&param_a=1&param_from=$(enc "$(sqlts "$F")")&param_to=$(enc "$(sqlts "$T")")"
rows=$(curl -sS --fail-with-body "$ENGINE$BASE_PATH" --data-binary @"$RUN_DIR/baseline.sql" |
  "$PY" -c 'import json,sys; d=json.load(sys.stdin); print(len(d["data"]), "rows, totals", d.get("totals"))')
note "baseline answers $rows"
wrk_run baseline 1 1 "$ENGINE" BENCH_PATH="$BASE_PATH" BENCH_BODY_FILE="$RUN_DIR/baseline.sql"

"$BIN" sql --account 1 --query "$QA" >"$RUN_DIR/gateway-sql.plan.json"
"$PY" - "$RUN_DIR/gateway-sql.plan.json" "$DB" "$RUN_DIR/gateway-sql.sql" >"$RUN_DIR/gateway-sql.path" <<'PY'
import json, sys, urllib.parse
plan = json.load(open(sys.argv[1]))
open(sys.argv[3], "w").write(plan["sql"])
q = {"database": sys.argv[2], "default_format": "RowBinaryWithNamesAndTypes"}
q.update({"param_" + k: v for k, v in plan["params"].items()})
print("/?" + urllib.parse.urlencode(q, quote_via=urllib.parse.quote))
PY
note "gateway SQL for (A): path $("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["path"])' "$RUN_DIR/gateway-sql.plan.json"), $(curl -sS --fail-with-body "$ENGINE$(cat "$RUN_DIR/gateway-sql.path")" --data-binary @"$RUN_DIR/gateway-sql.sql" | wc -c) bytes of RowBinary"
wrk_run gateway_sql 1 1 "$ENGINE" BENCH_PATH="$(cat "$RUN_DIR/gateway-sql.path")" BENCH_BODY_FILE="$RUN_DIR/gateway-sql.sql"

step "(E) cache hit: the (A) URL without no-cache, 64 connections, 2 wrk threads"
note "first request: $(probe "$API?$QA"), then: $(probe "$API?$QA")"
rss_before=$(rss_kb)
q_before=$(queries_total)
wrk_run E 64 2 "$GATEWAY" BENCH_PATH="$API?$QA" BENCH_AUTH="$AUTH"
rss_after=$(rss_kb); hwm=$(hwm_kb)
q_after=$(queries_total)
note "gateway RSS before $((rss_before / 1024)) MiB, after $((rss_after / 1024)) MiB, peak $((hwm / 1024)) MiB; ClickHouse queries during (E) incl. warm-up: $((q_after - q_before))"

step "(F) incremental polling: from-time moves every request, no to-time, 1 connection"
fill_from=$(( $(date +%s) - 86400 ))
note "fill: $(probe "$API?account-id=$uuid&from-time=$(iso "$fill_from")&sampling=minute")"
sleep 1
note "sample: $(probe "$API?account-id=$uuid&from-time=$(iso $((fill_from + 1)))&sampling=minute")  (expect incremental)"
f_sample=$(probe "$API?account-id=$uuid&from-time=$(iso $((fill_from + 2)))&sampling=minute" | awk '{print $2}')
q_before=$(queries_total)
NO_WARMUP=1 wrk_run F 1 1 "$GATEWAY" BENCH_PATH="$API?account-id=$uuid&from-time={FROM}&sampling=minute" \
  BENCH_AUTH="$AUTH" BENCH_VARY=from BENCH_VARY_BASE=5 BENCH_CHECK=1
q_after=$(queries_total)
f_queries=$((q_after - q_before))
note "ClickHouse queries during (F): $f_queries"

step "coalescing: 100 identical concurrent cold requests"
# A scope no other scenario touched (second most frequent country), so neither the response
# cache nor the settled buckets can answer: exactly one query should reach ClickHouse.
QCO="$Q&dst-country-id=$country2"
q_before=$(queries_total)
"$PY" - "$GATEWAY$API?$QCO" "$AUTH" 100 >"$RUN_DIR/coalesce-requests.json" <<'PY'
import json, sys, threading, urllib.request, collections
url, auth, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
barrier = threading.Barrier(n)
out = collections.Counter()
lock = threading.Lock()
def one():
    req = urllib.request.Request(url, headers={"Authorization": auth})
    barrier.wait()
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            r.read()
            key = "%d %s" % (r.status, r.headers.get("x-cdrstats-source"))
    except Exception as e:  # noqa: BLE001
        key = "error %s" % getattr(e, "code", type(e).__name__)
    with lock:
        out[key] += 1
ts = [threading.Thread(target=one) for _ in range(n)]
for t in ts: t.start()
for t in ts: t.join()
print(json.dumps(dict(out)))
PY
q_after=$(queries_total)
co_delta=$((q_after - q_before))
note "responses: $(cat "$RUN_DIR/coalesce-requests.json"); ClickHouse queries: $co_delta (target 1)"

# --- report -------------------------------------------------------------------------------------
step "report"
cpu=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)
mem_kb=$(awk '/^MemTotal/ {print $2}' /proc/meminfo)
"$PY" - >"$RUN_DIR/meta.json" <<PY
import json
print(json.dumps({
  "date": "$(date -u '+%Y-%m-%d %H:%M UTC')",
  "stamp": "$(date -u '+%Y-%m-%d-%H%M')",
  "nproc": $(nproc), "loadavg": "$LOADAVG", "loadavg_end": "$(cut -d' ' -f1-3 /proc/loadavg)", "cpu": """$cpu""".strip(), "mem_gib": round($mem_kb / 1048576, 1),
  "git": "$(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet HEAD -- src Cargo.toml 2>/dev/null || echo '+dirty')",
  "wrk": "$(wrk --version 2>&1 | head -1 | awk '{print $2}')",
  "rows": $count, "hot_rows": $hot, "bench_rows": $BENCH_ROWS, "data_end": "$(date -u -d "@$max_ts" '+%F %T') UTC",
  "stale_s": $stale, "window": "$FROM_ISO .. $TO_ISO",
  "country": $country, "country2": $country2, "prefix": "$prefix",
  "duration_s": $BENCH_DURATION, "warmup_s": $BENCH_WARMUP,
  "rss_before_kb": $rss_before, "rss_after_kb": $rss_after, "rss_peak_kb": $hwm,
  "f_sample": "$f_sample", "f_queries": $f_queries,
  "coalesce_queries": $co_delta, "coalesce_responses": $(cat "$RUN_DIR/coalesce-requests.json"),
}))
PY
"$PY" bench/report.py "$RUN_DIR" "$RESULTS"
note "total $((SECONDS - t_start)) s"
