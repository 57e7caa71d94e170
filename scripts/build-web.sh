#!/usr/bin/env bash
# Builds the owners' dashboard (web/) into web/dist, which the collector embeds (collector/build.rs).
# web/dist is committed, so `cargo build` needs no Node; CI checks that it matches web/src.
#
#   scripts/build-web.sh           install the app's npm packages (from package-lock.json) when
#                                  missing or changed, then build web/dist and print its size
#   scripts/build-web.sh --check   fail if web/dist differs from a fresh build of web/src
#   scripts/build-web.sh --test    type-check (tsc, strict) and run the app's unit tests
set -euo pipefail
cd "$(dirname "$0")/../web"

# npm ci only when node_modules is missing or older than the lock file (a fresh clone, or a
# dependency change); it takes a few seconds from npm's cache.
stamp=node_modules/.package-lock.json
if [ ! -f "$stamp" ] || [ package-lock.json -nt "$stamp" ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi

case "${1:-}" in
  --check) node build.mjs --check ;;
  --test)
    npx --no-install tsc --noEmit -p .
    node build.mjs --tests
    node --test .test-out/
    ;;
  "") node build.mjs ;;
  *) echo "usage: scripts/build-web.sh [--check|--test]" >&2; exit 2 ;;
esac
