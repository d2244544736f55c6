# Sourced by the WASM build scripts. Both WASM bundles (the app's hydrate entry
# and the widget) share one target directory and one profile, so they must share
# one RUSTFLAGS too: cargo rebuilds every dependency when the flags change.
#   --cfg erase_components  type-erased Leptos views (what cargo-leptos's
#                           `always-erase-components` sets): a smaller bundle
#   --remap-path-prefix     short paths in the few panic locations that remain
export RUSTFLAGS="--cfg erase_components --remap-path-prefix=$HOME/.cargo/registry/src/= --remap-path-prefix=$PWD/="
# Features every browser Brook supports has; wasm-opt must be told about them.
WASM_OPT_FEATURES=(--enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext
  --enable-mutable-globals --enable-reference-types --enable-multivalue)
