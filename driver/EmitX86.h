// `attnc SPEC -target x86 -o DIR`: for every attention of the file writes
// DIR/NAME.h and DIR/NAME.a, and DIR/attnc_runtime.h (docs/integration.md).
#pragma once

#include <filesystem>
#include <string>

#include "lowering/Pipeline.h"
#include "schedules/x86/Schedule.h"

namespace attnc::driver {

struct EmitOptions {
  std::string dir;
  x86::Isa isa = x86::Isa::Avx512;
  std::string schedule;        // knobs over the default prefill schedule
  std::string decodeSchedule;  // knobs over the default decode schedule
  bool keepTemps = false;      // keep DIR/.attnc-NAME/ (wrapper source, objects)
};

enum class EmitStatus { Ok, Environment, Internal };
/// Environment: DIR cannot be written or no C compiler runs (the user can fix
/// it); Internal: Halide failed on a valid spec (a bug). `error` says which.
EmitStatus emitX86(const Compilation &c, const EmitOptions &o, std::string &error);

/// Writes `text` to `p`; false, with `error`, when it cannot.
bool writeTextFile(const std::filesystem::path &path, const std::string &text, std::string &error);

/// The C wrapper (argument checks, buffer set-up, variant choice) of one kernel.
std::string x86WrapperSource(const KernelDesc &d, const x86::Schedule &prefill, const x86::Schedule &decode);
/// The public header of one kernel.
std::string x86Header(const KernelDesc &d);

}  // namespace attnc::driver
