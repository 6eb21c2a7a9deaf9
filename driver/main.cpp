// attnc: the command line. Parses arguments, runs the front end and the
// lowering pipeline, and writes what the target asks for.
//
// Exit codes: 0 success, 1 errors in the spec, 2 usage errors, 3 internal errors.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <optional>

#include "driver/Bench.h"
#include "driver/Report.h"
#include "driver/Tune.h"
#include "driver/TuningDb.h"
#include "driver/Errors.h"
#include "driver/Targets.h"
#include "dsl/Sema.h"
#include "lowering/transforms/Pipeline.h"
#include "lowering/x86/ToHalide.h"
#include "schedules/x86/Schedule.h"

namespace {

// 2 and 3 are the exit statuses of driver/Errors.def (Usage, Internal).
constexpr int kExitOk = 0, kExitSpec = 1, kExitUsage = 2;

const char *kVersion = "attnc 0.1.0 (ABI 1; MLIR 19)";

std::string targetHelp() {
  std::string s = "output target:";
  for (const attnc::driver::Target &t : attnc::driver::targets()) s += "\n  " + t.name + ": " + t.help;
  return s;
}

bool useColor() { return isatty(fileno(stderr)) && !std::getenv("NO_COLOR"); }

using attnc::driver::ErrorId;
using attnc::driver::report;

/// Reads and checks a spec; prints its diagnostics. Null when it has errors.
std::unique_ptr<attnc::dsl::CheckedFile> frontEnd(const std::string &path, int &exitCode) {
  std::string err;
  auto file = attnc::dsl::checkFile(path, err);
  if (!file) {
    exitCode = report(ErrorId::cannot_read_spec, err);
    return nullptr;
  }
  file->diags->print(std::cerr, useColor());
  if (!file->ok()) {
    exitCode = kExitSpec;
    return nullptr;
  }
  return file;
}

std::unique_ptr<attnc::Compilation> lower(const attnc::dsl::CheckedFile &file, const attnc::PipelineOptions &opts,
                                          std::ostream *trace, int &exitCode) {
  std::string err;
  auto c = attnc::Compilation::fromChecked(file, err);
  if (!c || !c->run(opts, trace, err)) {
    exitCode = report(ErrorId::internal, err);
    return nullptr;
  }
  return c;
}

/// The plans of every kernel of a lowered file; null (an internal error, printed) when one cannot be exported.
std::optional<std::vector<attnc::KernelPlan>> plansOf(const attnc::Compilation &c, int &exitCode) {
  std::vector<attnc::KernelPlan> plans;
  for (const std::string &name : c.kernelNames()) {
    std::string err;
    plans.emplace_back();
    if (!c.plan(name, plans.back(), err)) {
      exitCode = report(ErrorId::internal, err);
      return std::nullopt;
    }
  }
  return plans;
}

/// The kernel named `name` (the first one when `name` is empty); null when none has that name.
const attnc::KernelPlan *pickPlan(const std::vector<attnc::KernelPlan> &plans, const std::string &name) {
  if (name.empty()) return &plans.front();
  for (const attnc::KernelPlan &p : plans)
    if (p.desc.name == name) return &p;
  return nullptr;
}

}  // namespace

int main(int argc, char **argv) {
  // `-target` (one dash, as in clang's `-target`) is accepted as `--target`.
  std::vector<std::string> args(argv, argv + argc);
  for (auto &a : args) {
    if (a == "-target") a = "--target";
    else if (a.rfind("-target=", 0) == 0) a = "-" + a;
  }
  std::vector<char *> cargs;
  for (auto &a : args) cargs.push_back(a.data());

  CLI::App app{"attnc: compiles .attn attention specs into fused kernels", "attnc"};
  app.set_version_flag("--version", kVersion);
  app.footer("Exit status: 0 success, 1 errors in the spec, 2 usage errors, 3 internal errors.\n"
             "Examples:\n  attnc examples/llama3_8b.attn -target x86 -o out\n"
             "  attnc bench examples/llama3_8b.attn --seq-q 2048 --seq-kv 2048\n"
             "  attnc examples/llama3_8b.attn -target cuda --arch sm_90a -o out\n"
             "  attnc examples/llama3_8b.attn -target mlir\n  attnc check examples/alibi.attn [-target cuda]\n"
             "  attnc tiles examples/llama3_8b.attn --seq-q 256 --seq-kv 256\n"
             "  attnc report examples/topk_sparse.attn --seq-q 8192 --seq-kv 8192 --accuracy\n"
             "  attnc tune examples/llama3_8b.attn --seq-q 2048 --seq-kv 2048 --budget 60");

  std::string spec, target, output;
  attnc::driver::TargetOptions to;
  attnc::PipelineOptions opts;
  app.add_option("spec", spec, "the .attn file");
  app.add_option("-t,--target", target, targetHelp());
  app.add_option("-o,--output", output,
                 "mlir: output file (`-` or none: standard output); x86, cuda: output directory");
  app.add_flag("--print-after-all", opts.printAfterAll, "print the IR after every pipeline step");
  app.add_flag("--print-locations", opts.printLocations, "print .attn source locations in the IR");

  app.add_option("--schedule", to.schedule,
                 "x86/cuda: schedule knobs over the default prefill schedule (docs/x86.md, docs/cuda.md)");
  app.add_option("--decode-schedule", to.decodeSchedule, "x86/cuda: schedule knobs over the default decode schedule");
  app.add_flag("--keep-temps", to.keepTemps, "x86: keep DIR/.attnc-temps/ (the C wrapper sources and objects)");
  app.add_option("--arch", to.arch, "cuda: sm_80 (default), sm_86, sm_89 or sm_90a: shared memory limits and tiles");
  app.add_option("--db", to.db, "x86/cuda: the tuning database (default: $ATTNC_TUNING_DB, else "
                                "$XDG_CACHE_HOME/attnc/tuning.json; docs/tuning.md)");
  app.add_flag("--explain", to.explain, "x86/cuda: print each kernel's schedules and where they came from");
  std::vector<std::string> expectKernels;
  app.add_option("--expect-kernels", expectKernels,
                 "x86, cuda: the attention names the build expects (attnc_add_kernel's KERNELS); an error names the "
                 "spec's own when one is missing")
      ->delimiter(',');

  auto *check = app.add_subcommand("check", "check a spec and report every error in it; with -target, also whether "
                                            "that target can compile it (exit 2 with the reason when not)");
  std::string checkSpec, checkTarget;
  check->add_option("spec", checkSpec, "the .attn file")->required();
  check->add_option("-t,--target", checkTarget, "a target to ask (see `attnc --help`)");

  auto *tiles = app.add_subcommand("tiles", "print the mask analysis's tile classification for a shape");
  std::string tilesSpec;
  int64_t seqQ = 0, seqKv = 0, tileQ = 64, tileKv = 64;
  tiles->add_option("spec", tilesSpec, "the .attn file")->required();
  tiles->add_option("--seq-q", seqQ, "query length")->required()->check(CLI::Range(int64_t(1), int64_t(1) << 24));
  tiles->add_option("--seq-kv", seqKv, "key/value length")->required()->check(CLI::Range(int64_t(1), int64_t(1) << 24));
  tiles->add_option("--tile-q", tileQ, "query tile size")->check(CLI::Range(int64_t(1), int64_t(1) << 20));
  tiles->add_option("--tile-kv", tileKv, "key/value tile size")->check(CLI::Range(int64_t(1), int64_t(1) << 20));

  auto *bench = app.add_subcommand("bench", "time an x86 kernel against the machine's roofs and unfused OpenBLAS");
  std::string benchSpec, benchTarget = "x86", benchKernel;
  attnc::driver::BenchOptions bo;
  bool noBaseline = false, noRoofs = false;
  bench->add_option("spec", benchSpec, "the .attn file")->required();
  bench->add_option("-t,--target", benchTarget, "x86, x86-avx2 or x86-avx512");
  bench->add_option("--kernel", benchKernel, "which attention of the file (default: the first)");
  bench->add_option("--batch", bo.batch, "batch size")->check(CLI::Range(int64_t(1), int64_t(1) << 20));
  bench->add_option("--seq-q", bo.seqQ, "query length")->check(CLI::Range(int64_t(1), int64_t(1) << 24));
  bench->add_option("--seq-kv", bo.seqKv, "key/value length")->check(CLI::Range(int64_t(1), int64_t(1) << 24));
  bench->add_option("--threads", bo.threads, "threads (default: every core)")->check(CLI::Range(1, 1024));
  bench->add_option("--schedule", bo.schedule, "schedule knobs over the default, e.g. \"q8 kv256\"");
  bench->add_option("--dtype", bo.dtype, "override the spec's dtype (f32, f16, bf16)");
  bench->add_option("--layout", bo.layout, "override the spec's layout (bhsd, bshd)");
  bench->add_option("--variant", bo.variant, "force the prefill or the decode variant (default: the policy's choice)")
      ->check(CLI::IsMember({"prefill", "decode"}));
  bench->add_option("--density", bo.density,
                    "sparse block input: the fraction of blocks the random block mask keeps (default 0.25)")
      ->check(CLI::Range(0.0, 1.0));
  bench->add_flag("--json", bo.json, "print one JSON object");
  bench->add_option("--dump-stmt", bo.dumpStmt, "write Halide's lowered loop nest of the kernel to this file");
  bench->add_flag("--no-baseline", noBaseline, "skip the unfused OpenBLAS attention");
  bench->add_flag("--no-roofs", noRoofs, "skip the sgemm and bandwidth roofs");
  bench->add_option("--db", bo.db, "the tuning database (default: $ATTNC_TUNING_DB, else $XDG_CACHE_HOME/attnc/tuning.json)");
  bench->add_flag("--explain", bo.explain, "the schedule, where it came from, and the cost model's estimate");

  auto *tune = app.add_subcommand("tune", "search a kernel's schedules for a shape, check each against the reference, "
                                            "time them and store the winner in the tuning database (docs/tuning.md)");
  std::string tuneSpec, tuneKernel, tuneShapes;
  attnc::driver::TuneOptions tuo;
  attnc::driver::TuneShape tshape;
  bool noAuto = false, noStore = false;
  tune->add_option("spec", tuneSpec, "the .attn file")->required();
  tune->add_option("-t,--target", tuo.target, "x86 (default), x86-avx2, x86-avx512 or cuda (timed on a GPU, ranked by "
                                              "the cost model without one)")
      ->check(CLI::IsMember({"x86", "x86-avx2", "x86-avx512", "cuda"}));
  tune->add_option("--kernel", tuneKernel, "which attention of the file (default: every one)");
  tune->add_option("--batch", tshape.batch, "batch size")->check(CLI::Range(int64_t(1), int64_t(1) << 20));
  tune->add_option("--seq-q", tshape.seqQ, "query length (default 2048)")->check(CLI::Range(int64_t(1), int64_t(1) << 24));
  tune->add_option("--seq-kv", tshape.seqKv, "key/value length (default 2048)")
      ->check(CLI::Range(int64_t(1), int64_t(1) << 24));
  tune->add_option("--shapes", tuneShapes, "a file of shapes, one `BATCH SEQ_Q SEQ_KV` per line");
  tune->add_option("--budget", tuo.budget, "seconds per shape (default 60)")->check(CLI::Range(1.0, 86400.0));
  tune->add_option("--db", tuo.db, "the tuning database (default: $ATTNC_TUNING_DB, else $XDG_CACHE_HOME/attnc/tuning.json)");
  tune->add_option("--plot", tuo.plot, "an SVG of every candidate's speed");
  tune->add_option("--summary", tuo.summary, "x86: append one JSON line per shape to this file (scripts/bench-tune.sh)");
  tune->add_option("--seed", tuo.seed, "the random part of the search (default 1)");
  tune->add_option("--threads", tuo.threads, "x86: threads (default: every core)")->check(CLI::Range(1, 1024));
  tune->add_option("--arch", tuo.arch, "cuda: sm_80, sm_86, sm_89 or sm_90a (default)");
  tune->add_option("--card", tuo.card, "cuda: the card of the cost model's roofline (default: the arch's)");
  tune->add_option("--measure", tuo.measure, "cuda: auto (time on the GPU when this machine has one of --arch, else "
                                           "rank by the cost model), gpu, model, or emulator (tests)")
      ->check(CLI::IsMember({"auto", "gpu", "model", "emulator"}));
  tune->add_option("--export-job", tuo.exportJob, "cuda: write the candidates, a timer and run.sh to DIR, to run on a "
                                                "GPU machine without attnc");
  tune->add_option("--import-job", tuo.importJob, "cuda: check an exported job's results against the reference and store "
                                                "the winner");
  tune->add_flag("--no-autoschedulers", noAuto, "x86: skip Halide's autoschedulers");
  tune->add_option("--ptxas", tuo.ptxas, "cuda: how many of the best schedules to compile with nvcc for their "
                                         "registers (default 4; 0: none)")
      ->check(CLI::Range(0, 64));
  tune->add_flag("--no-store", noStore, "print the result only");
  tune->add_flag("--explain", tuo.explain, "the cost model's estimates beside the measured times");
  tune->add_flag("--inject-wrong-candidate", tuo.injectWrong, "tests: add a candidate with a corrupted output")
      ->group("");

  auto *rep = app.add_subcommand("report", "how much faster, smaller and less accurate a compressed spec is than "
                                           "the same spec without its compress block (docs/compression.md)");
  std::string repSpec, repKernel;
  attnc::driver::ReportOptions ro;
  rep->add_option("spec", repSpec, "the .attn file")->required();
  rep->add_option("-t,--target", ro.target, "x86 (this machine's roofs) or cuda (a card's published peaks)")
      ->check(CLI::IsMember({"x86", "cuda"}));
  rep->add_option("--kernel", repKernel, "which attention of the file (default: the first)");
  rep->add_option("--batch", ro.batch, "batch size")->check(CLI::Range(int64_t(1), int64_t(1) << 20));
  rep->add_option("--seq-q", ro.seqQ, "query length (default 4096)")->check(CLI::Range(int64_t(1), int64_t(1) << 24));
  rep->add_option("--seq-kv", ro.seqKv, "key/value length (default 4096)")->check(CLI::Range(int64_t(1), int64_t(1) << 24));
  rep->add_option("--arch", ro.arch, "cuda: sm_80, sm_86, sm_89 or sm_90a (default): the schedule, and the default card");
  rep->add_option("--card", ro.card, "cuda: A100, H100, H200, L40S or A10 (default: the arch's)");
  rep->add_option("--peak-gflops", ro.peakGflops, "x86: the compute roof to use instead of measuring it")
      ->check(CLI::PositiveNumber);
  rep->add_option("--bandwidth", ro.bandwidthGbs, "x86: the read bandwidth (GB/s) to use instead of measuring it")
      ->check(CLI::PositiveNumber);
  rep->add_option("--threads", ro.threads, "x86: threads for the roofs and --measure (default: every core)")
      ->check(CLI::Range(1, 1024));
  rep->add_option("--density", ro.density, "sparse block input: the random block mask's kept fraction (default 0.25)")
      ->check(CLI::Range(0.0, 1.0));
  rep->add_option("--tile", ro.tile, "tile side of the tile map (default: the sparse block, else 64)")
      ->check(CLI::Range(int64_t(1), int64_t(1) << 20));
  rep->add_flag("--measure", ro.measure, "x86: also time both kernels here (interleaved, best of each)");
  rep->add_flag("--accuracy", ro.accuracy, "run both through the reference on synthetic data with the transform's "
                                           "structure; report the error of out");
  rep->add_option("--noise", ro.noise, "--accuracy: the noise level over the structure (default 0.05)")
      ->check(CLI::Range(0.0, 100.0));
  rep->add_option("--seed", ro.seed, "--accuracy: the data's seed (default 1)");
  rep->add_option("--accuracy-seq", ro.accuracySeq, "--accuracy: the longest seq_q and seq_kv of its runs (default 1024)")
      ->check(CLI::Range(int64_t(1), int64_t(1) << 16));
  rep->add_option("--plot", ro.plot, "write the tile maps (dense and compressed) to this SVG file");
  rep->add_flag("--json", ro.json, "print one JSON object (docs/compression.md, \"The report's JSON\")");

  try {
    app.parse(static_cast<int>(cargs.size()), cargs.data());
  } catch (const CLI::CallForHelp &e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion &e) {
    return app.exit(e);
  } catch (const CLI::ParseError &e) {
    app.exit(e);
    return kExitUsage;
  }

  int code = kExitOk;
  try {
    if (*check) {
      const attnc::driver::Target *t = nullptr;
      if (!checkTarget.empty() && !(t = attnc::driver::findTarget(checkTarget)))
        return report(ErrorId::unknown_target, checkTarget);
      auto file = frontEnd(checkSpec, code);
      if (!file) return code;
      auto c = lower(*file, opts, nullptr, code);
      if (!c) return code;
      if (t) {
        auto plans = plansOf(*c, code);
        if (!plans) return code;
        if (std::string why = attnc::driver::unsupportedBy(*t, *plans); !why.empty())
          return report(ErrorId::unsupported_spec, why);
      }
      return kExitOk;
    }
    if (*bench) {
      if (benchTarget == "x86") bo.isa = attnc::x86::hostIsa();
      else if (benchTarget == "x86-avx2") bo.isa = attnc::x86::Isa::Avx2;
      else if (benchTarget == "x86-avx512") bo.isa = attnc::x86::Isa::Avx512;
      else {
        return report(ErrorId::bench_target, benchTarget);
      }
      bo.baseline = !noBaseline;
      bo.roofs = !noRoofs;
      auto file = frontEnd(benchSpec, code);
      if (!file) return code;
      auto c = lower(*file, opts, nullptr, code);
      if (!c) return code;
      auto plans = plansOf(*c, code);
      if (!plans) return code;
      const attnc::KernelPlan *plan = pickPlan(*plans, benchKernel);
      if (!plan) return report(ErrorId::no_kernel, benchKernel);
      if (std::string why = attnc::x86::unsupported(*plan); !why.empty())
        return report(ErrorId::unsupported_spec, why);
      attnc::x86::Schedule probe;
      std::string serr;
      if (!bo.schedule.empty() && !attnc::x86::parseSchedule(bo.schedule, probe, serr))
        return report(ErrorId::bad_schedule, serr);
      bo.specHash = attnc::driver::specHash(c->printIR(false), plan->desc.name);
      bo.dbNamed = !bo.db.empty() || std::getenv("ATTNC_TUNING_DB");
      return attnc::driver::runBench(*plan, bo);
    }
    if (*tune) {
      tuo.autoschedulers = !noAuto;
      tuo.store = !noStore;
      if (!tuneShapes.empty()) {
        std::string err;
        if (!attnc::driver::readShapes(tuneShapes, tuo.shapes, err)) return report(ErrorId::tune_failed, err);
      } else {
        tuo.shapes.push_back(tshape);
      }
      auto file = frontEnd(tuneSpec, code);
      if (!file) return code;
      auto c = lower(*file, opts, nullptr, code);
      if (!c) return code;
      auto plans = plansOf(*c, code);
      if (!plans) return code;
      const std::string ir = c->printIR(false);
      int status = kExitOk;
      bool found = tuneKernel.empty();
      for (const attnc::KernelPlan &p : *plans) {
        if (!tuneKernel.empty() && p.desc.name != tuneKernel) continue;
        found = true;
        if (int rc = attnc::driver::runTune(p, attnc::driver::specHash(ir, p.desc.name), tuo); rc) status = rc;
      }
      if (!found) return report(ErrorId::no_kernel, tuneKernel);
      return status;
    }
    if (*rep) {
      auto file = frontEnd(repSpec, code);
      if (!file) return code;
      auto c = lower(*file, opts, nullptr, code);
      if (!c) return code;
      auto plans = plansOf(*c, code);
      if (!plans) return code;
      const attnc::KernelPlan *plan = pickPlan(*plans, repKernel);
      if (!plan) return report(ErrorId::no_kernel, repKernel);
      ro.specPath = repSpec;
      return attnc::driver::runReport(*plan, ro);
    }
    if (*tiles) {
      auto file = frontEnd(tilesSpec, code);
      if (!file) return code;
      auto c = lower(*file, opts, nullptr, code);
      if (!c) return code;
      auto plans = plansOf(*c, code);
      if (!plans) return code;
      for (const attnc::KernelPlan &plan : *plans) {
        const attnc::MaskInfo &info = plan.mask;
        std::cout << "kernel " << plan.desc.name << ": mask " << info.kind() << ", tiles " << tileQ << "x" << tileKv
                  << ", seq_q " << seqQ << ", seq_kv " << seqKv << "\n";
        std::cout << "  kv possible: " << info.outer.str() << "\n  kv certain:  " << info.inner.str() << "\n";
        for (const std::string &f : info.tileFormulas(tileQ, tileKv)) std::cout << "  " << f << "\n";
        auto t = info.classifyTiles(seqQ, seqKv, tileQ, tileKv);
        size_t counts[4] = {0, 0, 0, 0};
        for (auto c : t) ++counts[static_cast<int>(c)];
        std::cout << "  empty " << counts[0] << ", partial " << counts[1] << ", full " << counts[2] << ", run-time "
                  << counts[3] << "  (. empty, P partial, F full, R run-time)\n";
        std::cout << attnc::renderTiles(t, seqQ, seqKv, tileQ, tileKv);
      }
      return kExitOk;
    }
    if (spec.empty()) return report(ErrorId::no_spec);
    if (target.empty()) return report(ErrorId::no_target);
    const attnc::driver::Target *t = attnc::driver::findTarget(target);
    if (!t) return report(ErrorId::unknown_target, target);
    if (!t->printsIR && (output.empty() || output == "-")) return report(ErrorId::output_required, target);
    // Options the chosen target does not read say so rather than do nothing.
    const bool isX86 = t->name.rfind("x86", 0) == 0, isCuda = t->name == "cuda";
    auto unused = [&](const char *opt, bool applies, const char *forWhom) {
      if (app.get_option(opt)->count() > 0 && !applies)
        std::fprintf(stderr, "attnc: warning: %s does nothing with -target %s (it is for %s)\n", opt, t->name.c_str(),
                     forWhom);
    };
    unused("--arch", isCuda, "-target cuda");
    unused("--schedule", isX86 || isCuda, "-target x86 and cuda");
    unused("--decode-schedule", isX86 || isCuda, "-target x86 and cuda");
    unused("--keep-temps", isX86, "-target x86");
    unused("--expect-kernels", isX86 || isCuda, "-target x86 and cuda");
    unused("--db", isX86 || isCuda, "-target x86 and cuda");
    unused("--explain", isX86 || isCuda, "-target x86 and cuda");
    if (auto bad = t->checkOptions(to)) return report(*bad);
    to.dbNamed = !to.db.empty() || std::getenv("ATTNC_TUNING_DB");
    auto file = frontEnd(spec, code);
    if (!file) return code;
    if (!t->printsIR) {
      auto c = lower(*file, opts, nullptr, code);
      if (!c) return code;
      auto plans = plansOf(*c, code);
      if (!plans) return code;
      if (std::string why = attnc::driver::unsupportedBy(*t, *plans); !why.empty())
        return report(ErrorId::unsupported_spec, why);
      for (const std::string &want : expectKernels) {
        std::string defined;
        bool found = false;
        for (const attnc::KernelPlan &p : *plans) {
          defined += (defined.empty() ? "`" : ", `") + p.desc.name + "`";
          found = found || p.desc.name == want;
        }
        if (!found) return report(ErrorId::kernels_mismatch, want, spec, defined);
      }
      to.dir = output;
      to.irText = c->printIR(false);
      std::string err;
      switch (t->emit(*plans, to, err)) {
      case attnc::EmitStatus::Ok: return kExitOk;
      case attnc::EmitStatus::Environment: return report(ErrorId::emit_failed, err);
      case attnc::EmitStatus::Internal: return report(ErrorId::internal, err);
      }
      return report(ErrorId::internal, "unknown emission status");
    }
    std::ofstream fileOut;
    std::ostream *os = &std::cout;
    if (!output.empty() && output != "-") {
      fileOut.open(output, std::ios::binary);
      if (!fileOut) return report(ErrorId::cannot_write, output);
      os = &fileOut;
    }
    auto c = lower(*file, opts, os, code);
    if (!c) return code;
    if (!opts.printAfterAll) *os << c->printIR(opts.printLocations);
    os->flush();
    if (!*os) return report(ErrorId::cannot_write, output.empty() || output == "-" ? "standard output" : output);
    return kExitOk;
  } catch (const std::bad_alloc &) {
    return report(ErrorId::out_of_memory, *bench ? "the benchmark's tensors: try a smaller --batch, --seq-q or --seq-kv"
                                                 : "this spec");
  } catch (const std::exception &e) {
    return report(ErrorId::internal, e.what());
  }
}
