// lowering/x86/ToHalide: one attention kernel as one fused Halide pipeline
// (docs/x86.md). The interface is free of Halide and MLIR headers: it takes
// the kernel plan and a schedule.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "attnc_runtime.h"
#include "lowering/kernel/KernelPlan.h"
#include "schedules/x86/Schedule.h"

namespace attnc::x86 {

/// The Halide function of a kernel takes, in order: the signature's input
/// tensors (q, k, v, ...), `nsplit` (int32: kv splits, >= 1) and the outputs
/// (out, and lse when the spec asks for it; lse is viewed with a leading
/// stride-0 dimension of value_dim so that it shares out's loops).
class HalideKernel {
public:
  /// The schedule is legalized for the plan and ISA first.
  static std::unique_ptr<HalideKernel> create(const KernelPlan &plan, const Schedule &schedule, Isa isa,
                                              std::string &error);
  /// The same algorithm scheduled by one of Halide 14's autoschedulers
  /// ("Adams2019", "Li2018", "Mullapudi2016", loaded as plugins from Debian's
  /// halide14 library folder or $ATTNC_HALIDE_PLUGINS) for a shape: a rival
  /// of the hand-written schedules in `attnc tune`.
  static std::unique_ptr<HalideKernel> createAutoscheduled(const KernelPlan &plan, const std::string &name, Isa isa,
                                                           int64_t batch, int64_t seqQ, int64_t seqKv, int threads,
                                                           std::string &error);
  ~HalideKernel();

  const KernelDesc &desc() const;
  const Schedule &schedule() const;

  /// JIT-compiles on first use and runs on ABI tensors in signature order
  /// (outputs last). Arguments must already be checked (shapes, dtypes).
  /// `nsplit` <= 0 picks the number of kv splits for `threads` threads, as
  /// the shipped entry point does (Policy.h).
  bool run(const std::vector<attnc_tensor> &args, int threads, int nsplit, std::string &error);
  /// JIT-compiles now (to time compilation apart from running).
  bool jitCompile(std::string &error);

  /// Compiles to an object file (no Halide runtime) defining `fnName`.
  bool compileToObject(const std::string &path, const std::string &fnName, std::string &error);
  /// Writes Halide's lowered statement (loop nest) as text, for inspection.
  bool compileToStmt(const std::string &path, std::string &error);
  /// Compiles the Halide runtime alone (one per static library).
  static bool compileRuntime(const std::string &path, Isa isa, std::string &error);

  struct Impl;

private:
  HalideKernel();
  std::unique_ptr<Impl> impl_;
};

/// Why this backend cannot compile the plan ("" when it can).
std::string unsupported(const KernelPlan &plan);

/// kv splits for a call (attnc_x86_choose_splits of Policy.h with the schedule's figures).
int chooseSplits(const KernelDesc &d, const Schedule &s, int64_t batch, int64_t seqQ, int64_t seqKv, int threads);

}  // namespace attnc::x86

namespace attnc::x86 {
/// Writes the AMX tile products' C source (lowering/x86/templates/Amx.c) to
/// `source` and compiles it to `obj` (for the libraries of amx kernels).
bool compileAmxObject(const std::string &source, const std::string &obj, std::string &error);
/// Archives object files into a static library with a symbol index.
bool createStaticLibrary(const std::vector<std::string> &objects, const std::string &path, Isa isa,
                         std::string &error);
}  // namespace attnc::x86
