#!/usr/bin/env bash
# Builds attnc and runs its main job on an example: compiles the Llama 3 8B
# spec (GQA 32/8, causal, bf16) into an x86 kernel library, builds a program
# against it (with attnc_add_kernel), runs it against the reference, and
# benchmarks the kernel against the machine's roofs; then compiles the same
# spec for CUDA (sm_90a), builds the .cu with nvcc and runs two CUDA kernels
# through the SIMT emulator against the reference.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bash scripts/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j "$(nproc)" --target attnc llama3_prefill cuda_emulated
spec=${1:-examples/llama3_8b.attn}
echo "== attnc check $spec"
build/driver/attnc check "$spec" && echo "ok"
echo "== attnc $spec -target x86 -o build/example-x86"
build/driver/attnc "$spec" -target x86 -o build/example-x86
ls -l build/example-x86
sed -n '1,20p' build/example-x86/*.h | head -40
echo "== attnc tiles $spec --seq-q 512 --seq-kv 512 --tile-q 64 --tile-kv 128"
build/driver/attnc tiles "$spec" --seq-q 512 --seq-kv 512 --tile-q 64 --tile-kv 128 | head -12
echo "== examples/cpp/llama3_prefill (the kernel built by attnc_add_kernel, checked against the reference)"
build/examples/llama3_prefill
echo "== attnc bench $spec --seq-q 1024 --seq-kv 1024"
(unset OPENBLAS_CORETYPE OPENBLAS_L2_SIZE; build/driver/attnc bench "$spec" --seq-q 1024 --seq-kv 1024)
echo "== attnc $spec -target cuda --arch sm_90a -o build/example-cuda"
build/driver/attnc "$spec" -target cuda --arch sm_90a -o build/example-cuda
ls -l build/example-cuda
nvcc=$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)
if [ -x "$nvcc" ]; then
  name=$(basename "$spec" .attn)
  echo "== nvcc -arch=sm_90a -Xptxas -v build/example-cuda/$name.cu"
  "$nvcc" -std=c++17 -O3 -arch=sm_90a -Xptxas -v -c "build/example-cuda/$name.cu" -I build/example-cuda \
    -o build/example-cuda/kernel.o 2>&1 | grep -E 'Compiling entry|registers|spill'
fi
echo "== examples/cpp/cuda_emulated (two CUDA kernels on the SIMT emulator, checked against the reference)"
build/examples/cuda_emulated
