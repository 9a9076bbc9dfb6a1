#!/usr/bin/env bash
# make test: a fresh in-memory DynamoDB Local on a free port, every test of the workspace, then stop.
source "$(dirname "$0")/common.sh"
require_prerequisites
cd "$ROOT"
port=$(free_port)
trap stop_dynamodb_local EXIT
start_dynamodb_local "$port"
say "Compiling and running the tests (cargo test --workspace; the first build takes a few minutes)"
log="$LOCAL/test-output.log"
set +e
cargo test --workspace --locked "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
# One closing line for the whole workspace (cargo prints one per test binary, doc tests last).
awk '/^test result:/ { passed += $4; failed += $6 } END { printf "tests: %d passed, %d failed\n", passed, failed }' "$log"
exit "$status"
