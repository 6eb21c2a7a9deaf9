/* attnc_simt.h: a CPU emulator of the CUDA execution model, just enough of it
 * to run attnc's generated kernels as plain C++ (g++ -DATTNC_SIMT_EMULATION).
 *
 * - Blocks run one after another. The threads of a block are fibers (own
 *   stacks, switched by a few instructions on x86-64, by ucontext elsewhere),
 *   so `__syncthreads()` really waits for every thread of the block.
 * - Warp collectives (shuffles, ldmatrix, mma.sync) are emulated lane by
 *   lane: each lane deposits what it holds, waits for its 31 siblings, then
 *   reads what the PTX ISA says it receives. The fragment layouts are those of
 *   the ISA, so a layout bug on the GPU is a wrong answer here too.
 * - cp.async copies are queued per thread and performed at
 *   cp.async.wait_group, as late as the hardware may perform them: a read
 *   before the wait sees stale shared memory here as it may on a GPU.
 * - A barrier that cannot complete (a thread exited, or lanes wait at
 *   different barriers) is reported and aborts: it would hang a GPU.
 *
 * Header only (C++17); included by attnc_device.cuh. Launches from several
 * host threads at once are fine: all state is local to the launching thread. */
#ifndef ATTNC_SIMT_H
#define ATTNC_SIMT_H

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <vector>

#if !defined(__x86_64__)
#include <ucontext.h>
#endif

namespace attnc_simt {

struct dim3 {
  unsigned x = 1, y = 1, z = 1;
  dim3(unsigned x_ = 1, unsigned y_ = 1, unsigned z_ = 1) : x(x_), y(y_), z(z_) {}
};

enum class State : uint8_t { Runnable, WaitWarp, WaitBlock, Done };

struct CopyOp {
  void *dst;
  const void *src;
  unsigned bytes;  // bytes copied from src; the rest of 16 is zero-filled
};

struct Fiber {
  void *sp = nullptr;
#if !defined(__x86_64__)
  ucontext_t ctx;
#endif
  unsigned tid = 0;
  State state = State::Runnable;
  std::vector<std::vector<CopyOp>> groups;  // committed cp.async groups, oldest first
  std::vector<CopyOp> open;                 // not yet committed
};

/* What the lanes of one warp deposit for a collective. */
struct WarpSlots {
  int arrived = 0;
  uint32_t u[32][8];
  const void *addr[32];
};

struct Block {
  dim3 blockIdx, blockDim, gridDim;
  unsigned nthreads = 0;
  std::vector<Fiber> fibers;
  std::vector<WarpSlots> warps;
  int blockArrived = 0;
  int blockCount = 0;
  std::vector<unsigned char> smem;
  const std::function<void()> *body = nullptr;
};

struct Context {
  Block *block = nullptr;
  Fiber *fiber = nullptr;
  void *schedSp = nullptr;
#if !defined(__x86_64__)
  ucontext_t schedCtx;
#endif
  std::vector<unsigned char> stacks;
};

inline Context &ctx() {
  static thread_local Context c;
  return c;
}

[[noreturn]] inline void fatal(const char *what) {
  std::fprintf(stderr, "attnc SIMT emulator: %s\n", what);
  std::abort();
}

constexpr size_t kStackBytes = 256 * 1024;

#if defined(__x86_64__)
/* Saves the callee-saved registers on the current stack, stores the stack
 * pointer in *save and resumes the fiber whose stack pointer is `to`. */
__attribute__((naked, noinline)) static void switch_stack(void ** /*save*/, void * /*to*/) {
  __asm__(
      "pushq %rbp\n\t"
      "pushq %rbx\n\t"
      "pushq %r12\n\t"
      "pushq %r13\n\t"
      "pushq %r14\n\t"
      "pushq %r15\n\t"
      "movq %rsp, (%rdi)\n\t"
      "movq %rsi, %rsp\n\t"
      "popq %r15\n\t"
      "popq %r14\n\t"
      "popq %r13\n\t"
      "popq %r12\n\t"
      "popq %rbx\n\t"
      "popq %rbp\n\t"
      "ret\n\t");
}
#endif

inline void to_scheduler() {
  Context &c = ctx();
#if defined(__x86_64__)
  switch_stack(&c.fiber->sp, c.schedSp);
#else
  swapcontext(&c.fiber->ctx, &c.schedCtx);
#endif
}

inline void fiber_main() {
  Context &c = ctx();
  (*c.block->body)();
  c.fiber->state = State::Done;
  if (!c.fiber->open.empty() || !c.fiber->groups.empty()) {
    // Uncommitted or unwaited copies: performed at exit, as the GPU would.
    for (auto &g : c.fiber->groups)
      for (CopyOp &op : g) {
        std::memcpy(op.dst, op.src, op.bytes);
        std::memset(static_cast<char *>(op.dst) + op.bytes, 0, 16 - op.bytes);
      }
    c.fiber->groups.clear();
    c.fiber->open.clear();
  }
  to_scheduler();
  fatal("a finished thread was resumed");
}

inline Block &block() { return *ctx().block; }
inline Fiber &fiber() { return *ctx().fiber; }
inline unsigned lane() { return fiber().tid & 31; }
inline WarpSlots &warp_slots() { return block().warps[fiber().tid >> 5]; }

/* Waits until every lane of this warp has arrived. */
inline void warp_barrier() {
  Block &b = block();
  Fiber &f = fiber();
  unsigned w = f.tid >> 5;
  unsigned lanes = b.nthreads - w * 32 < 32 ? b.nthreads - w * 32 : 32;
  WarpSlots &s = b.warps[w];
  if (static_cast<unsigned>(++s.arrived) == lanes) {
    s.arrived = 0;
    for (unsigned i = w * 32; i < w * 32 + lanes; ++i)
      if (b.fibers[i].state == State::WaitWarp) b.fibers[i].state = State::Runnable;
    return;
  }
  f.state = State::WaitWarp;
  to_scheduler();
}

/* __syncthreads(). With resetCount, the last thread to arrive also clears
 * the __syncthreads_count accumulator before anyone goes on. */
inline void block_barrier(bool resetCount = false) {
  Block &b = block();
  if (static_cast<unsigned>(++b.blockArrived) == b.nthreads) {
    b.blockArrived = 0;
    if (resetCount) b.blockCount = 0;
    for (Fiber &o : b.fibers)
      if (o.state == State::WaitBlock) o.state = State::Runnable;
    return;
  }
  fiber().state = State::WaitBlock;
  to_scheduler();
}

/* __syncthreads_count(pred). */
inline int block_count(int pred) {
  Block &b = block();
  b.blockCount += pred != 0;
  block_barrier();
  int r = b.blockCount;
  block_barrier(true);  // every thread has read it; the next count starts at 0
  return r;
}

inline uint32_t shfl_xor(uint32_t v, int mask) {
  WarpSlots &s = warp_slots();
  unsigned l = lane();
  s.u[l][0] = v;
  warp_barrier();
  uint32_t r = s.u[(l ^ static_cast<unsigned>(mask)) & 31][0];
  warp_barrier();
  return r;
}

inline uint32_t shfl(uint32_t v, int src) {
  WarpSlots &s = warp_slots();
  unsigned l = lane();
  s.u[l][0] = v;
  warp_barrier();
  uint32_t r = s.u[static_cast<unsigned>(src) & 31][0];
  warp_barrier();
  return r;
}

/* ldmatrix.sync.aligned.m8n8.x{1,2,4}[.trans].shared.b16: lanes 8j..8j+7 give
 * the row addresses of matrix j; lane l receives, of matrix j, the elements
 * (row l/4, columns 2(l%4), 2(l%4)+1), or with .trans (rows 2(l%4) and
 * 2(l%4)+1, column l/4). */
inline void ldmatrix(uint32_t *r, int count, bool trans, const void *rowAddr) {
  WarpSlots &s = warp_slots();
  unsigned l = lane();
  s.addr[l] = rowAddr;
  warp_barrier();
  for (int j = 0; j < count; ++j) {
    uint16_t lo, hi;
    if (!trans) {
      const uint16_t *row = static_cast<const uint16_t *>(s.addr[j * 8 + l / 4]);
      lo = row[2 * (l % 4)];
      hi = row[2 * (l % 4) + 1];
    } else {
      lo = static_cast<const uint16_t *>(s.addr[j * 8 + 2 * (l % 4)])[l / 4];
      hi = static_cast<const uint16_t *>(s.addr[j * 8 + 2 * (l % 4) + 1])[l / 4];
    }
    r[j] = static_cast<uint32_t>(lo) | (static_cast<uint32_t>(hi) << 16);
  }
  warp_barrier();
}

inline float bf16_to_f32(uint16_t h) {
  uint32_t u = static_cast<uint32_t>(h) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

inline float f16_to_f32(uint16_t h) {
  uint32_t sign = (h & 0x8000u) << 16, e = (h >> 10) & 0x1f, m = h & 0x3ff;
  float f;
  if (e == 0) {
    f = std::ldexp(static_cast<float>(m), -24);
    return sign ? -f : f;
  }
  uint32_t u = e == 31 ? (sign | 0x7f800000u | (m << 13)) : (sign | ((e + 112) << 23) | (m << 13));
  std::memcpy(&f, &u, 4);
  return f;
}

/* mma.sync.aligned.m16n8k16.row.col.f32.{f16,bf16}.{f16,bf16}.f32. With
 * g = lane/4, t = lane%4: A regs a0 (row g, k 2t..2t+1), a1 (row g+8),
 * a2 (row g, k 2t+8..), a3 (row g+8, k 2t+8..); B regs b0 (k 2t..2t+1,
 * col g), b1 (k 2t+8..); C/D c0,c1 (row g, cols 2t, 2t+1), c2,c3 (row g+8).
 * Products of two 16-bit floats are exact in f32; the sum runs in k order. */
inline void mma_m16n8k16(float d[4], const uint32_t a[4], const uint32_t b[2], const float c[4], bool bf16) {
  WarpSlots &s = warp_slots();
  unsigned l = lane();
  for (int i = 0; i < 4; ++i) s.u[l][i] = a[i];
  s.u[l][4] = b[0];
  s.u[l][5] = b[1];
  warp_barrier();
  auto cvt = [bf16](uint16_t h) { return bf16 ? bf16_to_f32(h) : f16_to_f32(h); };
  auto elemA = [&](unsigned row, unsigned k) {
    unsigned owner = (row % 8) * 4 + (k % 8) / 2, reg = (row >= 8 ? 1 : 0) + (k >= 8 ? 2 : 0);
    uint32_t v = s.u[owner][reg];
    return cvt(static_cast<uint16_t>(k % 2 ? v >> 16 : v & 0xffff));
  };
  auto elemB = [&](unsigned k, unsigned col) {
    unsigned owner = col * 4 + (k % 8) / 2, reg = 4 + (k >= 8 ? 1 : 0);
    uint32_t v = s.u[owner][reg];
    return cvt(static_cast<uint16_t>(k % 2 ? v >> 16 : v & 0xffff));
  };
  unsigned g = l / 4, t = l % 4;
  float out[4];
  for (int i = 0; i < 4; ++i) {
    unsigned row = g + (i >= 2 ? 8 : 0), col = 2 * t + (i % 2);
    float acc = c[i];
    for (unsigned k = 0; k < 16; ++k) acc += elemA(row, k) * elemB(k, col);
    out[i] = acc;
  }
  warp_barrier();
  for (int i = 0; i < 4; ++i) d[i] = out[i];
}

/* cp.async.cg.shared.global 16 bytes, `bytes` of them read (the rest zero). */
inline void cp_async16(void *dst, const void *src, unsigned bytes) { fiber().open.push_back({dst, src, bytes}); }
inline void cp_async_commit() {
  Fiber &f = fiber();
  f.groups.push_back(std::move(f.open));
  f.open.clear();
}
/* cp.async.wait_group n: all but the newest n committed groups are complete. */
inline void cp_async_wait(int n) {
  Fiber &f = fiber();
  while (static_cast<int>(f.groups.size()) > n) {
    for (CopyOp &op : f.groups.front()) {
      if (op.bytes) std::memcpy(op.dst, op.src, op.bytes);
      std::memset(static_cast<char *>(op.dst) + op.bytes, 0, 16 - op.bytes);
    }
    f.groups.erase(f.groups.begin());
  }
}

/* Runs `body` for every thread of every block of the grid. */
inline void launch(dim3 grid, dim3 blockDim, size_t smemBytes, const std::function<void()> &body) {
  Context &c = ctx();
  if (c.block) fatal("a kernel launched from inside a kernel");
  unsigned n = blockDim.x * blockDim.y * blockDim.z;
  if (n == 0 || n > 1024) fatal("block size outside 1..1024");
  Block b;
  b.blockDim = blockDim;
  b.gridDim = grid;
  b.nthreads = n;
  b.fibers.resize(n);
  b.warps.resize((n + 31) / 32);
  b.body = &body;
  if (c.stacks.size() < n * kStackBytes) c.stacks.assign(n * kStackBytes, 0);
  c.block = &b;
  for (unsigned bz = 0; bz < grid.z; ++bz)
    for (unsigned by = 0; by < grid.y; ++by)
      for (unsigned bx = 0; bx < grid.x; ++bx) {
        b.blockIdx = dim3(bx, by, bz);
        b.smem.assign(smemBytes + 16, 0xA5);  // garbage, as on a GPU
        b.blockArrived = 0;
        b.blockCount = 0;
        for (auto &w : b.warps) w.arrived = 0;
        for (unsigned i = 0; i < n; ++i) {
          Fiber &f = b.fibers[i];
          f.tid = i;
          f.state = State::Runnable;
          f.groups.clear();
          f.open.clear();
          unsigned char *base = c.stacks.data() + static_cast<size_t>(i) * kStackBytes;
#if defined(__x86_64__)
          uintptr_t top = (reinterpret_cast<uintptr_t>(base) + kStackBytes) & ~uintptr_t(15);
          void **sp = reinterpret_cast<void **>(top);
          *--sp = nullptr;                                         // fiber_main's return address slot
          *--sp = reinterpret_cast<void *>(&fiber_main);           // where switch_stack's `ret` goes
          for (int r = 0; r < 6; ++r) *--sp = nullptr;             // rbp rbx r12..r15
          f.sp = sp;
#else
          getcontext(&f.ctx);
          f.ctx.uc_stack.ss_sp = base;
          f.ctx.uc_stack.ss_size = kStackBytes;
          f.ctx.uc_link = nullptr;
          makecontext(&f.ctx, reinterpret_cast<void (*)()>(&fiber_main), 0);
#endif
        }
        unsigned done = 0;
        while (done < n) {
          bool progress = false;
          for (unsigned i = 0; i < n; ++i) {
            Fiber &f = b.fibers[i];
            if (f.state != State::Runnable) continue;
            progress = true;
            c.fiber = &f;
#if defined(__x86_64__)
            switch_stack(&c.schedSp, f.sp);
#else
            swapcontext(&c.schedCtx, &f.ctx);
#endif
            c.fiber = nullptr;
            if (f.state == State::Done) ++done;
          }
          if (!progress && done < n)
            fatal(b.blockArrived ? "deadlock: __syncthreads() that not every thread of the block reaches"
                                 : "deadlock: a warp collective that not every lane of the warp reaches");
        }
      }
  c.block = nullptr;
}

inline dim3 thread_idx() {
  Block &b = block();
  unsigned t = fiber().tid;
  return dim3(t % b.blockDim.x, (t / b.blockDim.x) % b.blockDim.y, t / (b.blockDim.x * b.blockDim.y));
}

}  // namespace attnc_simt

#endif /* ATTNC_SIMT_H */
