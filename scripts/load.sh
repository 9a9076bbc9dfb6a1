#!/usr/bin/env bash
# make load (and, smaller, make test): LOAD_CLIENTS (32) clients send LOAD_POSTS (20,000) cluster logs
# to every route served as `make dev` serves them, with lists and LOAD_RECORDS (a quarter as many)
# system logs through system-logs-ingest running alongside; then DynamoDB Local
# is killed and started again on the same data under load (LOAD_OUTAGE=0 skips that). Only
# 127.0.0.1; bounded by LOAD_MAX_SECONDS. What it checks: tests/load/load.py.
source "$(dirname "$0")/common.sh"
require_prerequisites
cd "$ROOT"
install_python_tools
data="$LOCAL/load-data"
rm -rf "$data"
pid_file="$LOCAL/load-dynamodb.pid"
rm -f "$pid_file"
cleanup() {
  stop_functions
  stop_dynamodb_local
  if [ -f "$pid_file" ]; then kill "$(cat "$pid_file")" 2>/dev/null || true; rm -f "$pid_file"; fi
  [ -n "${LOAD_KEEP_DATA:-}" ] || rm -rf "$data"
}
trap cleanup EXIT
start_dynamodb_local "$(free_port)" "$data"
# The outage kills this process on purpose: no "Killed" report from bash for it.
disown "$DYNAMODB_PID" 2>/dev/null || true
cargo run --quiet --locked -p devtools --bin create-tables
port=$(free_port)
log="$LOCAL/load-server.log"
say "Building system-logs-ingest (the load delivers SQS batches to it through cargo lambda watch)"
cargo build --quiet --locked -p functions --bin system-logs-ingest
# Up to 8 instances of each function, as Lambda would scale out (2 cores here).
RUST_LOG=warn serve_functions "$port" "$log" "${LOAD_INSTANCES:-8}"
writer=$(local_token load-writer service-logs-writer)
reader=$(local_token load-reader service-logs-internal,system-logs-reader)
wait_for_routes "$port" "$reader" "$log"
say "Load: ${LOAD_CLIENTS:-32} clients, ${LOAD_POSTS:-20000} POSTs with lists alongside$([ "${LOAD_OUTAGE:-1}" = 0 ] || echo ', then DynamoDB Local killed and started again')"
LOAD_PORT=$port LOAD_WRITER_TOKEN=$writer LOAD_READER_TOKEN=$reader DYNAMODB_PID=$DYNAMODB_PID \
  DYNAMODB_COMMAND=$DYNAMODB_COMMAND DYNAMODB_LOG=$DYNAMODB_LOG DYNAMODB_PORT=$DYNAMODB_PORT \
  DYNAMODB_PID_FILE=$pid_file PYTHONDONTWRITEBYTECODE=1 python3 tests/load/load.py
