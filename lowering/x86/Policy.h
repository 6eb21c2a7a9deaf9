/* lowering/x86/Policy.h: the run-time decisions of an x86 kernel, written once,
 * in C. lowering/x86/ToHalide.cpp includes this file (the JIT path that
 * `attnc bench` and the tests run) and lowering/x86/EmitX86.cpp copies it
 * verbatim into every shipped kernel's C entry point, so what is benchmarked
 * is what ships. Plain C99, no dependencies beyond <stdint.h>. */
#ifndef ATTNC_X86_POLICY_H
#define ATTNC_X86_POLICY_H

#include <stdint.h>

/* The decode variant runs one query position per tile (the tile's rows are
 * the group's heads) and splits the kv range across threads; the prefill
 * variant packs q_per_tile positions per tile and reads K/V once per tile.
 * For a few queries, decode wastes no rows but reads K/V once per query;
 * prefill reads them once but computes a whole tile. A call takes the variant
 * of lower cost, in flop-equivalents per key (the model below), never
 * decode above ATTNC_X86_DECODE_MAX_SEQ_Q. Costs per key and per head dim:
 *   decode:  seq_q          x max(2 x group,              FPB x kv_bytes)
 *   prefill: ceil(seq_q/qt) x max(2 x qt x group,         FPB x kv_bytes)
 * (2 flops per row and dim of Q.K^T and P.V; a pass over a K/V element costs
 * FPB flops per byte: the compute a core gives up while it streams a byte from
 * memory. Measured crossovers (one head, head_dim 64, bf16, seq_kv 1e6) give
 * FPB of about 3 on the 2-core development machine and 6 on a larger Intel
 * one; 5 keeps the pick within 1.3x of the faster variant on both (docs/x86.md;
 * scripts/bench-decode-switch.sh measures it). Ties go to decode. */
#define ATTNC_X86_DECODE_MAX_SEQ_Q 16
#define ATTNC_X86_FLOPS_PER_BYTE 5

static inline int attnc_x86_use_decode(int64_t seq_q, int64_t group, int64_t prefill_q_per_tile, int64_t kv_bytes) {
  const int64_t pass = ATTNC_X86_FLOPS_PER_BYTE * kv_bytes;
  const int64_t qt = prefill_q_per_tile < 1 ? 1 : prefill_q_per_tile;
  const int64_t dec_tile = 2 * group > pass ? 2 * group : pass;
  const int64_t pre_tile = 2 * qt * group > pass ? 2 * qt * group : pass;
  if (seq_q > ATTNC_X86_DECODE_MAX_SEQ_Q) return 0;
  return seq_q * dec_tile <= (seq_q + qt - 1) / qt * pre_tile;
}

/* The power of two at or above n (n >= 1): the shape buckets of tuned
 * variants (docs/tuning.md). */
static inline int64_t attnc_x86_pow2(int64_t n) {
  int64_t p = 1;
  while (p < n && p < ((int64_t)1 << 40)) p <<= 1;
  return p;
}

/* kv splits for a call: enough parallel tasks for `threads` threads (4 each),
 * at most `max_splits` and the number of kv tiles. The parallel loop runs
 * over batch x head_tasks x q tiles; head_tasks is kv_heads, or 1 when the
 * schedule keeps heads inside a task. */
static inline int32_t attnc_x86_choose_splits(int64_t batch, int64_t head_tasks, int64_t seq_q, int64_t q_per_tile,
                                              int64_t seq_kv, int64_t tile_kv, int threads, int64_t max_splits) {
  const int64_t tasks = batch * head_tasks * ((seq_q + q_per_tile - 1) / q_per_tile);
  const int64_t kv_tiles = (seq_kv + tile_kv - 1) / tile_kv;
  int64_t want;
  if (tasks <= 0 || kv_tiles <= 1 || tasks >= 4 * (int64_t)threads) return 1;
  want = (4 * (int64_t)threads + tasks - 1) / tasks;
  if (want > max_splits) want = max_splits;
  if (want > kv_tiles) want = kv_tiles;
  return want < 1 ? 1 : (int32_t)want;
}

/* The lse output [batch, heads, seq_q] as the pipeline sees it: a 4-d buffer
 * sharing out's loops, (value_dim with stride 0, then out's dims innermost
 * first: seq, heads, batch for bhsd; heads, seq, batch for bshd). Writes
 * extents and strides, innermost first. */
static inline void attnc_x86_lse_view(const int64_t shape[3], const int64_t stride[3], int64_t value_dim, int bshd,
                                      int32_t extent[4], int32_t stride_out[4]) {
  const int inner = bshd ? 1 : 2, outer = bshd ? 2 : 1; /* lse dims 1 = heads, 2 = seq */
  extent[0] = (int32_t)value_dim;
  stride_out[0] = 0;
  extent[1] = (int32_t)shape[inner];
  stride_out[1] = (int32_t)stride[inner];
  extent[2] = (int32_t)shape[outer];
  stride_out[2] = (int32_t)stride[outer];
  extent[3] = (int32_t)shape[0];
  stride_out[3] = (int32_t)stride[0];
}

#endif /* ATTNC_X86_POLICY_H */
