#!/usr/bin/env bash
# make token ROLES=a,b USER=name ORG=org: a bearer token that `make dev` accepts for that identity
# (ORG: the customer's organization; see README for the demo organizations).
source "$(dirname "$0")/common.sh"
cd "$ROOT"
export LOCAL_TOKEN_SECRET; LOCAL_TOKEN_SECRET=$(local_env LOCAL_TOKEN_SECRET)
cargo run --quiet --locked -p devtools --bin local-token -- "${USER_NAME:-developer}" "${ROLES:-}" "${ORG:-}"
