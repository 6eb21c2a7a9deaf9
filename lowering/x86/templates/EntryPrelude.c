/* The fixed part of every x86 kernel's C entry point (lowering/x86/EmitX86.cpp
 * writes the rest: the policy, the argument checks and the call). */
#define _POSIX_C_SOURCE 200809L
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "attnc_runtime.h"

/* The Halide 14 buffer ABI (HalideRuntime.h), declared here so that no Halide
 * header is needed to build this file. */
struct halide_type_t { uint8_t code, bits; uint16_t lanes; };
typedef struct { int32_t min, extent, stride; uint32_t flags; } halide_dimension_t;
typedef struct halide_buffer_t {
  uint64_t device;
  const void *device_interface;
  uint8_t *host;
  uint64_t flags;
  struct halide_type_t type;
  int32_t dimensions;
  halide_dimension_t *dim;
  void *padding;
} halide_buffer_t;
extern int halide_set_num_threads(int n);
typedef void (*halide_error_handler_t)(void *, const char *);
extern halide_error_handler_t halide_set_error_handler(halide_error_handler_t handler);

/* Halide's default error handler aborts the process. Every kernel installs
 * this one instead: it copies the message to the calling kernel's
 * last_error, found through a thread-local pointer that all kernels of the
 * program share (a weak symbol: one instance however many are linked). */
__attribute__((weak)) __thread char *attnc_current_error;
__attribute__((weak)) void attnc_halide_error(void *user_context, const char *msg) {
  (void)user_context;
  if (attnc_current_error) snprintf(attnc_current_error, 512, "Halide: %s", msg);
}

/* Threads: ATTNC_NUM_THREADS (1..1024), else every online core; read once.
 * A value that is not such a count is reported once per program (a weak
 * flag shared by every kernel linked), with the count used instead. */
__attribute__((weak)) int attnc_threads_warned;
static int num_threads(void) {
  static int threads = 0;
  int t = __atomic_load_n(&threads, __ATOMIC_ACQUIRE);
  if (t > 0) return t;
  const char *env = getenv("ATTNC_NUM_THREADS");
  long n = 0, cores = sysconf(_SC_NPROCESSORS_ONLN);
  if (cores <= 0) cores = 1;
  if (cores > 1024) cores = 1024;
  if (env && *env) {
    char *end = NULL;
    n = strtol(env, &end, 10);
    if (*end != '\0' || n < 1 || n > 1024) {
      n = n > 1024 && *end == '\0' ? 1024 : cores;
      if (!__atomic_exchange_n(&attnc_threads_warned, 1, __ATOMIC_ACQ_REL))
        fprintf(stderr, "attnc: warning: ATTNC_NUM_THREADS=`%s` is not a thread count from 1 to 1024, using %ld\n",
                env, n);
    }
  }
  if (n <= 0) n = cores;
  halide_set_num_threads((int)n);
  halide_set_error_handler(attnc_halide_error);
  __atomic_store_n(&threads, (int)n, __ATOMIC_RELEASE);
  return (int)n;
}

/* The CPU features the pipelines were compiled for, checked once, at the
 * first call: a library built for AVX-512 on a CPU without it returns
 * ATTNC_E_DEVICE with the missing feature's name instead of dying of SIGILL.
 * ATTNC_CPU_FORCE_MISSING (a feature name, at the wrapper's compile time)
 * makes the check fail, for tests. Returns the first feature missing, or NULL. */
#include <cpuid.h>
static const char *cpu_feature_missing(int avx512) {
#ifdef ATTNC_CPU_FORCE_MISSING
  (void)avx512;
  return ATTNC_CPU_FORCE_MISSING;
#else
  unsigned a, b, c, d;
  __builtin_cpu_init();
  /* __builtin_cpu_supports also asks the OS (XGETBV) whether it saves the
   * AVX / AVX-512 registers. F16C has no name there: CPUID.1:ECX. */
  if (!__builtin_cpu_supports("avx")) return "avx";
  if (!__builtin_cpu_supports("avx2")) return "avx2";
  if (!__builtin_cpu_supports("fma")) return "fma";
  if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & bit_F16C)) return "f16c";
  if (avx512) {
    if (!__builtin_cpu_supports("avx512f")) return "avx512f";
    if (!__builtin_cpu_supports("avx512cd")) return "avx512cd";
    if (!__builtin_cpu_supports("avx512vl")) return "avx512vl";
    if (!__builtin_cpu_supports("avx512bw")) return "avx512bw";
    if (!__builtin_cpu_supports("avx512dq")) return "avx512dq";
  }
  return NULL;
#endif
}

/* Whether this CPU runs the bf16dot prefill (vdpbf16ps on x86-64-v4): else
 * the library calls its second prefill, which converts bf16 to f32. */
__attribute__((unused)) static int cpu_has_bf16_dot(void) {
#ifdef ATTNC_CPU_FORCE_NO_BF16
  return 0;
#else
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
         __builtin_cpu_supports("avx512cd") && __builtin_cpu_supports("avx512dq") &&
         __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512bf16");
#endif
}

/* Whether this CPU runs the amx prefill: AMX tiles with bf16 products
 * (CPUID.(7,0):EDX bits 22 and 24), the OS saving their state (XCR0 bits
 * 17-18), and Linux's permission for this process (asked here; granted once,
 * for every thread). Else the library calls its prefill without AMX. */
#include <sys/syscall.h>
extern long syscall(long number, ...); /* (unistd.h declares it only with _DEFAULT_SOURCE) */
__attribute__((unused)) static int cpu_has_amx(void) {
#ifdef ATTNC_CPU_FORCE_NO_AMX
  return 0;
#else
  unsigned a, b, c, d, lo, hi;
  if (!cpu_has_bf16_dot()) return 0;
  if (!__get_cpuid_count(7, 0, &a, &b, &c, &d) || !(d & (1u << 22)) || !(d & (1u << 24))) return 0;
  if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & (1u << 27))) return 0;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  if ((lo & (3u << 17)) != (3u << 17)) return 0;
  return syscall(SYS_arch_prctl, 0x1023 /* ARCH_REQ_XCOMP_PERM */, 18 /* XFEATURE_XTILEDATA */) == 0;
#endif
}

static void to_halide(const attnc_tensor *t, struct halide_type_t type, halide_buffer_t *b, halide_dimension_t *dims) {
  int i, n = t->ndim;
  for (i = 0; i < n; ++i) {
    dims[i].min = 0;
    dims[i].extent = (int32_t)t->shape[n - 1 - i];
    dims[i].stride = (int32_t)t->stride[n - 1 - i];
    dims[i].flags = 0;
  }
  memset(b, 0, sizeof *b);
  b->host = (uint8_t *)t->data;
  b->type = type;
  b->dimensions = n;
  b->dim = dims;
}

