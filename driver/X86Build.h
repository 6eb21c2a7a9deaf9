// Shared by `attnc -target x86`, `attnc bench` and the tests: the x86 kernel
// of one spec kernel, for an ISA and a schedule (default when none given).
#pragma once

#include <memory>
#include <string>

#include "lowering/Pipeline.h"
#include "lowering/ToHalide.h"

namespace attnc::driver {

struct X86Variant {
  bool decode = false;  // the variant for seq_q <= 16
  std::string schedule; // knob text over the default ("" for the default)
};

std::unique_ptr<x86::HalideKernel> buildX86(const Compilation &c, const std::string &name, x86::Isa isa,
                                            const X86Variant &v, std::string &error);

/// seq_q at or under which the decode variant runs.
constexpr int64_t kDecodeMaxSeqQ = 16;

}  // namespace attnc::driver
