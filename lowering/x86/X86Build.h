// The x86 kernel of one plan, for an ISA and a variant (prefill or decode)
// with its schedule: the default heuristic of schedules/x86, then the knob
// text over it. Shared by `attnc -target x86`, `attnc bench` and the tests.
#pragma once

#include <memory>
#include <string>

#include "lowering/kernel/KernelPlan.h"
#include "lowering/x86/ToHalide.h"

namespace attnc::x86 {

struct Variant {
  bool decode = false;   // the variant for seq_q <= ATTNC_X86_DECODE_MAX_SEQ_Q (Policy.h)
  std::string schedule;  // knob text over the default ("" for the default)
};

/// Whether a call with `seqQ` query positions runs the decode variant (the
/// policy of Policy.h, with the prefill schedule `prefillSchedule` knobs give).
bool useDecode(const KernelDesc &d, Isa isa, const std::string &prefillSchedule, int64_t seqQ);

/// Null, with `error`, on a bad schedule text or a Halide failure.
std::unique_ptr<HalideKernel> buildKernel(const KernelPlan &plan, Isa isa, const Variant &v, std::string &error);

}  // namespace attnc::x86
