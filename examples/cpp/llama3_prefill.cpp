// Llama 3 8B attention (GQA 32/8, causal, bf16, bshd), compiled at build time
// by attnc_add_kernel: a prefill of 512 tokens, checked against the reference.
#include "check_against_reference.h"
#include "llama3_8b.h"

int main() {
  return example::run(llama3_8b, llama3_8b_last_error, ATTNC_EXAMPLES_DIR "/llama3_8b.attn", "llama3_8b", 1, 512, 512);
}
