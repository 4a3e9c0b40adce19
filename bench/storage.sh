#!/usr/bin/env bash
# Storage and write cost of the schema on the realistic profile (plus the hot account), measured
# against a bare MergeTree table of the same columns in the same run, and against the previous
# schema (git revision STORAGE_BASELINE_REV, default main) loaded with the same rows.
#
# Usage: bash bench/storage.sh            (engine started when STORAGE_ENGINE_URL does not answer)
# Env:   STORAGE_ROWS (2000000), STORAGE_DAYS (2), STORAGE_ENGINE_URL (http://127.0.0.1:28124),
#        STORAGE_BASELINE_REV (main), STORAGE_REPEAT (2 timed inserts of each kind), VENV (.venv),
#        STORAGE_DENSE_PER_MIN (10: `rollups dense --min-per-minute`, the account-sides rolled up)
# Writes bench/results/storage-<date>.md and prints it.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

ROWS="${STORAGE_ROWS:-2000000}"
DAYS="${STORAGE_DAYS:-2}"
ENGINE="${STORAGE_ENGINE_URL:-http://127.0.0.1:28124}"
REV="${STORAGE_BASELINE_REV:-main}"
REPEAT="${STORAGE_REPEAT:-2}"
DENSE="${STORAGE_DENSE_PER_MIN:-10}"
ENGINE_DIR=bench/data/storage-engine
BIN=target/release/cdrstats
DB=storage
OLD=storage_old
OUT="bench/results/storage-$(date -u +%Y-%m-%d-%H%M).md"
export CLICKHOUSE_URL="$ENGINE" CLICKHOUSE_DATABASE="$DB" VENV="${VENV:-.venv}"

ENGINE_STARTED=0
cleanup() {
  local rc=$?
  if [ "$ENGINE_STARTED" = 1 ]; then
    LOCAL_ENGINE_DIR="$ENGINE_DIR" bash engine/stop.sh >/dev/null || true
  fi
  exit "$rc"
}
trap cleanup EXIT

ch() { curl -sS --fail-with-body "$ENGINE/?database=${2:-$DB}" --data-binary "$1"; }
# seconds taken by one statement
timed() { local t0 t1; t0=$(date +%s.%N); ch "$1" "${2:-$DB}" >/dev/null; t1=$(date +%s.%N); echo "$t1 - $t0" | bc -l; }

cargo build --release --locked  # never a stale binary: the schema is compiled in
# The CDR pipeline's insert settings, as `cdrstats seed` sends them (src/db/mod.rs).
PIPELINE=$(sed -n '/PIPELINE_INSERT_SETTINGS: /,/];/p' src/db/mod.rs |
  grep -o '("[a-z_]*", "[^"]*")' | sed 's/("\([a-z_]*\)", "\(.*\)")/\1 = \2/' | paste -sd, | sed 's/,/, /g')
[ -n "$PIPELINE" ] || { echo "no PIPELINE_INSERT_SETTINGS in src/db/mod.rs" >&2; exit 1; }
if ! curl -fsS --max-time 2 "$ENGINE/ping" >/dev/null 2>&1; then
  CLICKHOUSE_URL="$ENGINE" LOCAL_ENGINE_DIR="$ENGINE_DIR" bash engine/start.sh
  ENGINE_STARTED=1
fi

echo "==> fresh databases $DB (this schema) and $OLD (schema of $REV)"
ch "DROP DATABASE IF EXISTS $DB SYNC" default
ch "DROP DATABASE IF EXISTS $OLD SYNC" default
"$BIN" migrate >/dev/null 2>&1
ch "CREATE DATABASE $OLD" default
# The previous schema's files, applied statement by statement (comments dropped, split at `;`).
for f in $(git ls-tree --name-only "$REV" schema/ | grep -E '^schema/0[0-9]+_.*\.sql$' | sort); do
  git show "$REV:$f" | grep -v '^\s*--' | tr '\n' ' ' | tr ';' '\n' | while read -r stmt; do
    [ -n "${stmt// /}" ] && ch "$stmt" "$OLD" >/dev/null
  done
done

echo "==> seed $ROWS CDRs (realistic profile, hot account 20 %) through this schema"
seed_line=$("$BIN" seed --profile realistic --rows "$ROWS" --days "$DAYS" --seed 11 --hot-share 0.2 \
  --end 1795737600 2>/dev/null | tail -1)
echo "    $seed_line"

echo "==> list the dense account-sides (>= $DENSE CDRs/minute) for rollups"
dense_line=$("$BIN" rollups dense --min-per-minute "$DENSE" --days "$DAYS" 2>/dev/null | tail -1)
echo "    $dense_line"

# The baseline schema rolls up the same account-sides (when it has a listing at all).
if [ "$(ch "EXISTS TABLE rollup_accounts" "$OLD")" = 1 ]; then
  ch "INSERT INTO rollup_accounts (side, account_id, since) SELECT side, account_id, since FROM $DB.rollup_accounts FINAL" "$OLD"
fi

echo "==> bare MergeTree of the same columns (no codecs, no views, no projection)"
ch "CREATE TABLE bare ENGINE = MergeTree ORDER BY (vendor_acc_id, time_start) AS SELECT * FROM cdrs LIMIT 0"
ch "CREATE TABLE source ENGINE = MergeTree ORDER BY tuple() AS SELECT * FROM cdrs"

# Every MergeTree the CDRs reach, per database (not the inputs, the directory or the listing).
data_tables() {
  ch "SELECT arrayStringConcat(groupArray(name), ' ') FROM system.tables WHERE database = '$1' AND engine LIKE '%MergeTree' AND name NOT IN ('bare', 'source', 'accounts', 'api_access', 'schema_migrations', 'rollup_accounts')" default
}
derived=$(data_tables "$DB" | sed 's/\bcdrs\b//')
old_tables=$(data_tables "$OLD")
# The raw CDR columns both schemas have, named: the baseline may have more (defaults fill them)
# or fewer (an older schema without the breakdown columns gets only its own).
cols=$(ch "SELECT arrayStringConcat(groupArray(name), ', ') FROM system.columns WHERE database = '$DB' AND table = 'source' AND name IN (SELECT name FROM system.columns WHERE database = '$OLD' AND table = 'cdrs')" default)
declare -a bare_s plain_s schema_s old_s
for i in $(seq 1 "$REPEAT"); do
  ch "TRUNCATE TABLE bare"
  bare_s+=("$(timed "INSERT INTO bare SELECT * FROM source")")
  for t in cdrs $derived; do ch "TRUNCATE TABLE $t"; done
  # A token per run, as the pipeline sends per batch: the tables deduplicate retried inserts,
  # and the same rows inserted again in the next run must not be taken for a retry.
  plain_s+=("$(timed "INSERT INTO cdrs SETTINGS insert_deduplication_token = 'plain-$i' SELECT * FROM source")")
  for t in cdrs $derived; do ch "TRUNCATE TABLE $t"; done
  schema_s+=("$(timed "INSERT INTO cdrs SETTINGS $PIPELINE, insert_deduplication_token = 'pipeline-$i' SELECT * FROM source")")
  for t in $old_tables; do ch "TRUNCATE TABLE $t" "$OLD"; done
  old_s+=("$(timed "INSERT INTO cdrs ($cols) SETTINGS $PIPELINE SELECT $cols FROM $DB.source" "$OLD")")
  echo "    run $i: bare ${bare_s[-1]} s, this schema ${plain_s[-1]} s (server defaults), ${schema_s[-1]} s (pipeline settings), $REV schema ${old_s[-1]} s"
done

echo "==> merge everything (OPTIMIZE FINAL), then sizes"
for t in bare cdrs $derived; do ch "OPTIMIZE TABLE $t FINAL"; done
for t in $old_tables; do ch "OPTIMIZE TABLE $t FINAL" "$OLD"; done
sizes() {  # db -> "table rows bytes" lines; projections counted inside their parent part
  ch "SELECT table, sum(rows), sum(bytes_on_disk) FROM system.parts WHERE database = '$1' AND active AND table NOT IN ('source', 'accounts', 'api_access', 'schema_migrations', 'rollup_accounts') GROUP BY table ORDER BY table FORMAT TSV" default
}
proj() {
  ch "SELECT parent_name || '.' || name, sum(rows), sum(bytes_on_disk) FROM system.projection_parts WHERE database = '$1' AND active GROUP BY 1 FORMAT TSV" default 2>/dev/null || true
}
new_sizes=$(sizes "$DB")
old_sizes=$(sizes "$OLD")
old_proj=$(proj "$OLD")
rows=$(ch "SELECT count() FROM cdrs")
bare_bytes=$(awk '$1 == "bare" {print $3}' <<<"$new_sizes")

{
  echo "# Storage and write cost — $(date -u '+%Y-%m-%d %H:%M') UTC"
  echo
  echo "$rows CDRs over $DAYS days, \`seed --profile realistic --hot-share 0.2 --seed 11\` (3 000 accounts),"
  echo "local engine (chdb), every table merged with OPTIMIZE FINAL. Load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)."
  echo "Seed through this schema (before any listing): $seed_line"
  echo "Rollups: $dense_line."
  echo
  echo "\"bare\" = the raw CDR columns alone: a MergeTree of the same columns and order, no codecs,"
  echo "views or projection: $(awk -v n="$rows" '{printf "%.1f MiB, %.2f bytes/CDR", $0/1048576, $0/n}' <<<"$bare_bytes")."
  echo
  echo "## Insert rate (same rows, INSERT ... SELECT from a plain copy, same run)"
  echo
  echo "| run | bare MergeTree s | this schema, server defaults s | ratio | this schema, pipeline settings s | ratio | $REV schema, pipeline settings s | ratio |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|"
  for i in $(seq 0 $((REPEAT - 1))); do
    printf '| %d | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f |\n' "$((i + 1))" "${bare_s[$i]}" \
      "${plain_s[$i]}" "$(echo "${bare_s[$i]} / ${plain_s[$i]}" | bc -l)" \
      "${schema_s[$i]}" "$(echo "${bare_s[$i]} / ${schema_s[$i]}" | bc -l)" \
      "${old_s[$i]}" "$(echo "${bare_s[$i]} / ${old_s[$i]}" | bc -l)"
  done
  echo
  echo "ratio = rate through the schema ÷ rate into the bare table (target ≥ 0.20). Pipeline settings:"
  echo "\`$PIPELINE\` (what \`cdrstats seed\` and the cluster's \`cdrstats_pipeline_profile\` insert with)."
  echo
  for which in "this schema:$new_sizes" "$REV schema:$old_sizes"; do
    name=${which%%:*}; data=${which#*:}
    echo "## Bytes on disk, $name"
    echo
    echo "| table | rows | MiB | bytes/CDR | × bare |"
    echo "|---|---:|---:|---:|---:|"
    awk -v n="$rows" -v raw="$bare_bytes" '$1 != "bare" {printf "| %s | %d | %.1f | %.2f | %.2f |\n", $1, $2, $3/1048576, $3/n, $3/raw; s += $3}
      END {printf "| **all tables** | | %.1f | %.2f | %.2f |\n", s/1048576, s/n, s/raw}' <<<"$data"
    echo
  done
  if [ -n "$old_proj" ]; then
    echo "Projection parts of the $REV schema (already inside the \`cdrs\` bytes above):"
    echo
    awk '{printf "- %s: %d rows, %.1f MiB\n", $1, $2, $3/1048576}' <<<"$old_proj"
    echo
  fi
} | tee "$OUT"
echo "(written to $OUT)"
