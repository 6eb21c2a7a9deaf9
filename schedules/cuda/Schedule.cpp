#include "schedules/cuda/Schedule.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>

#include <fmt/format.h>

#include "lowering/kernel/KernelDesc.h"

namespace attnc::cuda {

const char *archName(Arch a) {
  switch (a) {
  case Arch::Sm80: return "sm_80";
  case Arch::Sm86: return "sm_86";
  case Arch::Sm89: return "sm_89";
  case Arch::Sm90a: return "sm_90a";
  }
  return "sm_80";
}

bool archFromName(const std::string &s, Arch &out) {
  for (Arch a : {Arch::Sm80, Arch::Sm86, Arch::Sm89, Arch::Sm90a})
    if (s == archName(a)) {
      out = a;
      return true;
    }
  return false;
}

int64_t smemLimit(Arch a) {
  switch (a) {
  case Arch::Sm80: return 163 * 1024;
  case Arch::Sm86:
  case Arch::Sm89: return 99 * 1024;
  case Arch::Sm90a: return 227 * 1024;
  }
  return 99 * 1024;
}

std::string Schedule::str() const {
  return fmt::format("wm{} wn{} wd{} mt{} n{} s{} split{}{}", warpsM, warpsN, warpsD, mTiles, blockN, stages, maxSplits,
                     mlaMaterialized ? " mlamat" : "");
}

namespace {
int64_t roundUp(int64_t x, int64_t m) { return (x + m - 1) / m * m; }
bool tensorCores(const KernelDesc &d) { return d.dtype != dsl::DType::F32; }
int64_t elemBytes(const KernelDesc &d) { return tensorCores(d) ? 2 : 4; }

/// Bytes of a SmemTile<rows, chunks> (attnc_device.cuh): rows padded to an
/// odd number of 16-byte chunks unless the XOR swizzle applies.
int64_t tileBytes(int64_t rows, int64_t chunks) {
  int64_t stride = chunks % 8 == 0 ? chunks : (chunks % 2 ? chunks : chunks + 1);
  return rows * stride * 16;
}
}  // namespace

static bool mlaKv(const KernelDesc &d) { return d.lowRank == KernelDesc::LowRank::Kv; }

bool materialized(const KernelDesc &d, const Schedule &s) { return mlaKv(d) && s.mlaMaterialized; }

int64_t tileHeadDim(const KernelDesc &d, bool mat) { return mlaKv(d) && !mat ? d.rank + d.ropeDim : d.headDim; }
int64_t tileValueDim(const KernelDesc &d, bool mat) { return mlaKv(d) && !mat ? d.rank : d.valueDim; }

int64_t paddedHeadDim(const KernelDesc &d, bool mat) {
  return tensorCores(d) ? roundUp(tileHeadDim(d, mat), 16) : roundUp(tileHeadDim(d, mat), 4);
}
int64_t paddedValueDim(const KernelDesc &d, bool mat) {
  return tensorCores(d) ? roundUp(tileValueDim(d, mat), 16) : roundUp(tileValueDim(d, mat), 8);
}
int64_t paddedLatentDim(const KernelDesc &d) { return paddedHeadDim(d, false); }
int64_t paddedRank(const KernelDesc &d) { return roundUp(d.rank, tensorCores(d) ? 16 : 4); }

int qParts(const KernelDesc &d, bool mat) { return mlaKv(d) && !mat && tensorCores(d) ? 2 : 1; }
int kParts(const KernelDesc &d, bool mat) { return mlaKv(d) && mat && tensorCores(d) ? 2 : 1; }

bool mlaFormFits(const KernelDesc &d, bool mat) {
  if (d.rank + d.ropeDim > 1024) return false;  // (the latent tile, either form)
  return mat ? d.headDim <= 512 && d.valueDim <= 512 : d.rank <= 512;
}

std::string unsupportedDims(const KernelDesc &d) {
  if (mlaKv(d))
    return mlaFormFits(d, false) || mlaFormFits(d, true)
               ? ""
               : fmt::format("low_rank kv rank {} rope {} over head_dim {} / value_dim {}: the cuda target supports "
                             "rank + rope up to 1024, and a rank up to 512 (absorbed) or head_dim and value_dim up "
                             "to 512 (materialized)",
                             d.rank, d.ropeDim, d.headDim, d.valueDim);
  return d.headDim > 512 || d.valueDim > 512
             ? fmt::format("head_dim {} / value_dim {}: the cuda target supports up to 512", d.headDim, d.valueDim)
             : "";
}

bool mlaMaterializedCheaper(const KernelDesc &d, int rows) {
  const double R = double(d.rank), P = double(d.ropeDim), D = double(d.headDim), Dv = double(d.valueDim);
  const double parts = tensorCores(d) ? 2 : 1;  // hi + lo: the latent query's, or the built key's
  const double materialized = parts * D + Dv + R * (D - P + Dv) / std::max(rows, 1);
  const double absorbed = parts * (R + P) + R;
  return materialized < absorbed;
}

int64_t smemBytes(const KernelDesc &d, const Schedule &s) {
  const bool mat = materialized(d, s);
  const int64_t eb = elemBytes(d), dChunks = paddedHeadDim(d, mat) * eb / 16,
                dvChunks = paddedValueDim(d, mat) * eb / 16;
  const int64_t bm = s.blockM(), bn = s.tileKv(), warps = s.warpsM * s.warpsN * s.warpsD;
  int64_t q = tileBytes(bm, dChunks * qParts(d, mat)), k = tileBytes(bn, dChunks * kParts(d, mat)),
          v = tileBytes(bn, dvChunks);
  // Materialized MLA: the latent tiles are double-buffered (cp.async), the
  // K and V built from the current one are not.
  int64_t loop = mat ? q + k + v + s.stages * tileBytes(bn, paddedLatentDim(d) * eb / 16) : q + s.stages * (k + v);
  if (!tensorCores(d)) loop += warps * s.mTiles * 16 * s.blockN * 4;  // P of each warp, f32
  if (d.additive) {
    const int64_t group = d.tileGroup();  // query heads per kv head in a block
    loop += (bm + bn + group) * d.units * 4;  // q and k projections, add_v of the group
  }
  // Merging the warps along kv: each warp's O rows (f32) and (m, l) per row.
  int64_t merge = s.warpsN > 1 ? q + s.warpsN * s.mTiles * 16 * (paddedValueDim(d, mat) + 2) * 4 : 0;
  return std::max(loop, merge);
}

Schedule defaultSchedule(const KernelDesc &d, Arch arch, bool decode) {
  Schedule s;
  // The MLA form first (the tiles depend on it), for the whole kernel: by the
  // cost model at a prefill block's 64 packed rows, whether this is the
  // decode schedule or not (both run one form); additive scores stay
  // absorbed (their key projection folds into the latent, mla_wk_kernel).
  s.mlaMaterialized = mlaKv(d) && ((mlaFormFits(d, true) && !d.additive && mlaMaterializedCheaper(d, 64)) ||
                                    !mlaFormFits(d, false));
  const bool mat = s.mlaMaterialized;
  const int64_t D = std::max(tileHeadDim(d, mat), tileValueDim(d, mat)), Dv = tileValueDim(d, mat);
  if (decode) {
    s.warpsM = 1;
    s.warpsN = D <= 128 ? 4 : 2;
    s.mTiles = 1;
    s.blockN = D <= 64 ? 32 : 16;
  } else if (D <= 64) {
    // 128 x 64 tiles (two m-tiles per warp) where registers and shared
    // memory allow; sm_86/sm_89 (99 KiB, as FlashAttention-2 does for sm8x)
    // take 64 x 64.
    s.warpsM = 4;
    s.mTiles = arch == Arch::Sm86 || arch == Arch::Sm89 ? 1 : 2;
    s.blockN = 64;
  } else if (D <= 128) {
    // 64 x 64. Two m-tiles (FlashAttention-2's 128 x 64) need about 255
    // registers per thread here and spill for some specs (MQA's packed
    // rows): tests/cuda/nvcc_check.sh fails on any spill, so one m-tile.
    s.warpsM = 4;
    s.mTiles = 1;
    s.blockN = 64;
  } else {
    s.warpsM = 4;
    s.mTiles = 1;
    s.blockN = 32;
  }
  if (Dv > 256) s.warpsD = 2;  // a warp holds at most 16 rows x 256 columns of O
  if (d.dtype == dsl::DType::F32) {  // the SIMT path: no registers to spare for two m-tiles
    s.mTiles = 1;
    s.blockN = std::min(s.blockN, decode ? 16 : 32);
    if (Dv > 128) {  // 16 rows x 256 f32 columns would fill a warp's registers
      s.warpsD = Dv > 256 ? 4 : 2;
      if (!decode) s.warpsM = 2;  // 4 warps in all: 255 registers each would not fit 8
    }
  }
  if (d.sparseBlock > 0) {
    // Tiles inside the sparse blocks where the tile shapes allow (a kv tile
    // of whole 16-row steps dividing B, fewer m-tiles): a kept tile then lies
    // in one block and needs no block test (docs/cuda.md, "Block sparsity").
    while (s.mTiles > 1 && s.blockM() > d.sparseBlock * d.tileGroup()) --s.mTiles;
    while (s.blockN > 16 && d.sparseBlock % s.tileKv() != 0) s.blockN /= 2;
  }
  std::string why;
  legalize(d, arch, s, why);
  return s;
}

bool legalize(const KernelDesc &d, Arch arch, Schedule &s, std::string &why) {
  s.warpsM = std::clamp(s.warpsM, 1, 8);
  s.warpsN = std::clamp(s.warpsN, 1, 8);
  if (s.warpsN > 1) s.warpsM = 1;  // warps split the rows or the kv tile, not both
  s.warpsD = s.warpsD >= 4 ? 4 : (s.warpsD >= 2 ? 2 : 1);
  if (s.mlaMaterialized && !mlaKv(d)) s.mlaMaterialized = false;
  if (mlaKv(d)) {
    // Each form's limits (mlaFormFits); where only one fits, that one.
    const bool abs = mlaFormFits(d, false), matOk = mlaFormFits(d, true);
    if (s.mlaMaterialized ? !matOk && abs : !abs && matOk) s.mlaMaterialized = !s.mlaMaterialized;
  }
  const bool mat = materialized(d, s);
  // Each warp's share of the value columns: whole 8-column n-tiles, an even
  // number of them on tensor cores (ldmatrix.x4 loads two).
  while (s.warpsD > 1 && paddedValueDim(d, mat) % ((d.dtype == dsl::DType::F32 ? 8 : 16) * s.warpsD) != 0) s.warpsD /= 2;
  while (s.warpsM * s.warpsN * s.warpsD > 16) s.warpsM > 1 ? s.warpsM /= 2 : s.warpsD /= 2;
  s.mTiles = std::clamp(s.mTiles, 1, 4);
  s.blockN = std::clamp((s.blockN + 15) / 16 * 16, 16, 256);
  s.stages = std::clamp(s.stages, 1, 2);
  s.maxSplits = std::clamp(s.maxSplits, 1, 1024);
  if (std::string no = unsupportedDims(d); !no.empty()) {
    why = no;
    return false;
  }
  const int64_t limit = smemLimit(arch);
  while (smemBytes(d, s) > limit) {
    if (s.blockN > 16) s.blockN /= 2;
    else if (s.stages > 1) s.stages = 1;
    else if (s.mTiles > 1) --s.mTiles;
    else if (s.warpsM > 1) s.warpsM /= 2;
    else if (s.warpsN > 1) s.warpsN /= 2;
    else if (s.warpsD > 1) s.warpsD /= 2;
    else {
      why = fmt::format("no tile of `{}` fits the {} bytes of shared memory of {} (head_dim {}, value_dim {})",
                        d.name, limit, archName(arch), tileHeadDim(d, mat), tileValueDim(d, mat));
      return false;
    }
  }
  return true;
}

namespace {
constexpr Card kCards[] = {
    {"A100", 312.0, 19.5, 2039.0, 108, 164 * 1024},  // A100 SXM4 80 GB
    {"H100", 989.4, 66.9, 3350.0, 132, 228 * 1024},  // H100 SXM5
    {"H200", 989.4, 66.9, 4800.0, 132, 228 * 1024},  // H200 SXM
    {"L40S", 362.1, 91.6, 864.0, 142, 100 * 1024},
    {"A10", 125.0, 31.2, 600.0, 72, 100 * 1024},
};
}  // namespace

const Card *findCard(const std::string &name) {
  for (const Card &c : kCards)
    if (name == c.name) return &c;
  return nullptr;
}

std::string defaultCard(Arch a) {
  switch (a) {
  case Arch::Sm80: return "A100";
  case Arch::Sm86: return "A10";
  case Arch::Sm89: return "L40S";
  case Arch::Sm90a: return "H100";
  }
  return "H100";
}

double modelSeconds(const KernelDesc &d, const Schedule &s, Arch arch, const std::string &cardName, int64_t batch,
                    int64_t seqQ, int64_t seqKv, int regs) {
  const Card *card = findCard(cardName.empty() ? defaultCard(arch) : cardName);
  if (!card) card = findCard(defaultCard(arch));
  const bool mat = materialized(d, s), tc = tensorCores(d);
  const double D = double(paddedHeadDim(d, mat)), Dv = double(paddedValueDim(d, mat)), eb = double(elemBytes(d));
  const int64_t kvHeads = d.kvHeads, group = d.tileGroup();
  const int64_t qTiles = (seqQ * group + s.blockM() - 1) / s.blockM(), kvTiles = (seqKv + s.tileKv() - 1) / s.tileKv();
  int64_t blocks = batch * kvHeads * qTiles, splits = 1;
  if (blocks < card->sms && kvTiles > 1)  // the host's choice (Host.cuh): fill the device twice over
    splits = std::min<int64_t>({(2 * card->sms + blocks - 1) / blocks, s.maxSplits, kvTiles});
  blocks *= splits;
  const int64_t smem = smemBytes(d, s);
  if (smem > smemLimit(arch)) return std::numeric_limits<double>::infinity();
  const int64_t byRegs = regs > 0 ? 65536 / (int64_t((regs + 7) / 8 * 8) * s.threads()) : 32;
  const int64_t perSm = std::max<int64_t>(1, std::min<int64_t>({card->smemPerSm / std::max<int64_t>(smem, 1),
                                                                2048 / s.threads(), 32, byRegs}));
  const double waves = std::ceil(double(blocks) / double(card->sms * perSm));
  // Blocks resident on an SM at once, and the warps they give it to hide latency.
  const double resident = double(std::min<int64_t>(perSm, (blocks + card->sms - 1) / card->sms));
  const double hide = std::min(1.0, resident * double(s.threads() / 32) / 8.0);
  const double qk = D * qParts(d, mat) * kParts(d, mat);
  // A kv tile's fixed cost (barriers, cp.async waits, the softmax's row
  // reductions) taken as 16 more columns of work per warp.
  const double blockFlops = double(s.blockM()) * double(kvTiles) / double(splits) * double(s.tileKv()) * 2 * (qk + Dv) *
                            (1.0 + 16.0 / double(s.blockN));
  const double peakPerSm = (tc ? card->tensorTflops : card->f32Tflops) * 1e12 / card->sms;
  const double compute = waves * resident * blockFlops / (peakPerSm * hide);
  // K/V bytes: once from memory; the other query tiles' reads of them mostly
  // hit L2, taken at 2.5x the memory bandwidth.
  const double streamed = double(blocks) * double(kvTiles) / double(splits) * double(s.tileKv()) * (D + Dv) * eb;
  const double unique = double(batch) * double(kvHeads) * double(seqKv) * (D + Dv) * eb;
  const double memory = unique / (card->gbs * 1e9) + std::max(0.0, streamed - unique) / (2.5 * card->gbs * 1e9);
  // Split-KV's price: each split's partial rows (Dv values and an lse, f32)
  // written by the attention blocks and read back by combine_kernel, which
  // is one more launch (about 4 us on these cards).
  double combine = 0;
  if (splits > 1) {
    const double partial = double(batch) * double(d.heads) * double(seqQ) * double(splits) * (double(d.valueDim) + 1) * 4;
    combine = 2 * partial / (card->gbs * 1e9) + 4e-6;
  }
  return std::max(compute, memory) + combine;
}

bool parseSchedule(const std::string &text, Schedule &s, std::string &error) {
  std::istringstream in(text);
  std::string w;
  while (in >> w) {
    size_t i = 0;
    while (i < w.size() && std::isalpha(static_cast<unsigned char>(w[i]))) ++i;
    const std::string key = w.substr(0, i), num = w.substr(i);
    if (w == "mlamat" || w == "mlaabs") {  // (no number: the MLA form)
      s.mlaMaterialized = w == "mlamat";
      continue;
    }
    static const char *const kKnobs[] = {"wm", "wn", "wd", "mt", "n", "s", "split"};
    if (std::find(std::begin(kKnobs), std::end(kKnobs), key) == std::end(kKnobs)) {
      error = fmt::format("cuda schedule: unknown knob `{}` (knobs: wm wn wd mt n s split, each with a number: "
                          "\"wm4 n64 s2\"; mlamat or mlaabs for low_rank kv)", w);
      return false;
    }
    int v = 0;
    try {
      size_t used = 0;
      v = std::stoi(num, &used);
      if (used != num.size() || v < 1) throw std::invalid_argument("");
    } catch (...) {
      error = fmt::format("cuda schedule: `{}` needs a positive number (as in `n64`)", w);
      return false;
    }
    if (key == "wm") s.warpsM = v;
    else if (key == "wn") s.warpsN = v;
    else if (key == "wd") s.warpsD = v;
    else if (key == "mt") s.mTiles = v;
    else if (key == "n") s.blockN = v;
    else if (key == "s") s.stages = v;
    else s.maxSplits = v;  // split
  }
  return true;
}

}  // namespace attnc::cuda
