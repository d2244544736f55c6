#!/usr/bin/env bash
# Builds the release site into target/site and the binary into target/release/brook,
# with the same steps cargo-leptos runs (cargo, wasm-bindgen, wasm-opt), so a
# newcomer's `make run` does not first compile cargo-leptos (about 20 minutes on
# two cores). `make dev` still uses cargo-leptos for its watch loop.
#
# Output (what the server's HydrationScripts expects, leptos 0.8 without
# LEPTOS_OUTPUT_NAME at compile time): pkg/brook.js, pkg/brook_bg.wasm, pkg/brook.css.
set -euo pipefail
cd "$(dirname "$0")/.."
target="${CARGO_TARGET_DIR:-$PWD/target}"
site=target/site
pkg="$site/pkg"

(
  source scripts/wasm-env.sh
  cargo build -p brook-frontend --lib --target wasm32-unknown-unknown --profile wasm-release
  mkdir -p "$pkg"
  wasm-bindgen --target web --no-typescript --out-dir "$pkg" --out-name brook \
    "$target/wasm32-unknown-unknown/wasm-release/brook_frontend.wasm"
  wasm-opt -Oz "${WASM_OPT_FEATURES[@]}" --strip-debug --strip-producers \
    -o "$pkg/brook_bg.wasm" "$pkg/brook_bg.wasm"
)
esbuild --minify --log-level=warning --allow-overwrite "$pkg/brook.js" --outfile="$pkg/brook.js"
esbuild --minify --log-level=warning style/main.css --outfile="$pkg/brook.css"

cargo build -p brook-server --bin brook --release
# The contract's layout: the binary at target/release/brook even with an outside cache.
if [ "$target" != "$PWD/target" ]; then
  mkdir -p target/release && cp -f "$target/release/brook" target/release/brook
fi
