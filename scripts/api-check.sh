#!/usr/bin/env bash
# Part of make test, and all of make fuzz: every route served as `make dev` serves it, on the
# DynamoDB Local that AWS_ENDPOINT_URL_DYNAMODB points at, with the demo data set. Then
#   1. Waldur's own Python client (tests/clients), unless CLIENTS=0;
#   2. Schemathesis against openapi.yaml with a token for each role (and none): every operation,
#      valid and invalid requests; any 5xx or answer outside the spec fails. FUZZ_EXAMPLES bounds the
#      examples per operation and phase (make test: 5; make fuzz: 100).
source "$(dirname "$0")/common.sh"
cd "$ROOT"
[ -n "${AWS_ENDPOINT_URL_DYNAMODB:-}" ] || fail "AWS_ENDPOINT_URL_DYNAMODB is not set (run through make test or make fuzz)"
FUZZ_EXAMPLES="${FUZZ_EXAMPLES:-5}"
install_python_tools "$CLIENT_TEST_TOOLS"
cargo run --quiet --locked -p devtools --bin create-tables

# Waldur's tokens are checked by a stand-in for Waldur's /api/users/me/ (an identity service
# outside the project), as `WALDUR_API_URL=... make dev` checks them.
waldur_port=$(free_port)
"$LOCAL/venv/bin/python" tests/clients/waldur_stand_in.py "$waldur_port" >"$LOCAL/api-check-waldur.log" 2>&1 &
WALDUR_PID=$!
export WALDUR_API_URL="http://127.0.0.1:$waldur_port"
port=$(free_port)
log="$LOCAL/api-check-server.log"
RUST_LOG=warn serve_functions "$port" "$log"
# The browsers' view: the local gateway of make dev in front, one origin allowed.
gateway_port=$(free_port)
CORS_ORIGIN="http://127.0.0.1:5173"
ALLOWED_ORIGINS="$CORS_ORIGIN" serve_gateway "$gateway_port" "$port" "$LOCAL/api-check-gateway.log"
trap 'stop_gateway; stop_functions; kill "$WALDUR_PID" 2>/dev/null || true' EXIT

say "Writing the demo data set (make seed)"
cargo run --quiet --locked -p devtools --bin seed
reader=$(local_token auditor system-logs-reader)
wait_for_routes "$port" "$reader" "$log"

if [ "${CLIENTS:-1}" != 0 ]; then
  say "Running waldur-api-client and a browser's CORS requests against it, through the local gateway"
  PYTHONDONTWRITEBYTECODE=1 LOG_SERVICE_URL="http://127.0.0.1:$gateway_port" LOG_SERVICE_TOKEN="$reader" \
    CORS_ALLOWED_ORIGIN="$CORS_ORIGIN" PYTHONPATH="$ROOT/tests/clients" CLUSTER_LOG_TOKEN="$(local_token console-user service-logs-reader)" \
    python -m pytest -p no:cacheprovider -q tests/clients
fi

# positive_data_acceptance is left out: a schema cannot say which `search` texts parse, nor that the
# per-cluster list needs cluster_id or cluster_uuid, so some schema-valid requests are rightly 400s.
# unsupported_method is left out: a method no route has is answered by the router (cargo lambda watch
# locally, API Gateway deployed), not by a function; the system-log functions answer 405 themselves.
# Bodies that are not UTF-8 are skipped (tests/fuzz/hooks.py says why), and so is the stateful phase,
# which sends them without the hook seeing them.
say "Schemathesis against openapi.yaml: $FUZZ_EXAMPLES examples per operation and phase, one run per role"
cases=0
# `customer`: no role, a demo organization (acme) that owns two of the seeded clusters.
for who in none customer service-logs-writer service-logs-admin service-logs-internal system-logs-reader all; do
  organization=""
  case "$who" in
    none) roles="" ;;
    customer) roles=""; organization=acme ;;
    all) roles=service-logs-writer,service-logs-admin,service-logs-reader,service-logs-internal,system-logs-reader ;;
    *) roles="$who" ;;
  esac
  token=$(local_token "fuzz-$who" "$roles" "$organization")
  report="$LOCAL/fuzz-$who.log"
  if ! PYTHONPATH="$ROOT/tests/fuzz" SCHEMATHESIS_HOOKS=hooks schemathesis --config-file tests/fuzz/schemathesis.toml \
    run openapi.yaml --url "http://127.0.0.1:$port" -H "Authorization: Bearer $token" \
    --checks all --exclude-checks positive_data_acceptance,unsupported_method --mode all \
    --phases examples,coverage,fuzzing \
    --max-examples "$FUZZ_EXAMPLES" --seed "${FUZZ_SEED:-20261122}" --request-timeout 30 \
    --no-color >"$report" 2>&1; then
    cat "$report" >&2
    fail "Schemathesis found failures as '$who' (report: ${report#"$ROOT"/})"
  fi
  generated=$(grep -oE '[0-9]+ generated' "$report" | grep -oE '[0-9]+' || echo 0)
  cases=$((cases + generated))
  echo "    $who: $generated cases, no failures" >&2
done
echo "fuzz: $cases cases sent, 0 failures" >&2
