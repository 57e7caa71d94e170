#!/usr/bin/env bash
# The one run command (README): builds and starts the collector on its embedded store in ./.data
# (creating a demo owner, project and ingestion key on the first run) and a demo single-page site
# that embeds the tracker, and prints how to use them.
#   --edge   also builds the edge Worker and runs it in workerd, pointed at the collector (needs the
#            tools of scripts/install-tools.sh)
# Stop it with Ctrl-C (it shuts down gracefully: nothing accepted is lost).
set -euo pipefail
cd "$(dirname "$0")/.."

with_edge=false
for arg in "$@"; do
  case "$arg" in
    --edge) with_edge=true ;;
    *) echo "run.sh: unknown option $arg (--edge also runs the edge Worker in workerd)" >&2; exit 2 ;;
  esac
done

# shellcheck source=scripts/tools-env.sh
source scripts/tools-env.sh
PORT="${PORT:-8080}"
EDGE_PORT="${EDGE_PORT:-8787}"
export COLLECTOR_DATA_DIR="${COLLECTOR_DATA_DIR:-$PWD/.data}"
unset MONGODB_URI
if [ "$with_edge" = true ]; then
  for tool in WASM_OPT_BIN ESBUILD_BIN WORKER_BUILD_BIN WASM_BINDGEN_BIN WRANGLER_BIN; do
    [ -x "${!tool}" ] || { echo "run.sh: --edge needs $tool (${!tool}): run scripts/install-tools.sh" >&2; exit 1; }
  done
fi

# A build for trying the product, not the one to deploy (`cargo install --path collector` or
# `cargo build --release -p collector`): it compiles in about two thirds of the CPU time, which on
# a small machine is minutes (README). Optimised at level 1 without link-time optimisation (the
# demo's ingest and dashboard do not notice), and without the MongoDB driver (the run is on the
# embedded store). One cargo invocation for both binaries: built together, they share their
# dependencies (tokio, axum, …); built apart, each compiles its own. The profile is defined here
# rather than in Cargo.toml because Cargo.toml is one of the sources tracker/dist is checked
# against (scripts/build-tracker.sh).
echo "==> building the collector and the demo site"
cargo build --locked --profile quick-release --config 'profile.quick-release.inherits="release"' \
  --config 'profile.quick-release.opt-level=1' --config 'profile.quick-release.lto="off"' \
  --config 'profile.quick-release.codegen-units=16' \
  --no-default-features -p collector -p tracker --bin collector --example demo
out="${CARGO_TARGET_DIR:-target}/quick-release"
bin="$out/collector"

# The collector serves the tracker built into it (tracker/dist, committed). Only when the
# tracker's sources have changed since tracker/dist was built (someone is working on it) is it
# rebuilt, with the wasm tools, and served from tracker/dist instead: rebuilding it on every run
# would rewrite tracker/dist and so rebuild the collector, which embeds it, on the next run.
static_args=()
if ! scripts/build-tracker.sh --check >/dev/null 2>&1; then
  if [ -x "$WASM_OPT_BIN" ] && [ -x "$ESBUILD_BIN" ] && [ -x "$DEBIAN_RUST_PATH/cargo" ]; then
    echo "==> the tracker's sources changed since tracker/dist was built: rebuilding it"
    scripts/build-tracker.sh
    static_args=(--static-dir tracker/dist)
  else
    echo "==> note: the tracker's sources changed since tracker/dist was built; serving the built one (scripts/install-tools.sh installs what rebuilds it)"
  fi
fi
if [ "$with_edge" = true ]; then
  echo "==> building the edge Worker"
  scripts/build-edge.sh
fi
DEMO_PORT="${DEMO_PORT:-8081}"

demo="$COLLECTOR_DATA_DIR/demo.env"
if [ ! -f "$demo" ]; then
  echo "==> first run: creating a demo owner, project and key"
  mkdir -p "$COLLECTOR_DATA_DIR"
  password="demo-$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')"
  echo "$password" | "$bin" user add --email demo@example.com --password-stdin
  project=$("$bin" project create --name "Demo site" --owner demo@example.com)
  key=$("$bin" key create --project "$project" --label "Demo")
  umask 077
  printf 'DEMO_EMAIL=demo@example.com\nDEMO_PASSWORD=%s\nDEMO_PROJECT=%s\nDEMO_KEY=%s\n' "$password" "$project" "$key" > "$demo"
  echo "==> first run: filling the demo site with 30 days of realistic traffic"
  "$bin" project demo-data --project "$project" --days 30 --visitors 3000
fi
# shellcheck disable=SC1090
source "$demo"

cat <<INFO

  Dashboard:   http://127.0.0.1:$PORT/   (sign in as $DEMO_EMAIL / $DEMO_PASSWORD)
  Demo site:   http://localhost:$DEMO_PORT/landing.html   (open it, click around: events arrive in the dashboard)
  Collector:   http://127.0.0.1:$PORT/
  Edge:        $([ "$with_edge" = true ] && echo "http://127.0.0.1:$EDGE_PORT/api/event   (the Worker in workerd; same contract as the collector)" || echo "not started (scripts/run.sh --edge runs it in workerd)")
  Owner login: $DEMO_EMAIL / $DEMO_PASSWORD   (the dashboard's sign-in form, or POST /api/v1/login)
  Project:     $DEMO_PROJECT
  Key:         $DEMO_KEY

  Send an event:
    curl -s http://127.0.0.1:$PORT/api/event -H "Content-Type: text/plain" \\
      -A "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0" \\
      -d '{"k": "$DEMO_KEY", "n": "pageview", "u": "https://example.com/hello"}'

INFO
"$bin" serve --listen "127.0.0.1:$PORT" "${static_args[@]}" &
collector=$!
"$out/examples/demo" --api "http://127.0.0.1:$PORT" --key "$DEMO_KEY" --port "$DEMO_PORT" &
demo=$!

# The edge, in workerd, pointed at the collector with the collector's own secrets.
edge=""
if [ "$with_edge" = true ]; then
  for _ in $(seq 50); do [ -f "$COLLECTOR_DATA_DIR/secrets.json" ] && break; sleep 0.2; done
  secret() { "$NODE22_BIN" -p "require('$COLLECTOR_DATA_DIR/secrets.json').$1"; }
  rm -rf .wrangler/state
  ( XDG_CONFIG_HOME="$COLLECTOR_DATA_DIR/wrangler-config" WRANGLER_SEND_METRICS=false \
    exec setsid "$WRANGLER_BIN" dev --local --ip 127.0.0.1 --port "$EDGE_PORT" --persist-to "$COLLECTOR_DATA_DIR/wrangler" \
      --show-interactive-dev-session=false --var "COLLECTOR_URL:http://127.0.0.1:$PORT" \
      --var "KEY_PEPPER:$(secret key_pepper)" --var "EDGE_SECRET:$(secret edge_secret)" ) &
  edge=$!
fi

# Ctrl-C stops the edge and the demo and lets the collector shut down gracefully.
trap '[ -n "$edge" ] && kill -TERM -- "-$edge" 2>/dev/null; kill "$demo" 2>/dev/null; kill -INT "$collector" 2>/dev/null; wait "$collector"' INT TERM EXIT
wait "$collector"
