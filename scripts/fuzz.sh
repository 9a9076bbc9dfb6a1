#!/usr/bin/env bash
# make fuzz: Schemathesis against every route, long: a fresh in-memory DynamoDB Local, the demo data,
# FUZZ_EXAMPLES (default 100) examples per operation and phase, with a token for each role.
source "$(dirname "$0")/common.sh"
require_prerequisites
cd "$ROOT"
port=$(free_port)
trap stop_dynamodb_local EXIT
start_dynamodb_local "$port"
FUZZ_EXAMPLES="${FUZZ_EXAMPLES:-100}" CLIENTS=0 bash "$ROOT/scripts/api-check.sh"
