#!/usr/bin/env bash
# The one test command (README, CI): installs the tools it needs into a cached folder (skipped
# when already there), then runs formatting and lint checks and every test of the workspace,
# against real servers (the MongoDB-wire test server is started by the tests themselves).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-tools.sh
# shellcheck source=scripts/tools-env.sh
source scripts/tools-env.sh

step() { printf '\n==> %s\n' "$*"; }

step "tracker/dist (committed, embedded by the collector) matches its sources"
scripts/build-tracker.sh --check

step "build the tracker (pixel.js + wasm)"
scripts/build-tracker.sh

step "tracker size (budget: 10 KB gzipped)"
scripts/bench-tracker-size.sh

step "build the edge Worker (budget: 300 KB gzipped)"
scripts/build-edge.sh

step "dashboard app: web/dist matches web/src, tsc (strict), unit tests"
scripts/build-web.sh --check
scripts/build-web.sh --test

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy (all targets, warnings are errors)"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "cargo test (unit, conformance on SQLite and MongoDB, HTTP, CLI, Chromium + tracker and dashboard, workerd + edge)"
cargo test --workspace --locked
