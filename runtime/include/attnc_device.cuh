/* attnc_device.cuh: the device runtime of attnc's CUDA kernels (copied next
 * to every generated NAME.cu). It is the only place with inline PTX: thread
 * indices, barriers, warp shuffles, ldmatrix, mma.sync m16n8k16, cp.async,
 * 16-bit float conversions, dynamic shared memory and the kernel launch.
 *
 * Compiled by nvcc for sm_80 and newer. With -DATTNC_SIMT_EMULATION the same
 * functions are implemented by the CPU emulator in attnc_simt.h, and a
 * generated NAME.cu compiles as plain C++17 (g++ -x c++): that is how CI runs
 * every CUDA kernel without a GPU (docs/cuda.md). */
#ifndef ATTNC_DEVICE_CUH
#define ATTNC_DEVICE_CUH

#include <stddef.h>
#include <stdint.h>

#ifdef ATTNC_SIMT_EMULATION
#include <cmath>
#include <cstdlib>
#include <cstring>
#include "attnc_simt.h"
#define ATTNC_GLOBAL static
#define ATTNC_DEVICE static inline
#define ATTNC_RESTRICT __restrict__
#define ATTNC_LAUNCH_BOUNDS(n)
#define ATTNC_UNROLL
#define ATTNC_CONSTANT static const
#else
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>
#include <string.h>
#include <mutex>
#define ATTNC_GLOBAL __global__
#define ATTNC_DEVICE static __device__ __forceinline__
#define ATTNC_RESTRICT __restrict__
#define ATTNC_LAUNCH_BOUNDS(n) __launch_bounds__(n)
#define ATTNC_UNROLL _Pragma("unroll")
/* Read-only tables indexed at run time: the constant bank, not a stack frame. */
#define ATTNC_CONSTANT static __constant__ const
#endif

namespace attnc_dev {

/* Element types of q, k, v, out. */
enum DT { F32 = 0, F16 = 1, BF16 = 2 };

#ifdef ATTNC_SIMT_EMULATION
using attnc_simt::dim3;
#else
using ::dim3;
#endif

/* ---- indices and barriers ------------------------------------------------ */

ATTNC_DEVICE unsigned tid() {
#ifdef ATTNC_SIMT_EMULATION
  return attnc_simt::fiber().tid;
#else
  return threadIdx.x;
#endif
}
ATTNC_DEVICE dim3 block_idx() {
#ifdef ATTNC_SIMT_EMULATION
  return attnc_simt::block().blockIdx;
#else
  return blockIdx;
#endif
}
ATTNC_DEVICE dim3 grid_dim() {
#ifdef ATTNC_SIMT_EMULATION
  return attnc_simt::block().gridDim;
#else
  return gridDim;
#endif
}
ATTNC_DEVICE void block_sync() {
#ifdef ATTNC_SIMT_EMULATION
  attnc_simt::block_barrier();
#else
  __syncthreads();
#endif
}
/* __syncthreads_count: how many threads of the block passed a true pred. */
ATTNC_DEVICE int sync_count(int pred) {
#ifdef ATTNC_SIMT_EMULATION
  return attnc_simt::block_count(pred);
#else
  return __syncthreads_count(pred);
#endif
}
ATTNC_DEVICE void warp_sync() {
#ifdef ATTNC_SIMT_EMULATION
  attnc_simt::warp_barrier();
#else
  __syncwarp();
#endif
}

/* ---- warp shuffles -------------------------------------------------------- */

ATTNC_DEVICE float shfl_xor(float v, int mask) {
#ifdef ATTNC_SIMT_EMULATION
  uint32_t u;
  std::memcpy(&u, &v, 4);
  u = attnc_simt::shfl_xor(u, mask);
  std::memcpy(&v, &u, 4);
  return v;
#else
  return __shfl_xor_sync(0xffffffffu, v, mask);
#endif
}

/* The max and the sum over the 4 lanes of a quad (lanes that hold one row of
 * an mma accumulator). */
ATTNC_DEVICE float quad_max(float v) {
  v = fmaxf(v, shfl_xor(v, 1));
  return fmaxf(v, shfl_xor(v, 2));
}
ATTNC_DEVICE float quad_sum(float v) {
  v += shfl_xor(v, 1);
  return v + shfl_xor(v, 2);
}

/* ---- math ------------------------------------------------------------------ */

/* 2^x for the softmax: ex2.approx (about 2 ulp; 2^-inf = 0), the SFU
 * instruction FlashAttention uses. */
ATTNC_DEVICE float exp2_(float x) {
#ifdef ATTNC_SIMT_EMULATION
  return std::exp2(x);
#else
  float y;
  asm("ex2.approx.ftz.f32 %0, %1;\n" : "=f"(y) : "f"(x));
  return y;
#endif
}

/* f64 arithmetic rounded as written, never contracted into a fused
 * multiply-add (the top-T plan's estimates: every backend computes them bit
 * for bit alike, docs/language.md). */
ATTNC_DEVICE double dadd_rn(double a, double b) {
#ifdef ATTNC_SIMT_EMULATION
  return a + b;
#else
  return __dadd_rn(a, b);
#endif
}
ATTNC_DEVICE double dmul_rn(double a, double b) {
#ifdef ATTNC_SIMT_EMULATION
  return a * b;
#else
  return __dmul_rn(a, b);
#endif
}
ATTNC_DEVICE double ddiv_rn(double a, double b) {
#ifdef ATTNC_SIMT_EMULATION
  return a / b;
#else
  return __ddiv_rn(a, b);
#endif
}

/* ---- 16-bit floats --------------------------------------------------------- */

#ifdef ATTNC_SIMT_EMULATION
ATTNC_DEVICE uint16_t f32_to_bf16_bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((u >> 16) | 0x40);  // NaN stays NaN
  u += 0x7fffu + ((u >> 16) & 1);
  return static_cast<uint16_t>(u >> 16);
}
ATTNC_DEVICE uint16_t f32_to_f16_bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  uint32_t sign = (u >> 16) & 0x8000u, absu = u & 0x7fffffffu;
  if (absu > 0x7f800000u) return static_cast<uint16_t>(sign | 0x7e00u);
  if (absu >= 0x477ff000u) return static_cast<uint16_t>(sign | 0x7c00u);  // rounds to inf
  if (absu < 0x38800000u) {  // subnormal or zero in f16: round |f| * 2^24 to an integer
    float a;
    std::memcpy(&a, &absu, 4);
    return static_cast<uint16_t>(sign | static_cast<uint32_t>(std::nearbyint(a * 16777216.0f)));
  }
  uint32_t e = (absu >> 23) - 112, m = absu & 0x7fffffu;
  uint32_t h = (e << 10) | (m >> 13), rest = m & 0x1fffu;
  if (rest > 0x1000u || (rest == 0x1000u && (h & 1))) ++h;
  return static_cast<uint16_t>(sign | h);
}
#endif

template <int T> ATTNC_DEVICE float to_f32(uint16_t h) {
#ifdef ATTNC_SIMT_EMULATION
  return T == BF16 ? attnc_simt::bf16_to_f32(h) : attnc_simt::f16_to_f32(h);
#else
  if (T == BF16) return __bfloat162float(__ushort_as_bfloat16(h));
  return __half2float(__ushort_as_half(h));
#endif
}
template <int T> ATTNC_DEVICE uint16_t from_f32(float f) {
#ifdef ATTNC_SIMT_EMULATION
  return T == BF16 ? f32_to_bf16_bits(f) : f32_to_f16_bits(f);
#else
  if (T == BF16) return __bfloat16_as_ushort(__float2bfloat16_rn(f));
  return __half_as_ushort(__float2half_rn(f));
#endif
}
/* Two floats as one register of two 16-bit floats (low half first). */
template <int T> ATTNC_DEVICE uint32_t pack2(float lo, float hi) {
  return static_cast<uint32_t>(from_f32<T>(lo)) | (static_cast<uint32_t>(from_f32<T>(hi)) << 16);
}

/* ---- shared memory ----------------------------------------------------------- */

ATTNC_DEVICE unsigned char *dyn_smem() {
#ifdef ATTNC_SIMT_EMULATION
  return attnc_simt::block().smem.data();
#else
  extern __shared__ __align__(16) unsigned char attnc_smem[];
  return attnc_smem;
#endif
}

/* A tile of ROWS rows of CHUNKS 16-byte chunks in shared memory, laid out so
 * that the 8 row addresses of one ldmatrix (8 rows, one chunk each) fall in 8
 * different 16-byte bank groups: with a multiple of 8 chunks per row, chunk c
 * of row r is stored at chunk c ^ (r % 8) (the XOR swizzle of CUTLASS and
 * FlashAttention); otherwise rows are padded to an odd number of chunks. */
template <int ROWS, int CHUNKS> struct SmemTile {
  static constexpr int kStride = CHUNKS % 8 == 0 ? CHUNKS : (CHUNKS % 2 ? CHUNKS : CHUNKS + 1);
  static constexpr int kBytes = ROWS * kStride * 16;
  ATTNC_DEVICE int chunk(int r, int c) { return r * kStride + (CHUNKS % 8 == 0 ? (c ^ (r & 7)) : c); }
};

/* ---- ldmatrix and mma.sync ----------------------------------------------------- */

/* ldmatrix .x4: this lane gives the address of one 16-byte row (lanes 8j..8j+7:
 * matrix j); r[j] receives this lane's two elements of matrix j. */
ATTNC_DEVICE void ldsm_x4(uint32_t r[4], const void *row) {
#ifdef ATTNC_SIMT_EMULATION
  attnc_simt::ldmatrix(r, 4, false, row);
#else
  unsigned a = static_cast<unsigned>(__cvta_generic_to_shared(row));
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0, %1, %2, %3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(a));
#endif
}
/* ldmatrix .x4 .trans: as ldsm_x4 with each 8x8 matrix transposed. */
ATTNC_DEVICE void ldsm_x4_t(uint32_t r[4], const void *row) {
#ifdef ATTNC_SIMT_EMULATION
  attnc_simt::ldmatrix(r, 4, true, row);
#else
  unsigned a = static_cast<unsigned>(__cvta_generic_to_shared(row));
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0, %1, %2, %3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(a));
#endif
}

/* d += a * b on tensor cores: m16n8k16, f32 accumulate, T = F16 or BF16. */
template <int T> ATTNC_DEVICE void mma16816(float d[4], const uint32_t a[4], const uint32_t b[2]) {
#ifdef ATTNC_SIMT_EMULATION
  attnc_simt::mma_m16n8k16(d, a, b, d, T == BF16);
#else
  if (T == BF16)
    asm volatile(
        "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, "
        "{%0, %1, %2, %3};\n"
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
  else
    asm volatile(
        "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, "
        "{%0, %1, %2, %3};\n"
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
#endif
}

/* ---- cp.async -------------------------------------------------------------------- */

/* Copies 16 bytes global -> shared without going through registers; only the
 * first `bytes` (0 or 16) are read, the rest are zero-filled. */
ATTNC_DEVICE void cp_async16(void *smem, const void *gmem, unsigned bytes) {
#ifdef ATTNC_SIMT_EMULATION
  attnc_simt::cp_async16(smem, gmem, bytes);
#else
  unsigned a = static_cast<unsigned>(__cvta_generic_to_shared(smem));
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(a), "l"(gmem), "r"(bytes));
#endif
}
ATTNC_DEVICE void cp_async_commit() {
#ifdef ATTNC_SIMT_EMULATION
  attnc_simt::cp_async_commit();
#else
  asm volatile("cp.async.commit_group;\n" ::);
#endif
}
/* Waits until at most N of this thread's committed groups are still in flight. */
template <int N> ATTNC_DEVICE void cp_async_wait() {
#ifdef ATTNC_SIMT_EMULATION
  attnc_simt::cp_async_wait(N);
#else
  asm volatile("cp.async.wait_group %0;\n" ::"n"(N));
#endif
}

/* ---- host side --------------------------------------------------------------------- */

/* Launches `fn(p)` on a grid; 0 or a cudaError_t. */
template <typename P>
static inline int launch(void (*fn)(P), dim3 grid, dim3 block, size_t smem, void *stream, const P &p) {
#ifdef ATTNC_SIMT_EMULATION
  (void)stream;
  attnc_simt::launch(grid, block, smem, [&] { fn(p); });
  return 0;
#else
  if (smem > 48 * 1024) {
    cudaError_t e = cudaFuncSetAttribute(reinterpret_cast<const void *>(fn),
                                         cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(smem));
    if (e != cudaSuccess) return static_cast<int>(e);
  }
  fn<<<grid, block, smem, static_cast<cudaStream_t>(stream)>>>(p);
  return static_cast<int>(cudaGetLastError());
#endif
}

/* Split-KV scratch: stream-ordered allocations from a memory pool that this
 * kernel creates once per device and that keeps what it grew to (release
 * threshold: never), so after the first calls an allocation is a pool hit:
 * no cudaMalloc, no synchronization on the hot path, and concurrent streams
 * never share a buffer. */
static inline int scratch_alloc(void **ptr, size_t bytes, void *stream) {
#ifdef ATTNC_SIMT_EMULATION
  (void)stream;
  *ptr = std::malloc(bytes);
  return *ptr ? 0 : 2;
#else
  static std::mutex mu;
  static cudaMemPool_t pools[64];
  int dev = 0;
  cudaError_t e = cudaGetDevice(&dev);
  if (e != cudaSuccess) return static_cast<int>(e);
  if (dev < 0 || dev >= 64) return static_cast<int>(cudaMallocAsync(ptr, bytes, static_cast<cudaStream_t>(stream)));
  {
    std::lock_guard<std::mutex> lock(mu);
    if (!pools[dev]) {
      cudaMemPoolProps props;
      memset(&props, 0, sizeof props);
      props.allocType = cudaMemAllocationTypePinned;
      props.location.type = cudaMemLocationTypeDevice;
      props.location.id = dev;
      e = cudaMemPoolCreate(&pools[dev], &props);
      if (e != cudaSuccess) return static_cast<int>(e);
      uint64_t keep = UINT64_MAX;
      e = cudaMemPoolSetAttribute(pools[dev], cudaMemPoolAttrReleaseThreshold, &keep);
      if (e != cudaSuccess) return static_cast<int>(e);
    }
  }
  return static_cast<int>(cudaMallocFromPoolAsync(ptr, bytes, pools[dev], static_cast<cudaStream_t>(stream)));
#endif
}
static inline int scratch_free(void *ptr, void *stream) {
#ifdef ATTNC_SIMT_EMULATION
  (void)stream;
  std::free(ptr);
  return 0;
#else
  return static_cast<int>(cudaFreeAsync(ptr, static_cast<cudaStream_t>(stream)));
#endif
}

/* The current device's multiprocessor count and opt-in shared memory per block. */
static inline int device_limits(int *sms, int *smem_optin) {
#ifdef ATTNC_SIMT_EMULATION
  *sms = 132;
  *smem_optin = 227 * 1024;
  return 0;
#else
  int dev = 0;
  cudaError_t e = cudaGetDevice(&dev);
  if (e == cudaSuccess) e = cudaDeviceGetAttribute(sms, cudaDevAttrMultiProcessorCount, dev);
  if (e == cudaSuccess) e = cudaDeviceGetAttribute(smem_optin, cudaDevAttrMaxSharedMemoryPerBlockOptin, dev);
  return static_cast<int>(e);
#endif
}

/* Plain device memory for tests and tools (the kernels never allocate). */
static inline int device_malloc(void **ptr, size_t bytes) {
#ifdef ATTNC_SIMT_EMULATION
  *ptr = std::malloc(bytes ? bytes : 1);
  return *ptr ? 0 : 2;
#else
  return static_cast<int>(cudaMalloc(ptr, bytes ? bytes : 1));
#endif
}
static inline int device_free(void *ptr) {
#ifdef ATTNC_SIMT_EMULATION
  std::free(ptr);
  return 0;
#else
  return static_cast<int>(cudaFree(ptr));
#endif
}
/* to_device: host -> device, else device -> host; synchronous. */
static inline int device_copy(void *dst, const void *src, size_t bytes, bool to_device) {
#ifdef ATTNC_SIMT_EMULATION
  (void)to_device;
  std::memcpy(dst, src, bytes);
  return 0;
#else
  return static_cast<int>(cudaMemcpy(dst, src, bytes, to_device ? cudaMemcpyHostToDevice : cudaMemcpyDeviceToHost));
#endif
}
static inline int device_synchronize() {
#ifdef ATTNC_SIMT_EMULATION
  return 0;
#else
  return static_cast<int>(cudaDeviceSynchronize());
#endif
}

static inline const char *error_string(int e) {
#ifdef ATTNC_SIMT_EMULATION
  return e == 2 ? "out of memory" : "emulator error";
#else
  return cudaGetErrorString(static_cast<cudaError_t>(e));
#endif
}

}  // namespace attnc_dev

#endif /* ATTNC_DEVICE_CUH */
