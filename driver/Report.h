// `attnc report`: how much faster, how much smaller, how much less accurate a
// compressed spec is than its dense counterpart (docs/compression.md).
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json_fwd.hpp>

#include "lowering/kernel/KernelPlan.h"

namespace attnc::driver {

struct ReportOptions {
  int64_t batch = 1, seqQ = 4096, seqKv = 4096;
  std::string target = "x86";  // x86 or cuda
  std::string arch = "sm_90a";   // cuda: the schedule's arch (and the default card)
  std::string card;              // cuda: A100, H100, H200, L40S, A10 ("" : the arch's)
  double peakGflops = 0, bandwidthGbs = 0;  // x86: given roofs (0: measured here)
  int threads = 0;                          // x86: roofs and --measure (0: every core)
  double density = 0.25;  // sparse block input: the random block mask's kept fraction
  int64_t tile = 0;       // tile side for the tile map (0: the sparse block, else 64)
  bool measure = false;   // x86: time both kernels
  bool accuracy = false;
  double noise = 0.05;    // --accuracy: noise over the structure the transform assumes
  uint32_t seed = 1;
  int64_t accuracySeq = 1024;  // --accuracy: the longest seq_q / seq_kv of its reference runs
  std::string plot;            // an SVG of the tile maps
  bool json = false;
  std::string specPath;        // (for the output)
};

/// Everything the report prints: the JSON object of docs/compression.md
/// ("The report's JSON"). False, with `error`, when it cannot be computed.
bool computeReport(const KernelPlan &plan, const ReportOptions &o, nlohmann::json &out, std::string &error);

/// `attnc report`: computes, prints (a table or JSON) and writes the plot.
/// Returns an exit code.
int runReport(const KernelPlan &plan, const ReportOptions &o);

/// The spec without its compress block: no pruning, no sparsity, K and V in
/// place of a latent or a sequence projection.
KernelPlan denseCounterpart(const KernelPlan &plan);

}  // namespace attnc::driver
