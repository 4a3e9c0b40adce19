#!/usr/bin/env bash
# Start the local ClickHouse-compatible engine (chdb) in the background.
# Usage: engine/start.sh [--listen host:port]      (run from the repo root)
# Env: CLICKHOUSE_URL (default http://127.0.0.1:8123; first of a comma list),
#      LOCAL_ENGINE_DIR (default data/engine), VENV (default .venv),
#      ENGINE_POOL, ENGINE_USER, ENGINE_PASSWORD.
set -euo pipefail

listen=""
while [ $# -gt 0 ]; do
  case "$1" in
    --listen) listen="${2:?--listen needs host:port}"; shift 2 ;;
    --listen=*) listen="${1#--listen=}"; shift ;;
    *) echo "usage: $0 [--listen host:port]" >&2; exit 2 ;;
  esac
done

if [ -z "$listen" ]; then
  url="${CLICKHOUSE_URL:-http://127.0.0.1:8123}"
  url="${url%%,*}"                 # first URL of a comma-separated list
  url="${url#*://}"                # strip scheme
  url="${url#*@}"                  # strip credentials
  url="${url%%/*}"                 # strip path
  url="${url%%\?*}"
  case "$url" in
    *:*) listen="$url" ;;
    "") listen="127.0.0.1:8123" ;;
    *) listen="$url:8123" ;;
  esac
fi
host="${listen%:*}"
port="${listen##*:}"
[ "$host" = "localhost" ] && host=127.0.0.1
[ -z "$host" ] && host=127.0.0.1

data_dir="${LOCAL_ENGINE_DIR:-data/engine}"
python="${VENV:-.venv}/bin/python"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
pid_file="$data_dir/engine-$port.pid"
log_file="$data_dir/engine-$port.log"

ping() { curl -fsS --max-time 2 "http://$host:$port/ping" >/dev/null 2>&1; }

if ping; then
  echo "engine already answering at http://$host:$port (nothing started)"
  exit 0
fi

if [ ! -x "$python" ]; then
  echo "python not found at $python (set VENV=...; pip install -r engine/requirements.txt)" >&2
  exit 1
fi

mkdir -p "$data_dir"
if [ -f "$pid_file" ] && kill -0 "$(cat "$pid_file")" 2>/dev/null; then
  echo "engine pid $(cat "$pid_file") from $pid_file is running but not answering; stopping it" >&2
  kill "$(cat "$pid_file")" 2>/dev/null || true
  sleep 1
fi

nohup "$python" "$here/chdb_http.py" --listen "$host:$port" --data-dir "$data_dir" \
  >>"$log_file" 2>&1 </dev/null &
pid=$!
echo "$pid" >"$pid_file"

deadline=$((SECONDS + 60))
until ping; do
  if ! kill -0 "$pid" 2>/dev/null; then
    echo "engine exited during startup; log tail ($log_file):" >&2
    tail -n 30 "$log_file" >&2 || true
    rm -f "$pid_file"
    exit 1
  fi
  if [ "$SECONDS" -ge "$deadline" ]; then
    echo "engine did not answer /ping within 60 s; log tail ($log_file):" >&2
    tail -n 30 "$log_file" >&2 || true
    kill "$pid" 2>/dev/null || true
    rm -f "$pid_file"
    exit 1
  fi
  sleep 0.2
done

echo "engine up at http://$host:$port (pid $pid, data $data_dir)"
