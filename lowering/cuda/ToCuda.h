// lowering/cuda/ToCuda: one attention kernel as CUDA C++ source (docs/cuda.md):
// NAME.cu holds the spec's score_mod/mask/bias as device functions, the
// FlashAttention-2 kernel (tensor cores for f16/bf16, a SIMT path for f32),
// the split-KV combine kernel and the host API; NAME.h declares the host API
// without any CUDA header. Free of MLIR: it reads the kernel plan. The
// spec-independent text lives in lowering/cuda/templates/.
#pragma once

#include <string>
#include <vector>

#include "lowering/kernel/KernelPlan.h"
#include "schedules/cuda/Schedule.h"

namespace attnc::cuda {

struct CudaSources {
  std::string header;  // NAME.h
  std::string source;  // NAME.cu
};

/// The decode kernel (its own schedule) runs when a kv head's packed query
/// rows, seq_q x group, fit one of its blocks (16 rows by default); larger
/// calls run the prefill kernel, with split-KV when blocks are few.

/// A schedule for the calls of one shape bucket (the tuning database,
/// docs/tuning.md): calls whose batch, seq_q and seq_kv round up to these
/// powers of two run it instead of the default policy.
struct TunedSchedule {
  int64_t batch = 1, seqQ = 1, seqKv = 1;
  bool decode = false;  // the entry's variant (its default schedule's knobs under it)
  Schedule schedule;
  std::string source;  // where it came from, for the comments
};

/// Generates the sources. The schedules must be legal for `arch` (legalize),
/// the tuned ones with the prefill schedule's MLA form (one per kernel).
/// False, with `error`, when the kernel cannot be expressed (a region op no
/// backend knows).
bool generate(const KernelPlan &plan, const Schedule &prefill, const Schedule &decode, Arch arch, CudaSources &out,
              std::string &error, const std::string &scheduleSource = "",
              const std::vector<TunedSchedule> &tuned = {});

/// Why this backend cannot compile the plan ("" when it can).
std::string unsupported(const KernelPlan &plan);

}  // namespace attnc::cuda
