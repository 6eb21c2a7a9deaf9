#!/usr/bin/env bash
# `attnc tune` on the benchmark shapes of docs/performance.md: the tuned
# schedule against the default and Halide's autoschedulers, measured in one
# run per shape; writes the "Tuning (x86)" section of docs/performance.md.
# Tunes into a scratch database (never the user's). Not part of ctest.
#   scripts/bench-tune.sh [BUILD_DIR] [BUDGET_SECONDS]   (default: build, 60)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
budget=${2:-60}
attnc="$build/driver/attnc"
[ -x "$attnc" ] || { echo "build attnc first: cmake --build $build" >&2; exit 2; }
out="$build/bench-tune"
rm -rf "$out"
mkdir -p "$out"
tune() {  # spec args...
  local spec=$1; shift
  echo "== attnc tune tests/performance/$spec $* --budget $budget" >&2
  "$attnc" tune "tests/performance/$spec" "$@" --budget "$budget" --db "$out/db.json" --summary "$out/summary.jsonl" \
    --plot "$out/$(basename "$spec" .attn)-$(echo "$*" | tr -c 'a-z0-9' _).svg" | tee -a "$out/tune.log"
}
tune mha_f32.attn         --seq-q 2048 --seq-kv 2048
tune mha_f32_causal.attn  --seq-q 2048 --seq-kv 2048
tune gqa_bf16_causal.attn --seq-q 4096 --seq-kv 4096
tune gqa_bf16_decode.attn --seq-q 1 --seq-kv 8192 --batch 4
python3 scripts/performance_md.py --tune-section "$out/summary.jsonl"
