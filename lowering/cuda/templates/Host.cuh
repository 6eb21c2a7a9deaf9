// lowering/cuda/templates/Host.cuh: the spec-independent host side of every
// NAME.cu (split choice, scratch, launches), embedded at build time and
// written inside namespace attnc_NAME after the kernel (lowering/cuda/ToCuda.cpp).

/* kv splits for a call: enough blocks to fill the device twice over, at most
 * the schedule's limit and the number of kv tiles. */
template <class T> static int choose_splits(int64_t batch, int64_t seq_q, int64_t seq_kv, int max_splits) {
  // The first device's SM count, read once (thread-safe static initialization).
  static const int sms = [] {
    int n = 0, smem = 0;
    return device_limits(&n, &smem) == 0 && n > 0 ? n : 1;
  }();
  const int64_t blocks = batch * kGridKv * ((seq_q * kGroup + T::kBM - 1) / T::kBM);
  const int64_t tiles = (seq_kv + T::kBN - 1) / T::kBN;
  if (blocks >= sms || tiles < 2) return 1;
  int64_t want = (2 * (int64_t)sms + blocks - 1) / blocks;
  if (want > max_splits) want = max_splits;
  if (want > 65535 / kGridKv) want = 65535 / kGridKv;  // grid.y = computed kv heads x splits
  if (want > tiles) want = tiles;
  // Every split must hold a tile: ceil(tiles / per) splits are non-empty.
  const int64_t per = (tiles + want - 1) / want;
  return (int)((tiles + per - 1) / per);
}

static size_t split_bytes(int64_t batch, int64_t seq_q, int nsplit) {
  return nsplit <= 1 ? 0 : (size_t)(batch * kHeads * seq_q) * (size_t)nsplit * (kValueDim + 1) * sizeof(float);
}

static size_t align16(size_t n) { return (n + 15) / 16 * 16; }

/* Block sparsity's part of the workspace, offsets from its start: per
 * (batch, kv head, query tile) a count and the kv tiles to visit
 * (block_list_kernel), int32 each; with top-T, the plan: f64 block means of q
 * and k, f64 estimates and u8 candidates and kept blocks per (batch, head, q
 * block, kv block). All 0 without the transform. */
struct SparseLayout {
  size_t lists, mean_q, mean_k, est, cand, keep, total;
};
template <class T> static SparseLayout sparse_layout(int64_t batch, int64_t seq_q, int64_t seq_kv) {
  SparseLayout l;
  memset(&l, 0, sizeof l);
  if (kSparseBlock == 0) return l;
  size_t off = 0;
  auto take = [&](size_t bytes) {
    const size_t at = off;
    off += align16(bytes);
    return at;
  };
  const int64_t nqt = (seq_q * kGroup + T::kBM - 1) / T::kBM, nkt = (seq_kv + T::kBN - 1) / T::kBN;
  l.lists = take((size_t)(batch * kGridKv * nqt) * (size_t)(nkt + 1) * sizeof(int));
  if (kSparseTop) {
    const int64_t nqb = (seq_q + kSB - 1) / kSB, nkb = (seq_kv + kSB - 1) / kSB;
    const size_t blocks = (size_t)(batch * kHeads * nqb) * (size_t)nkb;
    l.mean_q = take((size_t)(batch * kHeads * nqb) * kKeyDim * sizeof(double));
    l.mean_k = take((size_t)(batch * kKvHeads * nkb) * kKeyDim * sizeof(double));
    l.est = take(blocks * sizeof(double));
    l.cand = take(blocks);
    l.keep = take(blocks);
  }
  l.total = off;
  return l;
}

/* Linformer: the keys the attention runs over (R, or none without keys). */
static int64_t attended_keys(int64_t seq_kv) { return kLinformer ? (seq_kv > 0 ? kRank : 0) : seq_kv; }
/* Linformer: E.K and F.V of every (batch, kv head), in the kernel's type. */
static size_t linformer_bytes(int64_t batch) {
  return kLinformer ? align16((size_t)(batch * kKvHeads) * kRank * kHeadDim * sizeof(E)) +
                          align16((size_t)(batch * kKvHeads) * kRank * kValueDim * sizeof(E))
                    : 0;
}
/* MLA: the latent queries ([batch][seq_q][heads][kQRow]: hi and lo parts on
 * tensor cores), then the latent outputs ([..][R]), in the kernel's type. */
static size_t mla_q_bytes(int64_t batch, int64_t seq_q) {
  // (Additive scores project the call's q, not a latent one: none.)
  return kMla && !kAdditive ? align16((size_t)(batch * seq_q * kHeads) * kQRow * sizeof(E)) : 0;
}
static size_t mla_o_bytes(int64_t batch, int64_t seq_q) {
  return kMla ? align16((size_t)(batch * seq_q * kHeads) * kRank * sizeof(E)) : 0;
}
/* Materialized MLA: k_up and v_up transposed ([kv_heads][dim][kRankPad] each, mla_up_kernel). */
static size_t mla_up_k_bytes() { return kMlaMat ? align16((size_t)kKvHeads * kQDim * kRankPad * sizeof(E)) : 0; }
static size_t mla_up_bytes() {
  return kMlaMat ? mla_up_k_bytes() + align16((size_t)kKvHeads * kOutDim * kRankPad * sizeof(E)) : 0;
}
/* MLA with additive scores: W' = k_up . add_wk, [kv_heads][R + rope][units] f32. */
static size_t mla_wk_bytes() { return kMla && kAdditive ? align16((size_t)kKvHeads * kHeadDim * kUnits * sizeof(float)) : 0; }
/* The part of the workspace every call needs, whatever the splits: block
 * sparsity's lists and plan, Linformer's projections (`keys`: the keys
 * attended), MLA's latent queries and outputs (absorbed) or its transposed
 * k_up and v_up (materialized). */
template <class T> static size_t aux_bytes(int64_t batch, int64_t seq_q, int64_t keys) {
  return sparse_layout<T>(batch, seq_q, keys).total + linformer_bytes(batch) + mla_q_bytes(batch, seq_q) + mla_o_bytes(batch, seq_q) +
         mla_wk_bytes() + mla_up_bytes();
}
/* The whole workspace: the split-KV partials, then the auxiliary part. */
static size_t total_bytes(int64_t batch, int64_t seq_q, int nsplit, size_t aux) {
  const size_t split = split_bytes(batch, seq_q, nsplit);
  return aux ? align16(split) + aux : split;
}
/* The workspace a call needs (the size query). */
template <class T> static size_t workspace_bytes(int64_t batch, int64_t seq_q, int64_t seq_kv, int max_splits) {
  const int64_t keys = attended_keys(seq_kv);
  return total_bytes(batch, seq_q, choose_splits<T>(batch, seq_q, keys, max_splits), aux_bytes<T>(batch, seq_q, keys));
}

static bool aligned16(const attnc_tensor *t, int elem_bytes) {
  if ((uintptr_t)t->data % 16) return false;
  for (int i = 0; i + 1 < t->ndim; ++i)
    if ((t->stride[i] * elem_bytes) % 16) return false;
  return true;
}

template <class T>
static int run(const Params &p0, int max_splits, void *workspace, size_t workspace_bytes, bool own_workspace,
               void *stream) {
  Params p = p0;
  int sms = 0, smem_optin = 0;
  int e = device_limits(&sms, &smem_optin);
  if (e) return fail(ATTNC_E_DEVICE, "CUDA: %s", error_string(e));
  if (T::kSmem > smem_optin)
    return fail(ATTNC_E_DEVICE, "the kernel needs %d bytes of shared memory per block, the device allows %d "
                "(generate it for this GPU's arch with --arch)", T::kSmem, smem_optin);
  p.seq_kv = (int)attended_keys(p.seq_kv_in);  // (Linformer: its R projected keys)
  p.nsplit = choose_splits<T>(p.batch, p.seq_q, p.seq_kv, max_splits);
  // Workspace: the split-KV partials (nsplit > 1), then the tile lists (block
  // sparsity) or the projected keys and values (Linformer).
  const size_t aux = aux_bytes<T>(p.batch, p.seq_q, p.seq_kv);
  auto need = [&](int nsplit) { return total_bytes(p.batch, p.seq_q, nsplit, aux); };
  if (!own_workspace) {
    if (aux > 0 && (workspace == NULL || workspace_bytes < aux))
      return fail(ATTNC_E_ARGUMENT, "%s needs workspace: %zu bytes at least, got %zu (ask the workspace size query)",
                  kLinformer ? "low_rank seq (its projected keys and values)"
                  : kMla       ? (kSparseBlock > 0 ? "low_rank kv (its latent queries and outputs) with block sparsity "
                                                     "(its tile lists)"
                                                   : "low_rank kv (its latent queries and outputs)")
                  : kMlaMat    ? (kSparseBlock > 0 ? "low_rank kv (its transposed k_up and v_up) with block sparsity "
                                                     "(its tile lists)"
                                                   : "low_rank kv (its transposed k_up and v_up)")
                  : kSparseTop ? "block sparsity (its tile lists and top-T plan)" : "block sparsity (its tile lists)",
                  aux, workspace == NULL ? (size_t)0 : workspace_bytes);
    while (p.nsplit > 1 && need(p.nsplit) > workspace_bytes) --p.nsplit;
  }
  void *scratch = NULL;
  if (p.nsplit > 1 || aux > 0) {
    if (own_workspace) {
      e = scratch_alloc(&scratch, need(p.nsplit), stream);
      if (e) return fail(ATTNC_E_DEVICE, "CUDA: allocating %zu bytes of workspace: %s", need(p.nsplit),
                         error_string(e));
      workspace = scratch;
    }
    if (p.nsplit > 1) {
      p.o_part = (float *)workspace;
      p.lse_part = p.o_part + (size_t)(p.batch * kHeads * p.seq_q) * (size_t)p.nsplit * kValueDim;
    }
    if (kLinformer) {
      unsigned char *base = (unsigned char *)workspace + (p.nsplit > 1 ? align16(split_bytes(p.batch, p.seq_q, p.nsplit)) : 0);
      p.lin_k = base;
      p.lin_v = base + align16((size_t)(p.batch * kKvHeads) * kRank * kHeadDim * sizeof(E));
      // The attention reads them as its k and v: [batch][kv heads][R][dim], 16-byte rows where the dims allow.
      p.k = p.lin_k;
      p.v = p.lin_v;
      p.k_ss = kHeadDim, p.k_sh = (int64_t)kRank * kHeadDim, p.k_sb = (int64_t)kKvHeads * kRank * kHeadDim;
      p.v_ss = kValueDim, p.v_sh = (int64_t)kRank * kValueDim, p.v_sb = (int64_t)kKvHeads * kRank * kValueDim;
      p.k_aligned = (kHeadDim * sizeof(E)) % 16 == 0;
      p.v_aligned = (kValueDim * sizeof(E)) % 16 == 0;
    }
    if (kMla) {
      // After block sparsity's part: the latent queries and outputs, which the attention reads as its q and
      // writes as its out ([batch][seq_q][heads][R]).
      unsigned char *base = (unsigned char *)workspace + (p.nsplit > 1 ? align16(split_bytes(p.batch, p.seq_q, p.nsplit)) : 0) +
                            sparse_layout<T>(p.batch, p.seq_q, p.seq_kv).total;
      p.mla_q = base;
      p.mla_o = base + mla_q_bytes(p.batch, p.seq_q);
      p.mla_wk = kAdditive ? (float *)((unsigned char *)p.mla_o + mla_o_bytes(p.batch, p.seq_q)) : NULL;
      p.q_user = p0.q, p.qu_sb = p0.q_sb, p.qu_sh = p0.q_sh, p.qu_ss = p0.q_ss;
      p.q = p.mla_q;
      p.out = p.mla_o;
      p.q_ss = (int64_t)kHeads * kQRow, p.q_sh = kQRow, p.q_sb = (int64_t)p.seq_q * kHeads * kQRow;
      p.o_ss = (int64_t)kHeads * kRank, p.o_sh = kRank, p.o_sb = (int64_t)p.seq_q * kHeads * kRank;
      p.q_aligned = (kQRow * sizeof(E)) % 16 == 0;
    }
    if (kMlaMat) {  // after block sparsity's part: k_up and v_up transposed
      unsigned char *base = (unsigned char *)workspace + (p.nsplit > 1 ? align16(split_bytes(p.batch, p.seq_q, p.nsplit)) : 0) +
                            sparse_layout<T>(p.batch, p.seq_q, p.seq_kv).total;
      p.mla_kup = base;
      p.mla_vup = base + mla_up_k_bytes();
    }
    if (aux > 0 && kSparseBlock > 0) {
      unsigned char *base = (unsigned char *)workspace + (p.nsplit > 1 ? align16(split_bytes(p.batch, p.seq_q, p.nsplit)) : 0);
      const SparseLayout l = sparse_layout<T>(p.batch, p.seq_q, p.seq_kv);
      p.blist = (int *)(base + l.lists);
      if (kSparseTop) {
        p.top_mean_q = (double *)(base + l.mean_q);
        p.top_mean_k = (double *)(base + l.mean_k);
        p.top_est = (double *)(base + l.est);
        p.top_cand = base + l.cand;
        p.top_keep = base + l.keep;
        // The plan is the block mask the lists read.
        const int64_t nqb = (p.seq_q + kSB - 1) / kSB, nkb = (p.seq_kv + kSB - 1) / kSB;
        p.block_mask = p.top_keep;
        p.bm_s[3] = 1;
        p.bm_s[2] = nkb;
        p.bm_s[1] = nqb * nkb;
        p.bm_s[0] = kHeads * nqb * nkb;
      }
    }
  }
  const dim3 grid((unsigned)((p.seq_q * (int64_t)kGroup + T::kBM - 1) / T::kBM), (unsigned)(kGridKv * p.nsplit),
                  (unsigned)p.batch);
  if (kLinformer && p.seq_kv > 0) {
    // E.K and F.V first: 8 projected rows per block, every (kv head, batch).
    // (They read the call's k and v, which the attention's Params replaced.)
    Params pin = p;
    pin.k = p0.k, pin.v = p0.v;
    pin.k_sb = p0.k_sb, pin.k_sh = p0.k_sh, pin.k_ss = p0.k_ss;
    pin.v_sb = p0.v_sb, pin.v_sh = p0.v_sh, pin.v_ss = p0.v_ss;
    const unsigned rows = (unsigned)((kRank + 7) / 8);
    e = launch(&linformer_proj_kernel<0>, dim3(rows, (unsigned)kKvHeads, grid.z), dim3(128), 0, stream, pin);
    if (!e) e = launch(&linformer_proj_kernel<1>, dim3(rows, (unsigned)kKvHeads, grid.z), dim3(128), 0, stream, pin);
  }
  // MLA: the call's q and out, which the attention's Params replaced by the latent ones.
  Params pmla = p;
  pmla.q = p0.q, pmla.q_sb = p0.q_sb, pmla.q_sh = p0.q_sh, pmla.q_ss = p0.q_ss;
  pmla.out = p0.out, pmla.o_sb = p0.o_sb, pmla.o_sh = p0.o_sh, pmla.o_ss = p0.o_ss;
  const dim3 mla_grid((unsigned)((p.seq_q + 7) / 8), (unsigned)kHeads, grid.z);
  if (!e && kMla && !kAdditive) e = launch(&mla_q_kernel, mla_grid, dim3(128), 0, stream, pmla);
  if (!e && kMlaMat) e = launch(&mla_up_kernel, dim3((unsigned)kKvHeads, 2u), dim3(128), 0, stream, p);
  if (!e && kMla && kAdditive) e = launch(&mla_wk_kernel, dim3((unsigned)kKvHeads), dim3(128), 0, stream, pmla);
  if (!e && kSparseTop && p.seq_kv > 0) {
    // The plan: block means of q and k, then per (q block, head, batch) the
    // estimates, candidates, ranks and kept blocks.
    const unsigned nqb = (unsigned)((p.seq_q + kSB - 1) / kSB), nkb = (unsigned)((p.seq_kv + kSB - 1) / kSB);
    // (The call's q: with MLA the attention's q is the latent one.)
    e = launch(&top_mean_kernel<0>, dim3(nqb, (unsigned)kHeads, grid.z), dim3(128), 0, stream, pmla);
    if (!e) e = launch(&top_mean_kernel<1>, dim3(nkb, (unsigned)kKvHeads, grid.z), dim3(128), 0, stream, pmla);
    if (!e) e = launch(&top_select_kernel, dim3(nqb, (unsigned)kHeads, grid.z), dim3(128), 0, stream, pmla);
  }
  if (!e && kSparseBlock > 0)
    e = launch(&block_list_kernel<T>, dim3(grid.x, (unsigned)kGridKv, grid.z), dim3(128), 0, stream, p);
  if (!e)
    e = launch(&attention_kernel<T::kWM, T::kWN, T::kWD, T::kMT, T::kBNW, T::kStages>, grid, dim3(T::kThreads), (size_t)T::kSmem, stream, p);
  if (!e && kPruned > 0)
    e = launch(&prune_fill_kernel, dim3((unsigned)(p.batch * kPruned * p.seq_q)), dim3(128), 0, stream, p);
  if (!e && p.nsplit > 1)
    e = launch(&combine_kernel, dim3((unsigned)(p.batch * kHeads * p.seq_q)), dim3(128), 0, stream, p);
  if (!e && kMla) e = launch(&mla_out_kernel, mla_grid, dim3(128), 0, stream, pmla);
  if (scratch) {
    int f = scratch_free(scratch, stream);
    if (!e) e = f;
  }
  if (e) return fail(ATTNC_E_DEVICE, "CUDA: %s", error_string(e));
  return ATTNC_OK;
}

