// lowering/cuda/templates/Kernel.cuh: the spec-independent part of every
// NAME.cu, embedded at build time (cmake/attncEmbed.cmake) and written after
// the spec's constants, Params, device functions and tile classifier
// (lowering/cuda/ToCuda.cpp), inside namespace attnc_NAME. Not compiled on
// its own.
// ============================================================================
// The kernel: FlashAttention-2 (Dao, 2023) for one attention spec.
//
// A block owns kBM packed query rows of one kv head of one batch entry: row p
// is query position p / kGroup of query head head_of(hk, p % kGroup) (hk * kGroup
// + p % kGroup unless heads are pruned: docs/cuda.md), so the
// heads of a GQA group share every K/V tile the block loads (for decoding,
// the whole group sits in one 16-row tile). Warps split the rows (warp_m) and,
// when decoding, the kv tile (warp_n). For each kv tile of this block's split:
//   1. cp.async brings K and V into shared memory (next tile in flight while
//      this one is computed, when kStages == 2);
//   2. S = Q K^T with mma.sync m16n8k16 (f16/bf16, f32 accumulate) from
//      ldmatrix fragments; f32 specs compute the same fragments with FMAs;
//   3. score_mod, then the mask on partial tiles only (tiles the mask analysis
//      proves full run no mask code; empty tiles are never loaded);
//   4. online softmax in registers: running row max m and sum l, rescaling
//      O by exp2(m_old - m_new); the row reductions are quad shuffles;
//   5. O += P V, P converted to f16/bf16 in registers (the S accumulator
//      fragment of two n-tiles is the A fragment of one k-step).
// Finally O / l and lse = m + log(l) go to out/lse, or, with split-KV, to the
// workspace for combine_kernel.
// ============================================================================

template <int WM, int WN, int WD, int MT, int BNW, int STAGES> struct Tiles {
  static constexpr int kWM = WM, kWN = WN, kWD = WD, kMT = MT, kBNW = BNW, kStages = STAGES;
  static constexpr int kWarps = WM * WN * WD, kThreads = 32 * kWarps;
  static constexpr int kBM = WM * MT * 16;  // packed query rows per block
  static constexpr int kBN = WN * BNW;      // kv rows per tile
  static constexpr int kNT = BNW / 8;       // 8-column n-tiles of S per warp
  static constexpr int kDvT = kDvPad / 8 / WD;  // 8-column n-tiles of O per warp (warps along dv: WD)
  using QS = SmemTile<kBM, kQChunks>;  // (MLA on tensor cores: hi chunks, then lo chunks)
  using KS = SmemTile<kBN, kKChunks>;  // (materialized MLA: hi chunks, then lo chunks)
  using VS = SmemTile<kBN, kDvChunks>;
  using LS = SmemTile<kBN, kLatChunks>;  // materialized MLA: a latent tile
  // Shared memory: Q, K[kStages], V[kStages] (materialized MLA: one K, one V
  // and the latent tiles [kStages]), (f32) P of each warp, (additive) q and k
  // projections and add_v; after the loop the warps along kv merge their O
  // through the space of K and V.
  static constexpr int kKVStages = kMlaMat ? 1 : STAGES;
  static constexpr int kQOff = 0, kKOff = QS::kBytes, kVOff = kKOff + kKVStages * KS::kBytes;
  static constexpr int kLOff = kVOff + kKVStages * VS::kBytes;
  static constexpr int kPOff = kLOff + (kMlaMat ? STAGES * LS::kBytes : 0);
  static constexpr int kProjOff = kPOff + (kTensorCores ? 0 : kWarps * MT * 16 * BNW * 4);
  static constexpr int kLoopEnd = kProjOff + (kAdditive ? (kBM + kBN + kGroup) * kUnits * 4 : 0);
  static constexpr int kMergeOff = QS::kBytes;
  static constexpr int kMergeEnd = WN > 1 ? kMergeOff + WN * MT * 16 * (kDvPad + 2) * 4 : 0;
  static constexpr int kSmem = kLoopEnd > kMergeEnd ? kLoopEnd : kMergeEnd;
  static_assert(BNW % 16 == 0, "kv columns per warp: a multiple of 16");
  static_assert(WN == 1 || WM == 1, "warps split rows or kv, not both");
  static_assert(kDvPad % (8 * WD) == 0 && (!kTensorCores || kDvT % 2 == 0), "value columns split evenly");
};

ATTNC_DEVICE float ld(const E &x) {
  if constexpr (kTensorCores) return to_f32<kDType>(x);
  else return x;
}
ATTNC_DEVICE E st(float x) {
  if constexpr (kTensorCores) return from_f32<kDType>(x);
  else return x;
}

/* Copies ROWS rows of N elements into a shared tile as 16-byte chunks:
 * cp.async where the row is 16-byte aligned, element by element otherwise;
 * missing rows (row() gives null) and the padding are zero-filled. */
template <class TILE, int ROWS, int CHUNKS, int N, int THREADS, class RowFn>
ATTNC_DEVICE void load_tile(unsigned char *tile, RowFn row, bool aligned) {
  for (int i = tid(); i < ROWS * CHUNKS; i += THREADS) {
    const int r = i / CHUNKS, c = i % CHUNKS;
    const E *src = row(r);
    void *dst = tile + TILE::chunk(r, c) * 16;
    int n = N - c * kChunkElems;
    n = n < 0 ? 0 : (n > kChunkElems ? kChunkElems : n);
    if (!src || n == 0) {
      // Zeros by a plain store: cp.async's zero-fill would still want a
      // 16-byte aligned source address, which an unaligned view lacks.
      uint32_t *d = static_cast<uint32_t *>(dst);
      d[0] = d[1] = d[2] = d[3] = 0u;
    } else if (n == kChunkElems && aligned) {
      cp_async16(dst, src + c * kChunkElems, 16);
    } else {
      E *d = static_cast<E *>(dst);
      ATTNC_UNROLL for (int e = 0; e < kChunkElems; ++e) d[e] = e < n ? src[c * kChunkElems + e] : E(0);
    }
  }
}

/* Element (r, col) of a shared tile. */
template <class TILE> ATTNC_DEVICE const E &at(const unsigned char *tile, int r, int col) {
  return reinterpret_cast<const E *>(tile + TILE::chunk(r, col / kChunkElems) * 16)[col % kChunkElems];
}

/* A tile the mask analysis could not decide: the block asks the mask on every
 * pair (CTA-wide vote). Called by every thread of the block. */
template <class T>
ATTNC_DEVICE int classify_runtime(const Params &p, int b, int hk, int p0, int rows, int k0, int k1) {
  bool any = false, all = true;
  const int nr = (rows - p0 < T::kBM ? rows - p0 : T::kBM), nc = k1 - k0 + 1;
  for (int i = tid(); i < nr * nc; i += T::kThreads) {
    const int pr = p0 + i / nc, kv = k0 + i % nc;
    const bool keep = mask_fn(p, b, head_of(hk, pr % kGroup), pr / kGroup, kv);
    any = any || keep;
    all = all && keep;
  }
  if (sync_count(any) == 0) return kEmpty;
  return sync_count(!all) == 0 ? kFull : kPartial;
}

/* Linformer (`low_rank seq rank R`), before the attention: rows 8 x blockIdx.x
 * .. +7 of E.K (WHICH 0) or F.V (1) of one (kv head, batch), summed over the
 * call's whole sequence in f64 (as the x86 kernel; f32 would add its rounding
 * over thousands of terms to every key) and stored in the kernel's type:
 * [batch][kv heads][R][dim] in the workspace, the attention's k and v. */
template <int WHICH> ATTNC_GLOBAL void ATTNC_LAUNCH_BOUNDS(128) linformer_proj_kernel(const Params p) {
  if constexpr (kLinformer) {  // (never launched otherwise)
    constexpr int kDim = WHICH ? kValueDim : kHeadDim;
    const dim3 bid = block_idx();
    const int r0 = static_cast<int>(bid.x) * 8, hk = static_cast<int>(bid.y), b = static_cast<int>(bid.z);
    const E *src = WHICH ? static_cast<const E *>(p.v) + b * p.v_sb + hk * p.v_sh
                         : static_cast<const E *>(p.k) + b * p.k_sb + hk * p.k_sh;
    const int64_t ss = WHICH ? p.v_ss : p.k_ss;
    const E *proj = static_cast<const E *>(WHICH ? p.f_proj : p.e_proj);
    const int64_t *ps = WHICH ? p.f_s : p.e_s;
    E *dst = static_cast<E *>(WHICH ? p.lin_v : p.lin_k) + (static_cast<int64_t>(b) * kKvHeads + hk) * kRank * kDim;
    for (int x = static_cast<int>(tid()); x < kDim; x += 128) {
      double acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
      for (int j = 0; j < p.seq_kv_in; ++j) {
        const double kv = ld(src[j * ss + x]);
        ATTNC_UNROLL for (int i = 0; i < 8; ++i)
          if (r0 + i < kRank) acc[i] += static_cast<double>(ld(proj[(r0 + i) * ps[0] + j * ps[1]])) * kv;
      }
      ATTNC_UNROLL for (int i = 0; i < 8; ++i)
        if (r0 + i < kRank) dst[static_cast<int64_t>(r0 + i) * kDim + x] = st(static_cast<float>(acc[i]));
    }
  }
}

/* MLA (`low_rank kv rank R`, absorbed), before the attention: the latent
 * queries of rows 8 x blockIdx.x .. +7 of head blockIdx.y of batch blockIdx.z,
 * q_lat[r] = sum over head_dim x of q[x] k_up[kv head][r][x] (f32 sums, as
 * the x86 kernel), then with rope P q's last P dims as they are (the latent
 * row's last P elements are the keys' rope part), stored as the attention's
 * q: [batch][seq_q][heads][kQRow]
 * in the workspace, on tensor cores as hi (kDPad elements) then lo in the
 * kernel's type (f32 scores to about 2^-17, where one f16/bf16 rounding of
 * the latent query would break the numerics contract's lse), else in f32. Pruned heads are skipped (the
 * attention never reads them). `p` holds the call's q. */
ATTNC_GLOBAL void ATTNC_LAUNCH_BOUNDS(128) mla_q_kernel(const Params p) {
  if constexpr (kMla) {  // (never launched otherwise)
    const dim3 bid = block_idx();
    const int s0 = static_cast<int>(bid.x) * 8, h = static_cast<int>(bid.y), b = static_cast<int>(bid.z);
    if (head_pruned(h)) return;
    const int ns = p.seq_q - s0 < 8 ? p.seq_q - s0 : 8;
    const E *q = static_cast<const E *>(p.q) + b * p.q_sb + h * p.q_sh;
    const E *ku = static_cast<const E *>(p.k_up) + (h / kHeadsPerKv) * p.ku_s[0];
    E *dst = static_cast<E *>(p.mla_q) + ((static_cast<int64_t>(b) * p.seq_q + s0) * kHeads + h) * kQRow;
    for (int r = static_cast<int>(tid()); r < (kQParts == 2 ? kDPad : kHeadDim); r += 128) {
      float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
      if (r < kRank) {
        for (int x = 0; x < kQDim; ++x) {
          const float w = ld(ku[r * p.ku_s[1] + x * p.ku_s[2]]);
          ATTNC_UNROLL for (int i = 0; i < 8; ++i)
            if (i < ns) acc[i] += ld(q[static_cast<int64_t>(s0 + i) * p.q_ss + x]) * w;
        }
      } else if (r < kHeadDim) {  // rope: q's last dims as they are
        ATTNC_UNROLL for (int i = 0; i < 8; ++i)
          if (i < ns) acc[i] = ld(q[static_cast<int64_t>(s0 + i) * p.q_ss + kQDim + (r - kRank)]);
      }
      ATTNC_UNROLL for (int i = 0; i < 8; ++i) {
        if (i >= ns) continue;
        E *row = dst + static_cast<int64_t>(i) * kHeads * kQRow;
        row[r] = st(acc[i]);
        // (On tensor cores the part rounding lost, in the kernel's type: hi + lo
        // holds the f32 value to about twice the type's mantissa.)
        if constexpr (kQParts == 2) row[kDPad + r] = st(acc[i] - ld(row[r]));
      }
    }
  }
}

/* MLA with additive scores, before the attention: per kv head blockIdx.x,
 * W'[r][u] = sum over x < head_dim - rope of k_up[r][x] add_wk[x][u] for the
 * R latent dims (f32 sums), and W'[R + i][u] = add_wk[head_dim - rope + i][u]
 * for a rope part: a key's projection k . add_wk is then latent . W', which
 * the attention computes from its latent K tile. [kv_heads][R + rope][units]
 * f32 in the workspace. */
ATTNC_GLOBAL void ATTNC_LAUNCH_BOUNDS(128) mla_wk_kernel(const Params p) {
  if constexpr (kMla && kAdditive) {  // (never launched otherwise)
    const int hk = static_cast<int>(block_idx().x);
    const E *ku = static_cast<const E *>(p.k_up) + hk * p.ku_s[0];
    const E *wk = static_cast<const E *>(p.add_wk) + hk * p.wk_s[0];
    float *dst = p.mla_wk + static_cast<int64_t>(hk) * kHeadDim * kUnits;
    for (int i = static_cast<int>(tid()); i < kHeadDim * kUnits; i += 128) {
      const int r = i / kUnits, u = i % kUnits;
      float acc = 0.f;
      if (r < kRank) {
        for (int x = 0; x < kQDim; ++x) acc += ld(ku[r * p.ku_s[1] + x * p.ku_s[2]]) * ld(wk[x * p.wk_s[1] + u * p.wk_s[2]]);
      } else {
        acc = ld(wk[(kQDim + r - kRank) * p.wk_s[1] + u * p.wk_s[2]]);
      }
      dst[i] = acc;
    }
  }
}

/* MLA, after the attention (and its combine): the output rows 8 x blockIdx.x
 * .. +7 of head blockIdx.y of batch blockIdx.z, out[x] = sum over the latent
 * dims r of o_lat[r] v_up[kv head][r][x] (f32 sums), from the attention's
 * latent output [batch][seq_q][heads][R] in the workspace. A pruned head's
 * out is 0 (whatever v_up holds). `p` holds the call's out. */
ATTNC_GLOBAL void ATTNC_LAUNCH_BOUNDS(128) mla_out_kernel(const Params p) {
  if constexpr (kMla) {  // (never launched otherwise)
    const dim3 bid = block_idx();
    const int s0 = static_cast<int>(bid.x) * 8, h = static_cast<int>(bid.y), b = static_cast<int>(bid.z);
    const int ns = p.seq_q - s0 < 8 ? p.seq_q - s0 : 8;
    const bool pruned = head_pruned(h);
    const E *ol = static_cast<const E *>(p.mla_o) + ((static_cast<int64_t>(b) * p.seq_q + s0) * kHeads + h) * kRank;
    const E *vu = static_cast<const E *>(p.v_up) + (h / kHeadsPerKv) * p.vu_s[0];
    E *out = static_cast<E *>(p.out) + b * p.o_sb + h * p.o_sh;
    for (int x = static_cast<int>(tid()); x < kOutDim; x += 128) {
      float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
      if (!pruned)
        for (int r = 0; r < kRank; ++r) {
          const float w = ld(vu[r * p.vu_s[1] + x * p.vu_s[2]]);
          ATTNC_UNROLL for (int i = 0; i < 8; ++i)
            if (i < ns) acc[i] += ld(ol[static_cast<int64_t>(i) * kHeads * kRank + r]) * w;
        }
      ATTNC_UNROLL for (int i = 0; i < 8; ++i)
        if (i < ns) out[static_cast<int64_t>(s0 + i) * p.o_ss + x] = st(acc[i]);
    }
  }
}

/* Block sparsity: whether the caller's block_mask keeps the block of pair
 * (pos, kv) of head h (pos clamped: a tile's rows past seq_q read a real block). */
constexpr int kSB = kSparseBlock > 0 ? kSparseBlock : 1;  // (a divisor in code that never runs without)
ATTNC_DEVICE bool block_kept(const Params &p, int b, int h, int pos, int kv) {
  const int nqb = (p.seq_q + kSB - 1) / kSB, qb = pos / kSB < nqb ? pos / kSB : nqb - 1;
  return p.block_mask[b * p.bm_s[0] + h * p.bm_s[1] + static_cast<int64_t>(qb) * p.bm_s[2] +
                      static_cast<int64_t>(kv / kSB) * p.bm_s[3]] != 0;
}

/* Top-T (`sparse block B top T`), step 1: the f64 mean of each block of q
 * rows (WHICH 0: grid (q block, head, batch)) or k rows (1: (kv block, kv
 * head, batch)), each the sum in row order of value / rows (the rule of
 * docs/language.md, "Top-T selection", bit for bit). */
template <int WHICH> ATTNC_GLOBAL void ATTNC_LAUNCH_BOUNDS(128) top_mean_kernel(const Params p) {
  if constexpr (kSparseTop) {  // (never launched otherwise)
    const dim3 bid = block_idx();
    const int blk = static_cast<int>(bid.x), h = static_cast<int>(bid.y), b = static_cast<int>(bid.z);
    const int nblk = static_cast<int>(grid_dim().x);
    const int seq = WHICH ? p.seq_kv : p.seq_q, r0 = blk * kSB, r1 = r0 + kSB < seq ? r0 + kSB : seq;
    const double n = static_cast<double>(r1 - r0);
    const E *base = WHICH ? static_cast<const E *>(p.k) + b * p.k_sb + h * p.k_sh
                          : static_cast<const E *>(p.q) + b * p.q_sb + h * p.q_sh;
    const int64_t ss = WHICH ? p.k_ss : p.q_ss;
    double *dst = (WHICH ? p.top_mean_k + (static_cast<int64_t>(b) * kKvHeads + h) * nblk * kKeyDim
                         : p.top_mean_q + (static_cast<int64_t>(b) * kHeads + h) * nblk * kKeyDim) +
                  static_cast<int64_t>(blk) * kKeyDim;
    for (int x = static_cast<int>(tid()); x < kKeyDim; x += 128) {
      double sum = 0.0;
      for (int r = r0; r < r1; ++r) {
        double key;
        if constexpr (WHICH == 1 && (kMla || kMlaMat)) {
          // The key as the reference builds it, in f64 and in its order:
          // 0 + sum over the latent dims ascending of latent x k_up (each
          // product exact), or with rope the row's element as it is.
          const E *row = base + r * ss;  // (base: the latent of batch b; kv-head stride 0)
          if (x < kQDim) {
            const E *ku = static_cast<const E *>(p.k_up) + h * p.ku_s[0] + x * p.ku_s[2];
            key = 0.0;
            for (int l = 0; l < kRank; ++l)
              key = dadd_rn(key, dmul_rn(static_cast<double>(ld(row[l])), static_cast<double>(ld(ku[l * p.ku_s[1]]))));
          } else {
            key = static_cast<double>(ld(row[kRank + (x - kQDim)]));
          }
        } else {
          key = static_cast<double>(ld(base[r * ss + x]));
        }
        sum = dadd_rn(sum, ddiv_rn(key, n));
      }
      dst[x] = sum;
    }
  }
}

/* Top-T, step 2, per (q block, head, batch): each kv block's estimate (the
 * means' dot product in head_dim order; NaN ranks lowest) and whether the
 * mask keeps any of its pairs (a candidate), then the T best candidates
 * (ties to the lower block) and the candidates on the diagonal are kept:
 * top_keep is the block mask of the attention that follows. */
ATTNC_GLOBAL void ATTNC_LAUNCH_BOUNDS(128) top_select_kernel(const Params p) {
  if constexpr (kSparseTop) {  // (never launched otherwise)
    const dim3 bid = block_idx();
    const int qb = static_cast<int>(bid.x), h = static_cast<int>(bid.y), b = static_cast<int>(bid.z);
    const int nqb = static_cast<int>(grid_dim().x), nkb = (p.seq_kv + kSB - 1) / kSB;
    const int64_t row = (static_cast<int64_t>(b) * kHeads + h) * nqb + qb;
    const double *mq = p.top_mean_q + row * kKeyDim;
    double *est = p.top_est + row * nkb;
    uint8_t *cand = p.top_cand + row * nkb, *keep = p.top_keep + row * nkb;
    const int hk = h / kHeadsPerKv;  // the kv head (of the model, pruned or not)
    const int q0 = qb * kSB, q1 = (q0 + kSB < p.seq_q ? q0 + kSB : p.seq_q) - 1;
    for (int kb = static_cast<int>(tid()); kb < nkb; kb += 128) {
      const double *mk = p.top_mean_k + ((static_cast<int64_t>(b) * kKvHeads + hk) * nkb + kb) * kKeyDim;
      double e = 0.0;
      for (int x = 0; x < kKeyDim; ++x) e = dadd_rn(e, dmul_rn(mq[x], mk[x]));
      est[kb] = e != e ? -INFINITY : e;
      const int k0 = kb * kSB, k1 = (k0 + kSB < p.seq_kv ? k0 + kSB : p.seq_kv) - 1;
      const int c = tile_class_static(q0, q1, k0, k1, p.seq_q, p.seq_kv);
      bool any = c == kFull;
      if (c == kPartial || c == kRuntime)
        for (int pos = q0; pos <= q1 && !any; ++pos)
          for (int kv = k0; kv <= k1 && !any; ++kv) any = mask_fn(p, b, h, pos, kv);
      cand[kb] = any ? 1 : 0;
    }
    block_sync();  // (global writes of the block are visible to it after the barrier)
    // The diagonal: the blocks holding q' = q + seq_kv - seq_q of the rows.
    auto diag = [&](int q) {
      int64_t d = static_cast<int64_t>(q) + p.seq_kv - p.seq_q;
      d = d < 0 ? 0 : (d > p.seq_kv - 1 ? p.seq_kv - 1 : d);
      return static_cast<int>(d / kSB);
    };
    const int dlo = diag(q0), dhi = diag(q1);
    for (int kb = static_cast<int>(tid()); kb < nkb; kb += 128) {
      bool k = false;
      if (cand[kb]) {
        int rank = 0;
        for (int j = 0; j < nkb; ++j) rank += cand[j] && (est[j] > est[kb] || (est[j] == est[kb] && j < kb));
        k = rank < kTopT || (kb >= dlo && kb <= dhi);
      }
      keep[kb] = k ? 1 : 0;
    }
  }
}

/* Block sparsity, before the attention kernel: for each (query tile, kv
 * head, batch) of the attention grid, the kv tiles any of whose pairs lies in
 * a kept block, in order: list[0] = count, list[1 + i] = tile * 2 + (1 if
 * every pair of the tile lies in kept blocks, else 0: a partial tile whose
 * pairs test the block mask). The attention kernel then walks its list (and
 * splits it), never testing the tiles the block mask drops. One block of 128
 * threads per list: the threads classify the tiles, thread 0 compacts. */
template <class T> ATTNC_GLOBAL void ATTNC_LAUNCH_BOUNDS(128) block_list_kernel(const Params p) {
  if constexpr (kSparseBlock > 0) {  // (never launched otherwise)
    const dim3 bid = block_idx();
    const int qtile = static_cast<int>(bid.x), slot = static_cast<int>(bid.y), b = static_cast<int>(bid.z);
    const int hk = kv_of_slot(slot), nqt = static_cast<int>(grid_dim().x);
    const int rows = p.seq_q * kGroup, p0 = qtile * T::kBM, nr = rows - p0 < T::kBM ? rows - p0 : T::kBM;
    const int nkt = (p.seq_kv + T::kBN - 1) / T::kBN;
    int *list = p.blist + ((static_cast<int64_t>(b) * kGridKv + slot) * nqt + qtile) * (nkt + 1);
    for (int t = static_cast<int>(tid()); t < nkt; t += 128) {
      const int k0 = t * T::kBN, k1 = (k0 + T::kBN < p.seq_kv ? k0 + T::kBN : p.seq_kv) - 1;
      bool any = false, all = true;
      for (int r = 0; r < nr; ++r) {
        const int pr = p0 + r;
        if (!row_live(hk, pr % kGroup)) continue;  // (a pruned kernel's padding rows)
        const int h = head_of(hk, pr % kGroup), pos = pr / kGroup;
        for (int kb = k0 / kSB; kb <= k1 / kSB; ++kb) {
          const bool kept = block_kept(p, b, h, pos, kb * kSB);
          any = any || kept;
          all = all && kept;
        }
      }
      list[1 + t] = any ? (all ? 2 : 1) : 0;
    }
    block_sync();  // (global writes of the block are visible to it after the barrier)
    if (tid() == 0) {
      int n = 0;
      for (int t = 0; t < nkt; ++t)
        if (const int f = list[1 + t]) list[1 + n++] = t * 2 + (f == 2);
      list[0] = n;
    }
  }
}

/* Materialized MLA (`low_rank kv`, schedule `mlamat`), before the attention:
 * k_up (WHICH = blockIdx.y 0) or v_up (1) of kv head blockIdx.x transposed
 * into the workspace, [x][kRankPad] in the kernel's type with zeros past the
 * rank: the B fragments of the tile builds below are then pairs of adjacent
 * elements, whatever strides the caller's views have. */
ATTNC_GLOBAL void ATTNC_LAUNCH_BOUNDS(128) mla_up_kernel(const Params p) {
  if constexpr (kMlaMat) {  // (never launched otherwise)
    const dim3 bid = block_idx();
    const int hk = static_cast<int>(bid.x), which = static_cast<int>(bid.y);
    const int nx = which ? kOutDim : kQDim;
    const E *src = static_cast<const E *>(which ? p.v_up : p.k_up) + hk * (which ? p.vu_s[0] : p.ku_s[0]);
    const int64_t sr = which ? p.vu_s[1] : p.ku_s[1], sx = which ? p.vu_s[2] : p.ku_s[2];
    E *dst = static_cast<E *>(which ? p.mla_vup : p.mla_kup) + static_cast<int64_t>(hk) * nx * kRankPad;
    for (int i = static_cast<int>(tid()); i < nx * kRankPad; i += 128) {
      const int x = i / kRankPad, r = i % kRankPad;
      dst[i] = r < kRank ? src[r * sr + x * sx] : E(0);
    }
  }
}

/* Materialized MLA, in the attention: the K and V tiles of one kv tile from
 * its latent tile sL ([kBN][kLatPad]; rows past seq_kv are zero):
 * K[n][x] = sum over r of latent[n][r] k_up[r][x] for x < head_dim - rope,
 * then the latent row's rope part as it is, and V[n][x] = sum over r of
 * latent[n][r] v_up[r][x]. On tensor cores each warp takes 16 rows x 32
 * columns at a time (mma.sync over the rank: A from the latent tile by
 * ldmatrix, B from mla_up_kernel's transposed copies, f32 sums) and stores K
 * as hi + lo in the kernel's type (kKParts: the scores keep about f32
 * accuracy, as the absorbed form's latent query does) and V rounded once (as
 * the absorbed form's latent output is); the f32 path sums by FMA. Called by
 * every thread of the block; the caller syncs. */
template <class T>
ATTNC_DEVICE void mla_build_kv(const Params &p, int hk, const unsigned char *sL, unsigned char *sK, unsigned char *sV) {
  if constexpr (kMlaMat) {
    const E *kup = static_cast<const E *>(p.mla_kup) + static_cast<int64_t>(hk) * kQDim * kRankPad;
    const E *vup = static_cast<const E *>(p.mla_vup) + static_cast<int64_t>(hk) * kOutDim * kRankPad;
    auto kref = [&](int r, int col) -> E & {
      return reinterpret_cast<E *>(sK + T::KS::chunk(r, col / kChunkElems) * 16)[col % kChunkElems];
    };
    auto vref = [&](int r, int col) -> E & {
      return reinterpret_cast<E *>(sV + T::VS::chunk(r, col / kChunkElems) * 16)[col % kChunkElems];
    };
    if constexpr (kTensorCores) {
      const int lane = static_cast<int>(tid() & 31), warp = static_cast<int>(tid() >> 5), g = lane >> 2, t4 = lane & 3;
      constexpr int kRows16 = T::kBN / 16, kKG = (kQDim + 31) / 32, kVG = (kOutDim + 31) / 32;
      for (int item = warp; item < kRows16 * (kKG + kVG); item += T::kWarps) {
        const bool isv = item >= kRows16 * kKG;
        const int j = isv ? item - kRows16 * kKG : item;
        const int r16 = j % kRows16, x0 = (j / kRows16) * 32, nx = isv ? kOutDim : kQDim;
        const E *w = isv ? vup : kup;
        float acc[4][4];
        ATTNC_UNROLL for (int nt = 0; nt < 4; ++nt)
          ATTNC_UNROLL for (int i = 0; i < 4; ++i) acc[nt][i] = 0.f;
        for (int ks = 0; ks < kRankPad / 16; ++ks) {
          uint32_t a[4];
          ldsm_x4(a, sL + T::LS::chunk(r16 * 16 + (lane & 15), ks * 2 + (lane >> 4)) * 16);
          ATTNC_UNROLL for (int nt = 0; nt < 4; ++nt) {
            const int x = x0 + nt * 8 + g;  // this lane's column of the B fragment
            uint32_t b[2] = {0u, 0u};
            if (x < nx) {
              const uint32_t *src = reinterpret_cast<const uint32_t *>(w + static_cast<int64_t>(x) * kRankPad + ks * 16 + 2 * t4);
              b[0] = src[0];
              b[1] = src[4];
            }
            mma16816<kDType>(acc[nt], a, b);
          }
        }
        ATTNC_UNROLL for (int nt = 0; nt < 4; ++nt)
          ATTNC_UNROLL for (int i = 0; i < 4; ++i) {
            const int r = r16 * 16 + g + (i >> 1) * 8, col = x0 + nt * 8 + 2 * t4 + (i & 1);
            if (col >= nx) continue;
            if (isv) {
              vref(r, col) = st(acc[nt][i]);
            } else {
              const E hi = st(acc[nt][i]);
              kref(r, col) = hi;
              kref(r, kDPad + col) = st(acc[nt][i] - ld(hi));
            }
          }
      }
    } else {
      for (int i = static_cast<int>(tid()); i < T::kBN * kQDim; i += T::kThreads) {
        const int n = i / kQDim, x = i % kQDim;
        const E *w = kup + static_cast<int64_t>(x) * kRankPad;
        float acc = 0.f;
        for (int r = 0; r < kRank; ++r) acc += ld(at<typename T::LS>(sL, n, r)) * ld(w[r]);
        kref(n, x) = st(acc);
      }
      for (int i = static_cast<int>(tid()); i < T::kBN * kOutDim; i += T::kThreads) {
        const int n = i / kOutDim, x = i % kOutDim;
        const E *w = vup + static_cast<int64_t>(x) * kRankPad;
        float acc = 0.f;
        for (int r = 0; r < kRank; ++r) acc += ld(at<typename T::LS>(sL, n, r)) * ld(w[r]);
        vref(n, x) = st(acc);
      }
    }
    // The rope part (the latent row's last elements) and the zero padding.
    constexpr int kKRest = kDPad - kQDim, kVRest = kDvPad - kOutDim;
    constexpr int kKDiv = kKRest > 0 ? kKRest : 1, kVDiv = kVRest > 0 ? kVRest : 1;  // (no division by 0 to warn of)
    for (int i = static_cast<int>(tid()); i < T::kBN * kKRest; i += T::kThreads) {
      const int n = i / kKDiv, x = kQDim + i % kKDiv;
      kref(n, x) = x < kHeadDim ? at<typename T::LS>(sL, n, kRank + (x - kQDim)) : E(0);
      if constexpr (kKParts == 2) kref(n, kDPad + x) = E(0);
    }
    for (int i = static_cast<int>(tid()); i < T::kBN * kVRest; i += T::kThreads)
      vref(i / kVDiv, kOutDim + i % kVDiv) = E(0);
  }
}

template <int WM, int WN, int WD, int MT, int BNW, int STAGES>
ATTNC_GLOBAL void ATTNC_LAUNCH_BOUNDS(32 * WM * WN * WD) attention_kernel(const Params p) {
  using T = Tiles<WM, WN, WD, MT, BNW, STAGES>;
  unsigned char *smem = dyn_smem();
  unsigned char *sQ = smem + T::kQOff;
  const int lane = static_cast<int>(tid() & 31), warp = static_cast<int>(tid() >> 5);
  const int wm = warp % WM, wn = (warp / WM) % WN, wd = warp / (WM * WN);
  const int cb = wd * T::kDvT * 8;  // this warp's first value column
  const int g = lane >> 2, t4 = lane & 3;  // mma fragment coordinates: row group, column pair
  const dim3 bid = block_idx();
  // grid.y: the kv heads that compute a query head (all without pruning) x splits.
  const int b = static_cast<int>(bid.z), hk = kv_of_slot(static_cast<int>(bid.y) % kGridKv);
  const int split = static_cast<int>(bid.y) / kGridKv;
  const int seq_q = p.seq_q, seq_kv = p.seq_kv, rows = seq_q * kGroup;
  // Blocks in reverse row order: under a causal mask the last rows have the
  // most tiles, and starting them first evens out the end of the grid.
  const int p0 = static_cast<int>(grid_dim().x - 1 - bid.x) * T::kBM;
  const int pos_first = p0 / kGroup, pos_last = ((p0 + T::kBM < rows ? p0 + T::kBM : rows) - 1) / kGroup;

  // The kv tiles of this block's split: steps [t_begin, t_end) of its walk,
  // tile tile_of(it) at step it (every tile, or with block sparsity the
  // tiles of its list; splits divide the walk).
  const int nkt = (seq_kv + T::kBN - 1) / T::kBN;
  const int *list = NULL;
  int walk = nkt;
  if constexpr (kSparseBlock > 0) {
    const int nqt = static_cast<int>(grid_dim().x);
    list = p.blist + ((static_cast<int64_t>(b) * kGridKv + static_cast<int>(bid.y) % kGridKv) * nqt + p0 / T::kBM) *
                         (nkt + 1);
    walk = list[0];
  }
  const int per = (walk + p.nsplit - 1) / p.nsplit;
  const int t_begin = split * per, t_end = (t_begin + per < walk ? t_begin + per : walk);
  auto tile_of = [&](int it) { return kSparseBlock > 0 ? list[1 + it] >> 1 : it; };

  const E *qg = static_cast<const E *>(p.q), *kg = static_cast<const E *>(p.k), *vg = static_cast<const E *>(p.v);
  auto q_row = [&](int r) -> const E * {
    const int pr = p0 + r;
    if (pr >= rows || (kMla && kAdditive)) return nullptr;  // (MLA additive: qp from the call's q, no q tile)
    const int h = head_of(hk, pr % kGroup);
    return qg + b * p.q_sb + h * p.q_sh + static_cast<int64_t>(pr / kGroup) * p.q_ss;
  };
  auto load_kv = [&](int tile, int stage) {
    const int k0 = tile * T::kBN;
    auto k_row = [&](int r) -> const E * {
      return k0 + r < seq_kv ? kg + b * p.k_sb + hk * p.k_sh + static_cast<int64_t>(k0 + r) * p.k_ss : nullptr;
    };
    auto v_row = [&](int r) -> const E * {
      return k0 + r < seq_kv ? vg + b * p.v_sb + hk * p.v_sh + static_cast<int64_t>(k0 + r) * p.v_ss : nullptr;
    };
    if constexpr (kMlaMat) {  // (the latent rows: K and V are built from them once they arrive)
      load_tile<typename T::LS, T::kBN, kLatChunks, kLatDim, T::kThreads>(smem + T::kLOff + stage * T::LS::kBytes,
                                                                         k_row, p.k_aligned);
      (void)v_row;
    } else {
      load_tile<typename T::KS, T::kBN, kDChunks, kHeadDim, T::kThreads>(smem + T::kKOff + stage * T::KS::kBytes,
                                                                        k_row, p.k_aligned);
      load_tile<typename T::VS, T::kBN, kDvChunks, kValueDim, T::kThreads>(smem + T::kVOff + stage * T::VS::kBytes,
                                                                          v_row, p.v_aligned);
    }
  };
  // Empty, partial or full (see tile_class_static); a collective when it asks
  // the mask. A tile only partly in kept blocks is partial.
  auto classify = [&](int it) {
    const int k0 = tile_of(it) * T::kBN, k1 = (k0 + T::kBN < seq_kv ? k0 + T::kBN : seq_kv) - 1;
    // (Linformer: the analysis's kv intervals speak of the call's positions,
    // not of the R projected keys: the mask, which cannot read kv_idx, is
    // asked at run time.)
    int c = kLinformer ? (kMask ? kRuntime : kFull) : tile_class_static(pos_first, pos_last, k0, k1, seq_q, seq_kv);
    if (c == kRuntime) c = classify_runtime<T>(p, b, hk, p0, rows, k0, k1);
    if (c == kFull && k0 + T::kBN > seq_kv) c = kPartial;  // the kv tail needs its bound check
    if (kSparseBlock > 0 && c == kFull && !(list[1 + it] & 1)) c = kPartial;
    return c;
  };

  // Per thread: rows wm*MT*16 + mt*16 + g (+8) of O, m and l.
  float o[MT][T::kDvT][4];
  float m[MT][2], l[MT][2];
  ATTNC_UNROLL for (int mt = 0; mt < MT; ++mt) {
    ATTNC_UNROLL for (int j = 0; j < T::kDvT; ++j)
      ATTNC_UNROLL for (int i = 0; i < 4; ++i) o[mt][j][i] = 0.f;
    m[mt][0] = m[mt][1] = -INFINITY;
    l[mt][0] = l[mt][1] = 0.f;
  }

  int it = t_begin, cls = kEmpty;
  while (it < t_end && (cls = classify(it)) == kEmpty) ++it;
  load_tile<typename T::QS, T::kBM, kQChunks, kQRow, T::kThreads>(sQ, q_row, p.q_aligned);
  if (it < t_end) load_kv(tile_of(it), 0);
  cp_async_commit();

  float *qp = reinterpret_cast<float *>(smem + T::kProjOff);  // additive: [kBM][kUnits]
  float *kp = qp + T::kBM * kUnits;                           // additive: [kBN][kUnits]
  float *av = kp + T::kBN * kUnits;                           // additive: [kGroup][kUnits]
  bool first = true;
  int stage = 0;
  while (it < t_end) {
    int next = it + 1, ncls = kEmpty;
    while (next < t_end && (ncls = classify(next)) == kEmpty) ++next;
    if (STAGES == 2 && next < t_end) {
      load_kv(tile_of(next), stage ^ 1);
      cp_async_commit();
      cp_async_wait<1>();
    } else {
      cp_async_wait<0>();
    }
    block_sync();
    if constexpr (kMlaMat) {
      mla_build_kv<T>(p, hk, smem + T::kLOff + stage * T::LS::kBytes, smem + T::kKOff, smem + T::kVOff);
      block_sync();
    }
    const unsigned char *sK = smem + T::kKOff + (kMlaMat ? 0 : stage * T::KS::kBytes);
    const unsigned char *sV = smem + T::kVOff + (kMlaMat ? 0 : stage * T::VS::kBytes);
    const int k0 = tile_of(it) * T::kBN;

    if constexpr (kAdditive) {
      // The projections q.add_wq (once) and k.add_wk (per tile), in f32.
      const E *wq = static_cast<const E *>(p.add_wq), *wk = static_cast<const E *>(p.add_wk);
      if (first) {
        for (int i = tid(); i < T::kBM * kUnits; i += T::kThreads) {
          const int r = i / kUnits, u = i % kUnits, h = head_of(hk, (p0 + r) % kGroup);
          float acc = 0.f;
          if constexpr (kMla) {
            // (MLA: the call's q, head_dim wide; the attention's q tile is the latent one.)
            const int pr = p0 + r;
            if (pr < rows) {
              const E *qrow = static_cast<const E *>(p.q_user) + b * p.qu_sb + h * p.qu_sh +
                              static_cast<int64_t>(pr / kGroup) * p.qu_ss;
              for (int x = 0; x < kKeyDim; ++x)
                acc += ld(qrow[x]) * ld(wq[h * p.wq_s[0] + x * p.wq_s[1] + u * p.wq_s[2]]);
            }
          } else {
            for (int x = 0; x < kHeadDim; ++x)
              acc += ld(at<typename T::QS>(sQ, r, x)) * ld(wq[h * p.wq_s[0] + x * p.wq_s[1] + u * p.wq_s[2]]);
          }
          qp[i] = acc;
        }
        const E *wv = static_cast<const E *>(p.add_v);
        for (int i = tid(); i < kGroup * kUnits; i += T::kThreads)
          av[i] = ld(wv[head_of(hk, i / kUnits) * p.wv_s[0] + (i % kUnits) * p.wv_s[1]]);
      }
      for (int i = tid(); i < T::kBN * kUnits; i += T::kThreads) {
        const int r = i / kUnits, u = i % kUnits;
        float acc = 0.f;
        if constexpr (kMla) {
          // MLA: the K tile holds latent rows; kp = latent . W' (mla_wk_kernel).
          const float *w = p.mla_wk + static_cast<int64_t>(hk) * kHeadDim * kUnits + u;
          for (int x = 0; x < kHeadDim; ++x) acc += ld(at<typename T::KS>(sK, r, x)) * w[x * kUnits];
        } else {
          for (int x = 0; x < kHeadDim; ++x) {
            float kx = ld(at<typename T::KS>(sK, r, x));
            if constexpr (kKParts == 2) kx += ld(at<typename T::KS>(sK, r, kDPad + x));  // (a built key's lo part)
            acc += kx * ld(wk[hk * p.wk_s[0] + x * p.wk_s[1] + u * p.wk_s[2]]);
          }
        }
        kp[i] = acc;
      }
      block_sync();
    }
    first = false;

    // ---- 2. S = Q K^T for this warp's rows and kv columns -------------------
    float s[MT][T::kNT][4];
    ATTNC_UNROLL for (int mt = 0; mt < MT; ++mt)
      ATTNC_UNROLL for (int nt = 0; nt < T::kNT; ++nt)
        ATTNC_UNROLL for (int i = 0; i < 4; ++i) s[mt][nt][i] = 0.f;
    if constexpr (kAdditive) {
      // score = sum_u add_v[h, u] * tanh(qp[row, u] + kp[col, u]), one unit at a time.
      for (int u = 0; u < kUnits; ++u) {
        ATTNC_UNROLL for (int mt = 0; mt < MT; ++mt)
          ATTNC_UNROLL for (int rr = 0; rr < 2; ++rr) {
            const int r = wm * MT * 16 + mt * 16 + g + rr * 8;
            const float a_u = av[((p0 + r) % kGroup) * kUnits + u], q_u = qp[r * kUnits + u];
            ATTNC_UNROLL for (int nt = 0; nt < T::kNT; ++nt)
              ATTNC_UNROLL for (int e = 0; e < 2; ++e)
                s[mt][nt][rr * 2 + e] += a_u * tanhf(q_u + kp[(wn * BNW + nt * 8 + 2 * t4 + e) * kUnits + u]);
          }
      }
    } else if constexpr (kTensorCores) {
      ATTNC_UNROLL for (int ks = 0; ks < kDChunks / 2; ++ks) {  // 16 elements of head_dim per step
        uint32_t a[MT][4];
        ATTNC_UNROLL for (int mt = 0; mt < MT; ++mt)
          ldsm_x4(a[mt], sQ + T::QS::chunk(wm * MT * 16 + mt * 16 + (lane & 15), ks * 2 + (lane >> 4)) * 16);
        ATTNC_UNROLL for (int n2 = 0; n2 < T::kNT / 2; ++n2) {
          uint32_t bk[4];  // B fragments of n-tiles 2*n2 and 2*n2+1 (K rows are S columns)
          ldsm_x4(bk, sK + T::KS::chunk(wn * BNW + n2 * 16 + (lane & 7) + ((lane >> 4) << 3),
                                        ks * 2 + ((lane >> 3) & 1)) * 16);
          ATTNC_UNROLL for (int mt = 0; mt < MT; ++mt) {
            mma16816<kDType>(s[mt][2 * n2], a[mt], bk);
            mma16816<kDType>(s[mt][2 * n2 + 1], a[mt], bk + 2);
          }
        }
        if constexpr (kKParts == 2) {
          // Materialized MLA: the same Q fragments against the built keys' low part.
          ATTNC_UNROLL for (int n2 = 0; n2 < T::kNT / 2; ++n2) {
            uint32_t bk[4];
            ldsm_x4(bk, sK + T::KS::chunk(wn * BNW + n2 * 16 + (lane & 7) + ((lane >> 4) << 3),
                                          kDChunks + ks * 2 + ((lane >> 3) & 1)) * 16);
            ATTNC_UNROLL for (int mt = 0; mt < MT; ++mt) {
              mma16816<kDType>(s[mt][2 * n2], a[mt], bk);
              mma16816<kDType>(s[mt][2 * n2 + 1], a[mt], bk + 2);
            }
          }
        }
        if constexpr (kQParts == 2) {
          // MLA: the latent query's low part against the same K fragments.
          ATTNC_UNROLL for (int mt = 0; mt < MT; ++mt)
            ldsm_x4(a[mt], sQ + T::QS::chunk(wm * MT * 16 + mt * 16 + (lane & 15), kDChunks + ks * 2 + (lane >> 4)) * 16);
          ATTNC_UNROLL for (int n2 = 0; n2 < T::kNT / 2; ++n2) {
            uint32_t bk[4];
            ldsm_x4(bk, sK + T::KS::chunk(wn * BNW + n2 * 16 + (lane & 7) + ((lane >> 4) << 3),
                                          ks * 2 + ((lane >> 3) & 1)) * 16);
            ATTNC_UNROLL for (int mt = 0; mt < MT; ++mt) {
              mma16816<kDType>(s[mt][2 * n2], a[mt], bk);
              mma16816<kDType>(s[mt][2 * n2 + 1], a[mt], bk + 2);
            }
          }
        }
      }
    } else {
      // f32: the same fragments, each lane's elements by FMA from shared
      // memory, one 4-element chunk of head_dim at a time (the accumulators
      // stay in registers; the chunk loop is not unrolled).
      for (int ch = 0; ch < kDChunks; ++ch) {
        ATTNC_UNROLL for (int mt = 0; mt < MT; ++mt) {
          const float *q0 = reinterpret_cast<const float *>(sQ + T::QS::chunk(wm * MT * 16 + mt * 16 + g, ch) * 16);
          const float *q1 = reinterpret_cast<const float *>(sQ + T::QS::chunk(wm * MT * 16 + mt * 16 + g + 8, ch) * 16);
          ATTNC_UNROLL for (int nt = 0; nt < T::kNT; ++nt)
            ATTNC_UNROLL for (int e = 0; e < 2; ++e) {
              const float *kc = reinterpret_cast<const float *>(sK + T::KS::chunk(wn * BNW + nt * 8 + 2 * t4 + e, ch) * 16);
              s[mt][nt][e] += q0[0] * kc[0] + q0[1] * kc[1] + q0[2] * kc[2] + q0[3] * kc[3];
              s[mt][nt][2 + e] += q1[0] * kc[0] + q1[1] * kc[1] + q1[2] * kc[2] + q1[3] * kc[3];
            }
        }
      }
    }

    // ---- 3. scale, score_mod, mask (partial tiles only) ----------------------
    ATTNC_UNROLL for (int mt = 0; mt < MT; ++mt)
      ATTNC_UNROLL for (int i = 0; i < 4; ++i) {
        const int pr = p0 + wm * MT * 16 + mt * 16 + g + (i >> 1) * 8;
        const int pos = pr / kGroup, h = head_of(hk, pr % kGroup);
        ATTNC_UNROLL for (int nt = 0; nt < T::kNT; ++nt) {
          const int kv = k0 + wn * BNW + nt * 8 + 2 * t4 + (i & 1);
          float x = s[mt][nt][i];
          if constexpr (kSigmoid) {  // natural units: sigmoid(score + bias)
            x *= kScale;
            if constexpr (kScoreMod) x = score_mod_fn(p, x, b, h, pos, kv);
            x += bias_fn(p, b, h, pos, kv);
          } else if constexpr (kScoreMod) {  // log2 units from here on
            x = score_mod_fn(p, x * kScale, b, h, pos, kv) * kLog2e;
          } else {
            x *= kScaleLog2;
          }
          if (cls == kPartial) {
            bool keep = kv < seq_kv;
            if constexpr (kMask) keep = keep && mask_fn(p, b, h, pos, kv);
            if constexpr (kSparseBlock > 0) keep = keep && block_kept(p, b, h, pos, kv);
            if (!keep) x = -INFINITY;
          }
          s[mt][nt][i] = x;
        }
      }

    // ---- 4. online softmax (or sigmoid weights) ------------------------------
    ATTNC_UNROLL for (int mt = 0; mt < MT; ++mt)
      ATTNC_UNROLL for (int rr = 0; rr < 2; ++rr) {
        if constexpr (kSigmoid) {
          ATTNC_UNROLL for (int nt = 0; nt < T::kNT; ++nt)
            ATTNC_UNROLL for (int e = 0; e < 2; ++e) {
              float &x = s[mt][nt][rr * 2 + e];
              x = 1.f / (1.f + exp2_(-x * kLog2e));
            }
        } else {
          float mx = -INFINITY;
          ATTNC_UNROLL for (int nt = 0; nt < T::kNT; ++nt) mx = fmaxf(mx, fmaxf(s[mt][nt][rr * 2], s[mt][nt][rr * 2 + 1]));
          mx = quad_max(mx);
          const float mnew = fmaxf(m[mt][rr], mx), muse = mnew == -INFINITY ? 0.f : mnew;
          const float alpha = exp2_(m[mt][rr] - muse);
          m[mt][rr] = mnew;
          l[mt][rr] *= alpha;
          ATTNC_UNROLL for (int j = 0; j < T::kDvT; ++j) {
            o[mt][j][rr * 2] *= alpha;
            o[mt][j][rr * 2 + 1] *= alpha;
          }
          ATTNC_UNROLL for (int nt = 0; nt < T::kNT; ++nt)
            ATTNC_UNROLL for (int e = 0; e < 2; ++e) {
              float &x = s[mt][nt][rr * 2 + e];
              x = exp2_(x - muse);
              l[mt][rr] += x;  // this lane's part of the row sum; the quad adds up at the end
            }
        }
      }

    // ---- 5. O += P V -----------------------------------------------------------
    if constexpr (kTensorCores) {
      ATTNC_UNROLL for (int kk = 0; kk < BNW / 16; ++kk) {  // 16 kv rows per step
        uint32_t a[MT][4];
        ATTNC_UNROLL for (int mt = 0; mt < MT; ++mt) {
          a[mt][0] = pack2<kDType>(s[mt][2 * kk][0], s[mt][2 * kk][1]);
          a[mt][1] = pack2<kDType>(s[mt][2 * kk][2], s[mt][2 * kk][3]);
          a[mt][2] = pack2<kDType>(s[mt][2 * kk + 1][0], s[mt][2 * kk + 1][1]);
          a[mt][3] = pack2<kDType>(s[mt][2 * kk + 1][2], s[mt][2 * kk + 1][3]);
        }
        ATTNC_UNROLL for (int j2 = 0; j2 < T::kDvT / 2; ++j2) {
          uint32_t bv[4];  // B fragments of value columns 16*j2.. (V transposed by ldmatrix)
          ldsm_x4_t(bv, sV + T::VS::chunk(wn * BNW + kk * 16 + (lane & 7) + (((lane >> 3) & 1) << 3),
                                          cb / 8 + j2 * 2 + (lane >> 4)) * 16);
          ATTNC_UNROLL for (int mt = 0; mt < MT; ++mt) {
            mma16816<kDType>(o[mt][2 * j2], a[mt], bv);
            mma16816<kDType>(o[mt][2 * j2 + 1], a[mt], bv + 2);
          }
        }
      }
    } else {
      float *sP = reinterpret_cast<float *>(smem + T::kPOff) + warp * MT * 16 * BNW;
      ATTNC_UNROLL for (int mt = 0; mt < MT; ++mt)
        ATTNC_UNROLL for (int nt = 0; nt < T::kNT; ++nt)
          ATTNC_UNROLL for (int i = 0; i < 4; ++i)
            sP[(mt * 16 + g + (i >> 1) * 8) * BNW + nt * 8 + 2 * t4 + (i & 1)] = s[mt][nt][i];
      warp_sync();
      // O += P V as rank-1 updates, one kv row at a time (not unrolled).
      for (int k = 0; k < BNW; ++k) {
        ATTNC_UNROLL for (int mt = 0; mt < MT; ++mt) {
          const float p0v = sP[(mt * 16 + g) * BNW + k], p1v = sP[(mt * 16 + g + 8) * BNW + k];
          ATTNC_UNROLL for (int j = 0; j < T::kDvT; ++j)
            ATTNC_UNROLL for (int e = 0; e < 2; ++e) {
              const float vv = at<typename T::VS>(sV, wn * BNW + k, cb + j * 8 + 2 * t4 + e);
              o[mt][j][e] += p0v * vv;
              o[mt][j][2 + e] += p1v * vv;
            }
        }
      }
      warp_sync();
    }
    block_sync();  // every warp is done with this stage before it is refilled
    if (STAGES == 1 && next < t_end) {
      load_kv(tile_of(next), 0);
      cp_async_commit();
    }
    it = next;
    cls = ncls;
    if (STAGES == 2) stage ^= 1;
  }
  cp_async_wait<0>();

  if constexpr (!kSigmoid)
    ATTNC_UNROLL for (int mt = 0; mt < MT; ++mt)
      ATTNC_UNROLL for (int rr = 0; rr < 2; ++rr) l[mt][rr] = quad_sum(l[mt][rr]);

  if constexpr (WN > 1) {
    // Merge the softmax states of the warps along kv: O_w, m_w, l_w -> warp 0.
    block_sync();
    float *mo = reinterpret_cast<float *>(smem + T::kMergeOff);  // [WN][MT*16][kDvPad]
    float *ml = mo + WN * MT * 16 * kDvPad;                      // [WN][MT*16][2]
    ATTNC_UNROLL for (int mt = 0; mt < MT; ++mt)
      ATTNC_UNROLL for (int j = 0; j < T::kDvT; ++j)
        ATTNC_UNROLL for (int i = 0; i < 4; ++i)
          mo[(wn * MT * 16 + mt * 16 + g + (i >> 1) * 8) * kDvPad + cb + j * 8 + 2 * t4 + (i & 1)] = o[mt][j][i];
    if (t4 == 0)
      ATTNC_UNROLL for (int mt = 0; mt < MT; ++mt)
        ATTNC_UNROLL for (int rr = 0; rr < 2; ++rr) {
          ml[(wn * MT * 16 + mt * 16 + g + rr * 8) * 2] = m[mt][rr];
          ml[(wn * MT * 16 + mt * 16 + g + rr * 8) * 2 + 1] = l[mt][rr];
        }
    block_sync();
    if (wn == 0)
      ATTNC_UNROLL for (int mt = 0; mt < MT; ++mt)
        ATTNC_UNROLL for (int rr = 0; rr < 2; ++rr) {
          const int r = mt * 16 + g + rr * 8;
          float mx = -INFINITY, wgt[WN];
          ATTNC_UNROLL for (int w = 0; w < WN; ++w) mx = fmaxf(mx, ml[(w * MT * 16 + r) * 2]);
          const float muse = mx == -INFINITY ? 0.f : mx;
          float lsum = 0.f;
          ATTNC_UNROLL for (int w = 0; w < WN; ++w) {
            wgt[w] = kSigmoid ? 1.f : exp2_(ml[(w * MT * 16 + r) * 2] - muse);
            lsum += wgt[w] * ml[(w * MT * 16 + r) * 2 + 1];
          }
          m[mt][rr] = mx;
          l[mt][rr] = lsum;
          ATTNC_UNROLL for (int j = 0; j < T::kDvT; ++j)
            ATTNC_UNROLL for (int e = 0; e < 2; ++e) {
              float acc = 0.f;
              ATTNC_UNROLL for (int w = 0; w < WN; ++w) acc += wgt[w] * mo[(w * MT * 16 + r) * kDvPad + cb + j * 8 + 2 * t4 + e];
              o[mt][j][rr * 2 + e] = acc;
            }
        }
  }
  if (wn != 0) return;

  // ---- out = O / l, lse = m + log l (natural log); or the split's partials --
  ATTNC_UNROLL for (int mt = 0; mt < MT; ++mt)
    ATTNC_UNROLL for (int rr = 0; rr < 2; ++rr) {
      const int pr = p0 + wm * MT * 16 + mt * 16 + g + rr * 8;
      if (pr >= rows || !row_live(hk, pr % kGroup)) continue;  // (a pruned kernel's padding rows)
      const int pos = pr / kGroup, h = head_of(hk, pr % kGroup);
      const float lv = l[mt][rr];
      // lv == 0: every pair masked (out 0, lse -inf); a NaN score makes lv,
      // out and lse NaN (fmaxf skips NaN, the sums do not).
      const float inv = kSigmoid ? 1.f : (lv == 0.f ? 0.f : 1.f / lv);
      const float lse = kSigmoid ? 0.f : (lv == 0.f ? -INFINITY : (m[mt][rr] + log2f(lv)) * kLn2);
      if (p.nsplit == 1) {
        E *orow = static_cast<E *>(p.out) + b * p.o_sb + h * p.o_sh + static_cast<int64_t>(pos) * p.o_ss;
        ATTNC_UNROLL for (int j = 0; j < T::kDvT; ++j)
          ATTNC_UNROLL for (int e = 0; e < 2; ++e) {
            const int c = cb + j * 8 + 2 * t4 + e;
            if (c < kValueDim) orow[c] = st(o[mt][j][rr * 2 + e] * inv);
          }
        if constexpr (kLse)
          if (t4 == 0) p.lse[b * p.lse_sb + h * p.lse_sh + static_cast<int64_t>(pos) * p.lse_ss] = lse;
      } else {
        const int64_t part = ((static_cast<int64_t>(b) * kHeads + h) * seq_q + pos) * p.nsplit + split;
        float *prow = p.o_part + part * kValueDim;
        ATTNC_UNROLL for (int j = 0; j < T::kDvT; ++j)
          ATTNC_UNROLL for (int e = 0; e < 2; ++e) {
            const int c = cb + j * 8 + 2 * t4 + e;
            if (c < kValueDim) prow[c] = o[mt][j][rr * 2 + e] * inv;
          }
        if (t4 == 0) p.lse_part[part] = lse;
      }
    }
}

/* Split-KV: merges the nsplit partial results of one (batch, head, query)
 * row, weighting each by exp(lse_split - lse). One block per row. */
ATTNC_GLOBAL void ATTNC_LAUNCH_BOUNDS(128) combine_kernel(const Params p) {
  const int64_t r = block_idx().x;
  const int seq_q = p.seq_q, ns = p.nsplit;
  const int b = static_cast<int>(r / (static_cast<int64_t>(kHeads) * seq_q));
  const int h = static_cast<int>((r / seq_q) % kHeads), pos = static_cast<int>(r % seq_q);
  if (head_pruned(h)) return;  // prune_fill_kernel writes it
  const float *lp = p.lse_part + r * ns;
  float mx = -INFINITY;
  for (int s = 0; s < ns; ++s) mx = fmaxf(mx, lp[s]);
  const float muse = mx == -INFINITY ? 0.f : mx;
  float wsum = 0.f;
  for (int s = 0; s < ns; ++s) wsum += kSigmoid ? 1.f : expf(lp[s] - muse);
  const float inv = kSigmoid ? 1.f : (wsum == 0.f ? 0.f : 1.f / wsum);  // NaN partials stay NaN
  E *orow = static_cast<E *>(p.out) + b * p.o_sb + h * p.o_sh + static_cast<int64_t>(pos) * p.o_ss;
  for (int c = static_cast<int>(tid()); c < kValueDim; c += 128) {
    float acc = 0.f;
    for (int s = 0; s < ns; ++s)
      acc += (kSigmoid ? 1.f : expf(lp[s] - muse)) * p.o_part[(r * ns + s) * kValueDim + c];
    orow[c] = st(acc * inv);
  }
  if constexpr (kLse)
    if (tid() == 0)
      p.lse[b * p.lse_sb + h * p.lse_sh + static_cast<int64_t>(pos) * p.lse_ss] =
          wsum == 0.f ? -INFINITY : muse + logf(wsum);
}

/* Pruned heads: out 0 and lse -inf, one block per (batch, pruned head, query). */
ATTNC_GLOBAL void ATTNC_LAUNCH_BOUNDS(128) prune_fill_kernel(const Params p) {
  if constexpr (kPruned > 0) {  // (never launched otherwise)
    const int64_t r = block_idx().x;
    const int seq_q = p.seq_q;
    const int b = static_cast<int>(r / (static_cast<int64_t>(kPruned) * seq_q));
    const int h = pruned_head(static_cast<int>((r / seq_q) % kPruned)), pos = static_cast<int>(r % seq_q);
    E *orow = static_cast<E *>(p.out) + b * p.o_sb + h * p.o_sh + static_cast<int64_t>(pos) * p.o_ss;
    for (int c = static_cast<int>(tid()); c < kValueDim; c += 128) orow[c] = st(0.f);
    if constexpr (kLse)
      if (tid() == 0) p.lse[b * p.lse_sb + h * p.lse_sh + static_cast<int64_t>(pos) * p.lse_ss] = -INFINITY;
  }
}
