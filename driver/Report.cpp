#include "driver/Report.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <iostream>
#include <numeric>
#include <random>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "attnc_compress.h"
#include "driver/Errors.h"
#include "driver/Roofs.h"
#include "lowering/reference/KernelArgs.h"
#include "lowering/reference/Reference.h"
#include "lowering/x86/Policy.h"
#include "lowering/x86/X86Build.h"
#include "schedules/cuda/Schedule.h"
#include "schedules/x86/Schedule.h"

namespace attnc::driver {

using json = nlohmann::json;

namespace {

bool mlaKv(const KernelDesc &d) { return d.lowRank == KernelDesc::LowRank::Kv; }

/// Per-head tile figures of one head, summed over the heads the report covers.
struct Tiles {
  int64_t total = 0, empty = 0, skipped = 0, partial = 0, full = 0;
  double keptPairs = 0;  // pairs the mask and the sparsity keep, all computed heads of one batch entry
  int64_t visited() const { return partial + full; }
};

/// The figures of one kernel (dense or compressed) at the report's shape.
struct Figures {
  double flops = 0, bytesRead = 0, bytesWritten = 0, kvBytesPerToken = 0, params = 0;
  Tiles tiles;
  double estSeconds = 0, measuredSeconds = -1;
  std::string form;  // low_rank kv: "absorbed" or "materialized"
};

int64_t elemBytes(dsl::DType t) { return dsl::dtypeBytes(t); }

/// Query heads computed, kv heads read.
int64_t computedHeads(const KernelDesc &d) { return d.heads - static_cast<int64_t>(d.prunedHeads.size()); }
int64_t liveKvHeads(const KernelDesc &d) {
  int64_t n = 0;
  const int64_t group = d.heads / d.kvHeads;
  for (int64_t g = 0; g < d.kvHeads; ++g) {
    bool any = false;
    for (int64_t i = 0; i < group; ++i) any = any || !d.isPruned(g * group + i);
    n += any;
  }
  return n;
}

size_t argIndex(const KernelArgs &a, const std::string &name) {
  for (size_t i = 0; i < a.sig.size(); ++i)
    if (a.sig[i].name == name) return i;
  return a.sig.size();
}

/// Writes element `e` of argument `name` (as stored: rounded to its type).
void put(KernelArgs &a, size_t i, int64_t e, double v) {
  const double s = storeAs(a.sig[i].dtype, a.mem[i].data(), e, v);
  if (!a.host[i].data.empty()) a.host[i].data[e] = s;
}

/// Offset of (b, h, s, x) in a q/k/v/out tensor of either layout.
int64_t bhsd(const KernelDesc &d, const HostTensor &t, int64_t b, int64_t h, int64_t s, int64_t x) {
  const auto &sh = t.shape;
  return d.layout == dsl::Layout::BSHD ? ((b * sh[1] + s) * sh[2] + h) * sh[3] + x
                                       : ((b * sh[1] + h) * sh[2] + s) * sh[3] + x;
}

/// The synthetic data of docs/compression.md ("--accuracy"): the dense
/// counterpart's arguments `d` and the compressed spec's `c`, sharing every
/// tensor they both take, with the structure the transforms assume: q and k
/// with locality (top-T), values of decaying importance by kv head
/// (pruning), K and V of rank R plus noise factored by the toolkit's SVD
/// (low_rank kv; `svd` false: a random latent, for tile maps only), keys and
/// values smooth along the sequence with pooling projections (low_rank seq),
/// a random block mask (sparse block input).
void synthesize(const KernelDesc &cd, const KernelDesc &dd, int64_t B, int64_t Sq, int64_t Skv,
                const ReportOptions &o, bool svd, KernelArgs &c, KernelArgs &d) {
  d = makeArgs(dd, B, Sq, Skv, o.seed);
  c = makeArgs(cd, B, Sq, Skv, o.seed + 1);
  std::mt19937 rng(o.seed * 7919u + 13u);
  std::normal_distribution<double> g;
  const int64_t D = dd.headDim, Dv = dd.valueDim, Hk = dd.kvHeads, H = dd.heads;
  const size_t iq = argIndex(d, "q"), ik = argIndex(d, "k"), iv = argIndex(d, "v");
  if (cd.sparseTop) {  // locality: sinusoidal positions, q . k peaks at i = j (bottom-right aligned)
    for (int64_t b = 0; b < B; ++b)
      for (int64_t x = 0; x < D; ++x) {
        const double w = std::pow(10000.0, -double(x / 2 * 2) / double(D));
        auto pe = [&](double t) { return x % 2 ? std::sin(t * w) : std::cos(t * w); };
        for (int64_t h = 0; h < H; ++h)
          for (int64_t s = 0; s < Sq; ++s)
            put(d, iq, bhsd(dd, d.host[iq], b, h, s, x), pe(double(s + Skv - Sq)) + o.noise * g(rng));
        for (int64_t h = 0; h < Hk; ++h)
          for (int64_t s = 0; s < Skv; ++s) put(d, ik, bhsd(dd, d.host[ik], b, h, s, x), pe(double(s)) + o.noise * g(rng));
      }
  }
  if (cd.lowRank == KernelDesc::LowRank::Seq) {
    // Keys and values smooth over the pooling width Skv / R (AR(1) along the sequence), plus noise.
    const double rho = std::exp(-double(cd.rank) / double(std::max<int64_t>(Skv, 1)));
    for (size_t i : {ik, iv}) {
      const int64_t X = i == ik ? D : Dv;
      for (int64_t b = 0; b < B; ++b)
        for (int64_t h = 0; h < Hk; ++h)
          for (int64_t x = 0; x < X; ++x) {
            double z = g(rng);
            for (int64_t s = 0; s < Skv; ++s) {
              if (s) z = rho * z + std::sqrt(1 - rho * rho) * g(rng);
              put(d, i, bhsd(dd, d.host[i], b, h, s, x), z + o.noise * g(rng));
            }
          }
    }
  }
  if (mlaKv(cd)) {
    // K (nope part) and V of rank R plus noise; the rope part shared by every kv head.
    const int64_t R = cd.rank, P = cd.ropeDim, N = D - P, T = B * Skv;
    std::vector<double> lat(T * R), rope(T * P);
    for (auto &x : lat) x = g(rng);
    for (auto &x : rope) x = g(rng);
    std::vector<double> ku(Hk * R * N), vu(Hk * R * Dv);
    for (auto &x : ku) x = g(rng) / std::sqrt(double(R));
    for (auto &x : vu) x = g(rng) / std::sqrt(double(R));
    std::vector<float> kT(Hk * N * T), vT(Hk * Dv * T);  // [feature][token], the toolkit's w_k and w_v
    for (int64_t t = 0; t < T; ++t)
      for (int64_t h = 0; h < Hk; ++h) {
        for (int64_t x = 0; x < N; ++x) {
          double acc = 0;
          for (int64_t r = 0; r < R; ++r) acc += lat[t * R + r] * ku[(h * R + r) * N + x];
          kT[(h * N + x) * T + t] = float(acc + o.noise * g(rng));
        }
        for (int64_t x = 0; x < Dv; ++x) {
          double acc = 0;
          for (int64_t r = 0; r < R; ++r) acc += lat[t * R + r] * vu[(h * R + r) * Dv + x];
          vT[(h * Dv + x) * T + t] = float(acc + o.noise * g(rng));
        }
      }
    for (int64_t t = 0; t < T; ++t)
      for (int64_t h = 0; h < Hk; ++h) {
        const int64_t b = t / Skv, s = t % Skv;
        for (int64_t x = 0; x < N; ++x) put(d, ik, bhsd(dd, d.host[ik], b, h, s, x), kT[(h * N + x) * T + t]);
        for (int64_t x = 0; x < P; ++x) put(d, ik, bhsd(dd, d.host[ik], b, h, s, N + x), rope[t * P + x]);
        for (int64_t x = 0; x < Dv; ++x) put(d, iv, bhsd(dd, d.host[iv], b, h, s, x), vT[(h * Dv + x) * T + t]);
      }
    // The compressed arguments: the toolkit's truncated SVD of the K and V the
    // dense kernel reads (or, for tile maps, the generating factors).
    const size_t il = argIndex(c, "latent"), iku = argIndex(c, "k_up"), ivu = argIndex(c, "v_up");
    const int64_t Reff = std::min({R, Hk * (N + Dv), T});
    std::vector<float> down(Reff * T), kup(Hk * Reff * N), vup(Hk * Reff * Dv);
    if (svd && Reff > 0 &&
        attnc_svd_kv(kT.data(), vT.data(), Hk, N, Dv, T, Reff, down.data(), kup.data(), vup.data(), nullptr) == ATTNC_OK) {
      for (int64_t t = 0; t < T; ++t)
        for (int64_t r = 0; r < R; ++r) put(c, il, t * (R + P) + r, r < Reff ? down[r * T + t] : 0.0);
      for (int64_t h = 0; h < Hk; ++h)
        for (int64_t r = 0; r < R; ++r) {
          for (int64_t x = 0; x < N; ++x) put(c, iku, (h * R + r) * N + x, r < Reff ? kup[(h * Reff + r) * N + x] : 0.0);
          for (int64_t x = 0; x < Dv; ++x)
            put(c, ivu, (h * R + r) * Dv + x, r < Reff ? vup[(h * Reff + r) * Dv + x] : 0.0);
        }
    } else {
      for (int64_t t = 0; t < T; ++t)
        for (int64_t r = 0; r < R; ++r) put(c, il, t * (R + P) + r, lat[t * R + r]);
      for (size_t e = 0; e < ku.size(); ++e) put(c, iku, int64_t(e), ku[e]);
      for (size_t e = 0; e < vu.size(); ++e) put(c, ivu, int64_t(e), vu[e]);
    }
    for (int64_t t = 0; t < T; ++t)
      for (int64_t x = 0; x < P; ++x) put(c, il, t * (R + P) + R + x, rope[t * P + x]);
  }
  if (!cd.prunedHeads.empty()) {
    // Heads of different importance: kv head g's values scaled by exp(-2 g / kv_heads)
    // (per head when there is one query head per kv head).
    for (int64_t b = 0; b < B; ++b)
      for (int64_t h = 0; h < Hk; ++h)
        for (int64_t s = 0; s < Skv; ++s)
          for (int64_t x = 0; x < Dv; ++x) {
            const int64_t e = bhsd(dd, d.host[iv], b, h, s, x);
            put(d, iv, e, d.host[iv].data[e] * std::exp(-2.0 * double(h) / double(Hk)));
          }
  }
  // Every tensor both take: the dense one's values.
  for (size_t i = 0; i < c.sig.size(); ++i) {
    const size_t j = argIndex(d, c.sig[i].name);
    if (j == d.sig.size() || c.sig[i].output || c.host[i].data.size() != d.host[j].data.size()) continue;
    for (int64_t e = 0; e < c.host[i].numel(); ++e) put(c, i, e, d.host[j].data[e]);
  }
  if (cd.lowRank == KernelDesc::LowRank::Seq) {
    // Pooling projections: row r averages the keys of [r Skv / R, (r + 1) Skv / R) (the identity at R = Skv).
    for (const char *n : {"e_proj", "f_proj"}) {
      const size_t i = argIndex(c, n);
      const int64_t R = cd.rank;
      for (int64_t r = 0; r < R; ++r) {
        const int64_t lo = r * Skv / R, hi = std::max(lo + 1, (r + 1) * Skv / R);
        for (int64_t s = 0; s < Skv; ++s)
          put(c, i, r * Skv + s, s >= lo && s < hi && lo < Skv ? 1.0 / double(std::min(hi, Skv) - lo) : 0.0);
      }
    }
  }
  fillBlockMask(c, o.density, o.seed + 99);
}

/// Tile figures of `plan` on the arguments `a` (batch 0): per head from the
/// reference's kept pairs per tile, over evenly spaced heads within a budget
/// of pair evaluations, scaled to every head. Pruned heads' tiles are
/// skipped. The attended keys: R for low_rank seq.
bool tileFigures(const KernelPlan &plan, const KernelArgs &a, int64_t Sq, int64_t Skv, int64_t tile, Tiles &out,
                 std::vector<std::vector<int64_t>> *firstHeadMaps, std::string &error) {
  const KernelDesc &d = plan.desc;
  auto ref = ReferenceKernel::create(plan);
  if (!ref) {
    error = "no reference interpreter for `" + d.name + "`";
    return false;
  }
  const bool lin = d.lowRank == KernelDesc::LowRank::Seq;
  const int64_t keys = lin ? d.rank : Skv;
  const int64_t ntq = (Sq + tile - 1) / tile, ntk = (keys + tile - 1) / tile, perHead = ntq * ntk;
  std::vector<int64_t> heads;
  for (int64_t h = 0; h < d.heads; ++h)
    if (!d.isPruned(h)) heads.push_back(h);
  const int64_t budget = std::max<int64_t>(1, int64_t(2e8 / std::max(1.0, double(Sq) * double(Skv))));
  std::vector<int64_t> sample;
  const int64_t n = std::min<int64_t>(budget, int64_t(heads.size()));
  for (int64_t i = 0; i < n; ++i) sample.push_back(heads[i * int64_t(heads.size()) / std::max<int64_t>(n, 1)]);
  Tiles sum;
  std::vector<int64_t> maskKept, kept;
  for (size_t si = 0; si < sample.size(); ++si) {
    const int64_t h = sample[si];
    if (lin) {
      // (The mask cannot read kv_idx: each of the R keys is kept as the mask keeps the row.)
      if (!ref->tileKept(a.inputs(), 0, h, Sq, Skv, tile, std::max<int64_t>(Skv, 1), maskKept, kept))
        return error = "tile map of `" + d.name + "`", false;
      std::vector<int64_t> rowsKept = kept;
      for (int64_t &r : rowsKept) r /= std::max<int64_t>(Skv, 1);
      maskKept.assign(perHead, 0);
      kept.assign(perHead, 0);
      for (int64_t t = 0; t < ntq; ++t)
        for (int64_t u = 0; u < ntk; ++u)
          maskKept[t * ntk + u] = kept[t * ntk + u] = rowsKept[t] * (std::min(keys, (u + 1) * tile) - u * tile);
    } else if (!ref->tileKept(a.inputs(), 0, h, Sq, Skv, tile, tile, maskKept, kept)) {
      error = "tile map of `" + d.name + "` (its inputs)";
      return false;
    }
    if (si == 0 && firstHeadMaps) *firstHeadMaps = {maskKept, kept};
    for (int64_t t = 0; t < perHead; ++t) {
      const int64_t area = (std::min(Sq, (t / ntk + 1) * tile) - (t / ntk) * tile) *
                           (std::min(keys, (t % ntk + 1) * tile) - (t % ntk) * tile);
      sum.keptPairs += double(kept[t]);
      if (maskKept[t] == 0) ++sum.empty;
      else if (kept[t] == 0) ++sum.skipped;
      else if (kept[t] == area) ++sum.full;
      else ++sum.partial;
    }
  }
  // Scale the sample to the computed heads; pruned heads' tiles are all skipped.
  const double f = sample.empty() ? 0 : double(heads.size()) / double(sample.size());
  out.total = perHead * d.heads;
  out.empty = std::llround(double(sum.empty) * f);
  out.partial = std::llround(double(sum.partial) * f);
  out.full = std::llround(double(sum.full) * f);
  out.skipped = out.total - out.empty - out.partial - out.full;
  out.keptPairs = sum.keptPairs * f;
  return true;
}

/// FLOPs, bytes, KV-cache bytes and parameters of `d` (docs/compression.md,
/// "What the report counts"), given its tile figures.
void countWork(const KernelDesc &d, const ReportOptions &o, bool materialized, int64_t tileRows, Figures &f) {
  const double B = double(o.batch), Sq = double(o.seqQ), Skv = double(o.seqKv);
  const double D = double(d.headDim), Dv = double(d.valueDim), Hc = double(computedHeads(d));
  const double Hkl = double(liveKvHeads(d)), R = double(d.rank), P = double(d.ropeDim), U = double(d.units);
  const bool absorbed = mlaKv(d) && !materialized;
  // Per kept pair and head: the two products (2 per multiply-add), in the
  // latent space when absorbed; additive: per unit an add and a
  // multiply-add (tanh not counted), then P.V.
  double perPair = absorbed ? 2 * (R + P) + 2 * R : 2 * D + 2 * Dv;
  if (d.additive) perPair = 3 * U + 2 * (absorbed ? R : Dv);
  double flops = B * f.tiles.keptPairs * perPair;
  if (absorbed) flops += B * Sq * Hc * (2 * (D - P) * R + 2 * R * Dv);  // q through k_up, out through v_up
  if (mlaKv(d) && materialized)  // K and V tiles built per packed query tile of a kv head
    flops += B * Hkl * Skv * 2 * R * (D - P + Dv) * std::ceil(Sq * double(d.heads / d.kvHeads) / double(tileRows));
  if (d.additive) flops += B * (Sq * Hc + Skv * Hkl) * 2 * D * U;  // q . add_wq, k . add_wk
  if (d.lowRank == KernelDesc::LowRank::Seq) flops += B * Hkl * 2 * R * Skv * (D + Dv);  // E.K, F.V
  if (d.sparseTop) {  // the planning step: block means, then an estimate per (q block, kv block)
    const double nqb = std::ceil(Sq / double(d.sparseBlock)), nkb = std::ceil(Skv / double(d.sparseBlock));
    flops += B * (2 * Sq * Hc * D + 2 * Skv * Hkl * D) + B * Hc * nqb * nkb * 2 * D;
  }
  f.flops = flops;
  // Bytes: every input once (compulsory traffic), less the q of pruned heads
  // and the K/V of kv heads no computed head reads; out (and lse) once.
  const std::vector<ArgDesc> sig = d.signature();
  double read = 0, written = 0;
  for (const ArgDesc &a : sig) {
    double n = 1;
    for (const DimSym &s : a.dims) n *= double(extentOf(s, d, o.batch, o.seqQ, o.seqKv));
    const double bytes = n * double(elemBytes(a.dtype));
    if (a.output) written += bytes;
    else if (a.name == "q") read += bytes * Hc / double(d.heads);
    else if (a.name == "k" || a.name == "v") read += bytes * Hkl / double(d.kvHeads);
    else read += bytes;
  }
  f.bytesRead = read;
  f.bytesWritten = written;
  const double eb = double(elemBytes(d.dtype));
  f.kvBytesPerToken = mlaKv(d) ? (R + P) * eb : Hkl * (D + Dv) * eb;
  f.params = mlaKv(d) ? double(d.kvHeads) * R * (D - P + Dv)
             : d.lowRank == KernelDesc::LowRank::Seq ? 2 * R * Skv
                                                     : 0;
}

json figuresJson(const Figures &f) {
  json j;
  j["flops"] = f.flops;
  j["bytes"] = f.bytesRead + f.bytesWritten;
  j["bytes_read"] = f.bytesRead;
  j["bytes_written"] = f.bytesWritten;
  j["intensity"] = f.flops / std::max(1.0, f.bytesRead + f.bytesWritten);
  j["kv_bytes_per_token"] = f.kvBytesPerToken;
  j["params"] = f.params;
  j["tile_density"] = f.tiles.total ? double(f.tiles.visited()) / double(f.tiles.total) : 0.0;
  j["tiles"] = {{"total", f.tiles.total},     {"empty", f.tiles.empty}, {"skipped", f.tiles.skipped},
                {"partial", f.tiles.partial}, {"full", f.tiles.full},   {"visited", f.tiles.visited()}};
  j["kept_pairs"] = f.tiles.keptPairs * 1.0;
  j["est_seconds"] = f.estSeconds;
  if (f.measuredSeconds >= 0) j["measured_seconds"] = f.measuredSeconds;
  if (!f.form.empty()) j["mla_form"] = f.form;
  return j;
}

/// Relative error of `got` against `want`: max |d| / max |want| and sum |d| / sum |want|.
void relErrors(const HostTensor &got, const HostTensor &want, double &maxRel, double &meanRel) {
  double maxD = 0, maxW = 0, sumD = 0, sumW = 0;
  for (size_t i = 0; i < want.data.size(); ++i) {
    const double dlt = std::fabs(got.data[i] - want.data[i]);
    maxD = std::max(maxD, dlt), sumD += dlt;
    maxW = std::max(maxW, std::fabs(want.data[i])), sumW += std::fabs(want.data[i]);
  }
  maxRel = maxW > 0 ? maxD / maxW : maxD;
  meanRel = sumW > 0 ? sumD / sumW : sumD;
}

std::string human(double x, const char *unit) {
  const char *pre[] = {"", "k", "M", "G", "T", "P"};
  int i = 0;
  while (std::fabs(x) >= 1000 && i < 5) x /= 1000, ++i;
  return fmt::format("{:.3g} {}{}", x, pre[i], unit);
}

std::string seconds(double s) {
  return s >= 1 ? fmt::format("{:.3g} s", s) : s >= 1e-3 ? fmt::format("{:.3g} ms", s * 1e3) : fmt::format("{:.3g} us", s * 1e6);
}

/// The tile maps (batch 0, the first computed head) as SVG: one <rect> per
/// tile, its class the tile's ("tile empty", "tile skipped", "tile partial",
/// "tile full"), dense on the left, compressed on the right, with a legend.
std::string svgOf(const std::vector<std::vector<int64_t>> &dense, const std::vector<std::vector<int64_t>> &comp,
                  int64_t ntq, int64_t ntkD, int64_t ntkC, int64_t Sq, int64_t keysD, int64_t keysC, int64_t tile,
                  const std::string &title) {
  const double cell = std::max(2.0, std::min(12.0, 480.0 / double(std::max({ntq, ntkD, ntkC}))));
  const double panelW = cell * double(std::max(ntkD, ntkC)), top = 40, gap = 40;
  const double W = 2 * panelW + 3 * gap, Hgt = top + cell * double(ntq) + 70;
  std::string s = fmt::format(
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{:.0f}\" "
      "height=\"{:.0f}\" viewBox=\"0 0 {:.0f} {:.0f}\" font-family=\"sans-serif\" font-size=\"12\">\n"
      "<style>.empty{{fill:#ffffff}} .skipped{{fill:#d9d9d9}} .partial{{fill:#9ecae1}} .full{{fill:#2171b5}} "
      "rect.tile{{stroke:#bbbbbb;stroke-width:0.3}}</style>\n",
      W, Hgt, W, Hgt);
  auto esc = [](std::string t) {
    std::string r;
    for (char ch : t) r += ch == '<' ? "&lt;" : ch == '>' ? "&gt;" : ch == '&' ? "&amp;" : std::string(1, ch);
    return r;
  };
  s += fmt::format("<text x=\"{}\" y=\"18\">{}</text>\n", gap, esc(title));
  auto panel = [&](const std::vector<std::vector<int64_t>> &m, int64_t ntk, int64_t keys, double x0, const char *name) {
    s += fmt::format("<text x=\"{:.0f}\" y=\"34\">{} ({} x {} tiles of {}; rows: queries, columns: keys)</text>\n", x0,
                     name, ntq, ntk, tile);
    for (int64_t t = 0; t < ntq; ++t)
      for (int64_t u = 0; u < ntk; ++u) {
        const int64_t i = t * ntk + u;
        const int64_t area = (std::min(Sq, (t + 1) * tile) - t * tile) * (std::min(keys, (u + 1) * tile) - u * tile);
        const char *cls = m[0][i] == 0 ? "empty" : m[1][i] == 0 ? "skipped" : m[1][i] == area ? "full" : "partial";
        s += fmt::format("<rect class=\"tile {}\" x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\"/>\n", cls,
                         x0 + cell * double(u), top + cell * double(t), cell, cell);
      }
  };
  panel(dense, ntkD, keysD, gap, "dense");
  panel(comp, ntkC, keysC, 2 * gap + panelW, "compressed");
  const char *names[] = {"empty", "skipped", "partial", "full"};
  const char *labels[] = {"empty (the mask keeps no pair)", "skipped (sparsity or pruning)", "partial", "full"};
  for (int i = 0; i < 4; ++i) {
    const double y = top + cell * double(ntq) + 16 + 12 * (i / 2), x = gap + 260 * (i % 2);
    s += fmt::format("<rect class=\"legend {}\" x=\"{:.0f}\" y=\"{:.0f}\" width=\"10\" height=\"10\" "
                     "stroke=\"#888888\"/><text x=\"{:.0f}\" y=\"{:.0f}\">{}</text>\n",
                     names[i], x, y, x + 14, y + 9, labels[i]);
  }
  return s + "</svg>\n";
}

}  // namespace

KernelPlan denseCounterpart(const KernelPlan &plan) {
  KernelPlan dp = plan;
  KernelDesc &d = dp.desc;
  d.prunedHeads.clear();
  d.headTable.clear();
  d.headRows = 0;
  d.sparseBlock = 0;
  d.sparseTop = false;
  d.sparseTopT = 0;
  d.lowRank = KernelDesc::LowRank::None;
  d.rank = 0;
  d.ropeDim = 0;
  return dp;
}

bool computeReport(const KernelPlan &plan, const ReportOptions &o, json &out, std::string &error) {
  const KernelPlan dense = denseCounterpart(plan);
  const KernelDesc &cd = plan.desc, &dd = dense.desc;
  const bool cuda = o.target == "cuda";
  const int threads = o.threads > 0 ? o.threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  const int64_t tile = o.tile > 0 ? o.tile : (cd.sparseBlock > 0 ? cd.sparseBlock : 64);
  Figures fd, fc;

  // The MLA form the target's cost model picks, and the rows its tiles pack.
  bool mat = false;
  int64_t rows = 64;
  cuda::Arch arch = cuda::Arch::Sm90a;
  if (cuda && !cuda::archFromName(o.arch, arch)) return error = "unknown arch `" + o.arch + "`", false;
  if (cuda) {
    const cuda::Schedule s = cuda::defaultSchedule(cd, arch, false);
    mat = cuda::materialized(cd, s);
    rows = s.blockM();
  } else {
    const x86::Schedule s = x86::defaultSchedule(cd, x86::hostIsa(), false);
    mat = mlaKv(cd) && s.mlaMaterialized;
    rows = x86::tileRows(s, cd);
  }
  if (mlaKv(cd)) fc.form = mat ? "materialized" : "absorbed";

  // Tile maps on synthetic data of the report's shape (batch 0).
  {
    ReportOptions one = o;
    one.batch = 1;
    KernelArgs c, d;
    synthesize(cd, dd, 1, o.seqQ, o.seqKv, one, false, c, d);
    std::vector<std::vector<int64_t>> mapD, mapC;
    if (!tileFigures(dense, d, o.seqQ, o.seqKv, tile, fd.tiles, &mapD, error)) return false;
    KernelPlan forTiles = plan;
    if (mlaKv(cd) && cd.sparseTop) {
      // (The reference's tile count does not run top-T over a latent: the
      // dense counterpart's keys, which the latent reproduces, select.)
      forTiles = dense;
      forTiles.desc.sparseBlock = cd.sparseBlock, forTiles.desc.sparseTop = true, forTiles.desc.sparseTopT = cd.sparseTopT;
      forTiles.desc.prunedHeads = cd.prunedHeads, forTiles.desc.headTable = cd.headTable, forTiles.desc.headRows = cd.headRows;
      if (!tileFigures(forTiles, d, o.seqQ, o.seqKv, tile, fc.tiles, &mapC, error)) return false;
    } else if (!tileFigures(plan, c, o.seqQ, o.seqKv, tile, fc.tiles, &mapC, error)) {
      return false;
    }
    if (!o.plot.empty()) {
      const int64_t keysC = cd.lowRank == KernelDesc::LowRank::Seq ? cd.rank : o.seqKv;
      const int64_t ntq = (o.seqQ + tile - 1) / tile;
      std::string title = fmt::format("{}: batch 0, head {}, seq_q {}, seq_kv {}", cd.name,
                                      [&] {
                                        int64_t h = 0;
                                        while (h < cd.heads && cd.isPruned(h)) ++h;
                                        return h;
                                      }(),
                                      o.seqQ, o.seqKv);
      std::ofstream f(o.plot, std::ios::binary);
      f << svgOf(mapD, mapC, ntq, (o.seqKv + tile - 1) / tile, (keysC + tile - 1) / tile, o.seqQ, o.seqKv, keysC, tile,
                 title);
      if (!f) return error = "cannot write " + o.plot, false;
    }
  }
  countWork(dd, o, false, rows, fd);
  countWork(cd, o, mat, rows, fc);

  // The roofline estimate.
  json roof;
  double peak = 0, bw = 0;  // GFLOP/s, GB/s
  if (cuda) {
    const std::string name = o.card.empty() ? cuda::defaultCard(arch) : o.card;
    const cuda::Card *card = cuda::findCard(name);
    if (!card) return error = "unknown card `" + name + "` (A100, H100, H200, L40S, A10)", false;
    peak = 1e3 * (cd.dtype == dsl::DType::F32 ? card->f32Tflops : card->tensorTflops);
    bw = card->gbs;
    roof = {{"source", std::string(card->name) + " (published peaks)"}, {"gflops", peak}, {"gbs", bw}};
  } else if (o.peakGflops > 0 && o.bandwidthGbs > 0) {
    peak = o.peakGflops, bw = o.bandwidthGbs;
    roof = {{"source", "given"}, {"gflops", peak}, {"gbs", bw}};
  } else {
    const Roofs r = measureRoofs(threads);
    const bool bf16dot = cd.dtype == dsl::DType::BF16 && r.bf16Gflops > 0;
    peak = bf16dot ? r.bf16Gflops : r.fmaPeak(x86::hostIsa() == x86::Isa::Avx512 ? 512 : 256);
    bw = r.readGbs;
    roof = {{"source", fmt::format("measured here, {} threads ({})", threads, bf16dot ? "bf16 dot peak" : "f32 FMA peak")},
            {"gflops", peak},
            {"gbs", bw}};
  }
  for (Figures *f : {&fd, &fc})
    f->estSeconds = std::max(f->flops / (peak * 1e9), (f->bytesRead + f->bytesWritten) / (bw * 1e9));

  if (o.measure) {
    if (cuda) return error = "--measure times x86 kernels (no GPU here): use -target x86", false;
    for (const KernelPlan *p : {&dense, &plan})
      if (std::string why = x86::unsupported(*p); !why.empty()) return error = why, false;
    const bool decode = x86::useDecode(cd, x86::hostIsa(), "", o.seqQ);
    auto kd = x86::buildKernel(dense, x86::hostIsa(), {decode, ""}, error);
    auto kc = x86::buildKernel(plan, x86::hostIsa(), {decode, ""}, error);
    if (!kd || !kc || !kd->jitCompile(error) || !kc->jitCompile(error)) return false;
    KernelArgs ad = makeArgs(dd, o.batch, o.seqQ, o.seqKv, o.seed, 1.0, false);
    KernelArgs ac = makeArgs(cd, o.batch, o.seqQ, o.seqKv, o.seed + 1, 1.0, false);
    fillBlockMask(ac, o.density, o.seed + 99);
    for (size_t i = 0; i < ac.sig.size(); ++i)  // (projections of order one: N(0, 1 / their length))
      if (ac.sig[i].name == "e_proj" || ac.sig[i].name == "f_proj" || ac.sig[i].name == "k_up" || ac.sig[i].name == "v_up")
        for (int64_t e = 0; e < int64_t(ac.mem[i].size() / elemBytes(ac.sig[i].dtype)); ++e)
          storeAs(ac.sig[i].dtype, ac.mem[i].data(), e,
                  loadAs(ac.sig[i].dtype, ac.mem[i].data(), e) / std::sqrt(double(ac.host[i].shape[1])));
    std::string err;
    auto runD = [&] { if (!kd->run(ad.tensors, threads, 0, err)) throw std::runtime_error(err); };
    auto runC = [&] { if (!kc->run(ac.tensors, threads, 0, err)) throw std::runtime_error(err); };
    // Interleaved, best of each: dense, compressed, dense, compressed.
    double td = 1e300, tc = 1e300;
    for (int round = 0; round < 2; ++round) {
      td = std::min(td, timeRepeated(runD, 0.5, 50).min);
      tc = std::min(tc, timeRepeated(runC, 0.5, 50).min);
    }
    fd.measuredSeconds = td, fc.measuredSeconds = tc;
  }

  out = json::object();
  out["spec"] = o.specPath;
  out["kernel"] = cd.name;
  out["shape"] = {{"batch", o.batch},
                  {"seq_q", o.seqQ},
                  {"seq_kv", o.seqKv},
                  {"dtype", dsl::dtypeName(cd.dtype)},
                  {"target", o.target},
                  {"tile", tile}};
  if (cuda) out["shape"]["arch"] = o.arch;
  out["roofline"] = roof;
  out["dense"] = figuresJson(fd);
  out["compressed"] = figuresJson(fc);
  json ratio = json::object();
  for (auto &[k, v] : out["dense"].items()) {
    if (!v.is_number() || !out["compressed"][k].is_number()) continue;
    const double c = out["compressed"][k].get<double>(), dv = v.get<double>();
    ratio[k] = c != 0 ? json(dv / c) : json(nullptr);
  }
  out["ratio"] = ratio;

  if (o.accuracy) {
    const int64_t Sq = std::min(o.seqQ, o.accuracySeq), Skv = std::min(o.seqKv, o.accuracySeq);
    KernelPlan pc = plan, pd = dense;
    pc.desc.outputLse = pd.desc.outputLse = true;  // (the attention mass the sparsity drops)
    KernelArgs c, d;
    synthesize(pc.desc, pd.desc, 1, Sq, Skv, o, true, c, d);
    auto rc = ReferenceKernel::create(pc), rd = ReferenceKernel::create(pd);
    HostTensor oc, od, lc, ld;
    std::string err;
    if (!rc || !rd || !rc->run(c.inputs(), oc, &lc, err, threads) || !rd->run(d.inputs(), od, &ld, err, threads))
      return error = "the accuracy runs: " + err, false;
    double maxRel = 0, meanRel = 0;
    relErrors(oc, od, maxRel, meanRel);
    json acc = {{"max_rel_err", maxRel},
                {"mean_rel_err", meanRel},
                {"noise", o.noise},
                {"seed", o.seed},
                {"shape", {{"batch", 1}, {"seq_q", Sq}, {"seq_kv", Skv}}}};
    if (cd.sparseBlock > 0 && !cd.sigmoid) {
      // The softmax mass of the dense attention in the pairs the sparsity drops, mean over the rows
      // of computed heads: 1 - exp(lse_sparse - lse_dense).
      double sum = 0;
      int64_t n = 0;
      for (int64_t h = 0; h < cd.heads; ++h) {
        if (cd.isPruned(h)) continue;
        for (int64_t i = 0; i < Sq; ++i) {
          const double a = lc.data[h * Sq + i], b = ld.data[h * Sq + i];
          if (!std::isfinite(b)) continue;
          sum += std::isfinite(a) ? 1 - std::exp(a - b) : 1.0;
          ++n;
        }
      }
      acc["mass_dropped"] = n ? sum / double(n) : 0.0;
    }
    out["accuracy"] = acc;
  }
  return true;
}

int runReport(const KernelPlan &plan, const ReportOptions &o) {
  json r;
  std::string err;
  if (!computeReport(plan, o, r, err)) return report(ErrorId::report_failed, err);
  if (o.json) {
    std::cout << r.dump(2) << "\n";
    return 0;
  }
  const json &d = r["dense"], &c = r["compressed"], &q = r["ratio"];
  std::cout << fmt::format("attnc report: `{}` ({}), batch {}, seq_q {}, seq_kv {}, {}, target {}{}\n",
                           r["kernel"].get<std::string>(), o.specPath, o.batch, o.seqQ, o.seqKv,
                           r["shape"]["dtype"].get<std::string>(), o.target,
                           c.contains("mla_form") ? ", low_rank kv " + c["mla_form"].get<std::string>() : "");
  std::cout << fmt::format("roofline: {:.0f} GFLOP/s, {:.0f} GB/s ({})\n\n", r["roofline"]["gflops"].get<double>(),
                           r["roofline"]["gbs"].get<double>(), r["roofline"]["source"].get<std::string>());
  auto row = [&](const char *label, const std::string &dv, const std::string &cv, const char *key) {
    // ("-" where the ratio says nothing: a count the dense kernel does not have, or none at all.)
    std::string ratio = q.contains(key) && q[key].is_number() && q[key].get<double>() != 0
                            ? fmt::format("{:.2f}x", q[key].get<double>())
                            : "-";
    std::cout << fmt::format("{:<26}{:>16}{:>16}{:>12}\n", label, dv, cv, ratio);
  };
  std::cout << fmt::format("{:<26}{:>16}{:>16}{:>12}\n", "", "dense", "compressed", "dense/comp");
  auto num = [](const json &j, const char *k) { return j[k].get<double>(); };
  row("FLOPs (useful)", human(num(d, "flops"), "FLOP"), human(num(c, "flops"), "FLOP"), "flops");
  row("bytes read + written", human(num(d, "bytes"), "B"), human(num(c, "bytes"), "B"), "bytes");
  row("arithmetic intensity", fmt::format("{:.1f}", num(d, "intensity")), fmt::format("{:.1f}", num(c, "intensity")),
      "intensity");
  row("KV cache per token", human(num(d, "kv_bytes_per_token"), "B"), human(num(c, "kv_bytes_per_token"), "B"),
      "kv_bytes_per_token");
  row("extra parameters", fmt::format("{:.0f}", num(d, "params")), fmt::format("{:.0f}", num(c, "params")), "params");
  row("tiles visited", fmt::format("{:.3f}", num(d, "tile_density")), fmt::format("{:.3f}", num(c, "tile_density")),
      "tile_density");
  row("estimated time", seconds(num(d, "est_seconds")), seconds(num(c, "est_seconds")), "est_seconds");
  if (c.contains("measured_seconds"))
    row("measured time (x86)", seconds(num(d, "measured_seconds")), seconds(num(c, "measured_seconds")),
        "measured_seconds");
  auto tiles = [](const json &t) {
    return fmt::format("{} tiles: {} empty, {} skipped, {} partial, {} full", t["total"].get<int64_t>(),
                       t["empty"].get<int64_t>(), t["skipped"].get<int64_t>(), t["partial"].get<int64_t>(),
                       t["full"].get<int64_t>());
  };
  std::cout << fmt::format("\ntile map ({}x{}): dense {}\n{:>22}compressed {}\n", r["shape"]["tile"].get<int64_t>(),
                           r["shape"]["tile"].get<int64_t>(), tiles(d["tiles"]), "", tiles(c["tiles"]));
  if (r.contains("accuracy")) {
    const json &a = r["accuracy"];
    std::cout << fmt::format("\naccuracy (reference, f64, synthetic data, noise {}, seed {}, seq_q {}, seq_kv {}): "
                             "max rel err {:.3g}, mean rel err {:.3g}",
                             a["noise"].get<double>(), a["seed"].get<uint32_t>(), a["shape"]["seq_q"].get<int64_t>(),
                             a["shape"]["seq_kv"].get<int64_t>(), a["max_rel_err"].get<double>(),
                             a["mean_rel_err"].get<double>());
    if (a.contains("mass_dropped"))
      std::cout << fmt::format(", attention mass dropped {:.3g}", a["mass_dropped"].get<double>());
    std::cout << "\n";
  }
  if (!o.plot.empty()) std::cout << "tile maps: " << o.plot << "\n";
  return 0;
}

}  // namespace attnc::driver
