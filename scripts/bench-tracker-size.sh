#!/usr/bin/env bash
# Prints the size of the built tracker (tracker/dist): raw and gzipped (-9, what a CDN serves at
# least), of pixel.js, of its wasm, and their sum, against the 10 KB gzipped budget. Exits 1 over
# budget. Build first: scripts/build-tracker.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
dist=tracker/dist
budget=${TRACKER_BUDGET_GZ:-10240}
js="$dist/pixel.js"
wasm=$(find "$dist" -maxdepth 1 -name 'pixel.*.wasm' | head -n1)
[ -f "$js" ] && [ -n "$wasm" ] || { echo "bench-tracker-size: build the tracker first (scripts/build-tracker.sh)" >&2; exit 1; }
[ "$(find "$dist" -maxdepth 1 -name 'pixel.*.wasm' | wc -l)" -eq 1 ] || { echo "bench-tracker-size: more than one wasm in $dist" >&2; exit 1; }
grep -q "$(basename "$wasm")" "$js" || { echo "bench-tracker-size: pixel.js does not name $(basename "$wasm")" >&2; exit 1; }

raw() { wc -c < "$1" | tr -d ' '; }
gz() { gzip -9 -c "$1" | wc -c | tr -d ' '; }
js_raw=$(raw "$js"); js_gz=$(gz "$js")
wasm_raw=$(raw "$wasm"); wasm_gz=$(gz "$wasm")
total_raw=$((js_raw + wasm_raw)); total_gz=$((js_gz + wasm_gz))
printf '%-28s %8s %8s\n' file raw gzip
printf '%-28s %8d %8d\n' pixel.js "$js_raw" "$js_gz" "$(basename "$wasm")" "$wasm_raw" "$wasm_gz" total "$total_raw" "$total_gz"
printf 'budget: %d B gzipped in total; used %d%% (%d B left)\n' "$budget" $((total_gz * 100 / budget)) $((budget - total_gz))
if [ "$total_gz" -gt "$budget" ]; then
  echo "bench-tracker-size: over budget" >&2
  exit 1
fi
