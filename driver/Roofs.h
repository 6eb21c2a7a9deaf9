// Physical roofs of the machine a benchmark runs on (docs/performance.md,
// "Roofs"): the peak FMA throughput for a vector width (register-only FMA
// chains on every thread), the bf16 dot-product peak where the CPU has
// avx512_bf16, and the streaming-read bandwidth. Benchmarks report ratios to
// these; a library's GEMM is a baseline, never a roof.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

namespace attnc::driver {

/// Times of repeated runs of one thing, in seconds.
struct Timing {
  double min = 0, median = 0, max = 0;
  int runs = 0;
  /// (max - min) / min: how much the runs disagree.
  double spread() const { return min > 0 ? (max - min) / min : 0; }
};

/// Runs `fn` once to warm up, then repeats it until at least `minSeconds` and
/// 3 runs have passed (at most `maxRuns`).
Timing timeRepeated(const std::function<void()> &fn, double minSeconds = 0.5, int maxRuns = 200);

struct Roofs {
  double fma512Gflops = 0;  // f32 FMA peak with 512-bit vectors (0: no AVX-512)
  double fma256Gflops = 0;  // f32 FMA peak with 256-bit vectors (0: no AVX2/FMA)
  double bf16Gflops = 0;    // vdpbf16ps peak (0: no avx512_bf16)
  double readGbs = 0;       // streaming read bandwidth
  /// The f32 FMA peak for a vector width (512 or 256 bits).
  double fmaPeak(int vectorBits) const { return vectorBits >= 512 ? fma512Gflops : fma256Gflops; }
};

/// Measures every roof on `threads` threads (about 1 s).
Roofs measureRoofs(int threads);

/// Whether two measurements of the same roofs differ by more than `tolerance`
/// (relative) in any of them: the machine was busy, ratios are unreliable.
bool roofsDisagree(const Roofs &a, const Roofs &b, double tolerance = 0.10);

}  // namespace attnc::driver
