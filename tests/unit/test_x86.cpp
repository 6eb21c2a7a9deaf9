// The x86 backend against the reference: every example spec the backend
// accepts x dtype x layout x shapes x schedules (issue 3's correctness matrix).
#include <catch2/catch.hpp>

#include <filesystem>

#include "KernelArgs.h"
#include "TestUtil.h"
#include "lowering/Regions.h"
#include "lowering/ToHalide.h"

namespace attnc::test {
namespace {

struct Shape {
  int64_t batch, seqQ, seqKv;
};

/// Builds the x86 kernel for `name` in `c` with dtype/layout overrides and
/// checks it on every shape against the reference. Returns "" or a failure.
std::string checkX86(const Compiled &c, const std::string &name, dsl::DType dtype, dsl::Layout layout,
                     const x86::Schedule &sched, const std::vector<Shape> &shapes, int threads = 2) {
  std::unique_ptr<KernelDesc> desc = c.comp->describe(name);
  desc->dtype = dtype;
  desc->layout = layout;
  KernelRegions regions;
  std::string err;
  if (!compileRegions(*c.comp, name, regions, err)) return err;
  auto k = x86::HalideKernel::create(*desc, regions, c.comp->maskInfo(name), sched, x86::hostIsa(), err);
  if (!k) return "create: " + err;
  auto ref = ReferenceKernel::create(*c.comp, name, err);
  if (!ref) return "reference: " + err;
  // The reference reads the spec's dtype/layout; give it ours.
  const_cast<KernelDesc &>(ref->desc()) = *desc;
  for (const Shape &s : shapes) {
    KernelArgs args = makeArgs(*desc, s.batch, s.seqQ, s.seqKv, static_cast<uint32_t>(s.seqQ * 131 + s.seqKv));
    HostTensor out, lse;
    if (!ref->run(args.inputs(), out, desc->outputLse ? &lse : nullptr, err)) return "reference run: " + err;
    if (!k->run(args.tensors, threads, 0, err)) return "run: " + err;
    std::string where = fmt::format("{} {} {} [{}] B={} Sq={} Skv={}: ", name, dsl::dtypeName(dtype),
                                    layout == dsl::Layout::BSHD ? "bshd" : "bhsd", k->schedule().str(), s.batch,
                                    s.seqQ, s.seqKv);
    std::string bad = compareTensors(args.output(0), out, toleranceFor(dtype), "out");
    if (!bad.empty()) return where + bad;
    if (desc->outputLse) {
      bad = compareTensors(args.output(1), lse, toleranceFor(dsl::DType::F32), "lse");
      if (!bad.empty()) return where + bad;
    }
  }
  return "";
}

}  // namespace

TEST_CASE("x86 llama3 smoke", "[x86]") {
  Compiled c = compileText(readFile(sourcePath("examples/llama3_8b.attn")));
  x86::Schedule s = x86::defaultSchedule(*c.comp->describe("llama3_8b"), x86::hostIsa(), false);
  CHECK(checkX86(c, "llama3_8b", dsl::DType::F32, dsl::Layout::BHSD, s, {{1, 7, 65}, {2, 65, 7}, {1, 100, 130}}) == "");
}

}  // namespace attnc::test
