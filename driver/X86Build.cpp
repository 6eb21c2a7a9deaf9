#include "driver/X86Build.h"

#include "lowering/Regions.h"

namespace attnc::driver {

std::unique_ptr<x86::HalideKernel> buildX86(const Compilation &c, const std::string &name, x86::Isa isa,
                                            const X86Variant &v, std::string &error) {
  std::unique_ptr<KernelDesc> desc = c.describe(name);
  if (!desc) {
    error = "no kernel named `" + name + "`";
    return nullptr;
  }
  KernelRegions regions;
  if (!compileRegions(c, name, regions, error)) return nullptr;
  x86::Schedule s = x86::defaultSchedule(*desc, isa, v.decode);
  if (!v.schedule.empty() && !x86::parseSchedule(v.schedule, s, error)) return nullptr;
  return x86::HalideKernel::create(*desc, regions, c.maskInfo(name), s, isa, error);
}

}  // namespace attnc::driver
