// The SIMT emulator (runtime/include/attnc_simt.h) against the PTX ISA: the
// fragment layouts below are transcribed from the ISA's tables
// ("Matrix fragments for mma.m16n8k16 with floating point type",
// "ldmatrix"), independently of the emulator's code, and the barrier and
// cp.async semantics are checked by programs whose result depends on them.
#include <catch2/catch.hpp>

#define ATTNC_SIMT_EMULATION 1
#include "attnc_device.cuh"

#include <random>
#include <vector>

namespace {

using namespace attnc_dev;

float h2f(uint16_t h) { return attnc_simt::f16_to_f32(h); }

TEST_CASE("simt: 16-bit float conversions round to nearest even", "[simt]") {
  for (float f : {0.f, 1.f, -2.5f, 65504.f, 1e-7f, 6.1e-5f, 3.14159f, -0.f}) {
    CHECK(h2f(from_f32<F16>(f)) == Approx(f).epsilon(1e-3).margin(1e-7));
    CHECK(to_f32<BF16>(from_f32<BF16>(f)) == Approx(f).epsilon(8e-3));
  }
  CHECK(from_f32<F16>(1.f + 1.f / 2048) == 0x3c00);          // a tie: to even
  CHECK(from_f32<F16>(1.f + 3.f / 2048) == 0x3c02);          // a tie: to even (up)
  CHECK(from_f32<F16>(70000.f) == 0x7c00);                   // overflow: inf
  CHECK(from_f32<BF16>(1.f + 1.f / 256) == 0x3f80);          // a tie: to even
  CHECK(std::isnan(h2f(from_f32<F16>(NAN))));
}

TEST_CASE("simt: mma.m16n8k16 with the ISA's fragment layouts computes A x B + C", "[simt]") {
  std::mt19937 rng(3);
  std::uniform_int_distribution<int> small(-8, 8);
  float A[16][16], B[16][8], C[16][8], D[16][8];
  for (auto &r : A)
    for (float &x : r) x = small(rng) / 4.f;
  for (auto &r : B)
    for (float &x : r) x = small(rng) / 4.f;
  for (auto &r : C)
    for (float &x : r) x = small(rng);
  for (bool bf16 : {false, true}) {
    attnc_simt::launch(attnc_simt::dim3(1), attnc_simt::dim3(32), 0, [&] {
      const int lane = static_cast<int>(tid()), g = lane / 4, t = lane % 4;
      auto pk = [&](float lo, float hi) { return bf16 ? pack2<BF16>(lo, hi) : pack2<F16>(lo, hi); };
      // ISA: a0:(g, 2t..2t+1) a1:(g+8, 2t..) a2:(g, 2t+8..) a3:(g+8, 2t+8..)
      uint32_t a[4] = {pk(A[g][2 * t], A[g][2 * t + 1]), pk(A[g + 8][2 * t], A[g + 8][2 * t + 1]),
                       pk(A[g][2 * t + 8], A[g][2 * t + 9]), pk(A[g + 8][2 * t + 8], A[g + 8][2 * t + 9])};
      // ISA: b0:(k 2t..2t+1, n g) b1:(k 2t+8.., n g)
      uint32_t b[2] = {pk(B[2 * t][g], B[2 * t + 1][g]), pk(B[2 * t + 8][g], B[2 * t + 9][g])};
      // ISA: c0,c1:(g, 2t..2t+1) c2,c3:(g+8, 2t..2t+1)
      float d[4] = {C[g][2 * t], C[g][2 * t + 1], C[g + 8][2 * t], C[g + 8][2 * t + 1]};
      if (bf16) mma16816<BF16>(d, a, b);
      else mma16816<F16>(d, a, b);
      D[g][2 * t] = d[0], D[g][2 * t + 1] = d[1], D[g + 8][2 * t] = d[2], D[g + 8][2 * t + 1] = d[3];
    });
    for (int i = 0; i < 16; ++i)
      for (int j = 0; j < 8; ++j) {
        float want = C[i][j];
        for (int k = 0; k < 16; ++k) want += A[i][k] * B[k][j];
        INFO("bf16 " << bf16 << " D[" << i << "][" << j << "]");
        CHECK(D[i][j] == want);  // small quarter-integers: exact in f16, bf16 and f32
      }
  }
}

TEST_CASE("simt: ldmatrix x4 and x4.trans give each lane the ISA's elements", "[simt]") {
  // Four 8x8 matrices of distinct values, rows 16 bytes apart in "shared memory".
  std::vector<uint16_t> M(4 * 64);
  for (size_t i = 0; i < M.size(); ++i) M[i] = static_cast<uint16_t>(i + 1);
  uint32_t got[32][4], gotT[32][4];
  attnc_simt::launch(attnc_simt::dim3(1), attnc_simt::dim3(32), 0, [&] {
    const int lane = static_cast<int>(tid());
    const uint16_t *row = &M[(lane / 8) * 64 + (lane % 8) * 8];  // lanes 8j..8j+7: rows of matrix j
    ldsm_x4(got[lane], row);
    ldsm_x4_t(gotT[lane], row);
  });
  for (int lane = 0; lane < 32; ++lane)
    for (int j = 0; j < 4; ++j) {
      const int r = lane / 4, c = 2 * (lane % 4);
      // ISA: thread lane holds row lane/4, columns 2(lane%4), +1; .trans: the transpose.
      uint32_t want = M[j * 64 + r * 8 + c] | (uint32_t(M[j * 64 + r * 8 + c + 1]) << 16);
      uint32_t wantT = M[j * 64 + c * 8 + r] | (uint32_t(M[j * 64 + (c + 1) * 8 + r]) << 16);
      INFO("lane " << lane << " matrix " << j);
      CHECK(got[lane][j] == want);
      CHECK(gotT[lane][j] == wantT);
    }
}

TEST_CASE("simt: __syncthreads orders shared memory, shuffles exchange lanes", "[simt]") {
  std::vector<int> out(128);
  std::vector<float> red(128);
  attnc_simt::launch(attnc_simt::dim3(3), attnc_simt::dim3(128), 128 * sizeof(int), [&] {
    int *s = reinterpret_cast<int *>(dyn_smem());
    const int t = static_cast<int>(tid());
    s[t] = t * 10 + static_cast<int>(block_idx().x);
    block_sync();
    out[t] = s[127 - t];  // written by another thread, before the barrier
    red[t] = quad_sum(static_cast<float>(t));
    CHECK(sync_count(t % 3 == 0) == 43);
    CHECK(sync_count(1) == 128);  // the count starts afresh
  });
  for (int t = 0; t < 128; ++t) {
    CHECK(out[t] == (127 - t) * 10 + 2);
    int q = t & ~3;
    CHECK(red[t] == static_cast<float>(4 * q + 6));
  }
}

TEST_CASE("simt: cp.async data lands at wait_group, not before", "[simt]") {
  int32_t src[4] = {1, 2, 3, 4};
  int seenBefore = -1, seenAfter = -1, zeroFilled = -1;
  attnc_simt::launch(attnc_simt::dim3(1), attnc_simt::dim3(32), 64, [&] {
    int32_t *s = reinterpret_cast<int32_t *>(dyn_smem());
    if (tid() == 0) {
      s[0] = 0;
      s[4] = 7;
      cp_async16(s, src, 16);
      cp_async16(s + 4, src, 0);  // zero-fill
      cp_async_commit();
      seenBefore = s[0];
      cp_async_wait<0>();
      seenAfter = s[0] + s[1] + s[2] + s[3];
      zeroFilled = s[4] + s[5] + s[6] + s[7];
    }
  });
  CHECK(seenBefore == 0);
  CHECK(seenAfter == 10);
  CHECK(zeroFilled == 0);
}

}  // namespace
