#!/usr/bin/env bash
# make measure-reads LOGS=10000: read capacity of the system-logs API at a table size, on its own DynamoDB Local.
source "$(dirname "$0")/common.sh"
require_prerequisites
cd "$ROOT"
trap stop_dynamodb_local EXIT
start_dynamodb_local "$(free_port)"
say "Writing ${LOGS:-10000} system logs, then measuring each read"
cargo run --quiet --release --locked -p devtools --bin measure-reads -- "${LOGS:-10000}"
