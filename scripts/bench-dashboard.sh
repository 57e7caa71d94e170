#!/usr/bin/env bash
# Times the owners' dashboard in headless Chromium on a large dataset: the first (cold) dashboard
# after the collector starts, warm loads, and a filter click, each until every panel shows its
# numbers (web/e2e/bench-dashboard.mjs says exactly what is measured). Prints figures.
#
#   scripts/bench-dashboard.sh [--visitors 500000] [--keep DIR] [--runs 10] [--goals]
#   (FILTER_RUNS=N measures fewer filter clicks, LIMIT_MS the longest wait for one: see the .mjs)
#
# The data is 30 days of the demo generator (query::dataset, ~20 events per visitor: 500,000
# visitors are ~10 million events), loaded once by `collector project demo-data`; --keep DIR keeps
# it for later runs (loading 10M events takes a while). Release build; the embedded store.
# --goals gives the site four goals when it has none (the query benchmark's: two custom events, a
# page, a page pattern), so the goals panel, which reads the events on every load, is timed too.
set -euo pipefail
cd "$(dirname "$0")/.."

visitors=500000
keep=""
runs=10
goals=""
while [ $# -gt 0 ]; do
  case "$1" in
    --visitors) visitors="$2"; shift 2 ;;
    --keep) keep="$2"; shift 2 ;;
    --runs) runs="$2"; shift 2 ;;
    --goals) goals=1; shift ;;
    *) echo "usage: scripts/bench-dashboard.sh [--visitors N] [--keep DIR] [--runs N] [--goals]" >&2; exit 2 ;;
  esac
done

scripts/build-web.sh >/dev/null
cargo build --locked --release -p collector
bin="${CARGO_TARGET_DIR:-$PWD/target}/release/collector"
data="${keep:-$(mktemp -d)}"
mkdir -p "$data"
data="$(cd "$data" && pwd)"
export COLLECTOR_DATA_DIR="$data"
unset MONGODB_URI

if [ ! -f "$data/bench.env" ]; then
  password="bench-$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')"
  echo "$password" | "$bin" user add --email bench@example.com --password-stdin
  project=$("$bin" project create --name "Bench site" --owner bench@example.com)
  echo "==> loading 30 days of demo traffic from $visitors visitors"
  "$bin" project demo-data --project "$project" --days 30 --visitors "$visitors"
  printf 'BENCH_PASSWORD=%s\nBENCH_PROJECT=%s\n' "$password" "$project" >"$data/bench.env"
fi
# shellcheck disable=SC1091
source "$data/bench.env"
du -sh "$data" | sed 's/^/==> data: /'

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
RUST_LOG=warn "$bin" serve --listen "127.0.0.1:$port" &
collector=$!
trap 'kill -INT $collector 2>/dev/null; wait $collector 2>/dev/null || true' EXIT
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done

if [ -n "$goals" ]; then
  api="http://127.0.0.1:$port/api/v1"
  jar="$(mktemp)"
  curl -sf -c "$jar" -H 'content-type: application/json' \
    -d "{\"email\":\"bench@example.com\",\"password\":\"$BENCH_PASSWORD\"}" "$api/login" >/dev/null
  if [ "$(curl -sf -b "$jar" "$api/projects/$BENCH_PROJECT/goals")" = '{"goals":[]}' ]; then
    for goal in '{"event":"signup"}' '{"event":"signup_click"}' '{"page":"/pricing"}' '{"page":"/docs/*"}'; do
      curl -sf -b "$jar" -H 'content-type: application/json' -d "$goal" "$api/projects/$BENCH_PROJECT/goals" >/dev/null
    done
    echo "==> gave the site 4 goals"
  fi
  rm -f "$jar"
fi

cd web
COLLECTOR_URL="http://127.0.0.1:$port" OWNER_EMAIL=bench@example.com OWNER_PASSWORD="$BENCH_PASSWORD" \
  PROJECT_ID="$BENCH_PROJECT" RUNS="$runs" node e2e/bench-dashboard.mjs
