// The CUDA schedule: the tile shape of the FlashAttention-2 kernel
// (docs/cuda.md). Plain data: the driver, the tests and the nvcc checks build,
// print and legalize schedules without MLIR.
#pragma once

#include <cstdint>
#include <string>

namespace attnc {
struct KernelDesc;
}

namespace attnc::cuda {

/// The GPU generation a kernel is compiled for (all use mma.sync m16n8k16).
enum class Arch { Sm80, Sm86, Sm89, Sm90a };
const char *archName(Arch a);                 // "sm_80", ...
bool archFromName(const std::string &s, Arch &out);
/// Shared memory one block may opt in to (bytes): 163 KiB on sm_80, 99 KiB on
/// sm_86/sm_89, 227 KiB on sm_90a.
int64_t smemLimit(Arch a);

struct Schedule {
  /// Warps along the query rows; each owns mTiles x 16 (packed) rows.
  int warpsM = 4;
  /// Warps along the kv tile; each owns blockN columns of it. More than one
  /// only for decoding, where a tile has few rows: the warps' partial
  /// softmax states are merged through shared memory at the end.
  int warpsN = 1;
  /// Warps along the value columns: each holds value_dim / warpsD columns of
  /// O (the f32 path with value_dim > 128, where one warp's O would not fit
  /// in registers); they compute the same S.
  int warpsD = 1;
  int mTiles = 1;
  /// Key/value columns per warp and tile (a multiple of 16).
  int blockN = 64;
  /// K/V tiles in flight: 2 double-buffers with cp.async, 1 loads then computes.
  int stages = 2;
  /// Most kv splits (split-KV) per query tile; chosen per call up to this.
  int maxSplits = 64;
  /// `low_rank kv` only: the materialized form (`mlamat`: each block builds
  /// its K and V tiles from the latent tile through k_up and v_up on tensor
  /// cores, the attention runs over head_dim) instead of the absorbed one
  /// (`mlaabs`: the attention runs in the latent space). One form per kernel:
  /// the prefill schedule's; the decode schedule follows it.
  bool mlaMaterialized = false;

  int blockM() const { return warpsM * mTiles * 16; }  // packed query rows per block
  int tileKv() const { return warpsN * blockN; }       // kv rows per tile
  int threads() const { return 32 * warpsM * warpsN * warpsD; }
  std::string str() const;  // "wm4 wn1 wd1 mt1 n64 s2 split64" (+ " mlamat")
};

/// Whether `s` runs `d` in the materialized MLA form (low_rank kv and mlamat).
bool materialized(const KernelDesc &d, const Schedule &s);

/// The dims the attention's tiles run over: head_dim and value_dim, or for
/// `low_rank kv` in the absorbed form (`mat` false) rank + rope and rank.
int64_t tileHeadDim(const KernelDesc &d, bool mat = false);
int64_t tileValueDim(const KernelDesc &d, bool mat = false);

/// Element counts the kernel pads the tiles' head_dim and value_dim to (16 for the
/// tensor-core dtypes; f32 rows only to whole 16-byte chunks and 8 columns).
int64_t paddedHeadDim(const KernelDesc &d, bool mat = false);
int64_t paddedValueDim(const KernelDesc &d, bool mat = false);
/// Materialized MLA: the latent row (rank + rope) padded as a head_dim, and
/// the rank padded to whole mma k-steps (16; f32 4).
int64_t paddedLatentDim(const KernelDesc &d);
int64_t paddedRank(const KernelDesc &d);

/// Parts of the query tile: 2 for absorbed `low_rank kv` on tensor cores
/// (the latent query as hi + lo in f16/bf16, two products per K fragment:
/// near-f32 scores), else 1.
int qParts(const KernelDesc &d, bool mat = false);
/// Parts of the key tile: 2 for materialized `low_rank kv` on tensor cores
/// (each built key as hi + lo, for the same reason), else 1.
int kParts(const KernelDesc &d, bool mat);

/// The cost model between the two MLA forms (multiply-adds per (query row,
/// key) pair of one head): absorbed 2 (R + P) + R on tensor cores (the hi +
/// lo latent query), materialized 2 D + Dv plus building the K and V tiles,
/// R (D - P + Dv) per key shared by the `rows` packed query rows of a block.
bool mlaMaterializedCheaper(const KernelDesc &d, int rows);
/// Whether a `low_rank kv` spec fits a form's limits: rank + rope <= 1024
/// (the latent tile) and rank <= 512 (absorbed: the value tiles) or head_dim
/// and value_dim <= 512 (materialized).
bool mlaFormFits(const KernelDesc &d, bool mat);
/// Why the cuda target cannot run `d` at any schedule ("" when it can).
std::string unsupportedDims(const KernelDesc &d);

/// Dynamic shared memory of the kernel for this schedule, in bytes. The
/// generated kernel static_asserts the same figure.
int64_t smemBytes(const KernelDesc &d, const Schedule &s);

/// The default for a spec: prefill tiles by head_dim (64 rows x 64 kv for
/// head_dim <= 128, 128 x 64 for <= 64, 64 x 32 above), decode tiles of 16
/// rows with 4 warps along kv; then legalized for the arch.
Schedule defaultSchedule(const KernelDesc &d, Arch arch, bool decode);

/// Makes `s` legal: blockN a multiple of 16, counts in range, shared memory
/// within the arch's limit (shrinking blockN, then stages, then warps).
/// False, with `why`, when no shrinking fits.
bool legalize(const KernelDesc &d, Arch arch, Schedule &s, std::string &why);

/// A card's published dense peaks (no structured sparsity) and memory
/// bandwidth (NVIDIA's data sheets; docs/compression.md, "Roofline"), with
/// its SM count and shared memory per SM for the occupancy model.
struct Card {
  const char *name;
  double tensorTflops;  // f16/bf16 tensor cores, f32 accumulate
  double f32Tflops;     // f32 FMA (the SIMT path of f32 specs)
  double gbs;           // memory bandwidth
  int sms;
  int64_t smemPerSm;    // bytes
};
/// A100, H100, H200, L40S or A10; null for another name.
const Card *findCard(const std::string &name);
/// The card an arch stands for by default: sm_80 A100, sm_86 A10, sm_89 L40S, sm_90a H100.
std::string defaultCard(Arch a);

/// The cost model of a schedule on a card (seconds, "" card: the arch's):
/// the blocks of a call (query tiles x kv heads x the splits the host would
/// choose), the tiles' padded work (plus a kv tile's fixed cost, as 16
/// columns per warp) on the card's peak, in waves of the
/// blocks that fit on an SM at once (shared memory, threads), derated below
/// 8 resident warps per SM (too few to hide latency), against the K/V bytes
/// every block streams (once from memory, the re-reads of other query tiles
/// from L2 at 2.5x the memory bandwidth), plus split-KV's combine (the
/// partial rows written and read back, one more launch). For ranking, not
/// promising.
/// `regs` (from `ptxas -v`; 0 when unknown) limits the blocks per SM too
/// (65536 registers per SM, allocated per warp in multiples of 8 per thread).
double modelSeconds(const KernelDesc &d, const Schedule &s, Arch arch, const std::string &card, int64_t batch,
                    int64_t seqQ, int64_t seqKv, int regs = 0);

/// Knobs over `s`, e.g. "wm2 wn1 wd1 mt1 n32 s1 split16". False, with `error`.
bool parseSchedule(const std::string &text, Schedule &s, std::string &error);

}  // namespace attnc::cuda
