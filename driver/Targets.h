// The target table: every output `attnc SPEC -target NAME` can produce, what
// each accepts (a reason when it refuses a kernel) and how it is emitted.
// The command line, its help text and the tests all ask this table; no other
// place decides which backend takes which spec.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "driver/Errors.h"
#include "lowering/kernel/KernelPlan.h"
#include "lowering/kernel/OutputFile.h"

namespace attnc::driver {

/// What -o, --schedule ... say, for whichever target reads them.
struct TargetOptions {
  std::string dir;
  std::string schedule, decodeSchedule;
  std::string arch = "sm_80";  // cuda
  bool keepTemps = false;      // x86
  /// The tuning database (docs/tuning.md): its path ("" : the default one),
  /// whether the user named it (then a missing file is worth a warning), and
  /// the lowered IR the kernels' keys hash.
  std::string db;
  bool dbNamed = false;
  std::string irText;
  bool explain = false;        // print the schedules and their sources
};

struct Target {
  std::string name;
  std::string help;
  /// True for targets that print IR (-o FILE or stdout) rather than write a directory.
  bool printsIR = false;
  /// Why this target cannot compile the kernel ("" when it can).
  std::function<std::string(const KernelPlan &)> unsupported;
  /// Checks the options before anything is built (nothing when they are usable).
  std::function<std::optional<Error>(const TargetOptions &)> checkOptions;
  /// Writes the kernels; null for IR targets.
  std::function<EmitStatus(const std::vector<KernelPlan> &, const TargetOptions &, std::string &)> emit;
};

const std::vector<Target> &targets();
/// Null for an unknown name.
const Target *findTarget(const std::string &name);
/// The first refusal of `t` among `plans`, "" when it takes them all.
std::string unsupportedBy(const Target &t, const std::vector<KernelPlan> &plans);

}  // namespace attnc::driver
