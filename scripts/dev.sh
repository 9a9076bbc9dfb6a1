#!/usr/bin/env bash
# make dev: DynamoDB Local (data kept in .local/dynamodb-data), the tables of template.yaml, and
# every route on http://127.0.0.1:$PORT through `cargo lambda watch`. Ctrl-C stops it all.
source "$(dirname "$0")/common.sh"
require_prerequisites
cd "$ROOT"
install_python_tools
PORT="${PORT:-3000}"
DYNAMODB_PORT="${DYNAMODB_PORT:-8000}"
port_is_free "$PORT" || fail "port $PORT is taken; run with PORT=<another port>"
if ! port_is_free "$DYNAMODB_PORT"; then
  DYNAMODB_PORT=$(free_port)
  say "Port 8000 is taken; DynamoDB Local uses $DYNAMODB_PORT (sam local's local/env.json expects 8000)"
fi

# Stops what this script started. Kills before it prints: if the terminal is gone, a print could fail.
cleanup() {
  trap - EXIT INT TERM
  stop_gateway
  if [ -n "${WATCH_PID:-}" ]; then
    kill -TERM -- "-$WATCH_PID" 2>/dev/null || kill -TERM "$WATCH_PID" 2>/dev/null || true
    wait "$WATCH_PID" 2>/dev/null || true
  fi
  stop_dynamodb_local
  rm -f "$LOCAL/dev.env"
  say "Stopped cargo lambda watch and DynamoDB Local" 2>/dev/null || true
}
trap cleanup EXIT INT TERM

# The functions refuse at start a Waldur URL that would carry tokens in the clear: say it first.
case "${WALDUR_API_URL:-}" in
  "" | https://* | http://127.0.0.1* | http://localhost* | http://\[::1\]*) ;;
  *) fail "WALDUR_API_URL must be https:// (or http:// to this machine): it carries users' tokens" ;;
esac

start_dynamodb_local "$DYNAMODB_PORT" "$LOCAL/dynamodb-data"
say "Creating the tables declared in template.yaml"
cargo run --quiet --locked -p devtools --bin create-tables

export RUST_LOG="${RUST_LOG:-info}"
watch_env
# Where `make token` and `make seed` find this server's settings.
printf 'AWS_ENDPOINT_URL_DYNAMODB=%s\nPORT=%s\n' "$AWS_ENDPOINT_URL_DYNAMODB" "$PORT" > "$LOCAL/dev.env"

# The functions listen on a port of their own; on $PORT the local gateway answers CORS preflights
# and adds CORS headers for ALLOWED_ORIGINS, as API Gateway does (template.yaml), and passes the rest on.
WATCH_PORT=$(free_port)
serve_gateway "$PORT" "$WATCH_PORT" "$LOCAL/gateway.log"
say "Compiling the functions and serving every route on http://127.0.0.1:$PORT (Ctrl-C stops)"
echo "    get a token:   make token ROLES=service-logs-writer USER=alice" >&2
echo "    try:           curl -H \"Authorization: Bearer \$TOKEN\" http://127.0.0.1:$PORT/api/service_logs/v1/cluster_logs" >&2
echo "    the contract:  curl -H \"Authorization: Bearer \$TOKEN\" http://127.0.0.1:$PORT/openapi.yaml" >&2
if [ -n "${ALLOWED_ORIGINS:-}" ]; then
  echo "    CORS:          pages from $ALLOWED_ORIGINS may call the API" >&2
else
  echo "    CORS:          none; ALLOWED_ORIGINS=http://localhost:5173 make dev lets a page of that origin call the API" >&2
fi
if [ -n "${WALDUR_API_URL:-}" ]; then
  echo "    Waldur tokens: system-log routes take 'Authorization: Token <key>', checked at $WALDUR_API_URL/api/users/me/" >&2
else
  echo "    Waldur tokens: off; WALDUR_API_URL=https://waldur.example.com make dev takes them on the system-log routes" >&2
fi
set -m # its own process group, so Ctrl-C and cleanup reach the functions it spawned
cargo lambda watch --disable-cors -A 127.0.0.1 -P "$WATCH_PORT" "${WATCH_ENV[@]}" &
WATCH_PID=$!
set +m
wait "$WATCH_PID"
