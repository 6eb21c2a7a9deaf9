#include "lowering/reference/Reference.h"

#include <algorithm>
#include <bit>
#include <atomic>
#include <cmath>
#include <limits>
#include <mutex>
#include <numeric>
#include <thread>

#include <fmt/format.h>

#include "lowering/kernel/ParallelFor.h"
#include "lowering/kernel/Program.h"
#include "lowering/reference/KernelArgs.h"

namespace attnc {

HostTensor::HostTensor(std::vector<int64_t> s, double fill) : shape(std::move(s)) {
  data.assign(numel(), fill);
}

int64_t HostTensor::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

double &HostTensor::at(std::initializer_list<int64_t> idx) {
  int64_t off = 0, i = 0;
  for (int64_t v : idx) off = off * shape[i++] + v;
  return data[off];
}
double HostTensor::at(std::initializer_list<int64_t> idx) const {
  return const_cast<HostTensor *>(this)->at(idx);
}

namespace {

double wrap32(double v) {
  return static_cast<double>(static_cast<int32_t>(static_cast<uint32_t>(static_cast<int64_t>(v))));
}

bool cmpI(uint8_t pred, int64_t a, int64_t b) {
  using P = CmpIPred;
  switch (static_cast<P>(pred)) {
  case P::eq: return a == b;
  case P::ne: return a != b;
  case P::slt: return a < b;
  case P::sle: return a <= b;
  case P::sgt: return a > b;
  case P::sge: return a >= b;
  case P::ult: return uint32_t(a) < uint32_t(b);
  case P::ule: return uint32_t(a) <= uint32_t(b);
  case P::ugt: return uint32_t(a) > uint32_t(b);
  case P::uge: return uint32_t(a) >= uint32_t(b);
  }
  return false;
}

bool cmpF(uint8_t pred, double a, double b) {
  using P = CmpFPred;
  bool unord = std::isnan(a) || std::isnan(b);
  switch (static_cast<P>(pred)) {
  case P::False: return false;
  case P::OEQ: return !unord && a == b;
  case P::OGT: return !unord && a > b;
  case P::OGE: return !unord && a >= b;
  case P::OLT: return !unord && a < b;
  case P::OLE: return !unord && a <= b;
  case P::ONE: return !unord && a != b;
  case P::ORD: return !unord;
  case P::UEQ: return unord || a == b;
  case P::UGT: return unord || a > b;
  case P::UGE: return unord || a >= b;
  case P::ULT: return unord || a < b;
  case P::ULE: return unord || a <= b;
  case P::UNE: return unord || a != b;
  case P::UNO: return unord;
  case P::True: return true;
  }
  return false;
}

/// A bound input tensor: values, extents and row-major strides.
struct BoundInput {
  const double *data = nullptr;
  int rank = 0;
  int64_t extent[4] = {1, 1, 1, 1};
  int64_t stride[4] = {0, 0, 0, 0};
};

struct EvalEnv {
  double seqQ = 0, seqKv = 0;
  const std::vector<BoundInput> *inputs = nullptr;
};

/// The spec's inputs among `args` (signature order), as bound tensors; false
/// when one is missing.
bool bindInputs(const KernelDesc &d, const std::vector<ArgDesc> &sig, const std::vector<const HostTensor *> &args,
                std::vector<BoundInput> &inputs) {
  inputs.clear();
  for (const InputDesc &in : d.inputs) {
    const HostTensor *t = nullptr;
    for (size_t i = 0; i < sig.size() && i < args.size(); ++i)
      if (sig[i].name == in.name) t = args[i];
    if (!t) return false;
    BoundInput bi;
    bi.data = t->data.data();
    bi.rank = static_cast<int>(t->shape.size());
    int64_t stride = 1;
    for (int i = bi.rank - 1; i >= 0; --i) {
      bi.extent[i] = t->shape[i];
      bi.stride[i] = stride;
      stride *= t->shape[i];
    }
    inputs.push_back(bi);
  }
  return true;
}

double execute(const Program &p, double *regs, const EvalEnv &env) {
  for (const Instr &in : p.code) {
    double a = regs[in.a], b = regs[in.b];
    double &d = regs[in.dst];
    switch (in.code) {
    case Code::Const: d = in.imm; break;
    case Code::SeqQ: d = env.seqQ; break;
    case Code::SeqKv: d = env.seqKv; break;
    case Code::AddI: d = wrap32(a + b); break;
    case Code::SubI: d = wrap32(a - b); break;
    case Code::MulI: d = wrap32(static_cast<double>(static_cast<int64_t>(a) * static_cast<int64_t>(b))); break;
    // Integer division by zero is defined as 0 (docs/language.md).
    case Code::DivI: d = b == 0 ? 0 : wrap32(std::trunc(a / b)); break;
    case Code::RemI: d = b == 0 ? 0 : wrap32(static_cast<double>(static_cast<int64_t>(a) % static_cast<int64_t>(b))); break;
    case Code::MinI: d = std::min(a, b); break;
    case Code::MaxI: d = std::max(a, b); break;
    case Code::AbsI: d = wrap32(std::fabs(a)); break;
    case Code::AddF: d = a + b; break;
    case Code::SubF: d = a - b; break;
    case Code::MulF: d = a * b; break;
    case Code::DivF: d = a / b; break;
    case Code::RemF: d = std::fmod(a, b); break;
    case Code::NegF: d = -a; break;
    case Code::MinF: d = (std::isnan(a) || std::isnan(b)) ? NAN : std::min(a, b); break;
    case Code::MaxF: d = (std::isnan(a) || std::isnan(b)) ? NAN : std::max(a, b); break;
    case Code::AbsF: d = std::fabs(a); break;
    case Code::Exp: d = std::exp(a); break;
    case Code::Exp2: d = std::exp2(a); break;
    case Code::Log: d = std::log(a); break;
    case Code::Log2: d = std::log2(a); break;
    case Code::Sqrt: d = std::sqrt(a); break;
    case Code::Rsqrt: d = 1 / std::sqrt(a); break;
    case Code::Tanh: d = std::tanh(a); break;
    case Code::Floor: d = std::floor(a); break;
    case Code::Ceil: d = std::ceil(a); break;
    case Code::Sin: d = std::sin(a); break;
    case Code::Cos: d = std::cos(a); break;
    case Code::Erf: d = std::erf(a); break;
    case Code::Pow: d = std::pow(a, b); break;
    case Code::Popcount: d = std::popcount(static_cast<uint32_t>(static_cast<int32_t>(a))); break;
    case Code::CmpI: d = cmpI(in.pred, static_cast<int64_t>(a), static_cast<int64_t>(b)); break;
    case Code::CmpF: d = cmpF(in.pred, a, b); break;
    // i1: logical; i32: bitwise on the two's complement bits.
    case Code::And: d = in.type == ValType::Int ? double(int32_t(a) & int32_t(b)) : double((a != 0) && (b != 0)); break;
    case Code::Or: d = in.type == ValType::Int ? double(int32_t(a) | int32_t(b)) : double((a != 0) || (b != 0)); break;
    case Code::Xor: d = in.type == ValType::Int ? double(int32_t(a) ^ int32_t(b)) : double((a != 0) != (b != 0)); break;
    case Code::Shl: d = dsl::shiftLeft32(int32_t(a), int32_t(b)); break;
    case Code::ShrS: d = dsl::shiftRight32(int32_t(a), int32_t(b)); break;
    case Code::Select: d = a != 0 ? b : regs[in.c]; break;
    case Code::IToF: d = a; break;
    case Code::FToI: d = wrap32(std::trunc(a)); break;
    case Code::Load: {
      const BoundInput &t = (*env.inputs)[in.input];
      int64_t off = 0;
      const int32_t idxRegs[4] = {in.a, in.b, in.c, static_cast<int32_t>(in.imm)};
      for (int i = 0; i < t.rank; ++i) {
        int64_t v = static_cast<int64_t>(regs[idxRegs[i]]);
        v = std::clamp<int64_t>(v, 0, t.extent[i] - 1);  // indices are clamped to the bounds
        off += v * t.stride[i];
      }
      d = t.data[off];
      break;
    }
    }
  }
  return regs[p.result];
}

}  // namespace

struct ReferenceKernel::Impl {
  KernelDesc desc;
  KernelRegions regions;
};

ReferenceKernel::ReferenceKernel() : impl_(std::make_unique<Impl>()) {}
ReferenceKernel::~ReferenceKernel() = default;
const KernelDesc &ReferenceKernel::desc() const { return impl_->desc; }

std::unique_ptr<ReferenceKernel> ReferenceKernel::create(const KernelPlan &plan) {
  std::unique_ptr<ReferenceKernel> r(new ReferenceKernel());
  r->impl_->desc = plan.desc;
  r->impl_->regions = plan.regions;
  return r;
}

namespace {

/// Element (i0, i1, i2, i3) of a 4-d row-major tensor.
inline int64_t off4(const std::vector<int64_t> &s, int64_t a, int64_t b, int64_t c, int64_t d) {
  return ((a * s[1] + b) * s[2] + c) * s[3] + d;
}

// ---- The definition ---------------------------------------------------------
// What a spec computes, stage by stage, for one call whose arguments are
// bound (Call). For each (batch b, head h), for each query row s:
//   1. materializeKV: dense K and V of the kv head (low_rank kv and low_rank
//      seq apply here; every later stage reads only these);
//   2. topBlocks: with `sparse block B top T`, the kv blocks each query block keeps;
//   3. rowScores: the row's kept pairs (mask, block mask or top-T, pruning
//      aside) and their scores: dot or additive, times scale, then score_mod;
//   4. normalize: softmax weights and lse, or sigmoid(score + bias) weights;
//   5. output: out[s] = sum over kept pairs of weight * V.
// Pruned heads skip all of it: out = 0, lse = -inf.

/// The arguments of one call, by role, and the sizes they bind.
struct Call {
  Call(const KernelDesc &d, const KernelRegions &rg, const std::vector<const HostTensor *> &args)
      : d(d), rg(rg), sig(d.signature()), args(args) {}
  const KernelDesc &d;
  const KernelRegions &rg;
  std::vector<ArgDesc> sig;
  const std::vector<const HostTensor *> &args;
  int64_t B = 0, Sq = 0, Skv = 0, H = 0, Hkv = 0, D = 0, Dv = 0, group = 1, nkv = 0, U = 0;
  bool bshd = false;
  std::vector<BoundInput> inputs;
  EvalEnv env{};

  const HostTensor *arg(const char *name) const {
    for (size_t i = 0; i < args.size(); ++i)
      if (sig[i].name == name) return args[i];
    return nullptr;
  }
  double q(int64_t b, int64_t h, int64_t s, int64_t x) const {
    const HostTensor &Q = *args[0];
    return Q.data[bshd ? off4(Q.shape, b, s, h, x) : off4(Q.shape, b, h, s, x)];
  }
  /// A region program at (b, h, s, j), with the score in register 0 for score_mod.
  double eval(const Program &p, std::vector<double> &regs, double score, int64_t b, int64_t h, int64_t s,
              int64_t j) const {
    regs[0] = score, regs[1] = double(b), regs[2] = double(h), regs[3] = double(s), regs[4] = double(j);
    return execute(p, regs.data(), env);
  }
  bool keeps(std::vector<double> &regs, int64_t b, int64_t h, int64_t s, int64_t j) const {
    return rg.mask.empty() || eval(rg.mask, regs, 0, b, h, s, j) != 0;
  }
};

/// Stage 1: dense K ([nkv][D]) and V ([nkv][Dv]) of kv head hk of batch b.
void materializeKV(const Call &c, int64_t b, int64_t hk, std::vector<double> &K, std::vector<double> &V) {
  const KernelDesc &d = c.d;
  const int64_t Skv = c.Skv, D = c.D, Dv = c.Dv;
  K.assign(Skv * D, 0);
  V.assign(Skv * Dv, 0);
  if (d.lowRank == KernelDesc::LowRank::Kv) {  // K = latent . k_up, V = latent . v_up
    // With rope P: a latent row is R + P long, K's first D - P dims are
    // latent[:R] . k_up and its last P the row's last P elements as they are.
    const HostTensor &lat = *c.arg("latent"), &ku = *c.arg("k_up"), &vu = *c.arg("v_up");
    const int64_t R = d.rank, P = d.ropeDim, L = R + P, Dn = D - P;
    for (int64_t j = 0; j < Skv; ++j) {
      for (int64_t r = 0; r < R; ++r) {
        double l = lat.data[(b * Skv + j) * L + r];
        for (int64_t x = 0; x < Dn; ++x) K[j * D + x] += l * ku.data[(hk * R + r) * Dn + x];
        for (int64_t x = 0; x < Dv; ++x) V[j * Dv + x] += l * vu.data[(hk * R + r) * Dv + x];
      }
      for (int64_t x = 0; x < P; ++x) K[j * D + Dn + x] = lat.data[(b * Skv + j) * L + R + x];
    }
  } else {
    const HostTensor &k = *c.arg("k"), &v = *c.arg("v");
    for (int64_t j = 0; j < Skv; ++j) {
      for (int64_t x = 0; x < D; ++x)
        K[j * D + x] = k.data[c.bshd ? off4(k.shape, b, j, hk, x) : off4(k.shape, b, hk, j, x)];
      for (int64_t x = 0; x < Dv; ++x)
        V[j * Dv + x] = v.data[c.bshd ? off4(v.shape, b, j, hk, x) : off4(v.shape, b, hk, j, x)];
    }
  }
  if (d.lowRank == KernelDesc::LowRank::Seq) {  // Linformer: R keys E.K and values F.V
    const HostTensor &e = *c.arg("e_proj"), &f = *c.arg("f_proj");
    const int64_t R = d.rank;
    std::vector<double> K2(R * D, 0), V2(R * Dv, 0);
    for (int64_t r = 0; r < R; ++r)
      for (int64_t j = 0; j < Skv; ++j) {
        double ev = e.data[r * Skv + j], fv = f.data[r * Skv + j];
        for (int64_t x = 0; x < D; ++x) K2[r * D + x] += ev * K[j * D + x];
        for (int64_t x = 0; x < Dv; ++x) V2[r * Dv + x] += fv * V[j * Dv + x];
      }
    // Keys and values are stored in the spec's dtype, the projected ones too
    // (docs/language.md): each exact sum rounded to it (through f32, as the
    // backends store it).
    unsigned char cell[8];
    for (double &x : K2) x = storeAs(d.dtype, cell, 0, x);
    for (double &x : V2) x = storeAs(d.dtype, cell, 0, x);
    K.swap(K2);
    V.swap(V2);
  }
}

/// Stage 2 (sparse top-T): keep[ib * nkb + jb] for query block ib and kv
/// block jb. Per query block: the T kv blocks with the largest estimated
/// score (mean q of the block . mean k of the block) among those the mask
/// keeps any pair of, ties to the lower block, plus the blocks on the diagonal.
/// The estimates follow the rule every backend computes bit for bit
/// (docs/language.md, "Top-T selection"): f64, each mean the sum in row order
/// of value / rows, the dot product summed in head_dim order, no fused
/// multiply-add; a NaN estimate ranks below every number.
std::vector<char> topBlocks(const Call &c, std::vector<double> &regs, int64_t b, int64_t h,
                            const std::vector<double> &K) {
  const int64_t blk = c.d.sparseBlock, D = c.D, nkv = c.nkv, Sq = c.Sq;
  const int64_t nqb = (Sq + blk - 1) / blk, nkb = (nkv + blk - 1) / blk;
  std::vector<char> keep(nqb * nkb, 0);
  std::vector<double> meanK(nkb * D, 0);
  for (int64_t jb = 0; jb < nkb; ++jb) {
    int64_t j0 = jb * blk, j1 = std::min(nkv, j0 + blk);
    for (int64_t j = j0; j < j1; ++j)
      for (int64_t x = 0; x < D; ++x) meanK[jb * D + x] += K[j * D + x] / double(j1 - j0);
  }
  for (int64_t ib = 0; ib < nqb; ++ib) {
    int64_t s0 = ib * blk, s1 = std::min(Sq, s0 + blk);
    std::vector<double> meanQ(D, 0);
    for (int64_t s = s0; s < s1; ++s)
      for (int64_t x = 0; x < D; ++x) meanQ[x] += c.q(b, h, s, x) / double(s1 - s0);
    std::vector<std::pair<double, int64_t>> cands;
    for (int64_t jb = 0; jb < nkb; ++jb) {
      int64_t j0 = jb * blk, j1 = std::min(nkv, j0 + blk);
      bool any = false;
      for (int64_t s = s0; s < s1 && !any; ++s)
        for (int64_t j = j0; j < j1 && !any; ++j) any = c.keeps(regs, b, h, s, j);
      if (!any) continue;
      double est = 0;
      for (int64_t x = 0; x < D; ++x) est += meanQ[x] * meanK[jb * D + x];
      cands.push_back({std::isnan(est) ? -std::numeric_limits<double>::infinity() : est, jb});
    }
    // Rank: the candidates with a larger estimate, or an equal one and a
    // lower index (what the backends count); the T first are kept.
    for (const auto &[est, jb] : cands) {
      int64_t rank = 0;
      for (const auto &[e2, j2] : cands) rank += e2 > est || (e2 == est && j2 < jb);
      if (rank < c.d.sparseTopT) keep[ib * nkb + jb] = 1;
    }
    // The diagonal: blocks holding q' = q + seq_kv - seq_q of the block's rows.
    for (int64_t s = s0; s < s1; ++s) {
      int64_t jb = std::clamp<int64_t>(s + nkv - Sq, 0, nkv - 1) / blk;
      for (auto &cand : cands)
        if (cand.second == jb) keep[ib * nkb + jb] = 1;
    }
  }
  return keep;
}

/// What stage 3 needs of a head besides the call: its K, the additive
/// projections, the block selections.
struct HeadData {
  const std::vector<double> &K;
  const std::vector<double> &kProj;  // additive: [nkv][U] k projections of the kv head
  std::vector<double> qProj;         // additive: [Sq][U] q projections of this head
  std::vector<char> topKeep;         // sparse top-T (stage 2)
};

/// Stage 3: the kept pairs of row s of head h, as (score, kv index), scores
/// scaled and passed through score_mod. Returns their number.
int64_t rowScores(const Call &c, std::vector<double> &regs, const HeadData &hd, int64_t b, int64_t h, int64_t s,
                  std::vector<double> &scores, std::vector<int64_t> &idx) {
  const KernelDesc &d = c.d;
  const int64_t blk = d.sparseBlock, D = c.D, U = c.U;
  const int64_t nqb = blk ? (c.Sq + blk - 1) / blk : 0, nkb = blk ? (c.nkv + blk - 1) / blk : 0;
  const HostTensor *blockMask = blk > 0 && !d.sparseTop ? c.arg("block_mask") : nullptr;
  const HostTensor *addV = d.additive ? c.arg("add_v") : nullptr;
  int64_t n = 0;
  for (int64_t j = 0; j < c.nkv; ++j) {
    if (!c.keeps(regs, b, h, s, j)) continue;
    if (blockMask && blockMask->data[((b * c.H + h) * nqb + s / blk) * nkb + j / blk] == 0) continue;
    if (d.sparseTop && !hd.topKeep[(s / blk) * nkb + j / blk]) continue;
    double sc = 0;
    if (d.additive)
      for (int64_t u = 0; u < U; ++u) sc += addV->data[h * U + u] * std::tanh(hd.qProj[s * U + u] + hd.kProj[j * U + u]);
    else
      for (int64_t x = 0; x < D; ++x) sc += c.q(b, h, s, x) * hd.K[j * D + x];
    sc *= d.scale;
    if (!c.rg.scoreMod.empty()) sc = c.eval(c.rg.scoreMod, regs, sc, b, h, s, j);
    scores[n] = sc;
    idx[n++] = j;
  }
  return n;
}

/// Stage 4: the weights of a row's n kept pairs (in place of their scores);
/// returns the row's lse (softmax; -inf when nothing is kept, sigmoid: unused).
double normalize(const Call &c, std::vector<double> &regs, int64_t b, int64_t h, int64_t s,
                 std::vector<double> &scores, const std::vector<int64_t> &idx, int64_t n) {
  const double inf = std::numeric_limits<double>::infinity();
  if (c.d.sigmoid) {
    for (int64_t i = 0; i < n; ++i) {
      double bias = c.rg.bias.empty() ? 0 : c.eval(c.rg.bias, regs, 0, b, h, s, idx[i]);
      scores[i] = 1 / (1 + std::exp(-(scores[i] + bias)));
    }
    return -inf;
  }
  // A score of -inf weighs nothing, as if masked: a row whose scores are all
  // -inf is fully masked (out 0, lse -inf). A NaN score makes the sum, hence
  // every weight and the lse, NaN (docs/language.md, numerics).
  const double m = n == 0 ? -inf : *std::max_element(scores.begin(), scores.begin() + n);
  if (m == -inf) {
    for (int64_t i = 0; i < n; ++i) scores[i] = std::isnan(scores[i]) ? scores[i] : 0.0;
    return std::any_of(scores.begin(), scores.begin() + n, [](double x) { return std::isnan(x); }) ? NAN : -inf;
  }
  double sum = 0;
  for (int64_t i = 0; i < n; ++i) sum += std::exp(scores[i] - m);
  for (int64_t i = 0; i < n; ++i) scores[i] = std::exp(scores[i] - m) / sum;
  return m + std::log(sum);
}

/// Stage 5: out[s] = sum_i weight_i * V[idx_i] (outRow: value_dim contiguous values).
void output(const Call &c, const std::vector<double> &weights, const std::vector<int64_t> &idx, int64_t n,
            const std::vector<double> &V, double *outRow) {
  for (int64_t x = 0; x < c.Dv; ++x) outRow[x] = 0;
  for (int64_t i = 0; i < n; ++i)
    for (int64_t x = 0; x < c.Dv; ++x) outRow[x] += weights[i] * V[idx[i] * c.Dv + x];
}

}  // namespace

bool ReferenceKernel::run(const std::vector<const HostTensor *> &args, HostTensor &out, HostTensor *lse,
                          std::string &error, int threads, HostTensor *scoreMax) const {
  const KernelDesc &d = impl_->desc;
  Call c(d, impl_->regions, args);
  // ---- Bind the arguments: counts, shapes (the ABI's rules), outputs.
  const size_t numIn = c.sig.size() - (d.outputLse ? 2 : 1);
  if (args.size() != numIn) {
    error = fmt::format("expected {} input tensors, got {}", numIn, args.size());
    return false;
  }
  std::vector<std::vector<int64_t>> shapes;
  for (size_t i = 0; i < numIn; ++i) {
    if (!args[i]) {
      error = fmt::format("`{}` is null", c.sig[i].name);
      return false;
    }
    if (static_cast<int64_t>(args[i]->data.size()) != args[i]->numel()) {
      error = fmt::format("`{}` holds {} values for its shape", c.sig[i].name, args[i]->data.size());
      return false;
    }
    shapes.push_back(args[i]->shape);
  }
  if (shapes[0].size() != 4) {
    error = fmt::format("`q` must have 4 dimensions, got {}", shapes[0].size());
    return false;
  }
  c.bshd = d.layout == dsl::Layout::BSHD;
  {  // outputs take their shapes from the signature
    const int64_t batch = shapes[0][0], seqQ = c.bshd ? shapes[0][1] : shapes[0][2];
    shapes.push_back(c.bshd ? std::vector<int64_t>{batch, seqQ, d.heads, d.valueDim}
                            : std::vector<int64_t>{batch, d.heads, seqQ, d.valueDim});
    if (d.outputLse) shapes.push_back({batch, d.heads, seqQ});
  }
  CallSizes sz;
  if (!bindShapes(d, shapes, sz, error)) return false;
  if (d.outputLse && !lse) {
    error = "`lse` is null";
    return false;
  }
  if (!bindInputs(d, c.sig, args, c.inputs)) {
    error = "an input tensor is missing";
    return false;
  }
  out = HostTensor(shapes[numIn]);
  if (d.outputLse) *lse = HostTensor(shapes[numIn + 1]);
  if (scoreMax) *scoreMax = HostTensor({sz.batch, d.heads, sz.seqQ});
  c.B = sz.batch, c.Sq = sz.seqQ, c.Skv = sz.seqKv, c.H = d.heads, c.Hkv = d.kvHeads, c.D = d.headDim;
  c.Dv = d.valueDim, c.group = d.heads / d.kvHeads, c.U = d.units;
  c.nkv = d.lowRank == KernelDesc::LowRank::Seq ? d.rank : c.Skv;  // (Linformer: its R projections)
  c.env = EvalEnv{static_cast<double>(c.Sq), static_cast<double>(c.Skv), &c.inputs};

  // ---- Per (batch, kv head): stage 1, and the additive k projections. The
  // heads of a group share them: built once by whichever head gets there first.
  struct KvHead {
    std::once_flag once;
    std::vector<double> K, V, kProj;
  };
  std::vector<KvHead> kvHeads(c.B * c.Hkv);
  auto buildKvHead = [&](int64_t b, int64_t hk, KvHead &kv) {
    materializeKV(c, b, hk, kv.K, kv.V);
    if (!d.additive) return;
    const HostTensor &wk = *c.arg("add_wk");
    kv.kProj.assign(c.nkv * c.U, 0);
    for (int64_t j = 0; j < c.nkv; ++j)
      for (int64_t x = 0; x < c.D; ++x)
        for (int64_t u = 0; u < c.U; ++u) kv.kProj[j * c.U + u] += kv.K[j * c.D + x] * wk.data[(hk * c.D + x) * c.U + u];
  };
  std::vector<char> pruned(c.H, 0);
  for (int64_t h : d.prunedHeads) pruned[h] = 1;

  // ---- Per (batch, head): stages 2 to 5 for every row.
  auto head = [&](int64_t bh) {
    const int64_t b = bh / c.H, h = bh % c.H, hk = h / c.group;
    auto outRow = [&](int64_t s) {
      return &out.data[c.bshd ? off4(out.shape, b, s, h, 0) : off4(out.shape, b, h, s, 0)];
    };
    auto lseAt = [&](int64_t s) -> double * { return d.outputLse ? &lse->data[(b * c.H + h) * c.Sq + s] : nullptr; };
    if (pruned[h]) {
      for (int64_t s = 0; s < c.Sq; ++s) {
        std::fill(outRow(s), outRow(s) + c.Dv, 0.0);
        if (double *l = lseAt(s)) *l = -std::numeric_limits<double>::infinity();
      }
      return;
    }
    KvHead &kv = kvHeads[b * c.Hkv + hk];
    std::call_once(kv.once, [&] { buildKvHead(b, hk, kv); });
    std::vector<double> regs(std::max({c.rg.mask.numRegs, c.rg.scoreMod.numRegs, c.rg.bias.numRegs, 5}));
    HeadData hd{kv.K, kv.kProj, {}, {}};
    if (d.additive) {  // the projections of this head's q rows
      const HostTensor &wq = *c.arg("add_wq");
      hd.qProj.assign(c.Sq * c.U, 0);
      for (int64_t s = 0; s < c.Sq; ++s)
        for (int64_t x = 0; x < c.D; ++x) {
          double qv = c.q(b, h, s, x);
          for (int64_t u = 0; u < c.U; ++u) hd.qProj[s * c.U + u] += qv * wq.data[(h * c.D + x) * c.U + u];
        }
    }
    if (d.sparseTop) hd.topKeep = topBlocks(c, regs, b, h, kv.K);
    std::vector<double> scores(c.nkv);
    std::vector<int64_t> idx(c.nkv);
    for (int64_t s = 0; s < c.Sq; ++s) {
      const int64_t n = rowScores(c, regs, hd, b, h, s, scores, idx);
      if (scoreMax) {
        double mx = 0;
        for (int64_t i = 0; i < n; ++i) mx = std::max(mx, std::fabs(scores[i]));
        scoreMax->data[(b * c.H + h) * c.Sq + s] = mx;
      }
      const double rowLse = normalize(c, regs, b, h, s, scores, idx, n);
      output(c, scores, idx, n, kv.V, outRow(s));
      if (double *l = lseAt(s)) *l = rowLse;
    }
  };

  const int64_t tasks = c.B * c.H;
  int nt = threads > 0 ? threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  nt = static_cast<int>(std::min<int64_t>(nt, tasks));
  parallelFor(nt, tasks, head);
  return true;
}

int64_t ReferenceKernel::countKept(const std::vector<const HostTensor *> &args, int64_t b, int64_t h, int64_t seqQ,
                                   int64_t seqKv) const {
  std::vector<int64_t> maskKept, kept;
  if (!tileKept(args, b, h, seqQ, seqKv, std::max<int64_t>(seqQ, 1), std::max<int64_t>(seqKv, 1), maskKept, kept))
    return -1;
  return kept.empty() ? 0 : kept[0];
}

bool ReferenceKernel::tileKept(const std::vector<const HostTensor *> &args, int64_t b, int64_t h, int64_t seqQ,
                               int64_t seqKv, int64_t tileQ, int64_t tileKv, std::vector<int64_t> &maskKept,
                               std::vector<int64_t> &kept) const {
  const KernelDesc &d = impl_->desc;
  const Program &maskP = impl_->regions.mask;
  std::vector<ArgDesc> sig = d.signature();
  if (tileQ < 1 || tileKv < 1) return false;
  const int64_t ntq = (seqQ + tileQ - 1) / tileQ, ntk = (seqKv + tileKv - 1) / tileKv;
  maskKept.assign(ntq * ntk, 0);
  kept.assign(ntq * ntk, 0);
  // `sparse block B input`: the caller's block mask drops pairs too.
  const HostTensor *blockMask = nullptr;
  const int64_t blk = d.sparseBlock > 0 && !d.sparseTop ? d.sparseBlock : 0;
  for (size_t i = 0; blk && i < sig.size() && i < args.size(); ++i)
    if (sig[i].name == "block_mask") blockMask = args[i];
  if (blk && !blockMask) return false;
  if (maskP.empty() && !blockMask && !d.sparseTop) {  // every pair: the tiles' areas
    for (int64_t t = 0; t < ntq; ++t)
      for (int64_t u = 0; u < ntk; ++u)
        maskKept[t * ntk + u] = kept[t * ntk + u] =
            (std::min(seqQ, (t + 1) * tileQ) - t * tileQ) * (std::min(seqKv, (u + 1) * tileKv) - u * tileKv);
    return true;
  }
  std::vector<BoundInput> inputs;
  if (!bindInputs(d, sig, args, inputs)) return false;
  EvalEnv env{static_cast<double>(seqQ), static_cast<double>(seqKv), &inputs};
  std::vector<double> regs(std::max(maskP.numRegs, 5));
  const int64_t nqb = blk ? (seqQ + blk - 1) / blk : 0, nkb = blk ? (seqKv + blk - 1) / blk : 0;
  // `sparse block B top T`: the blocks the planning step keeps (stage 2).
  std::vector<char> topKeep;
  const int64_t tblk = d.sparseTop ? d.sparseBlock : 0, tnkb = tblk ? (seqKv + tblk - 1) / tblk : 0;
  if (d.sparseTop) {
    if (d.lowRank != KernelDesc::LowRank::None || args.empty() || !args[0]) return false;
    Call c(d, impl_->regions, args);
    c.bshd = d.layout == dsl::Layout::BSHD;
    c.B = args[0]->shape[0], c.Sq = seqQ, c.Skv = seqKv, c.H = d.heads, c.Hkv = d.kvHeads, c.D = d.headDim;
    c.Dv = d.valueDim, c.group = d.heads / d.kvHeads, c.U = d.units, c.nkv = seqKv;
    c.inputs = inputs;
    c.env = EvalEnv{static_cast<double>(seqQ), static_cast<double>(seqKv), &c.inputs};
    std::vector<double> K, V;
    materializeKV(c, b, h / c.group, K, V);
    topKeep = topBlocks(c, regs, b, h, K);
  }
  for (int64_t q = 0; q < seqQ; ++q)
    for (int64_t j = 0; j < seqKv; ++j) {
      bool keep = true;
      if (!maskP.empty()) {
        regs[1] = double(b), regs[2] = double(h), regs[3] = double(q), regs[4] = double(j);
        keep = execute(maskP, regs.data(), env) != 0;
      }
      if (!keep) continue;
      const int64_t t = (q / tileQ) * ntk + j / tileKv;
      ++maskKept[t];
      if (blockMask && blockMask->data[((b * d.heads + h) * nqb + q / blk) * nkb + j / blk] == 0) continue;
      if (tblk && !topKeep[(q / tblk) * tnkb + j / tblk]) continue;
      ++kept[t];
    }
  return true;
}

}  // namespace attnc
