#!/usr/bin/env bash
# The one run command (README): builds and starts the collector on its embedded store in ./.data,
# creating a demo owner, project and ingestion key on the first run, and prints how to use them.
# Stop it with Ctrl-C (it shuts down gracefully: nothing accepted is lost).
set -euo pipefail
cd "$(dirname "$0")/.."

PORT="${PORT:-8080}"
export COLLECTOR_DATA_DIR="${COLLECTOR_DATA_DIR:-$PWD/.data}"
unset MONGODB_URI

echo "==> building the collector"
cargo build --locked -p collector --release
bin=target/release/collector

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
fi
# shellcheck disable=SC1090
source "$demo"

cat <<INFO

  Collector:   http://127.0.0.1:$PORT/
  Owner login: $DEMO_EMAIL / $DEMO_PASSWORD   (POST /api/v1/login)
  Project:     $DEMO_PROJECT
  Key:         $DEMO_KEY

  Send an event:
    curl -i -H 'content-type: text/plain' -A 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0' \\
      -d '{"k":"$DEMO_KEY","n":"pageview","u":"https://example.com/hello"}' http://127.0.0.1:$PORT/api/event

INFO
exec "$bin" serve --listen "127.0.0.1:$PORT"
