// The compression toolkit (runtime/include/attnc_compress.h): Eigen inside,
// a C API outside.
#include "attnc_compress.h"

#include <algorithm>
#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <numeric>
#include <string>
#include <vector>

#include <Eigen/Dense>

namespace {

thread_local std::string lastError;

int fail(int status, const char *fmt, ...) {
  char buf[512];
  va_list ap;
  va_start(ap, fmt);
  std::vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  lastError = buf;
  return status;
}

int ok() {
  lastError.clear();
  return ATTNC_OK;
}

using MatD = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

}  // namespace

extern "C" {

const char *attnc_compress_last_error(void) { return lastError.c_str(); }

int attnc_svd_kv(const float *w_k, const float *w_v, int64_t kv_heads, int64_t head_dim, int64_t value_dim,
                 int64_t model_dim, int64_t rank, float *w_down, float *k_up, float *v_up, double *energy) {
  if (!w_k || !w_v) return fail(ATTNC_E_ARGUMENT, "attnc_svd_kv: w_k and w_v are required");
  if (kv_heads < 1 || head_dim < 1 || value_dim < 1 || model_dim < 1)
    return fail(ATTNC_E_SHAPE, "attnc_svd_kv: kv_heads, head_dim, value_dim and model_dim must be positive");
  const int64_t rk = kv_heads * head_dim, rows = rk + kv_heads * value_dim, full = std::min(rows, model_dim);
  if (rank < 0 || rank > full)
    return fail(ATTNC_E_ARGUMENT, "attnc_svd_kv: rank %lld is outside [0, %lld] (the stacked projections' rank bound)",
                (long long)rank, (long long)full);
  if (rank > 0 && (!w_down || !k_up || !v_up))
    return fail(ATTNC_E_ARGUMENT, "attnc_svd_kv: w_down, k_up and v_up are required for rank > 0");
  MatD w(rows, model_dim);
  for (int64_t i = 0; i < rk; ++i)
    for (int64_t j = 0; j < model_dim; ++j) w(i, j) = w_k[i * model_dim + j];
  for (int64_t i = rk; i < rows; ++i)
    for (int64_t j = 0; j < model_dim; ++j) w(i, j) = w_v[(i - rk) * model_dim + j];
  for (int64_t i = 0; i < w.size(); ++i)
    if (!std::isfinite(w.data()[i])) return fail(ATTNC_E_ARGUMENT, "attnc_svd_kv: the weights hold a NaN or an infinity");
  Eigen::BDCSVD<MatD> svd(w, Eigen::ComputeThinU | Eigen::ComputeThinV);
  const Eigen::VectorXd &s = svd.singularValues();
  if (energy) {
    double total = s.squaredNorm(), acc = 0;
    for (int64_t i = 0; i < full; ++i) {
      acc += s(i) * s(i);
      energy[i] = total > 0 ? std::min(1.0, acc / total) : 1.0;
    }
  }
  if (rank == 0) return ok();
  const MatD &u = svd.matrixU();
  const MatD &v = svd.matrixV();
  for (int64_t r = 0; r < rank; ++r)
    for (int64_t j = 0; j < model_dim; ++j) w_down[r * model_dim + j] = static_cast<float>(s(r) * v(j, r));
  for (int64_t h = 0; h < kv_heads; ++h)
    for (int64_t r = 0; r < rank; ++r) {
      for (int64_t i = 0; i < head_dim; ++i)
        k_up[(h * rank + r) * head_dim + i] = static_cast<float>(u(h * head_dim + i, r));
      for (int64_t i = 0; i < value_dim; ++i)
        v_up[(h * rank + r) * value_dim + i] = static_cast<float>(u(rk + h * value_dim + i, r));
    }
  return ok();
}

int64_t attnc_choose_rank(const double *energy, int64_t n, double keep) {
  if (!energy || n < 1 || !(keep > 0 && keep <= 1)) {
    fail(ATTNC_E_ARGUMENT, "attnc_choose_rank: energy, n >= 1 and 0 < keep <= 1 are required");
    return -1;
  }
  ok();
  for (int64_t i = 0; i < n; ++i)
    if (energy[i] >= keep) return i + 1;
  return n;
}

int attnc_head_importance_weights(const float *w, int64_t heads, int64_t rows_per_head, int64_t cols, int norm,
                                  double *importance) {
  if (!w || !importance) return fail(ATTNC_E_ARGUMENT, "attnc_head_importance_weights: w and importance are required");
  if (heads < 1 || rows_per_head < 1 || cols < 1) return fail(ATTNC_E_SHAPE, "attnc_head_importance_weights: sizes must be positive");
  if (norm != 1 && norm != 2) return fail(ATTNC_E_ARGUMENT, "attnc_head_importance_weights: norm is 1 or 2, got %d", norm);
  for (int64_t h = 0; h < heads; ++h) {
    double acc = 0;
    for (int64_t e = 0; e < rows_per_head * cols; ++e) {
      const double x = w[h * rows_per_head * cols + e];
      acc += norm == 1 ? std::fabs(x) : x * x;
    }
    importance[h] = norm == 1 ? acc : std::sqrt(acc);
  }
  return ok();
}

int attnc_head_importance_activations(const float *q, const float *k, const float *v, int64_t heads,
                                      int64_t kv_heads, int64_t seq_q, int64_t seq_kv, int64_t head_dim,
                                      int64_t value_dim, int causal, double *out_norm, double *entropy) {
  if (!q || !k || !v) return fail(ATTNC_E_ARGUMENT, "attnc_head_importance_activations: q, k and v are required");
  if (heads < 1 || kv_heads < 1 || heads % kv_heads || seq_q < 1 || seq_kv < 1 || head_dim < 1 || value_dim < 1)
    return fail(ATTNC_E_SHAPE, "attnc_head_importance_activations: sizes must be positive and kv_heads divide heads");
  const int64_t group = heads / kv_heads;
  const double scale = 1.0 / std::sqrt(double(head_dim));
  std::vector<double> s(seq_kv), o(value_dim);
  for (int64_t h = 0; h < heads; ++h) {
    const float *kh = k + (h / group) * seq_kv * head_dim, *vh = v + (h / group) * seq_kv * value_dim;
    double normSum = 0, entSum = 0;
    for (int64_t i = 0; i < seq_q; ++i) {
      const float *qi = q + (h * seq_q + i) * head_dim;
      // Bottom-right causal: key j is visible to query i when j <= i + seq_kv - seq_q.
      const int64_t last = causal ? std::min(seq_kv - 1, i + seq_kv - seq_q) : seq_kv - 1;
      std::fill(o.begin(), o.end(), 0.0);
      if (last < 0) continue;  // (no key: output 0, entropy 0)
      double mx = -INFINITY;
      for (int64_t j = 0; j <= last; ++j) {
        double acc = 0;
        for (int64_t x = 0; x < head_dim; ++x) acc += double(qi[x]) * kh[j * head_dim + x];
        s[j] = acc * scale;
        mx = std::max(mx, s[j]);
      }
      double sum = 0;
      for (int64_t j = 0; j <= last; ++j) sum += (s[j] = std::exp(s[j] - mx));
      double ent = 0;
      for (int64_t j = 0; j <= last; ++j) {
        const double p = s[j] / sum;
        if (p > 0) ent -= p * std::log(p);
        for (int64_t x = 0; x < value_dim; ++x) o[x] += p * vh[j * value_dim + x];
      }
      double n2 = 0;
      for (double x : o) n2 += x * x;
      normSum += std::sqrt(n2);
      entSum += ent;
    }
    if (out_norm) out_norm[h] = normSum / double(seq_q);
    if (entropy) entropy[h] = entSum / double(seq_q);
  }
  return ok();
}

int attnc_prune_plan(const double *importance, int64_t heads, double fraction, int64_t *pruned, int64_t *count,
                     char *line, size_t line_bytes) {
  if (!importance || !pruned || !count) return fail(ATTNC_E_ARGUMENT, "attnc_prune_plan: importance, pruned and count are required");
  if (heads < 1) return fail(ATTNC_E_SHAPE, "attnc_prune_plan: heads must be positive");
  if (!(fraction >= 0 && fraction < 1)) return fail(ATTNC_E_ARGUMENT, "attnc_prune_plan: fraction must be in [0, 1)");
  int64_t n = std::min<int64_t>(heads - 1, std::llround(fraction * double(heads)));
  std::vector<int64_t> order(heads);
  std::iota(order.begin(), order.end(), 0);
  // Lowest importance first; a tie drops the higher head index first.
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
    return importance[a] != importance[b] ? importance[a] < importance[b] : a > b;
  });
  std::vector<int64_t> drop(order.begin(), order.begin() + n);
  std::sort(drop.begin(), drop.end());
  std::copy(drop.begin(), drop.end(), pruned);
  *count = n;
  if (line) {
    std::string s = "prune heads [";
    for (int64_t i = 0; i < n; ++i) s += (i ? ", " : "") + std::to_string(drop[i]);
    s += "]";
    if (line_bytes < s.size() + 1)
      return fail(ATTNC_E_ARGUMENT, "attnc_prune_plan: the line needs %zu bytes, got %zu", s.size() + 1, line_bytes);
    std::copy(s.begin(), s.end(), line);
    line[s.size()] = 0;
  }
  return ok();
}

int attnc_block_mask_from_map(const float *attn, int64_t seq_q, int64_t seq_kv, int64_t block, int64_t topk,
                              uint8_t *mask) {
  if (!attn || !mask) return fail(ATTNC_E_ARGUMENT, "attnc_block_mask_from_map: attn and mask are required");
  if (seq_q < 1 || seq_kv < 1 || block < 1 || topk < 0) return fail(ATTNC_E_SHAPE, "attnc_block_mask_from_map: sizes must be positive");
  const int64_t nqb = (seq_q + block - 1) / block, nkb = (seq_kv + block - 1) / block;
  std::vector<double> mass(nkb);
  std::vector<int64_t> order(nkb);
  for (int64_t qb = 0; qb < nqb; ++qb) {
    std::fill(mass.begin(), mass.end(), 0.0);
    const int64_t q1 = std::min(seq_q, (qb + 1) * block);
    for (int64_t i = qb * block; i < q1; ++i)
      for (int64_t j = 0; j < seq_kv; ++j) mass[j / block] += attn[i * seq_kv + j];
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return mass[a] > mass[b]; });
    uint8_t *row = mask + qb * nkb;
    std::fill(row, row + nkb, uint8_t(0));
    for (int64_t i = 0; i < std::min(topk, nkb); ++i) row[order[i]] = 1;
    // The diagonal block: the one holding the last row's own position (bottom-right aligned).
    const int64_t diag = std::clamp<int64_t>(q1 - 1 + seq_kv - seq_q, 0, seq_kv - 1) / block;
    row[diag] = 1;
  }
  return ok();
}

int attnc_block_mask_from_predicate(int (*keep)(int64_t q, int64_t kv, void *user), void *user, int64_t seq_q,
                                    int64_t seq_kv, int64_t block, uint8_t *mask) {
  if (!keep || !mask) return fail(ATTNC_E_ARGUMENT, "attnc_block_mask_from_predicate: keep and mask are required");
  if (seq_q < 1 || seq_kv < 1 || block < 1) return fail(ATTNC_E_SHAPE, "attnc_block_mask_from_predicate: sizes must be positive");
  const int64_t nqb = (seq_q + block - 1) / block, nkb = (seq_kv + block - 1) / block;
  for (int64_t qb = 0; qb < nqb; ++qb)
    for (int64_t kb = 0; kb < nkb; ++kb) {
      uint8_t any = 0;
      for (int64_t i = qb * block; i < std::min(seq_q, (qb + 1) * block) && !any; ++i)
        for (int64_t j = kb * block; j < std::min(seq_kv, (kb + 1) * block) && !any; ++j) any = keep(i, j, user) != 0;
      mask[qb * nkb + kb] = any;
    }
  return ok();
}

}  // extern "C"
