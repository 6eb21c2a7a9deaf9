/* attnc_compress.h: the compression toolkit (docs/compression.md). The steps
 * that turn a dense model's attention weights into the arguments and the
 * `compress` lines of a compressed spec: a truncated SVD of the K and V
 * projections into `low_rank kv` form, head importance and a pruning plan,
 * block masks for `sparse block B input`. Link attnc::compress (libattnc_compress);
 * C and C++. Matrices are row-major f32; results that are sums are computed in
 * f64. Every function returns ATTNC_OK or an error status
 * (attnc_runtime.h), and attnc_compress_last_error() says why, for this thread. */
#ifndef ATTNC_COMPRESS_H
#define ATTNC_COMPRESS_H

#include <stddef.h>
#include <stdint.h>

#include "attnc_runtime.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Why the last call on this thread failed ("" after a success). */
const char *attnc_compress_last_error(void);

/* ---- Low rank: `low_rank kv rank R` ----------------------------------------
 * The K and V projections, w_k [kv_heads * head_dim, model_dim] and w_v
 * [kv_heads * value_dim, model_dim] (k = x . w_k^T), stacked and factored by a
 * truncated SVD, [w_k; w_v] ~= U_R S_R V_R^T, into:
 *   w_down [rank, model_dim] = S_R V_R^T   (latent = x . w_down^T, the cache row)
 *   k_up   [kv_heads, rank, head_dim]      k_up[h][r][i] = U[h * head_dim + i][r]
 *   v_up   [kv_heads, rank, value_dim]     v_up[h][r][i] = U[kv_heads * head_dim + h * value_dim + i][r]
 * so that k = latent . k_up[h] and v = latent . v_up[h]: the spec's arguments.
 * A decoupled RoPE part (`rope P`) is not factored: pass the projection of the
 * head_dim - P dims that are (docs/compression.md). energy, when not NULL,
 * receives min(rows, model_dim) values: energy[i] is the fraction of the
 * squared Frobenius norm kept by the first i + 1 singular values (so the
 * relative squared reconstruction error at rank R is 1 - energy[R - 1]).
 * rank may be 0 to ask for energy alone (outputs then untouched, may be NULL). */
int attnc_svd_kv(const float *w_k, const float *w_v, int64_t kv_heads, int64_t head_dim, int64_t value_dim,
                 int64_t model_dim, int64_t rank, float *w_down, float *k_up, float *v_up, double *energy);

/* The smallest rank whose cumulative energy (as attnc_svd_kv gives it, n
 * values) is at least keep (0 < keep <= 1): 1-based; n when none reaches it;
 * -1 on a bad argument. */
int64_t attnc_choose_rank(const double *energy, int64_t n, double keep);

/* ---- Pruning: `prune heads [...]` -----------------------------------------
 * Importance of each of `heads` heads from its projection weights: rows
 * [h * rows_per_head, (h + 1) * rows_per_head) of w [heads * rows_per_head,
 * cols] (e.g. w_q), their L1 norm (norm 1) or L2 norm (norm 2). */
int attnc_head_importance_weights(const float *w, int64_t heads, int64_t rows_per_head, int64_t cols, int norm,
                                  double *importance);

/* Data-driven importance from sample activations of one sequence: q [heads,
 * seq_q, head_dim], k [kv_heads, seq_kv, head_dim], v [kv_heads, seq_kv,
 * value_dim] (head h reads kv head h / (heads / kv_heads)), softmax attention
 * scaled by 1/sqrt(head_dim), `causal` (bottom-right aligned) or not. Gives,
 * per head, the mean L2 norm of its output rows (out_norm) and the mean
 * entropy (nats) of its attention rows (entropy); either may be NULL. A head
 * whose output is small matters little; a head of near-maximal entropy
 * (log seq_kv) only averages. */
int attnc_head_importance_activations(const float *q, const float *k, const float *v, int64_t heads,
                                      int64_t kv_heads, int64_t seq_q, int64_t seq_kv, int64_t head_dim,
                                      int64_t value_dim, int causal, double *out_norm, double *entropy);

/* A pruning plan: the round(fraction x heads) heads of lowest importance (ties
 * to the higher head index), never all of them. Writes their indices in
 * ascending order to pruned (room for `heads`), their count to *count and,
 * when line is not NULL, the spec line "prune heads [i, j, ...]" (NUL
 * terminated; ATTNC_E_ARGUMENT if line_bytes is too small). */
int attnc_prune_plan(const double *importance, int64_t heads, double fraction, int64_t *pruned, int64_t *count,
                     char *line, size_t line_bytes);

/* ---- Block sparsity: `sparse block B input` -------------------------------
 * The block mask of one (batch, head) from a dense attention map attn [seq_q,
 * seq_kv] (probabilities or scores): per block of `block` query rows, the
 * `topk` kv blocks of largest mass (the sum of the map over the block; ties to
 * the lower block), always with the diagonal block kept, as mask [ceil(seq_q /
 * block), ceil(seq_kv / block)] of 0/1 bytes (the spec's block_mask layout
 * for that batch and head). */
int attnc_block_mask_from_map(const float *attn, int64_t seq_q, int64_t seq_kv, int64_t block, int64_t topk,
                              uint8_t *mask);

/* The block mask of a mask predicate: a block is kept when keep(q, kv, user)
 * is non-zero for any of its pairs (bottom-right or top-left alignment is the
 * predicate's business). */
int attnc_block_mask_from_predicate(int (*keep)(int64_t q, int64_t kv, void *user), void *user, int64_t seq_q,
                                    int64_t seq_kv, int64_t block, uint8_t *mask);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* ATTNC_COMPRESS_H */
