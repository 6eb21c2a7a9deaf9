/* A program whose own functions carry the names of Halide runtime and attnc
 * wrapper internals links two generated kernels and calls them: the kernels'
 * internal symbols are local to their libraries (docs/integration.md,
 * "Symbols"), so neither the program's definitions nor the other kernel's
 * replace them. Before, the program's halide_malloc (which fails) was the one
 * the kernel's pipeline called. Exit status 0 when all is well. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bahdanau.h"
#include "t5_bias.h"

static int clashes_called;
void *halide_malloc(void *user_context, size_t n) {
  (void)user_context, (void)n;
  ++clashes_called;
  return NULL;
}
void halide_free(void *user_context, void *p) { (void)user_context, (void)p, ++clashes_called; }
int halide_do_par_for(void *uc, void *f, int min, int size, void *closure) {
  (void)uc, (void)f, (void)min, (void)size, (void)closure;
  ++clashes_called;
  return -1;
}
int halide_set_num_threads(int n) { return (void)n, ++clashes_called, 1; }
int num_threads(void) { return ++clashes_called; }
void to_halide(void) { ++clashes_called; }

static attnc_tensor t4(float *p, int64_t a, int64_t b, int64_t c, int64_t d) {
  attnc_tensor t;
  memset(&t, 0, sizeof t);
  t.data = p, t.dtype = ATTNC_F32, t.ndim = 4;
  t.shape[0] = a, t.shape[1] = b, t.shape[2] = c, t.shape[3] = d;
  t.stride[3] = 1, t.stride[2] = d, t.stride[1] = c * d, t.stride[0] = b * c * d;
  return t;
}

int main(void) {
  /* t5_bias: f32, heads 8, head_dim 64, input rel_bias [8, 32]; long enough to allocate on the heap. */
  enum { H = 8, S = 512, D = 64 };
  size_t n = (size_t)H * S * D, i;
  float *q = calloc(n, 4), *k = calloc(n, 4), *v = calloc(n, 4), *o = calloc(n, 4), bias[8 * 32];
  attnc_tensor tq = t4(q, 1, H, S, D), tk = t4(k, 1, H, S, D), tv = t4(v, 1, H, S, D), to = t4(o, 1, H, S, D), tb;
  for (i = 0; i < n; ++i) v[i] = (float)(i % 7);
  memset(bias, 0, sizeof bias);
  memset(&tb, 0, sizeof tb);
  tb.data = bias, tb.dtype = ATTNC_F32, tb.ndim = 2, tb.shape[0] = 8, tb.shape[1] = 32, tb.stride[0] = 32,
  tb.stride[1] = 1;
  int rc = t5_bias(&tq, &tk, &tv, &tb, &to);
  if (rc != ATTNC_OK) {
    fprintf(stderr, "t5_bias: %s\n", t5_bias_last_error());
    return 1;
  }
  for (i = 0; i < n; ++i)
    if (!isfinite(o[i]) || o[i] < 0.0f || o[i] > 6.0f) {
      fprintf(stderr, "t5_bias: out[%zu] = %g\n", i, o[i]);
      return 1;
    }
  if (clashes_called) {
    fprintf(stderr, "the kernel called the program's halide_* / helper functions %d times\n", clashes_called);
    return 1;
  }
  (void)bahdanau_last_error();
  return 0;
}
