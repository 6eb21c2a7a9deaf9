#!/usr/bin/env bash
# Builds attnc and runs its main job on an example: checks the Llama 3 8B spec,
# lowers it to the `attn` dialect (printed, with the mask analysis on it) and
# shows the causal mask's tile classification for a 512-token prompt.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bash scripts/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j "$(nproc)" --target attnc
spec=${1:-examples/llama3_8b.attn}
echo "== attnc check $spec"
build/driver/attnc check "$spec" && echo "ok"
echo "== attnc $spec -target mlir"
build/driver/attnc "$spec" -target mlir
echo "== attnc tiles $spec --seq-q 512 --seq-kv 512"
build/driver/attnc tiles "$spec" --seq-q 512 --seq-kv 512
