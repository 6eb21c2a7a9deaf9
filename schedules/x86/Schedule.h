// The x86 schedule: every knob of the Halide kernel that changes speed and
// never results (beyond rounding). Plain data: the driver, the tuner and the
// tests build and print schedules without Halide or MLIR.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace attnc {
struct KernelDesc;
}

namespace attnc::x86 {

/// The instruction set a kernel is compiled for.
enum class Isa { Avx2, Avx512 };
const char *isaName(Isa isa);
/// The best ISA this CPU runs (AVX-512 where present, else AVX2).
Isa hostIsa();
/// Whether this CPU has (and its OS enabled) AVX-512 with bf16 dot products.
bool hostHasBf16Dot();
/// Whether this CPU has AMX tiles with bf16 products and the OS lets this
/// process use them (Linux: granted on request, arch_prctl XCOMP_PERM; asked
/// once per process).
bool hostHasAmx();
/// Lanes of an f32 vector register.
inline int lanes(Isa isa) { return isa == Isa::Avx512 ? 16 : 8; }

struct Schedule {
  /// Query positions per tile. A tile holds qPerTile * group rows: the query
  /// heads that share a kv head are packed into one tile (GQA packing).
  int qPerTile = 8;
  /// Key/value columns per tile: the unit of tile skipping and of the online
  /// softmax update. S and P tiles are rows x tileKv f32 each.
  int tileKv = 128;
  /// Lanes of the f32 vectors (16 on AVX-512, 8 on AVX2; less for tiny dims).
  int vector = 16;
  /// The Q.K^T register block: rowBlock rows (vectorized) x colBlock columns.
  int rowBlock = 32;
  int colBlock = 8;
  /// The P.V register block: pvRows rows x dvBlock value columns (vectorized).
  int pvRows = 8;
  int dvBlock = 32;
  /// Most kv splits per query tile; splits run in parallel and are merged
  /// (for decoding, where batch x heads x q-tiles is less than the cores).
  int maxSplits = 64;
  /// Q.K^T as dot products vectorized over head_dim (then one horizontal sum
  /// per score) rather than over rows: for tiles of fewer rows than a vector
  /// (decoding). rowBlock/colBlock are then unused.
  bool dotQK = false;
  /// Parallel tasks over (q-tile, batch) with all kv heads inside each kv
  /// tile, instead of over (q-tile, kv head, batch): reads bshd K/V rows whole.
  bool headsInner = false;
  /// P.V in one pass over each V tile (all value columns per kv row, O_t in
  /// L1) instead of register blocks (pvRows x dvBlock) that revisit V: for
  /// decoding, where V is read once and streams from memory.
  bool pvStream = false;
  /// f32 prefill: P.V in the Q.K^T register block (rowBlock rows in vector
  /// lanes x colBlock value columns, V broadcast), the state stored rows
  /// fastest, as the bf16dot prefill tile does: each V element is loaded once
  /// per row block instead of once per pvRows rows.
  bool pvLanes = false;
  /// Every query head in one tile (rows = qPerTile x heads, tasks over
  /// (q-tile, batch)): each kv row of a bshd cache, all kv heads, is read
  /// whole and contiguously. For decoding.
  bool allHeads = false;
  /// Software-prefetch the next kv tile's K and V during the current one.
  bool prefetch = true;
  /// The vectorized polynomial exp (about 1 ulp) instead of libm's scalar exp.
  bool fastExp = true;
  /// bf16 kernels: Q.K^T and P.V on the CPU's bf16 dot-product instruction
  /// (vdpbf16ps: 32 bf16 products summed in pairs into 16 f32 lanes), Q, K
  /// and V as stored and P rounded to bf16, where the other path converts
  /// everything to f32. Prefill tile: both products use the rowBlock x
  /// colBlock register block (rows in vector lanes; pvRxC is unused).
  /// Decode tile (dot pvstream): pairs of head_dim in the dot products' lanes,
  /// pairs of kv rows per P.V instruction. Needs avx512_bf16: a library
  /// carries the same pipeline without it and picks at run time, the JIT
  /// (`attnc bench`, the tests) drops it on a CPU without.
  bool bf16Dot = false;
  /// bf16 prefill on AMX tiles: Q.K^T and P.V as tile products (tdpbf16ps,
  /// 16 x 16 f32 results, 2 x 2 tiles per block) in two extern stages, the
  /// softmax, mask and score_mod in the Halide pipeline between them (rows in
  /// vector lanes). Needs tiles of 32-multiples (rows, kv, head_dim,
  /// value_dim). A library carries the same prefill without it and picks at
  /// run time; the JIT drops it on a CPU without AMX. Implies no bf16dot.
  bool amx = false;
  /// low_rank kv (MLA): the materialized form: each K and V tile is built
  /// from its latent rows (latent . k_up, latent . v_up, f32 sums, on the
  /// task's stack) and the attention runs as a dense one over head_dim and
  /// value_dim. Off: the absorbed form (q through k_up, the attention over
  /// the latent rows, v_up once per output row). The default is the cheaper
  /// by `mlaMaterializedCheaper`; additive scores and top-T need it.
  bool mlaMaterialized = false;

  bool operator==(const Schedule &) const = default;
  std::string str() const;  // "q8 kv128 v16 qk32x8 pv8x32 split64 fastexp" (+ " dot")
};

/// low_rank kv: whether the materialized form does fewer multiply-adds per
/// (pair, head) than the absorbed one, for tiles of `rows` packed rows:
/// materialized 2 (head_dim + value_dim) + 2 R (head_dim - rope + value_dim)
/// / rows (each tile's K and V rows built once for its rows), absorbed
/// 2 (R + rope) + 2 R (the q and output projections, per row, are left out:
/// amortized over seq_kv).
bool mlaMaterializedCheaper(const KernelDesc &d, int rows);

/// Rows of a query tile for this kernel.
int tileRows(const Schedule &s, const KernelDesc &d);

/// Adjusts `s` to the nearest legal schedule for the kernel and ISA (block
/// sizes dividing the dims and tiles they split). Returns notes on what changed.
std::vector<std::string> legalize(Schedule &s, const KernelDesc &d, Isa isa);

/// The default heuristic: good without tuning. `decode` is for seq_q <= 16.
Schedule defaultSchedule(const KernelDesc &d, Isa isa, bool decode);

/// A few legal schedules around the default, for tests and tuning.
std::vector<Schedule> candidateSchedules(const KernelDesc &d, Isa isa, bool decode);

/// Parses "q8 kv128 qk32x8 pv8x32 split4 exactexp dot nodot" (any subset of knobs, over
/// `base`). False, with `error`, on an unknown or malformed knob.
bool parseSchedule(const std::string &text, Schedule &s, std::string &error);

}  // namespace attnc::x86
