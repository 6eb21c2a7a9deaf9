#include "lowering/x86/X86Build.h"

namespace attnc::x86 {

std::unique_ptr<HalideKernel> buildKernel(const KernelPlan &plan, Isa isa, const Variant &v, std::string &error) {
  Schedule s = defaultSchedule(plan.desc, isa, v.decode);
  if (!v.schedule.empty() && !parseSchedule(v.schedule, s, error)) return nullptr;
  return HalideKernel::create(plan, s, isa, error);
}

}  // namespace attnc::x86
