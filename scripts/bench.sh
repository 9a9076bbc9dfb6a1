#!/usr/bin/env bash
# make bench: release binaries, a DynamoDB Local of its own, data at 10k/100k/1M logs, every figure
# side by side; writes bench/results.json, BENCHMARKS.md and bench/chart.svg. Reports, never fails
# on a figure. About 15-20 minutes on 2 cores from a clean clone (the release build is half of it).
source "$(dirname "$0")/common.sh"
require_prerequisites
install_python_tools "boto3==1.43.108"   # the Python peer

cd "$ROOT"
say "Compiling every function, hello world and the bench in release mode (LTO: several minutes on 2 cores)"
# Only what the bench runs: each binary is a whole-program (LTO) link, the slow part of the build.
cargo build --release --locked -p bench -p functions --bins
port=$(free_port)
trap stop_dynamodb_local EXIT
start_dynamodb_local "$port"
say "Measuring (about 10 minutes; each step says what it does)"
"$ROOT/target/release/bench"
