#!/usr/bin/env bash
# Builds the tracker into tracker/dist: pixel.js (the minified loader) and pixel.<hash>.wasm (the
# event logic, content-hashed so it can be cached for a year; pixel.js names it). Local tools only
# (scripts/install-tools.sh): Debian's wasm-capable rustc/cargo, wasm-opt (binaryen), esbuild.
#
# The wasm is built with std rebuilt for size (-Zbuild-std, via RUSTC_BOOTSTRAP on Debian's stable
# 1.96) and -Cpanic=immediate-abort, so no panic or formatting machinery is linked: a panic is a
# trap, which the loader catches. Separate target dir (target/wasm): host builds stay valid.
#
# tracker/dist is committed: the collector embeds it (collector/build.rs), so a plain `cargo build`
# serves /pixel.js with no wasm toolchain. Its SOURCES.sha256 is the hash of what it was built
# from; `scripts/build-tracker.sh --check` (CI) fails when the sources have changed since. (A
# hash of the sources rather than of the output: the output also depends on Debian's rustc, which
# apt may update, and a new compiler must not fail CI for unchanged sources.)
set -euo pipefail
cd "$(dirname "$0")/.."

out=tracker/dist
# What the wasm and the loader are built from (the tracker uses contract's wire, limits and ids).
SOURCES=(tracker/src tracker/js tracker/Cargo.toml contract/src/wire.rs contract/src/limits.rs contract/src/ids.rs
  contract/Cargo.toml Cargo.toml scripts/build-tracker.sh)
sources_hash() {
  find "${SOURCES[@]}" -type f | LC_ALL=C sort | xargs sha256sum | sha256sum | cut -d' ' -f1
}
if [ "${1:-}" = "--check" ]; then
  if [ "$(cat "$out/SOURCES.sha256" 2>/dev/null)" != "$(sources_hash)" ]; then
    echo "build-tracker: tracker/dist was built from other sources: run scripts/build-tracker.sh and commit tracker/dist" >&2
    exit 1
  fi
  echo "build-tracker: tracker/dist matches its sources"
  exit 0
fi

# shellcheck source=scripts/tools-env.sh
source scripts/tools-env.sh
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
sources_hash >"$out/SOURCES.sha256"
echo "build-tracker: $out/pixel.js ($(wc -c < "$out/pixel.js") B) + $out/$wasm ($(wc -c < "$out/$wasm") B)"
