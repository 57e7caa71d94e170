#!/usr/bin/env bash
# Builds the edge Worker (edge/) with worker-build into edge/build/, using only the local tools
# of scripts/install-tools.sh (never a download), copies the tracker's files (tracker/dist, if
# built) into edge/build/assets/, and prints the Worker's size raw and gzipped.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/tools-env.sh
source scripts/tools-env.sh

for tool in WORKER_BUILD_BIN WASM_BINDGEN_BIN WASM_OPT_BIN ESBUILD_BIN; do
  if [ ! -x "${!tool}" ]; then
    echo "build-edge: $tool (${!tool}) is missing: run scripts/install-tools.sh" >&2
    exit 1
  fi
done

# Smallest code: the size of the Worker is its cold-start time.
export CARGO_TARGET_DIR="$PWD/target/wasm-edge"
export CARGO_PROFILE_RELEASE_OPT_LEVEL=z CARGO_PROFILE_RELEASE_LTO=fat CARGO_PROFILE_RELEASE_CODEGEN_UNITS=1 \
  CARGO_PROFILE_RELEASE_PANIC=abort CARGO_PROFILE_RELEASE_DEBUG=false
(cd edge && with_debian_rust "$WORKER_BUILD_BIN" --release "$@")

rm -rf edge/build/assets
mkdir -p edge/build/assets
if [ -f tracker/dist/pixel.js ]; then
  cp tracker/dist/pixel.js edge/build/assets/
  find tracker/dist -maxdepth 1 -name 'pixel.*.wasm' -exec cp {} edge/build/assets/ \;
else
  echo "build-edge: tracker/dist/pixel.js is not built (scripts/build-tracker.sh); /pixel.js will answer 404"
fi

wasm=edge/build/index_bg.wasm
raw=$(stat -c %s "$wasm")
gz=$(gzip -9 -c "$wasm" | wc -c)
js_raw=$(cat edge/build/index.js edge/build/worker/shim.mjs | wc -c)
js_gz=$(cat edge/build/index.js edge/build/worker/shim.mjs | gzip -9 | wc -c)
printf 'build-edge: Worker wasm %d KB (%d KB gz) + JS %d KB (%d KB gz) = %d KB gz (budget 300 KB gz)\n' \
  "$((raw / 1024))" "$((gz / 1024))" "$((js_raw / 1024))" "$((js_gz / 1024))" "$(((gz + js_gz) / 1024))"
budget_kb="${EDGE_SIZE_BUDGET_KB:-300}"
if [ $(((gz + js_gz) / 1024)) -ge "$budget_kb" ]; then
  echo "build-edge: the Worker is over its budget of $budget_kb KB gzipped" >&2
  exit 1
fi
