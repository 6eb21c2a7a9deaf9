// `attnc SPEC -target cuda -o DIR`: for every plan writes DIR/NAME.h and
// DIR/NAME.cu, and the runtime headers attnc_runtime.h, attnc_device.cuh and
// attnc_simt.h (docs/cuda.md).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "lowering/cuda/ToCuda.h"
#include "lowering/kernel/OutputFile.h"

namespace attnc::cuda {

struct EmitOptions {
  std::string dir;
  Arch arch = Arch::Sm80;
  std::string schedule;        // knobs over the default prefill schedule
  std::string decodeSchedule;  // knobs over the default decode schedule
  /// Per kernel name: the tuning database's schedules, one per shape bucket
  /// and variant (knobs over that variant's default), with where each came
  /// from; each runs for the calls of its bucket (docs/tuning.md).
  struct Tuned {
    int64_t batch = 1, seqQ = 1, seqKv = 1;
    bool decode = false;
    std::string schedule, source;
  };
  std::map<std::string, std::vector<Tuned>> tuned;
  bool explain = false;
};

/// The sources of one plan: schedules from the defaults and the knob texts,
/// legalized for the arch. False, with `error` (a usage error: a bad
/// schedule text or a spec the backend cannot take).
bool sources(const KernelPlan &plan, const EmitOptions &o, CudaSources &out, std::string &error);

/// Generates every kernel first (a bad schedule writes nothing), then writes.
EmitStatus emit(const std::vector<KernelPlan> &plans, const EmitOptions &o, std::string &error);

}  // namespace attnc::cuda
