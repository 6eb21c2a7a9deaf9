#include "lowering/cuda/EmitCuda.h"

#include <cstdio>


#include "runtime/RuntimeHeaderText.h"

namespace attnc::cuda {

bool sources(const KernelPlan &plan, const EmitOptions &o, CudaSources &out, std::string &error) {
  const KernelDesc &d = plan.desc;
  Schedule pre = defaultSchedule(d, o.arch, false), dec = defaultSchedule(d, o.arch, true);
  if (!parseSchedule(o.schedule, pre, error) || !parseSchedule(o.decodeSchedule, dec, error)) return false;
  if (!legalize(d, o.arch, pre, error)) return false;
  dec.mlaMaterialized = pre.mlaMaterialized;  // (one MLA form per kernel: the prefill schedule's)
  if (!legalize(d, o.arch, dec, error)) return false;
  const std::string note = !o.schedule.empty() || !o.decodeSchedule.empty()
                               ? "--schedule / --decode-schedule over the heuristic"
                               : "heuristic (schedules/cuda)";
  // The tuning database's variants. An entry that no longer parses or fits
  // (a database from another attnc) is left out with a warning: the
  // bucket's calls take the default policy.
  std::vector<TunedSchedule> tuned;
  if (auto it = o.tuned.find(d.name); it != o.tuned.end())
    for (const EmitOptions::Tuned &t : it->second) {
      TunedSchedule ts{t.batch, t.seqQ, t.seqKv, t.decode, defaultSchedule(d, o.arch, t.decode), t.source};
      std::string why;
      bool ok = parseSchedule(t.schedule, ts.schedule, why);
      ts.schedule.mlaMaterialized = pre.mlaMaterialized;
      if (ok && legalize(d, o.arch, ts.schedule, why)) {
        tuned.push_back(std::move(ts));
      } else {
        std::fprintf(stderr, "attnc: warning: `%s`: the tuned schedule \"%s\" for %lld, %lld, %lld is not usable "
                             "here (%s); those calls take the default policy\n",
                     d.name.c_str(), t.schedule.c_str(), (long long)t.batch, (long long)t.seqQ, (long long)t.seqKv,
                     why.c_str());
      }
    }
  if (o.explain) {
    std::fprintf(stderr, "attnc: explain: `%s`: prefill \"%s\", decode \"%s\" (%s)\n", d.name.c_str(),
                 pre.str().c_str(), dec.str().c_str(), note.c_str());
    for (const TunedSchedule &t : tuned)
      std::fprintf(stderr, "attnc: explain: `%s`:   tuned, for calls whose batch, seq_q and seq_kv round up to %lld, "
                           "%lld, %lld: %s \"%s\" (%s)\n",
                   d.name.c_str(), (long long)t.batch, (long long)t.seqQ, (long long)t.seqKv,
                   t.decode ? "decode" : "prefill", t.schedule.str().c_str(), t.source.c_str());
  }
  return generate(plan, pre, dec, o.arch, out, error, note, tuned);
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
