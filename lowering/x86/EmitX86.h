// `attnc SPEC -target x86 -o DIR`: for every plan writes DIR/NAME.h and
// DIR/NAME.a (the Halide pipelines of both variants, the Halide runtime and
// the C entry point), and DIR/attnc_runtime.h (docs/integration.md).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "lowering/kernel/KernelPlan.h"
#include "lowering/kernel/OutputFile.h"
#include "schedules/x86/Schedule.h"

namespace attnc::x86 {

/// A schedule from the tuning database for one shape bucket (powers of two
/// of batch, seq_q and seq_kv): the kernel carries it as one more variant and
/// runs it on calls of that bucket.
struct TunedVariant {
  int64_t batch = 1, seqQ = 1, seqKv = 1;  // the bucket
  bool decode = false;                     // which variant's algorithm the schedule is for
  std::string schedule;                    // knobs (a full Schedule::str())
  std::string source;                      // where it came from, for the header
};

struct EmitOptions {
  std::string dir;
  Isa isa = Isa::Avx512;
  std::string schedule;        // knobs over the default prefill schedule
  std::string decodeSchedule;  // knobs over the default decode schedule
  bool keepTemps = false;      // keep DIR/.attnc-temps/ (wrapper sources, objects)
  /// Per kernel name: tuned variants (the tuning database), and where the
  /// prefill and decode schedules came from ("heuristic", "--schedule").
  std::map<std::string, std::vector<TunedVariant>> tuned;
  std::string prefillSource = "heuristic", decodeSource = "heuristic";
  bool explain = false;        // print each kernel's schedules and their sources
};

/// Environment: DIR cannot be written or no C compiler runs (the user can fix
/// it); Internal: Halide failed on a valid spec (a bug). `error` says which.
EmitStatus emit(const std::vector<KernelPlan> &plans, const EmitOptions &o, std::string &error);

/// The C entry point (CPU check, argument checks, buffer set-up, variant
/// choice) of one kernel whose pipelines were compiled for `isa`.
/// A tuned variant as the entry point calls it: its bucket, its schedule (for
/// the kv splits) and whether a twin without bf16 dot products / AMX exists.
struct TunedCall {
  TunedVariant v;
  Schedule s;
  bool twin = false;
};
std::string wrapperSource(const KernelDesc &d, const Schedule &prefill, const Schedule &decode, Isa isa,
                          const std::vector<TunedCall> &tuned = {});
/// The public header of one kernel; `schedules` (lines) says which schedules
/// it carries and where they came from.
std::string header(const KernelDesc &d, const std::string &schedules = "");

}  // namespace attnc::x86
