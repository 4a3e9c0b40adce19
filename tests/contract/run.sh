#!/usr/bin/env bash
# Contract test: schemathesis drives the live gateway from its own /openapi.json with a valid
# token and fails on any 5xx or any answer that violates the documented schema. Needs a local
# engine at CONTRACT_ENGINE_URL (make test starts one) and the venv with schemathesis.
set -euo pipefail
cd "$(dirname "$0")/../.."

ENGINE_URL=${CONTRACT_ENGINE_URL:-http://127.0.0.1:18123}
PORT=${CONTRACT_PORT:-18081}
BIN=${CDRSTATS_BIN:-target/debug/cdrstats}
export CLICKHOUSE_URL=$ENGINE_URL CLICKHOUSE_DATABASE=contract_tests
export JWT_SECRET=contract-test-secret-0123456789 RUST_LOG=warn
export LIMITS_CUSTOMER="rps=0,concurrency=0"

[ -x "$BIN" ] || cargo build --locked
$BIN migrate >/dev/null
$BIN seed --rows 20000 --days 1 --customers 2 --if-empty >/dev/null

LISTEN_ADDR=127.0.0.1:$PORT $BIN serve 2> target/contract-gateway.log &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.1; done

token=$($BIN token --access-id 1)
.venv/bin/schemathesis run "http://127.0.0.1:$PORT/openapi.json" \
  --header "Authorization: Bearer $token" \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance \
  --max-examples "${CONTRACT_EXAMPLES:-40}" --seed 1 --workers 1 --warnings off \
  --request-timeout 20
