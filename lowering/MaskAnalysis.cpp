#include "lowering/MaskAnalysis.h"

#include <algorithm>
#include <climits>

#include "llvm/ADT/DenseMap.h"
#include "mlir/IR/Builders.h"
#include <fmt/format.h>

#include "lowering/IR/AttnDialect.h"
#include "lowering/MaskAnalysisIR.h"
#include "lowering/Passes.h"

using namespace mlir;

namespace attnc {

std::string Affine::str() const {
  std::string s;
  auto term = [&](int64_t k, const char *name) {
    if (k == 0) return;
    if (s.empty()) s = k < 0 ? "-" : "";
    else s += k < 0 ? " - " : " + ";
    int64_t a = k < 0 ? -k : k;
    if (a != 1) s += fmt::format("{}*", a);
    s += name;
  };
  term(q, "q_idx");
  term(skv, "seq_kv");
  term(sq, "seq_q");
  if (c != 0 || s.empty()) {
    if (s.empty()) s = fmt::format("{}", c);
    else s += fmt::format(" {} {}", c < 0 ? "-" : "+", c < 0 ? -c : c);
  }
  return s;
}

namespace {
std::string boundList(const std::vector<Affine> &v, const char *fn, const char *inf) {
  if (v.empty()) return inf;
  if (v.size() == 1) return v[0].str();
  std::string s = fn;
  s += "(";
  for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + v[i].str();
  return s + ")";
}
}  // namespace

std::string KvInterval::str() const {
  return fmt::format("[{}, {}]", boundList(lo, "max", "-inf"), boundList(hi, "min", "+inf"));
}

std::string KvSet::str() const {
  if (parts.empty()) return "{}";
  std::string s;
  for (size_t i = 0; i < parts.size(); ++i) s += (i ? " u " : "") + parts[i].str();
  return s;
}

char tileClassLetter(TileClass c) {
  switch (c) {
  case TileClass::Empty: return '.';
  case TileClass::Partial: return 'P';
  case TileClass::Full: return 'F';
  case TileClass::Runtime: return 'R';
  }
  return '?';
}

namespace {

/// Evaluates max (or min) of affine functions of q at the points where the
/// extremum over [q0, q1] can occur: the ends and every crossing of two pieces.
std::vector<int64_t> candidatePoints(const std::vector<Affine> &fs, int64_t q0, int64_t q1, int64_t seqQ,
                                     int64_t seqKv) {
  std::vector<int64_t> pts = {q0, q1};
  for (size_t i = 0; i < fs.size(); ++i)
    for (size_t j = i + 1; j < fs.size(); ++j) {
      int64_t da = fs[i].q - fs[j].q;
      if (da == 0) continue;
      int64_t db = fs[j].eval(0, seqQ, seqKv) - fs[i].eval(0, seqQ, seqKv);
      // Crossing at q = db / da; both neighbours of the real crossing.
      int64_t fl = db / da - ((db % da != 0) && ((db < 0) != (da < 0)));
      for (int64_t p : {fl, fl + 1})
        if (p >= q0 && p <= q1) pts.push_back(p);
    }
  return pts;
}

int64_t maxOf(const std::vector<Affine> &fs, int64_t q, int64_t seqQ, int64_t seqKv, int64_t none) {
  if (fs.empty()) return none;
  int64_t m = INT64_MIN;
  for (auto &f : fs) m = std::max(m, f.eval(q, seqQ, seqKv));
  return m;
}
int64_t minOf(const std::vector<Affine> &fs, int64_t q, int64_t seqQ, int64_t seqKv, int64_t none) {
  if (fs.empty()) return none;
  int64_t m = INT64_MAX;
  for (auto &f : fs) m = std::min(m, f.eval(q, seqQ, seqKv));
  return m;
}

/// Whether the interval holds every column of [k0, k1] for every row of
/// [q0, q1]: the largest lower bound is at most k0 and the smallest upper
/// bound at least k1 (max/min of affine pieces peak at ends or crossings).
bool coversTile(const KvInterval &iv, int64_t q0, int64_t q1, int64_t k0, int64_t k1, int64_t seqQ,
                int64_t seqKv) {
  for (int64_t q : candidatePoints(iv.lo, q0, q1, seqQ, seqKv))
    if (maxOf(iv.lo, q, seqQ, seqKv, INT64_MIN / 4) > k0) return false;
  for (int64_t q : candidatePoints(iv.hi, q0, q1, seqQ, seqKv))
    if (minOf(iv.hi, q, seqQ, seqKv, INT64_MAX / 4) < k1) return false;
  return true;
}

/// Whether some row q in [q0, q1] keeps a column in [k0, k1]: whether
/// g(q) = min(hi(q), k1) - max(lo(q), k0) >= 0 somewhere. g is concave and
/// piecewise linear, so its integer maximum lies at an end of the range or
/// next to a crossing of two of its pieces (the tile edges are pieces too).
bool intersectsTile(const KvInterval &iv, int64_t q0, int64_t q1, int64_t k0, int64_t k1, int64_t seqQ,
                    int64_t seqKv) {
  std::vector<Affine> pieces = iv.lo;
  pieces.insert(pieces.end(), iv.hi.begin(), iv.hi.end());
  pieces.push_back(Affine{0, 0, 0, k0});
  pieces.push_back(Affine{0, 0, 0, k1});
  for (int64_t q : candidatePoints(pieces, q0, q1, seqQ, seqKv)) {
    int64_t lo = std::max(maxOf(iv.lo, q, seqQ, seqKv, k0), k0);
    int64_t hi = std::min(minOf(iv.hi, q, seqQ, seqKv, k1), k1);
    if (lo <= hi) return true;
  }
  return false;
}

}  // namespace

TileClass MaskInfo::classify(int64_t q0, int64_t q1, int64_t k0, int64_t k1, int64_t seqQ, int64_t seqKv) const {
  if (!hasMask) return TileClass::Full;
  bool maybe = false;
  for (const KvInterval &iv : outer.parts) {
    if (intersectsTile(iv, q0, q1, k0, k1, seqQ, seqKv)) {
      maybe = true;
      break;
    }
  }
  if (!maybe) return TileClass::Empty;
  for (const KvInterval &iv : inner.parts)
    if (coversTile(iv, q0, q1, k0, k1, seqQ, seqKv)) return TileClass::Full;
  return readsInputs && !exact ? TileClass::Runtime : TileClass::Partial;
}

std::vector<TileClass> MaskInfo::classifyTiles(int64_t seqQ, int64_t seqKv, int64_t tileQ, int64_t tileKv) const {
  std::vector<TileClass> out;
  int64_t nq = (seqQ + tileQ - 1) / tileQ, nk = (seqKv + tileKv - 1) / tileKv;
  out.reserve(nq * nk);
  for (int64_t i = 0; i < nq; ++i)
    for (int64_t j = 0; j < nk; ++j)
      out.push_back(classify(i * tileQ, std::min(seqQ, (i + 1) * tileQ) - 1, j * tileKv,
                             std::min(seqKv, (j + 1) * tileKv) - 1, seqQ, seqKv));
  return out;
}

std::string MaskInfo::kind() const {
  if (!hasMask) return "none";
  if (exact) return "symbolic";
  return readsInputs ? "runtime" : "partial";
}

std::vector<std::string> MaskInfo::tileFormulas(int64_t tileQ, int64_t tileKv) const {
  // Rows of q-tile t are [Tq*t, Tq*t + Tq - 1]. For a bound with a non-negative
  // q coefficient the extreme rows are the tile's first and last.
  std::vector<std::string> out;
  auto at = [&](const Affine &a, bool lastRow) {
    std::string row = lastRow ? fmt::format("{}*t + {}", tileQ, tileQ - 1) : fmt::format("{}*t", tileQ);
    Affine rest = a;
    rest.q = 0;
    std::string r = rest.str();
    if (a.q == 0) return r;
    std::string qterm = a.q == 1 ? fmt::format("({})", row) : fmt::format("{}*({})", a.q, row);
    return r == "0" ? qterm : fmt::format("{} + {}", qterm, r);
  };
  auto simple = [](const KvInterval &iv) {
    return iv.lo.size() <= 1 && iv.hi.size() <= 1 && (iv.lo.empty() || iv.lo[0].q >= 0) &&
           (iv.hi.empty() || iv.hi[0].q >= 0);
  };
  for (const KvInterval &iv : outer.parts) {
    if (!simple(iv)) continue;
    std::string first = iv.lo.empty() ? "0" : fmt::format("max(0, floor(({}) / {}))", at(iv.lo[0], false), tileKv);
    std::string last = iv.hi.empty() ? "last" : fmt::format("floor(({}) / {})", at(iv.hi[0], true), tileKv);
    out.push_back(fmt::format("non-empty kv tiles of q-tile t: [{}, {}]", first, last));
  }
  for (const KvInterval &iv : inner.parts) {
    if (!simple(iv)) continue;
    std::string first = iv.lo.empty() ? "0" : fmt::format("ceil(({}) / {})", at(iv.lo[0], true), tileKv);
    std::string last = iv.hi.empty() ? "last" : fmt::format("floor(({} + 1) / {}) - 1", at(iv.hi[0], false), tileKv);
    out.push_back(fmt::format("full kv tiles of q-tile t: [{}, {}]", first, last));
  }
  return out;
}

std::string renderTiles(const std::vector<TileClass> &tiles, int64_t seqQ, int64_t seqKv, int64_t tileQ,
                        int64_t tileKv) {
  int64_t nq = (seqQ + tileQ - 1) / tileQ, nk = (seqKv + tileKv - 1) / tileKv;
  std::string s;
  for (int64_t i = 0; i < nq; ++i) {
    for (int64_t j = 0; j < nk; ++j) s += tileClassLetter(tiles[i * nk + j]);
    s += '\n';
  }
  return s;
}

// ---------------------------------------------------------------------------
// From IR: interval analysis over the mask region.

namespace {

constexpr size_t kMaxParts = 32;
constexpr size_t kMaxBounds = 8;

/// An integer value as an affine function of kv_idx and the row, if it is one.
struct Lin {
  bool ok = false;
  int64_t kv = 0;
  Affine rest;
};

Lin linAdd(const Lin &a, const Lin &b, int64_t sign) {
  if (!a.ok || !b.ok) return {};
  Lin r;
  r.ok = true;
  r.kv = a.kv + sign * b.kv;
  r.rest = {a.rest.q + sign * b.rest.q, a.rest.sq + sign * b.rest.sq, a.rest.skv + sign * b.rest.skv,
            a.rest.c + sign * b.rest.c};
  return r;
}
Lin linScale(const Lin &a, int64_t k) {
  if (!a.ok) return {};
  Lin r = a;
  r.kv *= k;
  r.rest = {a.rest.q * k, a.rest.sq * k, a.rest.skv * k, a.rest.c * k};
  return r;
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
    Lin d = linAdd(lin(cmp.getLhs()), lin(cmp.getRhs()), -1);
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

LogicalResult annotateMaskAnalysis(ModuleOp module, int64_t tileQ, int64_t tileKv) {
  module.walk([&](attn::KernelOp kernel) {
    MaskInfo info = analyzeMask(kernel);
    Builder b(kernel.getContext());
    SmallVector<NamedAttribute> fields;
    fields.push_back(b.getNamedAttr("kind", b.getStringAttr(info.kind())));
    if (info.hasMask) {
      fields.push_back(b.getNamedAttr("kv_possible", b.getStringAttr(info.outer.str())));
      fields.push_back(b.getNamedAttr("kv_certain", b.getStringAttr(info.inner.str())));
      fields.push_back(b.getNamedAttr("tile_q", b.getI64IntegerAttr(tileQ)));
      fields.push_back(b.getNamedAttr("tile_kv", b.getI64IntegerAttr(tileKv)));
      SmallVector<StringRef> formulas;
      std::vector<std::string> f = info.tileFormulas(tileQ, tileKv);
      for (auto &s : f) formulas.push_back(s);
      fields.push_back(b.getNamedAttr("tiles", b.getStrArrayAttr(formulas)));
    }
    kernel->setAttr("mask_analysis", b.getDictionaryAttr(fields));
  });
  return success();
}

}  // namespace attnc
