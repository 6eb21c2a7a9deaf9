/* The helpers of every generated entry point's argument checks (C99 and
 * C++), embedded at build time (lowering/kernel/AbiText.cpp, checkHelpers):
 * this thread's last error, fail(), dtype_name(), check_tensor(),
 * check_extent(). Needs <stdarg.h>, <stdio.h>, <stdint.h>, attnc_runtime.h. */
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

/* Common checks of one tensor: pointer, dtype, rank, strides that fit. */
static int check_tensor(const attnc_tensor *t, const char *name, int32_t dtype, int32_t ndim, int unit_inner) {
  int i;
  if (!t) return fail(ATTNC_E_ARGUMENT, "`%s` is null", name);
  if (!t->data) return fail(ATTNC_E_ARGUMENT, "`%s` has a null data pointer", name);
  if (t->dtype != dtype)
    return fail(ATTNC_E_DTYPE, "`%s` must be %s, got %s", name, dtype_name(dtype), dtype_name(t->dtype));
  if (t->ndim != ndim) return fail(ATTNC_E_SHAPE, "`%s` must have %d dimensions, got %d", name, ndim, t->ndim);
  for (i = 0; i < ndim; ++i) {
    if (t->shape[i] < 1 || t->shape[i] > INT32_MAX)
      return fail(ATTNC_E_SHAPE, "`%s` dimension %d has extent %lld, outside 1..2^31-1", name, i,
                  (long long)t->shape[i]);
    if (t->stride[i] < 0 || t->stride[i] > INT32_MAX)
      return fail(ATTNC_E_LAYOUT, "`%s` dimension %d has stride %lld, outside 0..2^31-1", name, i,
                  (long long)t->stride[i]);
  }
  if (unit_inner && t->stride[ndim - 1] != 1)
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

