#!/usr/bin/env bash
# make lint: formatting, clippy, and both template linters (offline).
source "$(dirname "$0")/common.sh"
require_prerequisites
cd "$ROOT"
install_python_tools "$SAM_CLI"
say "cargo fmt --check"
cargo fmt --all -- --check
say "cargo clippy --all-targets -- -D warnings"
cargo clippy --workspace --all-targets --locked -- -D warnings
say "cfn-lint template.yaml"
cfn-lint template.yaml
say "sam validate --lint"
sam validate --lint --template template.yaml >/dev/null
echo "template.yaml: cfn-lint and sam validate --lint pass"
