/* Calls kernel `same` of tests/robustness/concurrent_emit.sh with the shapes of
 * HEADS heads: exit 0 when the library accepts them and returns ATTNC_OK. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "same.h"

static attnc_tensor t4(float *p, int64_t h, int64_t s, int64_t d) {
  attnc_tensor t;
  memset(&t, 0, sizeof t);
  t.data = p, t.dtype = ATTNC_F32, t.ndim = 4;
  t.shape[0] = 1, t.shape[1] = h, t.shape[2] = s, t.shape[3] = d;
  t.stride[3] = 1, t.stride[2] = d, t.stride[1] = s * d, t.stride[0] = h * s * d;
  return t;
}

int main(void) {
  enum { S = 8, D = 16 };
  static float q[HEADS * S * D], k[HEADS * S * D], v[HEADS * S * D], o[HEADS * S * D];
  attnc_tensor tq = t4(q, HEADS, S, D), tk = t4(k, HEADS, S, D), tv = t4(v, HEADS, S, D), to = t4(o, HEADS, S, D);
  int rc = same(&tq, &tk, &tv, &to);
  if (rc != ATTNC_OK) {
    fprintf(stderr, "same (heads %d): status %d: %s\n", HEADS, rc, same_last_error());
    return 1;
  }
  return 0;
}
