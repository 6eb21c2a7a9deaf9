#include "lowering/ToCuda.h"

#include <cmath>
#include <sstream>

#include <fmt/format.h>

#include "lowering/AbiText.h"

namespace attnc::cuda {

namespace {

const char *valType(ValType t) {
  switch (t) {
  case ValType::Int: return "int32_t";
  case ValType::Float: return "float";
  case ValType::Bool: return "bool";
  }
  return "float";
}

std::string floatLit(double v) {
  if (std::isnan(v)) return "NAN";
  if (std::isinf(v)) return v > 0 ? "INFINITY" : "-INFINITY";
  std::string s = fmt::format("{:.9g}", v);
  if (s.find_first_of(".e") == std::string::npos) s += ".0";
  return s + "f";
}

const char *elemType(dsl::DType t) {
  switch (t) {
  case dsl::DType::F32: return "float";
  case dsl::DType::F16:
  case dsl::DType::BF16: return "uint16_t";
  case dsl::DType::I32: return "int32_t";
  case dsl::DType::U8: return "uint8_t";
  }
  return "float";
}

/// One region program as the body of a device function: one C++ statement per
/// instruction, registers r0..r4 being score, b, h, q_idx, kv_idx.
class RegionWriter {
public:
  RegionWriter(const KernelDesc &d, std::ostringstream &o) : d_(d), o_(o) {}

  bool write(const Program &p, std::string &error) {
    for (const Instr &in : p.code)
      if (!instr(in, error)) return false;
    o_ << "  return " << reg(p.result) << ";\n";
    return true;
  }

private:
  std::string reg(int32_t r) const {
    static const char *fixed[] = {"score", "b", "h", "q_idx", "kv_idx"};
    return r < 5 ? fixed[r] : fmt::format("r{}", r);
  }

  bool instr(const Instr &in, std::string &error) {
    const std::string a = reg(in.a), b = reg(in.b), c = reg(in.c);
    std::string e;
    auto wrap = [&](const char *op) {
      return fmt::format("(int32_t)((uint32_t){} {} (uint32_t){})", a, op, b);
    };
    switch (in.code) {
    case Code::Const:
      e = in.type == ValType::Float  ? floatLit(in.imm)
          : in.type == ValType::Bool ? (in.imm != 0 ? "true" : "false")
                                     : fmt::format("(int32_t){}", static_cast<int64_t>(in.imm));
      break;
    case Code::SeqQ: e = "p.seq_q"; break;
    case Code::SeqKv: e = "p.seq_kv"; break;
    case Code::AddI: e = wrap("+"); break;
    case Code::SubI: e = wrap("-"); break;
    case Code::MulI: e = wrap("*"); break;
    case Code::DivI: e = fmt::format("attnc_divi({}, {})", a, b); break;
    case Code::RemI: e = fmt::format("attnc_remi({}, {})", a, b); break;
    case Code::MinI: e = fmt::format("({0} < {1} ? {0} : {1})", a, b); break;
    case Code::MaxI: e = fmt::format("({0} > {1} ? {0} : {1})", a, b); break;
    case Code::AbsI: e = fmt::format("(int32_t)({0} < 0 ? 0u - (uint32_t){0} : (uint32_t){0})", a); break;
    case Code::AddF: e = fmt::format("{} + {}", a, b); break;
    case Code::SubF: e = fmt::format("{} - {}", a, b); break;
    case Code::MulF: e = fmt::format("{} * {}", a, b); break;
    case Code::DivF: e = fmt::format("{} / {}", a, b); break;
    case Code::RemF: e = fmt::format("fmodf({}, {})", a, b); break;
    case Code::NegF: e = "-" + a; break;
    case Code::MinF: e = fmt::format("attnc_fmin_nan({}, {})", a, b); break;
    case Code::MaxF: e = fmt::format("attnc_fmax_nan({}, {})", a, b); break;
    case Code::AbsF: e = fmt::format("fabsf({})", a); break;
    case Code::Exp: e = fmt::format("expf({})", a); break;
    case Code::Exp2: e = fmt::format("exp2f({})", a); break;
    case Code::Log: e = fmt::format("logf({})", a); break;
    case Code::Log2: e = fmt::format("log2f({})", a); break;
    case Code::Sqrt: e = fmt::format("sqrtf({})", a); break;
    case Code::Rsqrt: e = fmt::format("1.0f / sqrtf({})", a); break;
    case Code::Tanh: e = fmt::format("tanhf({})", a); break;
    case Code::Floor: e = fmt::format("floorf({})", a); break;
    case Code::Ceil: e = fmt::format("ceilf({})", a); break;
    case Code::CmpI: {
      static const char *ops[] = {"==", "!=", "<", "<=", ">", ">=", "<", "<=", ">", ">="};
      if (in.pred > 9) return bad(in, error);
      e = in.pred >= 6 ? fmt::format("(uint32_t){} {} (uint32_t){}", a, ops[in.pred], b)
                       : fmt::format("{} {} {}", a, ops[in.pred], b);
      break;
    }
    case Code::CmpF: {
      using P = CmpFPred;
      switch (static_cast<P>(in.pred)) {
      case P::False: e = "false"; break;
      case P::OEQ: e = fmt::format("{} == {}", a, b); break;
      case P::OGT: e = fmt::format("{} > {}", a, b); break;
      case P::OGE: e = fmt::format("{} >= {}", a, b); break;
      case P::OLT: e = fmt::format("{} < {}", a, b); break;
      case P::OLE: e = fmt::format("{} <= {}", a, b); break;
      case P::ONE: e = fmt::format("({0} < {1} || {0} > {1})", a, b); break;
      case P::ORD: e = fmt::format("({0} == {0} && {1} == {1})", a, b); break;
      case P::UEQ: e = fmt::format("!({0} < {1} || {0} > {1})", a, b); break;
      case P::UGT: e = fmt::format("!({} <= {})", a, b); break;
      case P::UGE: e = fmt::format("!({} < {})", a, b); break;
      case P::ULT: e = fmt::format("!({} >= {})", a, b); break;
      case P::ULE: e = fmt::format("!({} > {})", a, b); break;
      case P::UNE: e = fmt::format("{} != {}", a, b); break;
      case P::UNO: e = fmt::format("({0} != {0} || {1} != {1})", a, b); break;
      case P::True: e = "true"; break;
      default: return bad(in, error);
      }
      break;
    }
    case Code::And: e = fmt::format("({} != 0) && ({} != 0)", a, b); break;
    case Code::Or: e = fmt::format("({} != 0) || ({} != 0)", a, b); break;
    case Code::Xor: e = fmt::format("({} != 0) != ({} != 0)", a, b); break;
    case Code::Select: e = fmt::format("{} ? {} : {}", a, b, c); break;
    case Code::IToF: e = fmt::format("(float){}", a); break;
    case Code::FToI: e = fmt::format("attnc_ftoi({})", a); break;
    case Code::Load: {
      if (in.input < 0 || in.input >= static_cast<int32_t>(d_.inputs.size())) return bad(in, error);
      const InputDesc &t = d_.inputs[in.input];
      const int32_t idx[4] = {in.a, in.b, in.c, static_cast<int32_t>(in.imm)};
      std::string off;
      for (size_t i = 0; i < t.dims.size(); ++i) {
        std::string v = i < static_cast<size_t>(in.numIdx) ? reg(idx[i]) : "0";
        off += fmt::format("{}attnc_clamp_idx({}, p.in_ext[{}][{}]) * p.in_str[{}][{}]", off.empty() ? "" : " + ", v,
                           in.input, i, in.input, i);
      }
      if (off.empty()) off = "0";
      std::string load =
          fmt::format("static_cast<const {} *>(p.in[{}])[{}]", elemType(t.dtype), in.input, off);
      if (t.dtype == dsl::DType::F16) load = "to_f32<F16>(" + load + ")";
      if (t.dtype == dsl::DType::BF16) load = "to_f32<BF16>(" + load + ")";
      e = fmt::format("({})({})", valType(in.type), load);
      o_ << fmt::format("  const {} {} = {};  // {}[...]\n", valType(in.type), reg(in.dst), e, t.name);
      return true;
    }
    }
    o_ << fmt::format("  const {} {} = {};\n", valType(in.type), reg(in.dst), e);
    return true;
  }

  bool bad(const Instr &in, std::string &error) {
    error = fmt::format("the cuda backend cannot translate region instruction {}", static_cast<int>(in.code));
    return false;
  }

  const KernelDesc &d_;
  std::ostringstream &o_;
};

/// The closed-form tile classification of the mask analysis as device code:
/// Empty when every interval of the possible set misses the tile, Full when
/// one interval of the certain set covers it (bounds are max/min of affine
/// functions of the row, so checking the tile's first and last row is exact
/// for covering and sound for missing).
std::string tileClassifier(const MaskInfo &m) {
  std::ostringstream o;
  auto aff = [](const Affine &a, const char *q) {
    return fmt::format("({}LL * {} + {}LL * seq_q + {}LL * seq_kv + {}LL)", a.q, q, a.sq, a.skv, a.c);
  };
  o << "ATTNC_DEVICE int tile_class_static(int64_t q0, int64_t q1, int64_t k0, int64_t k1, int64_t seq_q, "
       "int64_t seq_kv) {\n";
  if (!m.hasMask) {
    o << "  (void)q0, (void)q1, (void)k0, (void)k1, (void)seq_q, (void)seq_kv;\n  return kFull;  // no mask\n}\n";
    return o.str();
  }
  o << "  // pairs the mask may keep: " << m.outer.str() << "\n";
  o << "  bool maybe = false;\n";
  for (const KvInterval &iv : m.outer.parts) {
    std::string misses;
    for (const Affine &a : iv.lo)  // lower bound above k1 on every row
      misses += fmt::format("{}({} > k1 && {} > k1)", misses.empty() ? "" : " || ", aff(a, "q0"), aff(a, "q1"));
    for (const Affine &a : iv.hi)  // upper bound below k0 on every row
      misses += fmt::format("{}({} < k0 && {} < k0)", misses.empty() ? "" : " || ", aff(a, "q0"), aff(a, "q1"));
    if (misses.empty()) misses = "false";
    o << "  maybe = maybe || !(" << misses << ");\n";
  }
  o << "  if (!maybe) return kEmpty;\n";
  o << "  // pairs the mask certainly keeps: " << m.inner.str() << "\n";
  for (const KvInterval &iv : m.inner.parts) {
    std::string covers;
    for (const Affine &a : iv.lo)
      covers += fmt::format("{}{} <= k0 && {} <= k0", covers.empty() ? "" : " && ", aff(a, "q0"), aff(a, "q1"));
    for (const Affine &a : iv.hi)
      covers += fmt::format("{}{} >= k1 && {} >= k1", covers.empty() ? "" : " && ", aff(a, "q0"), aff(a, "q1"));
    if (covers.empty()) covers = "true";
    o << "  if (" << covers << ") return kFull;\n";
  }
  o << "  return " << (m.exact ? "kPartial;  // the intervals are exact: mask code on this tile only"
                               : "kRuntime;  // the mask reads inputs or is not affine: ask it, per tile")
    << "\n}\n";
  return o.str();
}

// The kernel proper. Spec-independent text; everything it needs from the spec
// is in the constants and device functions written above it.
const char *kKernelText = R"CU(
// ============================================================================
// The kernel: FlashAttention-2 (Dao, 2023) for one attention spec.
//
// A block owns kBM packed query rows of one kv head of one batch entry: row p
// is query position p / kGroup of query head hk * kGroup + p % kGroup, so the
// heads of a GQA group share every K/V tile the block loads (for decoding,
// the whole group sits in one 16-row tile). Warps split the rows (warp_m) and,
// when decoding, the kv tile (warp_n). For each kv tile of this block's split:
//   1. cp.async brings K and V into shared memory (next tile in flight while
//      this one is computed, when kStages == 2);
//   2. S = Q K^T with mma.sync m16n8k16 (f16/bf16, f32 accumulate) from
//      ldmatrix fragments; f32 specs compute the same fragments with FMAs;
//   3. score_mod, then the mask on partial tiles only (tiles the mask analysis
//      proves full run no mask code; empty tiles are never loaded);
//   4. online softmax in registers: running row max m and sum l, rescaling
//      O by exp2(m_old - m_new); the row reductions are quad shuffles;
//   5. O += P V, P converted to f16/bf16 in registers (the S accumulator
//      fragment of two n-tiles is the A fragment of one k-step).
// Finally O / l and lse = m + log(l) go to out/lse, or, with split-KV, to the
// workspace for combine_kernel.
// ============================================================================

constexpr int kEmpty = 0, kPartial = 1, kFull = 2, kRuntime = 3;

template <int WM, int WN, int WD, int MT, int BNW, int STAGES> struct Tiles {
  static constexpr int kWarps = WM * WN * WD, kThreads = 32 * kWarps;
  static constexpr int kBM = WM * MT * 16;  // packed query rows per block
  static constexpr int kBN = WN * BNW;      // kv rows per tile
  static constexpr int kNT = BNW / 8;       // 8-column n-tiles of S per warp
  static constexpr int kDvT = kDvPad / 8 / WD;  // 8-column n-tiles of O per warp (warps along dv: WD)
  using QS = SmemTile<kBM, kDChunks>;
  using KS = SmemTile<kBN, kDChunks>;
  using VS = SmemTile<kBN, kDvChunks>;
  // Shared memory: Q, K[kStages], V[kStages], (f32) P of each warp,
  // (additive) q and k projections and add_v; after the loop the warps along
  // kv merge their O through the space of K and V.
  static constexpr int kQOff = 0, kKOff = QS::kBytes, kVOff = kKOff + STAGES * KS::kBytes;
  static constexpr int kPOff = kVOff + STAGES * VS::kBytes;
  static constexpr int kProjOff = kPOff + (kTensorCores ? 0 : kWarps * MT * 16 * BNW * 4);
  static constexpr int kLoopEnd = kProjOff + (kAdditive ? (kBM + kBN + kGroup) * kUnits * 4 : 0);
  static constexpr int kMergeOff = QS::kBytes;
  static constexpr int kMergeEnd = WN > 1 ? kMergeOff + WN * MT * 16 * (kDvPad + 2) * 4 : 0;
  static constexpr int kSmem = kLoopEnd > kMergeEnd ? kLoopEnd : kMergeEnd;
  static_assert(BNW % 16 == 0, "kv columns per warp: a multiple of 16");
  static_assert(WN == 1 || WM == 1, "warps split rows or kv, not both");
  static_assert(kDvPad % (8 * WD) == 0 && (!kTensorCores || kDvT % 2 == 0), "value columns split evenly");
};

ATTNC_DEVICE float ld(const E &x) {
  if constexpr (kTensorCores) return to_f32<kDType>(x);
  else return x;
}
ATTNC_DEVICE E st(float x) {
  if constexpr (kTensorCores) return from_f32<kDType>(x);
  else return x;
}

/* Copies ROWS rows of N elements into a shared tile as 16-byte chunks:
 * cp.async where the row is 16-byte aligned, element by element otherwise;
 * missing rows (row() gives null) and the padding are zero-filled. */
template <class TILE, int ROWS, int CHUNKS, int N, int THREADS, class RowFn>
ATTNC_DEVICE void load_tile(unsigned char *tile, RowFn row, bool aligned) {
  for (int i = tid(); i < ROWS * CHUNKS; i += THREADS) {
    const int r = i / CHUNKS, c = i % CHUNKS;
    const E *src = row(r);
    void *dst = tile + TILE::chunk(r, c) * 16;
    int n = N - c * kChunkElems;
    n = n < 0 ? 0 : (n > kChunkElems ? kChunkElems : n);
    if (!src || n == 0) {
      // Zeros by a plain store: cp.async's zero-fill would still want a
      // 16-byte aligned source address, which an unaligned view lacks.
      uint32_t *d = static_cast<uint32_t *>(dst);
      d[0] = d[1] = d[2] = d[3] = 0u;
    } else if (n == kChunkElems && aligned) {
      cp_async16(dst, src + c * kChunkElems, 16);
    } else {
      E *d = static_cast<E *>(dst);
      ATTNC_UNROLL for (int e = 0; e < kChunkElems; ++e) d[e] = e < n ? src[c * kChunkElems + e] : E(0);
    }
  }
}

/* Element (r, col) of a shared tile. */
template <class TILE> ATTNC_DEVICE const E &at(const unsigned char *tile, int r, int col) {
  return reinterpret_cast<const E *>(tile + TILE::chunk(r, col / kChunkElems) * 16)[col % kChunkElems];
}

/* A tile the mask analysis could not decide: the block asks the mask on every
 * pair (CTA-wide vote). Called by every thread of the block. */
template <class T>
ATTNC_DEVICE int classify_runtime(const Params &p, int b, int hk, int p0, int rows, int k0, int k1) {
  bool any = false, all = true;
  const int nr = (rows - p0 < T::kBM ? rows - p0 : T::kBM), nc = k1 - k0 + 1;
  for (int i = tid(); i < nr * nc; i += T::kThreads) {
    const int pr = p0 + i / nc, kv = k0 + i % nc;
    const bool keep = mask_fn(p, b, hk * kGroup + pr % kGroup, pr / kGroup, kv);
    any = any || keep;
    all = all && keep;
  }
  if (sync_count(any) == 0) return kEmpty;
  return sync_count(!all) == 0 ? kFull : kPartial;
}

template <int WM, int WN, int WD, int MT, int BNW, int STAGES>
ATTNC_GLOBAL void ATTNC_LAUNCH_BOUNDS(32 * WM * WN * WD) attention_kernel(const Params p) {
  using T = Tiles<WM, WN, WD, MT, BNW, STAGES>;
  unsigned char *smem = dyn_smem();
  unsigned char *sQ = smem + T::kQOff;
  const int lane = static_cast<int>(tid() & 31), warp = static_cast<int>(tid() >> 5);
  const int wm = warp % WM, wn = (warp / WM) % WN, wd = warp / (WM * WN);
  const int cb = wd * T::kDvT * 8;  // this warp's first value column
  const int g = lane >> 2, t4 = lane & 3;  // mma fragment coordinates: row group, column pair
  const dim3 bid = block_idx();
  const int b = static_cast<int>(bid.z), hk = static_cast<int>(bid.y) % kKvHeads;
  const int split = static_cast<int>(bid.y) / kKvHeads;
  const int seq_q = p.seq_q, seq_kv = p.seq_kv, rows = seq_q * kGroup;
  // Blocks in reverse row order: under a causal mask the last rows have the
  // most tiles, and starting them first evens out the end of the grid.
  const int p0 = static_cast<int>(grid_dim().x - 1 - bid.x) * T::kBM;
  const int pos_first = p0 / kGroup, pos_last = ((p0 + T::kBM < rows ? p0 + T::kBM : rows) - 1) / kGroup;

  // The kv tiles of this block's split.
  const int nkt = (seq_kv + T::kBN - 1) / T::kBN, per = (nkt + p.nsplit - 1) / p.nsplit;
  const int t_begin = split * per, t_end = (t_begin + per < nkt ? t_begin + per : nkt);

  const E *qg = static_cast<const E *>(p.q), *kg = static_cast<const E *>(p.k), *vg = static_cast<const E *>(p.v);
  auto q_row = [&](int r) -> const E * {
    const int pr = p0 + r;
    if (pr >= rows) return nullptr;
    const int h = hk * kGroup + pr % kGroup;
    return qg + b * p.q_sb + h * p.q_sh + static_cast<int64_t>(pr / kGroup) * p.q_ss;
  };
  auto load_kv = [&](int tile, int stage) {
    const int k0 = tile * T::kBN;
    auto k_row = [&](int r) -> const E * {
      return k0 + r < seq_kv ? kg + b * p.k_sb + hk * p.k_sh + static_cast<int64_t>(k0 + r) * p.k_ss : nullptr;
    };
    auto v_row = [&](int r) -> const E * {
      return k0 + r < seq_kv ? vg + b * p.v_sb + hk * p.v_sh + static_cast<int64_t>(k0 + r) * p.v_ss : nullptr;
    };
    load_tile<typename T::KS, T::kBN, kDChunks, kHeadDim, T::kThreads>(smem + T::kKOff + stage * T::KS::kBytes,
                                                                      k_row, p.k_aligned);
    load_tile<typename T::VS, T::kBN, kDvChunks, kValueDim, T::kThreads>(smem + T::kVOff + stage * T::VS::kBytes,
                                                                        v_row, p.v_aligned);
  };
  // Empty, partial or full (see tile_class_static); a collective when it asks the mask.
  auto classify = [&](int tile) {
    const int k0 = tile * T::kBN, k1 = (k0 + T::kBN < seq_kv ? k0 + T::kBN : seq_kv) - 1;
    int c = tile_class_static(pos_first, pos_last, k0, k1, seq_q, seq_kv);
    if (c == kRuntime) c = classify_runtime<T>(p, b, hk, p0, rows, k0, k1);
    if (c == kFull && k0 + T::kBN > seq_kv) c = kPartial;  // the kv tail needs its bound check
    return c;
  };

  // Per thread: rows wm*MT*16 + mt*16 + g (+8) of O, m and l.
  float o[MT][T::kDvT][4];
  float m[MT][2], l[MT][2];
  ATTNC_UNROLL for (int mt = 0; mt < MT; ++mt) {
    ATTNC_UNROLL for (int j = 0; j < T::kDvT; ++j)
      ATTNC_UNROLL for (int i = 0; i < 4; ++i) o[mt][j][i] = 0.f;
    m[mt][0] = m[mt][1] = -INFINITY;
    l[mt][0] = l[mt][1] = 0.f;
  }

  int tile = t_begin, cls = kEmpty;
  while (tile < t_end && (cls = classify(tile)) == kEmpty) ++tile;
  load_tile<typename T::QS, T::kBM, kDChunks, kHeadDim, T::kThreads>(sQ, q_row, p.q_aligned);
  if (tile < t_end) load_kv(tile, 0);
  cp_async_commit();

  float *qp = reinterpret_cast<float *>(smem + T::kProjOff);  // additive: [kBM][kUnits]
  float *kp = qp + T::kBM * kUnits;                           // additive: [kBN][kUnits]
  float *av = kp + T::kBN * kUnits;                           // additive: [kGroup][kUnits]
  bool first = true;
  int stage = 0;
  while (tile < t_end) {
    int next = tile + 1, ncls = kEmpty;
    while (next < t_end && (ncls = classify(next)) == kEmpty) ++next;
    if (STAGES == 2 && next < t_end) {
      load_kv(next, stage ^ 1);
      cp_async_commit();
      cp_async_wait<1>();
    } else {
      cp_async_wait<0>();
    }
    block_sync();
    const unsigned char *sK = smem + T::kKOff + stage * T::KS::kBytes;
    const unsigned char *sV = smem + T::kVOff + stage * T::VS::kBytes;
    const int k0 = tile * T::kBN;

    if constexpr (kAdditive) {
      // The projections q.add_wq (once) and k.add_wk (per tile), in f32.
      const E *wq = static_cast<const E *>(p.add_wq), *wk = static_cast<const E *>(p.add_wk);
      if (first) {
        for (int i = tid(); i < T::kBM * kUnits; i += T::kThreads) {
          const int r = i / kUnits, u = i % kUnits, h = hk * kGroup + (p0 + r) % kGroup;
          float acc = 0.f;
          for (int x = 0; x < kHeadDim; ++x)
            acc += ld(at<typename T::QS>(sQ, r, x)) * ld(wq[h * p.wq_s[0] + x * p.wq_s[1] + u * p.wq_s[2]]);
          qp[i] = acc;
        }
        const E *wv = static_cast<const E *>(p.add_v);
        for (int i = tid(); i < kGroup * kUnits; i += T::kThreads)
          av[i] = ld(wv[(hk * kGroup + i / kUnits) * p.wv_s[0] + (i % kUnits) * p.wv_s[1]]);
      }
      for (int i = tid(); i < T::kBN * kUnits; i += T::kThreads) {
        const int r = i / kUnits, u = i % kUnits;
        float acc = 0.f;
        for (int x = 0; x < kHeadDim; ++x)
          acc += ld(at<typename T::KS>(sK, r, x)) * ld(wk[hk * p.wk_s[0] + x * p.wk_s[1] + u * p.wk_s[2]]);
        kp[i] = acc;
      }
      block_sync();
    }
    first = false;

    // ---- 2. S = Q K^T for this warp's rows and kv columns -------------------
    float s[MT][T::kNT][4];
    ATTNC_UNROLL for (int mt = 0; mt < MT; ++mt)
      ATTNC_UNROLL for (int nt = 0; nt < T::kNT; ++nt)
        ATTNC_UNROLL for (int i = 0; i < 4; ++i) s[mt][nt][i] = 0.f;
    if constexpr (kAdditive) {
      // score = sum_u add_v[h, u] * tanh(qp[row, u] + kp[col, u]), one unit at a time.
      for (int u = 0; u < kUnits; ++u) {
        ATTNC_UNROLL for (int mt = 0; mt < MT; ++mt)
          ATTNC_UNROLL for (int rr = 0; rr < 2; ++rr) {
            const int r = wm * MT * 16 + mt * 16 + g + rr * 8;
            const float a_u = av[((p0 + r) % kGroup) * kUnits + u], q_u = qp[r * kUnits + u];
            ATTNC_UNROLL for (int nt = 0; nt < T::kNT; ++nt)
              ATTNC_UNROLL for (int e = 0; e < 2; ++e)
                s[mt][nt][rr * 2 + e] += a_u * tanhf(q_u + kp[(wn * BNW + nt * 8 + 2 * t4 + e) * kUnits + u]);
          }
      }
    } else if constexpr (kTensorCores) {
      ATTNC_UNROLL for (int ks = 0; ks < kDChunks / 2; ++ks) {  // 16 elements of head_dim per step
        uint32_t a[MT][4];
        ATTNC_UNROLL for (int mt = 0; mt < MT; ++mt)
          ldsm_x4(a[mt], sQ + T::QS::chunk(wm * MT * 16 + mt * 16 + (lane & 15), ks * 2 + (lane >> 4)) * 16);
        ATTNC_UNROLL for (int n2 = 0; n2 < T::kNT / 2; ++n2) {
          uint32_t bk[4];  // B fragments of n-tiles 2*n2 and 2*n2+1 (K rows are S columns)
          ldsm_x4(bk, sK + T::KS::chunk(wn * BNW + n2 * 16 + (lane & 7) + ((lane >> 4) << 3),
                                        ks * 2 + ((lane >> 3) & 1)) * 16);
          ATTNC_UNROLL for (int mt = 0; mt < MT; ++mt) {
            mma16816<kDType>(s[mt][2 * n2], a[mt], bk);
            mma16816<kDType>(s[mt][2 * n2 + 1], a[mt], bk + 2);
          }
        }
      }
    } else {
      // f32: the same fragments, each lane's elements by FMA from shared
      // memory, one 4-element chunk of head_dim at a time (the accumulators
      // stay in registers; the chunk loop is not unrolled).
      for (int ch = 0; ch < kDChunks; ++ch) {
        ATTNC_UNROLL for (int mt = 0; mt < MT; ++mt) {
          const float *q0 = reinterpret_cast<const float *>(sQ + T::QS::chunk(wm * MT * 16 + mt * 16 + g, ch) * 16);
          const float *q1 = reinterpret_cast<const float *>(sQ + T::QS::chunk(wm * MT * 16 + mt * 16 + g + 8, ch) * 16);
          ATTNC_UNROLL for (int nt = 0; nt < T::kNT; ++nt)
            ATTNC_UNROLL for (int e = 0; e < 2; ++e) {
              const float *kc = reinterpret_cast<const float *>(sK + T::KS::chunk(wn * BNW + nt * 8 + 2 * t4 + e, ch) * 16);
              s[mt][nt][e] += q0[0] * kc[0] + q0[1] * kc[1] + q0[2] * kc[2] + q0[3] * kc[3];
              s[mt][nt][2 + e] += q1[0] * kc[0] + q1[1] * kc[1] + q1[2] * kc[2] + q1[3] * kc[3];
            }
        }
      }
    }

    // ---- 3. scale, score_mod, mask (partial tiles only) ----------------------
    ATTNC_UNROLL for (int mt = 0; mt < MT; ++mt)
      ATTNC_UNROLL for (int i = 0; i < 4; ++i) {
        const int pr = p0 + wm * MT * 16 + mt * 16 + g + (i >> 1) * 8;
        const int pos = pr / kGroup, h = hk * kGroup + pr % kGroup;
        ATTNC_UNROLL for (int nt = 0; nt < T::kNT; ++nt) {
          const int kv = k0 + wn * BNW + nt * 8 + 2 * t4 + (i & 1);
          float x = s[mt][nt][i];
          if constexpr (kSigmoid) {  // natural units: sigmoid(score + bias)
            x *= kScale;
            if constexpr (kScoreMod) x = score_mod_fn(p, x, b, h, pos, kv);
            x += bias_fn(p, b, h, pos, kv);
          } else if constexpr (kScoreMod) {  // log2 units from here on
            x = score_mod_fn(p, x * kScale, b, h, pos, kv) * kLog2e;
          } else {
            x *= kScaleLog2;
          }
          if (cls == kPartial) {
            bool keep = kv < seq_kv;
            if constexpr (kMask) keep = keep && mask_fn(p, b, h, pos, kv);
            if (!keep) x = -INFINITY;
          }
          s[mt][nt][i] = x;
        }
      }

    // ---- 4. online softmax (or sigmoid weights) ------------------------------
    ATTNC_UNROLL for (int mt = 0; mt < MT; ++mt)
      ATTNC_UNROLL for (int rr = 0; rr < 2; ++rr) {
        if constexpr (kSigmoid) {
          ATTNC_UNROLL for (int nt = 0; nt < T::kNT; ++nt)
            ATTNC_UNROLL for (int e = 0; e < 2; ++e) {
              float &x = s[mt][nt][rr * 2 + e];
              x = 1.f / (1.f + exp2_(-x * kLog2e));
            }
        } else {
          float mx = -INFINITY;
          ATTNC_UNROLL for (int nt = 0; nt < T::kNT; ++nt) mx = fmaxf(mx, fmaxf(s[mt][nt][rr * 2], s[mt][nt][rr * 2 + 1]));
          mx = quad_max(mx);
          const float mnew = fmaxf(m[mt][rr], mx), muse = mnew == -INFINITY ? 0.f : mnew;
          const float alpha = exp2_(m[mt][rr] - muse);
          m[mt][rr] = mnew;
          l[mt][rr] *= alpha;
          ATTNC_UNROLL for (int j = 0; j < T::kDvT; ++j) {
            o[mt][j][rr * 2] *= alpha;
            o[mt][j][rr * 2 + 1] *= alpha;
          }
          ATTNC_UNROLL for (int nt = 0; nt < T::kNT; ++nt)
            ATTNC_UNROLL for (int e = 0; e < 2; ++e) {
              float &x = s[mt][nt][rr * 2 + e];
              x = exp2_(x - muse);
              l[mt][rr] += x;  // this lane's part of the row sum; the quad adds up at the end
            }
        }
      }

    // ---- 5. O += P V -----------------------------------------------------------
    if constexpr (kTensorCores) {
      ATTNC_UNROLL for (int kk = 0; kk < BNW / 16; ++kk) {  // 16 kv rows per step
        uint32_t a[MT][4];
        ATTNC_UNROLL for (int mt = 0; mt < MT; ++mt) {
          a[mt][0] = pack2<kDType>(s[mt][2 * kk][0], s[mt][2 * kk][1]);
          a[mt][1] = pack2<kDType>(s[mt][2 * kk][2], s[mt][2 * kk][3]);
          a[mt][2] = pack2<kDType>(s[mt][2 * kk + 1][0], s[mt][2 * kk + 1][1]);
          a[mt][3] = pack2<kDType>(s[mt][2 * kk + 1][2], s[mt][2 * kk + 1][3]);
        }
        ATTNC_UNROLL for (int j2 = 0; j2 < T::kDvT / 2; ++j2) {
          uint32_t bv[4];  // B fragments of value columns 16*j2.. (V transposed by ldmatrix)
          ldsm_x4_t(bv, sV + T::VS::chunk(wn * BNW + kk * 16 + (lane & 7) + (((lane >> 3) & 1) << 3),
                                          cb / 8 + j2 * 2 + (lane >> 4)) * 16);
          ATTNC_UNROLL for (int mt = 0; mt < MT; ++mt) {
            mma16816<kDType>(o[mt][2 * j2], a[mt], bv);
            mma16816<kDType>(o[mt][2 * j2 + 1], a[mt], bv + 2);
          }
        }
      }
    } else {
      float *sP = reinterpret_cast<float *>(smem + T::kPOff) + warp * MT * 16 * BNW;
      ATTNC_UNROLL for (int mt = 0; mt < MT; ++mt)
        ATTNC_UNROLL for (int nt = 0; nt < T::kNT; ++nt)
          ATTNC_UNROLL for (int i = 0; i < 4; ++i)
            sP[(mt * 16 + g + (i >> 1) * 8) * BNW + nt * 8 + 2 * t4 + (i & 1)] = s[mt][nt][i];
      warp_sync();
      // O += P V as rank-1 updates, one kv row at a time (not unrolled).
      for (int k = 0; k < BNW; ++k) {
        ATTNC_UNROLL for (int mt = 0; mt < MT; ++mt) {
          const float p0v = sP[(mt * 16 + g) * BNW + k], p1v = sP[(mt * 16 + g + 8) * BNW + k];
          ATTNC_UNROLL for (int j = 0; j < T::kDvT; ++j)
            ATTNC_UNROLL for (int e = 0; e < 2; ++e) {
              const float vv = at<typename T::VS>(sV, wn * BNW + k, cb + j * 8 + 2 * t4 + e);
              o[mt][j][e] += p0v * vv;
              o[mt][j][2 + e] += p1v * vv;
            }
        }
      }
      warp_sync();
    }
    block_sync();  // every warp is done with this stage before it is refilled
    if (STAGES == 1 && next < t_end) {
      load_kv(next, 0);
      cp_async_commit();
    }
    tile = next;
    cls = ncls;
    if (STAGES == 2) stage ^= 1;
  }
  cp_async_wait<0>();

  if constexpr (!kSigmoid)
    ATTNC_UNROLL for (int mt = 0; mt < MT; ++mt)
      ATTNC_UNROLL for (int rr = 0; rr < 2; ++rr) l[mt][rr] = quad_sum(l[mt][rr]);

  if constexpr (WN > 1) {
    // Merge the softmax states of the warps along kv: O_w, m_w, l_w -> warp 0.
    block_sync();
    float *mo = reinterpret_cast<float *>(smem + T::kMergeOff);  // [WN][MT*16][kDvPad]
    float *ml = mo + WN * MT * 16 * kDvPad;                      // [WN][MT*16][2]
    ATTNC_UNROLL for (int mt = 0; mt < MT; ++mt)
      ATTNC_UNROLL for (int j = 0; j < T::kDvT; ++j)
        ATTNC_UNROLL for (int i = 0; i < 4; ++i)
          mo[(wn * MT * 16 + mt * 16 + g + (i >> 1) * 8) * kDvPad + cb + j * 8 + 2 * t4 + (i & 1)] = o[mt][j][i];
    if (t4 == 0)
      ATTNC_UNROLL for (int mt = 0; mt < MT; ++mt)
        ATTNC_UNROLL for (int rr = 0; rr < 2; ++rr) {
          ml[(wn * MT * 16 + mt * 16 + g + rr * 8) * 2] = m[mt][rr];
          ml[(wn * MT * 16 + mt * 16 + g + rr * 8) * 2 + 1] = l[mt][rr];
        }
    block_sync();
    if (wn == 0)
      ATTNC_UNROLL for (int mt = 0; mt < MT; ++mt)
        ATTNC_UNROLL for (int rr = 0; rr < 2; ++rr) {
          const int r = mt * 16 + g + rr * 8;
          float mx = -INFINITY, wgt[WN];
          ATTNC_UNROLL for (int w = 0; w < WN; ++w) mx = fmaxf(mx, ml[(w * MT * 16 + r) * 2]);
          const float muse = mx == -INFINITY ? 0.f : mx;
          float lsum = 0.f;
          ATTNC_UNROLL for (int w = 0; w < WN; ++w) {
            wgt[w] = kSigmoid ? 1.f : exp2_(ml[(w * MT * 16 + r) * 2] - muse);
            lsum += wgt[w] * ml[(w * MT * 16 + r) * 2 + 1];
          }
          m[mt][rr] = mx;
          l[mt][rr] = lsum;
          ATTNC_UNROLL for (int j = 0; j < T::kDvT; ++j)
            ATTNC_UNROLL for (int e = 0; e < 2; ++e) {
              float acc = 0.f;
              ATTNC_UNROLL for (int w = 0; w < WN; ++w) acc += wgt[w] * mo[(w * MT * 16 + r) * kDvPad + cb + j * 8 + 2 * t4 + e];
              o[mt][j][rr * 2 + e] = acc;
            }
        }
  }
  if (wn != 0) return;

  // ---- out = O / l, lse = m + log l (natural log); or the split's partials --
  ATTNC_UNROLL for (int mt = 0; mt < MT; ++mt)
    ATTNC_UNROLL for (int rr = 0; rr < 2; ++rr) {
      const int pr = p0 + wm * MT * 16 + mt * 16 + g + rr * 8;
      if (pr >= rows) continue;
      const int pos = pr / kGroup, h = hk * kGroup + pr % kGroup;
      const float lv = l[mt][rr];
      const float inv = kSigmoid ? 1.f : (lv > 0.f ? 1.f / lv : 0.f);
      const float lse = kSigmoid ? 0.f : (lv > 0.f ? (m[mt][rr] + log2f(lv)) * kLn2 : -INFINITY);
      if (p.nsplit == 1) {
        E *orow = static_cast<E *>(p.out) + b * p.o_sb + h * p.o_sh + static_cast<int64_t>(pos) * p.o_ss;
        ATTNC_UNROLL for (int j = 0; j < T::kDvT; ++j)
          ATTNC_UNROLL for (int e = 0; e < 2; ++e) {
            const int c = cb + j * 8 + 2 * t4 + e;
            if (c < kValueDim) orow[c] = st(o[mt][j][rr * 2 + e] * inv);
          }
        if constexpr (kLse)
          if (t4 == 0) p.lse[b * p.lse_sb + h * p.lse_sh + static_cast<int64_t>(pos) * p.lse_ss] = lse;
      } else {
        const int64_t part = ((static_cast<int64_t>(b) * kHeads + h) * seq_q + pos) * p.nsplit + split;
        float *prow = p.o_part + part * kValueDim;
        ATTNC_UNROLL for (int j = 0; j < T::kDvT; ++j)
          ATTNC_UNROLL for (int e = 0; e < 2; ++e) {
            const int c = cb + j * 8 + 2 * t4 + e;
            if (c < kValueDim) prow[c] = o[mt][j][rr * 2 + e] * inv;
          }
        if (t4 == 0) p.lse_part[part] = lse;
      }
    }
}

/* Split-KV: merges the nsplit partial results of one (batch, head, query)
 * row, weighting each by exp(lse_split - lse). One block per row. */
ATTNC_GLOBAL void ATTNC_LAUNCH_BOUNDS(128) combine_kernel(const Params p) {
  const int64_t r = block_idx().x;
  const int seq_q = p.seq_q, ns = p.nsplit;
  const int b = static_cast<int>(r / (static_cast<int64_t>(kHeads) * seq_q));
  const int h = static_cast<int>((r / seq_q) % kHeads), pos = static_cast<int>(r % seq_q);
  const float *lp = p.lse_part + r * ns;
  float mx = -INFINITY;
  for (int s = 0; s < ns; ++s) mx = fmaxf(mx, lp[s]);
  const float muse = mx == -INFINITY ? 0.f : mx;
  float wsum = 0.f;
  for (int s = 0; s < ns; ++s) wsum += kSigmoid ? 1.f : expf(lp[s] - muse);
  const float inv = kSigmoid ? 1.f : (wsum > 0.f ? 1.f / wsum : 0.f);
  E *orow = static_cast<E *>(p.out) + b * p.o_sb + h * p.o_sh + static_cast<int64_t>(pos) * p.o_ss;
  for (int c = static_cast<int>(tid()); c < kValueDim; c += 128) {
    float acc = 0.f;
    for (int s = 0; s < ns; ++s)
      acc += (kSigmoid ? 1.f : expf(lp[s] - muse)) * p.o_part[(r * ns + s) * kValueDim + c];
    orow[c] = st(acc * inv);
  }
  if constexpr (kLse)
    if (tid() == 0)
      p.lse[b * p.lse_sb + h * p.lse_sh + static_cast<int64_t>(pos) * p.lse_ss] =
          wsum > 0.f && mx != -INFINITY ? muse + logf(wsum) : -INFINITY;
}
)CU";

}  // namespace

bool generate(const KernelDesc &d, const KernelRegions &regions, const MaskInfo &mask, const Schedule &pre,
              const Schedule &dec, Arch arch, const SourceNotes &notes, CudaSources &out, std::string &error) {
  const std::string N = d.name;
  const bool tc = d.dtype != dsl::DType::F32;
  const bool bshd = d.layout == dsl::Layout::BSHD;
  if (d.lowRank != KernelDesc::LowRank::None || d.sparseBlock || !d.prunedHeads.empty()) {
    error = fmt::format("attention `{}` uses `compress` transforms, which the cuda backend does not support yet", N);
    return false;
  }
  if (!isFloat(d.dtype)) {
    error = fmt::format("attention `{}`: dtype {} is not a float type", N, dsl::dtypeName(d.dtype));
    return false;
  }
  const int64_t dPad = paddedHeadDim(d), dvPad = paddedValueDim(d), eb = tc ? 2 : 4;
  std::ostringstream o;
  o << "// " << N << ".cu: generated by attnc (cuda, " << archName(arch) << ") from " << notes.spec
    << ". Do not edit.\n//\n";
  o << "// Attention `" << N << "`: " << dsl::dtypeName(d.dtype) << ", heads " << d.heads << " (kv " << d.kvHeads
    << "), head_dim " << d.headDim << ", value_dim " << d.valueDim << ", layout " << (bshd ? "bshd" : "bhsd")
    << ".\n// Host API in " << N << ".h; algorithm and tiles in docs/cuda.md. Compile with nvcc -arch="
    << (arch == Arch::Sm90a ? "sm_90a" : archName(arch))
    << " -std=c++17, or as plain C++17 with -DATTNC_SIMT_EMULATION\n// (the CPU emulator in attnc_simt.h).\n";
  o << R"(
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "attnc_device.cuh"
#include ")" << N << R"(.h"

#if defined(__CUDACC__) && !defined(ATTNC_SIMT_EMULATION)
#pragma nv_diag_suppress 177  // constants and helpers some specs do not use
#endif

namespace attnc_)" << N << R"( {
using namespace attnc_dev;

// ---- The spec ----------------------------------------------------------------
)";
  o << fmt::format("constexpr int kDType = {};  // dtype {}{}\n", tc ? (d.dtype == dsl::DType::BF16 ? "BF16" : "F16") : "F32",
                   dsl::dtypeName(d.dtype), tc ? ": tensor cores (mma.sync m16n8k16, f32 accumulate)" : ": SIMT FMA path, f32 throughout");
  o << fmt::format("using E = {};\n", tc ? "uint16_t" : "float");
  o << fmt::format("constexpr bool kTensorCores = {};\n", tc ? "true" : "false");
  o << fmt::format("constexpr int kChunkElems = {};  // elements per 16-byte chunk\n", 16 / eb);
  o << fmt::format("constexpr int kHeads = {}, kKvHeads = {}, kGroup = {};  // query heads per kv head\n", d.heads,
                   d.kvHeads, d.heads / d.kvHeads);
  o << fmt::format("constexpr int kHeadDim = {}, kValueDim = {};\n", d.headDim, d.valueDim);
  o << fmt::format("constexpr int kDPad = {}, kDvPad = {};  // padded to whole mma steps (zero-filled)\n", dPad, dvPad);
  o << fmt::format("constexpr int kDChunks = {}, kDvChunks = {};\n", dPad * eb / 16, dvPad * eb / 16);
  o << fmt::format("constexpr float kScale = {};  // scale{}\n", floatLit(d.scale),
                   d.additive ? " (additive scores are not scaled)" : " = 1/sqrt(head_dim) unless the spec sets it");
  o << "constexpr float kLog2e = 1.44269504f, kLn2 = 0.693147181f, kScaleLog2 = kScale * kLog2e;\n";
  o << fmt::format("constexpr bool kScoreMod = {}, kMask = {}, kSigmoid = {}, kLse = {};\n",
                   regions.scoreMod.empty() ? "false" : "true", regions.mask.empty() ? "false" : "true",
                   d.sigmoid ? "true" : "false", d.outputLse ? "true" : "false");
  o << fmt::format("constexpr bool kAdditive = {};\nconstexpr int kUnits = {};{}\n", d.additive ? "true" : "false",
                   d.additive ? d.units : 1, notes.scoring.empty() ? "" : "  // " + notes.scoring);

  // Params.
  o << R"(
// Everything a launch needs: device pointers, strides in elements, sizes.
struct Params {
  const void *q, *k, *v;
  void *out;
  float *lse;
  int64_t q_sb, q_sh, q_ss, k_sb, k_sh, k_ss, v_sb, v_sh, v_ss, o_sb, o_sh, o_ss, lse_sb, lse_sh, lse_ss;
  bool q_aligned, k_aligned, v_aligned;  // rows start on 16-byte boundaries: cp.async
  const void *add_wq, *add_wk, *add_v;   // additive scoring
  int64_t wq_s[3], wk_s[3], wv_s[2];
)";
  if (!d.inputs.empty()) {
    o << fmt::format("  const void *in[{0}];  // the spec's inputs:", d.inputs.size());
    for (const InputDesc &in : d.inputs) o << " " << in.name;
    o << fmt::format("\n  int64_t in_ext[{0}][4], in_str[{0}][4];\n", d.inputs.size());
  }
  o << R"(  int batch, seq_q, seq_kv, nsplit;
  float *o_part, *lse_part;  // split-KV partials: [batch*heads*seq_q][nsplit][value_dim] and [..][nsplit]
};

ATTNC_DEVICE int64_t attnc_clamp_idx(int64_t i, int64_t n) { return i < 0 ? 0 : (i >= n ? n - 1 : i); }
ATTNC_DEVICE int32_t attnc_divi(int32_t a, int32_t b) { return b == 0 ? 0 : (b == -1 ? (int32_t)(0u - (uint32_t)a) : a / b); }
ATTNC_DEVICE int32_t attnc_remi(int32_t a, int32_t b) { return (b == 0 || b == -1) ? 0 : a % b; }
ATTNC_DEVICE float attnc_fmin_nan(float a, float b) { return (a != a || b != b) ? NAN : fminf(a, b); }
ATTNC_DEVICE float attnc_fmax_nan(float a, float b) { return (a != a || b != b) ? NAN : fmaxf(a, b); }
ATTNC_DEVICE int32_t attnc_ftoi(float x) {
  if (x != x) return 0;
  if (x >= 2147483647.f) return INT32_MAX;
  if (x <= -2147483648.f) return INT32_MIN;
  return (int32_t)x;
}

)";
  auto region = [&](const Program &prog, const char *sig, const char *ret, const std::string &note,
                    const char *absent) -> bool {
    o << "// " << (note.empty() ? absent : note) << "\n";
    o << "ATTNC_DEVICE " << ret << " " << sig << " {\n";
    o << "  (void)p, (void)b, (void)h, (void)q_idx, (void)kv_idx;\n";
    if (prog.empty()) {
      o << "  return " << (std::string(ret) == "bool" ? "true" : (std::string(sig).find("score,") != std::string::npos ? "score" : "0.f")) << ";\n}\n\n";
      return true;
    }
    RegionWriter w(d, o);
    if (!w.write(prog, error)) return false;
    o << "}\n\n";
    return true;
  };
  o << "// ---- score_mod, mask and bias: the spec's expressions, one statement per op --\n";
  if (!region(regions.scoreMod, "score_mod_fn(const Params &p, float score, int b, int h, int q_idx, int kv_idx)",
              "float", notes.scoreMod, "no score_mod"))
    return false;
  if (!region(regions.mask, "mask_fn(const Params &p, int b, int h, int q_idx, int kv_idx)", "bool", notes.mask,
              "no mask: every pair is kept"))
    return false;
  if (!region(regions.bias, "bias_fn(const Params &p, int b, int h, int q_idx, int kv_idx)", "float", notes.bias,
              "no sigmoid bias"))
    return false;
  std::string cls = "// ---- Tile classification (the mask analysis, in closed form) ------------\n" + tileClassifier(mask);
  // tile_class_static uses the constants defined with the kernel text.
  std::string kernel = kKernelText;
  size_t at = kernel.find("template <int WM, int WN, int WD, int MT, int BNW, int STAGES> struct Tiles");
  kernel.insert(at, cls + "\n");
  o << kernel;

  // Instantiations and their shared-memory figures.
  auto inst = [&](const Schedule &s) {
    return fmt::format("{}, {}, {}, {}, {}, {}", s.warpsM, s.warpsN, s.warpsD, s.mTiles, s.blockN, s.stages);
  };
  o << "\n// ---- Schedules (schedules/cuda) -----------------------------------------------\n";
  o << "// prefill: " << pre.str() << "\n// decode (when seq_q x group fits one block's rows): " << dec.str() << "\n";
  o << "using Prefill = Tiles<" << inst(pre) << ">;\nusing Decode = Tiles<" << inst(dec) << ">;\n";
  o << fmt::format("static_assert(Prefill::kSmem == {}, \"shared memory as schedules/cuda computes it\");\n",
                   smemBytes(d, pre));
  o << fmt::format("static_assert(Decode::kSmem == {}, \"shared memory as schedules/cuda computes it\");\n",
                   smemBytes(d, dec));
  o << "constexpr int kPrefillMaxSplits = " << pre.maxSplits << ", kDecodeMaxSplits = " << dec.maxSplits << ";\n";

  // ---- Host side.
  o << "\n// ---- Host API ---------------------------------------------------------------------\n";
  o << abi::checkHelpers();
  o << R"HOST(
/* kv splits for a call: enough blocks to fill the device twice over, at most
 * the schedule's limit and the number of kv tiles. */
template <class T> static int choose_splits(int64_t batch, int64_t seq_q, int64_t seq_kv, int max_splits) {
  // The first device's SM count, read once (thread-safe static initialization).
  static const int sms = [] {
    int n = 0, smem = 0;
    return device_limits(&n, &smem) == 0 && n > 0 ? n : 1;
  }();
  const int64_t blocks = batch * kKvHeads * ((seq_q * kGroup + T::kBM - 1) / T::kBM);
  const int64_t tiles = (seq_kv + T::kBN - 1) / T::kBN;
  if (blocks >= sms || tiles < 2) return 1;
  int64_t want = (2 * (int64_t)sms + blocks - 1) / blocks;
  if (want > max_splits) want = max_splits;
  if (want > 65535 / kKvHeads) want = 65535 / kKvHeads;  // grid.y = kv_heads x splits
  if (want > tiles) want = tiles;
  // Every split must hold a tile: ceil(tiles / per) splits are non-empty.
  const int64_t per = (tiles + want - 1) / want;
  return (int)((tiles + per - 1) / per);
}

static size_t split_bytes(int64_t batch, int64_t seq_q, int nsplit) {
  return nsplit <= 1 ? 0 : (size_t)(batch * kHeads * seq_q) * (size_t)nsplit * (kValueDim + 1) * sizeof(float);
}

static bool aligned16(const attnc_tensor *t, int elem_bytes) {
  if ((uintptr_t)t->data % 16) return false;
  for (int i = 0; i + 1 < t->ndim; ++i)
    if ((t->stride[i] * elem_bytes) % 16) return false;
  return true;
}

template <class T>
static int run(const Params &p0, int max_splits, void *workspace, size_t workspace_bytes, bool own_workspace,
               void *stream) {
  Params p = p0;
  int sms = 0, smem_optin = 0;
  int e = device_limits(&sms, &smem_optin);
  if (e) return fail(ATTNC_E_DEVICE, "CUDA: %s", error_string(e));
  if (T::kSmem > smem_optin)
    return fail(ATTNC_E_DEVICE, "the kernel needs %d bytes of shared memory per block, the device allows %d "
                "(generate it for this GPU's arch with --arch)", T::kSmem, smem_optin);
  p.nsplit = choose_splits<T>(p.batch, p.seq_q, p.seq_kv, max_splits);
  if (!own_workspace)
    while (p.nsplit > 1 && split_bytes(p.batch, p.seq_q, p.nsplit) > workspace_bytes) --p.nsplit;
  void *scratch = NULL;
  if (p.nsplit > 1) {
    if (own_workspace) {
      e = scratch_alloc(&scratch, split_bytes(p.batch, p.seq_q, p.nsplit), stream);
      if (e) return fail(ATTNC_E_DEVICE, "CUDA: allocating %zu bytes of split-KV scratch: %s",
                         split_bytes(p.batch, p.seq_q, p.nsplit), error_string(e));
      workspace = scratch;
    }
    p.o_part = (float *)workspace;
    p.lse_part = p.o_part + (size_t)(p.batch * kHeads * p.seq_q) * (size_t)p.nsplit * kValueDim;
  }
  const dim3 grid((unsigned)((p.seq_q * (int64_t)kGroup + T::kBM - 1) / T::kBM), (unsigned)(kKvHeads * p.nsplit),
                  (unsigned)p.batch);
  e = launch(&attention_kernel<)HOST" << "T_ARGS" << R"HOST(>, grid, dim3(T::kThreads), (size_t)T::kSmem, stream, p);
  if (!e && p.nsplit > 1)
    e = launch(&combine_kernel, dim3((unsigned)(p.batch * kHeads * p.seq_q)), dim3(128), 0, stream, p);
  if (scratch) {
    int f = scratch_free(scratch, stream);
    if (!e) e = f;
  }
  if (e) return fail(ATTNC_E_DEVICE, "CUDA: %s", error_string(e));
  return ATTNC_OK;
}

}  // namespace attnc_)HOST" << N << "\n\n";

  // T_ARGS: the template arguments of the Tiles type, recovered through a trait.
  std::string src = o.str();
  {
    const std::string key = "attention_kernel<T_ARGS>";
    size_t pos = src.find(key);
    src.replace(pos, key.size(), "attention_kernel<T::kWM, T::kWN, T::kWD, T::kMT, T::kBNW, T::kStages>");
    // The Tiles struct exports its template arguments.
    const std::string tkey = "  static constexpr int kWarps = WM * WN * WD, kThreads = 32 * kWarps;\n";
    size_t tpos = src.find(tkey);
    src.insert(tpos, "  static constexpr int kWM = WM, kWN = WN, kWD = WD, kMT = MT, kBNW = BNW, kStages = STAGES;\n");
  }
  std::ostringstream h;  // the extern "C" entry points
  const std::vector<ArgDesc> sig = d.signature();
  const std::string params = abi::paramList(d);
  h << "using namespace attnc_" << N << ";\n\n";
  h << "static int " << N << "_entry(" << params
    << ", void *workspace, size_t workspace_bytes, bool own_workspace, void *stream) {\n";
  h << "  int64_t batch = -1, seq_q = -1, seq_kv = -1;\n  int rc;\n  last_error[0] = 0;\n";
  h << abi::checkStatements(d);
  h << "  if (seq_q * kHeads > INT32_MAX || seq_kv > INT32_MAX - 1024 || batch > 65535)\n"
       "    return fail(ATTNC_E_SHAPE, \"seq_q * heads and seq_kv must stay under 2^31 and batch under 65536, got "
       "seq_q %lld, seq_kv %lld, batch %lld\", (long long)seq_q, (long long)seq_kv, (long long)batch);\n";
  h << "  Params p;\n  memset(&p, 0, sizeof p);\n";
  h << "  p.q = q->data;\n  p.k = k->data;\n  p.v = v->data;\n  p.out = out->data;\n";
  auto strides = [&](const char *t, const char *pre) {
    return bshd ? fmt::format("  p.{1}_sb = {0}->stride[0];\n  p.{1}_ss = {0}->stride[1];\n  p.{1}_sh = {0}->stride[2];\n", t, pre)
                : fmt::format("  p.{1}_sb = {0}->stride[0];\n  p.{1}_sh = {0}->stride[1];\n  p.{1}_ss = {0}->stride[2];\n", t, pre);
  };
  h << strides("q", "q") << strides("k", "k") << strides("v", "v") << strides("out", "o");
  h << fmt::format("  p.q_aligned = aligned16(q, {0});\n  p.k_aligned = aligned16(k, {0});\n  p.v_aligned = aligned16(v, {0});\n", eb);
  if (d.outputLse)
    h << "  p.lse = (float *)lse->data;\n  p.lse_sb = lse->stride[0];\n  p.lse_sh = lse->stride[1];\n  p.lse_ss = "
         "lse->stride[2];\n";
  if (d.additive) {
    h << "  p.add_wq = add_wq->data;\n  p.add_wk = add_wk->data;\n  p.add_v = add_v->data;\n";
    h << "  for (int i = 0; i < 3; ++i) p.wq_s[i] = add_wq->stride[i], p.wk_s[i] = add_wk->stride[i];\n";
    h << "  p.wv_s[0] = add_v->stride[0];\n  p.wv_s[1] = add_v->stride[1];\n";
  }
  for (size_t i = 0; i < d.inputs.size(); ++i) {
    const std::string &n = d.inputs[i].name;
    h << fmt::format("  p.in[{0}] = {1}->data;\n  for (int i = 0; i < 4; ++i) {{\n    p.in_ext[{0}][i] = i < {1}->ndim ? "
                     "{1}->shape[i] : 1;\n    p.in_str[{0}][i] = i < {1}->ndim ? {1}->stride[i] : 0;\n  }}\n",
                     i, n);
  }
  h << "  p.batch = (int)batch;\n  p.seq_q = (int)seq_q;\n  p.seq_kv = (int)seq_kv;\n  p.nsplit = 1;\n";
  h << "  // Decoding: the packed rows of a kv head (seq_q x group) fit one decode block.\n"
       "  if (seq_q * kGroup <= Decode::kBM)\n"
       "    return run<Decode>(p, kDecodeMaxSplits, workspace, workspace_bytes, own_workspace, stream);\n";
  h << "  return run<Prefill>(p, kPrefillMaxSplits, workspace, workspace_bytes, own_workspace, stream);\n}\n\n";
  std::string callArgs;
  for (const ArgDesc &a : sig) callArgs += a.name + ", ";
  h << "extern \"C\" {\n\n";
  h << "const char *" << N << "_last_error(void) { return last_error; }\n\n";
  h << "int " << N << "_cuda(" << params << ", void *cuda_stream) {\n  return " << N << "_entry(" << callArgs
    << "NULL, 0, true, cuda_stream);\n}\n\n";
  h << "int " << N << "_cuda_ws(" << params << ", void *workspace, size_t workspace_bytes, void *cuda_stream) {\n  return "
    << N << "_entry(" << callArgs << "workspace, workspace_bytes, false, cuda_stream);\n}\n\n";
  h << "size_t " << N << "_cuda_workspace_size(int64_t batch, int64_t seq_q, int64_t seq_kv) {\n"
    << "  if (batch < 1 || seq_q < 1 || seq_kv < 1) return 0;\n"
    << "  if (seq_q * kGroup <= Decode::kBM) return split_bytes(batch, seq_q, choose_splits<Decode>(batch, seq_q, seq_kv, kDecodeMaxSplits));\n"
    << "  return split_bytes(batch, seq_q, choose_splits<Prefill>(batch, seq_q, seq_kv, kPrefillMaxSplits));\n}\n\n";
  h << "}  /* extern \"C\" */\n";
  out.source = src + h.str();

  // NAME.h
  std::string guard = "ATTNC_CUDA_KERNEL_" + N + "_H";
  for (char &c : guard) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  std::ostringstream hd;
  hd << "/* " << N << ".h: generated by attnc (cuda, " << archName(arch) << "). Do not edit.\n"
     << " * Attention `" << N << "`: " << dsl::dtypeName(d.dtype) << ", heads " << d.heads << " (kv " << d.kvHeads
     << "), head_dim " << d.headDim << ", value_dim " << d.valueDim << ", layout " << (bshd ? "bshd" : "bhsd")
     << ".\n * Sizes: heads=" << d.heads << " kv_heads=" << d.kvHeads << " head_dim=" << d.headDim
     << " value_dim=" << d.valueDim << " units=" << d.units << " dtype=" << dsl::dtypeName(d.dtype)
     << "\n *\n * Arguments (ABI version 1, docs/integration.md), device pointers:\n"
     << abi::argumentComment(d)
     << " *\n * " << N << "_cuda runs on `cuda_stream` (a cudaStream_t; NULL: the default stream) and returns\n"
     << " * ATTNC_OK once the kernels are enqueued, or an error status before any launch; " << N
     << "_last_error()\n * then says why, for this thread. Decoding calls split the kv range over blocks and need\n"
     << " * scratch of " << N << "_cuda_workspace_size() bytes: " << N
     << "_cuda takes it from the device's stream-ordered\n * memory pool, " << N
     << "_cuda_ws from the caller (less than asked: fewer splits, never an error).\n * Include without any CUDA "
        "header; compile " << N << ".cu with nvcc (docs/cuda.md). */\n";
  hd << "#ifndef " << guard << "\n#define " << guard << "\n\n#include <stddef.h>\n#include \"attnc_runtime.h\"\n\n";
  hd << "#ifdef __cplusplus\nextern \"C\" {\n#endif\n\n";
  hd << "int " << N << "_cuda(" << params << ", void *cuda_stream);\n";
  hd << "int " << N << "_cuda_ws(" << params << ", void *workspace, size_t workspace_bytes, void *cuda_stream);\n";
  hd << "size_t " << N << "_cuda_workspace_size(int64_t batch, int64_t seq_q, int64_t seq_kv);\n";
  hd << "const char *" << N << "_last_error(void);\n\n";
  hd << "#ifdef __cplusplus\n}  /* extern \"C\" */\n#endif\n\n#endif /* " << guard << " */\n";
  out.header = hd.str();
  return true;
}

}  // namespace attnc::cuda
