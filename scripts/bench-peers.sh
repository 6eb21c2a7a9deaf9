#!/usr/bin/env bash
# attnc against what a CPU user gets from PyTorch: F.scaled_dot_product_attention (its CPU flash-attention
# kernel) and FlexAttention compiled by inductor, on the four cases of the x86 bars (docs/performance.md),
# same shapes, same threads, interleaved in rounds (attnc, SDPA, Flex, then the next case), best of the rounds.
# attnc's runs measure the physical roofs (FMA peak, streaming read) in the same process; the peers' ratios use
# the best roofs of the run. Rewrites the "x86 against PyTorch" section of docs/performance.md.
# Optional, never in CI: it installs PyTorch 2.15 from PyPI into a venv under $PEERS_DIR
# (default ~/.cache/attnc-peers; about 1 GB) on first use.
#   scripts/bench-peers.sh [BUILD_DIR] [ROUNDS] [THREADS]     (defaults: build 3 nproc)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
rounds=${2:-3}
threads=${3:-$(nproc)}
attnc="$build/driver/attnc"
[ -x "$attnc" ] || { echo "build attnc first: cmake --build $build" >&2; exit 2; }
peers=${PEERS_DIR:-$HOME/.cache/attnc-peers}
scripts/peers/setup-torch.sh "$peers"
py="$peers/venv/bin/python"
unset OPENBLAS_CORETYPE OPENBLAS_L2_SIZE
out="$build/bench-peers"
rm -rf "$out"
mkdir -p "$out"
# case -> attnc bench arguments (tests/performance specs; the torch side is scripts/peers/torch_attn_bench.py)
declare -A args=(
  [A]="tests/performance/mha_f32.attn --seq-q 2048 --seq-kv 2048"
  [B]="tests/performance/mha_f32_causal.attn --seq-q 2048 --seq-kv 2048"
  [C]="tests/performance/gqa_bf16_causal.attn --seq-q 4096 --seq-kv 4096"
  [D]="tests/performance/gqa_bf16_decode.attn --seq-q 1 --seq-kv 8192 --batch 4"
)
# The peers check themselves against a float64 reference once, on a small shape, before timing.
for c in A B C D; do
  for p in sdpa flex $([ $c = D ] && echo sdpa-fold); do
    "$py" scripts/peers/torch_attn_bench.py --peer $p --case $c --threads "$threads" --check-only >&2 || true
  done
done
for r in $(seq "$rounds"); do
  for c in A B C D; do
    echo "== round $r case $c" >&2
    # shellcheck disable=SC2086
    "$attnc" bench ${args[$c]} --threads "$threads" --no-baseline --json > "$out/r${r}_${c}_attnc.json"
    for p in sdpa flex $([ $c = D ] && echo sdpa-fold); do
      "$py" scripts/peers/torch_attn_bench.py --peer $p --case $c --threads "$threads" --no-check --json \
        > "$out/r${r}_${c}_$p.json" || true
    done
  done
done
python3 scripts/performance_md.py --peers-section "$out"
echo "wrote the x86 against PyTorch section of docs/performance.md" >&2
