// `attnc tune -target cuda` (docs/tuning.md, "CUDA"): the legal schedules of
// a grid of schedules/cuda's knobs, ranked by the cost model; on a machine
// with a GPU (and nvcc) the best few and the default are built with nvcc,
// checked against the reference on a small shape and timed on the device,
// interleaved (driver/templates/CudaTimer.cpp); without one the ranking is
// the result, and the tune says so. `--measure emulator` times on the SIMT
// emulator instead: meaningless times, but the whole measured path (build,
// check, rejection, storage) runs in CI.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include <fmt/format.h>

#include "driver/Errors.h"
#include "driver/TuneCommon.h"
#include "driver/Templates.h"
#include "lowering/cuda/EmitCuda.h"
#include "lowering/reference/KernelArgs.h"
#include "lowering/reference/Reference.h"
#include "schedules/cuda/Schedule.h"

namespace attnc::driver {

namespace {

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

std::string nvccPath() {
  if (const char *e = std::getenv("NVCC"); e && *e) return e;
  for (const char *p : {"/usr/local/cuda/bin/nvcc", "/usr/bin/nvcc"})
    if (::access(p, X_OK) == 0) return p;
  if (FILE *f = ::popen("command -v nvcc 2>/dev/null", "r")) {
    char buf[512] = {0};
    const bool got = std::fgets(buf, sizeof buf, f) != nullptr;
    ::pclose(f);
    std::string s = got ? buf : "";
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
    return s;
  }
  return "";
}

struct PtxasFigures {
  int regs = 0, spills = 0;
};

/// The attention kernels' registers and spilled bytes (the most of the
/// file's attention_kernel instantiations) with `s` as the prefill (or
/// decode) schedule, from `nvcc -Xptxas -v`.
PtxasFigures ptxasOf(const KernelPlan &plan, const cuda::Schedule &s, bool decode, cuda::Arch arch,
                     const std::string &nvcc, std::string &why) {
  PtxasFigures f;
  char tmpl[] = "/tmp/attnc-tune-cuda-XXXXXX";
  if (!::mkdtemp(tmpl)) return why = "no temporary directory", f;
  const std::string dir = tmpl;
  cuda::EmitOptions eo;
  eo.dir = dir + "/k";
  eo.arch = arch;
  (decode ? eo.decodeSchedule : eo.schedule) = s.str();
  std::string err;
  if (cuda::emit({plan}, eo, err) != EmitStatus::Ok) {
    std::filesystem::remove_all(dir);
    return why = "cannot generate: " + err, f;
  }
  const std::string name = plan.desc.name, log = dir + "/ptxas.txt";
  const std::string cmd = fmt::format("'{}' -std=c++17 -O3 -arch={} -Xptxas -v -c '{}/k/{}.cu' -o '{}/k.o' > '{}' 2>&1", nvcc,
                                      arch == cuda::Arch::Sm90a ? "sm_90a" : cuda::archName(arch), dir, name, dir, log);
  const int rc = std::system(cmd.c_str());
  std::ifstream in(log);
  std::string line;
  bool attention = false;
  while (std::getline(in, line)) {
    if (line.find("Compiling entry function") != std::string::npos) attention = line.find("attention_kernel") != std::string::npos;
    if (!attention) continue;
    if (auto at = line.find("bytes spill stores"); at != std::string::npos) {
      // "N bytes stack frame, S bytes spill stores, L bytes spill loads"
      int stack = 0, stores = 0, loads = 0;
      std::sscanf(line.c_str(), " %d bytes stack frame, %d bytes spill stores, %d bytes spill loads", &stack, &stores, &loads);
      f.spills = std::max(f.spills, stores + loads);
    }
    if (auto at = line.find("Used "); at != std::string::npos) f.regs = std::max(f.regs, std::atoi(line.c_str() + at + 5));
  }
  std::filesystem::remove_all(dir);
  if (rc != 0 || f.regs == 0) why = fmt::format("nvcc failed ({})", cmd);
  return f;
}

/// Standard output of a shell command ("" when it fails).
std::string capture(const std::string &cmd, int *status = nullptr) {
  std::string out;
  FILE *f = ::popen(cmd.c_str(), "r");
  if (!f) return out;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
  const int rc = ::pclose(f);
  if (status) *status = rc;
  return out;
}

std::string slurp(const std::string &path, size_t max = 4000) {
  std::ifstream in(path);
  std::string s((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return s.size() > max ? s.substr(0, max) + "..." : s;
}

/// The GPU of this machine, from nvidia-smi: its name and arch ("sm_90a"
/// for compute capability 9.0). False when there is none.
bool detectGpu(std::string &name, std::string &arch) {
  int rc = 0;
  std::string out = capture("nvidia-smi --query-gpu=name,compute_cap --format=csv,noheader 2>/dev/null", &rc);
  if (rc != 0 || out.empty()) return false;
  out = out.substr(0, out.find('\n'));
  const size_t comma = out.rfind(',');
  if (comma == std::string::npos) return false;
  name = out.substr(0, comma);
  std::string cap = out.substr(comma + 1);
  cap.erase(std::remove_if(cap.begin(), cap.end(), [](char c) { return c == ' ' || c == '.'; }), cap.end());
  arch = cap == "90" ? "sm_90a" : "sm_" + cap;
  return !name.empty();
}

/// The card of the roofline: --card, else the one the GPU's name names, else the arch's.
std::string cardFor(const std::string &asked, const std::string &gpuName, cuda::Arch arch) {
  if (!asked.empty()) return asked;
  for (const char *c : {"H200", "H100", "A100", "L40S", "A10"})
    if (gpuName.find(c) != std::string::npos) return c;
  return cuda::defaultCard(arch);
}

struct CudaCandidate {
  cuda::Schedule s;
  std::string label;  // default, model, injected wrong
  double model = 0;   // the cost model's seconds
  int regs = 0, spills = 0;
  bool injected = false, built = false, verified = false;
  std::vector<double> times;
  double best = std::numeric_limits<double>::infinity();
  std::string rejected;
  std::string dir;
};

/// A schedule's full text for a candidate built as both of the kernel's
/// schedules: every knob, the MLA form explicit.
std::string fullText(const KernelDesc &d, const cuda::Schedule &s) {
  std::string t = s.str();
  if (d.lowRank == KernelDesc::LowRank::Kv && !s.mlaMaterialized) t += " mlaabs";
  return t;
}

/// Writes argument `i` of `a` (its bytes) to `path`.
bool writeArg(const KernelArgs &a, size_t i, const std::string &path) {
  std::ofstream f(path, std::ios::binary);
  const size_t bytes = size_t(std::max<int64_t>(1, a.host[i].numel())) * dsl::dtypeBytes(a.sig[i].dtype);
  f.write(reinterpret_cast<const char *>(a.mem[i].data()), std::streamsize(bytes));
  return bool(f);
}

/// The measured tune of one shape: builds `cands` (the first is the
/// default), checks them against the reference and times them on `how`
/// ("gpu" or "emulator"). Fills each candidate's verdict and times; returns
/// the device's name, or "" with `error` when the job could not run.
std::string measure(const KernelPlan &plan, bool decode, const TuneShape &shape, cuda::Arch arch, const std::string &how,
                    const TuneOptions &o, std::vector<CudaCandidate> &cands, Progress &progress, std::string &error) {
  const KernelDesc &d = plan.desc;
  const bool emulate = how == "emulator";
  const std::string nvcc = emulate ? "" : nvccPath();
  const char *cxxEnv = std::getenv("CXX");
  const std::string cxx = cxxEnv && *cxxEnv ? cxxEnv : "g++";
  char tmpl[] = "/tmp/attnc-tune-cuda-XXXXXX";
  if (!::mkdtemp(tmpl)) return error = "no temporary directory", "";
  const std::string dir = tmpl;
  struct Cleanup {
    std::string dir;
    ~Cleanup() {
      if (!std::getenv("ATTNC_TUNE_KEEP")) {
        std::error_code ec;
        std::filesystem::remove_all(dir, ec);
      }
    }
  } cleanup{dir};
  const std::string archFlag = arch == cuda::Arch::Sm90a ? "sm_90a" : cuda::archName(arch);

  // ---- Sources: each candidate's schedule as both the prefill and the
  // decode schedule, so that whichever the policy picks on the check shape
  // and on the timing shape runs it.
  for (size_t i = 0; i < cands.size(); ++i) {
    CudaCandidate &c = cands[i];
    c.dir = fmt::format("{}/c{}", dir, i);
    cuda::EmitOptions eo;
    eo.dir = c.dir;
    eo.arch = arch;
    eo.schedule = eo.decodeSchedule = fullText(d, c.s);
    std::string err;
    if (cuda::emit({plan}, eo, err) != EmitStatus::Ok) c.rejected = "cannot generate: " + err.substr(0, 300);
  }
  // ---- Builds, a few at a time.
  std::ofstream(dir + "/timer.cpp") << templates::kCudaTimer;
  const std::string timerCmd =
      emulate ? fmt::format("'{}' -std=c++17 -O1 -DATTNC_SIMT_EMULATION -I '{}/c0' '{}/timer.cpp' -o '{}/timer' -ldl -pthread "
                            "> '{}/timer.log' 2>&1",
                            cxx, dir, dir, dir, dir)
              : fmt::format("'{}' -std=c++17 -O2 -cudart shared -I '{}/c0' -x cu '{}/timer.cpp' -o '{}/timer' -ldl > '{}/timer.log' 2>&1",
                            nvcc, dir, dir, dir, dir);
  std::vector<std::string> cmds{timerCmd};
  for (const CudaCandidate &c : cands) {
    const std::string cu = fmt::format("{}/{}.cu", c.dir, d.name);
    cmds.push_back(c.rejected.empty()
                       ? emulate ? fmt::format("'{}' -std=c++17 -O1 -g0 -fPIC -shared -DATTNC_SIMT_EMULATION -I '{}' -x c++ "
                                               "'{}' -o '{}/k.so' > '{}/log.txt' 2>&1",
                                               cxx, c.dir, cu, c.dir, c.dir)
                                 : fmt::format("'{}' -std=c++17 -O3 -arch={} -Xptxas -v -shared -Xcompiler -fPIC -cudart shared "
                                               "-I '{}' '{}' -o '{}/k.so' > '{}/log.txt' 2>&1",
                                               nvcc, archFlag, c.dir, cu, c.dir, c.dir)
                       : "");
  }
  std::vector<int> rcs(cmds.size(), 0);
  const unsigned jobs = std::max(1u, std::min(16u, std::thread::hardware_concurrency()));
  std::atomic<size_t> next{0}, finished{0};
  std::vector<std::thread> pool;
  for (unsigned t = 0; t < std::min<size_t>(jobs, cmds.size()); ++t)
    pool.emplace_back([&] {
      for (size_t i; (i = next.fetch_add(1)) < cmds.size();) {
        if (!cmds[i].empty()) rcs[i] = std::system(cmds[i].c_str());
        finished.fetch_add(1);
      }
    });
  const auto t0 = Clock::now();
  while (finished.load() < cmds.size()) {
    progress.line(fmt::format("  building with {}: {}/{} done ({:.0f} s)", emulate ? cxx : "nvcc", finished.load(),
                              cmds.size(), since(t0)));
    std::this_thread::sleep_for(std::chrono::milliseconds(progress.tty ? 250 : 5000));
  }
  for (std::thread &t : pool) t.join();
  progress.done();
  if (rcs[0] != 0) return error = "the timer does not build: " + timerCmd + "\n" + slurp(dir + "/timer.log"), "";
  for (size_t i = 0; i < cands.size(); ++i) {
    CudaCandidate &c = cands[i];
    if (!c.rejected.empty()) continue;
    if (rcs[i + 1] != 0) {
      c.rejected = "does not build: " + slurp(c.dir + "/log.txt", 300);
      continue;
    }
    if (!emulate) {  // ptxas's registers and spills (the attention kernels')
      std::ifstream in(c.dir + "/log.txt");
      std::string line;
      bool attention = false;
      while (std::getline(in, line)) {
        if (line.find("Compiling entry function") != std::string::npos)
          attention = line.find("attention_kernel") != std::string::npos;
        if (!attention) continue;
        if (line.find("bytes spill stores") != std::string::npos) {
          int stack = 0, stores = 0, loads = 0;
          std::sscanf(line.c_str(), " %d bytes stack frame, %d bytes spill stores, %d bytes spill loads", &stack,
                      &stores, &loads);
          c.spills = std::max(c.spills, stores + loads);
        }
        if (auto at = line.find("Used "); at != std::string::npos) c.regs = std::max(c.regs, std::atoi(line.c_str() + at + 5));
      }
      if (c.spills > 0) {
        c.rejected = fmt::format("spills {} bytes ({} registers, ptxas)", c.spills, c.regs);
        continue;
      }
    }
    c.built = true;
  }

  // ---- Data: a small check shape (the reference's) and the timing shape.
  const int64_t vq = decode ? shape.seqQ : std::min<int64_t>(shape.seqQ, 80);
  const int64_t vk = std::min<int64_t>(shape.seqKv, 200);
  KernelArgs va = makeArgs(d, 1, vq, vk, o.seed);
  scaleProjections(va);
  fillBlockMask(va, 0.5, o.seed);
  HostTensor rOut, rLse, rMax;
  {
    std::string err;
    auto ref = ReferenceKernel::create(plan);
    if (!ref || !ref->run(va.inputs(), rOut, d.outputLse ? &rLse : nullptr, err, 0, &rMax))
      return error = "the reference run: " + err, "";
  }
  const bool projections = d.lowRank != KernelDesc::LowRank::None;
  KernelArgs ta = makeArgs(d, shape.batch, shape.seqQ, shape.seqKv, o.seed + 1, 1.0, projections);
  if (projections) scaleProjections(ta);
  fillBlockMask(ta, 0.25, o.seed + 1);
  std::ofstream job(dir + "/job.txt");
  job << "kernel " << d.name << "\n";
  job << fmt::format("shape 1 {} {} {} {} {}\n", vq, vk, shape.batch, shape.seqQ, shape.seqKv);
  job << "rounds " << (emulate ? 2 : std::clamp(int(o.budget / 6), 5, 30)) << "\n";
  job << "sample " << (emulate ? 0.0 : 0.05) << "\n";
  for (size_t i = 0; i < va.sig.size(); ++i) {
    job << "arg " << int(va.sig[i].output) << " " << va.tensors[i].dtype << " " << va.tensors[i].ndim;
    for (const KernelArgs *a : {&va, &ta})
      for (int k = 0; k < 4; ++k) job << " " << (k < a->tensors[i].ndim ? a->tensors[i].shape[k] : 1);
    job << "\n";
    if (!va.sig[i].output &&
        (!writeArg(va, i, fmt::format("{}/check-{}.bin", dir, i)) || !writeArg(ta, i, fmt::format("{}/time-{}.bin", dir, i))))
      return error = "cannot write the inputs in " + dir + " (disk full?)", "";
  }
  std::vector<size_t> ids;  // job candidate -> cands index
  for (size_t i = 0; i < cands.size(); ++i)
    if (cands[i].built) {
      job << "cand " << cands[i].dir << "/k.so\n";
      ids.push_back(i);
    }
  job.close();
  if (ids.empty()) return error = "no candidate built", "";

  // ---- Run: the check's outputs, then the interleaved timing rounds.
  progress.line(fmt::format("  checking and timing {} candidates on the {}", ids.size(),
                            emulate ? "SIMT emulator" : "GPU"));
  int rc = 0;
  const std::string out = capture(fmt::format("'{}/timer' '{}' 2>&1", dir, dir), &rc);
  progress.done();
  std::string device;
  std::istringstream lines(out);
  std::string line;
  std::map<size_t, std::string> failed;
  while (std::getline(lines, line)) {
    std::istringstream in(line);
    std::string key;
    in >> key;
    if (key == "DEVICE") {
      std::getline(in >> std::ws, device);
    } else if (key == "ERROR") {
      return error = "the timer: " + line.substr(6), "";
    } else if (key == "CHECK" || key == "TIME") {
      size_t j = 0;
      in >> j;
      if (j >= ids.size()) continue;
      CudaCandidate &c = cands[ids[j]];
      if (key == "TIME") {
        double t = 0;
        if (in >> t && t > 0) c.times.push_back(t);
        continue;
      }
      int status = 0;
      in >> status;
      std::string msg;
      std::getline(in >> std::ws, msg);
      if (status != 0) failed[ids[j]] = fmt::format("status {}: {}", status, msg);
    }
  }
  if (device.empty()) return error = fmt::format("the timer did not run (status {}):\n{}", rc, out.substr(0, 2000)), "";
  // ---- Verdicts: the check's outputs against the reference.
  const size_t outIdx = va.sig.size() - (d.outputLse ? 2 : 1);
  for (size_t j = 0; j < ids.size(); ++j) {
    CudaCandidate &c = cands[ids[j]];
    if (failed.count(ids[j])) {
      c.rejected = "fails to run: " + failed[ids[j]];
      continue;
    }
    bool read = true;
    for (size_t i = outIdx; i < va.sig.size(); ++i) {
      std::ifstream f(fmt::format("{}/out-{}-{}.bin", dir, j, i), std::ios::binary);
      read = read && f.read(reinterpret_cast<char *>(va.mem[i].data()), std::streamsize(va.mem[i].size()));
    }
    if (!read) {
      c.rejected = "no output from the check";
      continue;
    }
    if (c.injected)  // (tests) one element of out corrupted: the check must reject it
      storeAs(va.sig[outIdx].dtype, va.mem[outIdx].data(), 0, loadAs(va.sig[outIdx].dtype, va.mem[outIdx].data(), 0) + 1.0);
    if (std::string bad = compareWithReference(d, va, rOut, rLse, rMax, vq); !bad.empty()) {
      c.rejected = "wrong against the reference: " + bad.substr(0, 160);
      continue;
    }
    if (c.times.empty()) {
      c.rejected = "not timed";
      continue;
    }
    c.verified = true;
    c.best = *std::min_element(c.times.begin(), c.times.end());
  }
  return device;
}

}  // namespace

int tuneCuda(const KernelPlan &plan, const std::string &specHash, const TuneOptions &o) {
  const KernelDesc &d = plan.desc;
  cuda::Arch arch;
  if (!cuda::archFromName(o.arch, arch)) return report(ErrorId::unknown_arch, o.arch);
  const std::string target = std::string("cuda-") + cuda::archName(arch);
  const std::string dbPath = TuningDb::resolvePath(o.db);
  // How candidates are measured: on this machine's GPU (when it has one of
  // the arch asked for, and nvcc), else by the cost model alone.
  std::string how = o.measure, gpuName, gpuArch;
  const bool haveGpu = how != "model" && how != "emulator" && detectGpu(gpuName, gpuArch);
  const std::string nvcc = nvccPath();
  std::string whyModel;
  if (how == "auto" || how == "gpu") {
    if (!haveGpu) whyModel = "no GPU here (nvidia-smi finds none)";
    else if (gpuArch != cuda::archName(arch) && !(gpuArch == "sm_90a" && arch == cuda::Arch::Sm90a))
      whyModel = fmt::format("the GPU here ({}, {}) is not the arch asked for ({})", gpuName, gpuArch, o.arch);
    else if (nvcc.empty()) whyModel = "nvcc not found (set NVCC)";
    if (!whyModel.empty() && how == "gpu") return report(ErrorId::tune_failed, "--measure gpu: " + whyModel);
    how = whyModel.empty() ? "gpu" : "model";
  }
  const std::string card = cardFor(o.card, how == "gpu" ? gpuName : "", arch);
  if (how == "model")
    std::fprintf(stderr, "attnc tune: `%s` for %s: %s, so candidates are ranked by the cost model (not timed)\n",
                 d.name.c_str(), target.c_str(), whyModel.empty() ? "--measure model" : whyModel.c_str());
  else
    std::fprintf(stderr, "attnc tune: `%s` for %s: candidates built and timed on %s, budget %.0f s per shape, database %s\n",
                 d.name.c_str(), target.c_str(), how == "gpu" ? gpuName.c_str() : "the SIMT emulator (tests: its times are not a GPU's)",
                 o.budget, dbPath.c_str());
  Progress progress;
  int status = 0;
  for (const TuneShape &shape : o.shapes) {
    const auto t0 = Clock::now();
    const bool decode = shape.seqQ * d.tileGroup() <= cuda::defaultSchedule(d, arch, true).blockM();
    const ShapeBucket bucket = ShapeBucket::of(shape.batch, shape.seqQ, shape.seqKv);
    const cuda::Schedule def = cuda::defaultSchedule(d, arch, decode);
    std::vector<std::pair<double, cuda::Schedule>> ranked;
    std::set<std::string> seen;
    // The default first: among equal estimates (a stable sort) it stays ahead.
    seen.insert(def.str());
    ranked.push_back({cuda::modelSeconds(d, def, arch, card, shape.batch, shape.seqQ, shape.seqKv), def});
    for (int wm : {1, 2, 4, 8})
      for (int wn : {1, 2, 4})
        for (int mt : {1, 2})
          for (int n : {16, 32, 64, 128})
            for (int st : {1, 2}) {
              cuda::Schedule s = def;
              s.warpsM = wm, s.warpsN = wn, s.mTiles = mt, s.blockN = n, s.stages = st;
              std::string why;
              if ((wn > 1 && wm > 1) || !cuda::legalize(d, arch, s, why) || !seen.insert(s.str()).second) continue;
              ranked.push_back({cuda::modelSeconds(d, s, arch, card, shape.batch, shape.seqQ, shape.seqKv), s});
            }
    std::stable_sort(ranked.begin(), ranked.end(), [](const auto &a, const auto &b) { return a.first < b.first; });
    const size_t legal = ranked.size();
    double defS = cuda::modelSeconds(d, def, arch, card, shape.batch, shape.seqQ, shape.seqKv);
    if (how == "gpu" || how == "emulator") {
      std::printf("`%s`, batch %lld, seq_q %lld, seq_kv %lld (%s, %s): %zu legal schedules, ranked by the cost model "
                  "on %s\n",
                  d.name.c_str(), (long long)shape.batch, (long long)shape.seqQ, (long long)shape.seqKv,
                  decode ? "decode" : "prefill", target.c_str(), legal, card.c_str());
      // ---- Measured: the model's best few and the default, built, checked, timed.
      const size_t keep = std::clamp<size_t>(size_t(o.budget / (how == "gpu" ? 6.0 : 10.0)), 2, 24);
      std::vector<CudaCandidate> cands;
      CudaCandidate dc;
      dc.s = def, dc.label = "default", dc.model = defS;
      cands.push_back(dc);
      for (const auto &[t, s] : ranked) {
        if (cands.size() > keep) break;
        if (s.str() == def.str()) continue;
        CudaCandidate c;
        c.s = s, c.label = "model", c.model = t;
        cands.push_back(c);
      }
      if (o.injectWrong) {
        // (Tests) the default's schedule again with its output corrupted
        // after the check run: it must be rejected and never stored.
        CudaCandidate c = dc;
        c.label = "injected wrong", c.injected = true;
        cands.insert(cands.begin() + 1, c);
      }
      std::string err;
      const std::string device = measure(plan, decode, shape, arch, how, o, cands, progress, err);
      if (device.empty()) {
        status = report(ErrorId::tune_failed, err);
        continue;
      }
      std::vector<const CudaCandidate *> order;
      for (const CudaCandidate &c : cands) order.push_back(&c);
      std::stable_sort(order.begin(), order.end(), [](const CudaCandidate *a, const CudaCandidate *b) {
        return a->verified != b->verified ? a->verified : a->best < b->best;
      });
      const CudaCandidate *win = nullptr, *dflt = nullptr;
      size_t built = 0, rejected = 0;
      for (const CudaCandidate *c : order) {
        if (c->verified && !c->injected && !win) win = c;
        if (c->label == "default" && c->verified) dflt = c;
        built += c->built, rejected += !c->rejected.empty();
      }
      const double tuneS = since(t0);
      const double flops = 2.0 * double(d.headDim + d.valueDim) * double(shape.batch) *
                           double(d.heads - int64_t(d.prunedHeads.size())) * double(shape.seqQ) * double(shape.seqKv);
      const cuda::Card *cardInfo = cuda::findCard(card);
      const double roof = cardInfo ? (d.dtype == dsl::DType::F32 ? cardInfo->f32Tflops : cardInfo->tensorTflops) * 1e3 : 0;
      std::printf("on %s: %zu candidates, %zu built, %zu rejected, %.1f s\n", device.c_str(), cands.size(), built,
                  rejected, tuneS);
      std::printf("%-4s %-44s %11s %11s %9s %8s %5s  %s\n", "", "schedule", "time", "model", "TFLOP/s", "of roof", "regs",
                  "from");
      int shown = 0;
      for (const CudaCandidate *c : order) {
        if (!c->verified || (shown >= 6 && c != dflt)) continue;
        ++shown;
        const double tf = flops / c->best / 1e12;
        std::printf("%-4s %-44s %8.4f ms %8.4f ms %9.2f %8.3f %5s  %s\n", c == win ? "best" : "", c->s.str().c_str(),
                    c->best * 1e3, c->model * 1e3, tf, roof > 0 ? tf * 1e3 / roof : 0.0,
                    c->regs ? std::to_string(c->regs).c_str() : "-", c->label.c_str());
      }
      for (const CudaCandidate &c : cands)
        if (!c.rejected.empty())
          std::printf("rejected: %s (%s): %s\n", c.s.str().c_str(), c.label.c_str(), c.rejected.c_str());
      if (!win) {
        status = report(ErrorId::tune_failed, "no candidate passed the check against the reference");
        continue;
      }
      std::printf("roof: %.0f TFLOP/s (%s, published; FLOPs of every pair); the default %s %.4f ms, the tuned schedule "
                  "%.2fx it\n",
                  roof / 1e3, card.c_str(), dflt ? "runs" : "failed:", dflt ? dflt->best * 1e3 : 0.0,
                  dflt ? dflt->best / win->best : 0.0);
      if (o.explain)
        std::printf("explain: the cost model estimated %.4f ms for the default and %.4f ms for the winner; measured "
                    "%.4f and %.4f ms\n",
                    defS * 1e3, win->model * 1e3, dflt ? dflt->best * 1e3 : 0.0, win->best * 1e3);
      if (!o.plot.empty()) {
        std::vector<PlotBar> bars;
        for (const CudaCandidate *c : order) {
          PlotBar b;
          b.text = c->s.str() + (c->injected ? " (injected)" : "");
          b.gflops = c->verified ? flops / c->best / 1e9 : 0;
          b.cls = !c->rejected.empty() ? "rejected" : c == win ? "winner" : c->label == "default" ? "default" : "candidate";
          b.note = c->verified ? fmt::format("{:.1f} GFLOP/s", b.gflops) : "rejected";
          bars.push_back(b);
        }
        std::ofstream f(o.plot, std::ios::binary);
        f << svgBars(bars, fmt::format("attnc tune `{}` {} b{} q{} kv{} on {}: GFLOP/s of every candidate", d.name,
                                       target, shape.batch, shape.seqQ, shape.seqKv, device));
        if (!f) status = report(ErrorId::cannot_write, o.plot);
      }
      if (o.store) {
        TuningEntry e;
        e.kernel = d.name, e.specHash = specHash, e.target = target, e.bucket = bucket;
        e.variant = decode ? "decode" : "prefill";
        e.schedule = win->s.str();
        e.seconds = win->best, e.defaultSeconds = dflt ? dflt->best : 0;
        e.how = how == "gpu" ? "measured" : "measured (SIMT emulator)";
        e.candidates = int(cands.size()), e.tuneSeconds = tuneS;
        e.key = currentMachine(target);
        e.key.machine = device;
        if (int rc = storeTuned(dbPath, e, how == "gpu" ? "" : " (how: measured on the SIMT emulator)"); rc) status = rc;
      }
      continue;
    }

    // The best few (and the default) through nvcc where it is installed:
    // `ptxas -v`'s registers limit the blocks per SM in the model, and a
    // schedule that spills is dropped.
    if (o.ptxas > 0) {
      const std::string nvcc = nvccPath();
      if (nvcc.empty()) {
        std::fprintf(stderr, "attnc tune: nvcc not found (set NVCC): registers not asked of ptxas\n");
      } else {
        std::vector<std::pair<double, cuda::Schedule>> checked;
        std::vector<cuda::Schedule> ask;
        for (size_t i = 0; i < ranked.size() && int(ask.size()) < o.ptxas; ++i) ask.push_back(ranked[i].second);
        if (std::find_if(ask.begin(), ask.end(), [&](const cuda::Schedule &x) { return x.str() == def.str(); }) == ask.end())
          ask.push_back(def);
        for (const cuda::Schedule &s : ask) {
          std::string why;
          const PtxasFigures f = ptxasOf(plan, s, decode, arch, nvcc, why);
          if (!why.empty()) {
            std::printf("     %-48s ptxas: %s\n", s.str().c_str(), why.c_str());
            continue;
          }
          if (f.spills > 0) {
            std::printf("     %-48s ptxas: %d registers, %d bytes spilled: dropped\n", s.str().c_str(), f.regs, f.spills);
            continue;
          }
          const double t = cuda::modelSeconds(d, s, arch, card, shape.batch, shape.seqQ, shape.seqKv, f.regs);
          if (s.str() == def.str()) defS = t;
          std::printf("     %-48s ptxas: %d registers\n", s.str().c_str(), f.regs);
          checked.push_back({t, s});
        }
        if (!checked.empty()) {
          std::stable_sort(checked.begin(), checked.end(), [](const auto &a, const auto &b) { return a.first < b.first; });
          ranked = checked;  // (only schedules ptxas has seen may win)
        }
      }
    }
    std::printf("`%s`, batch %lld, seq_q %lld, seq_kv %lld (%s, %s): %zu legal schedules ranked by the cost model%s\n",
                d.name.c_str(), (long long)shape.batch, (long long)shape.seqQ, (long long)shape.seqKv,
                decode ? "decode" : "prefill", target.c_str(), legal,
                ranked.size() < legal ? fmt::format(", the best {} with ptxas's registers", ranked.size()).c_str() : "");
    for (size_t i = 0; i < std::min<size_t>(6, ranked.size()); ++i)
      std::printf("%-4s %-48s model %9.4f ms\n", i == 0 ? "best" : "", ranked[i].second.str().c_str(),
                  ranked[i].first * 1e3);
    std::printf("     %-48s model %9.4f ms  (default)\n", def.str().c_str(), defS * 1e3);
    if (ranked.empty()) continue;
    if (o.store) {
      TuningEntry e;
      e.kernel = d.name, e.specHash = specHash, e.target = target, e.bucket = bucket;
      e.variant = decode ? "decode" : "prefill";
      e.schedule = ranked[0].second.str();
      e.seconds = ranked[0].first, e.defaultSeconds = defS, e.how = "cost model", e.candidates = int(ranked.size());
      e.key = currentMachine(target);
      if (int rc = storeTuned(dbPath, e, " (how: cost model)"); rc) status = rc;
    }
  }
  return status;
}

}  // namespace attnc::driver
