/* Calls the kernel attnc_add_kernel built from tiny.attn: row 0 of a causal
 * attention sees only key 0, so its output is v[0] exactly. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "tiny.h"

static attnc_tensor t4(float *p, int64_t s) {
  attnc_tensor t;
  memset(&t, 0, sizeof t);
  t.data = p, t.dtype = ATTNC_F32, t.ndim = 4;
  t.shape[0] = 1, t.shape[1] = 2, t.shape[2] = s, t.shape[3] = 16;
  t.stride[3] = 1, t.stride[2] = 16, t.stride[1] = s * 16, t.stride[0] = 2 * s * 16;
  return t;
}

int main(void) {
  enum { S = 5 };
  float q[2 * S * 16], k[2 * S * 16], v[2 * S * 16], o[2 * S * 16];
  int i;
  for (i = 0; i < 2 * S * 16; ++i) q[i] = (float)(i % 7) * 0.1f, k[i] = (float)(i % 5) * 0.1f, v[i] = (float)i;
  attnc_tensor tq = t4(q, S), tk = t4(k, S), tv = t4(v, S), to = t4(o, S);
  if (tiny(&tq, &tk, &tv, &to) != ATTNC_OK) {
    fprintf(stderr, "tiny: %s\n", tiny_last_error());
    return 1;
  }
  for (i = 0; i < 16; ++i)
    if (fabsf(o[i] - v[i]) > 1e-5f) {
      fprintf(stderr, "out[0][%d] = %g, want %g\n", i, o[i], v[i]);
      return 1;
    }
  printf("attnc_add_kernel from an installed attnc: ok\n");
  return 0;
}
