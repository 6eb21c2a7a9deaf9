#include "lowering/cuda/ToCuda.h"

#include <cmath>
#include <sstream>

#include <fmt/format.h>

#include "lowering/cuda/Templates.h"
#include "lowering/kernel/AbiText.h"

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
    case Code::SeqKv: e = "p.seq_kv_in"; break;
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
    case Code::Sin: e = fmt::format("sinf({})", a); break;
    case Code::Cos: e = fmt::format("cosf({})", a); break;
    case Code::Erf: e = fmt::format("erff({})", a); break;
    case Code::Pow: e = fmt::format("powf({}, {})", a, b); break;
    case Code::Popcount: e = fmt::format("attnc_popcount({})", a); break;
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
    // i1: logical; i32: bitwise.
    case Code::And: e = in.type == ValType::Int ? fmt::format("({} & {})", a, b) : fmt::format("({} != 0) && ({} != 0)", a, b); break;
    case Code::Or: e = in.type == ValType::Int ? fmt::format("({} | {})", a, b) : fmt::format("({} != 0) || ({} != 0)", a, b); break;
    case Code::Xor: e = in.type == ValType::Int ? fmt::format("({} ^ {})", a, b) : fmt::format("({} != 0) != ({} != 0)", a, b); break;
    // Shifts by 0..31 (the IR selects around other amounts; masking keeps the
    // unselected side defined), on uint32 for `<<`.
    case Code::Shl: e = fmt::format("(int32_t)((uint32_t){} << ({} & 31))", a, b); break;
    case Code::ShrS: e = fmt::format("({} >> ({} & 31))", a, b); break;
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



/// The head plan (attn-plan-heads) as device functions: which kv heads the
/// grid visits, the query head of each packed row, which rows are written
/// out, and the pruned heads the fill kernel zeroes.
std::string headPlanSource(const KernelDesc &d) {
  std::ostringstream o;
  const int64_t G = d.tileGroup();
  if (d.headTable.empty()) {
    o << "constexpr int kGridKv = kKvHeads, kPruned = 0;  // no pruned heads\n"
         "ATTNC_DEVICE int kv_of_slot(int s) { return s; }\n"
         "ATTNC_DEVICE int head_of(int hk, int i) { return hk * kGroup + i; }\n"
         "ATTNC_DEVICE bool row_live(int, int) { return true; }\n"
         "ATTNC_DEVICE bool head_pruned(int) { return false; }\n"
         "ATTNC_DEVICE int pruned_head(int) { return 0; }\n";
    return o.str();
  }
  std::vector<int64_t> kvs, heads, live, pruned;
  for (int64_t g = 0; g < d.kvHeads; ++g) {
    if (d.kvHeadComputed(g)) kvs.push_back(g);
    const int64_t first = d.kvHeadComputed(g) ? d.headTable[g * G] : g * (d.heads / d.kvHeads);
    for (int64_t i = 0; i < G; ++i) {
      const int64_t h = d.headTable[g * G + i];
      heads.push_back(h >= 0 ? h : first);  // past a kv head's last: its first (computed, not written)
      live.push_back(h >= 0);
    }
  }
  for (int64_t h = 0; h < d.heads; ++h)
    if (d.isPruned(h)) pruned.push_back(h);
  auto list = [](const std::vector<int64_t> &v) {
    std::string s;
    for (int64_t x : v) s += (s.empty() ? "" : ", ") + std::to_string(x);
    return s;
  };
  std::vector<int64_t> prunedFlag(d.heads, 0);
  for (int64_t h : pruned) prunedFlag[h] = 1;
  o << fmt::format("// Pruned heads {}: the grid visits kv heads {} only.\n", list(pruned), list(kvs));
  o << fmt::format("constexpr int kGridKv = {}, kPruned = {};\n", kvs.size(), pruned.size());
  // Tables in the constant bank (a local array indexed at run time would be
  // a stack frame: the nvcc checks fail on one).
  o << fmt::format("ATTNC_CONSTANT int kKvOfSlot[] = {{{}}};\n", list(kvs));
  o << fmt::format("ATTNC_CONSTANT int kHeadOf[] = {{{}}};\n", list(heads));
  o << fmt::format("ATTNC_CONSTANT bool kRowLive[] = {{{}}};\n", list(live));
  o << fmt::format("ATTNC_CONSTANT bool kHeadPruned[] = {{{}}};\n", list(prunedFlag));
  o << fmt::format("ATTNC_CONSTANT int kPrunedHead[] = {{{}}};\n", list(pruned));
  o << "ATTNC_DEVICE int kv_of_slot(int s) { return kKvOfSlot[s]; }\n"
       "ATTNC_DEVICE int head_of(int hk, int i) { return kHeadOf[hk * kGroup + i]; }\n"
       "ATTNC_DEVICE bool row_live(int hk, int i) { return kRowLive[hk * kGroup + i]; }\n"
       "ATTNC_DEVICE bool head_pruned(int h) { return kHeadPruned[h]; }\n"
       "ATTNC_DEVICE int pruned_head(int i) { return kPrunedHead[i]; }\n";
  return o.str();
}

}  // namespace

std::string unsupported(const KernelPlan &plan) {
  const KernelDesc &d = plan.desc;
  if (!d.prunedHeads.empty() && d.headTable.empty())
    return "attention `" + d.name + "` prunes heads but has no head plan: the `plan-heads` pass has not run";
  if (!isFloat(d.dtype)) return fmt::format("attention `{}`: dtype {} is not a float type", d.name, dsl::dtypeName(d.dtype));
  if (std::string why = unsupportedDims(d); !why.empty()) return "attention `" + d.name + "`: " + why;
  return "";
}

bool generate(const KernelPlan &plan, const Schedule &pre, const Schedule &dec, Arch arch, CudaSources &out,
              std::string &error, const std::string &scheduleSource, const std::vector<TunedSchedule> &tuned) {
  const KernelDesc &d = plan.desc;
  const KernelRegions &regions = plan.regions;
  const SourceNotes &notes = plan.notes;
  const std::string N = d.name;
  const bool tc = d.dtype != dsl::DType::F32;
  const bool bshd = d.layout == dsl::Layout::BSHD;
  if (std::string why = unsupported(plan); !why.empty()) {
    error = why;
    return false;
  }
  // The MLA form is the kernel's (the prefill schedule's; the decode one follows it).
  const bool mat = materialized(d, pre);
  if (mat != materialized(d, dec)) {
    error = fmt::format("attention `{}`: the prefill and decode schedules must run one MLA form (mlamat or mlaabs)",
                        d.name);
    return false;
  }
  const int64_t dPad = paddedHeadDim(d, mat), dvPad = paddedValueDim(d, mat), eb = tc ? 2 : 4;
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
)";
  o << "#include \"" << N << ".h\"\n";
  o << R"(
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
  o << fmt::format("constexpr int kHeads = {}, kKvHeads = {}, kGroup = {};  // query heads per kv head{}\n", d.heads,
                   d.kvHeads, d.tileGroup(), d.headTable.empty() ? "" : " (the most any kv head computes)");
  o << headPlanSource(d);
  const bool mlaKv = d.lowRank == KernelDesc::LowRank::Kv, mla = mlaKv && !mat;
  if (mla)
    o << fmt::format("constexpr int kHeadDim = {}, kValueDim = {};  // the latent row (rank{}) and the rank: the "
                     "attention runs in the latent space (low_rank kv, absorbed)\n",
                     d.rank + d.ropeDim, d.rank, d.ropeDim > 0 ? fmt::format(" + rope {}", d.ropeDim) : "");
  else
    o << fmt::format("constexpr int kHeadDim = {}, kValueDim = {};\n", d.headDim, d.valueDim);
  o << fmt::format("constexpr int kKeyDim = {};  // the keys' head_dim (top-T's block means)\n", d.headDim);
  o << fmt::format("constexpr int kQDim = {}, kOutDim = {}, kHeadsPerKv = {};  // q's dims through k_up (head_dim{}), "
                   "out's value_dim, the spec's query heads per kv head\n",
                   d.headDim - d.ropeDim, d.valueDim, d.heads / d.kvHeads,
                   d.ropeDim > 0 ? " - rope: its last rope dims meet the latent row's as they are" : "");
  o << fmt::format("constexpr int kDPad = {}, kDvPad = {};  // padded to whole mma steps (zero-filled)\n", dPad, dvPad);
  o << fmt::format("constexpr int kDChunks = {}, kDvChunks = {};\n", dPad * eb / 16, dvPad * eb / 16);
  o << fmt::format("constexpr int kQParts = {};  // {}\nconstexpr int kQChunks = kDChunks * kQParts, kQRow = kQParts == 2 ? 2 * "
                   "kDPad : kHeadDim;  // (a query row's chunks in the tile, elements in memory)\n",
                   qParts(d, mat),
                   qParts(d, mat) == 2 ? "low_rank kv on tensor cores: the latent query as hi + lo in the kernel's type "
                                    "(two mma per K fragment), near-f32 scores"
                                  : "q as given");
  o << fmt::format("constexpr float kScale = {};  // scale{}\n", floatLit(d.scale),
                   d.additive ? " (additive scores are not scaled)" : " = 1/sqrt(head_dim) unless the spec sets it");
  o << "constexpr float kLog2e = 1.44269504f, kLn2 = 0.693147181f, kScaleLog2 = kScale * kLog2e;\n";
  o << fmt::format("constexpr bool kScoreMod = {}, kMask = {}, kSigmoid = {}, kLse = {};\n",
                   regions.scoreMod.empty() ? "false" : "true", regions.mask.empty() ? "false" : "true",
                   d.sigmoid ? "true" : "false", d.outputLse ? "true" : "false");
  o << fmt::format("constexpr bool kAdditive = {};\nconstexpr int kUnits = {};\n", d.additive ? "true" : "false",
                   d.additive ? d.units : 1);
  o << fmt::format("constexpr int kSparseBlock = {};  // {}\n", d.sparseBlock,
                   d.sparseBlock == 0 ? "no block sparsity"
                   : d.sparseTop      ? "sparse block top: the top_* kernels plan a block mask in the workspace, "
                                        "then as with an input block mask"
                                      : "sparse block input: tiles from block_list_kernel's lists, pairs of partial "
                                        "tiles test block_mask");
  o << fmt::format("constexpr bool kSparseTop = {};\nconstexpr int kTopT = {};\n", d.sparseTop ? "true" : "false",
                   d.sparseTop ? d.sparseTopT : 0);
  const bool lin = d.lowRank == KernelDesc::LowRank::Seq;
  o << fmt::format("constexpr bool kLinformer = {};  // {}\n", lin ? "true" : "false",
                   lin ? "low_rank seq: linformer_proj_kernel writes E.K and F.V to the workspace, the attention "
                         "runs over their R rows"
                       : "no sequence projection");
  o << fmt::format("constexpr bool kMla = {};  // {}\nconstexpr int kRank = {};\n", mla ? "true" : "false",
                   mla ? "low_rank kv, absorbed: mla_q_kernel projects q through k_up into the workspace, the "
                         "attention runs over the latent rows (its k and v), mla_out_kernel applies v_up"
                       : "no absorbed latent kv",
                   lin || mlaKv ? d.rank : 0);
  o << fmt::format("constexpr bool kMlaMat = {};  // {}\n", mat ? "true" : "false",
                   mat ? "low_rank kv, materialized: each block builds its K and V tiles from the latent tile "
                         "through k_up and v_up (mla_up_kernel's transposed copies in the workspace)"
                       : "no materialized latent kv");
  o << fmt::format("constexpr int kKParts = {};  // {}\nconstexpr int kKChunks = kDChunks * kKParts;\n", kParts(d, mat),
                   kParts(d, mat) == 2 ? "each built key as hi + lo in the kernel's type (two mma per Q fragment)"
                                       : "keys as loaded or built");
  o << fmt::format("constexpr int kLatDim = {}, kLatPad = {}, kLatChunks = {}, kRankPad = {};  // {}\n",
                   mlaKv ? d.rank + d.ropeDim : 1, mat ? paddedLatentDim(d) : 16 / eb,
                   mat ? paddedLatentDim(d) * eb / 16 : 1, mat ? paddedRank(d) : 1,
                   mat ? "the latent row (rank + rope) and its padding, the rank padded to whole k-steps"
                       : "(unused)");

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
  const uint8_t *block_mask;  // sparse block input: [batch, heads, q blocks, kv blocks]
  int64_t bm_s[4];
  int *blist;  // block sparsity: the kv tiles of each (batch, kv head, q tile), in the workspace
  // sparse block top: the plan, in the workspace (block means, estimates, candidates, the kept blocks)
  double *top_mean_q, *top_mean_k, *top_est;
  uint8_t *top_cand, *top_keep;
  // low_rank seq (Linformer): e_proj and f_proj [R, seq_kv], the projected keys and values [batch][kv heads][R][dim]
  const void *e_proj, *f_proj;
  int64_t e_s[2], f_s[2];
  void *lin_k, *lin_v;
  int seq_kv_in;  // the call's seq_kv (the `seq_kv` of the spec's expressions); seq_kv counts the keys attended
  // low_rank kv (MLA): k_up [kv_heads, R, head_dim], v_up [kv_heads, R, value_dim]; the latent queries and
  // outputs [batch][seq_q][heads][R] in the workspace (the attention's q and out)
  const void *k_up, *v_up;
  int64_t ku_s[3], vu_s[3];
  void *mla_q, *mla_o;
  // low_rank kv, materialized: k_up and v_up transposed, [kv_heads][head_dim - rope][kRankPad] and
  // [kv_heads][value_dim][kRankPad] in the kernel's type (zero past the rank), in the workspace
  void *mla_kup, *mla_vup;
  // low_rank kv with additive scores: the call's q (for q . add_wq) and W' = k_up . add_wk [kv_heads][R + rope][units]
  const void *q_user;
  int64_t qu_sb, qu_sh, qu_ss;
  float *mla_wk;
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
ATTNC_DEVICE int32_t attnc_popcount(int32_t a) {
#ifdef __CUDA_ARCH__
  return __popc((unsigned)a);
#else
  return __builtin_popcount((unsigned)a);
#endif
}
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
  o << "// ---- Tile classification (the mask analysis, in closed form) ------------\n";
  o << "constexpr int kEmpty = 0, kPartial = 1, kFull = 2, kRuntime = 3;\n\n";
  o << tileClassifier(plan.mask) << "\n";
  o << templates::kKernel;

  // Instantiations and their shared-memory figures.
  auto inst = [&](const Schedule &s) {
    return fmt::format("{}, {}, {}, {}, {}, {}", s.warpsM, s.warpsN, s.warpsD, s.mTiles, s.blockN, s.stages);
  };
  o << "\n// ---- Schedules (schedules/cuda) -----------------------------------------------\n";
  o << "// prefill: " << pre.str() << "\n// decode (when seq_q x group fits one block's rows): " << dec.str() << "\n";
  if (!scheduleSource.empty()) o << "// schedules from: " << scheduleSource << "\n";
  o << "using Prefill = Tiles<" << inst(pre) << ">;\nusing Decode = Tiles<" << inst(dec) << ">;\n";
  o << fmt::format("static_assert(Prefill::kSmem == {}, \"shared memory as schedules/cuda computes it\");\n",
                   smemBytes(d, pre));
  o << fmt::format("static_assert(Decode::kSmem == {}, \"shared memory as schedules/cuda computes it\");\n",
                   smemBytes(d, dec));
  o << "constexpr int kPrefillMaxSplits = " << pre.maxSplits << ", kDecodeMaxSplits = " << dec.maxSplits << ";\n";
  // Tuned variants, each for its shape bucket (docs/tuning.md).
  for (size_t i = 0; i < tuned.size(); ++i) {
    const TunedSchedule &t = tuned[i];
    o << fmt::format("// tuned, for calls whose batch, seq_q and seq_kv round up to {}, {}, {}: {} {} ({})\n", t.batch,
                     t.seqQ, t.seqKv, t.decode ? "decode" : "prefill", t.schedule.str(), t.source);
    o << fmt::format("using Tuned{} = Tiles<{}>;\n", i, inst(t.schedule));
    o << fmt::format("static_assert(Tuned{}::kSmem == {}, \"shared memory as schedules/cuda computes it\");\n", i,
                     smemBytes(d, t.schedule));
    o << fmt::format("constexpr int kTuned{}MaxSplits = {};\n", i, t.schedule.maxSplits);
  }
  if (!tuned.empty())
    o << "// The power of two at or above x (x >= 1): a call's shape bucket.\n"
         "static inline int64_t attnc_pow2(int64_t x) {\n  int64_t p = 1;\n  while (p < x) p <<= 1;\n  return p;\n}\n";
  // `return RUN<T>(...)` for the call's variant: a tuned bucket's, else the policy's.
  auto dispatch = [&](const std::string &indent, const std::string &call) {
    std::string r;
    for (size_t i = 0; i < tuned.size(); ++i)
      r += fmt::format("{0}if (attnc_pow2(batch) == {1} && attnc_pow2(seq_q) == {2} && attnc_pow2(seq_kv) == {3})\n"
                       "{0}  return {4};\n",
                       indent, tuned[i].batch, tuned[i].seqQ, tuned[i].seqKv,
                       fmt::format(fmt::runtime(call), fmt::format("Tuned{}", i), fmt::format("kTuned{}MaxSplits", i)));
    return r;
  };

  // ---- Host side.
  o << "\n// ---- Host API ---------------------------------------------------------------------\n";
  o << abi::checkHelpers();
  o << templates::kHost;
  o << "}  // namespace attnc_" << N << "\n\n";

  std::string src = o.str();
  std::ostringstream h;  // the extern "C" entry points
  const std::vector<ArgDesc> sig = d.signature();
  const std::string params = abi::paramList(d);
  h << "using namespace attnc_" << N << ";\n\n";
  h << "static int " << N << "_entry(" << params
    << ", void *workspace, size_t workspace_bytes, bool own_workspace, void *stream) {\n";
  h << "  int64_t batch = -1, seq_q = -1, seq_kv = -1;\n  int rc;\n  last_error[0] = 0;\n";
  h << abi::checkStatements(d);
  h << abi::emptyCallStatements(d, false);  // seq_kv 0: the kernel masks every row itself
  h << "  if (seq_q * kHeads > INT32_MAX || seq_kv > INT32_MAX - 1024 || batch > 65535)\n"
       "    return fail(ATTNC_E_SHAPE, \"seq_q * heads and seq_kv must stay under 2^31 and batch under 65536, got "
       "seq_q %lld, seq_kv %lld, batch %lld\", (long long)seq_q, (long long)seq_kv, (long long)batch);\n";
  h << "  Params p;\n  memset(&p, 0, sizeof p);\n";
  if (mlaKv)  // (the attention's k and v are the latent rows, one per token for every kv head)
    h << "  p.q = q->data;\n  p.k = latent->data;\n  p.v = latent->data;\n  p.out = out->data;\n";
  else
    h << "  p.q = q->data;\n  p.k = k->data;\n  p.v = v->data;\n  p.out = out->data;\n";
  auto strides = [&](const char *t, const char *pre) {
    return bshd ? fmt::format("  p.{1}_sb = {0}->stride[0];\n  p.{1}_ss = {0}->stride[1];\n  p.{1}_sh = {0}->stride[2];\n", t, pre)
                : fmt::format("  p.{1}_sb = {0}->stride[0];\n  p.{1}_sh = {0}->stride[1];\n  p.{1}_ss = {0}->stride[2];\n", t, pre);
  };
  if (mlaKv) {
    h << strides("q", "q") << strides("out", "o");
    h << "  p.k_sb = p.v_sb = latent->stride[0];\n  p.k_ss = p.v_ss = latent->stride[1];\n  p.k_sh = p.v_sh = 0;\n";
    h << fmt::format("  p.q_aligned = aligned16(q, {0});\n  p.k_aligned = p.v_aligned = aligned16(latent, {0});\n", eb);
    h << "  p.k_up = k_up->data;\n  p.v_up = v_up->data;\n  for (int i = 0; i < 3; ++i) p.ku_s[i] = "
         "k_up->stride[i], p.vu_s[i] = v_up->stride[i];\n";
  } else {
    h << strides("q", "q") << strides("k", "k") << strides("v", "v") << strides("out", "o");
    h << fmt::format("  p.q_aligned = aligned16(q, {0});\n  p.k_aligned = aligned16(k, {0});\n  p.v_aligned = aligned16(v, {0});\n", eb);
  }
  if (d.outputLse)
    h << "  p.lse = (float *)lse->data;\n  p.lse_sb = lse->stride[0];\n  p.lse_sh = lse->stride[1];\n  p.lse_ss = "
         "lse->stride[2];\n";
  if (d.additive) {
    h << "  p.add_wq = add_wq->data;\n  p.add_wk = add_wk->data;\n  p.add_v = add_v->data;\n";
    h << "  for (int i = 0; i < 3; ++i) p.wq_s[i] = add_wq->stride[i], p.wk_s[i] = add_wk->stride[i];\n";
    h << "  p.wv_s[0] = add_v->stride[0];\n  p.wv_s[1] = add_v->stride[1];\n";
  }
  if (d.sparseBlock > 0 && !d.sparseTop)
    h << "  p.block_mask = (const uint8_t *)block_mask->data;\n  for (int i = 0; i < 4; ++i) p.bm_s[i] = "
         "block_mask->stride[i];\n";
  if (lin)
    h << "  p.e_proj = e_proj->data;\n  p.f_proj = f_proj->data;\n  for (int i = 0; i < 2; ++i) p.e_s[i] = "
         "e_proj->stride[i], p.f_s[i] = f_proj->stride[i];\n";
  for (size_t i = 0; i < d.inputs.size(); ++i) {
    const std::string &n = d.inputs[i].name;
    h << fmt::format("  p.in[{0}] = {1}->data;\n  for (int i = 0; i < 4; ++i) {{\n    p.in_ext[{0}][i] = i < {1}->ndim ? "
                     "{1}->shape[i] : 1;\n    p.in_str[{0}][i] = i < {1}->ndim ? {1}->stride[i] : 0;\n  }}\n",
                     i, n);
  }
  h << "  p.batch = (int)batch;\n  p.seq_q = (int)seq_q;\n  p.seq_kv = (int)seq_kv;\n  p.seq_kv_in = (int)seq_kv;\n"
       "  p.nsplit = 1;\n";
  h << dispatch("  ", "run<{}>(p, {}, workspace, workspace_bytes, own_workspace, stream)");
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
    << dispatch("  ", "workspace_bytes<{}>(batch, seq_q, seq_kv, {})")
    << "  if (seq_q * kGroup <= Decode::kBM) return workspace_bytes<Decode>(batch, seq_q, seq_kv, kDecodeMaxSplits);\n"
    << "  return workspace_bytes<Prefill>(batch, seq_q, seq_kv, kPrefillMaxSplits);\n}\n\n";
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
     << "_cuda_ws from the caller (less than asked: fewer splits, never an error).\n"
     << (d.sparseBlock > 0
             ? std::string(" * Block sparsity keeps each (batch, kv head, query tile)'s list of kv tiles there too") +
                   (d.sparseTop ? ",\n * and the top-T plan (block means, estimates, the kept blocks)" : "") +
                   ": every\n * call needs workspace (a _cuda_ws workspace smaller than that is ATTNC_E_ARGUMENT).\n"
             : std::string())
     << (mla ? " * low_rank kv (MLA) keeps the latent queries and outputs there ([batch][seq_q][heads][rank] each):\n"
               " * every call needs workspace (a _cuda_ws workspace smaller than that is ATTNC_E_ARGUMENT).\n"
         : mat ? " * low_rank kv (MLA, materialized) keeps k_up and v_up transposed there: every call needs\n"
                 " * workspace (a _cuda_ws workspace smaller than that is ATTNC_E_ARGUMENT).\n"
               : "")
     << fmt::format(" * Schedules (docs/tuning.md): prefill \"{}\", decode \"{}\" ({})\n", pre.str(), dec.str(),
                    scheduleSource.empty() ? "heuristic (schedules/cuda)" : scheduleSource);
  for (const TunedSchedule &t : tuned)
    hd << fmt::format(" *   tuned, for calls whose batch, seq_q and seq_kv round up to {}, {}, {}: {} \"{}\" ({})\n",
                      t.batch, t.seqQ, t.seqKv, t.decode ? "decode" : "prefill", t.schedule.str(), t.source);
  hd << " * Include without any CUDA header; compile " << N << ".cu with nvcc (docs/cuda.md). */\n";
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
