// `attnc tune` (docs/tuning.md): searches the schedule space of a kernel for
// a shape, verifies every candidate against the reference before it may win,
// times them interleaved, and writes the winner to the tuning database.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "lowering/kernel/KernelPlan.h"
#include "schedules/x86/Schedule.h"

namespace attnc::driver {

struct TuneShape {
  int64_t batch = 1, seqQ = 2048, seqKv = 2048;
};

struct TuneOptions {
  std::string target = "x86";  // x86, x86-avx2, x86-avx512 or cuda
  std::string arch = "sm_90a";  // cuda
  std::string card;             // cuda: the card of the roofline ("" : the arch's)
  std::vector<TuneShape> shapes;
  double budget = 60;           // seconds, per shape
  std::string db;               // "" : TuningDb::resolvePath
  std::string plot;             // an SVG of every candidate's speed
  std::string summary;          // x86: append one JSON line per shape here
  uint32_t seed = 1;
  int threads = 0;
  bool autoschedulers = true;   // x86: Halide's autoschedulers as rivals
  bool explain = false;
  bool store = true;
  bool injectWrong = false;     // tests: a candidate whose output is corrupted must be rejected
  int ptxas = 4;                // cuda: the best few schedules asked of `nvcc -Xptxas -v` (0: none)
  /// cuda: "auto" (time on the GPU when there is one, else rank by the cost
  /// model), "gpu", "model", or "emulator" (tests: time on the SIMT emulator).
  std::string measure = "auto";
  std::string exportJob;  // cuda: write the measured job here (to run on a GPU machine) instead of running it
  std::string importJob;  // cuda: check and store the results of such a job
};

/// Tunes `plan` (whose lowered IR hashes to `specHash`). Returns an exit code.
int runTune(const KernelPlan &plan, const std::string &specHash, const TuneOptions &o);

/// The x86 cost model: an estimate of a schedule's time (seconds) for a
/// shape, from the work its tiles do (padding included), how it fills the
/// threads, and whether its tiles fit in cache. Used to prune the space and
/// by --explain.
double x86ModelSeconds(const KernelDesc &d, const x86::Schedule &s, x86::Isa isa, int64_t batch, int64_t seqQ,
                       int64_t seqKv, int threads, double peakGflops, double readGbs);

/// A shape list file: one "BATCH SEQ_Q SEQ_KV" per line ('#' comments). False, with `error`.
bool readShapes(const std::string &path, std::vector<TuneShape> &out, std::string &error);

}  // namespace attnc::driver
