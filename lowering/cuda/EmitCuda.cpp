#include "lowering/cuda/EmitCuda.h"

#include <filesystem>

#include "runtime/RuntimeHeaderText.h"

namespace attnc::cuda {

namespace fs = std::filesystem;

bool sources(const KernelPlan &plan, const EmitOptions &o, CudaSources &out, std::string &error) {
  const KernelDesc &d = plan.desc;
  Schedule pre = defaultSchedule(d, o.arch, false), dec = defaultSchedule(d, o.arch, true);
  if (!parseSchedule(o.schedule, pre, error) || !parseSchedule(o.decodeSchedule, dec, error)) return false;
  if (!legalize(d, o.arch, pre, error) || !legalize(d, o.arch, dec, error)) return false;
  return generate(plan, pre, dec, o.arch, out, error);
}

EmitStatus emit(const std::vector<KernelPlan> &plans, const EmitOptions &o, std::string &error) {
  using S = EmitStatus;
  if (!makeOutputDir(o.dir, error)) return S::Environment;
  std::vector<CudaSources> all;
  for (const KernelPlan &plan : plans) {
    CudaSources src;
    if (!sources(plan, o, src, error)) return S::Environment;
    all.push_back(std::move(src));
  }
  const fs::path dir(o.dir);
  if (!writeTextFile(dir / "attnc_runtime.h", runtime::kRuntimeHeaderText, error) ||
      !writeTextFile(dir / "attnc_device.cuh", runtime::kDeviceHeaderText, error) ||
      !writeTextFile(dir / "attnc_simt.h", runtime::kSimtHeaderText, error))
    return S::Environment;
  for (size_t i = 0; i < plans.size(); ++i) {
    const std::string &name = plans[i].desc.name;
    if (!writeTextFile(dir / (name + ".h"), all[i].header, error) ||
        !writeTextFile(dir / (name + ".cu"), all[i].source, error))
      return S::Environment;
  }
  return S::Ok;
}

}  // namespace attnc::cuda
