#!/usr/bin/env bash
# Part of make test: Waldur's own Python client against the functions served as `make dev` serves
# them, on the DynamoDB Local that AWS_ENDPOINT_URL_DYNAMODB points at, with the demo data set.
source "$(dirname "$0")/common.sh"
cd "$ROOT"
[ -n "${AWS_ENDPOINT_URL_DYNAMODB:-}" ] || fail "AWS_ENDPOINT_URL_DYNAMODB is not set (run through make test)"
install_python_tools "$CLIENT_TEST_TOOLS"
export CLUSTER_LOGS_TABLE=ClusterLogsTable SYSTEM_LOGS_TABLE=SystemLogsTable
export LOCAL_TOKEN_SECRET; LOCAL_TOKEN_SECRET=$(local_env LOCAL_TOKEN_SECRET)
cargo run --quiet --locked -p devtools --bin create-tables

# Build the functions first: cargo lambda watch then starts them without compiling inside the
# first invocation (in a fresh clone, requests failed with 500 while the functions were first
# being compiled and started; built beforehand, they did not).
say "Building the system-log functions"
cargo build --quiet --locked -p system-logs-list -p system-logs-retrieve -p system-logs-instances -p system-logs-stats

port=$(free_port)
log="$LOCAL/client-check-server.log"
say "Serving the functions on 127.0.0.1:$port for the client test (cargo lambda watch)"
set -m
cargo lambda watch --ignore-changes -A 127.0.0.1 -P "$port" \
  --env-var "CLUSTER_LOGS_TABLE=$CLUSTER_LOGS_TABLE" --env-var "SYSTEM_LOGS_TABLE=$SYSTEM_LOGS_TABLE" \
  --env-var "LOCAL_TOKEN_SECRET=$LOCAL_TOKEN_SECRET" --env-var "AWS_ENDPOINT_URL_DYNAMODB=$AWS_ENDPOINT_URL_DYNAMODB" \
  --env-var "AWS_ACCESS_KEY_ID=$AWS_ACCESS_KEY_ID" --env-var "AWS_SECRET_ACCESS_KEY=$AWS_SECRET_ACCESS_KEY" \
  --env-var "AWS_REGION=$AWS_REGION" --env-var "RUST_LOG=warn" >"$log" 2>&1 &
watch_pid=$!
set +m
trap 'kill -TERM -- "-$watch_pid" 2>/dev/null || true; wait "$watch_pid" 2>/dev/null || true' EXIT

say "Writing the demo data set (make seed)"
cargo run --quiet --locked -p devtools --bin seed
token=$(cargo run --quiet --locked -p devtools --bin local-token -- auditor system-logs-reader)

say "Running waldur-api-client against it"
for _ in $(seq 1 600); do
  curl -s -o /dev/null "http://127.0.0.1:$port/" && break
  kill -0 "$watch_pid" 2>/dev/null || { cat "$log" >&2; fail "cargo lambda watch exited"; }
  sleep 0.5
done
# Start each function and wait until it answers (bounded), before the client's calls.
for route in "" "1/" "instances/" "stats/"; do
  ready=""
  for _ in $(seq 1 60); do
    status=$(curl -s -o /dev/null -w '%{http_code}' --max-time 120 -H "Authorization: Bearer $token" \
      "http://127.0.0.1:$port/api/system-logs/$route" || true)
    case "$status" in 2??|404) ready=yes; break ;; esac
    sleep 1
  done
  [ -n "$ready" ] || { cat "$log" >&2; fail "/api/system-logs/$route did not answer (last status: $status)"; }
done
PYTHONDONTWRITEBYTECODE=1 LOG_SERVICE_URL="http://127.0.0.1:$port" LOG_SERVICE_TOKEN="$token" \
  python -m pytest -p no:cacheprovider -q tests/clients
