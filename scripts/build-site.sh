#!/usr/bin/env bash
# Builds the release site into target/site and the binary into target/release/brook,
# with the same steps cargo-leptos runs (cargo, wasm-bindgen, wasm-opt), so a
# newcomer's `make run` does not first compile cargo-leptos (about 20 minutes on
# two cores). `make dev` still uses cargo-leptos for its watch loop.
#
# Output: content-hashed names, as cargo-leptos's `hash-files` writes them, so a
# deploy never leaves a browser on an old bundle (issue 15): pkg/brook.<h>.js,
# pkg/brook.<h>.wasm, pkg/brook.<h>.css, and `hash.txt` (`js: <h>` lines) beside
# the binary, where Leptos 0.8's HydrationScripts and HashedStylesheet read it.
# The server serves hashed names `immutable` for a year (server/src/assets.rs).
set -euo pipefail
cd "$(dirname "$0")/.."
target="${CARGO_TARGET_DIR:-$PWD/target}"
site=target/site
pkg="$site/pkg"

# Earlier builds' files: plain and hashed names alike.
rm -f "$pkg"/brook.* "$pkg"/brook_bg.*
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

# Content hashes (the first 16 hex digits of SHA-256), then the hashed names.
hash() { sha256sum "$1" | cut -c1-16; }
js=$(hash "$pkg/brook.js"); wasm=$(hash "$pkg/brook_bg.wasm"); css=$(hash "$pkg/brook.css")
mv "$pkg/brook.js" "$pkg/brook.$js.js"
mv "$pkg/brook_bg.wasm" "$pkg/brook.$wasm.wasm"
mv "$pkg/brook.css" "$pkg/brook.$css.css"
printf 'js: %s\nwasm: %s\ncss: %s\n' "$js" "$wasm" "$css" > "$site/hash.txt"

cargo build -p brook-server --bin brook --release
cp -f "$site/hash.txt" "$target/release/hash.txt"
# The contract's layout: the binary at target/release/brook even with an outside cache.
if [ "$target" != "$PWD/target" ]; then
  mkdir -p target/release && cp -f "$target/release/brook" target/release/brook
  cp -f "$site/hash.txt" target/release/hash.txt
fi
