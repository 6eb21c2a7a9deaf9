/* attnc_runtime.h: the ABI shared by every kernel attnc generates (version 1).
 * Compiles as C and as C++; several generated headers may include it. */
#ifndef ATTNC_RUNTIME_H
#define ATTNC_RUNTIME_H

#include <stdint.h>

#define ATTNC_ABI_VERSION 1

/* The longest seq_q and seq_kv a kernel takes (2^30 - 1): below it, the
 * index arithmetic of the builtin masks (q_idx + seq_kv - seq_q - n ...) stays
 * in i32, which the compile-time mask analysis relies on. */
#define ATTNC_MAX_SEQ_LEN 1073741823

typedef enum { ATTNC_F32 = 0, ATTNC_F16 = 1, ATTNC_BF16 = 2, ATTNC_I32 = 3, ATTNC_U8 = 4 } attnc_dtype;

/* A strided view of a tensor owned by the caller. */
typedef struct {
  void *data;         /* host pointer (x86) or device pointer (cuda) */
  int32_t dtype;      /* attnc_dtype */
  int32_t ndim;       /* 1..4 */
  int64_t shape[4];
  int64_t stride[4];  /* in elements; the last dim of q, k, v, out must have stride 1 */
} attnc_tensor;

/* Status codes returned by every generated kernel. */
enum {
  ATTNC_OK = 0,
  ATTNC_E_ARGUMENT = 1, /* a null pointer or an invalid value */
  ATTNC_E_SHAPE = 2,    /* a rank or extent that does not match the spec */
  ATTNC_E_DTYPE = 3,    /* a tensor of the wrong element type */
  ATTNC_E_LAYOUT = 4,   /* a stride the kernel cannot use */
  ATTNC_E_DEVICE = 5,   /* the device cannot run it: a CUDA failure, a CPU feature missing */
  ATTNC_E_INTERNAL = 6  /* a bug in attnc: please report it */
};

#endif /* ATTNC_RUNTIME_H */
