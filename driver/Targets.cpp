#include "driver/Targets.h"

#include <cstdio>

#include "lowering/cuda/EmitCuda.h"
#include "lowering/x86/EmitX86.h"
#include "lowering/x86/ToHalide.h"

namespace attnc::driver {

namespace {

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
    // A schedule the legalizer changes says what it became, and why.
    for (const KernelPlan &p : plans)
      for (bool decode : {false, true}) {
        const std::string &text = decode ? o.decodeSchedule : o.schedule;
        if (text.empty()) continue;
        x86::Schedule sch = x86::defaultSchedule(p.desc, eo.isa, decode);
        std::string err;
        if (!x86::parseSchedule(text, sch, err)) continue;  // checkOptions reported it
        std::vector<std::string> notes = x86::legalize(sch, p.desc, eo.isa);
        if (notes.empty()) continue;
        std::string why;
        for (const std::string &n : notes) why += (why.empty() ? "" : ", ") + n;
        std::fprintf(stderr, "attnc: note: `%s` %s schedule \"%s\" became \"%s\" (%s)\n", p.desc.name.c_str(),
                     decode ? "decode" : "prefill", text.c_str(), sch.str().c_str(), why.c_str());
      }
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
    for (const KernelPlan &p : plans)
      for (bool decode : {false, true}) {
        const std::string &text = decode ? o.decodeSchedule : o.schedule;
        if (text.empty()) continue;
        cuda::Schedule asked = cuda::defaultSchedule(p.desc, co.arch, decode);
        std::string err;
        if (!cuda::parseSchedule(text, asked, err)) continue;
        cuda::Schedule got = asked;
        if (!cuda::legalize(p.desc, co.arch, got, err) || got.str() == asked.str()) continue;
        std::fprintf(stderr,
                     "attnc: note: `%s` %s schedule \"%s\" became \"%s\" (the knobs' ranges and %s's shared "
                     "memory, docs/cuda.md)\n",
                     p.desc.name.c_str(), decode ? "decode" : "prefill", text.c_str(), got.str().c_str(),
                     cuda::archName(co.arch));
      }
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
