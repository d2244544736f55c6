#!/usr/bin/env bash
# Builds the embeddable widget into target/site/widget/: the loader (widget.js),
# the WASM bundle with its JS glue, and the stylesheet. The WASM is built with the
# size-optimised `wasm-release` profile and shrunk again with wasm-opt.
set -euo pipefail
cd "$(dirname "$0")/.."
target="${CARGO_TARGET_DIR:-$PWD/target}"
out="target/site/widget"
source scripts/wasm-env.sh
cargo build -p brook-widget --target wasm32-unknown-unknown --profile wasm-release
mkdir -p "$out"
wasm-bindgen --target web --no-typescript --out-dir "$out" --out-name brook_widget \
  "$target/wasm32-unknown-unknown/wasm-release/brook_widget.wasm"
wasm-opt -Oz "${WASM_OPT_FEATURES[@]}" --strip-debug --strip-producers \
  -o "$out/brook_widget_bg.wasm" "$out/brook_widget_bg.wasm"
cp widget/assets/widget.js widget/assets/widget.css "$out/"
# Minify the JS glue and the loader (esbuild from the project-local tools).
if command -v esbuild >/dev/null; then
  for f in brook_widget.js widget.js; do
    esbuild --minify --log-level=warning --allow-overwrite "$out/$f" --outfile="$out/$f"
  done
  esbuild --minify --log-level=warning --allow-overwrite "$out/widget.css" --outfile="$out/widget.css"
fi
# Served as is to browsers that accept gzip (ServeDir's precompressed files),
# so a visitor downloads the gzipped size the budget counts.
total=0
for f in widget.js brook_widget.js brook_widget_bg.wasm widget.css; do
  gzip -9 -k -f -n "$out/$f"
  n=$(wc -c < "$out/$f.gz")
  total=$((total + n))
done
budget=60000
echo "widget: $total bytes gzipped in all (budget $budget)"
if [ "$total" -gt "$budget" ]; then
  echo "the widget is over its size budget" >&2
  exit 1
fi
