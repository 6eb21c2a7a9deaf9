#include "driver/Targets.h"

#include <cstdio>

#include <fmt/format.h>

#include "driver/TuningDb.h"

#include "lowering/cuda/EmitCuda.h"
#include "lowering/x86/EmitX86.h"
#include "lowering/x86/ToHalide.h"

namespace attnc::driver {

namespace {

/// A schedule text the backend's legalizer changes says what it became and
/// why: `became` returns `NEW" (WHY)` for one kernel and variant, "" when the
/// text stands as given.
void noteLegalized(const std::vector<KernelPlan> &plans, const TargetOptions &o,
                   const std::function<std::string(const KernelDesc &, bool, const std::string &)> &became) {
  for (const KernelPlan &p : plans)
    for (bool decode : {false, true}) {
      const std::string &text = decode ? o.decodeSchedule : o.schedule;
      if (text.empty()) continue;
      if (std::string b = became(p.desc, decode, text); !b.empty())
        std::fprintf(stderr, "attnc: note: `%s` %s schedule \"%s\" became \"%s\n", p.desc.name.c_str(),
                     decode ? "decode" : "prefill", text.c_str(), b.c_str());
    }
}

/// The tuning database's usable entries of each kernel for `target`, with a
/// warning (once) for a database that cannot be used and for kernels whose
/// entries are all another machine's or version's.
std::map<std::string, std::vector<TuningEntry>> tunedEntries(const std::vector<KernelPlan> &plans,
                                                            const TargetOptions &o, const std::string &target,
                                                            std::string &path) {
  std::map<std::string, std::vector<TuningEntry>> out;
  path = TuningDb::resolvePath(o.db);
  std::string warning;
  const TuningDb db = TuningDb::load(path, o.dbNamed, warning);
  if (!warning.empty()) std::fprintf(stderr, "attnc: warning: %s\n", warning.c_str());
  const MachineKey m = currentMachine(target);
  for (const KernelPlan &p : plans) {
    const std::string hash = specHash(o.irText, p.desc.name);
    out[p.desc.name] = db.usable(hash, target, m);
    if (out[p.desc.name].empty())
      if (int n = db.foreign(hash, target, m); n > 0)
        std::fprintf(stderr, "attnc: warning: `%s` has %d tuning entr%s in `%s` for another machine or attnc version: "
                     "not used (default schedules; run `attnc tune` here)\n",
                     p.desc.name.c_str(), n, n == 1 ? "y" : "ies", path.c_str());
  }
  return out;
}

/// Every schedule text must parse for x86.
std::optional<Error> x86Options(const TargetOptions &o) {
  for (const std::string *t : {&o.schedule, &o.decodeSchedule}) {
    x86::Schedule s;
    std::string err;
    if (!t->empty() && !x86::parseSchedule(*t, s, err)) return makeError(ErrorId::bad_schedule, err);
  }
  return std::nullopt;
}

Target x86Target(const std::string &name, const std::string &help, bool host, x86::Isa isa) {
  Target t;
  t.name = name;
  t.help = help;
  t.unsupported = [](const KernelPlan &p) { return x86::unsupported(p); };
  t.checkOptions = x86Options;
  t.emit = [host, isa](const std::vector<KernelPlan> &plans, const TargetOptions &o, std::string &error) {
    x86::EmitOptions eo;
    eo.dir = o.dir;
    eo.isa = host ? x86::hostIsa() : isa;
    eo.schedule = o.schedule;
    eo.decodeSchedule = o.decodeSchedule;
    eo.keepTemps = o.keepTemps;
    eo.explain = o.explain;
    if (!o.schedule.empty()) eo.prefillSource = "--schedule";
    if (!o.decodeSchedule.empty()) eo.decodeSource = "--decode-schedule";
    // The tuning database's variants, unless the command line gives schedules.
    if (o.schedule.empty() && o.decodeSchedule.empty()) {
      std::string path;
      const std::string target = eo.isa == x86::Isa::Avx512 ? "x86-avx512" : "x86-avx2";
      for (auto &[name, entries] : tunedEntries(plans, o, target, path))
        for (const TuningEntry &e : entries)
          eo.tuned[name].push_back({e.bucket.batch, e.bucket.seqQ, e.bucket.seqKv, e.variant == "decode", e.schedule,
                                    fmt::format("tuning database {}, {}: {:.3f} ms against the default's {:.3f} ms",
                                                path, e.when, e.seconds * 1e3, e.defaultSeconds * 1e3)});
    }
    noteLegalized(plans, o, [&](const KernelDesc &d, bool decode, const std::string &text) -> std::string {
      x86::Schedule sch = x86::defaultSchedule(d, eo.isa, decode);
      std::string err;
      if (!x86::parseSchedule(text, sch, err)) return "";  // checkOptions reported it
      std::string why;
      for (const std::string &n : x86::legalize(sch, d, eo.isa)) why += (why.empty() ? "" : ", ") + n;
      return why.empty() ? "" : sch.str() + "\" (" + why + ")";
    });
    return x86::emit(plans, eo, error);
  };
  return t;
}

Target cudaTarget() {
  Target t;
  t.name = "cuda";
  t.help = "CUDA C++ source (NAME.cu, NAME.h, device runtime headers) for sm_80+: -o DIR [--arch]";
  t.unsupported = [](const KernelPlan &p) { return cuda::unsupported(p); };
  t.checkOptions = [](const TargetOptions &o) -> std::optional<Error> {
    cuda::Arch arch;
    if (!cuda::archFromName(o.arch, arch)) return makeError(ErrorId::unknown_arch, o.arch);
    for (const std::string *text : {&o.schedule, &o.decodeSchedule}) {
      cuda::Schedule s;
      std::string err;
      if (!cuda::parseSchedule(*text, s, err)) return makeError(ErrorId::bad_schedule, err);
    }
    return std::nullopt;
  };
  t.emit = [](const std::vector<KernelPlan> &plans, const TargetOptions &o, std::string &error) {
    cuda::EmitOptions co;
    cuda::archFromName(o.arch, co.arch);
    co.dir = o.dir;
    co.schedule = o.schedule;
    co.decodeSchedule = o.decodeSchedule;
    co.explain = o.explain;
    // The tuning database (cost-model or measured entries for this arch):
    // one variant per shape bucket, unless the command line gives schedules
    // (docs/tuning.md).
    if (o.schedule.empty() && o.decodeSchedule.empty()) {
      std::string path;
      for (auto &[name, entries] : tunedEntries(plans, o, std::string("cuda-") + cuda::archName(co.arch), path))
        for (const TuningEntry &e : entries)
          co.tuned[name].push_back({e.bucket.batch, e.bucket.seqQ, e.bucket.seqKv, e.variant == "decode", e.schedule,
                                    fmt::format("tuning database {}, {}, {}: {:.4f} ms against the default's {:.4f} ms",
                                                path, e.when, e.how, e.seconds * 1e3, e.defaultSeconds * 1e3)});
    }
    noteLegalized(plans, o, [&](const KernelDesc &d, bool decode, const std::string &text) -> std::string {
      cuda::Schedule asked = cuda::defaultSchedule(d, co.arch, decode);
      std::string err;
      if (!cuda::parseSchedule(text, asked, err)) return "";
      cuda::Schedule got = asked;
      if (decode) {  // (the decode schedule runs the prefill schedule's MLA form)
        cuda::Schedule pre = cuda::defaultSchedule(d, co.arch, false);
        if (cuda::parseSchedule(co.schedule, pre, err) && cuda::legalize(d, co.arch, pre, err))
          got.mlaMaterialized = pre.mlaMaterialized;
      }
      if (!cuda::legalize(d, co.arch, got, err) || got.str() == asked.str()) return "";
      return got.str() + "\" (the knobs' ranges and " + cuda::archName(co.arch) + "'s shared memory, docs/cuda.md)";
    });
    return cuda::emit(plans, co, error);
  };
  return t;
}

}  // namespace

const std::vector<Target> &targets() {
  static const std::vector<Target> table = [] {
    std::vector<Target> v;
    Target mlir;
    mlir.name = "mlir";
    mlir.help = "print the lowered `attn` dialect IR";
    mlir.printsIR = true;
    mlir.unsupported = [](const KernelPlan &) { return std::string(); };
    mlir.checkOptions = [](const TargetOptions &) { return std::optional<Error>(); };
    v.push_back(mlir);
    v.push_back(x86Target("x86",
                          "x86 SIMD kernel through Halide, for this CPU's best ISA (AVX-512, else AVX2): -o DIR",
                          true, x86::Isa::Avx512));
    v.push_back(x86Target("x86-avx2", "x86 kernel for AVX2 (+FMA, F16C): -o DIR", false, x86::Isa::Avx2));
    v.push_back(
        x86Target("x86-avx512", "x86 kernel for AVX-512 (Skylake-X level; never AMX): -o DIR", false, x86::Isa::Avx512));
    v.push_back(cudaTarget());
    return v;
  }();
  return table;
}

const Target *findTarget(const std::string &name) {
  for (const Target &t : targets())
    if (t.name == name) return &t;
  return nullptr;
}

std::string unsupportedBy(const Target &t, const std::vector<KernelPlan> &plans) {
  for (const KernelPlan &p : plans)
    if (std::string why = t.unsupported(p); !why.empty()) return why;
  return "";
}

}  // namespace attnc::driver
