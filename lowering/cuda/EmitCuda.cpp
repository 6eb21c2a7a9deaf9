#include "lowering/cuda/EmitCuda.h"


#include "runtime/RuntimeHeaderText.h"

namespace attnc::cuda {

bool sources(const KernelPlan &plan, const EmitOptions &o, CudaSources &out, std::string &error) {
  const KernelDesc &d = plan.desc;
  Schedule pre = defaultSchedule(d, o.arch, false), dec = defaultSchedule(d, o.arch, true);
  if (!parseSchedule(o.schedule, pre, error) || !parseSchedule(o.decodeSchedule, dec, error)) return false;
  if (!legalize(d, o.arch, pre, error)) return false;
  dec.mlaMaterialized = pre.mlaMaterialized;  // (one MLA form per kernel: the prefill schedule's)
  if (!legalize(d, o.arch, dec, error)) return false;
  return generate(plan, pre, dec, o.arch, out, error);
}

EmitStatus emit(const std::vector<KernelPlan> &plans, const EmitOptions &o, std::string &error) {
  using S = EmitStatus;
  std::vector<CudaSources> all;
  for (const KernelPlan &plan : plans) {
    CudaSources src;
    if (!sources(plan, o, src, error)) return S::Environment;
    all.push_back(std::move(src));
  }
  // Staged and moved into DIR together (StagedOutput), as the x86 emitter does.
  StagedOutput stage;
  if (!stage.open(o.dir, error)) return S::Environment;
  if (!stage.write("attnc_runtime.h", runtime::kRuntimeHeaderText, error) ||
      !stage.write("attnc_device.cuh", runtime::kDeviceHeaderText, error) ||
      !stage.write("attnc_simt.h", runtime::kSimtHeaderText, error))
    return S::Environment;
  for (size_t i = 0; i < plans.size(); ++i) {
    const std::string &name = plans[i].desc.name;
    if (!stage.write(name + ".cu", all[i].source, error) || !stage.write(name + ".h", all[i].header, error))
      return S::Environment;
  }
  return stage.commit(error) ? S::Ok : S::Environment;
}

}  // namespace attnc::cuda
