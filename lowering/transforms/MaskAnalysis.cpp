#include "lowering/kernel/MaskInfo.h"

#include <algorithm>
#include <climits>

#include "llvm/ADT/DenseMap.h"
#include "mlir/IR/Builders.h"
#include <fmt/format.h>

#include "lowering/ir/AttnDialect.h"
#include "lowering/transforms/MaskAnalysisIR.h"
#include "lowering/transforms/Passes.h"

using namespace mlir;

namespace attnc {

namespace {

constexpr size_t kMaxParts = 32;
constexpr size_t kMaxBounds = 8;

/// An integer value as an affine function of kv_idx and the row, if it is one.
struct Lin {
  bool ok = false;
  int64_t kv = 0;
  Affine rest;
};

/// Coefficients stay far from int64's limits (products of i32 constants would
/// otherwise overflow the analysis itself); a form past this is not tracked.
constexpr int64_t kMaxCoefficient = int64_t(1) << 40;

Lin checked(Lin r) {
  for (int64_t x : {r.kv, r.rest.q, r.rest.sq, r.rest.skv, r.rest.c})
    if (x > kMaxCoefficient || x < -kMaxCoefficient) return {};
  return r;
}

Lin linAdd(const Lin &a, const Lin &b, int64_t sign) {
  if (!a.ok || !b.ok) return {};
  Lin r;
  r.ok = true;
  r.kv = a.kv + sign * b.kv;
  r.rest = {a.rest.q + sign * b.rest.q, a.rest.sq + sign * b.rest.sq, a.rest.skv + sign * b.rest.skv,
            a.rest.c + sign * b.rest.c};
  return checked(r);
}
Lin linScale(const Lin &a, int64_t k) {
  if (!a.ok) return {};
  Lin r = a;
  r.kv *= k;
  r.rest = {a.rest.q * k, a.rest.sq * k, a.rest.skv * k, a.rest.c * k};
  return checked(r);
}

/// Whether the unbounded value of `l` lies in i32 for every index a call can
/// have: 0 <= q_idx < seq_q, 0 <= kv_idx < seq_kv, 1 <= seq_q, seq_kv <=
/// kMaxSeqLen (2^30 - 1, which every kernel's argument checks enforce).
/// The language's integers wrap (i32), and + - * wrap consistently (they are
/// exact modulo 2^32), so such a value is the one the kernels compute, however
/// its intermediate sums wrapped; a value that can leave i32 is not the
/// affine form the analysis reasons with. The domain is a product of two
/// triangles, so a linear form takes its extremes at their vertices.
bool fitsI32(const Lin &l) {
  const __int128 M = kMaxSeqLen;
  const __int128 rows[3][2] = {{0, 1}, {0, M}, {M - 1, M}};  // (index, length) vertices
  for (auto &qv : rows)
    for (auto &kvv : rows) {
      __int128 v = __int128(l.rest.c) + __int128(l.rest.q) * qv[0] + __int128(l.rest.sq) * qv[1] +
                   __int128(l.kv) * kvv[0] + __int128(l.rest.skv) * kvv[1];
      if (v < INT32_MIN || v > INT32_MAX) return false;
    }
  return true;
}
bool isConstant(const Lin &l) { return l.ok && l.kv == 0 && l.rest.q == 0 && l.rest.sq == 0 && l.rest.skv == 0; }

struct Approx {
  KvSet inner, outer;
  bool exact = true;
  bool readsInputs = false;
};

Approx unknown(bool readsInputs) { return {KvSet::none(), KvSet::all(), false, readsInputs}; }

bool tooBig(const KvSet &s) {
  if (s.parts.size() > kMaxParts) return true;
  for (auto &p : s.parts)
    if (p.lo.size() > kMaxBounds || p.hi.size() > kMaxBounds) return true;
  return false;
}

void addUnique(std::vector<Affine> &v, const Affine &a) {
  if (std::find(v.begin(), v.end(), a) == v.end()) v.push_back(a);
}
void addUnique(KvSet &s, const KvInterval &iv) {
  if (std::find(s.parts.begin(), s.parts.end(), iv) == s.parts.end()) s.parts.push_back(iv);
}

KvSet intersect(const KvSet &a, const KvSet &b) {
  KvSet r;
  for (auto &x : a.parts)
    for (auto &y : b.parts) {
      KvInterval iv = x;
      for (auto &l : y.lo) addUnique(iv.lo, l);
      for (auto &h : y.hi) addUnique(iv.hi, h);
      addUnique(r, iv);
    }
  return r;
}
KvSet unite(const KvSet &a, const KvSet &b) {
  KvSet r = a;
  for (auto &y : b.parts) addUnique(r, y);
  return r;
}
KvSet complement(const KvSet &a) {
  KvSet r = KvSet::all();
  for (auto &iv : a.parts) {
    KvSet c;
    for (auto &l : iv.lo) c.parts.push_back({{}, {Affine{l.q, l.sq, l.skv, l.c - 1}}});
    for (auto &h : iv.hi) c.parts.push_back({{Affine{h.q, h.sq, h.skv, h.c + 1}}, {}});
    r = intersect(r, c);
    if (tooBig(r)) return KvSet::none();  // callers check tooBig on their side too
  }
  return r;
}

class Analyzer {
public:
  explicit Analyzer(Block &block) : block_(block) {}

  Lin lin(Value v) {
    Lin r;
    if (auto arg = dyn_cast<BlockArgument>(v)) {
      // mask region arguments: b, h, q_idx, kv_idx
      if (arg.getOwner() != &block_) return r;
      if (arg.getArgNumber() == 2) r = {true, 0, Affine{1, 0, 0, 0}};
      if (arg.getArgNumber() == 3) r = {true, 1, Affine{}};
      return r;
    }
    Operation *op = v.getDefiningOp();
    if (auto c = dyn_cast<arith::ConstantIntOp>(op)) return {true, 0, Affine{0, 0, 0, c.value()}};
    if (isa<attn::SeqQOp>(op)) return {true, 0, Affine{0, 1, 0, 0}};
    if (isa<attn::SeqKvOp>(op)) return {true, 0, Affine{0, 0, 1, 0}};
    if (auto a = dyn_cast<arith::AddIOp>(op)) return linAdd(lin(a.getLhs()), lin(a.getRhs()), 1);
    if (auto s = dyn_cast<arith::SubIOp>(op)) return linAdd(lin(s.getLhs()), lin(s.getRhs()), -1);
    if (auto m = dyn_cast<arith::MulIOp>(op)) {
      Lin a = lin(m.getLhs()), b = lin(m.getRhs());
      if (isConstant(a)) return linScale(b, a.rest.c);
      if (isConstant(b)) return linScale(a, b.rest.c);
    }
    return r;
  }

  bool readsInputs(Value v) {
    Operation *op = v.getDefiningOp();
    if (!op) return false;
    auto it = reads_.find(op);
    if (it != reads_.end()) return it->second;
    bool r = isa<attn::LoadOp>(op);
    for (Value o : op->getOperands()) r = r || readsInputs(o);
    reads_[op] = r;
    return r;
  }

  Approx boolean(Value v) {
    Operation *op = v.getDefiningOp();
    if (!op) return unknown(false);
    auto it = memo_.find(op);
    if (it != memo_.end()) return it->second;
    Approx r = compute(v, op);
    if (tooBig(r.inner) || tooBig(r.outer)) r = unknown(r.readsInputs);
    memo_[op] = r;
    return r;
  }

private:
  Approx exactSet(KvSet s) { return {s, s, true, false}; }

  Approx compute(Value v, Operation *op) {
    if (auto c = dyn_cast<arith::ConstantIntOp>(op)) return exactSet(c.value() ? KvSet::all() : KvSet::none());
    if (auto cmp = dyn_cast<arith::CmpIOp>(op)) return compare(cmp);
    if (auto a = dyn_cast<arith::AndIOp>(op)) {
      Approx x = boolean(a.getLhs()), y = boolean(a.getRhs());
      return {intersect(x.inner, y.inner), intersect(x.outer, y.outer), x.exact && y.exact,
              x.readsInputs || y.readsInputs};
    }
    if (auto o = dyn_cast<arith::OrIOp>(op)) {
      Approx x = boolean(o.getLhs()), y = boolean(o.getRhs());
      return {unite(x.inner, y.inner), unite(x.outer, y.outer), x.exact && y.exact, x.readsInputs || y.readsInputs};
    }
    if (auto x = dyn_cast<arith::XOrIOp>(op)) {
      Value other;
      if (auto c = x.getRhs().getDefiningOp<arith::ConstantIntOp>(); c && c.value()) other = x.getLhs();
      if (auto c = x.getLhs().getDefiningOp<arith::ConstantIntOp>(); c && c.value()) other = x.getRhs();
      if (other) {
        Approx a = boolean(other);
        Approx n{complement(a.outer), complement(a.inner), a.exact, a.readsInputs};
        if (tooBig(n.inner) || tooBig(n.outer)) return unknown(a.readsInputs);
        return n;
      }
    }
    if (auto s = dyn_cast<arith::SelectOp>(op)) {
      Approx c = boolean(s.getCondition()), a = boolean(s.getTrueValue()), b = boolean(s.getFalseValue());
      Approx nc{complement(c.outer), complement(c.inner), c.exact, c.readsInputs};
      return {unite(intersect(c.inner, a.inner), intersect(nc.inner, b.inner)),
              unite(intersect(c.outer, a.outer), intersect(nc.outer, b.outer)), c.exact && a.exact && b.exact,
              c.readsInputs || a.readsInputs || b.readsInputs};
    }
    return unknown(readsInputs(v));
  }

  Approx compare(arith::CmpIOp cmp) {
    Lin lhs = lin(cmp.getLhs()), rhs = lin(cmp.getRhs());
    // A side that can wrap is left to run-time classification (sound, not exact).
    if ((lhs.ok && !fitsI32(lhs)) || (rhs.ok && !fitsI32(rhs))) return unknown(readsInputs(cmp.getResult()));
    Lin d = linAdd(lhs, rhs, -1);
    using P = arith::CmpIPredicate;
    P p = cmp.getPredicate();
    if (!d.ok || (d.kv != 0 && d.kv != 1 && d.kv != -1)) return unknown(readsInputs(cmp.getResult()));
    if (d.kv == 0) {
      if (!isConstant(d)) return unknown(false);  // a condition on the row alone
      int64_t c = d.rest.c;
      bool t = false;
      switch (p) {
      case P::eq: t = c == 0; break;
      case P::ne: t = c != 0; break;
      case P::slt: t = c < 0; break;
      case P::sle: t = c <= 0; break;
      case P::sgt: t = c > 0; break;
      case P::sge: t = c >= 0; break;
      default: return unknown(false);
      }
      return exactSet(t ? KvSet::all() : KvSet::none());
    }
    // d = s*kv + rest, s = +-1. Make it kv + R PRED 0.
    Affine R = d.rest;
    if (d.kv == -1) {
      R = {-R.q, -R.sq, -R.skv, -R.c};
      switch (p) {
      case P::slt: p = P::sgt; break;
      case P::sle: p = P::sge; break;
      case P::sgt: p = P::slt; break;
      case P::sge: p = P::sle; break;
      default: break;
      }
    }
    Affine negR{-R.q, -R.sq, -R.skv, -R.c};
    auto shifted = [&](int64_t k) { return Affine{negR.q, negR.sq, negR.skv, negR.c + k}; };
    switch (p) {
    case P::slt: return exactSet({{KvInterval{{}, {shifted(-1)}}}});
    case P::sle: return exactSet({{KvInterval{{}, {negR}}}});
    case P::sgt: return exactSet({{KvInterval{{shifted(1)}, {}}}});
    case P::sge: return exactSet({{KvInterval{{negR}, {}}}});
    case P::eq: return exactSet({{KvInterval{{negR}, {negR}}}});
    case P::ne: return exactSet({{KvInterval{{}, {shifted(-1)}}, KvInterval{{shifted(1)}, {}}}});
    default: return unknown(false);
    }
  }

  Block &block_;
  llvm::DenseMap<Operation *, Approx> memo_;
  llvm::DenseMap<Operation *, bool> reads_;
};

}  // namespace

MaskInfo analyzeMask(attn::KernelOp kernel) {
  MaskInfo info;
  Region &mask = kernel.getMask();
  if (mask.empty()) return info;
  Block &block = mask.front();
  auto yield = cast<attn::YieldOp>(block.back());
  Analyzer a(block);
  Approx r = a.boolean(yield.getValue());
  info.hasMask = true;
  info.inner = r.inner;
  info.outer = r.outer;
  info.exact = r.exact;
  info.readsInputs = r.readsInputs;
  return info;
}

LogicalResult annotateMaskAnalysis(ModuleOp module) {
  module.walk([&](attn::KernelOp kernel) {
    kernel.setMaskAnalysisAttr(attn::MaskAnalysisAttr::fromInfo(kernel.getContext(), analyzeMask(kernel)));
  });
  return success();
}

}  // namespace attnc
