/* The helpers of every generated entry point's argument checks (C99 and
 * C++), embedded at build time (lowering/kernel/AbiText.cpp, checkHelpers):
 * this thread's last error, fail(), dtype_name(), check_tensor(),
 * check_extent(), check_size(), the aliasing checks and fill_tensor(). Needs <stdarg.h>,
 * <stdio.h>, <stdint.h>, <string.h>, attnc_runtime.h. */
static __thread char last_error[512];

static int fail(int status, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(last_error, sizeof last_error, fmt, ap);
  va_end(ap);
  return status;
}

static const char *dtype_name(int32_t t) {
  switch (t) {
  case ATTNC_F32: return "f32";
  case ATTNC_F16: return "f16";
  case ATTNC_BF16: return "bf16";
  case ATTNC_I32: return "i32";
  case ATTNC_U8: return "u8";
  }
  return "an unknown dtype";
}

/* Common checks of one tensor: pointer, dtype, rank, extents and strides
 * that fit. An extent may be 0 (an empty tensor, whose data may be null);
 * dimensions of a fixed size are checked against it by check_extent. */
static int check_tensor(const attnc_tensor *t, const char *name, int32_t dtype, int32_t ndim, int unit_inner) {
  int i, empty = 0;
  if (!t) return fail(ATTNC_E_ARGUMENT, "`%s` is null", name);
  if (t->dtype != dtype)
    return fail(ATTNC_E_DTYPE, "`%s` must be %s, got %s", name, dtype_name(dtype), dtype_name(t->dtype));
  if (t->ndim != ndim) return fail(ATTNC_E_SHAPE, "`%s` must have %d dimensions, got %d", name, ndim, t->ndim);
  for (i = 0; i < ndim; ++i) {
    if (t->shape[i] < 0 || t->shape[i] > INT32_MAX)
      return fail(ATTNC_E_SHAPE, "`%s` dimension %d has extent %lld, outside 0..2^31-1", name, i,
                  (long long)t->shape[i]);
    if (t->shape[i] == 0) empty = 1;
    if (t->stride[i] < 0 || t->stride[i] > INT32_MAX)
      return fail(ATTNC_E_LAYOUT, "`%s` dimension %d has stride %lld, outside 0..2^31-1", name, i,
                  (long long)t->stride[i]);
  }
  if (!t->data && !empty) return fail(ATTNC_E_ARGUMENT, "`%s` has a null data pointer", name);
  if (unit_inner && !empty && t->stride[ndim - 1] != 1)
    return fail(ATTNC_E_LAYOUT, "`%s` must have stride 1 in its last dimension, got %lld", name,
                (long long)t->stride[ndim - 1]);
  return ATTNC_OK;
}

static int check_extent(const attnc_tensor *t, const char *name, int dim, const char *what, int64_t want) {
  if (t->shape[dim] != want)
    return fail(ATTNC_E_SHAPE, "`%s` dimension %d (%s) must be %lld, got %lld", name, dim, what, (long long)want,
                (long long)t->shape[dim]);
  return ATTNC_OK;
}

/* Size expressions of the lengths (an input declared `i32[ceil_div(seq_q, 16)]`),
 * evaluated as attnc's compiler does (dsl/SizeExpr.h): every value clamped to
 * +-2^61, so nothing overflows; `/` rounds toward zero, ceil_div up; a zero
 * divisor gives 0. */
static inline int64_t sz_clamp(int64_t v) {
  const int64_t lim = (int64_t)1 << 61;
  return v > lim ? lim : v < -lim ? -lim : v;
}
static inline int64_t sz_add(int64_t a, int64_t b) { return sz_clamp(a + b); }
static inline int64_t sz_sub(int64_t a, int64_t b) { return sz_clamp(a - b); }
static inline int64_t sz_mul(int64_t a, int64_t b) {
  const uint64_t ua = a < 0 ? (uint64_t)0 - (uint64_t)a : (uint64_t)a;
  const uint64_t ub = b < 0 ? (uint64_t)0 - (uint64_t)b : (uint64_t)b;
  const int neg = (a < 0) != (b < 0);
  int64_t m;
  if (a == 0 || b == 0) return 0;
  if (ua > ((uint64_t)1 << 61) / ub) return neg ? -((int64_t)1 << 61) : ((int64_t)1 << 61);
  m = (int64_t)(ua * ub);
  return neg ? -m : m;
}
static inline int64_t sz_div(int64_t a, int64_t b) { return b == 0 ? 0 : a / b; }
static inline int64_t sz_ceil_div(int64_t a, int64_t b) {
  int64_t q, r;
  if (b == 0) return 0;
  q = a / b;
  r = a % b;
  return (r != 0 && ((r < 0) == (b < 0))) ? q + 1 : q;
}
static inline int64_t sz_min(int64_t a, int64_t b) { return a < b ? a : b; }
static inline int64_t sz_max(int64_t a, int64_t b) { return a > b ? a : b; }

/* A dimension given by a size expression: its extent must be the value for
 * this call's lengths, which must be at least 1 unless the call is empty (no
 * batch, rows or keys: the kernel reads no input then). */
static inline int check_size(const attnc_tensor *t, const char *name, int dim, const char *what, int64_t want,
                      int64_t batch, int64_t seq_q, int64_t seq_kv) {
  if (want < 0 || (want == 0 && batch > 0 && seq_q > 0 && seq_kv > 0))
    return fail(ATTNC_E_SHAPE,
                "`%s` dimension %d (%s) is %lld for batch %lld, seq_q %lld, seq_kv %lld; an input's size must be at "
                "least 1",
                name, dim, what, (long long)want, (long long)batch, (long long)seq_q, (long long)seq_kv);
  if (t->shape[dim] != want)
    return fail(ATTNC_E_SHAPE, "`%s` dimension %d (%s) must be %lld for batch %lld, seq_q %lld, seq_kv %lld, got %lld",
                name, dim, what, (long long)want, (long long)batch, (long long)seq_q, (long long)seq_kv,
                (long long)t->shape[dim]);
  return ATTNC_OK;
}

/* The bytes [*lo, *hi) a tensor's elements lie in (lo == hi when it is empty). */
static void byte_span(const attnc_tensor *t, int64_t elem, uintptr_t *lo, uintptr_t *hi) {
  int64_t last = 0;
  int i;
  *lo = *hi = (uintptr_t)t->data;
  for (i = 0; i < t->ndim; ++i) {
    if (t->shape[i] == 0) return;
    last += (t->shape[i] - 1) * t->stride[i];
  }
  *hi = *lo + (uintptr_t)((last + 1) * elem);
}

/* An output and another argument must not share memory: the kernel reads its
 * inputs while it writes, in an order of its own. Conservative: two views whose
 * byte ranges interleave without sharing an element are refused too. */
static int check_disjoint(const attnc_tensor *a, const char *an, int64_t ae, const attnc_tensor *b, const char *bn,
                          int64_t be) {
  uintptr_t alo, ahi, blo, bhi;
  byte_span(a, ae, &alo, &ahi);
  byte_span(b, be, &blo, &bhi);
  if (alo < ahi && blo < bhi && alo < bhi && blo < ahi)
    return fail(ATTNC_E_ARGUMENT,
                "`%s` overlaps `%s` in memory (bytes %p..%p and %p..%p): outputs must not alias any argument", an, bn,
                (void *)alo, (void *)ahi, (void *)blo, (void *)bhi);
  return ATTNC_OK;
}

/* An output's elements must be distinct: ordered by stride, each dimension's
 * stride must pass the span of the dimensions inside it (so a stride of 0 on
 * an extent over 1, which would write every row to one place, is refused). */
static int check_no_self_overlap(const attnc_tensor *t, const char *name) {
  int order[4], n = 0, i, j;
  int64_t span = 0;
  for (i = 0; i < t->ndim && i < 4; ++i) {
    if (t->shape[i] == 0) return ATTNC_OK;  /* no elements */
    if (t->shape[i] > 1) order[n++] = i;
  }
  for (i = 1; i < n; ++i)
    for (j = i; j > 0 && t->stride[order[j]] < t->stride[order[j - 1]]; --j) {
      int x = order[j];
      order[j] = order[j - 1];
      order[j - 1] = x;
    }
  for (i = 0; i < n; ++i) {
    int d = order[i];
    if (t->stride[d] <= span)
      return fail(ATTNC_E_LAYOUT,
                  "`%s` dimension %d has stride %lld, so its elements overlap: an output needs each stride above %lld "
                  "(the span of the dimensions inside it)",
                  name, d, (long long)t->stride[d], (long long)span);
    span += (t->shape[d] - 1) * t->stride[d];
  }
  return ATTNC_OK;
}

/* Writes the `elem`-byte `value` to every element of a (host) tensor. */
static inline void fill_tensor(const attnc_tensor *t, int64_t elem, const void *value) {
  int64_t i0, i1, i2, i3, e[4] = {1, 1, 1, 1}, s[4] = {0, 0, 0, 0};
  int i;
  for (i = 0; i < t->ndim && i < 4; ++i) e[i] = t->shape[i], s[i] = t->stride[i];
  for (i0 = 0; i0 < e[0]; ++i0)
    for (i1 = 0; i1 < e[1]; ++i1)
      for (i2 = 0; i2 < e[2]; ++i2)
        for (i3 = 0; i3 < e[3]; ++i3)
          memcpy((char *)t->data + (i0 * s[0] + i1 * s[1] + i2 * s[2] + i3 * s[3]) * elem, value, (size_t)elem);
}
