// What the x86 and CUDA halves of `attnc tune` share (driver/Tune.cpp,
// driver/TuneCuda.cpp): progress lines, storing a winner, the SVG plot.
#pragma once

#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

#include "driver/Tune.h"
#include "driver/TuningDb.h"

namespace attnc::driver {

/// Progress on standard error: one line rewritten in place on a terminal,
/// plain lines otherwise.
struct Progress {
  bool tty = ::isatty(2);
  void line(const std::string &s) {
    if (tty) std::fprintf(stderr, "\r\033[K%s", s.c_str());
    else std::fprintf(stderr, "%s\n", s.c_str());
    std::fflush(stderr);
  }
  void done() {
    if (tty) std::fprintf(stderr, "\n");
  }
};

/// Writes a tune's winner to the database and says so; an exit code (the
/// result was printed before, so a failure loses only the entry).
int storeTuned(const std::string &dbPath, const TuningEntry &e, const char *how);

/// One bar of the plot: a candidate's GFLOP/s (0 when it has none) and its
/// class: "winner", "default", "candidate" or "rejected".
struct PlotBar {
  std::string text, cls, note;  // note: "123.4 GFLOP/s", "rejected", ...
  double gflops = 0;
};
/// An SVG of horizontal bars, one per candidate, in the order given.
std::string svgBars(const std::vector<PlotBar> &bars, const std::string &title);

/// `attnc tune -target cuda` (driver/TuneCuda.cpp).
int tuneCuda(const KernelPlan &plan, const std::string &specHash, const TuneOptions &o);

}  // namespace attnc::driver
