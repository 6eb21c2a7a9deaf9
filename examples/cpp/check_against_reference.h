// Shared by the C++ examples: runs a generated kernel on random arguments,
// times it, and compares with attnc's reference interpreter (an f64 oracle
// that lives in attnc's own libraries; a user's program needs only NAME.h/.a).
#pragma once

#include <chrono>
#include <cstdio>
#include <string>
#include <utility>

#include "dsl/Sema.h"
#include "lowering/reference/KernelArgs.h"
#include "lowering/transforms/Pipeline.h"
#include "lowering/reference/Reference.h"

namespace example {

template <typename... P, size_t... I>
int callImpl(int (*fn)(P...), attnc::KernelArgs &a, std::index_sequence<I...>) {
  return fn(&a.tensors[I]...);
}

/// Returns the process exit status: 0 when the kernel matches the reference.
template <typename... P>
int run(int (*fn)(P...), const char *(*lastError)(), const std::string &specPath, const std::string &name,
        int64_t batch, int64_t seqQ, int64_t seqKv) {
  std::string err;
  auto file = attnc::dsl::checkFile(specPath, err);
  if (!file || !file->ok()) return std::fprintf(stderr, "cannot read %s\n", specPath.c_str()), 1;
  auto comp = attnc::Compilation::fromChecked(*file, err);
  if (!comp || !comp->run({}, nullptr, err)) return std::fprintf(stderr, "%s\n", err.c_str()), 1;
  attnc::KernelPlan plan;
  if (!comp->plan(name, plan, err)) return std::fprintf(stderr, "%s\n", err.c_str()), 1;
  auto ref = attnc::ReferenceKernel::create(plan);
  const attnc::KernelDesc &d = ref->desc();

  attnc::KernelArgs a = attnc::makeArgs(d, batch, seqQ, seqKv, 42);
  auto call = [&] { return callImpl(fn, a, std::index_sequence_for<P...>{}); };
  if (call() != ATTNC_OK) return std::fprintf(stderr, "%s failed: %s\n", name.c_str(), lastError()), 1;
  double best = 1e30;
  for (int i = 0; i < 5; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    call();
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  attnc::HostTensor out, lse, smax;
  if (!ref->run(a.inputs(), out, d.outputLse ? &lse : nullptr, err, 0, &smax))
    return std::fprintf(stderr, "%s\n", err.c_str()), 1;
  double worst = 0, vmax = 0;
  for (double x : smax.data) worst = std::max(worst, x);
  for (double x : a.host[2].data) vmax = std::max(vmax, std::fabs(x));
  attnc::HostTensor got = a.output(0);
  double maxErr = 0;
  for (size_t i = 0; i < got.data.size(); ++i) maxErr = std::max(maxErr, std::fabs(got.data[i] - out.data[i]));
  std::string bad = attnc::compareTensors(got, out, attnc::toleranceFor(d.dtype), "out",
                                          [&](size_t) { return attnc::scoreRoundingBound(worst, vmax); });
  std::printf("%s: batch %lld, seq_q %lld, seq_kv %lld, %s: %.3f ms; max |out - reference| = %.3g (%s)\n",
              name.c_str(), (long long)batch, (long long)seqQ, (long long)seqKv, attnc::dsl::dtypeName(d.dtype),
              best * 1e3, maxErr, bad.empty() ? "within tolerance" : bad.c_str());
  return bad.empty() ? 0 : 1;
}

}  // namespace example
