#!/usr/bin/env bash
# make seed: the deterministic demo data set, written into the tables of a running `make dev`.
source "$(dirname "$0")/common.sh"
cd "$ROOT"
[ -f "$LOCAL/dev.env" ] || fail "make dev is not running (start it in another terminal first)"
set -a; source "$LOCAL/dev.env"; set +a
export CLUSTER_LOGS_TABLE=ClusterLogsTable SYSTEM_LOGS_TABLE=SystemLogsTable
say "Writing the demo data set (2,400 system logs, 300 cluster logs) through the write path"
cargo run --quiet --locked -p devtools --bin seed
