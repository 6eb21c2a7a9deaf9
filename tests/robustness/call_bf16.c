/* Calls kernel `bd` (tests/robustness/bf16dot.sh: bf16, 8 heads on 2 kv
 * heads, head_dim 64, causal, bhsd) on fixed inputs, as a prefill (100
 * queries) and as a decode (the last query alone, the decode pipeline), and
 * compares its outputs with a float64 reference of the same bf16 inputs:
 * exit 0 within 2e-2. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bd.h"

enum { H = 8, HK = 2, S = 100, D = 64 };

static uint16_t to_bf16(float f) {
  uint32_t u;
  memcpy(&u, &f, 4);
  return (uint16_t)((u + 0x7fff + ((u >> 16) & 1)) >> 16);
}
static double from_bf16(uint16_t h) {
  uint32_t u = (uint32_t)h << 16;
  float f;
  memcpy(&f, &u, 4);
  return f;
}
static attnc_tensor t4(uint16_t *p, int64_t h, int64_t s) {
  attnc_tensor t;
  memset(&t, 0, sizeof t);
  t.data = p, t.dtype = ATTNC_BF16, t.ndim = 4;
  t.shape[0] = 1, t.shape[1] = h, t.shape[2] = s, t.shape[3] = D;
  t.stride[3] = 1, t.stride[2] = D, t.stride[1] = s * D, t.stride[0] = h * s * D;
  return t;
}

int main(void) {
  static uint16_t q[H * S * D], k[HK * S * D], v[HK * S * D], o[H * S * D], q1[H * D], o1[H * D];
  unsigned seed = 12345;
  int i, h, s, j, x;
  double worst = 0, worst1 = 0;
  for (i = 0; i < H * S * D; ++i) seed = seed * 1664525u + 1013904223u, q[i] = to_bf16((float)(seed >> 8) / 8388608.0f - 1.0f);
  for (i = 0; i < HK * S * D; ++i) {
    seed = seed * 1664525u + 1013904223u, k[i] = to_bf16((float)(seed >> 8) / 8388608.0f - 1.0f);
    seed = seed * 1664525u + 1013904223u, v[i] = to_bf16((float)(seed >> 8) / 8388608.0f - 1.0f);
  }
  attnc_tensor tq = t4(q, H, S), tk = t4(k, HK, S), tv = t4(v, HK, S), to = t4(o, H, S);
  attnc_tensor tq1 = t4(q1, H, 1), to1 = t4(o1, H, 1);
  for (h = 0; h < H; ++h) memcpy(q1 + h * D, q + (h * S + S - 1) * D, D * sizeof *q);
  if (bd(&tq, &tk, &tv, &to) != ATTNC_OK || bd(&tq1, &tk, &tv, &to1) != ATTNC_OK) {
    fprintf(stderr, "bd: %s\n", bd_last_error());
    return 1;
  }
  for (h = 0; h < H; ++h)
    for (s = 0; s < S; ++s) {
      const uint16_t *qr = q + (h * S + s) * D;
      int hk = h / (H / HK);
      double sc[S], m = -INFINITY, sum = 0, acc[D] = {0};
      for (j = 0; j <= s; ++j) {
        double dot = 0;
        for (x = 0; x < D; ++x) dot += from_bf16(qr[x]) * from_bf16(k[(hk * S + j) * D + x]);
        sc[j] = dot / sqrt((double)D);
        if (sc[j] > m) m = sc[j];
      }
      for (j = 0; j <= s; ++j) {
        double p = exp(sc[j] - m);
        sum += p;
        for (x = 0; x < D; ++x) acc[x] += p * from_bf16(v[(hk * S + j) * D + x]);
      }
      for (x = 0; x < D; ++x) {
        double err = fabs(from_bf16(o[(h * S + s) * D + x]) - acc[x] / sum);
        if (!(err <= worst)) worst = err;
        if (s == S - 1) {
          err = fabs(from_bf16(o1[h * D + x]) - acc[x] / sum);
          if (!(err <= worst1)) worst1 = err;
        }
      }
    }
  printf("max abs error: prefill %.3g, decode %.3g\n", worst, worst1);
  return worst <= 2e-2 && worst1 <= 2e-2 ? 0 : 1;
}
