/* The tile products of the x86 kernel's `amx` prefill (docs/x86.md, "AMX"),
 * Halide extern stages called once per (q tile, kv tile). Compiled into every
 * library whose prefill uses them (and into the JIT's shared object), with
 * -mamx-tile -mamx-bf16; the library calls that prefill only where the CPU has
 * AMX and the OS granted it (its twin without AMX otherwise).
 *
 *   attnc_amx_qk:  out(r, j) = sum_d k(d, j) q(d % 2, r, d / 2)    (S^T = K Q^T)
 *   attnc_amx_pv:  out(r, x) = sum_j vt(j, x) p(j % 2, r, j / 2)   (O^T = V^T P^T)
 *   attnc_amx_tile: both products of a full tile of plain softmax scores with
 *                   the softmax between them in registers (its comment below)
 *
 * K and V^T are read where the pipeline packed them once per call (each kv
 * head's tiles contiguous), at the kv tile the walk's step names: no copy
 * per tile.
 *
 * Both are C^T = A B^T with A row-major bf16 (K rows; V transposed) and B in
 * the pair-interleaved layout tdpbf16ps wants (q and P as the pipeline stores
 * them for vdpbf16ps), f32 results rows-fastest, the pipeline's tile layout.
 * Blocks of 2 x 2 result tiles (32 x 32) over 32-wide steps of the sum; every
 * extent is a multiple of 32 (the schedule's legality rule). The outer
 * dimensions (kv step, q tile, kv head, batch) are one element each. */
#include <immintrin.h>
#include <stdint.h>
#include <string.h>

#ifndef ATTNC_HALIDE_BUFFER_DECLARED
#define ATTNC_HALIDE_BUFFER_DECLARED
struct halide_type_t { uint8_t code, bits; uint16_t lanes; };
typedef struct { int32_t min, extent, stride; uint32_t flags; } halide_dimension_t;
typedef struct halide_buffer_t {
  uint64_t device;
  const void *device_interface;
  uint8_t *host;
  uint64_t flags;
  struct halide_type_t type;
  int32_t dimensions;
  halide_dimension_t *dim;
  void *padding;
} halide_buffer_t;
#endif

/* Palette 1, the 8 tiles 16 rows x 64 bytes (16 f32, or 32 bf16, or 16 bf16
 * pairs). Loaded per call: the thread may have run other AMX code between. */
static void attnc_amx_config(void) {
  struct {
    uint8_t palette, start_row, reserved[14];
    uint16_t colsb[16];
    uint8_t rows[16];
  } cfg;
  memset(&cfg, 0, sizeof cfg);
  cfg.palette = 1;
  for (int i = 0; i < 8; ++i) {
    cfg.colsb[i] = 64;
    cfg.rows[i] = 16;
  }
  _tile_loadconfig(&cfg);
}

static int attnc_amx_is_query(const halide_buffer_t *b) { return b->host == 0 && b->device == 0; }

/* Element offset of coordinates c[] in b (coordinates absolute, as Halide's). */
static int64_t attnc_amx_offset(const halide_buffer_t *b, const int32_t *c) {
  int64_t o = 0;
  for (int i = 0; i < b->dimensions; ++i) o += (int64_t)(c[i] - b->dim[i].min) * b->dim[i].stride;
  return o;
}

/* C^T (rows n of A, 32 per block) x (rows m of B's pairs, 32 per block):
 * c[n][m] = sum_k a[n][k] b[k / 2][m][k % 2], k < K. Strides in bytes. */
static void attnc_amx_gemm(const uint8_t *a, long as, const uint8_t *b, long bs, uint8_t *c, long cs, int N, int M,
                           int K) {
  for (int n0 = 0; n0 < N; n0 += 32)
    for (int m0 = 0; m0 < M; m0 += 32) {
      _tile_zero(0);
      _tile_zero(1);
      _tile_zero(2);
      _tile_zero(3);
      for (int k0 = 0; k0 < K; k0 += 32) {
        const uint8_t *a0 = a + (long)n0 * as + (long)k0 * 2, *b0 = b + (long)(k0 / 2) * bs + (long)m0 * 4;
        _tile_loadd(4, a0, as);
        _tile_loadd(5, a0 + 16 * as, as);
        _tile_loadd(6, b0, bs);
        _tile_loadd(7, b0 + 64, bs);
        _tile_dpbf16ps(0, 4, 6);
        _tile_dpbf16ps(1, 4, 7);
        _tile_dpbf16ps(2, 5, 6);
        _tile_dpbf16ps(3, 5, 7);
      }
      uint8_t *c0 = c + (long)n0 * cs + (long)m0 * 4;
      _tile_stored(0, c0, cs);
      _tile_stored(1, c0 + 64, cs);
      _tile_stored(2, c0 + 16 * cs, cs);
      _tile_stored(3, c0 + 16 * cs + 64, cs);
    }
}

/* The kv tile a step of the walk visits: tile(kt, qt, hk, b), one element. */
static int32_t attnc_amx_tile_index(const halide_buffer_t *tile) { return *(const int32_t *)tile->host; }

static void attnc_amx_set(halide_dimension_t *d, int32_t min, int32_t extent) {
  d->min = min;
  d->extent = extent;
}

/* q(pair, r, d / 2, qt, hk, b), kp(d, kv, hk, b) (the keys of the call,
 * rounded up to whole tiles: kv_padded rows), kv tile `tile`
 * -> out(r, j, kt, qt, hk, b). */
int attnc_amx_qk(halide_buffer_t *q, halide_buffer_t *kp, halide_buffer_t *tile, int32_t D, int32_t kv_padded,
                 halide_buffer_t *out) {
  if (attnc_amx_is_query(q) || attnc_amx_is_query(kp) || attnc_amx_is_query(tile)) {
    if (attnc_amx_is_query(q)) {
      attnc_amx_set(&q->dim[0], 0, 2);
      q->dim[1] = out->dim[0];
      attnc_amx_set(&q->dim[2], 0, D / 2);
      for (int i = 3; i < 6; ++i) attnc_amx_set(&q->dim[i], out->dim[i].min, out->dim[i].extent);
    }
    if (attnc_amx_is_query(kp)) {
      attnc_amx_set(&kp->dim[0], 0, D);
      attnc_amx_set(&kp->dim[1], 0, kv_padded);
      for (int i = 2; i < 4; ++i) attnc_amx_set(&kp->dim[i], out->dim[i + 2].min, out->dim[i + 2].extent);
    }
    if (attnc_amx_is_query(tile))
      for (int i = 0; i < 4; ++i) attnc_amx_set(&tile->dim[i], out->dim[i + 2].min, out->dim[i + 2].extent);
    return 0;
  }
  if (attnc_amx_is_query(out)) return 0;
  const int R = out->dim[0].extent, J = out->dim[1].extent;
  if (R % 32 || J % 32 || D % 32 || out->dim[0].stride != 1 || q->dim[0].stride != 1 || q->dim[1].stride != 2 ||
      kp->dim[0].stride != 1)
    return -1;
  const int64_t kv0 = (int64_t)attnc_amx_tile_index(tile) * J + out->dim[1].min;
  if (kv0 < 0 || kv0 + J > kv_padded) return -1;
  int32_t cq[6] = {0, out->dim[0].min, 0, out->dim[3].min, out->dim[4].min, out->dim[5].min};
  int32_t ck[4] = {0, (int32_t)kv0, out->dim[4].min, out->dim[5].min};
  attnc_amx_config();
  attnc_amx_gemm(kp->host + 2 * attnc_amx_offset(kp, ck), 2L * kp->dim[1].stride, q->host + 2 * attnc_amx_offset(q, cq),
                 2L * q->dim[2].stride, out->host, 4L * out->dim[1].stride, J, R, D);
  return 0;
}

/* vt(j, x, t, hk, b): V transposed once per call, tile by tile (kv j of
 * tile t; `tiles` of them), p(pair, r, j / 2, kt, qt, hk, b), kv tile `tile`
 * -> out(r, x, kt, qt, hk, b). */
int attnc_amx_pv(halide_buffer_t *vt, halide_buffer_t *p, halide_buffer_t *tile, int32_t TK, int32_t tiles,
                 halide_buffer_t *out) {
  if (attnc_amx_is_query(vt) || attnc_amx_is_query(p) || attnc_amx_is_query(tile)) {
    if (attnc_amx_is_query(vt)) {
      attnc_amx_set(&vt->dim[0], 0, TK);
      attnc_amx_set(&vt->dim[1], out->dim[1].min, out->dim[1].extent);
      attnc_amx_set(&vt->dim[2], 0, tiles);
      for (int i = 3; i < 5; ++i) attnc_amx_set(&vt->dim[i], out->dim[i + 1].min, out->dim[i + 1].extent);
    }
    if (attnc_amx_is_query(p)) {
      attnc_amx_set(&p->dim[0], 0, 2);
      attnc_amx_set(&p->dim[1], out->dim[0].min, out->dim[0].extent);
      attnc_amx_set(&p->dim[2], 0, TK / 2);
      for (int i = 3; i < 7; ++i) attnc_amx_set(&p->dim[i], out->dim[i - 1].min, out->dim[i - 1].extent);
    }
    if (attnc_amx_is_query(tile))
      for (int i = 0; i < 4; ++i) attnc_amx_set(&tile->dim[i], out->dim[i + 2].min, out->dim[i + 2].extent);
    return 0;
  }
  if (attnc_amx_is_query(out)) return 0;
  const int R = out->dim[0].extent, X = out->dim[1].extent;
  if (R % 32 || X % 32 || TK % 32 || out->dim[0].stride != 1 || vt->dim[0].stride != 1 || p->dim[0].stride != 1 ||
      p->dim[1].stride != 2)
    return -1;
  const int32_t t = attnc_amx_tile_index(tile);
  if (t < 0 || t >= tiles) return -1;
  int32_t cv[5] = {0, out->dim[1].min, t, out->dim[4].min, out->dim[5].min};
  int32_t cp[7] = {0, out->dim[0].min, 0, out->dim[2].min, out->dim[3].min, out->dim[4].min, out->dim[5].min};
  attnc_amx_config();
  attnc_amx_gemm(vt->host + 2 * attnc_amx_offset(vt, cv), 2L * vt->dim[1].stride,
                 p->host + 2 * attnc_amx_offset(p, cp), 2L * p->dim[2].stride, out->host, 4L * out->dim[1].stride, X, R,
                 TK);
  return 0;
}

/* e^x for x <= 0 or NaN (scores minus their row max): the pipeline's vexp
 * (lowering/x86/ToHalide.cpp) reduction and polynomial (Cody-Waite with two
 * constants, degree-7 Taylor on |r| <= ln2/2), 2^k applied by vscalefps;
 * clamped below at -88 (e^-88 = 6e-39: below it the weight is a denormal
 * or 0, never a NaN from -inf). A NaN passes through (max keeps its second
 * operand's NaN; every later step propagates it). */
static inline __m512 attnc_amx_exp(__m512 x0) {
  __m512 x = _mm512_max_ps(_mm512_set1_ps(-88.0f), x0);
  __m512 k = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                  _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(k, _mm512_set1_ps(0.693145751953125f), x);
  r = _mm512_fnmadd_ps(k, _mm512_set1_ps(1.428606765330187e-06f), r);
  __m512 p = _mm512_set1_ps(1.0f / 5040);
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 720));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 120));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 24));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 6));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0.5f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
  return _mm512_scalef_ps(p, k);
}

/* A whole full tile of plain softmax scores (no mask, no score_mod):
 * S^T = K Q^T on the tiles, then per row in registers m = max(scale S),
 * P = e^(scale S - m) (m = -inf: 0 subtracted), l = sum P (f32), P rounded to
 * bf16 pairs, then O^T = V^T P^T on the tiles.
 * q(pair, r, d / 2, qt, hk, b), kp(d, kv, hk, b), vt(j, x, t, hk, b), tile
 * -> out(r, x, kt, qt, hk, b): x < Dv the tile's unnormalized output, x = Dv
 * its row max, x = Dv + 1 its row sum. Rows x kv tile at most 32768. */
int attnc_amx_tile(halide_buffer_t *q, halide_buffer_t *kp, halide_buffer_t *vt, halide_buffer_t *tile, int32_t D,
                   int32_t Dv, int32_t kv_padded, int32_t TK, int32_t tiles, float scale, halide_buffer_t *out) {
  if (attnc_amx_is_query(q) || attnc_amx_is_query(kp) || attnc_amx_is_query(vt) || attnc_amx_is_query(tile)) {
    if (attnc_amx_is_query(q)) {
      attnc_amx_set(&q->dim[0], 0, 2);
      attnc_amx_set(&q->dim[1], out->dim[0].min, out->dim[0].extent);
      attnc_amx_set(&q->dim[2], 0, D / 2);
      for (int i = 3; i < 6; ++i) attnc_amx_set(&q->dim[i], out->dim[i].min, out->dim[i].extent);
    }
    if (attnc_amx_is_query(kp)) {
      attnc_amx_set(&kp->dim[0], 0, D);
      attnc_amx_set(&kp->dim[1], 0, kv_padded);
      for (int i = 2; i < 4; ++i) attnc_amx_set(&kp->dim[i], out->dim[i + 2].min, out->dim[i + 2].extent);
    }
    if (attnc_amx_is_query(vt)) {
      attnc_amx_set(&vt->dim[0], 0, TK);
      attnc_amx_set(&vt->dim[1], 0, Dv);
      attnc_amx_set(&vt->dim[2], 0, tiles);
      for (int i = 3; i < 5; ++i) attnc_amx_set(&vt->dim[i], out->dim[i + 1].min, out->dim[i + 1].extent);
    }
    if (attnc_amx_is_query(tile))
      for (int i = 0; i < 4; ++i) attnc_amx_set(&tile->dim[i], out->dim[i + 2].min, out->dim[i + 2].extent);
    return 0;
  }
  if (attnc_amx_is_query(out)) return 0;
  const int R = out->dim[0].extent;
  if (R % 32 || TK % 32 || D % 32 || Dv % 32 || (long)R * TK > 32768 || out->dim[0].stride != 1 ||
      out->dim[1].min > 0 || out->dim[1].min + out->dim[1].extent < Dv + 2 || q->dim[0].stride != 1 ||
      q->dim[1].stride != 2 || kp->dim[0].stride != 1 || vt->dim[0].stride != 1)
    return -1;
  const int32_t t = attnc_amx_tile_index(tile);
  if (t < 0 || t >= tiles || (int64_t)(t + 1) * TK > kv_padded) return -1;
  __attribute__((aligned(64))) float s[32768];
  __attribute__((aligned(64))) uint32_t pb[16384];  /* (bf16 pair, row, kv / 2) */
  int32_t cq[6] = {0, out->dim[0].min, 0, out->dim[3].min, out->dim[4].min, out->dim[5].min};
  int32_t ck[4] = {0, t * TK, out->dim[4].min, out->dim[5].min};
  int32_t cv[5] = {0, 0, t, out->dim[4].min, out->dim[5].min};
  attnc_amx_config();
  attnc_amx_gemm(kp->host + 2 * attnc_amx_offset(kp, ck), 2L * kp->dim[1].stride, q->host + 2 * attnc_amx_offset(q, cq),
                 2L * q->dim[2].stride, (uint8_t *)s, 4L * R, TK, R, D);
  const long os = out->dim[1].stride;
  float *o = (float *)out->host - (long)out->dim[1].min * os;  /* column x at o + x * os */
  const __m512 vs = _mm512_set1_ps(scale), ninf = _mm512_set1_ps(-__builtin_inff());
  const __m512i interleave = _mm512_set_epi16(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8, 23, 7, 22, 6,
                                              21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
  for (int r0 = 0; r0 < R; r0 += 16) {
    /* (Four chains: a max waits for the one before it.) */
    __m512 m0 = ninf, m1 = ninf, m2 = ninf, m3 = ninf;
    for (int j = 0; j < TK; j += 4) {
      m0 = _mm512_max_ps(m0, _mm512_mul_ps(_mm512_load_ps(s + (long)j * R + r0), vs));
      m1 = _mm512_max_ps(m1, _mm512_mul_ps(_mm512_load_ps(s + (long)(j + 1) * R + r0), vs));
      m2 = _mm512_max_ps(m2, _mm512_mul_ps(_mm512_load_ps(s + (long)(j + 2) * R + r0), vs));
      m3 = _mm512_max_ps(m3, _mm512_mul_ps(_mm512_load_ps(s + (long)(j + 3) * R + r0), vs));
    }
    __m512 m = _mm512_max_ps(_mm512_max_ps(m0, m1), _mm512_max_ps(m2, m3));
    __m512 msub = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(m, ninf, _CMP_EQ_OQ), m, _mm512_setzero_ps());
    __m512 l = _mm512_setzero_ps(), l1 = _mm512_setzero_ps();
    for (int j = 0; j < TK; j += 2) {
      __m512 p0 = attnc_amx_exp(_mm512_fmsub_ps(_mm512_load_ps(s + (long)j * R + r0), vs, msub));
      __m512 p1 = attnc_amx_exp(_mm512_fmsub_ps(_mm512_load_ps(s + (long)(j + 1) * R + r0), vs, msub));
      l = _mm512_add_ps(l, p0);
      l1 = _mm512_add_ps(l1, p1);
      /* [p0 in bf16 | p1 in bf16], then interleaved: (p0[i], p1[i]) per 32-bit lane. */
      __m512i both = (__m512i)_mm512_cvtne2ps_pbh(p1, p0);
      _mm512_store_si512((void *)(pb + (long)(j / 2) * R + r0), _mm512_permutexvar_epi16(interleave, both));
    }
    _mm512_storeu_ps(o + (long)Dv * os + r0, m);
    _mm512_storeu_ps(o + (long)(Dv + 1) * os + r0, _mm512_add_ps(l, l1));
  }
  attnc_amx_gemm(vt->host + 2 * attnc_amx_offset(vt, cv), 2L * vt->dim[1].stride, (const uint8_t *)pb, 4L * R,
                 (uint8_t *)o, 4L * os, Dv, R, TK);
  return 0;
}
