#!/usr/bin/env bash
# Every example's prefill kernel (seq 1024, 2 threads) with its default schedule
# against the same kernel with query tiles of ROWS rows (q = ROWS / group; the
# defaults before issue 11 used 32), interleaved, for ROUNDS rounds: the "no
# regression on any other example" check of a schedule change. Prints one line
# per example and round with the ratio new/old (below 1: the default is faster).
# Not part of ctest (numbers, not pass/fail).
#   scripts/bench-examples-ab.sh [BUILD_DIR] [ROUNDS] [ROWS]    (defaults: build 2 32)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
rounds=${2:-2}
rows=${3:-32}
attnc="$build/driver/attnc"
[ -x "$attnc" ] || { echo "build attnc first: cmake --build $build" >&2; exit 2; }
bench() { "$attnc" bench "$@" --seq-q 1024 --seq-kv 1024 --threads 2 --no-baseline --no-roofs --variant prefill 2>&1; }
for r in $(seq "$rounds"); do
  for f in examples/*.attn; do
    name=$(basename "$f" .attn)
    out=$(bench "$f") || true
    if ! grep -q "^kernel  *[0-9]" <<<"$out"; then
      echo "$r $name: skipped ($(grep -m1 error <<<"$out" || echo no kernel line))"
      continue
    fi
    sched=$(grep -m1 "^kernel " <<<"$out" | sed 's/.*\[\(.*\)\].*/\1/')
    heads=$(grep -m1 "^shape" <<<"$out" | awk '{print $5}')
    kv=$(grep -m1 "^shape" <<<"$out" | sed 's/.*(kv \([0-9]*\)).*/\1/')
    q=$((rows / (heads / kv)))
    [ "$q" -lt 1 ] && q=1
    new=$(grep "^kernel  *[0-9]" <<<"$out" | awk '{print $2}')
    old=$(bench "$f" --schedule "q$q" | grep "^kernel  *[0-9]" | awk '{print $2}')
    echo "$r $name [$sched] default $new ms, q$q $old ms: $(awk -v a="$new" -v b="$old" 'BEGIN { printf "%.3f", a / b }')"
  done
done
