#!/usr/bin/env bash
# Builds the embeddable widget into target/site/widget/: the loader (widget.js),
# the WASM bundle with its JS glue, the stylesheet, and the markdown renderer's
# own WASM module (loaded when a visitor opens the widget). The WASM is built with
# the size-optimised `wasm-release` profile and shrunk again with wasm-opt.
set -euo pipefail
cd "$(dirname "$0")/.."
target="${CARGO_TARGET_DIR:-$PWD/target}"
out="target/site/widget"
source scripts/wasm-env.sh
cargo build -p brook-widget -p brook-widget-md --target wasm32-unknown-unknown --profile wasm-release
mkdir -p "$out"
for m in brook_widget brook_widget_md; do
  wasm-bindgen --target web --no-typescript --out-dir "$out" --out-name "$m" \
    "$target/wasm32-unknown-unknown/wasm-release/$m.wasm"
  wasm-opt -Oz "${WASM_OPT_FEATURES[@]}" --strip-debug --strip-producers \
    -o "$out/${m}_bg.wasm" "$out/${m}_bg.wasm"
done
cp widget/assets/widget.js widget/assets/widget.css "$out/"
# Minify the JS glue and the loader (esbuild from the project-local tools).
if command -v esbuild >/dev/null; then
  for f in brook_widget.js brook_widget_md.js widget.js; do
    esbuild --minify --log-level=warning --allow-overwrite "$out/$f" --outfile="$out/$f"
  done
  esbuild --minify --log-level=warning --allow-overwrite "$out/widget.css" --outfile="$out/widget.css"
fi
# Served as is to browsers that accept gzip (ServeDir's precompressed files),
# so a visitor downloads the gzipped size the budget counts.
gz() {
  gzip -9 -k -f -n "$out/$1"
  wc -c < "$out/$1.gz"
}
# Before a visitor opens the widget: the loader, the widget module and the CSS.
first=0
for f in widget.js brook_widget.js brook_widget_bg.wasm widget.css; do
  first=$((first + $(gz "$f")))
done
# On opening: the markdown renderer module.
total=$first
for f in brook_widget_md.js brook_widget_md_bg.wasm; do
  total=$((total + $(gz "$f")))
done
budget=60000
all_budget=120000
echo "widget: $first bytes gzipped before it is opened (budget $budget), $total in all (budget $all_budget)"
if [ "$first" -gt "$budget" ] || [ "$total" -gt "$all_budget" ]; then
  echo "the widget is over its size budget" >&2
  exit 1
fi
