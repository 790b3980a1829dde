#!/usr/bin/env bash
# Install what Confab needs and is missing. Safe to run again: every step checks first.
#
# Pinned Rust tools go to a per-user cache keyed by version
# (${CONFAB_TOOLS:-~/.cache/confab/tools}/<tool>-<version>), so a fresh clone on the
# same machine reuses them. npm packages come from package-lock.json. Chromium and
# ChromeDriver come from Debian's packages.
set -euo pipefail
cd "$(dirname "$0")/.."

TOOLS=${CONFAB_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/confab/tools}
WASM_BINDGEN_VERSION=$(sed -n 's/^wasm-bindgen = "=\(.*\)"$/\1/p' Cargo.toml)
WORKER_BUILD_VERSION=$(sed -n 's/^worker = "=\(.*\)"$/\1/p' Cargo.toml)
step() { printf '\033[1m==> %s\033[0m\n' "$*"; }

if ! command -v cargo >/dev/null; then
  echo "error: cargo is not installed; Confab needs a Rust toolchain (rustup)" >&2
  exit 1
fi
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "error: node and npm are needed (Node >= 20.19)" >&2
  exit 1
fi

if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
  step "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

mkdir -p "$TOOLS"
wb="$TOOLS/wasm-bindgen-cli-$WASM_BINDGEN_VERSION/bin/wasm-bindgen"
if [ ! -x "$wb" ]; then
  step "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION into $TOOLS (a few minutes, once per machine)"
  # No --locked: its lockfile names a webpki-roots release the registry lacks.
  cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" \
    --root "$TOOLS/wasm-bindgen-cli-$WASM_BINDGEN_VERSION"
fi
got=$("$wb" --version | awk '{print $2}')
if [ "$got" != "$WASM_BINDGEN_VERSION" ]; then
  echo "error: $wb is version $got but the workspace pins wasm-bindgen $WASM_BINDGEN_VERSION" >&2
  exit 1
fi
locked=$(awk '/^name = "wasm-bindgen"$/ {getline; print $3}' Cargo.lock | tr -d '"')
if [ -n "$locked" ] && [ "$locked" != "$WASM_BINDGEN_VERSION" ]; then
  echo "error: Cargo.lock has wasm-bindgen $locked but the CLI is $WASM_BINDGEN_VERSION; they must match" >&2
  exit 1
fi

wkb="$TOOLS/worker-build-$WORKER_BUILD_VERSION/bin/worker-build"
if [ ! -x "$wkb" ]; then
  step "installing worker-build $WORKER_BUILD_VERSION into $TOOLS (a few minutes, once per machine)"
  cargo install worker-build --version "$WORKER_BUILD_VERSION" --locked \
    --root "$TOOLS/worker-build-$WORKER_BUILD_VERSION"
fi

if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  step "installing npm packages"
  npm ci --no-audit --no-fund --loglevel=error
fi

if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then
  step "installing Debian's chromium and chromium-driver"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get install -y chromium chromium-driver >/dev/null \
    || { $sudo apt-get update >/dev/null && $sudo apt-get install -y chromium chromium-driver >/dev/null; }
fi
