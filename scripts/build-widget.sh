#!/usr/bin/env bash
# Builds the embeddable widget's WASM bundle into target/site/widget/ (placeholder
# until the widget crate exists).
set -euo pipefail
exit 0
