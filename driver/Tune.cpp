#include "driver/Tune.h"
#include "driver/TuneCommon.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <limits>
#include <memory>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "driver/Errors.h"
#include "driver/Roofs.h"
#include "driver/TuningDb.h"
#include "lowering/reference/KernelArgs.h"
#include "lowering/reference/Reference.h"
#include "lowering/x86/Policy.h"
#include "lowering/x86/X86Build.h"
#include "lowering/x86/ToHalide.h"

namespace attnc::driver {

namespace {

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

struct Candidate {
  x86::Schedule s;
  bool decode = false;    // which variant's algorithm (and default) the schedule belongs to
  std::string label;      // where it came from: default, neighbour, random, an autoscheduler
  std::string autoName;   // Halide autoscheduler (its schedule is Halide's, not a knob text)
  double model = 0;       // the cost model's seconds
  double best = std::numeric_limits<double>::infinity();
  bool built = false, verified = false, injected = false;
  std::string rejected;   // why it may not win
  std::unique_ptr<x86::HalideKernel> k;
  std::string text() const { return autoName.empty() ? s.str() : "(" + autoName + ")"; }
  std::string variant() const { return decode ? "decode" : "prefill"; }
};

/// Halide's autoschedulers and its compiler write their chatter (passes,
/// cache statistics, storage-folding warnings) to stdout and stderr: while
/// one of them runs, both go to a temporary file, kept only for
/// ATTNC_TUNE_VERBOSE=1.
class QuietOutput {
public:
  QuietOutput() {
    if (const char *v = std::getenv("ATTNC_TUNE_VERBOSE"); v && *v == '1') return;
    std::fflush(stdout);
    std::fflush(stderr);
    std::cout.flush();
    std::cerr.flush();
    std::FILE *f = std::tmpfile();
    if (!f) return;
    saved_[0] = ::dup(1), saved_[1] = ::dup(2);
    if (saved_[0] < 0 || saved_[1] < 0) {
      std::fclose(f);
      return;
    }
    ::dup2(::fileno(f), 1);
    ::dup2(::fileno(f), 2);
    std::fclose(f);  // (the duplicates keep it open until restored)
    active_ = true;
  }
  ~QuietOutput() {
    if (!active_) return;
    std::fflush(stdout);
    std::fflush(stderr);
    std::cout.flush();
    std::cerr.flush();
    ::dup2(saved_[0], 1);
    ::dup2(saved_[1], 2);
    ::close(saved_[0]);
    ::close(saved_[1]);
  }
  QuietOutput(const QuietOutput &) = delete;
  QuietOutput &operator=(const QuietOutput &) = delete;

private:
  int saved_[2] = {-1, -1};
  bool active_ = false;
};

/// Progress on a terminal: one line rewritten; elsewhere plain lines.
x86::Isa isaOf(const std::string &target) {
  if (target == "x86-avx2") return x86::Isa::Avx2;
  if (target == "x86-avx512") return x86::Isa::Avx512;
  return x86::hostIsa();
}

/// The random part of the space: the knobs of schedules/x86 varied around
/// the default, legalized (the legalizer keeps only what this kernel and ISA run).
x86::Schedule randomSchedule(const x86::Schedule &base, const KernelDesc &d, x86::Isa isa, bool decode,
                             std::mt19937 &rng) {
  auto pick = [&](std::initializer_list<int> v) { return *(v.begin() + std::uniform_int_distribution<size_t>(0, v.size() - 1)(rng)); };
  auto coin = [&](double p) { return std::bernoulli_distribution(p)(rng); };
  x86::Schedule s = base;
  if (coin(0.7)) s.qPerTile = decode ? pick({1, 2}) : pick({2, 4, 8, 16, 32});
  if (coin(0.7)) s.tileKv = pick({32, 64, 128, 256, 512});
  if (coin(0.5)) {
    const int blocks[][2] = {{16, 4}, {16, 8}, {32, 4}, {32, 8}, {48, 4}, {64, 2}, {16, 16}};
    const auto &b = blocks[std::uniform_int_distribution<int>(0, 6)(rng)];
    s.rowBlock = b[0], s.colBlock = b[1];
  }
  if (coin(0.5)) {
    const int blocks[][2] = {{4, 32}, {8, 32}, {8, 16}, {16, 16}, {4, 64}, {2, 64}};
    const auto &b = blocks[std::uniform_int_distribution<int>(0, 5)(rng)];
    s.pvRows = b[0], s.dvBlock = b[1];
  }
  if (coin(0.3)) s.maxSplits = pick({1, 4, 16, 64});
  if (coin(0.25)) s.dotQK = !s.dotQK;
  if (coin(0.25)) s.headsInner = !s.headsInner;
  if (coin(0.25)) s.pvStream = !s.pvStream;
  if (coin(0.25)) s.pvLanes = !s.pvLanes;
  if (coin(0.2)) s.allHeads = !s.allHeads;
  if (coin(0.2)) s.prefetch = !s.prefetch;
  if (d.dtype == dsl::DType::BF16 && coin(0.25)) s.bf16Dot = !s.bf16Dot && x86::hostHasBf16Dot();
  if (d.dtype == dsl::DType::BF16 && !decode && coin(0.2)) s.amx = !s.amx && x86::hostHasAmx();
  if (d.lowRank == KernelDesc::LowRank::Kv && coin(0.3)) s.mlaMaterialized = !s.mlaMaterialized;
  x86::legalize(s, d, isa);
  return s;
}

/// Kept pairs per head for the GFLOP/s figures (batch 0, head 0; every pair without a mask).
double keptPairs(const KernelPlan &plan, int64_t Sq, int64_t Skv, uint32_t seed) {
  const KernelDesc &d = plan.desc;
  if (!d.hasMask && d.sparseBlock == 0) return double(Sq) * double(Skv);
  if (double(Sq) * double(Skv) > 4e8) return double(Sq) * double(Skv);
  KernelArgs a = makeArgs(d, 1, Sq, Skv, seed);
  fillBlockMask(a, 0.25, seed);
  auto ref = ReferenceKernel::create(plan);
  int64_t h = 0;
  while (h < d.heads && d.isPruned(h)) ++h;
  const int64_t n = ref && h < d.heads ? ref->countKept(a.inputs(), 0, h, Sq, Skv) : -1;
  return n < 0 ? double(Sq) * double(Skv) : double(n);
}

/// The plot's bars for the x86 candidates.
std::vector<PlotBar> barsOf(const std::vector<const Candidate *> &cs, double gflopsPerSecond, const std::string &winner) {
  std::vector<PlotBar> bars;
  for (const Candidate *c : cs) {
    PlotBar b;
    b.text = c->text();
    b.gflops = c->verified ? gflopsPerSecond / c->best : 0;
    b.cls = !c->rejected.empty() ? "rejected" : c->text() == winner ? "winner" : c->label == "default" ? "default" : "candidate";
    b.note = c->verified ? fmt::format("{:.1f} GFLOP/s", b.gflops) : (c->rejected.empty() ? "not timed" : "rejected");
    bars.push_back(b);
  }
  return bars;
}

}  // namespace

int storeTuned(const std::string &dbPath, const TuningEntry &e, const char *how) {
  std::string werr, warn;
  if (!TuningDb::upsert(dbPath, e, werr, warn))
    return report(ErrorId::tune_failed, werr + " (the result above was not stored)");
  if (!warn.empty()) std::fprintf(stderr, "attnc: warning: %s\n", warn.c_str());
  std::printf("stored in %s%s: `%s` %s %s \"%s\"\n", dbPath.c_str(), how, e.kernel.c_str(), e.bucket.str().c_str(),
              e.variant.c_str(), e.schedule.c_str());
  return 0;
}

std::string svgBars(const std::vector<PlotBar> &bars, const std::string &title) {
  const double rowH = 16, left = 330, width = 360, top = 40;
  double maxG = 1e-30;
  for (const PlotBar &b : bars) maxG = std::max(maxG, b.gflops);
  std::string s = fmt::format(
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{:.0f}\" "
      "height=\"{:.0f}\" font-family=\"monospace\" font-size=\"11\">\n<text x=\"10\" y=\"20\">{}</text>\n",
      left + width + 120, top + rowH * double(bars.size()) + 20, title);
  double y = top;
  for (const PlotBar &b : bars) {
    const char *fill = b.cls == "winner" ? "#2171b5" : b.cls == "default" ? "#fd8d3c" : b.cls == "rejected" ? "#de2d26" : "#9ecae1";
    s += fmt::format("<text x=\"10\" y=\"{:.0f}\">{}</text>\n", y + 11, b.text.substr(0, 48));
    s += fmt::format("<rect class=\"{}\" x=\"{:.0f}\" y=\"{:.0f}\" width=\"{:.1f}\" height=\"{:.0f}\" fill=\"{}\"/>\n", b.cls,
                     left, y + 2, std::max(1.0, width * b.gflops / maxG), rowH - 4, fill);
    s += fmt::format("<text x=\"{:.0f}\" y=\"{:.0f}\">{}</text>\n", left + width + 6, y + 11, b.note);
    y += rowH;
  }
  return s + "</svg>\n";
}

bool readShapes(const std::string &path, std::vector<TuneShape> &out, std::string &error) {
  std::ifstream f(path);
  if (!f) return error = "cannot read the shape list `" + path + "`", false;
  std::string line;
  int n = 0;
  while (std::getline(f, line)) {
    ++n;
    if (auto h = line.find('#'); h != std::string::npos) line.resize(h);
    std::istringstream in(line);
    TuneShape s;
    if (!(in >> s.batch)) continue;
    std::string rest;
    if (!(in >> s.seqQ >> s.seqKv) || (in >> rest) || s.batch < 1 || s.seqQ < 1 || s.seqKv < 1)
      return error = fmt::format("{}:{}: expected `BATCH SEQ_Q SEQ_KV` (positive integers)", path, n), false;
    out.push_back(s);
  }
  if (out.empty()) return error = "the shape list `" + path + "` has no shape", false;
  return true;
}

double x86ModelSeconds(const KernelDesc &d, const x86::Schedule &s, x86::Isa isa, int64_t batch, int64_t seqQ,
                       int64_t seqKv, int threads, double peakGflops, double readGbs) {
  const int rows = x86::tileRows(s, d), lanes = x86::lanes(isa);
  const double D = double(d.headDim), Dv = double(d.valueDim), eb = double(dsl::dtypeBytes(d.dtype));
  const int64_t group = s.allHeads ? d.heads : d.tileGroup();
  const int64_t qTiles = (seqQ * group + rows - 1) / rows, kvTiles = (seqKv + s.tileKv - 1) / s.tileKv;
  const int64_t headTasks = s.allHeads || s.headsInner ? 1 : d.kvHeads;
  // Work as the tiles do it: padded rows and columns.
  const double pairs = double(batch) * double(s.allHeads ? 1 : d.kvHeads) * double(qTiles) * rows * double(kvTiles) *
                       double(s.tileKv);
  const double flops = 2 * (D + Dv) * pairs;
  // Register blocks: accumulators beyond the 32 vector registers spill.
  double eff = 1.0;
  const int qkAcc = s.dotQK ? s.colBlock : (s.rowBlock + lanes - 1) / lanes * s.colBlock;
  const int pvAcc = s.pvRows * ((s.dvBlock + lanes - 1) / lanes);
  if (qkAcc > 28) eff *= 0.5;
  if (pvAcc > 28) eff *= 0.5;
  if (qkAcc < 8) eff *= 0.7;  // too few independent FMA chains to hide the latency
  // The tile's working set against a 1 MiB L2.
  const double ws = double(rows) * s.tileKv * 4 * 2 + s.tileKv * (D + Dv) * eb + rows * Dv * 4;
  if (ws > (1 << 20)) eff *= 0.6;
  // Threads: tasks in waves.
  const int splits = x86::chooseSplits(d, s, batch, seqQ, seqKv, threads);
  const double tasks = double(batch) * double(headTasks) * double((seqQ + s.qPerTile - 1) / s.qPerTile) * splits;
  const double waves = std::ceil(tasks / threads), util = tasks / (waves * threads);
  const double compute = flops / (peakGflops * 1e9 * eff * std::max(util, 1e-3));
  // K and V stream once per query tile of a kv head (unless a tile fits in cache).
  const double kvBytes = double(batch) * double(d.kvHeads) * double(seqKv) * (D + Dv) * eb *
                         double(std::max<int64_t>(1, (seqQ + s.qPerTile - 1) / s.qPerTile));
  const double memory = kvBytes / (readGbs * 1e9);
  return std::max(compute, memory);
}

int runTune(const KernelPlan &plan, const std::string &specHash, const TuneOptions &o) {
  if (o.target == "cuda") return tuneCuda(plan, specHash, o);
  const KernelDesc &d = plan.desc;
  const x86::Isa isa = isaOf(o.target);
  const std::string target = fmt::format("x86-{}", isa == x86::Isa::Avx512 ? "avx512" : "avx2");
  if (std::string why = x86::unsupported(plan); !why.empty()) return report(ErrorId::unsupported_spec, why);
  const int threads = o.threads > 0 ? o.threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  const std::string dbPath = TuningDb::resolvePath(o.db);
  Progress progress;
  std::fprintf(stderr, "attnc tune: `%s` for %s, %d threads, budget %.0f s per shape, database %s\n", d.name.c_str(),
               target.c_str(), threads, o.budget, dbPath.c_str());
  const Roofs roofs = measureRoofs(threads);
  const bool bf16Roof = d.dtype == dsl::DType::BF16 && roofs.bf16Gflops > 0;
  const double peak = bf16Roof ? roofs.bf16Gflops : roofs.fmaPeak(isa == x86::Isa::Avx512 ? 512 : 256);
  int status = 0;
  for (const TuneShape &shape : o.shapes) {
    const auto t0 = Clock::now();
    const bool decode = x86::useDecode(d, isa, "", shape.seqQ);
    const ShapeBucket bucket = ShapeBucket::of(shape.batch, shape.seqQ, shape.seqKv);
    std::fprintf(stderr, "shape batch %lld, seq_q %lld, seq_kv %lld (bucket %s, %s variant)\n",
                 (long long)shape.batch, (long long)shape.seqQ, (long long)shape.seqKv, bucket.str().c_str(),
                 decode ? "decode" : "prefill");
    // ---- The space: the default, its neighbours, random points; pruned by the model.
    std::vector<Candidate> cands;
    std::set<std::string> seen;
    auto add = [&](const x86::Schedule &s, const std::string &label, bool dec) {
      if (!seen.insert(std::string(dec ? "decode " : "prefill ") + s.str()).second) return;
      Candidate c;
      c.s = s, c.label = label, c.decode = dec;
      c.model = x86ModelSeconds(d, s, isa, shape.batch, shape.seqQ, shape.seqKv, threads, peak, roofs.readGbs);
      cands.push_back(std::move(c));
    };
    const x86::Schedule def = x86::defaultSchedule(d, isa, decode);
    add(def, "default", decode);
    // A few queries may run either variant (the policy's split, Policy.h):
    // the other one's schedules compete too.
    const bool both = shape.seqQ <= ATTNC_X86_DECODE_MAX_SEQ_Q;
    for (bool v : {decode, !decode}) {
      if (v != decode && !both) continue;
      if (v != decode) add(x86::defaultSchedule(d, isa, v), "other variant", v);
      for (const x86::Schedule &s : x86::candidateSchedules(d, isa, v)) add(s, "neighbour", v);
    }
    std::mt19937 rng(o.seed);
    for (int i = 0; i < 400 && cands.size() < 160; ++i) {
      const bool v = both && i % 2 ? !decode : decode;
      add(randomSchedule(x86::defaultSchedule(d, isa, v), d, isa, v, rng), "random", v);
    }
    const size_t space = cands.size();
    std::stable_sort(cands.begin() + 1, cands.end(), [](const Candidate &a, const Candidate &b) { return a.model < b.model; });
    // JIT compiles take about a second or two each: keep what the budget can build and time.
    const size_t keep = std::clamp<size_t>(size_t(o.budget / 2.5), 3, 48);
    if (cands.size() > keep) cands.resize(keep);
    if (o.injectWrong) {
      // (Tests) a schedule of its own whose output is corrupted after each
      // run: the check must reject it, and it must never be stored.
      x86::Schedule w = def;
      w.fastExp = !def.fastExp;
      w.prefetch = !def.prefetch;
      x86::legalize(w, d, isa);
      cands.erase(std::remove_if(cands.begin(), cands.end(), [&](const Candidate &c) { return c.s.str() == w.str(); }),
                  cands.end());
      Candidate c;
      c.s = w, c.label = "injected wrong", c.injected = true, c.model = cands[0].model, c.decode = decode;
      cands.insert(cands.begin() + 1, std::move(c));
    }
    if (o.autoschedulers && !decode) {  // (right after the default: they are always tried)
      size_t at = 1;
      for (const char *name : {"Adams2019", "Li2018", "Mullapudi2016"}) {
        Candidate c;
        c.s = def, c.label = "autoscheduler", c.autoName = name, c.model = 0, c.decode = false;
        cands.insert(cands.begin() + at++, std::move(c));
      }
    }
    // ---- Verification data (small, the same variant) and timing data.
    const int64_t vq = decode ? shape.seqQ : std::min<int64_t>(shape.seqQ, 80);
    const int64_t vk = std::min<int64_t>(shape.seqKv, 200);
    KernelArgs va = makeArgs(d, 1, vq, vk, o.seed);
    scaleProjections(va);
    fillBlockMask(va, 0.5, o.seed);
    HostTensor rOut, rLse, rMax;
    std::string err;
    {
      auto ref = ReferenceKernel::create(plan);
      if (!ref || !ref->run(va.inputs(), rOut, d.outputLse ? &rLse : nullptr, err, threads, &rMax))
        return report(ErrorId::tune_failed, "the reference run: " + err);
    }
    // (With projections, scaled as the check's data are: scores of order one,
    // where the kernels' outputs are compared with each other.)
    const bool projections = d.lowRank != KernelDesc::LowRank::None;
    KernelArgs ta = makeArgs(d, shape.batch, shape.seqQ, shape.seqKv, o.seed + 1, 1.0, projections);
    if (projections) scaleProjections(ta);
    fillBlockMask(ta, 0.25, o.seed + 1);
    const size_t outIdx = ta.sig.size() - (d.outputLse ? 2 : 1);
    const double usefulFlops = keptPairs(plan, shape.seqQ, shape.seqKv, o.seed) * double(shape.batch) *
                               double(d.heads - int64_t(d.prunedHeads.size())) * 2.0 * double(d.headDim + d.valueDim);
    // ---- Phase 1: build and verify, in the model's order, within 60% of the budget.
    // The defaults first: the autoschedulers' kernels are checked against the
    // prefill default's output (below).
    std::stable_partition(cands.begin(), cands.end(), [](const Candidate &c) { return c.label == "default"; });
    size_t built = 0, rejected = 0;
    // The budget is attnc's own search: Halide's autoschedulers (their
    // searches, builds, checks and timing) run beside it, outside it (at
    // large shapes they take minutes; --no-autoschedulers leaves them out).
    double autoSpent = 0;
    auto spent = [&] { return since(t0) - autoSpent; };
    HostTensor defOut, defLse;  // the prefill default's output on the timing shape
    bool haveDefault = false;
    for (Candidate &c : cands) {
      // (The default, the autoschedulers and an injected candidate are always built and checked.)
      if (spent() > 0.6 * o.budget && c.label != "default" && c.label != "autoscheduler" && !c.injected) continue;
      progress.line(fmt::format("  building {:>2}/{}: {}  ({:.0f} s left)", built + rejected + 1, cands.size(),
                                c.text(), std::max(0.0, o.budget - spent())));
      const auto autoStart = std::chrono::steady_clock::now();
      struct AutoClock {  // (an autoscheduler's time, whichever way its turn ends)
        double &total;
        std::chrono::steady_clock::time_point start;
        bool on;
        ~AutoClock() {
          if (on) total += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        }
      } autoClock{autoSpent, autoStart, !c.autoName.empty()};
      bool ok;
      if (!c.autoName.empty()) {
        // Their schedules may compute whole stages at root (Li2018 keeps
        // every score, weight and partial output of the call: 11.6 GB at
        // batch 1, 32 heads, 4096 x 4096): skipped where about five such
        // arrays would not fit in three quarters of the memory.
        const double need = 5.0 * 4.0 * double(shape.batch) * double(d.heads) * double(shape.seqQ) * double(shape.seqKv);
        const double mem = double(::sysconf(_SC_PHYS_PAGES)) * double(::sysconf(_SC_PAGE_SIZE));
        if (mem > 0 && need > 0.75 * mem) {
          c.rejected = fmt::format("skipped: its stages at root may need about {:.0f} GiB of the machine's {:.0f}",
                                   need / (1 << 30), mem / (1 << 30));
          ++rejected;
          continue;
        }
        QuietOutput quiet;
        c.k = x86::HalideKernel::createAutoscheduled(plan, c.autoName, isa, shape.batch, shape.seqQ, shape.seqKv,
                                                     threads, err);
        ok = c.k && c.k->jitCompile(err);
      } else {
        c.k = x86::HalideKernel::create(plan, c.s, isa, err);
        ok = c.k && c.k->jitCompile(err);
      }
      if (!ok) {
        c.rejected = "does not build: " + err.substr(0, 300);
        ++rejected;
        continue;
      }
      c.built = true;
      if (!c.autoName.empty()) {
        // An autoscheduled pipeline is scheduled for this shape (its tails
        // may shift inwards: smaller extents than its tiles do not run), so
        // it is checked on the timing shape, against the prefill default
        // there, which the reference checked. Each is within the numerics
        // contract of the f64 result, so they may differ by twice it.
        if (!haveDefault) {
          c.rejected = "not checked: the default schedule did not pass its check";
          ++rejected;
          continue;
        }
        if (!c.k->run(ta.tensors, threads, 0, err)) {
          c.rejected = "fails to run: " + err;
          ++rejected;
          continue;
        }
        Tolerance tol = toleranceFor(d.dtype);
        tol.atol *= 2, tol.rtol *= 2;
        std::string bad = compareTensors(ta.output(0), defOut, tol, "out");
        if (bad.empty() && d.outputLse) {
          Tolerance lt = toleranceFor(dsl::DType::F32);
          lt.atol *= 2, lt.rtol *= 2;
          bad = compareTensors(ta.output(1), defLse, lt, "lse");
        }
        if (!bad.empty()) {
          c.rejected = "wrong against the default schedule: " + bad.substr(0, 160);
          ++rejected;
          continue;
        }
        c.verified = true;
        ++built;
        continue;
      }
      if (!c.k->run(va.tensors, threads, 0, err)) {
        c.rejected = "fails to run: " + err;
        ++rejected;
        continue;
      }
      if (c.injected) {  // corrupt one element of out
        const size_t vo = va.sig.size() - (d.outputLse ? 2 : 1);
        storeAs(va.sig[vo].dtype, va.mem[vo].data(), 0, loadAs(va.sig[vo].dtype, va.mem[vo].data(), 0) + 1.0);
      }
      if (std::string bad = compareWithReference(d, va, rOut, rLse, rMax, vq); !bad.empty()) {
        c.rejected = "wrong against the reference: " + bad.substr(0, 160);
        ++rejected;
        continue;
      }
      c.verified = true;
      ++built;
      if (c.label == "default" && !c.decode && o.autoschedulers) {
        if (!c.k->run(ta.tensors, threads, 0, err)) {
          c.verified = false;
          c.rejected = "fails to run on the timing shape: " + err;
          --built, ++rejected;
          continue;
        }
        defOut = ta.output(0);
        if (d.outputLse) defLse = ta.output(1);
        haveDefault = true;
      }
    }
    progress.done();
    // ---- Phase 2: time the verified candidates interleaved, round after round, until the budget.
    std::vector<Candidate *> live;
    for (Candidate &c : cands)
      if (c.verified) live.push_back(&c);
    int rounds = 0;
    double bestSoFar = std::numeric_limits<double>::infinity();
    do {
      for (Candidate *c : live) {
        // (Autoschedulers: timed in the first three rounds, off the budget.)
        if (!c->autoName.empty() && rounds >= 3) continue;
        const auto tStart = std::chrono::steady_clock::now();
        const Timing t = timeRepeated([&] {
          if (!c->k->run(ta.tensors, threads, 0, err)) throw std::runtime_error(err);
        }, rounds == 0 ? 0.05 : 0.15, 20);
        if (!c->autoName.empty())
          autoSpent += std::chrono::duration<double>(std::chrono::steady_clock::now() - tStart).count();
        c->best = std::min(c->best, t.min);
        bestSoFar = std::min(bestSoFar, c->best);
        if (progress.tty || c == live.back())
          progress.line(fmt::format("  round {}: {} candidates, best {:.3f} ms ({:.0f} GFLOP/s), {:.0f} s left", rounds + 1,
                                  live.size(), bestSoFar * 1e3, usefulFlops / bestSoFar / 1e9,
                                  std::max(0.0, o.budget - spent())));
      }
      ++rounds;
    } while ((spent() < o.budget || rounds < 3) && rounds < 50 && !live.empty());
    progress.done();
    (void)outIdx;
    if (live.empty()) {
      status = report(ErrorId::tune_failed, "no candidate passed the check against the reference");
      continue;
    }
    std::vector<const Candidate *> order;
    for (const Candidate &c : cands) order.push_back(&c);
    std::stable_sort(order.begin(), order.end(), [](const Candidate *a, const Candidate *b) {
      return a->verified != b->verified ? a->verified : a->best < b->best;
    });
    // The winner among knob schedules (what the database and the emitter can
    // reproduce); autoschedulers are reported beside it.
    const Candidate *win = nullptr, *dflt = nullptr, *bestAuto = nullptr;
    for (const Candidate *c : order) {
      if (!c->verified) continue;
      if (c->autoName.empty() && !win) win = c;
      if (!c->autoName.empty() && !bestAuto) bestAuto = c;
      if (c->label == "default") dflt = c;
    }
    const double tuneS = since(t0), autoS = autoSpent;
    std::printf("\n`%s`, batch %lld, seq_q %lld, seq_kv %lld (%s): %zu schedules in the space, %zu built and "
                "checked, %zu rejected, %d timing rounds, %.1f s%s\n",
                d.name.c_str(), (long long)shape.batch, (long long)shape.seqQ, (long long)shape.seqKv,
                decode ? "decode" : "prefill", space, built, rejected, rounds, tuneS,
                autoS > 0 ? fmt::format(" ({:.1f} s of it Halide's autoschedulers, outside the budget)", autoS).c_str()
                          : "");
    std::printf("%-4s %-58s %12s %10s %8s  %s\n", "", "schedule", "time", "GFLOP/s", "of roof", "from");
    int shown = 0;
    for (const Candidate *c : order) {
      if (!c->verified || shown >= 6) continue;
      ++shown;
      const double g = usefulFlops / c->best / 1e9;
      std::printf("%-4s %-58s %9.3f ms %10.1f %8.2f  %s%s\n", c == win ? "best" : "", c->text().c_str(), c->best * 1e3, g,
                  g / peak, c->label.c_str(), both ? (" (" + c->variant() + ")").c_str() : "");
    }
    // (Past the best six: the default and every autoscheduler that ran.)
    for (const Candidate *c : order) {
      if (!c->verified || c->autoName.empty() ||
          std::find(order.begin(), order.begin() + std::min<size_t>(6, order.size()), c) !=
              order.begin() + std::min<size_t>(6, order.size()))
        continue;
      const double g = usefulFlops / c->best / 1e9;
      std::printf("%-4s %-58s %9.3f ms %10.1f %8.2f  %s\n", "", c->text().c_str(), c->best * 1e3, g, g / peak,
                  c->label.c_str());
    }
    if (dflt && std::find(order.begin(), order.begin() + std::min<size_t>(6, order.size()), dflt) ==
                    order.begin() + std::min<size_t>(6, order.size()))
      std::printf("%-4s %-58s %9.3f ms %10.1f %8.2f  %s\n", "", dflt->text().c_str(), dflt->best * 1e3,
                  usefulFlops / dflt->best / 1e9, usefulFlops / dflt->best / 1e9 / peak, "default");
    for (const Candidate &c : cands)
      if (!c.rejected.empty()) std::printf("rejected: %s (%s): %s\n", c.text().c_str(), c.label.c_str(), c.rejected.c_str());
    std::printf("roof: %.0f GFLOP/s (%s, measured); the default %s %.3f ms, the tuned schedule %.2fx it%s\n", peak,
                bf16Roof ? "bf16 dot peak" : "f32 FMA peak", dflt ? "runs" : "failed:", dflt ? dflt->best * 1e3 : 0.0,
                dflt ? dflt->best / win->best : 0.0,
                bestAuto ? fmt::format("; the best Halide autoscheduler ({}) {:.3f} ms", bestAuto->autoName,
                                       bestAuto->best * 1e3)
                               .c_str()
                         : "");
    if (!o.summary.empty()) {
      // One JSON line per shape (scripts/bench-tune.sh makes docs/performance.md's table of them).
      nlohmann::json j = {{"kernel", d.name},
                          {"batch", shape.batch},
                          {"seq_q", shape.seqQ},
                          {"seq_kv", shape.seqKv},
                          {"variant", win->variant()},
                          {"default_schedule", def.str()},
                          {"default_s", dflt ? dflt->best : -1.0},
                          {"tuned_schedule", win->s.str()},
                          {"tuned_s", win->best},
                          {"useful_flops", usefulFlops},
                          {"roof_gflops", peak},
                          {"space", space},
                          {"built", built},
                          {"rejected", rejected},
                          {"rounds", rounds},
                          {"tune_s", tuneS},
                          {"autoschedulers_s", autoS},
                          {"autoschedulers", nlohmann::json::object()},
                          {"cpu", currentMachine(target).machine}};
      for (const Candidate &c : cands)
        if (!c.autoName.empty())
          j["autoschedulers"][c.autoName] = c.verified ? nlohmann::json{{"seconds", c.best}}
                                                       : nlohmann::json{{"error", c.rejected}};
      std::ofstream f(o.summary, std::ios::app);
      f << j.dump() << "\n";
    }
    if (o.explain && dflt)
      std::printf("explain: the cost model estimated %.3f ms for the default and %.3f ms for the winner; measured %.3f "
                  "and %.3f ms\n",
                  dflt->model * 1e3, win->model * 1e3, dflt->best * 1e3, win->best * 1e3);
    if (!o.plot.empty()) {
      std::ofstream f(o.plot, std::ios::binary);
      f << svgBars(barsOf(order, usefulFlops, win->text()),
                   fmt::format("attnc tune `{}` b{} q{} kv{}: GFLOP/s of every candidate", d.name, shape.batch,
                               shape.seqQ, shape.seqKv));
      if (!f) status = report(ErrorId::cannot_write, o.plot);
    }
    if (o.store) {
      TuningEntry e;
      e.kernel = d.name, e.specHash = specHash, e.target = target, e.bucket = bucket;
      e.variant = win->variant();
      e.schedule = win->s.str();
      e.seconds = win->best, e.defaultSeconds = dflt ? dflt->best : 0;
      e.how = "measured", e.candidates = int(built + rejected), e.tuneSeconds = tuneS;
      e.key = currentMachine(target);
      if (int rc = storeTuned(dbPath, e, ""); rc) status = rc;
    }
  }
  return status;
}

}  // namespace attnc::driver
