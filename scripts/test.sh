#!/usr/bin/env bash
# make test: a fresh in-memory DynamoDB Local on a free port, every test of the workspace, then the
# served functions (clients, Schemathesis) and a short load with an outage; then stop.
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
if [ "$status" -eq 0 ] && [ $# -eq 0 ]; then
  bash "$ROOT/scripts/api-check.sh" 2>&1 | tee -a "$log"
  status=${PIPESTATUS[0]}
fi
if [ "$status" -eq 0 ] && [ $# -eq 0 ]; then
  # make load, short: its own DynamoDB Local (on disk, to be stopped and started again).
  LOAD_POSTS="${LOAD_POSTS:-2000}" bash "$ROOT/scripts/load.sh" 2>&1 | grep -v 'AWS_LAMBDA_MAX_CONCURRENCY' | tee -a "$log"
  status=${PIPESTATUS[0]}
fi
set -e
# One closing line for everything (cargo prints one per test binary, pytest its own).
awk '/^test result:/ { passed += $4; failed += $6 }
     /[0-9]+ passed/ && !/^test result:/ { for (i = 1; i < NF; i++) { if ($(i+1) ~ /^passed/) passed += $i; if ($(i+1) ~ /^failed/) failed += $i } }
     END { printf "tests: %d passed, %d failed\n", passed, failed }' "$log"
exit "$status"
