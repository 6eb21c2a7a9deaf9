/* A plain C program linking two generated kernels: both run, and a bad
 * argument gets its status and message. Exit status 0 when all is well. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bahdanau.h"
#include "t5_bias.h"

static attnc_tensor tensor4(void *data, int32_t dtype, int64_t a, int64_t b, int64_t c, int64_t d) {
  attnc_tensor t;
  memset(&t, 0, sizeof t);
  t.data = data;
  t.dtype = dtype;
  t.ndim = 4;
  t.shape[0] = a, t.shape[1] = b, t.shape[2] = c, t.shape[3] = d;
  t.stride[3] = 1, t.stride[2] = d, t.stride[1] = c * d, t.stride[0] = b * c * d;
  return t;
}

static void fill(float *p, size_t n, unsigned seed) {
  size_t i;
  for (i = 0; i < n; ++i) {
    seed = seed * 1103515245u + 12345u;
    p[i] = (float)((seed >> 8) & 0xffff) / 65536.0f - 0.5f;
  }
}

int main(void) {
  /* t5_bias: f32, heads 8, head_dim 64, input rel_bias [8, 32]. */
  enum { B = 2, S = 24, H = 8, D = 64 };
  float *q = malloc(sizeof(float) * B * H * S * D), *k = malloc(sizeof(float) * B * H * S * D),
        *v = malloc(sizeof(float) * B * H * S * D), *o = malloc(sizeof(float) * B * H * S * D), bias[8 * 32];
  attnc_tensor tq = tensor4(q, ATTNC_F32, B, H, S, D), tk = tensor4(k, ATTNC_F32, B, H, S, D),
               tv = tensor4(v, ATTNC_F32, B, H, S, D), to = tensor4(o, ATTNC_F32, B, H, S, D), tb;
  size_t i;
  int rc;
  fill(q, B * H * S * D, 1), fill(k, B * H * S * D, 2), fill(v, B * H * S * D, 3), fill(bias, 8 * 32, 4);
  memset(&tb, 0, sizeof tb);
  tb.data = bias, tb.dtype = ATTNC_F32, tb.ndim = 2, tb.shape[0] = 8, tb.shape[1] = 32, tb.stride[0] = 32,
  tb.stride[1] = 1;
  rc = t5_bias(&tq, &tk, &tv, &tb, &to);
  if (rc != ATTNC_OK) {
    fprintf(stderr, "t5_bias failed: %s\n", t5_bias_last_error());
    return 1;
  }
  for (i = 0; i < (size_t)B * H * S * D; ++i)
    if (!isfinite(o[i]) || fabsf(o[i]) > 0.5f) { /* a convex combination of values in [-0.5, 0.5] */
      fprintf(stderr, "t5_bias: out[%zu] = %g\n", i, o[i]);
      return 1;
    }
  /* bahdanau: f32, heads 1, head_dim 256, additive units 128. */
  {
    enum { S2 = 5, D2 = 256, U = 128 };
    float *q2 = malloc(sizeof(float) * S2 * D2), *k2 = malloc(sizeof(float) * S2 * D2),
          *v2 = malloc(sizeof(float) * S2 * D2), *o2 = malloc(sizeof(float) * S2 * D2),
          *wq = malloc(sizeof(float) * D2 * U), *wk = malloc(sizeof(float) * D2 * U), *av = malloc(sizeof(float) * U);
    attnc_tensor a = tensor4(q2, ATTNC_F32, 1, 1, S2, D2), b = tensor4(k2, ATTNC_F32, 1, 1, S2, D2),
                 c = tensor4(v2, ATTNC_F32, 1, 1, S2, D2), out = tensor4(o2, ATTNC_F32, 1, 1, S2, D2), twq, twk, tav;
    fill(q2, S2 * D2, 5), fill(k2, S2 * D2, 6), fill(v2, S2 * D2, 7), fill(wq, D2 * U, 8), fill(wk, D2 * U, 9),
        fill(av, U, 10);
    memset(&twq, 0, sizeof twq);
    twq.data = wq, twq.dtype = ATTNC_F32, twq.ndim = 3, twq.shape[0] = 1, twq.shape[1] = D2, twq.shape[2] = U;
    twq.stride[2] = 1, twq.stride[1] = U, twq.stride[0] = D2 * U;
    twk = twq, twk.data = wk;
    memset(&tav, 0, sizeof tav);
    tav.data = av, tav.dtype = ATTNC_F32, tav.ndim = 2, tav.shape[0] = 1, tav.shape[1] = U, tav.stride[0] = U,
    tav.stride[1] = 1;
    rc = bahdanau(&a, &b, &c, &twq, &twk, &tav, &out);
    if (rc != ATTNC_OK) {
      fprintf(stderr, "bahdanau failed: %s\n", bahdanau_last_error());
      return 1;
    }
    /* A bad argument: the wrong dtype for v. */
    c.dtype = ATTNC_BF16;
    rc = bahdanau(&a, &b, &c, &twq, &twk, &tav, &out);
    if (rc != ATTNC_E_DTYPE || !strstr(bahdanau_last_error(), "`v`")) {
      fprintf(stderr, "expected a dtype error on v, got %d: %s\n", rc, bahdanau_last_error());
      return 1;
    }
    free(q2), free(k2), free(v2), free(o2), free(wq), free(wk), free(av);
  }
  free(q), free(k), free(v), free(o);
  printf("two kernels from C: ok\n");
  return 0;
}
