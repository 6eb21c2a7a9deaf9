// Two CUDA kernels in one program, run without a GPU: attnc_add_kernel(...
// BACKEND cuda SIMT_EMULATION) compiled llama3_8b.cu and gemma2_local.cu as
// C++ against attnc's SIMT emulator, where a "device pointer" is a host
// pointer and the stream is ignored. On a GPU the same calls take device
// pointers and a cudaStream_t (docs/cuda.md). Checked against the reference:
// a causal GQA prefill, and a decode step over a 600-token cache (split-KV
// over several blocks, then the combine kernel).
#include "check_against_reference.h"
#include "gemma2_local.h"
#include "llama3_8b.h"

namespace {
int llama(const attnc_tensor *q, const attnc_tensor *k, const attnc_tensor *v, attnc_tensor *out) {
  return llama3_8b_cuda(q, k, v, out, nullptr);
}
int gemma(const attnc_tensor *q, const attnc_tensor *k, const attnc_tensor *v, attnc_tensor *out) {
  return gemma2_local_cuda(q, k, v, out, nullptr);
}
}  // namespace

int main() {
  int rc = example::run(llama, llama3_8b_last_error, ATTNC_EXAMPLES_DIR "/llama3_8b.attn", "llama3_8b", 1, 80, 80);
  return rc | example::run(gemma, gemma2_local_last_error, ATTNC_EXAMPLES_DIR "/gemma2_local.attn", "gemma2_local", 2,
                           1, 600);
}
