#include "lowering/cuda/EmitCuda.h"

#include <cstdio>


#include "runtime/RuntimeHeaderText.h"

namespace attnc::cuda {

bool sources(const KernelPlan &plan, const EmitOptions &o, CudaSources &out, std::string &error) {
  const KernelDesc &d = plan.desc;
  Schedule pre = defaultSchedule(d, o.arch, false), dec = defaultSchedule(d, o.arch, true);
  auto textOf = [&](const std::map<std::string, std::string> &m, const std::string &def) {
    auto it = m.find(d.name);
    return it == m.end() ? def : it->second;
  };
  if (!parseSchedule(textOf(o.prefillFor, o.schedule), pre, error) ||
      !parseSchedule(textOf(o.decodeFor, o.decodeSchedule), dec, error))
    return false;
  if (!legalize(d, o.arch, pre, error)) return false;
  dec.mlaMaterialized = pre.mlaMaterialized;  // (one MLA form per kernel: the prefill schedule's)
  if (!legalize(d, o.arch, dec, error)) return false;
  const std::string note = textOf(o.noteFor, !o.schedule.empty() || !o.decodeSchedule.empty()
                                                 ? "--schedule / --decode-schedule over the heuristic"
                                                 : "heuristic (schedules/cuda)");
  if (o.explain)
    std::fprintf(stderr, "attnc: explain: `%s`: prefill \"%s\", decode \"%s\" (%s)\n", d.name.c_str(), pre.str().c_str(),
                 dec.str().c_str(), note.c_str());
  return generate(plan, pre, dec, o.arch, out, error, note);
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
