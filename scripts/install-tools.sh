#!/usr/bin/env bash
# Installs every tool the build and the tests need into one fixed cache folder,
# ${METRICS_TOOLS_DIR:-$HOME/.cache/metrics-tools}, and skips whatever is already
# there in the exact pinned version. A clean machine takes ~25 min (three cargo
# installs dominate); a machine that already ran it takes a few seconds.
#
# Usage: bash scripts/install-tools.sh        then: source scripts/tools-env.sh
#
# Only the package registries are reachable here (crates.io, npm, Debian, PyPI):
# nothing below may download from GitHub, which is why every tool comes from a
# registry and why worker-build is pointed at local wasm-bindgen/wasm-opt/esbuild.
# Facts behind each choice: shared/TOOLCHAIN.md.
set -euo pipefail

# ---------------------------------------------------------------------------
# Pinned versions
# ---------------------------------------------------------------------------
# Debian packages (versions follow Debian 12 security/updates; not pinned):
#   rustc-web/cargo-web/rust-web-src: rustc 1.96 with the wasm backend and std source;
#     rustup cannot add the wasm32 target offline, so wasm builds use these.
#   lld-22: wasm-ld-22, the linker for wasm32-unknown-unknown.
#   chromium/chromium-driver: real-browser tests through WebDriver.
#   cmake/pkg-config: SecantusDB builds a bundled WiredTiger with cmake.
APT_PACKAGES=(rustc-web cargo-web rust-web-src lld-22 chromium chromium-driver cmake pkg-config)

# Must equal the wasm-bindgen crate version in Cargo.lock exactly (the CLI refuses
# to process output of another version); pin `wasm-bindgen = "=0.2.130"` in Cargo.toml.
WASM_BINDGEN_VERSION=0.2.130
# Last worker-build known to build with --locked on this registry and to honour
# WASM_BINDGEN_BIN / WASM_OPT_BIN / ESBUILD_BIN instead of downloading.
WORKER_BUILD_VERSION=0.8.7
# MongoDB-wire-compatible test server (no real mongod can be installed here).
# A beta: pin with '=' so cargo never picks a newer pre-release. GPL-2.0-only:
# only ever run as a separate process, never linked into the project.
SECANTUS_VERSION=0.5.3-beta.196
# npm: wasm-opt. Debian's binaryen 108 produces broken output.
BINARYEN_VERSION=132.0.0
# npm: esbuild for worker-build's bundling step (Debian's 0.17 cannot parse its
# output). The exact version wrangler 4.164.0 depends on, so npm keeps one copy.
ESBUILD_VERSION=0.28.2
# npm: a Node 22 binary; the machine's Node 20 is too old for wrangler >= 4.87.
NODE22_VERSION=22.23.3
# npm: latest wrangler 4.x at the time of pinning; needs Node >= 22.12 (run it with
# NODE22_BIN), and its workerd accepts current compatibility dates.
WRANGLER_VERSION=4.164.0

TOOLS="${METRICS_TOOLS_DIR:-$HOME/.cache/metrics-tools}"
WASM_TARGET=wasm32-unknown-unknown

# ---------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------
log() { printf '[install-tools] %s\n' "$*"; }
die() { printf '[install-tools] ERROR: %s\n' "$*" >&2; exit 1; }

STEP_TIMES=()
step_start() { STEP_NAME="$1"; STEP_T0=$SECONDS; log "$1 ..."; }
step_end() {   # $1: what happened (installed / cached)
  local dt=$((SECONDS - STEP_T0))
  STEP_TIMES+=("$(printf '%-22s %-9s %4ss' "$STEP_NAME" "$1" "$dt")")
  log "$STEP_NAME: $1 (${dt}s)"
}

# Heavy compiles share a 2-core machine with other people's builds.
NICE=(nice -n 19)

# rustup's stable cargo builds the host tools. Run from $TOOLS so that no project
# .cargo/config.toml or rust-toolchain.toml is picked up, and without variables a
# caller may have exported for wasm builds.
HOST_CARGO="${CARGO_HOME:-$HOME/.cargo}/bin/cargo"
[ -x "$HOST_CARGO" ] || HOST_CARGO="$(command -v cargo || true)"
host_cargo() {
  (cd "$TOOLS" && env -u RUSTFLAGS -u CARGO_BUILD_TARGET -u CARGO_TARGET_DIR -u RUSTC \
     RUSTUP_TOOLCHAIN=stable "${NICE[@]}" "$HOST_CARGO" "$@")
}

# True if `cargo install --root $1` recorded package $2 at exactly version $3 and
# its binary $4 is there. cargo writes .crates.toml only after a successful install.
cargo_installed() {
  local root="$1" pkg="$2" ver="$3" bin="$4"
  [ -x "$root/bin/$bin" ] && [ -f "$root/.crates.toml" ] &&
    grep -qF "\"$pkg $ver (registry+" "$root/.crates.toml"
}

# True while any process holds one of apt's/dpkg's locks (e.g. an apt-get started
# in the background). Read from /proc/locks so that probing never takes the lock.
apt_lock_held() {
  local f ino
  for f in /var/lib/dpkg/lock-frontend /var/lib/dpkg/lock /var/lib/apt/lists/lock /var/cache/apt/archives/lock; do
    [ -e "$f" ] || continue
    ino=$(stat -c %i "$f")
    awk -v ino="$ino" '{ n = split($6, a, ":"); if (a[n] == ino) found = 1 } END { exit !found }' /proc/locks &&
      return 0
  done
  return 1
}
wait_for_apt() {
  local waited=0
  while apt_lock_held; do
    [ $waited -eq 0 ] && log "apt: another apt/dpkg is running; waiting for its lock"
    [ $waited -ge 1800 ] && die "apt/dpkg lock still held after 30 min"
    sleep 3; waited=$((waited + 3))
  done
}

mkdir -p "$TOOLS"
# Two runs at once (a developer and CI on a reused machine) would race on the same
# cargo roots and node_modules: serialize them.
exec 9>"$TOOLS/.install.lock"
flock 9
T_ALL=$SECONDS
log "tools dir: $TOOLS"

# ---------------------------------------------------------------------------
# 1. Debian packages
# ---------------------------------------------------------------------------
step_start "1/6 apt packages"
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  step_end cached
else
  log "apt: installing ${missing[*]}"
  [ "$(id -u)" -eq 0 ] || die "apt packages missing (${missing[*]}) and not root"
  # Lock::Timeout also makes apt itself wait if another apt starts in between.
  APT_OPTS=(-o DPkg::Lock::Timeout=1800 -o Dpkg::Use-Pty=0)
  wait_for_apt
  DEBIAN_FRONTEND=noninteractive apt-get "${APT_OPTS[@]}" update -qq
  wait_for_apt
  DEBIAN_FRONTEND=noninteractive apt-get "${APT_OPTS[@]}" install -y -qq --no-install-recommends "${missing[@]}"
  step_end installed
fi
/usr/bin/rustc --version | grep -q '^rustc 1\.96\.' ||
  log "WARNING: /usr/bin/rustc is $(/usr/bin/rustc --version), TOOLCHAIN.md was checked with 1.96"

# A bin folder holding only Debian's cargo/rustc/rustdoc: putting it first on PATH
# for wasm builds bypasses rustup's shims without also shadowing everything else in
# /usr/bin (pyenv's python, etc.). tools-env.sh exports it as DEBIAN_RUST_PATH.
mkdir -p "$TOOLS/debian-rust/bin"
for b in cargo rustc rustdoc; do
  [ "$(readlink "$TOOLS/debian-rust/bin/$b" 2>/dev/null)" = "/usr/bin/$b" ] ||
    ln -sfn "/usr/bin/$b" "$TOOLS/debian-rust/bin/$b"
done

# ---------------------------------------------------------------------------
# 2. std for wasm32-unknown-unknown, built for Debian's rustc
# ---------------------------------------------------------------------------
# Debian ships the std source but no prebuilt wasm32 std. Build it once with
# -Zbuild-std in a throwaway crate and copy the rlibs into the sysroot, after which
# a plain `cargo build --target wasm32-unknown-unknown` works with Debian's cargo.
step_start "2/6 wasm32 std"
WASM_LIBDIR="$(/usr/bin/rustc --print target-libdir --target "$WASM_TARGET")"
RUSTC_ID="$(/usr/bin/rustc -vV | tr '\n' ' ')"
STAMP="$WASM_LIBDIR/.metrics-tools-std"   # which rustc the rlibs were built by
if compgen -G "$WASM_LIBDIR/libstd-*.rlib" >/dev/null && [ "$(cat "$STAMP" 2>/dev/null)" = "$RUSTC_ID" ]; then
  step_end cached
else
  crate="$TOOLS/wasm-std-build"
  rm -rf "$crate"
  mkdir -p "$crate/src"
  cat >"$crate/Cargo.toml" <<'EOF'
[package]
name = "wasm_std_dummy"
version = "0.0.0"
edition = "2021"
publish = false

[lib]
path = "src/lib.rs"

# Keep it out of any workspace above it.
[workspace]
EOF
  echo '#![no_std]' >"$crate/src/lib.rs"
  # Debian's cargo/rustc only (RUSTC pins the compiler even if cargo looks it up);
  # RUSTC_BOOTSTRAP unlocks -Zbuild-std on a stable compiler; embed-bitcode keeps
  # the rlibs usable by LTO builds.
  (cd "$crate" && env -u CARGO_TARGET_DIR -u CARGO_BUILD_TARGET -u RUSTUP_TOOLCHAIN \
     PATH="$TOOLS/debian-rust/bin:$PATH" RUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc \
     RUSTC_BOOTSTRAP=1 RUSTFLAGS=-Cembed-bitcode=yes \
     "${NICE[@]}" /usr/bin/cargo build --quiet --release --target "$WASM_TARGET" \
       -Zbuild-std=std,panic_abort,panic_unwind)
  mkdir -p "$WASM_LIBDIR"
  # Drop rlibs of an earlier build first: two copies of std in the sysroot make
  # rustc fail with "multiple candidates".
  if [ -f "$WASM_LIBDIR/.metrics-tools-files" ]; then
    (cd "$WASM_LIBDIR" && xargs -r rm -f <.metrics-tools-files)
  fi
  : >"$WASM_LIBDIR/.metrics-tools-files"
  for f in "$crate/target/$WASM_TARGET/release/deps/"*.rlib; do
    case "$(basename "$f")" in libwasm_std_dummy-*) continue ;; esac
    cp "$f" "$WASM_LIBDIR/"
    basename "$f" >>"$WASM_LIBDIR/.metrics-tools-files"
  done
  printf '%s' "$RUSTC_ID" >"$STAMP"
  rm -rf "$crate"   # ~100 MB of build output, no longer needed
  compgen -G "$WASM_LIBDIR/libstd-*.rlib" >/dev/null || die "no libstd rlib in $WASM_LIBDIR"
  step_end installed
fi

# ---------------------------------------------------------------------------
# 3-4. wasm-bindgen-cli, worker-build (host tools, rustup stable)
# ---------------------------------------------------------------------------
step_start "3/6 wasm-bindgen-cli"
if cargo_installed "$TOOLS/wasm-bindgen" wasm-bindgen-cli "$WASM_BINDGEN_VERSION" wasm-bindgen &&
   [ "$("$TOOLS/wasm-bindgen/bin/wasm-bindgen" --version)" = "wasm-bindgen $WASM_BINDGEN_VERSION" ]; then
  step_end cached
else
  # No --locked: its lock file pins a webpki-roots that this registry cannot resolve.
  host_cargo install --quiet --force --root "$TOOLS/wasm-bindgen" wasm-bindgen-cli --version "=$WASM_BINDGEN_VERSION"
  log "built $("$TOOLS/wasm-bindgen/bin/wasm-bindgen" --version)"
  step_end installed
fi

step_start "4/6 worker-build"
if cargo_installed "$TOOLS/worker-build" worker-build "$WORKER_BUILD_VERSION" worker-build; then
  step_end cached
else
  host_cargo install --quiet --force --locked --root "$TOOLS/worker-build" worker-build --version "=$WORKER_BUILD_VERSION"
  log "built worker-build $("$TOOLS/worker-build/bin/worker-build" --version)"
  step_end installed
fi

# ---------------------------------------------------------------------------
# 5. npm: wasm-opt, esbuild, Node 22, wrangler
# ---------------------------------------------------------------------------
step_start "5/6 npm packages"
NM="$TOOLS/node_modules"
npm_version() {   # installed version of npm package $1, or nothing
  [ -f "$NM/$1/package.json" ] && node -p "require(process.argv[1]).version" "$NM/$1/package.json" 2>/dev/null || true
}
npm_ok() {
  [ "$(npm_version binaryen)" = "$BINARYEN_VERSION" ] &&
  [ "$(npm_version esbuild)" = "$ESBUILD_VERSION" ] &&
  [ "$(npm_version node)" = "$NODE22_VERSION" ] &&
  [ "$(npm_version wrangler)" = "$WRANGLER_VERSION" ] &&
  [ -x "$NM/.bin/wasm-opt" ] && [ -x "$NM/.bin/esbuild" ] && [ -x "$NM/.bin/node" ] &&
  [ "$("$NM/.bin/node" --version 2>/dev/null)" = "v$NODE22_VERSION" ]
}
if npm_ok; then
  step_end cached
else
  # --save-exact records the pins in $TOOLS/package.json; wrangler's engines field
  # (node >= 22.12) only warns under the machine's Node 20, which runs npm itself.
  npm install --prefix "$TOOLS" --save-exact --no-audit --no-fund --loglevel=error \
    "binaryen@$BINARYEN_VERSION" "esbuild@$ESBUILD_VERSION" "node@$NODE22_VERSION" "wrangler@$WRANGLER_VERSION"
  npm_ok || die "npm packages not at the pinned versions after install"
  step_end installed
fi
# wrangler must run under Node 22, not the Node 20 on PATH: a wrapper that does so.
mkdir -p "$TOOLS/bin"
WRAPPER="$TOOLS/bin/wrangler"
WRAPPER_TEXT="#!/bin/sh
# Generated by scripts/install-tools.sh: runs wrangler $WRANGLER_VERSION under Node $NODE22_VERSION.
exec \"$NM/.bin/node\" \"$NM/wrangler/bin/wrangler.js\" \"\$@\""
if [ "$(cat "$WRAPPER" 2>/dev/null)" != "$WRAPPER_TEXT" ]; then
  printf '%s\n' "$WRAPPER_TEXT" >"$WRAPPER"
  chmod +x "$WRAPPER"
fi

# ---------------------------------------------------------------------------
# 6. SecantusDB (Rust build): the MongoDB-compatible server the tests run against
# ---------------------------------------------------------------------------
step_start "6/6 secantus-mdb"
if cargo_installed "$TOOLS/secantus" secantus-mdb "$SECANTUS_VERSION" secantusd-rs; then
  step_end cached
else
  # --ignore-rust-version: it declares a newer rust-version than rustup's stable,
  # yet builds with it. --locked: the versions its authors tested. ~11 min.
  host_cargo install --quiet --force --locked --ignore-rust-version --root "$TOOLS/secantus" \
    secantus-mdb --version "=$SECANTUS_VERSION"
  step_end installed
fi

# ---------------------------------------------------------------------------
# Smoke checks (a couple of seconds): every tool runs, SecantusDB listens.
# ---------------------------------------------------------------------------
log "checking tools:"
log "  wasm-bindgen  $("$TOOLS/wasm-bindgen/bin/wasm-bindgen" --version)"
log "  worker-build  $("$TOOLS/worker-build/bin/worker-build" --version 2>&1 | head -1)"
log "  wasm-opt      $("$NM/.bin/wasm-opt" --version)"
log "  esbuild       $("$NM/.bin/esbuild" --version)"
log "  node22        $("$NM/.bin/node" --version)"
wrangler_cfg="$(mktemp -d)"
log "  wrangler      $(XDG_CONFIG_HOME="$wrangler_cfg" WRANGLER_SEND_METRICS=false "$WRAPPER" --version 2>&1 | grep -o '[0-9][0-9.]*' | head -1)"
rm -rf "$wrangler_cfg"
log "  chromium      $(/usr/bin/chromium --version 2>/dev/null | head -1)"
log "  chromedriver  $(/usr/bin/chromedriver --version 2>/dev/null | head -1)"

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
secantus_check() {
  local port dir pid i
  for _ in 1 2 3 4 5 6 7 8 9 10; do
    port=$((20000 + RANDOM % 40000))
    port_in_use "$port" || break
  done
  dir="$(mktemp -d)"
  "$TOOLS/secantus/bin/secantusd-rs" --host 127.0.0.1 --port "$port" --storage-path "$dir/data" \
    >"$dir/log" 2>&1 &
  pid=$!
  for i in $(seq 1 100); do
    port_in_use "$port" && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if port_in_use "$port"; then
    log "  secantusd-rs  listened on 127.0.0.1:$port after ~$((i * 100)) ms"
    kill "$pid"; wait "$pid" 2>/dev/null || true
    rm -rf "$dir"
  else
    kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true
    tail -20 "$dir/log" >&2
    rm -rf "$dir"
    die "secantusd-rs did not listen on 127.0.0.1:$port"
  fi
}
secantus_check

log "summary:"
for t in "${STEP_TIMES[@]}"; do log "  $t"; done
log "done in $((SECONDS - T_ALL))s; now: source scripts/tools-env.sh"
