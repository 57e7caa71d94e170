#!/usr/bin/env bash
# Benchmarks POST /api/event on the edge Worker in local workerd (wrangler dev) in front of a real
# collector, loopback only: prints requests/s, p50/p99 latency and workerd CPU time per request.
# Bounded: BENCH_REQUESTS (default 3000) requests, BENCH_CONCURRENCY (default 8), at most 2 min
# per phase. Builds the Worker first when its sources changed.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build-edge.sh >/dev/null
cargo test --locked -p e2e --test edge -- --ignored --exact bench_post_event --nocapture 2>&1 |
  grep -E '^bench-edge|panicked|test result'
