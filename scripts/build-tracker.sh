#!/usr/bin/env bash
# Builds the tracker into tracker/dist: pixel.js (the minified loader) and pixel.<hash>.wasm (the
# event logic, content-hashed so it can be cached for a year; pixel.js names it). Local tools only
# (scripts/install-tools.sh): Debian's wasm-capable rustc/cargo, wasm-opt (binaryen), esbuild.
#
# The wasm is built with std rebuilt for size (-Zbuild-std, via RUSTC_BOOTSTRAP on Debian's stable
# 1.96) and -Cpanic=immediate-abort, so no panic or formatting machinery is linked: a panic is a
# trap, which the loader catches. Separate target dir (target/wasm): host builds stay valid.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/tools-env.sh
source scripts/tools-env.sh

out=tracker/dist
target_dir=target/wasm
for tool in "$WASM_OPT_BIN" "$ESBUILD_BIN" "$DEBIAN_RUST_PATH/cargo"; do
  [ -x "$tool" ] || { echo "build-tracker: missing $tool (run scripts/install-tools.sh)" >&2; exit 1; }
done

# -zstack-size: the module needs a few KiB of stack, not the default 1 MiB of memory.
RUSTFLAGS="-Zunstable-options -Cpanic=immediate-abort -Clink-arg=-zstack-size=65536 -Clink-arg=--no-entry" \
RUSTC_BOOTSTRAP=1 \
  with_debian_rust cargo build -p tracker --lib --target wasm32-unknown-unknown --profile wasm-release \
    --target-dir "$target_dir" -Zbuild-std=std,panic_abort ${CARGO_LOCKED:+--locked} --quiet
raw="$target_dir/wasm32-unknown-unknown/wasm-release/tracker.wasm"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$WASM_OPT_BIN" "$raw" -Oz --converge --strip-debug --strip-producers --strip-target-features \
  --enable-bulk-memory --enable-sign-ext --enable-nontrapping-float-to-int --enable-mutable-globals \
  -o "$tmp/pixel.wasm"
hash=$(sha256sum "$tmp/pixel.wasm" | cut -c1-16)
wasm="pixel.$hash.wasm"

sed "s/__WASM__/$wasm/" tracker/js/pixel.src.js > "$tmp/pixel.src.js"
"$ESBUILD_BIN" "$tmp/pixel.src.js" --minify --target=es5 --log-level=warning --outfile="$tmp/pixel.js"

mkdir -p "$out"
find "$out" -maxdepth 1 -name 'pixel.*.wasm' ! -name "$wasm" -delete
cp "$tmp/pixel.wasm" "$out/$wasm"
cp "$tmp/pixel.js" "$out/pixel.js"
echo "build-tracker: $out/pixel.js ($(wc -c < "$out/pixel.js") B) + $out/$wasm ($(wc -c < "$out/$wasm") B)"
