// Gemma 2 local attention (softcap 50, sliding window 4096, bf16): decoding
// 1 token against 6000 cached ones (the kv range is split across threads),
// batch 2, checked against the reference.
#include "check_against_reference.h"
#include "gemma2_local.h"

int main() {
  return example::run(gemma2_local, gemma2_local_last_error, ATTNC_EXAMPLES_DIR "/gemma2_local.attn", "gemma2_local",
                      2, 1, 6000);
}
