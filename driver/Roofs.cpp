#include "driver/Roofs.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <vector>

#include <immintrin.h>

#include "lowering/kernel/ParallelFor.h"

namespace attnc::driver {

namespace {

using Clock = std::chrono::steady_clock;

// Register-only FMA chains: kChains independent accumulators (more than the
// FMA latency x ports, 4 x 2 on current cores), kIters rounds. Nothing is
// loaded or stored inside the loop; the sum escapes through the result.
constexpr int kChains = 12;
constexpr int64_t kIters = int64_t(1) << 22;

float sumLanes(const float *v, int n) {
  float s = 0;
  for (int i = 0; i < n; ++i) s += v[i];
  return s;
}

__attribute__((target("avx512f"))) float fmaChains512(float seed) {
  __m512 acc[kChains];
  const __m512 a = _mm512_set1_ps(0.999999f), b = _mm512_set1_ps(seed * 1e-7f);
  for (int i = 0; i < kChains; ++i) acc[i] = _mm512_set1_ps(seed + i);
  for (int64_t it = 0; it < kIters; ++it)
    for (int i = 0; i < kChains; ++i) acc[i] = _mm512_fmadd_ps(acc[i], a, b);
  for (int i = 1; i < kChains; ++i) acc[0] = _mm512_add_ps(acc[0], acc[i]);
  float out[16];
  _mm512_storeu_ps(out, acc[0]);
  return sumLanes(out, 16);
}

__attribute__((target("avx2,fma"))) float fmaChains256(float seed) {
  __m256 acc[kChains];
  const __m256 a = _mm256_set1_ps(0.999999f), b = _mm256_set1_ps(seed * 1e-7f);
  for (int i = 0; i < kChains; ++i) acc[i] = _mm256_set1_ps(seed + i);
  for (int64_t it = 0; it < kIters; ++it)
    for (int i = 0; i < kChains; ++i) acc[i] = _mm256_fmadd_ps(acc[i], a, b);
  for (int i = 1; i < kChains; ++i) acc[0] = _mm256_add_ps(acc[0], acc[i]);
  float out[8];
  _mm256_storeu_ps(out, acc[0]);
  return sumLanes(out, 8);
}

__attribute__((target("avx512f,avx512bf16"))) float bf16Chains(float seed) {
  __m512 acc[kChains];
  const __m512bh a = _mm512_cvtne2ps_pbh(_mm512_set1_ps(0.5f), _mm512_set1_ps(0.25f));
  const __m512bh b = _mm512_cvtne2ps_pbh(_mm512_set1_ps(seed * 1e-7f), _mm512_set1_ps(1e-7f));
  for (int i = 0; i < kChains; ++i) acc[i] = _mm512_set1_ps(seed + i);
  for (int64_t it = 0; it < kIters; ++it)
    for (int i = 0; i < kChains; ++i) acc[i] = _mm512_dpbf16_ps(acc[i], a, b);
  for (int i = 1; i < kChains; ++i) acc[0] = _mm512_add_ps(acc[0], acc[i]);
  float out[16];
  _mm512_storeu_ps(out, acc[0]);
  return sumLanes(out, 16);
}

/// GFLOP/s of `chains` run on every thread at once, `flopsPerIter` per round of one thread.
double peak(int threads, float (*chains)(float), double flopsPerIter) {
  std::vector<float> sink(threads);
  Timing t = timeRepeated(
      [&] { parallelFor(threads, threads, [&](int64_t i) { sink[i] = chains(float(i + 1)); }); }, 0.2, 20);
  volatile float keep = sink[0];
  (void)keep;
  return flopsPerIter * double(kIters) * threads / t.min / 1e9;
}

__attribute__((target("avx2"))) float sumRange(const float *p, int64_t n) {
  __m256 acc[8];
  for (auto &x : acc) x = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 64 <= n; i += 64)
    for (int k = 0; k < 8; ++k) acc[k] = _mm256_add_ps(acc[k], _mm256_loadu_ps(p + i + 8 * k));
  for (int k = 1; k < 8; ++k) acc[0] = _mm256_add_ps(acc[0], acc[k]);
  float out[8];
  _mm256_storeu_ps(out, acc[0]);
  float s = sumLanes(out, 8);
  for (; i < n; ++i) s += p[i];
  return s;
}

/// Streaming read bandwidth (GB/s) over 512 MiB with every thread.
double readBandwidth(int threads) {
  const int64_t n = int64_t(128) << 20;  // floats
  std::vector<float> buf(n, 1.0f);
  std::vector<float> sink(threads);
  Timing t = timeRepeated(
      [&] {
        parallelFor(threads, threads, [&](int64_t i) {
          int64_t chunk = n / threads;
          sink[i] = sumRange(buf.data() + i * chunk, chunk);
        });
      },
      0.5, 20);
  volatile float keep = sink[0];
  (void)keep;
  return double(n) * 4 / t.min / 1e9;
}

}  // namespace

Timing timeRepeated(const std::function<void()> &fn, double minSeconds, int maxRuns) {
  fn();
  std::vector<double> runs;
  double total = 0;
  while (static_cast<int>(runs.size()) < maxRuns && (runs.size() < 3 || total < minSeconds)) {
    auto t0 = Clock::now();
    fn();
    double s = std::chrono::duration<double>(Clock::now() - t0).count();
    runs.push_back(s);
    total += s;
  }
  std::sort(runs.begin(), runs.end());
  Timing t;
  t.runs = static_cast<int>(runs.size());
  t.min = runs.front();
  t.max = runs.back();
  t.median = runs.size() % 2 ? runs[runs.size() / 2] : 0.5 * (runs[runs.size() / 2 - 1] + runs[runs.size() / 2]);
  return t;
}

Roofs measureRoofs(int threads) {
  Roofs r;
  __builtin_cpu_init();
  const bool fma = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  if (__builtin_cpu_supports("avx512f")) r.fma512Gflops = peak(threads, fmaChains512, 2.0 * 16 * kChains);
  if (fma) r.fma256Gflops = peak(threads, fmaChains256, 2.0 * 8 * kChains);
  // vdpbf16ps: 16 lanes x 2 bf16 products, accumulated: 64 flops.
  if (__builtin_cpu_supports("avx512bf16")) r.bf16Gflops = peak(threads, bf16Chains, 64.0 * kChains);
  if (fma) r.readGbs = readBandwidth(threads);
  return r;
}

bool roofsDisagree(const Roofs &a, const Roofs &b, double tolerance) {
  auto off = [&](double x, double y) { return x > 0 && y > 0 && std::fabs(x - y) > tolerance * std::max(x, y); };
  return off(a.fma512Gflops, b.fma512Gflops) || off(a.fma256Gflops, b.fma256Gflops) ||
         off(a.bf16Gflops, b.bf16Gflops) || off(a.readGbs, b.readGbs);
}

}  // namespace attnc::driver
