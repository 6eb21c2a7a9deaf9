// The compression toolkit (runtime/include/attnc_compress.h): SVD into
// low-rank form against a matrix of known spectrum, the rank chooser's
// boundaries, pruning plans that find planted unimportant heads, block masks.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include <Eigen/Dense>

#include "attnc_compress.h"

namespace {

using Mat = Eigen::MatrixXd;

/// A random orthonormal n x k basis (QR of a Gaussian matrix).
Mat orthonormal(int n, int k, std::mt19937 &rng) {
  std::normal_distribution<double> g;
  Mat a(n, k);
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < k; ++j) a(i, j) = g(rng);
  Eigen::HouseholderQR<Mat> qr(a);
  return qr.householderQ() * Mat::Identity(n, k);
}

}  // namespace

TEST_CASE("compress: SVD into low_rank kv form loses exactly the discarded singular values' energy", "[compress]") {
  // [w_k; w_v] = U diag(s) V^T with a known spectrum: 2 kv heads, head_dim 6,
  // value_dim 4 (20 rows), model_dim 12.
  const int kv = 2, D = 6, Dv = 4, M = 12, rows = kv * (D + Dv), n = 12;
  std::mt19937 rng(7);
  const double s[n] = {12, 8, 5, 3, 2, 1.5, 1, 0.5, 0.25, 0.1, 0.05, 0.01};
  Mat U = orthonormal(rows, n, rng), V = orthonormal(M, n, rng);
  Mat W = U * Eigen::Map<const Eigen::VectorXd>(s, n).asDiagonal() * V.transpose();
  std::vector<float> wk(kv * D * M), wv(kv * Dv * M);
  for (int i = 0; i < kv * D; ++i)
    for (int j = 0; j < M; ++j) wk[i * M + j] = static_cast<float>(W(i, j));
  for (int i = 0; i < kv * Dv; ++i)
    for (int j = 0; j < M; ++j) wv[i * M + j] = static_cast<float>(W(kv * D + i, j));
  double total = 0;
  for (double x : s) total += x * x;
  std::vector<double> energy(n);
  for (int R : {1, 3, 6, 12}) {
    std::vector<float> down(R * M), kup(kv * R * D), vup(kv * R * Dv);
    REQUIRE(attnc_svd_kv(wk.data(), wv.data(), kv, D, Dv, M, R, down.data(), kup.data(), vup.data(), energy.data()) ==
            ATTNC_OK);
    // Reconstruct [w_k; w_v] from w_down, k_up and v_up as the spec uses them.
    double err = 0;
    for (int h = 0; h < kv; ++h)
      for (int j = 0; j < M; ++j) {
        for (int i = 0; i < D; ++i) {
          double x = 0;
          for (int r = 0; r < R; ++r) x += double(kup[(h * R + r) * D + i]) * down[r * M + j];
          err += (x - W(h * D + i, j)) * (x - W(h * D + i, j));
        }
        for (int i = 0; i < Dv; ++i) {
          double x = 0;
          for (int r = 0; r < R; ++r) x += double(vup[(h * R + r) * Dv + i]) * down[r * M + j];
          err += (x - W(kv * D + h * Dv + i, j)) * (x - W(kv * D + h * Dv + i, j));
        }
      }
    double discarded = 0;
    for (int i = R; i < n; ++i) discarded += s[i] * s[i];
    INFO("rank " << R);
    CHECK(err / total == Approx(discarded / total).margin(1e-6));
    CHECK(energy[R - 1] == Approx(1 - discarded / total).margin(1e-12));
  }
  CHECK(energy[n - 1] == Approx(1.0));
  // Energy alone (rank 0), and the errors.
  CHECK(attnc_svd_kv(wk.data(), wv.data(), kv, D, Dv, M, 0, nullptr, nullptr, nullptr, energy.data()) == ATTNC_OK);
  CHECK(attnc_svd_kv(wk.data(), wv.data(), kv, D, Dv, M, 13, nullptr, nullptr, nullptr, nullptr) == ATTNC_E_ARGUMENT);
  CHECK(std::strstr(attnc_compress_last_error(), "rank 13") != nullptr);
  CHECK(attnc_svd_kv(nullptr, wv.data(), kv, D, Dv, M, 1, nullptr, nullptr, nullptr, nullptr) == ATTNC_E_ARGUMENT);
  wk[3] = NAN;
  CHECK(attnc_svd_kv(wk.data(), wv.data(), kv, D, Dv, M, 0, nullptr, nullptr, nullptr, energy.data()) ==
        ATTNC_E_ARGUMENT);
}

TEST_CASE("compress: the rank chooser's boundaries", "[compress]") {
  const double e[] = {0.5, 0.8, 0.9, 1.0};
  CHECK(attnc_choose_rank(e, 4, 0.4) == 1);
  CHECK(attnc_choose_rank(e, 4, 0.5) == 1);
  CHECK(attnc_choose_rank(e, 4, 0.5000001) == 2);
  CHECK(attnc_choose_rank(e, 4, 0.8) == 2);
  CHECK(attnc_choose_rank(e, 4, 0.95) == 4);
  CHECK(attnc_choose_rank(e, 4, 1.0) == 4);
  const double short_[] = {0.5, 0.7};
  CHECK(attnc_choose_rank(short_, 2, 0.9) == 2);  // none reaches it: all of them
  CHECK(attnc_choose_rank(e, 4, 0.0) == -1);
  CHECK(attnc_choose_rank(e, 4, 1.5) == -1);
  CHECK(attnc_choose_rank(nullptr, 4, 0.5) == -1);
}

TEST_CASE("compress: pruning plans find planted unimportant heads", "[compress]") {
  // w_q of 8 heads x 4 rows x 16: heads 2 and 5 are 100x smaller.
  const int H = 8, rows = 4, cols = 16;
  std::mt19937 rng(3);
  std::normal_distribution<float> g;
  std::vector<float> wq(H * rows * cols);
  for (size_t i = 0; i < wq.size(); ++i) wq[i] = g(rng) * ((i / (rows * cols) == 2 || i / (rows * cols) == 5) ? 0.01f : 1.f);
  for (int norm : {1, 2}) {
    std::vector<double> imp(H);
    REQUIRE(attnc_head_importance_weights(wq.data(), H, rows, cols, norm, imp.data()) == ATTNC_OK);
    std::vector<int64_t> pruned(H);
    int64_t count = 0;
    char line[64];
    REQUIRE(attnc_prune_plan(imp.data(), H, 0.25, pruned.data(), &count, line, sizeof line) == ATTNC_OK);
    REQUIRE(count == 2);
    CHECK(pruned[0] == 2);
    CHECK(pruned[1] == 5);
    CHECK(std::string(line) == "prune heads [2, 5]");
    char tiny[8];
    CHECK(attnc_prune_plan(imp.data(), H, 0.25, pruned.data(), &count, tiny, sizeof tiny) == ATTNC_E_ARGUMENT);
  }
  // Never every head; ties drop the higher index first.
  const double flat[] = {1, 1, 1, 1};
  std::vector<int64_t> pruned(4);
  int64_t count = 0;
  REQUIRE(attnc_prune_plan(flat, 4, 0.5, pruned.data(), &count, nullptr, 0) == ATTNC_OK);
  CHECK(count == 2);
  CHECK(pruned[0] == 2);
  CHECK(pruned[1] == 3);
  REQUIRE(attnc_prune_plan(flat, 4, 0.99, pruned.data(), &count, nullptr, 0) == ATTNC_OK);
  CHECK(count == 3);
  CHECK(attnc_prune_plan(flat, 4, 1.0, pruned.data(), &count, nullptr, 0) == ATTNC_E_ARGUMENT);

  // From activations: 4 heads over 2 kv heads; head 3's query is 0 (uniform
  // attention: entropy log(seq_kv), the values' mean), kv head 0's values tiny
  // (heads 0 and 1 give the smallest outputs).
  const int Hq = 4, Hk = 2, Sq = 5, Sk = 7, D = 8, Dv = 3;
  std::vector<float> q(Hq * Sq * D), k(Hk * Sk * D), v(Hk * Sk * Dv);
  for (auto &x : q) x = g(rng);
  for (auto &x : k) x = g(rng);
  for (size_t i = 0; i < v.size(); ++i) v[i] = 1.0f + 0.1f * g(rng) * (i < size_t(Sk * Dv) ? 0.01f : 1.f);
  for (size_t i = 0; i < size_t(Sk * Dv); ++i) v[i] *= 0.001f;
  for (int i = 0; i < Sq * D; ++i) q[3 * Sq * D + i] = 0;
  std::vector<double> outNorm(Hq), ent(Hq);
  REQUIRE(attnc_head_importance_activations(q.data(), k.data(), v.data(), Hq, Hk, Sq, Sk, D, Dv, 0, outNorm.data(),
                                            ent.data()) == ATTNC_OK);
  CHECK(ent[3] == Approx(std::log(double(Sk))));
  CHECK(ent[2] < ent[3]);
  CHECK(outNorm[0] < 0.01 * outNorm[2]);
  CHECK(outNorm[1] < 0.01 * outNorm[2]);
  std::vector<int64_t> p(Hq);
  REQUIRE(attnc_prune_plan(outNorm.data(), Hq, 0.5, p.data(), &count, nullptr, 0) == ATTNC_OK);
  CHECK(count == 2);
  CHECK(p[0] == 0);
  CHECK(p[1] == 1);
  // Causal (bottom-right): the first query of 5 over 7 keys sees 3 of them.
  REQUIRE(attnc_head_importance_activations(q.data(), k.data(), v.data(), Hq, Hk, Sq, Sk, D, Dv, 1, nullptr,
                                            ent.data()) == ATTNC_OK);
  CHECK(ent[3] < std::log(double(Sk)));
  CHECK(attnc_head_importance_activations(q.data(), k.data(), v.data(), 3, 2, Sq, Sk, D, Dv, 0, nullptr, nullptr) ==
        ATTNC_E_SHAPE);
}

TEST_CASE("compress: block masks from an attention map and from a predicate", "[compress]") {
  // 10 x 12 map, blocks of 4: 3 x 3 blocks; most mass on kv block 2 for
  // every row, then block 0.
  const int Sq = 10, Sk = 12, B = 4;
  std::vector<float> map(Sq * Sk, 0.01f);
  for (int i = 0; i < Sq; ++i) {
    map[i * Sk + 9] = 1.0f;
    map[i * Sk + 1] = 0.5f;
  }
  std::vector<uint8_t> m(9);
  REQUIRE(attnc_block_mask_from_map(map.data(), Sq, Sk, B, 1, m.data()) == ATTNC_OK);
  // Row block 0 (rows 0-3, bottom-right diagonal at kv 3 + 2 = 5: block 1): blocks 2 and 1.
  CHECK(m == std::vector<uint8_t>{0, 1, 1, 0, 0, 1, 0, 0, 1});
  REQUIRE(attnc_block_mask_from_map(map.data(), Sq, Sk, B, 2, m.data()) == ATTNC_OK);
  CHECK(m == std::vector<uint8_t>{1, 1, 1, 1, 0, 1, 1, 0, 1});
  // Causal, top-left, as a predicate: a block is kept when any pair is.
  auto causal = [](int64_t q, int64_t kv, void *) { return kv <= q ? 1 : 0; };
  REQUIRE(attnc_block_mask_from_predicate(causal, nullptr, Sq, Sk, B, m.data()) == ATTNC_OK);
  CHECK(m == std::vector<uint8_t>{1, 0, 0, 1, 1, 0, 1, 1, 1});
  CHECK(attnc_block_mask_from_predicate(nullptr, nullptr, Sq, Sk, B, m.data()) == ATTNC_E_ARGUMENT);
  CHECK(attnc_block_mask_from_map(map.data(), Sq, Sk, 0, 1, m.data()) == ATTNC_E_SHAPE);
}
