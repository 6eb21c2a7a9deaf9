// From dense weights to a compressed kernel (docs/compression.md, "Worked
// example"), with the compression toolkit (attnc_compress.h).
//
// Built twice from this file (examples/CMakeLists.txt):
//   compress_model_plan DIR   the planning step, run at build time: a model's
//       attention weights (random, with a decaying spectrum and two planted
//       weak heads; deterministic), the SVD of its K/V projections (the rank
//       that keeps 99.9% of their energy) and a pruning plan from its query
//       weights; writes DIR/model_dense.attn and DIR/model_compressed.attn,
//       which attnc_add_kernel then compiles;
//   compress_model            the same weights again, sample activations, the
//       dense kernel on q, k, v and the compressed one on q, the latent and
//       k_up/v_up: prints the error of every kept head and checks it.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "attnc_compress.h"
#ifndef COMPRESS_MODEL_PLAN
#include "model_compressed.h"
#include "model_dense.h"
#endif

namespace {

constexpr int64_t kModel = 256, kHeads = 8, kKvHeads = 4, kHeadDim = 32, kSeq = 96;
constexpr double kKeep = 0.999;       // the fraction of the K/V projections' energy the rank keeps
constexpr double kPruneFraction = 0.25;  // of the heads, by their query weights' L2 norm

struct Model {
  std::vector<float> wq, wk, wv;  // [heads * head_dim, model], [kv_heads * head_dim, model] x 2
};

/// Weights with the structure trained ones have: K/V projections whose
/// singular values decay (a few directions carry most of the energy), and
/// two heads (3 and 6) whose query weights are small.
Model makeModel() {
  std::mt19937 rng(2024);
  std::normal_distribution<float> g;
  Model m;
  const int64_t rows = 2 * kKvHeads * kHeadDim;
  // [w_k; w_v] = A diag(s) B with s_i = exp(-i / 12): about 60 directions matter.
  std::vector<float> a(rows * kModel), b(kModel * kModel);
  for (auto &x : a) x = g(rng) / std::sqrt(float(kModel));
  for (auto &x : b) x = g(rng) / std::sqrt(float(kModel));
  std::vector<float> kv(rows * kModel, 0.f);
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t r = 0; r < kModel; ++r) {
      const float w = a[i * kModel + r] * std::exp(-float(r) / 12.f);
      for (int64_t j = 0; j < kModel; ++j) kv[i * kModel + j] += w * b[r * kModel + j];
    }
  m.wk.assign(kv.begin(), kv.begin() + kKvHeads * kHeadDim * kModel);
  m.wv.assign(kv.begin() + kKvHeads * kHeadDim * kModel, kv.end());
  m.wq.resize(kHeads * kHeadDim * kModel);
  for (size_t i = 0; i < m.wq.size(); ++i) {
    const int64_t h = int64_t(i) / (kHeadDim * kModel);
    m.wq[i] = g(rng) / std::sqrt(float(kModel)) * (h == 3 || h == 6 ? 0.05f : 1.f);
  }
  return m;
}

void check(int rc, const char *what) {
  if (rc != ATTNC_OK) {
    std::fprintf(stderr, "%s: status %d: %s\n", what, rc, attnc_compress_last_error());
    std::exit(1);
  }
}

/// The rank that keeps kKeep of the K/V projections' energy, and the pruning plan.
struct Plan {
  int64_t rank = 0, pruned[kHeads] = {}, npruned = 0;
  double energy = 0;
  char line[128] = {};
};

Plan plan(const Model &m) {
  Plan p;
  std::vector<double> energy(2 * kKvHeads * kHeadDim);
  check(attnc_svd_kv(m.wk.data(), m.wv.data(), kKvHeads, kHeadDim, kHeadDim, kModel, 0, nullptr, nullptr, nullptr,
                     energy.data()),
        "attnc_svd_kv");
  p.rank = attnc_choose_rank(energy.data(), int64_t(energy.size()), kKeep);
  p.energy = energy[p.rank - 1];
  std::vector<double> importance(kHeads);
  check(attnc_head_importance_weights(m.wq.data(), kHeads, kHeadDim, kModel, 2, importance.data()),
        "attnc_head_importance_weights");
  check(attnc_prune_plan(importance.data(), kHeads, kPruneFraction, p.pruned, &p.npruned, p.line, sizeof p.line),
        "attnc_prune_plan");
  return p;
}

}  // namespace

#ifdef COMPRESS_MODEL_PLAN

int main(int argc, char **argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: compress_model_plan DIR\n");
    return 2;
  }
  const Model m = makeModel();
  const Plan p = plan(m);
  const std::string dir = argv[1];
  const std::string head = "  dtype f32\n  heads " + std::to_string(kHeads) + "\n  kv_heads " +
                           std::to_string(kKvHeads) + "\n  head_dim " + std::to_string(kHeadDim) + "\n  mask causal\n";
  std::ofstream(dir + "/model_dense.attn") << "# Written by compress_model_plan: the model as it is.\nattention model_dense {\n"
                                           << head << "}\n";
  std::ofstream(dir + "/model_compressed.attn")
      << "# Written by compress_model_plan: rank " << p.rank << " keeps " << p.energy
      << " of the K/V projections' energy;\n# the pruned heads have the smallest query weights (L2).\n"
      << "attention model_compressed {\n" << head << "  compress {\n    " << p.line << "\n    low_rank kv rank "
      << p.rank << "\n  }\n}\n";
  std::printf("compress_model_plan: low_rank kv rank %lld (energy kept %.4f), %s -> %s\n", (long long)p.rank, p.energy,
              p.line, dir.c_str());
  return 0;
}

#else

namespace {

attnc_tensor view(std::vector<float> &v, std::initializer_list<int64_t> shape) {
  attnc_tensor t{};
  t.data = v.data();
  t.dtype = ATTNC_F32;
  t.ndim = int32_t(shape.size());
  int i = 0;
  for (int64_t s : shape) t.shape[i++] = s;
  int64_t stride = 1;
  for (int d = t.ndim - 1; d >= 0; --d) t.stride[d] = stride, stride *= t.shape[d];
  return t;
}

/// y [heads, seq, dim] = x [seq, model] . w^T, w [heads * dim, model].
std::vector<float> project(const std::vector<float> &x, const std::vector<float> &w, int64_t heads, int64_t dim) {
  std::vector<float> y(heads * kSeq * dim);
  for (int64_t h = 0; h < heads; ++h)
    for (int64_t s = 0; s < kSeq; ++s)
      for (int64_t i = 0; i < dim; ++i) {
        double acc = 0;
        for (int64_t j = 0; j < kModel; ++j) acc += double(x[s * kModel + j]) * w[(h * dim + i) * kModel + j];
        y[(h * kSeq + s) * dim + i] = float(acc);
      }
  return y;
}

}  // namespace

int main() {
  const Model m = makeModel();
  const Plan p = plan(m);
  // The compressed weights: w_down (the latent projection), k_up, v_up.
  std::vector<float> down(p.rank * kModel), kup(kKvHeads * p.rank * kHeadDim), vup(kKvHeads * p.rank * kHeadDim);
  check(attnc_svd_kv(m.wk.data(), m.wv.data(), kKvHeads, kHeadDim, kHeadDim, kModel, p.rank, down.data(), kup.data(),
                     vup.data(), nullptr),
        "attnc_svd_kv");
  // Sample activations: one sequence of kSeq tokens.
  std::mt19937 rng(7);
  std::normal_distribution<float> g;
  std::vector<float> x(kSeq * kModel);
  for (auto &v : x) v = g(rng);
  std::vector<float> q = project(x, m.wq, kHeads, kHeadDim), k = project(x, m.wk, kKvHeads, kHeadDim),
                     v = project(x, m.wv, kKvHeads, kHeadDim), latent = project(x, down, 1, p.rank);
  std::vector<float> outD(kHeads * kSeq * kHeadDim), outC(kHeads * kSeq * kHeadDim);
  attnc_tensor tq = view(q, {1, kHeads, kSeq, kHeadDim}), tk = view(k, {1, kKvHeads, kSeq, kHeadDim}),
               tv = view(v, {1, kKvHeads, kSeq, kHeadDim}), tl = view(latent, {1, kSeq, p.rank}),
               tku = view(kup, {kKvHeads, p.rank, kHeadDim}), tvu = view(vup, {kKvHeads, p.rank, kHeadDim}),
               tod = view(outD, {1, kHeads, kSeq, kHeadDim}), toc = view(outC, {1, kHeads, kSeq, kHeadDim});
  if (model_dense(&tq, &tk, &tv, &tod) != ATTNC_OK) {
    std::fprintf(stderr, "model_dense: %s\n", model_dense_last_error());
    return 1;
  }
  if (model_compressed(&tq, &tl, &tku, &tvu, &toc) != ATTNC_OK) {
    std::fprintf(stderr, "model_compressed: %s\n", model_compressed_last_error());
    return 1;
  }
  std::printf("compress_model: %s, low_rank kv rank %lld (energy kept %.4f); KV cache per token %lld -> %lld floats\n",
              p.line, (long long)p.rank, p.energy, (long long)(2 * kKvHeads * kHeadDim), (long long)p.rank);
  int bad = 0;
  for (int64_t h = 0; h < kHeads; ++h) {
    bool pruned = false;
    for (int64_t i = 0; i < p.npruned; ++i) pruned = pruned || p.pruned[i] == h;
    double diff = 0, ref = 0, zero = 0;
    for (int64_t e = h * kSeq * kHeadDim; e < (h + 1) * kSeq * kHeadDim; ++e) {
      diff += (double(outC[e]) - outD[e]) * (double(outC[e]) - outD[e]);
      ref += double(outD[e]) * outD[e];
      zero = std::max(zero, std::fabs(double(outC[e])));
    }
    const double rel = std::sqrt(diff / ref);
    if (pruned) {
      std::printf("  head %lld: pruned (out 0: %s)\n", (long long)h, zero == 0 ? "yes" : "NO");
      bad += zero != 0;
    } else {
      // 99.9% of the projections' energy: K and V within about 3% (sqrt of the
      // energy lost), and the attention output about as close (the softmax
      // passes the keys' error on a little amplified): under 6%.
      std::printf("  head %lld: relative error of out %.4f\n", (long long)h, rel);
      bad += !(rel < 0.06);
    }
  }
  std::printf("compress_model: %s\n", bad ? "FAILED" : "ok");
  return bad ? 1 : 0;
}

#endif
