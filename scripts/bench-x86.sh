#!/usr/bin/env bash
# The x86 performance benchmarks of docs/performance.md, rerun and rewritten.
# Every ratio comes from one `attnc bench` run (kernel and roofs measured
# together). Not part of ctest: minutes long, and numbers, not pass/fail.
#   scripts/bench-x86.sh [BUILD_DIR]      (default: build)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
attnc="$build/driver/attnc"
[ -x "$attnc" ] || { echo "build attnc first: cmake --build $build" >&2; exit 2; }
command -v python3 >/dev/null || apt-get install -y python3
# OpenBLAS picks its AVX2 kernel when these are set; the sgemm baseline should be its best.
unset OPENBLAS_CORETYPE OPENBLAS_L2_SIZE
out="$build/bench-x86"   # the JSON of each run stays here
mkdir -p "$out"
run() {  # name spec args...
  local name=$1 spec=$2; shift 2
  echo "== $name: attnc bench $spec $*" >&2
  "$attnc" bench "tests/performance/$spec" --json "$@" > "$out/$name.json"
}
run mha_f32          mha_f32.attn         --seq-q 2048 --seq-kv 2048
run mha_f32_causal   mha_f32_causal.attn  --seq-q 2048 --seq-kv 2048
run gqa_bf16_causal  gqa_bf16_causal.attn --seq-q 4096 --seq-kv 4096
run gqa_f32_causal   gqa_bf16_causal.attn --seq-q 4096 --seq-kv 4096 --dtype f32 --no-baseline
run decode_bhsd      gqa_bf16_decode.attn --seq-q 1 --seq-kv 8192 --batch 4
run decode_bshd      gqa_bf16_causal.attn --seq-q 1 --seq-kv 8192 --batch 4
run pruned_half      pruned_half.attn     --seq-q 2048 --seq-kv 2048 --no-baseline
run pruned_half_gqa  pruned_half_gqa.attn --seq-q 2048 --seq-kv 2048 --no-baseline
run sparse_quarter   sparse_quarter.attn  --seq-q 4096 --seq-kv 4096 --no-baseline --density 0.25
run topk_eighth      topk_eighth.attn     --seq-q 8192 --seq-kv 8192 --no-baseline
# MLA decode (absorbed) and the dense MHA decode it replaces.
run mla_decode       mla_decode.attn      --seq-q 1 --seq-kv 8192 --batch 4 --no-baseline
run mha_decode_32    mha_decode_32.attn   --seq-q 1 --seq-kv 8192 --batch 4 --no-baseline
# Linformer at 8192, and shorter lengths for its break-even against dense.
for n in 8192 4096 2048 1024; do
  run linformer_256_$n linformer_256.attn --seq-q $n --seq-kv $n --no-baseline
done
run long_prefill     long_causal.attn     --seq-q 131072 --seq-kv 131072 --no-baseline --no-roofs
run long_decode      long_decode.attn     --seq-q 1 --seq-kv 1048576 --no-baseline --no-roofs
python3 scripts/performance_md.py "$out"
echo "wrote docs/performance.md" >&2
