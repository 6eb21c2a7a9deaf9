// `attnc SPEC -target x86 -o DIR`: for every plan writes DIR/NAME.h and
// DIR/NAME.a (the Halide pipelines of both variants, the Halide runtime and
// the C entry point), and DIR/attnc_runtime.h (docs/integration.md).
#pragma once

#include <string>
#include <vector>

#include "lowering/kernel/KernelPlan.h"
#include "lowering/kernel/OutputFile.h"
#include "schedules/x86/Schedule.h"

namespace attnc::x86 {

struct EmitOptions {
  std::string dir;
  Isa isa = Isa::Avx512;
  std::string schedule;        // knobs over the default prefill schedule
  std::string decodeSchedule;  // knobs over the default decode schedule
  bool keepTemps = false;      // keep DIR/.attnc-temps/ (wrapper sources, objects)
};

/// Environment: DIR cannot be written or no C compiler runs (the user can fix
/// it); Internal: Halide failed on a valid spec (a bug). `error` says which.
EmitStatus emit(const std::vector<KernelPlan> &plans, const EmitOptions &o, std::string &error);

/// The C entry point (CPU check, argument checks, buffer set-up, variant
/// choice) of one kernel whose pipelines were compiled for `isa`.
std::string wrapperSource(const KernelDesc &d, const Schedule &prefill, const Schedule &decode, Isa isa);
/// The public header of one kernel.
std::string header(const KernelDesc &d);

}  // namespace attnc::x86
