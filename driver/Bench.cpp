#include "driver/Bench.h"

#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <limits>
#include <thread>
#include <vector>

#include <dlfcn.h>
#include <fmt/format.h>
#include <immintrin.h>
#include <nlohmann/json.hpp>

#include "driver/Errors.h"
#include "driver/Roofs.h"
#include "driver/Tune.h"
#include "driver/TuningDb.h"
#include "lowering/kernel/ParallelFor.h"
#include "lowering/reference/KernelArgs.h"
#include "lowering/reference/Reference.h"
#include "lowering/x86/Policy.h"
#include "lowering/x86/X86Build.h"

namespace attnc::driver {

namespace {

using Clock = std::chrono::steady_clock;

/// OpenBLAS, loaded when the baselines are asked for: attnc does not link it,
/// so a machine without it still compiles kernels (and benches them, without
/// the OpenBLAS baselines). The CBLAS enums are ints in its ABI.
struct Blas {
  enum { RowMajor = 101, NoTrans = 111, Trans = 112 };
  using SgemmFn = void (*)(int, int, int, int, int, int, float, const float *, int, const float *, int, float, float *,
                           int);
  SgemmFn sgemm = nullptr;
  void (*setThreads)(int) = nullptr;
  char *(*corename)() = nullptr;  // the kernel family OpenBLAS chose for this CPU

  static const Blas &get() {
    static const Blas blas = [] {
      Blas b;
      void *h = dlopen("libopenblas.so.0", RTLD_NOW | RTLD_LOCAL);
      if (!h) h = dlopen("libopenblas.so", RTLD_NOW | RTLD_LOCAL);
      if (h) {
        b.sgemm = reinterpret_cast<SgemmFn>(dlsym(h, "cblas_sgemm"));
        b.setThreads = reinterpret_cast<void (*)(int)>(dlsym(h, "openblas_set_num_threads"));
        b.corename = reinterpret_cast<char *(*)()>(dlsym(h, "openblas_get_corename"));
      }
      if (!b.sgemm || !b.setThreads) b = Blas{};
      return b;
    }();
    return blas;
  }
  bool ok() const { return sgemm != nullptr; }
};

double seconds(Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double>(b - a).count(); }

/// Best time of `fn` over at least 3 runs and about `budget` seconds, after one warm-up.
template <typename F>
double bestOf(F &&fn, double budget = 1.0, int maxReps = 50) {
  fn();
  double best = std::numeric_limits<double>::infinity(), total = 0;
  for (int i = 0; i < maxReps && (i < 3 || total < budget); ++i) {
    auto t0 = Clock::now();
    fn();
    double t = seconds(t0, Clock::now());
    best = std::min(best, t);
    total += t;
  }
  return best;
}

/// FP32 sgemm throughput (GFLOP/s) of OpenBLAS on 2048^3; 0 without OpenBLAS.
/// A baseline (what a library's GEMM reaches here), not a roof.
double sgemmBaseline(int threads) {
  const Blas &blas = Blas::get();
  if (!blas.ok()) return 0;
  const int n = 2048;
  std::vector<float> a(size_t(n) * n, 0.5f), b(size_t(n) * n, 0.25f), c(size_t(n) * n);
  blas.setThreads(threads);
  double t = bestOf([&] {
    blas.sgemm(Blas::RowMajor, Blas::NoTrans, Blas::NoTrans, n, n, n, 1.0f, a.data(), n, b.data(), n, 0.0f, c.data(), n);
  });
  return 2.0 * n * n * double(n) / t / 1e9;
}

/// Resident memory now (not the peak), from /proc/self/statm.
int64_t currentRssBytes() {
  long pages = 0, resident = 0;
  if (FILE *f = std::fopen("/proc/self/statm", "r")) {
    if (std::fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
    std::fclose(f);
  }
  return int64_t(resident) * 4096;
}

/// Peak resident memory since the last resetPeakRss() (VmHWM), else since start.
int64_t peakRssBytes() {
  int64_t kb = -1;
  if (FILE *f = std::fopen("/proc/self/status", "r")) {
    char line[256];
    while (std::fgets(line, sizeof line, f))
      if (std::strncmp(line, "VmHWM:", 6) == 0) kb = std::atoll(line + 6);
    std::fclose(f);
  }
  if (kb < 0) {
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    kb = u.ru_maxrss;
  }
  return kb * 1024;
}

/// Resets the peak RSS (Linux: writing 5 to /proc/self/clear_refs).
void resetPeakRss() {
  if (FILE *f = std::fopen("/proc/self/clear_refs", "w")) {
    std::fputs("5", f);
    std::fclose(f);
  }
}

/// The unfused attention in f32 with OpenBLAS: per (batch, head) S = Q K^T
/// (sgemm), mask and softmax row by row (threads), O = P V (sgemm). Returns
/// seconds, or a negative value when the N x M matrix would not fit.
double unfusedBaseline(const KernelDesc &d, const KernelArgs &args, const std::vector<char> &keep, int64_t B,
                       int64_t Sq, int64_t Skv, int threads) {
  if (double(Sq) * double(Skv) * 4 > double(int64_t(1) << 30)) return -1;
  const int64_t H = d.heads, Hk = d.kvHeads, D = d.headDim, Dv = d.valueDim, G = H / Hk;
  const bool bshd = d.layout == dsl::Layout::BSHD;
  const HostTensor &q = args.host[0], &k = args.host[1], &v = args.host[2];
  // Dense f32 copies per head (not timed: the baseline gets its preferred layout).
  std::vector<float> Q(B * H * Sq * D), K(B * Hk * Skv * D), V(B * Hk * Skv * Dv);
  auto at = [&](const HostTensor &t, int64_t b, int64_t h, int64_t s, int64_t x) {
    const auto &sh = t.shape;
    return bshd ? t.data[((b * sh[1] + s) * sh[2] + h) * sh[3] + x] : t.data[((b * sh[1] + h) * sh[2] + s) * sh[3] + x];
  };
  for (int64_t b = 0; b < B; ++b) {
    for (int64_t h = 0; h < H; ++h)
      for (int64_t s = 0; s < Sq; ++s)
        for (int64_t x = 0; x < D; ++x) Q[((b * H + h) * Sq + s) * D + x] = float(at(q, b, h, s, x));
    for (int64_t h = 0; h < Hk; ++h)
      for (int64_t s = 0; s < Skv; ++s) {
        for (int64_t x = 0; x < D; ++x) K[((b * Hk + h) * Skv + s) * D + x] = float(at(k, b, h, s, x));
        for (int64_t x = 0; x < Dv; ++x) V[((b * Hk + h) * Skv + s) * Dv + x] = float(at(v, b, h, s, x));
      }
  }
  std::vector<float> S(Sq * Skv), O(Sq * Dv);
  const Blas &blas = Blas::get();
  blas.setThreads(threads);
  return bestOf(
      [&] {
        for (int64_t b = 0; b < B; ++b)
          for (int64_t h = 0; h < H; ++h) {
            const float *qp = &Q[(b * H + h) * Sq * D], *kp = &K[(b * Hk + h / G) * Skv * D],
                        *vp = &V[(b * Hk + h / G) * Skv * Dv];
            blas.sgemm(Blas::RowMajor, Blas::NoTrans, Blas::Trans, int(Sq), int(Skv), int(D), float(d.scale), qp,
                        int(D), kp, int(D), 0.0f, S.data(), int(Skv));
            parallelFor(Sq >= 4 * threads ? threads : 1, Sq, [&](int64_t i) {
              float *row = &S[i * Skv];
              const char *kr = keep.empty() ? nullptr : &keep[i * Skv];
              float m = -INFINITY;
              for (int64_t j = 0; j < Skv; ++j) {
                if (kr && !kr[j]) row[j] = -INFINITY;
                m = std::max(m, row[j]);
              }
              float sum = 0;
              for (int64_t j = 0; j < Skv; ++j) sum += (row[j] = m == -INFINITY ? 0.0f : std::exp(row[j] - m));
              float inv = sum > 0 ? 1 / sum : 0;
              for (int64_t j = 0; j < Skv; ++j) row[j] *= inv;
            });
            blas.sgemm(Blas::RowMajor, Blas::NoTrans, Blas::NoTrans, int(Sq), int(Dv), int(Skv), 1.0f, S.data(),
                        int(Skv), vp, int(Dv), 0.0f, O.data(), int(Dv));
          }
      },
      1.0, 5);
}

}  // namespace

int runBench(const KernelPlan &plan, const BenchOptions &o) {
  const std::string &name = plan.desc.name;
  KernelDesc desc = plan.desc;
  const int threads = o.threads > 0 ? o.threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  KernelDesc chosen = plan.desc;  // the policy decides with the dtype the kernel will have
  if (auto t = dsl::dtypeFromName(o.dtype); t && dsl::isFloat(*t)) chosen.dtype = *t;
  bool decode = o.variant.empty() ? x86::useDecode(chosen, o.isa, o.schedule, o.seqQ) : o.variant == "decode";
  // The schedule: --schedule, else the tuning database's for this shape's
  // bucket (and its variant), else the heuristic (docs/tuning.md).
  std::string schedule = o.schedule, source = o.schedule.empty() ? "heuristic" : "--schedule";
  if (o.schedule.empty() && !o.specHash.empty() && o.dtype.empty() && o.layout.empty()) {
    std::string warning;
    const std::string path = TuningDb::resolvePath(o.db), target = o.isa == x86::Isa::Avx512 ? "x86-avx512" : "x86-avx2";
    const TuningDb db = TuningDb::load(path, o.dbNamed, warning);
    if (!warning.empty()) std::fprintf(stderr, "attnc: warning: %s\n", warning.c_str());
    if (const TuningEntry *e = db.find(o.specHash, target, ShapeBucket::of(o.batch, o.seqQ, o.seqKv),
                                       currentMachine(target));
        e && (o.variant.empty() || o.variant == e->variant)) {
      decode = e->variant == "decode";
      schedule = e->schedule;
      source = fmt::format("tuning database {}, {} {}", path, e->bucket.str(), e->when);
    }
  }
  std::string err;
  auto t0 = Clock::now();
  std::unique_ptr<KernelDesc> over;
  auto kernel = x86::buildKernel(plan, o.isa, {decode, schedule}, err);
  if (kernel && (!o.dtype.empty() || !o.layout.empty())) {
    // Rebuild with the overridden storage type / layout.
    KernelPlan p2 = plan;
    KernelDesc &d2 = p2.desc;
    if (!o.dtype.empty()) {
      auto t = dsl::dtypeFromName(o.dtype);
      if (!t || !dsl::isFloat(*t)) {
        return report(ErrorId::bench_dtype, o.dtype);
      }
      d2.dtype = *t;
    }
    if (!o.layout.empty()) {
      if (o.layout != "bhsd" && o.layout != "bshd") {
        return report(ErrorId::bench_layout, o.layout);
      }
      d2.layout = o.layout == "bshd" ? dsl::Layout::BSHD : dsl::Layout::BHSD;
    }
    kernel = x86::HalideKernel::create(p2, kernel->schedule(), o.isa, err);
  }
  if (kernel && !o.dumpStmt.empty() && !kernel->compileToStmt(o.dumpStmt, err))
    return report(ErrorId::cannot_write, o.dumpStmt);
  if (!kernel || !kernel->jitCompile(err)) {
    return report(ErrorId::internal, err);
  }
  double compileS = seconds(t0, Clock::now());
  desc = kernel->desc();
  const int64_t B = o.batch, Sq = o.seqQ, Skv = o.seqKv;

  // The kernel's own arguments first, without f64 copies. The peak RSS is
  // reset once they are in memory, so the peak while the kernel runs, minus
  // the RSS before it, is the kernel's scratch (and its thread stacks).
  KernelArgs kargs = makeArgs(desc, B, Sq, Skv, 1234, 1.0, /*keepHost=*/false);
  fillBlockMask(kargs, o.density, 99);
  int64_t argBytes = 0;
  for (auto &m : kargs.mem) argBytes += int64_t(m.size());
  // The roofs before and after the kernel: a run whose two measures disagree
  // by more than 10% ran on a busy machine (flagged `noisy`).
  Roofs before, after;
  if (o.roofs) before = measureRoofs(threads);
  const int64_t rssBefore = currentRssBytes();
  resetPeakRss();
  const Timing kt = timeRepeated([&] {
    if (!kernel->run(kargs.tensors, threads, 0, err)) throw std::runtime_error(err);
  }, 1.0, 50);
  double kernelS = kt.min;
  const int64_t rss = peakRssBytes();  // before the roofs' own 512 MiB buffer
  if (o.roofs) after = measureRoofs(threads);

  // A compressed spec against its dense counterpart (the same spec without
  // its compress block, its own default schedule), interleaved: dense,
  // compressed, dense; the best of each.
  double denseS = -1;
  std::string denseSchedule;
  // (low_rank kv has no k and v: no dense counterpart to run on the same arguments.)
  if (desc.hasCompress() && desc.lowRank != KernelDesc::LowRank::Kv) {
    KernelPlan dp = plan;
    dp.desc = desc;
    dp.desc.prunedHeads.clear();
    dp.desc.headTable.clear();
    dp.desc.headRows = 0;
    dp.desc.sparseBlock = 0;
    dp.desc.sparseTop = false;
    dp.desc.sparseTopT = 0;
    if (dp.desc.lowRank == KernelDesc::LowRank::Seq) {  // (low_rank kv has no k and v to compare with)
      dp.desc.lowRank = KernelDesc::LowRank::None;
      dp.desc.rank = 0;
    }
    auto dense = x86::buildKernel(dp, o.isa, {decode, ""}, err);
    if (!dense || !dense->jitCompile(err)) return report(ErrorId::internal, "the dense counterpart: " + err);
    denseSchedule = dense->schedule().str();
    // The dense kernel's arguments: the same tensors, by name (it has no
    // block_mask).
    std::vector<attnc_tensor> denseArgs;
    for (const ArgDesc &a : dense->desc().signature()) {
      size_t i = 0;
      while (i < kargs.sig.size() && kargs.sig[i].name != a.name) ++i;
      if (i == kargs.sig.size()) return report(ErrorId::internal, "the dense counterpart takes `" + a.name + "`");
      denseArgs.push_back(kargs.tensors[i]);
    }
    auto runDense = [&] {
      if (!dense->run(denseArgs, threads, 0, err)) throw std::runtime_error(err);
    };
    denseS = timeRepeated(runDense, 1.0, 50).min;
    kernelS = std::min(kernelS, timeRepeated([&] {
                                  if (!kernel->run(kargs.tensors, threads, 0, err)) throw std::runtime_error(err);
                                }, 1.0, 50).min);
    denseS = std::min(denseS, timeRepeated(runDense, 1.0, 50).min);
  }
  // f64 copies (for counting kept pairs of input masks and the baseline) only
  // when they fit comfortably.
  const bool hostCopies = argBytes <= (int64_t(1) << 30);
  KernelArgs args = hostCopies ? makeArgs(desc, B, Sq, Skv, 1234) : KernelArgs{};
  fillBlockMask(args, o.density, 99);

  // Useful work: pairs the mask keeps (batch 0, head 0, scaled to all).
  const MaskInfo &mi = plan.mask;
  int64_t kept = -1;
  const bool blockSparse = desc.sparseBlock > 0;  // a block mask or the top-T plan
  if (!desc.hasMask && !blockSparse) kept = Sq * Skv;
  else if (mi.exact && !mi.readsInputs && !blockSparse) {
    kept = 0;
    for (int64_t qq = 0; qq < Sq; ++qq) {
      std::vector<std::pair<int64_t, int64_t>> iv;
      for (const KvInterval &p : mi.outer.parts) {
        int64_t lo = 0, hi = Skv - 1;
        for (const Affine &a : p.lo) lo = std::max(lo, a.eval(qq, Sq, Skv));
        for (const Affine &a : p.hi) hi = std::min(hi, a.eval(qq, Sq, Skv));
        if (lo <= hi) iv.push_back({lo, hi});
      }
      std::sort(iv.begin(), iv.end());
      int64_t end = -1;
      for (auto [lo, hi] : iv) {
        lo = std::max(lo, end + 1);
        if (hi >= lo) kept += hi - lo + 1, end = hi;
      }
    }
  }
  std::vector<char> keepMatrix;
  auto ref = ReferenceKernel::create(plan);
  if (ref && hostCopies && kept < 0 && blockSparse && double(Sq) * Skv <= 4e8) {
    // The kept blocks differ by head: the mean over batch 0's first heads
    // (as many as 4e8 pairs allow).
    const int64_t heads = std::clamp<int64_t>(int64_t(4e8 / (double(Sq) * Skv)), 1, desc.heads);
    int64_t sum = 0;
    for (int64_t h = 0; h < heads && sum >= 0; ++h) {
      const int64_t n = ref->countKept(args.inputs(), 0, h, Sq, Skv);
      sum = n < 0 ? -1 : sum + n;
    }
    kept = sum < 0 ? -1 : sum / heads;
  } else if (ref && hostCopies && desc.hasMask && kept < 0 && double(Sq) * Skv <= 4e8) {
    kept = ref->countKept(args.inputs(), 0, 0, Sq, Skv);
  }
  double pairs = kept < 0 ? double(Sq) * Skv : double(kept);
  // Linformer attends over its R projected keys (the projections, 2 x R x
  // seq_kv x (head_dim + value_dim) per kv head, are not counted as useful).
  if (desc.lowRank == KernelDesc::LowRank::Seq) pairs = pairs / double(Skv) * double(desc.rank);
  // Pruned heads do no work: useful FLOPs count the computed heads only.
  const double computedHeads = double(desc.heads - static_cast<int64_t>(desc.prunedHeads.size()));
  double usefulFlops = pairs * B * computedHeads * double(2 * desc.headDim + 2 * desc.valueDim);
  double gflops = usefulFlops / kernelS / 1e9;
  double bytes = 0;
  for (size_t i = 0; i < 3; ++i) bytes += double(kargs.mem[i].size());
  if (desc.lowRank == KernelDesc::LowRank::Kv) bytes += double(kargs.mem[3].size());  // (q, latent, k_up, v_up)
  bytes += double(kargs.mem[kargs.sig.size() - (desc.outputLse ? 2 : 1)].size());
  double gbs = bytes / kernelS / 1e9;

  // Ratios to the physical roofs (the better of the two measures); the
  // f32 FMA peak of the vector width the kernel was compiled for.
  const int vectorBits = o.isa == x86::Isa::Avx512 ? 512 : 256;
  const double fmaPeak = std::max(before.fmaPeak(vectorBits), after.fmaPeak(vectorBits));
  const double bf16Peak = std::max(before.bf16Gflops, after.bf16Gflops);
  const double read = std::max(before.readGbs, after.readGbs);
  const bool noisy = o.roofs && roofsDisagree(before, after);
  const double ratioFma = fmaPeak > 0 ? gflops / fmaPeak : 0, ratioRead = read > 0 ? gbs / read : 0;
  // A bf16dot kernel's compute roof is the bf16 dot-product peak (2x the f32 FMA one).
  const bool bf16Roof = kernel->schedule().bf16Dot && bf16Peak > 0;
  const double computePeak = bf16Roof ? bf16Peak : fmaPeak;
  const double ratioCompute = computePeak > 0 ? gflops / computePeak : 0;
  const bool measurementError = ratioCompute > 1.0 || ratioRead > 1.0;
  double sgemm = 0;
  std::string blasCore = "n/a";
  if (o.roofs && Blas::get().ok()) {
    sgemm = sgemmBaseline(threads);
    if (Blas::get().corename) blasCore = Blas::get().corename();
  }
  double base = -1;
  if (o.baseline && hostCopies && Blas::get().ok()) {
    // The baseline's mask: the reference's, for batch 0 / head 0.
    if (desc.hasMask && double(Sq) * Skv * 4 <= double(int64_t(1) << 30) && ref) {
      keepMatrix.assign(Sq * Skv, 1);
      // Rows from the closed form when exact, else pair by pair.
      for (int64_t qq = 0; qq < Sq; ++qq)
        for (int64_t j = 0; j < Skv; ++j) {
          bool k = false;
          for (const KvInterval &p : mi.outer.parts) {
            bool in = true;
            for (const Affine &a : p.lo) in = in && j >= a.eval(qq, Sq, Skv);
            for (const Affine &a : p.hi) in = in && j <= a.eval(qq, Sq, Skv);
            k = k || in;
          }
          keepMatrix[qq * Skv + j] = k;
        }
    }
    base = unfusedBaseline(desc, args, keepMatrix, B, Sq, Skv, threads);
  }

  if (o.json) {
    nlohmann::json j;
    j["kernel"] = name;
    j["isa"] = x86::isaName(o.isa);
    j["schedule"] = kernel->schedule().str();
    j["schedule_source"] = source;
    j["threads"] = threads;
    j["dtype"] = dsl::dtypeName(desc.dtype);
    j["layout"] = desc.layout == dsl::Layout::BSHD ? "bshd" : "bhsd";
    j["batch"] = B, j["seq_q"] = Sq, j["seq_kv"] = Skv, j["heads"] = desc.heads, j["kv_heads"] = desc.kvHeads;
    j["head_dim"] = desc.headDim, j["value_dim"] = desc.valueDim;
    j["compile_s"] = compileS;
    j["time_s"] = kernelS;
    j["kept_fraction"] = pairs / (double(Sq) * Skv);
    j["computed_heads"] = computedHeads;
    // The kv cache read per token: K and V rows, or the latent of low_rank kv.
    const double eb = double(dsl::dtypeBytes(desc.dtype));
    j["kv_bytes_per_token"] = desc.lowRank == KernelDesc::LowRank::Kv
                                  ? double(desc.rank + desc.ropeDim) * eb
                                  : double(desc.kvHeads) * double(desc.headDim + desc.valueDim) * eb;
    j["rank"] = desc.rank;
    j["rope"] = desc.ropeDim;
    j["low_rank"] = desc.lowRank == KernelDesc::LowRank::Kv ? "kv" : desc.lowRank == KernelDesc::LowRank::Seq ? "seq" : "";
    if (denseS > 0) {
      j["dense_s"] = denseS;
      j["dense_schedule"] = denseSchedule;
      j["speedup_vs_dense"] = denseS / kernelS;
    }
    j["gflops"] = gflops;
    j["gbs"] = gbs;
    j["time_median_s"] = kt.median;
    j["time_spread"] = kt.spread();
    j["runs"] = kt.runs;
    j["fma_peak_gflops"] = fmaPeak;
    j["bf16_peak_gflops"] = bf16Peak;
    j["read_roof_gbs"] = read;
    j["ratio_fma"] = ratioFma;
    j["ratio_read"] = ratioRead;
    j["roofs_noisy"] = noisy;
    j["compute_roof"] = bf16Roof ? "bf16 dot" : "f32 FMA";
    j["ratio_compute"] = ratioCompute;
    j["measurement_error"] = measurementError;
    // OpenBLAS sgemm: a baseline. (Key kept for scripts/performance_md.py, which still reads it.)
    j["sgemm_roof_gflops"] = sgemm;
    j["ratio_sgemm"] = sgemm > 0 ? gflops / sgemm : 0;
    j["openblas_core"] = blasCore;
    j["unfused_s"] = base;
    j["speedup_vs_unfused"] = base > 0 ? base / kernelS : 0;
    j["peak_rss_bytes"] = rss;
    j["rss_before_kernel_bytes"] = rssBefore;
    j["argument_bytes"] = argBytes;
    j["scratch_bytes"] = std::max<int64_t>(0, rss - rssBefore);
    std::cout << j.dump(2) << "\n";
    return 0;
  }
  std::cout << fmt::format("kernel   {}  x86 {}  [{}] ({})  {} threads\n", name, x86::isaName(o.isa),
                           kernel->schedule().str(), source, threads);
  std::cout << fmt::format("shape    batch {} heads {} (kv {}) head_dim {} value_dim {} seq_q {} seq_kv {}  {} {}\n", B,
                           desc.heads, desc.kvHeads, desc.headDim, desc.valueDim, Sq, Skv, dsl::dtypeName(desc.dtype),
                           desc.layout == dsl::Layout::BSHD ? "bshd" : "bhsd");
  std::cout << fmt::format("compile  {:.2f} s (Halide JIT)\n", compileS);
  std::cout << fmt::format("kernel   {:.3f} ms (median {:.3f}, spread {:.0f}% over {} runs)  {:.1f} GFLOP/s useful "
                           "({:.1f}% of pairs kept)  {:.1f} GB/s\n",
                           kernelS * 1e3, kt.median * 1e3, 100 * kt.spread(), kt.runs, gflops,
                           100 * pairs / (double(Sq) * Skv), gbs);
  if (o.explain && computePeak > 0 && read > 0)
    std::cout << fmt::format("explain  schedule from {}; the x86 cost model (driver/Tune.h) estimates {:.3f} ms, "
                             "measured {:.3f} ms\n",
                             source, 1e3 * x86ModelSeconds(desc, kernel->schedule(), o.isa, B, Sq, Skv, threads,
                                                           computePeak, read),
                             kernelS * 1e3);
  if (o.roofs) {
    std::cout << fmt::format("roofs    FMA f32 {:.1f} GFLOP/s ({}-bit){}  read {:.1f} GB/s{}\n", fmaPeak, vectorBits,
                             bf16Peak > 0 ? fmt::format("  bf16 dot {:.1f} GFLOP/s", bf16Peak) : std::string(),
                             read, noisy ? "  NOISY: the roofs moved >10% between before and after the kernel" : "");
    std::cout << fmt::format("ratios   {}  {:.2f} x read roof{}\n",
                             bf16Roof ? fmt::format("{:.2f} x bf16 dot peak ({:.2f} x f32 FMA peak)", ratioCompute,
                                                    ratioFma)
                                      : fmt::format("{:.2f} x FMA peak", ratioFma),
                             ratioRead, measurementError ? "  (above 1: a measurement error)" : "");
    if (sgemm > 0)
      std::cout << fmt::format("baseline OpenBLAS sgemm {:.1f} GFLOP/s (core {}): kernel at {:.2f}x of it\n", sgemm,
                               blasCore, gflops / sgemm);
    else
      std::cout << "baseline OpenBLAS sgemm n/a (OpenBLAS not found)\n";
  }
  if (denseS > 0)
    std::cout << fmt::format("dense    {:.3f} ms (the spec without its compress block, [{}], interleaved)  "
                             "compressed speed-up {:.2f}x\n",
                             denseS * 1e3, denseSchedule, denseS / kernelS);
  if (base > 0)
    std::cout << fmt::format("unfused  {:.3f} ms (OpenBLAS QK^T, softmax, PV in f32)  fused speed-up {:.2f}x\n",
                             base * 1e3, base / kernelS);
  else if (o.baseline && !Blas::get().ok())
    std::cout << "unfused  n/a (OpenBLAS not found: install libopenblas0)\n";
  else if (o.baseline)
    std::cout << "unfused  n/a (the score matrix or the f32 copies of the arguments would exceed 1 GiB)\n";
  std::cout << fmt::format("memory   peak RSS while the kernel ran {:.1f} MiB = {:.1f} MiB before it (arguments "
                           "{:.1f} MiB) + {:.1f} MiB scratch\n",
                           rss / 1048576.0, rssBefore / 1048576.0, argBytes / 1048576.0,
                           std::max<int64_t>(0, rss - rssBefore) / 1048576.0);
  return 0;
}

}  // namespace attnc::driver
