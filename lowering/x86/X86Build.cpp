#include "lowering/x86/X86Build.h"

#include "lowering/kernel/AbiText.h"
#include "lowering/x86/Policy.h"

namespace attnc::x86 {

bool useDecode(const KernelDesc &d, Isa isa, const std::string &prefillSchedule, int64_t seqQ) {
  Schedule pre = defaultSchedule(d, isa, false);
  std::string ignored;
  if (!prefillSchedule.empty()) parseSchedule(prefillSchedule, pre, ignored);
  legalize(pre, d, isa);
  return attnc_x86_use_decode(seqQ, d.tileGroup(), pre.qPerTile, dsl::dtypeBytes(d.dtype));
}

std::unique_ptr<HalideKernel> buildKernel(const KernelPlan &plan, Isa isa, const Variant &v, std::string &error) {
  Schedule s = defaultSchedule(plan.desc, isa, v.decode);
  if (!v.schedule.empty() && !parseSchedule(v.schedule, s, error)) return nullptr;
  return HalideKernel::create(plan, s, isa, error);
}

}  // namespace attnc::x86
