// `attnc bench`: times a JIT-compiled x86 kernel and, in the same run, the
// machine's roofs (OpenBLAS sgemm, streaming read bandwidth) and an unfused
// OpenBLAS attention of the same shape (docs/x86.md, "Reading attnc bench").
#pragma once

#include <cstdint>
#include <string>

#include "lowering/kernel/KernelPlan.h"
#include "schedules/x86/Schedule.h"

namespace attnc::driver {

struct BenchOptions {
  x86::Isa isa = x86::Isa::Avx512;
  std::string schedule;     // knobs over the default
  int64_t batch = 1, seqQ = 2048, seqKv = 2048;
  int threads = 0;          // 0: every core
  bool json = false;
  bool baseline = true;     // time the unfused OpenBLAS attention
  bool roofs = true;
  std::string dumpStmt;     // write Halide's lowered loop nest here
  std::string dtype, layout;  // overrides of the spec's ("" keeps it)
  std::string variant;        // "prefill" or "decode" forces one; "" lets the policy choose (Policy.h)
  double density = 0.25;      // `sparse block B input`: the fraction of blocks the random block mask keeps
  std::string db;             // the tuning database ("" : the default one)
  bool dbNamed = false;       // named by --db or ATTNC_TUNING_DB (a missing file is then worth a warning)
  std::string specHash;       // the kernel's key in it
  bool explain = false;
};

/// Runs the benchmark and prints the report. Returns an exit code.
int runBench(const KernelPlan &plan, const BenchOptions &o);

}  // namespace attnc::driver
