// The lowering pipeline, as one list of steps, behind an interface free of MLIR
// headers: the driver and the tests include this; only lowering/ir and
// lowering/transforms see MLIR. Its product is one KernelPlan per attention.
#pragma once

#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "dsl/Sema.h"
#include "lowering/kernel/KernelPlan.h"

namespace attnc {

struct PipelineOptions {
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
  /// The plan of kernel `name`. Needs run(). False, with `error`, if there is
  /// no such kernel or a region holds an op no backend knows (a bug).
  bool plan(const std::string &name, KernelPlan &out, std::string &error) const;

  struct Impl;
  Impl &impl() const { return *impl_; }

private:
  Compilation();
  std::unique_ptr<Impl> impl_;
};

}  // namespace attnc
