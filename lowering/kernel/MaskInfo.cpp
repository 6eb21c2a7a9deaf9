#include "lowering/kernel/MaskInfo.h"

#include <algorithm>
#include <sstream>

#include <fmt/format.h>

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

}  // namespace attnc
