#include "lowering/reference/Reference.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <limits>
#include <mutex>
#include <numeric>
#include <thread>

#include <fmt/format.h>

#include "lowering/kernel/ParallelFor.h"
#include "lowering/kernel/Program.h"

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
    case Code::CmpI: d = cmpI(in.pred, static_cast<int64_t>(a), static_cast<int64_t>(b)); break;
    case Code::CmpF: d = cmpF(in.pred, a, b); break;
    case Code::And: d = (a != 0) && (b != 0); break;
    case Code::Or: d = (a != 0) || (b != 0); break;
    case Code::Xor: d = (a != 0) != (b != 0); break;
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

}  // namespace

bool ReferenceKernel::run(const std::vector<const HostTensor *> &args, HostTensor &out, HostTensor *lse,
                          std::string &error, int threads, HostTensor *scoreMax) const {
  const KernelDesc &d = impl_->desc;
  std::vector<ArgDesc> sig = d.signature();
  size_t numIn = sig.size() - (d.outputLse ? 2 : 1);
  if (args.size() != numIn) {
    error = fmt::format("expected {} input tensors, got {}", numIn, args.size());
    return false;
  }
  std::vector<std::vector<int64_t>> shapes;
  for (size_t i = 0; i < numIn; ++i) {
    if (!args[i]) {
      error = fmt::format("`{}` is null", sig[i].name);
      return false;
    }
    if (static_cast<int64_t>(args[i]->data.size()) != args[i]->numel()) {
      error = fmt::format("`{}` holds {} values for its shape", sig[i].name, args[i]->data.size());
      return false;
    }
    shapes.push_back(args[i]->shape);
  }
  // Outputs take their shapes from the signature.
  CallSizes sz;
  {
    if (shapes[0].size() != 4) {
      error = fmt::format("`q` must have 4 dimensions, got {}", shapes[0].size());
      return false;
    }
    std::vector<std::vector<int64_t>> all = shapes;
    int64_t batch = shapes[0][0];
    bool bshd = d.layout == dsl::Layout::BSHD;
    int64_t seqQ = bshd ? shapes[0][1] : shapes[0][2];
    all.push_back(bshd ? std::vector<int64_t>{batch, seqQ, d.heads, d.valueDim}
                       : std::vector<int64_t>{batch, d.heads, seqQ, d.valueDim});
    if (d.outputLse) all.push_back({batch, d.heads, seqQ});
    if (!bindShapes(d, all, sz, error)) return false;
    out = HostTensor(all[numIn]);
    if (d.outputLse) {
      if (!lse) {
        error = "`lse` is null";
        return false;
      }
      *lse = HostTensor(all[numIn + 1]);
    }
  }
  const int64_t B = sz.batch, Sq = sz.seqQ, Skv = sz.seqKv, H = d.heads, Hkv = d.kvHeads, D = d.headDim,
                Dv = d.valueDim;
  const bool bshd = d.layout == dsl::Layout::BSHD;
  const int64_t group = H / Hkv;

  // Index of each argument by name.
  auto arg = [&](const char *name) -> const HostTensor * {
    for (size_t i = 0; i < numIn; ++i)
      if (sig[i].name == name) return args[i];
    return nullptr;
  };
  const HostTensor &Q = *args[0];
  std::vector<BoundInput> inputs;
  if (!bindInputs(d, sig, args, inputs)) {
    error = "an input tensor is missing";
    return false;
  }
  EvalEnv env{static_cast<double>(Sq), static_cast<double>(Skv), &inputs};
  const int64_t nkv = d.lowRank == KernelDesc::LowRank::Seq ? d.rank : Skv;

  auto qAt = [&](int64_t b, int64_t h, int64_t s, int64_t x) {
    return Q.data[bshd ? off4(Q.shape, b, s, h, x) : off4(Q.shape, b, h, s, x)];
  };

  // Dense K and V ([nkv][D], [nkv][Dv]) of one (batch, kv head), whatever the
  // layout and transform; the attention loop below then reads only these.
  auto materializeKV = [&](int64_t b, int64_t hk, std::vector<double> &K, std::vector<double> &V) {
    K.assign(Skv * D, 0);
    V.assign(Skv * Dv, 0);
    if (d.lowRank == KernelDesc::LowRank::Kv) {
      const HostTensor &lat = *arg("latent"), &ku = *arg("k_up"), &vu = *arg("v_up");
      int64_t R = d.rank;
      for (int64_t j = 0; j < Skv; ++j)
        for (int64_t r = 0; r < R; ++r) {
          double l = lat.data[(b * Skv + j) * R + r];
          for (int64_t x = 0; x < D; ++x) K[j * D + x] += l * ku.data[(hk * R + r) * D + x];
          for (int64_t x = 0; x < Dv; ++x) V[j * Dv + x] += l * vu.data[(hk * R + r) * Dv + x];
        }
    } else {
      const HostTensor &k = *arg("k"), &v = *arg("v");
      for (int64_t j = 0; j < Skv; ++j) {
        for (int64_t x = 0; x < D; ++x)
          K[j * D + x] = k.data[bshd ? off4(k.shape, b, j, hk, x) : off4(k.shape, b, hk, j, x)];
        for (int64_t x = 0; x < Dv; ++x)
          V[j * Dv + x] = v.data[bshd ? off4(v.shape, b, j, hk, x) : off4(v.shape, b, hk, j, x)];
      }
    }
    if (d.lowRank == KernelDesc::LowRank::Seq) {
      const HostTensor &e = *arg("e_proj"), &f = *arg("f_proj");
      int64_t R = d.rank;
      std::vector<double> K2(R * D, 0), V2(R * Dv, 0);
      for (int64_t r = 0; r < R; ++r)
        for (int64_t j = 0; j < Skv; ++j) {
          double ev = e.data[r * Skv + j], fv = f.data[r * Skv + j];
          for (int64_t x = 0; x < D; ++x) K2[r * D + x] += ev * K[j * D + x];
          for (int64_t x = 0; x < Dv; ++x) V2[r * Dv + x] += fv * V[j * Dv + x];
        }
      K.swap(K2);
      V.swap(V2);
    }
  };

  const Program &maskP = impl_->regions.mask, &modP = impl_->regions.scoreMod, &biasP = impl_->regions.bias;
  std::vector<char> isPruned(H, 0);
  for (int64_t h : d.prunedHeads) isPruned[h] = 1;
  const HostTensor *blockMask = d.sparseBlock > 0 && !d.sparseTop ? arg("block_mask") : nullptr;
  const int64_t blk = d.sparseBlock;
  const int64_t nqb = blk ? (Sq + blk - 1) / blk : 0, nkb = blk ? (nkv + blk - 1) / blk : 0;

  const int64_t U = d.units;
  struct KvCache {
    std::once_flag once;
    std::vector<double> K, V, kProj;
  };
  std::vector<KvCache> kvCache(B * Hkv);
  auto buildKv = [&](int64_t b, int64_t hk, KvCache &c) {
    materializeKV(b, hk, c.K, c.V);
    if (!d.additive) return;
    const HostTensor &wk = *arg("add_wk");
    c.kProj.assign(nkv * U, 0);
    for (int64_t j = 0; j < nkv; ++j)
      for (int64_t x = 0; x < D; ++x)
        for (int64_t u = 0; u < U; ++u) c.kProj[j * U + u] += c.K[j * D + x] * wk.data[(hk * D + x) * U + u];
  };

  HostTensor *lseOut = d.outputLse ? lse : nullptr;
  if (scoreMax) *scoreMax = HostTensor({B, H, Sq});
  auto work = [&](int64_t bh) {
    int64_t b = bh / H, h = bh % H, hk = h / group;
    auto outAt = [&](int64_t s, int64_t x) -> double & {
      return out.data[bshd ? off4(out.shape, b, s, h, x) : off4(out.shape, b, h, s, x)];
    };
    if (isPruned[h]) {
      for (int64_t s = 0; s < Sq; ++s) {
        for (int64_t x = 0; x < Dv; ++x) outAt(s, x) = 0;
        if (lseOut) lseOut->data[(b * H + h) * Sq + s] = -std::numeric_limits<double>::infinity();
      }
      return;
    }
    // The heads of a group share one dense K/V (and additive k projection):
    // built once per (batch, kv head) by whichever head gets there first.
    KvCache &cache = kvCache[b * Hkv + hk];
    std::call_once(cache.once, [&] { buildKv(b, hk, cache); });
    const std::vector<double> &K = cache.K, &V = cache.V, &kProj = cache.kProj;
    std::vector<double> regs(std::max({maskP.numRegs, modP.numRegs, biasP.numRegs, 5}));
    auto maskAt = [&](int64_t s, int64_t j) {
      if (maskP.empty()) return true;
      regs[1] = double(b), regs[2] = double(h), regs[3] = double(s), regs[4] = double(j);
      return execute(maskP, regs.data(), env) != 0;
    };

    // Additive scoring: the projections of this head's q rows.
    std::vector<double> qProj;
    if (d.additive) {
      const HostTensor &wq = *arg("add_wq");
      qProj.assign(Sq * U, 0);
      for (int64_t s = 0; s < Sq; ++s)
        for (int64_t x = 0; x < D; ++x) {
          double qv = qAt(b, h, s, x);
          for (int64_t u = 0; u < U; ++u) qProj[s * U + u] += qv * wq.data[(h * D + x) * U + u];
        }
    }

    // Top-T block selection: which kv blocks each query block keeps.
    std::vector<char> keptBlock;
    if (d.sparseTop) {
      keptBlock.assign(nqb * nkb, 0);
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
          for (int64_t x = 0; x < D; ++x) meanQ[x] += qAt(b, h, s, x) / double(s1 - s0);
        std::vector<std::pair<double, int64_t>> cands;
        for (int64_t jb = 0; jb < nkb; ++jb) {
          int64_t j0 = jb * blk, j1 = std::min(nkv, j0 + blk);
          bool any = false;
          for (int64_t s = s0; s < s1 && !any; ++s)
            for (int64_t j = j0; j < j1 && !any; ++j) any = maskAt(s, j);
          if (!any) continue;
          double est = 0;
          for (int64_t x = 0; x < D; ++x) est += meanQ[x] * meanK[jb * D + x];
          cands.push_back({est, jb});
        }
        std::stable_sort(cands.begin(), cands.end(), [](auto &x, auto &y) { return x.first > y.first; });
        for (size_t i = 0; i < cands.size() && static_cast<int64_t>(i) < d.sparseTopT; ++i)
          keptBlock[ib * nkb + cands[i].second] = 1;
        // The diagonal: blocks holding q' = q + seq_kv - seq_q of the block's rows.
        for (int64_t s = s0; s < s1; ++s) {
          int64_t qa = std::clamp<int64_t>(s + nkv - Sq, 0, nkv - 1);
          int64_t jb = qa / blk;
          for (auto &c : cands)
            if (c.second == jb) keptBlock[ib * nkb + jb] = 1;
        }
      }
    }

    std::vector<double> scores(nkv), vals;
    std::vector<int64_t> idx(nkv);
    for (int64_t s = 0; s < Sq; ++s) {
      int64_t n = 0;
      for (int64_t j = 0; j < nkv; ++j) {
        if (!maskAt(s, j)) continue;
        if (blockMask && blockMask->data[((b * H + h) * nqb + s / blk) * nkb + j / blk] == 0) continue;
        if (d.sparseTop && !keptBlock[(s / blk) * nkb + j / blk]) continue;
        double sc = 0;
        if (d.additive) {
          const HostTensor &av = *arg("add_v");
          for (int64_t u = 0; u < U; ++u) sc += av.data[h * U + u] * std::tanh(qProj[s * U + u] + kProj[j * U + u]);
        } else {
          for (int64_t x = 0; x < D; ++x) sc += qAt(b, h, s, x) * K[j * D + x];
        }
        sc *= d.scale;
        if (!modP.empty()) {
          regs[0] = sc, regs[1] = double(b), regs[2] = double(h), regs[3] = double(s), regs[4] = double(j);
          sc = execute(modP, regs.data(), env);
        }
        scores[n] = sc;
        idx[n++] = j;
      }
      if (scoreMax) {
        double mx = 0;
        for (int64_t i = 0; i < n; ++i) mx = std::max(mx, std::fabs(scores[i]));
        scoreMax->data[(b * H + h) * Sq + s] = mx;
      }
      for (int64_t x = 0; x < Dv; ++x) outAt(s, x) = 0;
      if (d.sigmoid) {
        for (int64_t i = 0; i < n; ++i) {
          double bias = 0;
          if (!biasP.empty()) {
            regs[1] = double(b), regs[2] = double(h), regs[3] = double(s), regs[4] = double(idx[i]);
            bias = execute(biasP, regs.data(), env);
          }
          double w = 1 / (1 + std::exp(-(scores[i] + bias)));
          for (int64_t x = 0; x < Dv; ++x) outAt(s, x) += w * V[idx[i] * Dv + x];
        }
        continue;
      }
      double lseVal = -std::numeric_limits<double>::infinity();
      if (n > 0) {
        double m = *std::max_element(scores.begin(), scores.begin() + n);
        double sum = 0;
        for (int64_t i = 0; i < n; ++i) sum += std::exp(scores[i] - m);
        for (int64_t i = 0; i < n; ++i) {
          double p = std::exp(scores[i] - m) / sum;
          for (int64_t x = 0; x < Dv; ++x) outAt(s, x) += p * V[idx[i] * Dv + x];
        }
        lseVal = m + std::log(sum);
      }
      if (lseOut) lseOut->data[(b * H + h) * Sq + s] = lseVal;
    }
  };

  int64_t tasks = B * H;
  int nt = threads > 0 ? threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  nt = static_cast<int>(std::min<int64_t>(nt, tasks));
  parallelFor(nt, tasks, work);
  return true;
}

int64_t ReferenceKernel::countKept(const std::vector<const HostTensor *> &args, int64_t b, int64_t h, int64_t seqQ,
                                   int64_t seqKv) const {
  const KernelDesc &d = impl_->desc;
  const Program &maskP = impl_->regions.mask;
  if (maskP.empty()) return seqQ * seqKv;
  std::vector<ArgDesc> sig = d.signature();
  std::vector<BoundInput> inputs;
  if (!bindInputs(d, sig, args, inputs)) return -1;
  EvalEnv env{static_cast<double>(seqQ), static_cast<double>(seqKv), &inputs};
  std::vector<double> regs(std::max(maskP.numRegs, 5));
  int64_t n = 0;
  for (int64_t q = 0; q < seqQ; ++q)
    for (int64_t j = 0; j < seqKv; ++j) {
      regs[1] = double(b), regs[2] = double(h), regs[3] = double(q), regs[4] = double(j);
      n += execute(maskP, regs.data(), env) != 0;
    }
  return n;
}

}  // namespace attnc
