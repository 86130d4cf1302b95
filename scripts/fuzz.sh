#!/usr/bin/env bash
# Fuzz the loaders of untrusted bytes with cargo-fuzz (libFuzzer): the one-file index loader,
# the audio front end, the model loader, and the published index's loaders (manifest, search
# parts with deltas, metadata shards, id shards, range-fetched rows, the quantiser).
#   scripts/fuzz.sh [SECONDS_PER_TARGET [TARGET...]]   (default: 30 s each for every target)
#   scripts/fuzz.sh --totals    executions per target summed over the kept logs
# cargo-fuzz is installed once into $SIMSONG_CACHE/cargo-fuzz. On a stable toolchain the
# sanitizer flags need RUSTC_BOOTSTRAP=1 (the sanitizer runtimes ship with stable rustc).
# Corpora grow in $SIMSONG_CACHE/fuzz-corpus/<target>; crashes land in fuzz/artifacts/<target>;
# each session's log is kept as $SIMSONG_CACHE/fuzz-logs/<target>-<date>.log (sessions may overlap).
# -O: release semantics like the shipped build (integer overflow wraps instead of panicking);
# without it, symphonia's MP4 `stts` parser panics on an overflowing sum
# (fuzz/known/symphonia-isomp4-stts-overflow.bin), which release builds do not.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"
LOGS="$SIMSONG_CACHE/fuzz-logs"
mkdir -p "$LOGS"
if [ "${1:-}" = --totals ]; then
    # The count a session prints at its end, or (interrupted) its last progress line.
    shopt -s nullglob
    for log in "$LOGS"/*.log; do
        target=$(basename "$log" .log)
        runs=$(grep -E '^stat::number_of_executed_units' "$log" | awk '{print $2}' | tail -n 1 || true)
        [ -n "$runs" ] || runs=$(grep -oE '^#[0-9]+' "$log" | tail -n 1 | tr -d '#' || true)
        echo "${target%-*-*} ${runs:-0}"
    done | awk '{ n[$1] += $2; s[$1]++ } END { for (t in n) printf "%-16s %10d executions in %d sessions\n", t, n[t], s[t] }' | sort
    exit 0
fi
SECONDS_PER_TARGET=${1:-30}
FUZZ_ROOT="$SIMSONG_CACHE/cargo-fuzz"
if ! [ -x "$FUZZ_ROOT/bin/cargo-fuzz" ]; then
    step "installing cargo-fuzz into $FUZZ_ROOT (once)"
    cargo install cargo-fuzz --version 0.13.2 --root "$FUZZ_ROOT"
fi
export PATH="$FUZZ_ROOT/bin:$PATH" RUSTC_BOOTSTRAP=1
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(index_loader audio_decode model_loader parts_manifest parts_codes parts_filters parts_meta parts_ids parts_neighbours parts_rows parts_quantizer fingerprint)
for target in "${targets[@]}"; do
    corpus="$SIMSONG_CACHE/fuzz-corpus/$target"
    mkdir -p "$corpus"
    step "fuzzing $target for ${SECONDS_PER_TARGET} s"
    log="$LOGS/$target-$(date +%Y%m%d-%H%M%S).log"
    set +e
    cargo fuzz run -O --target-dir "$SIMSONG_CACHE/fuzz-target" -s address "$target" \
        "$corpus" "fuzz/seeds/$target" -- \
        -max_total_time="$SECONDS_PER_TARGET" -rss_limit_mb=2048 -timeout=10 -max_len=262144 \
        -print_final_stats=1 >"$log" 2>&1
    rc=$?
    set -e
    grep -E "^stat::number_of_executed_units|^stat::peak_rss_mb|^#[0-9]+ +DONE" "$log" || true
    if [ $rc -ne 0 ]; then
        tail -n 40 "$log" >&2
        echo "fuzz: $target failed (exit $rc); inputs that crash are in fuzz/artifacts/$target" >&2
        exit 1
    fi
done
