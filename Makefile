# Confab — the two commands are `make dev` and `make test`. See README.md.
SHELL := /bin/bash
.SHELLFLAGS := -o pipefail -c
.DEFAULT_GOAL := dev

ROOT := $(abspath .)
TOOLS ?= $(or $(CONFAB_TOOLS),$(or $(XDG_CACHE_HOME),$(HOME)/.cache)/confab/tools)
WASM_BINDGEN_VERSION := $(shell sed -n 's/^wasm-bindgen = "=\(.*\)"$$/\1/p' Cargo.toml)
WORKER_BUILD_VERSION := $(shell sed -n 's/^worker = "=\(.*\)"$$/\1/p' Cargo.toml)
WASM_BINDGEN := $(TOOLS)/wasm-bindgen-cli-$(WASM_BINDGEN_VERSION)/bin/wasm-bindgen
WORKER_BUILD := $(TOOLS)/worker-build-$(WORKER_BUILD_VERSION)/bin/worker-build
# One Cargo target dir per user, shared by every clone: a fresh clone rebuilds only
# Confab's own crates, not its dependencies.
export CARGO_TARGET_DIR ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/confab/target
# The edge worker builds in a target dir of its own, so it need not wait for the client
# wasm's build to release Cargo's lock on the shared one.
EDGE_TARGET_DIR ?= $(CARGO_TARGET_DIR)-edge
export PATH := $(dir $(WASM_BINDGEN)):$(ROOT)/node_modules/.bin:$(PATH)
WASM_OUT := $(CARGO_TARGET_DIR)/wasm32-unknown-unknown/release

PORT ?= 8787
CORE_SRC := Cargo.toml Cargo.lock $(shell find core -name '*.rs' -o -name Cargo.toml)
WASM_SRC := $(CORE_SRC) $(shell find wasm/src -name '*.rs') wasm/src/types.gen.ts wasm/Cargo.toml
EDGE_SRC := $(CORE_SRC) $(shell find edge/src -name '*.rs') edge/Cargo.toml edge/openapi.json
NPM_SRC := $(wildcard npm/src/*.ts) npm/package.json npm/tsconfig.json
DEMO_SRC := $(shell find demo -path demo/dist -prune -o -type f -print 2>/dev/null)

.PHONY: dev test setup build build-parts wasm npm-build demo-build edge-build check types \
        test-rust test-wasm-node test-wasm-browser test-js bench fuzz flake-check ci-count clean

## setup: install whatever is missing (pinned tools, npm packages, wasm target, chromium)
setup:
	@scripts/setup.sh

## build: the npm package (wasm + TypeScript), the demo and the edge worker. The client
## chain and the edge build side by side: each is mostly one single-threaded LTO link
## and wasm-opt pass, so two cores halve the wait.
build: setup
	@$(MAKE) --no-print-directory -j2 --output-sync=target build-parts

build-parts: npm-build demo-build edge-build

npm/wasm/confab_wasm.js: $(WASM_SRC)
	cargo build --release -p confab-wasm --target wasm32-unknown-unknown
	$(WASM_BINDGEN) --target web --remove-name-section --remove-producers-section \
	  --out-dir npm/wasm $(WASM_OUT)/confab_wasm.wasm
	@printf 'client wasm: %s bytes raw, %s bytes gzip\n' \
	  "$$(wc -c < npm/wasm/confab_wasm_bg.wasm)" "$$(gzip -9 -c npm/wasm/confab_wasm_bg.wasm | wc -c)"

wasm: npm/wasm/confab_wasm.js

npm/dist/index.js: npm/wasm/confab_wasm.js $(NPM_SRC)
	cd npm && tsc -p tsconfig.json
	@touch $@

npm-build: npm/dist/index.js

demo/dist/index.html: npm/dist/index.js $(DEMO_SRC)
	cd demo && vite build --logLevel warn

demo-build: demo/dist/index.html

edge/build/worker/shim.mjs: $(EDGE_SRC)
	cd edge && CARGO_TARGET_DIR=$(EDGE_TARGET_DIR) WASM_BINDGEN_BIN=$(WASM_BINDGEN) \
	  WASM_OPT_BIN=$(ROOT)/node_modules/binaryen/bin/wasm-opt \
	  ESBUILD_BIN=$(ROOT)/node_modules/.bin/esbuild \
	  $(WORKER_BUILD) --release
	@touch $@

edge-build: edge/build/worker/shim.mjs

## dev: set up, build, and serve the edge with the demo at http://127.0.0.1:$(PORT)/
dev: build
	@PORT=$(PORT) scripts/dev.sh

## test: set up, build, lint, and run every suite
test: build check test-rust test-wasm-node test-wasm-browser test-js
	@echo "all suites passed"

## check: formatting, clippy (native and wasm32), TypeScript
check: setup
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings
	cargo clippy -p confab-core --features ts --all-targets -- -D warnings
	cargo clippy --workspace --target wasm32-unknown-unknown -- -D warnings
	cargo clippy -p confab-wasm --target wasm32-unknown-unknown --tests -- -D warnings
	cd npm && tsc -p tsconfig.json --noEmit
	cd demo && tsc -p tsconfig.json --noEmit
	tsc -p tests/tsconfig.json --noEmit

## test-rust: every native test, and wasm/src/types.gen.ts against core's Rust types
test-rust: setup
	cargo test --workspace
	cargo test -p confab-core --features ts --test typescript

## types: regenerate wasm/src/types.gen.ts (the TypeScript of core's types) with ts-rs
types:
	CONFAB_BLESS=1 cargo test -p confab-core --features ts --test typescript

WASM_TEST_ENV := CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner

test-wasm-node: setup
	@mkdir -p tests/artifacts
	$(WASM_TEST_ENV) WASM_BINDGEN_TEST_ONLY_NODE=1 \
	  cargo test -p confab-wasm --target wasm32-unknown-unknown --test room 2>&1 | tee tests/artifacts/wasm-node.log
	@scripts/assert-ran.sh tests/artifacts/wasm-node.log node

test-wasm-browser: setup
	@mkdir -p tests/artifacts
	$(WASM_TEST_ENV) WASM_BINDGEN_USE_BROWSER=1 CHROMEDRIVER=/usr/bin/chromedriver \
	  cargo test -p confab-wasm --target wasm32-unknown-unknown --test room 2>&1 | tee tests/artifacts/wasm-browser.log
	@scripts/assert-ran.sh tests/artifacts/wasm-browser.log chrome

## test-js: edge, interop, README and end-to-end suites against the built worker
test-js: build
	node --test --test-concurrency=1 --test-timeout=180000 tests/

## bench: the benchmark suite side by side with Yjs, Loro and Automerge (slow; not part
## of `make test`); writes tests/bench/RESULTS.md. `make bench ARGS=local` runs one scenario.
bench: build
	@test -d ../shared/bench-data || test -n "$$CONFAB_BENCH_DATA" || \
	  { echo "error: the benchmark data is missing: put it in ../shared/bench-data or set CONFAB_BENCH_DATA" >&2; exit 1; }
	cd tests/bench && npm ci --no-audit --no-fund --loglevel=error
	node tests/bench/run.mjs $(ARGS)

## flake-check: the JS suites and the Rust suites (fresh proptest cases) FLAKE_RUNS times
## (default 20; slow, not part of `make test`); every failure with a command that runs
## it alone, in tests/artifacts/flake/SUMMARY.md
flake-check: build
	@scripts/flake-check.sh

## ci-count: what CI runs (`CI=true bash .ci/run`) CI_RUNS times in a row (default 20;
## slow) in one fresh clone of HEAD, stopping at the first failure; the runs and their
## times in tests/artifacts/ci-count/SUMMARY.md
ci-count:
	@scripts/ci-count.sh

## fuzz: the long hostile suite (slow; not part of `make test`): every fuzz target in
## fuzz/ for 10 million executions in all (FUZZ_RUNS), crashes kept under fuzz/fixtures/,
## the convergence test's long form (1,000,000 operations) and the durability test's
## (50 kill -9s of the edge with writers running); writes fuzz/RESULTS.md.
fuzz: build
	@scripts/fuzz.sh

clean:
	rm -rf npm/wasm npm/dist demo/dist edge/build
