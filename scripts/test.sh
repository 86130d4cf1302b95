#!/usr/bin/env bash
# Every test: formatting, lints (Rust and JS), native tests, wasm tests in Node and headless Chromium, and the
# JS tests. This is what `npm test` and CI run.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"
bash scripts/setup.sh --browser

step "cargo fmt --check"
cargo fmt --all -- --check

step "JS lint and format (Biome, biome.json: its recommended rules and its formatter over www/, demo/, tests/, bench/, scripts/; `npx biome format --write` fixes the format)"
npx --no-install biome check --error-on-warnings

step "clippy (native with the CLI, the Python module, and wasm32), warnings are errors"
cargo clippy --release --features cli --all-targets -- -D warnings
cargo clippy --release --features python --lib -- -D warnings
cargo clippy --release --target wasm32-unknown-unknown --all-targets -- -D warnings
# The search module: the crate without its analysis pipeline.
cargo clippy --release --target wasm32-unknown-unknown --lib --no-default-features --features search-bindings -- -D warnings

step "native tests"
cargo test --release --features cli

bash scripts/build-wasm.sh

step "wasm tests in Node"
cargo test --release --target wasm32-unknown-unknown --test wasm_parity

step "wasm tests in headless Chromium"
WASM_BINDGEN_USE_BROWSER=1 cargo test --release --target wasm32-unknown-unknown --test wasm_parity

step "JS tests (node --test)"
cargo build --release --features cli --bin simsong
SIMSONG_BIN="$CARGO_TARGET_DIR/release/simsong" node --test tests/js/

step "Python wheel: build, and its tests with the distributed job on a local Dask cluster"
py=$(scripts/pyenv.sh python/requirements.txt | tail -n1)
scripts/build-wheel.sh >/dev/null
SIMSONG_BIN="$CARGO_TARGET_DIR/release/simsong" "$py" -m pytest -q tests/python

bash scripts/test-e2e.sh

step "fuzz smoke run (cargo-fuzz, 15 s per target; scripts/fuzz.sh 600 for a real session)"
bash scripts/fuzz.sh 15
