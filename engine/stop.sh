#!/usr/bin/env bash
# Stop the local engine(s) started by engine/start.sh from $LOCAL_ENGINE_DIR.
# Idempotent. Run from the repo root.
set -euo pipefail

data_dir="${LOCAL_ENGINE_DIR:-data/engine}"
shopt -s nullglob
stopped=0
for pid_file in "$data_dir"/engine-*.pid; do
  pid="$(cat "$pid_file" 2>/dev/null || true)"
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do          # up to 10 s, then SIGKILL
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
      kill -9 "$pid" 2>/dev/null || true
      sleep 0.2
    fi
    echo "engine stopped (pid $pid, $pid_file)"
    stopped=$((stopped + 1))
  fi
  rm -f "$pid_file"
done
[ "$stopped" -eq 0 ] && echo "no engine running for $data_dir"
exit 0
