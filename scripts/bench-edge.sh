#!/usr/bin/env bash
# Benchmarks POST /api/event on the edge Worker in local workerd in front of a real collector,
# loopback only: prints requests/s, p50/p99 latency and workerd CPU time per request.
# Bounded: BENCH_REQUESTS (default 3000) requests, BENCH_CONCURRENCY (default 8), at most 2 min
# per phase. Builds the Worker first when its sources changed.
#
# BENCH_RUNTIME picks what serves the Worker:
#   wrangler (default)  `wrangler dev --local`. Its proxies (wrangler's and Miniflare's) add ~8 ms
#                       to every request, even GET /healthz: the figures are mostly theirs.
#   workerd             a bare `workerd serve` (the binary wrangler runs) on a config generated from
#                       wrangler.toml: the Worker's own latency. No queues there, so it runs the
#                       `direct` env (forwarding from waitUntil); BENCH_ENV must be unset or direct.
# BENCH_ENV=direct runs wrangler's `--env direct` (no queue) instead of the queue.
#   BENCH_RUNTIME=workerd BENCH_ENV=direct scripts/bench-edge.sh
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build-edge.sh >/dev/null
cargo test --locked -p e2e --test edge -- --ignored --exact bench_post_event --nocapture 2>&1 |
  grep -E '^bench-edge|panicked|test result'
