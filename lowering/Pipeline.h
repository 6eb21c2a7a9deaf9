// The lowering pipeline, as one list of steps, behind an interface free of MLIR
// headers (the driver and tests include this; only lowering/ sees MLIR).
#pragma once

#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "dsl/Sema.h"
#include "lowering/KernelDesc.h"
#include "lowering/MaskAnalysis.h"

namespace attnc {

struct PipelineOptions {
  int64_t tileQ = 64;   // tile sizes the mask analysis classifies for
  int64_t tileKv = 64;
  bool printAfterAll = false;
  bool printLocations = false;
};

/// The names of the steps, in order: "mlirgen", "expand-builtins", ...
const std::vector<std::string> &pipelineSteps();

/// A module of `attn.kernel`s and the context that owns it.
class Compilation {
public:
  /// MLIRGen from a file that checked cleanly. Null, with `error`, on an internal failure.
  static std::unique_ptr<Compilation> fromChecked(const dsl::CheckedFile &file, std::string &error);
  ~Compilation();

  /// Runs every step after mlirgen, verifying after each; with printAfterAll
  /// the IR after each step (mlirgen included) goes to `trace`.
  bool run(const PipelineOptions &opts, std::ostream *trace, std::string &error);
  std::string printIR(bool withLocations = false) const;

  std::vector<std::string> kernelNames() const;
  /// Null when there is no such kernel.
  std::unique_ptr<KernelDesc> describe(const std::string &name) const;
  /// Needs run() to have expanded the builtins.
  MaskInfo maskInfo(const std::string &name) const;

  struct Impl;
  Impl &impl() const { return *impl_; }

private:
  Compilation();
  std::unique_ptr<Impl> impl_;
};

}  // namespace attnc
