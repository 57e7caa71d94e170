# shellcheck shell=bash
# Source this (`source scripts/tools-env.sh`) to point the build and the tests at the
# tools scripts/install-tools.sh put in the cache folder. It only sets variables and
# one function: it prints nothing and never fails, even when tools are missing, so
# callers check the binaries they need themselves.

export METRICS_TOOLS_DIR="${METRICS_TOOLS_DIR:-${HOME:-}/.cache/metrics-tools}"

# worker-build reads these three; without them it downloads from GitHub, which fails.
export WASM_BINDGEN_BIN="$METRICS_TOOLS_DIR/wasm-bindgen/bin/wasm-bindgen"
export WASM_OPT_BIN="$METRICS_TOOLS_DIR/node_modules/.bin/wasm-opt"
export ESBUILD_BIN="$METRICS_TOOLS_DIR/node_modules/.bin/esbuild"

export WORKER_BUILD_BIN="$METRICS_TOOLS_DIR/worker-build/bin/worker-build"

# Node 22 (the machine's `node` is 20). Not put on PATH on purpose: it would
# shadow the system node for everything else.
export NODE22_BIN="$METRICS_TOOLS_DIR/node_modules/.bin/node"
# wrangler needs Node 22: WRANGLER_BIN is a wrapper that runs WRANGLER_JS under it.
export WRANGLER_JS="$METRICS_TOOLS_DIR/node_modules/wrangler/bin/wrangler.js"
export WRANGLER_BIN="$METRICS_TOOLS_DIR/bin/wrangler"

# MongoDB-wire-compatible test server (GPL: run it, never link it).
export SECANTUSD_BIN="$METRICS_TOOLS_DIR/secantus/bin/secantusd-rs"

export CHROMIUM_BIN=/usr/bin/chromium
export CHROMEDRIVER_BIN=/usr/bin/chromedriver

# Debian's lld; only used for wasm32 targets, so harmless for host builds.
export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER=wasm-ld-22

# Wasm builds must use Debian's rustc/cargo 1.96 (the only toolchain with a wasm32
# std here); host builds and `cargo test` stay on rustup's. DEBIAN_RUST_PATH is a
# PATH prefix holding only cargo/rustc/rustdoc symlinks to /usr/bin (so it does not
# also shadow pyenv's python etc.), or /usr/bin itself before the install ran.
# Use it per command, never export it into PATH for the whole script:
#   PATH="$DEBIAN_RUST_PATH:$PATH" cargo build --target wasm32-unknown-unknown
#   with_debian_rust "$WORKER_BUILD_BIN" --release
if [ -x "$METRICS_TOOLS_DIR/debian-rust/bin/cargo" ]; then
  export DEBIAN_RUST_PATH="$METRICS_TOOLS_DIR/debian-rust/bin"
else
  export DEBIAN_RUST_PATH=/usr/bin
fi

# Runs one command with Debian's cargo/rustc first on PATH. RUSTC/RUSTDOC are set
# too because cargo prefers them over PATH; RUSTUP_TOOLCHAIN is dropped so no rustup
# shim that is still reached gets forced onto another toolchain.
with_debian_rust() {
  env -u RUSTUP_TOOLCHAIN PATH="$DEBIAN_RUST_PATH:$PATH" \
    RUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc "$@"
}
