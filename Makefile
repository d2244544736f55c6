# Brook's two commands: `make run` (install what is missing, build, serve) and
# `make test` (everything CI runs). See README.md.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c

ROOT := $(CURDIR)
# A build cache outside the clone is honoured (CI sets one); by default it is ./target.
export CARGO_TARGET_DIR ?= $(ROOT)/target
TOOLS := $(ROOT)/.tools
# wasm-opt from npm binaryen: Debian's binaryen 108 breaks hydration.
export PATH := $(TOOLS)/node_modules/.bin:$(HOME)/.cargo/bin:$(PATH)

CARGO_LEPTOS_VERSION := 0.3.10
WASM_BINDGEN_VERSION := 0.2.130
BINARYEN_VERSION := 132.0.0
ESBUILD_VERSION := 0.28.2
CARGO_MACHETE_VERSION := 0.9.2
CARGO_DENY_VERSION := 0.20.2
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

# What `make run` serves: SQLite and the demo model unless told otherwise. Not
# exported: the test suite must not inherit them.
RUN_DATABASE_URL := $(or $(DATABASE_URL),sqlite://brook.db)
RUN_PROVIDER := $(or $(BROOK_PROVIDER),$(if $(or $(OPENAI_API_KEY),$(OPENAI_BASE_URL)),openai,demo))

.PHONY: run run-cluster build dev test tools test-deps rust-tests lint lint-tools e2e site widget bench bench-full bench-peers bench-peers-install bench-build bench-engine bench-render

## run: install what is missing, build the release site and serve http://127.0.0.1:3000
run: build
	DATABASE_URL='$(RUN_DATABASE_URL)' BROOK_PROVIDER='$(RUN_PROVIDER)' LEPTOS_SITE_ROOT=target/site ./target/release/brook serve

## run-cluster: two release nodes (ports 3001 and 3002) as one service on the
## PostgreSQL and Redis running here (a fresh database, a unique Redis prefix),
## behind a round-robin proxy on http://127.0.0.1:3000 (no sticky sessions).
## See scripts/run-cluster.sh for its settings and docs/deployment.md.
run-cluster: build
	cargo build --release -p brook-testkit --bin round-robin
	BROOK_PROVIDER='$(RUN_PROVIDER)' scripts/run-cluster.sh

## build: the release binary (target/release/brook) and site (target/site)
build: tools site widget

site:
	@scripts/build-site.sh
	@# Precompressed copies (brotli and gzip, Node's zlib: works offline): the
	@# server sends them to browsers that accept them.
	@node scripts/precompress.mjs $$(find target/site/pkg -type f \( -name '*.wasm' -o -name '*.js' -o -name '*.css' \))

widget:
	@scripts/build-widget.sh
	@node scripts/precompress.mjs $$(find target/site/widget -type f \( -name '*.wasm' -o -name '*.js' -o -name '*.css' \))

## dev: rebuild and reload on change (cargo-leptos, installed on first use).
## cargo-leptos passes the LEPTOS_* variables (site root, address, reload
## port, hashed names) to the server; the page reloads itself after a rebuild.
dev: tools
	@cargo leptos --version 2>/dev/null | grep -q "$(CARGO_LEPTOS_VERSION)" || \
		cargo install cargo-leptos --locked --version $(CARGO_LEPTOS_VERSION) --features no_downloads
	DATABASE_URL='$(RUN_DATABASE_URL)' BROOK_PROVIDER='$(RUN_PROVIDER)' cargo leptos watch

## test: formatting, lints, Rust tests and the browser tests against the release build
test: tools test-deps lint rust-tests build e2e

lint: lint-tools
	cargo fmt --all -- --check
	cargo clippy --all-targets -- -D warnings
	cargo clippy -p brook-frontend -p brook-widget -p brook-widget-md --target wasm32-unknown-unknown -- -D warnings
	cargo machete
	@# Advisories need the advisory database, which cannot be fetched here: see deny.toml.
	cargo deny check --hide-inclusion-graph bans licenses sources

## lint-tools: cargo-machete and cargo-deny, each only if missing
lint-tools:
	@cargo machete --version 2>/dev/null | grep -q "$(CARGO_MACHETE_VERSION)" || \
		cargo install --locked cargo-machete --version $(CARGO_MACHETE_VERSION)
	@cargo deny --version 2>/dev/null | grep -q "$(CARGO_DENY_VERSION)" || \
		cargo install --locked cargo-deny --version $(CARGO_DENY_VERSION)

rust-tests: test-deps
	cargo test --all-targets

e2e: test-deps
	cd end2end && npx playwright test

## test-deps: Chromium, the end-to-end npm packages (Playwright, the AI SDK,
## OpenAI's client), and Python's websockets (the seed's Python client) and
## openai (the OpenAI-compatible API's tests), each only if missing
test-deps:
	@command -v chromium >/dev/null || { echo "installing chromium"; $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq chromium; }
	@[ -d end2end/node_modules/@playwright/test ] && [ -d end2end/node_modules/openai ] && \
		[ -d end2end/node_modules/@ai-sdk/openai-compatible ] || (cd end2end && npm ci --no-audit --no-fund)
	@python3 -c "import websockets" 2>/dev/null || python3 -m pip install --quiet websockets
	@python3 -c "import openai" 2>/dev/null || python3 -m pip install --quiet openai

## bench: brook-bench's quick profile, then the memory table (about 5 minutes): a release brook against
## testkit's fake upstream, direct vs WebSocket vs SSE; prints tables, writes
## bench-results/results.json and chart.svg, asserts nothing. With
## BENCH_DATABASE_URL (an empty PostgreSQL database) the ack latency runs on it too.
BENCH := $(CARGO_TARGET_DIR)/release/brook-bench --brook $(CARGO_TARGET_DIR)/release/brook --site target/site
PEERS := $(ROOT)/.bench-peers
LITELLM_VERSION := 1.108.7
bench: bench-build
	$(BENCH) --profile quick
	@[ -z "$${BENCH_DATABASE_URL:-}" ] || $(BENCH) --profile quick --only ack --database-url "$$BENCH_DATABASE_URL" --out bench-results/postgres
	@# Issue 18's memory table: login and stream bursts, RSS 30 s after each (about 3 minutes).
	cargo bench -p brook-server --bench memory
	@echo "The browser's rendering cost per token (issue 12) is measured apart: make bench-render"

## bench-full: the issue's sizes (5,000 streams, 500 requests/s, 19,000 idle connections)
bench-full: bench-build
	$(BENCH) --profile full --out bench-results/full

## bench-peers: installs the LiteLLM proxy (PyPI) and a Node AI SDK streamText relay
## (npm) into .bench-peers/, then measures them and Brook in one run
bench-peers: bench-build bench-peers-install
	$(BENCH) --profile quick --peers $(PEERS) --only first-token,stream --out bench-results/peers

bench-peers-install:
	@[ -x $(PEERS)/venv/bin/litellm ] || { python3 -m venv $(PEERS)/venv && \
		$(PEERS)/venv/bin/pip install --quiet 'litellm[proxy]==$(LITELLM_VERSION)'; } || \
		echo "bench-peers: LiteLLM did not install (offline?); it is left out of the run"
	@mkdir -p $(PEERS)/relay && cp bench/peers/package.json bench/peers/package-lock.json bench/peers/relay.mjs $(PEERS)/relay/
	@[ -d $(PEERS)/relay/node_modules/ai ] || (cd $(PEERS)/relay && npm ci --no-audit --no-fund --silent) || \
		echo "bench-peers: the AI SDK relay did not install (offline?); it is left out of the run"

# Two invocations: `--bin` applies to every package named, so one command would
# build no brook-bench binary at all.
bench-build:
	cargo build --release -p brook-server --bin brook -p brook-testkit --bin fake-upstream
	cargo build --release -p brook-bench

## bench-render: issue 12's rendering benchmark, not part of `make test`: the release brook
## in front of testkit's fake upstream, streaming markdown replies of 20 KB, 100 KB and 1 MiB
## in 4-character tokens to the app's chat page and to the widget in headless Chromium; prints
## the main thread's busy time per token (DevTools TaskDuration) and writes
## bench-results/render-<label>.json; asserts nothing. A reply still streaming after
## BENCH_RENDER_LIMIT_S (300) seconds is given up. Also: BENCH_RENDER_LABEL, BENCH_RENDER_SIZES,
## BENCH_RENDER_SURFACES (app,widget; `module`: the widget's markdown module alone, no server,
## from BENCH_WIDGET_MD_DIR), BROOK_E2E_PORT.
bench-render: build test-deps
	cd end2end && npx playwright test --config bench/playwright.config.ts

## bench-engine: the engine's speed and memory figures (cargo benches; prints numbers, asserts nothing)
bench-engine:
	cargo bench -p brook-markdown --bench render
	cargo bench -p brook-server --bench engine
	cargo bench -p brook-server --bench memory

## tools: each step only if missing
tools:
	@rustup target list --installed | grep -qx wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown
	@wasm-bindgen --version 2>/dev/null | grep -q "$(WASM_BINDGEN_VERSION)" || \
		cargo install wasm-bindgen-cli --locked --version $(WASM_BINDGEN_VERSION) || \
		cargo install wasm-bindgen-cli --version $(WASM_BINDGEN_VERSION)
	@[ -x "$(TOOLS)/node_modules/.bin/wasm-opt" ] && [ -x "$(TOOLS)/node_modules/.bin/esbuild" ] || { mkdir -p "$(TOOLS)" && \
		npm install --prefix "$(TOOLS)" --no-audit --no-fund --no-save binaryen@$(BINARYEN_VERSION) esbuild@$(ESBUILD_VERSION) >/dev/null; }
