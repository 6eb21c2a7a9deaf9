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
#include <nlohmann/json.hpp>

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

/// The most registers and spilled bytes of the attention_kernel
/// instantiations in an `nvcc -Xptxas -v` log.
PtxasFigures ptxasFigures(const std::string &log) {
  PtxasFigures f;
  std::ifstream in(log);
  std::string line;
  bool attention = false;
  while (std::getline(in, line)) {
    if (line.find("Compiling entry function") != std::string::npos) attention = line.find("attention_kernel") != std::string::npos;
    if (!attention) continue;
    if (line.find("bytes spill stores") != std::string::npos) {
      // "N bytes stack frame, S bytes spill stores, L bytes spill loads"
      int stack = 0, stores = 0, loads = 0;
      std::sscanf(line.c_str(), " %d bytes stack frame, %d bytes spill stores, %d bytes spill loads", &stack, &stores, &loads);
      f.spills = std::max(f.spills, stores + loads);
    }
    if (auto at = line.find("Used "); at != std::string::npos) f.regs = std::max(f.regs, std::atoi(line.c_str() + at + 5));
  }
  return f;
}

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
  f = ptxasFigures(log);
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

/// Writes a measured tune's directory for one shape: each candidate's
/// sources (its schedule as both of the kernel's schedules, so that it runs
/// on every shape) in cI/ with cI/build.sh, the timer with build-timer.sh
/// (each script leaves its log and exit status beside it), the inputs of the
/// check and timing shapes, job.txt, and run.sh, which runs the builds in
/// parallel and then the timer into timer.out. Paths inside are relative and
/// the scripts name only nvcc (or g++), so the directory can be carried to a
/// GPU machine without attnc (--export-job). False, with `error`.
bool writeJob(const KernelPlan &plan, bool decode, const TuneShape &shape, cuda::Arch arch, bool emulate, uint32_t seed,
              int rounds, std::vector<CudaCandidate> &cands, const std::string &dir, std::string &error) {
  const KernelDesc &d = plan.desc;
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return error = "cannot create " + dir + ": " + ec.message(), false;
  const std::string archFlag = arch == cuda::Arch::Sm90a ? "sm_90a" : cuda::archName(arch);
  auto script = [&](const std::string &path, const std::string &body) {
    std::ofstream f(path);
    f << "#!/bin/sh\n# attnc tune -target cuda (docs/tuning.md); run from the job directory.\n" << body << "\n";
    return bool(f);
  };
  for (size_t i = 0; i < cands.size(); ++i) {
    CudaCandidate &c = cands[i];
    c.dir = fmt::format("c{}", i);
    cuda::EmitOptions eo;
    eo.dir = dir + "/" + c.dir;
    eo.arch = arch;
    eo.schedule = eo.decodeSchedule = fullText(d, c.s);
    std::string err;
    if (cuda::emit({plan}, eo, err) != EmitStatus::Ok) {
      if (i == 0) return error = "the default schedule cannot be generated: " + err, false;
      c.rejected = "cannot generate: " + err.substr(0, 300);
      continue;
    }
    const std::string cu = c.dir + "/" + d.name + ".cu";
    const std::string cmd =
        emulate ? fmt::format("\"${{CXX:-g++}}\" -std=c++17 -O1 -g0 -fPIC -shared -DATTNC_SIMT_EMULATION -I {0} -x c++ {1} "
                              "-o {0}/k.so > {0}/log.txt 2>&1",
                              c.dir, cu)
                : fmt::format("\"${{NVCC:-nvcc}}\" -std=c++17 -O3 -arch={2} -Xptxas -v -shared -Xcompiler -fPIC -cudart shared "
                              "-I {0} {1} -o {0}/k.so > {0}/log.txt 2>&1",
                              c.dir, cu, archFlag);
    if (!script(dir + "/" + c.dir + "/build.sh", cmd + "\necho $? > " + c.dir + "/rc"))
      return error = "cannot write in " + dir, false;
  }
  std::ofstream(dir + "/timer.cpp") << templates::kCudaTimer;
  const std::string timerCmd =
      emulate ? "\"${CXX:-g++}\" -std=c++17 -O1 -DATTNC_SIMT_EMULATION -I c0 timer.cpp -o timer -ldl -pthread > timer.log 2>&1"
              : "\"${NVCC:-nvcc}\" -std=c++17 -O2 -cudart shared -I c0 -x cu timer.cpp -o timer -ldl > timer.log 2>&1";
  if (!script(dir + "/build-timer.sh", timerCmd + "\necho $? > timer.rc") ||
      !script(dir + "/run.sh", "cd \"$(dirname \"$0\")\" || exit 2\nPATH=$PATH:/usr/local/cuda/bin\nexport PATH\n"
                               "ls build-timer.sh c*/build.sh | xargs -P \"$(nproc 2>/dev/null || echo 4)\" -n 1 sh\n"
                               "./timer . > timer.out 2>&1"))
    return error = "cannot write in " + dir, false;

  // ---- Data: a small check shape (the reference's) and the timing shape.
  const int64_t vq = decode ? shape.seqQ : std::min<int64_t>(shape.seqQ, 80);
  const int64_t vk = std::min<int64_t>(shape.seqKv, 200);
  KernelArgs va = makeArgs(d, 1, vq, vk, seed);
  scaleProjections(va);
  fillBlockMask(va, 0.5, seed);
  KernelArgs ta = makeArgs(d, shape.batch, shape.seqQ, shape.seqKv, seed + 1, 1.0, false);
  fillBlockMask(ta, 0.25, seed + 1);
  std::ofstream job(dir + "/job.txt");
  job << "kernel " << d.name << "\n";
  job << fmt::format("shape 1 {} {} {} {} {}\n", vq, vk, shape.batch, shape.seqQ, shape.seqKv);
  job << "rounds " << rounds << "\n";
  job << "sample " << (emulate ? 0.0 : 0.05) << "\n";
  for (size_t i = 0; i < va.sig.size(); ++i) {
    job << "arg " << int(va.sig[i].output) << " " << va.tensors[i].dtype << " " << va.tensors[i].ndim;
    for (const KernelArgs *a : {&va, &ta})
      for (int k = 0; k < 4; ++k) job << " " << (k < a->tensors[i].ndim ? a->tensors[i].shape[k] : 1);
    job << "\n";
    // The timing shape's float inputs are the timer's to generate (their
    // values do not change the time); integer ones (document ids, block
    // masks, tables) are attnc's, since they decide the work.
    if (!va.sig[i].output &&
        (!writeArg(va, i, fmt::format("{}/check-{}.bin", dir, i)) ||
         (!dsl::isFloat(va.sig[i].dtype) && !writeArg(ta, i, fmt::format("{}/time-{}.bin", dir, i)))))
      return error = "cannot write the inputs in " + dir + " (disk full?)", false;
  }
  for (const CudaCandidate &c : cands) job << "cand " << c.dir << "/k.so\n";
  job.close();
  if (!job) return error = "cannot write " + dir + "/job.txt", false;
  return true;
}

/// Runs a job here: the builds a few at a time (with progress), then the timer.
void runJob(const std::string &dir, const std::vector<CudaCandidate> &cands, bool emulate, Progress &progress) {
  std::vector<std::string> scripts{"build-timer.sh"};
  for (const CudaCandidate &c : cands)
    if (c.rejected.empty()) scripts.push_back(c.dir + "/build.sh");
  std::string env;
  if (!emulate) env = fmt::format("NVCC='{}' ", nvccPath());
  const unsigned jobs = std::max(1u, std::min(16u, std::thread::hardware_concurrency()));
  std::atomic<size_t> next{0}, finished{0};
  std::vector<std::thread> pool;
  for (unsigned t = 0; t < std::min<size_t>(jobs, scripts.size()); ++t)
    pool.emplace_back([&] {
      for (size_t i; (i = next.fetch_add(1)) < scripts.size();) {
        [[maybe_unused]] const int rc = std::system(fmt::format("cd '{}' && {}sh {}", dir, env, scripts[i]).c_str());
        finished.fetch_add(1);
      }
    });
  const auto t0 = Clock::now();
  while (finished.load() < scripts.size()) {
    progress.line(fmt::format("  building with {}: {}/{} done ({:.0f} s)", emulate ? "g++" : "nvcc", finished.load(),
                              scripts.size(), since(t0)));
    std::this_thread::sleep_for(std::chrono::milliseconds(progress.tty ? 250 : 5000));
  }
  for (std::thread &t : pool) t.join();
  progress.done();
  progress.line(fmt::format("  checking and timing on the {}", emulate ? "SIMT emulator" : "GPU"));
  [[maybe_unused]] const int rc = std::system(fmt::format("cd '{}' && ./timer . > timer.out 2>&1", dir).c_str());
  progress.done();
}

/// Reads a job's results (here or carried back from another machine): the
/// builds' verdicts and ptxas's registers, the timer's lines, the check's
/// outputs against the reference. Fills each candidate's verdict and times;
/// returns the device's name, or "" with `error` when the job did not run.
std::string readJob(const KernelPlan &plan, bool decode, const TuneShape &shape, uint32_t seed, const std::string &dir,
                    std::vector<CudaCandidate> &cands, std::string &error) {
  const KernelDesc &d = plan.desc;
  auto firstLine = [](const std::string &path) {
    std::ifstream in(path);
    std::string l;
    std::getline(in, l);
    return l;
  };
  if (!std::filesystem::exists(dir + "/timer.rc"))
    return error = "the job in " + dir + " has not run (run its run.sh first)", "";
  if (firstLine(dir + "/timer.rc") != "0")
    return error = "the timer did not build in " + dir + ":\n" + slurp(dir + "/timer.log"), "";
  for (CudaCandidate &c : cands) {
    if (!c.rejected.empty()) continue;
    if (firstLine(dir + "/" + c.dir + "/rc") != "0") {
      c.rejected = "does not build: " + slurp(dir + "/" + c.dir + "/log.txt", 300);
      continue;
    }
    // ptxas's registers and spills of the attention kernels (nvcc builds).
    const PtxasFigures f = ptxasFigures(dir + "/" + c.dir + "/log.txt");
    c.regs = f.regs, c.spills = f.spills;
    if (c.spills > 0) {
      c.rejected = fmt::format("spills {} bytes ({} registers, ptxas)", c.spills, c.regs);
      continue;
    }
    c.built = true;
  }
  // ---- The timer's lines.
  std::ifstream out(dir + "/timer.out");
  if (!out) return error = "no timer.out in " + dir + " (the job has not run)", "";
  std::string device, line;
  std::map<size_t, std::string> failed;
  while (std::getline(out, line)) {
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
      if (j >= cands.size()) continue;
      if (key == "TIME") {
        double t = 0;
        if (in >> t && t > 0) cands[j].times.push_back(t);
        continue;
      }
      int status = 0;
      in >> status;
      std::string msg;
      std::getline(in >> std::ws, msg);
      if (status != 0) failed[j] = fmt::format("status {}: {}", status, msg);
    }
  }
  if (device.empty()) return error = "the timer did not run:\n" + slurp(dir + "/timer.out", 2000), "";
  // ---- Verdicts: the check's outputs against the reference (the same data).
  const int64_t vq = decode ? shape.seqQ : std::min<int64_t>(shape.seqQ, 80);
  const int64_t vk = std::min<int64_t>(shape.seqKv, 200);
  KernelArgs va = makeArgs(d, 1, vq, vk, seed);
  scaleProjections(va);
  fillBlockMask(va, 0.5, seed);
  HostTensor rOut, rLse, rMax;
  {
    std::string err;
    auto ref = ReferenceKernel::create(plan);
    if (!ref || !ref->run(va.inputs(), rOut, d.outputLse ? &rLse : nullptr, err, 0, &rMax))
      return error = "the reference run: " + err, "";
  }
  const size_t outIdx = va.sig.size() - (d.outputLse ? 2 : 1);
  for (size_t j = 0; j < cands.size(); ++j) {
    CudaCandidate &c = cands[j];
    if (!c.built) continue;
    if (failed.count(j)) {
      c.rejected = "fails to run: " + failed[j];
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

/// The default of a shape's variant and the legal schedules of the grid,
/// ranked by the cost model (the default first among equals).
std::vector<std::pair<double, cuda::Schedule>> rankSchedules(const KernelDesc &d, cuda::Arch arch, const std::string &card,
                                                             const TuneShape &shape, const cuda::Schedule &def) {
  std::vector<std::pair<double, cuda::Schedule>> ranked;
  std::set<std::string> seen;
  seen.insert(def.str());
  ranked.push_back({cuda::modelSeconds(d, def, arch, card, shape.batch, shape.seqQ, shape.seqKv), def});
  for (int wm : {1, 2, 4, 8})
    for (int wn : {1, 2, 4})
      for (int mt : {1, 2})
        for (int n : {16, 32, 64, 128})
          for (int st : {1, 2})
            for (int split : {def.maxSplits, 1, 16, 256}) {
              cuda::Schedule s = def;
              s.warpsM = wm, s.warpsN = wn, s.mTiles = mt, s.blockN = n, s.stages = st, s.maxSplits = split;
              std::string why;
              if ((wn > 1 && wm > 1) || !cuda::legalize(d, arch, s, why) || !seen.insert(s.str()).second) continue;
              ranked.push_back({cuda::modelSeconds(d, s, arch, card, shape.batch, shape.seqQ, shape.seqKv), s});
            }
  std::stable_sort(ranked.begin(), ranked.end(), [](const auto &a, const auto &b) { return a.first < b.first; });
  return ranked;
}

/// The measured candidates of a shape: the default, the model's best few,
/// other split limits (decode), and (tests) an injected wrong one.
std::vector<CudaCandidate> measuredCandidates(const std::vector<std::pair<double, cuda::Schedule>> &ranked,
                                              const cuda::Schedule &def, double defS, size_t keep, bool decode,
                                              bool injectWrong) {
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
  // Split-KV's limit, which the cost model leaves to the host's rule (it
  // does not price the combine): for decode, where splits matter most, the
  // default with none and with four times its limit are timed too.
  if (decode)
    for (int v : {1, std::min(1024, def.maxSplits * 4)}) {
      CudaCandidate c = dc;
      c.s.maxSplits = v;
      if (v == def.maxSplits ||
          std::any_of(cands.begin(), cands.end(), [&](const CudaCandidate &x) { return x.s.str() == c.s.str(); }))
        continue;
      c.label = "split";
      cands.push_back(c);
    }
  if (injectWrong) {
    // The default's schedule again with its output corrupted after the
    // check run: it must be rejected and never stored.
    CudaCandidate c = dc;
    c.label = "injected wrong", c.injected = true;
    cands.insert(cands.begin() + 1, c);
  }
  return cands;
}

/// The table, plot and database entry of a measured shape. An exit code.
int finishMeasured(const KernelPlan &plan, const std::string &specHash, const std::string &target, const std::string &card,
                   const TuneShape &shape, bool decode, double defS, const std::vector<CudaCandidate> &cands,
                   const std::string &device, double tuneS, const TuneOptions &o, const std::string &dbPath) {
  const KernelDesc &d = plan.desc;
  const bool emulated = device == "SIMT emulator";
  int status = 0;
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
  const double flops = 2.0 * double(d.headDim + d.valueDim) * double(shape.batch) *
                       double(d.heads - int64_t(d.prunedHeads.size())) * double(shape.seqQ) * double(shape.seqKv);
  const cuda::Card *cardInfo = cuda::findCard(card);
  const double roof = cardInfo ? (d.dtype == dsl::DType::F32 ? cardInfo->f32Tflops : cardInfo->tensorTflops) * 1e3 : 0;
  std::printf("on %s: %zu candidates, %zu built, %zu rejected, %.1f s\n", device.c_str(), cands.size(), built, rejected,
              tuneS);
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
    if (!c.rejected.empty()) std::printf("rejected: %s (%s): %s\n", c.s.str().c_str(), c.label.c_str(), c.rejected.c_str());
  if (!win) return report(ErrorId::tune_failed, "no candidate passed the check against the reference");
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
    f << svgBars(bars, fmt::format("attnc tune `{}` {} b{} q{} kv{} on {}: GFLOP/s of every candidate", d.name, target,
                                   shape.batch, shape.seqQ, shape.seqKv, device));
    if (!f) status = report(ErrorId::cannot_write, o.plot);
  }
  if (o.store) {
    TuningEntry e;
    e.kernel = d.name, e.specHash = specHash, e.target = target;
    e.bucket = ShapeBucket::of(shape.batch, shape.seqQ, shape.seqKv);
    e.variant = decode ? "decode" : "prefill";
    e.schedule = win->s.str();
    e.seconds = win->best, e.defaultSeconds = dflt ? dflt->best : 0;
    e.how = emulated ? "measured (SIMT emulator)" : "measured";
    e.candidates = int(cands.size()), e.tuneSeconds = tuneS;
    e.key = currentMachine(target);
    e.key.machine = device;
    if (int rc = storeTuned(dbPath, e, emulated ? " (how: measured on the SIMT emulator)" : ""); rc) status = rc;
  }
  return status;
}

/// --import-job DIR: the results of an exported job (run.sh run on a GPU
/// machine) checked against the reference here and stored.
int importJob(const KernelPlan &plan, const std::string &specHash, const TuneOptions &o) {
  const KernelDesc &d = plan.desc;
  const std::string dbPath = TuningDb::resolvePath(o.db);
  nlohmann::json j;
  try {
    std::ifstream in(o.importJob + "/tune.json");
    if (!in) return report(ErrorId::tune_failed, "no tune.json in `" + o.importJob + "` (not an exported job)");
    j = nlohmann::json::parse(in);
    if (j.at("format") != "attnc-cuda-tune-job" || j.at("version") != 1)
      return report(ErrorId::tune_failed, "`" + o.importJob + "/tune.json` is not an attnc tune job of this version");
  } catch (const std::exception &e) {
    return report(ErrorId::tune_failed, fmt::format("`{}/tune.json`: {}", o.importJob, e.what()));
  }
  int status = 0;
  try {
    if (j.at("kernel") != d.name || j.at("spec_hash") != specHash)
      return report(ErrorId::tune_failed, fmt::format("the job in `{}` is for `{}` (spec hash {}), not this spec's `{}` ({})",
                                                      o.importJob, j.at("kernel").get<std::string>(),
                                                      j.at("spec_hash").get<std::string>(), d.name, specHash));
    cuda::Arch arch;
    const std::string archName = j.at("arch").get<std::string>();
    if (!cuda::archFromName(archName, arch)) return report(ErrorId::unknown_arch, archName);
    const std::string target = j.at("target").get<std::string>();
    const uint32_t seed = j.at("seed").get<uint32_t>();
    for (const nlohmann::json &sj : j.at("shapes")) {
      TuneShape shape;
      shape.batch = sj.at("batch"), shape.seqQ = sj.at("seq_q"), shape.seqKv = sj.at("seq_kv");
      const bool decode = sj.at("decode");
      const cuda::Schedule def = cuda::defaultSchedule(d, arch, decode);
      std::vector<CudaCandidate> cands;
      for (const nlohmann::json &cj : sj.at("candidates")) {
        CudaCandidate c;
        c.s = def;
        std::string err;
        if (!cuda::parseSchedule(cj.at("schedule").get<std::string>(), c.s, err))
          return report(ErrorId::tune_failed, "the job's schedule: " + err);
        c.label = cj.at("label"), c.model = cj.at("model"), c.injected = cj.at("injected");
        c.rejected = cj.at("rejected"), c.dir = cj.at("dir");
        cands.push_back(c);
      }
      const std::string dir = o.importJob + "/" + sj.at("dir").get<std::string>();
      std::string err;
      const std::string device = readJob(plan, decode, shape, seed, dir, cands, err);
      std::printf("`%s`, batch %lld, seq_q %lld, seq_kv %lld (%s, %s): the job in %s\n", d.name.c_str(),
                  (long long)shape.batch, (long long)shape.seqQ, (long long)shape.seqKv, decode ? "decode" : "prefill",
                  target.c_str(), dir.c_str());
      if (device.empty()) {
        status = report(ErrorId::tune_failed, err);
        continue;
      }
      const std::string card = cardFor(o.card, device, arch);
      const double defS = cuda::modelSeconds(d, def, arch, card, shape.batch, shape.seqQ, shape.seqKv);
      if (int rc = finishMeasured(plan, specHash, target, card, shape, decode, defS, cands, device, 0, o, dbPath); rc)
        status = rc;
    }
  } catch (const std::exception &e) {
    return report(ErrorId::tune_failed, fmt::format("`{}/tune.json`: {}", o.importJob, e.what()));
  }
  return status;
}

}  // namespace

int tuneCuda(const KernelPlan &plan, const std::string &specHash, const TuneOptions &o) {
  if (!o.importJob.empty()) return importJob(plan, specHash, o);
  const KernelDesc &d = plan.desc;
  cuda::Arch arch;
  if (!cuda::archFromName(o.arch, arch)) return report(ErrorId::unknown_arch, o.arch);
  const std::string target = std::string("cuda-") + cuda::archName(arch);
  const std::string dbPath = TuningDb::resolvePath(o.db);
  // How candidates are measured: on this machine's GPU (when it has one of
  // the arch asked for, and nvcc), else by the cost model alone; an
  // exported job on whatever machine runs it.
  std::string how = o.measure, gpuName, gpuArch;
  const bool exporting = !o.exportJob.empty();
  std::string whyModel;
  if (exporting) {
    if (how != "emulator") how = "gpu";
  } else if (how == "auto" || how == "gpu") {
    const bool haveGpu = detectGpu(gpuName, gpuArch);
    if (!haveGpu) whyModel = "no GPU here (nvidia-smi finds none)";
    else if (gpuArch != cuda::archName(arch))
      whyModel = fmt::format("the GPU here ({}, {}) is not the arch asked for ({})", gpuName, gpuArch, o.arch);
    else if (nvccPath().empty()) whyModel = "nvcc not found (set NVCC)";
    if (!whyModel.empty() && how == "gpu") return report(ErrorId::tune_failed, "--measure gpu: " + whyModel);
    how = whyModel.empty() ? "gpu" : "model";
  }
  const bool emulate = how == "emulator";
  const std::string card = cardFor(o.card, how == "gpu" ? gpuName : "", arch);
  if (exporting)
    std::fprintf(stderr, "attnc tune: `%s` for %s: writing a job to %s (run its run.sh on a %s, then --import-job)\n",
                 d.name.c_str(), target.c_str(), o.exportJob.c_str(),
                 emulate ? "machine with g++ (SIMT emulator)" : "GPU machine with nvcc");
  else if (how == "model")
    std::fprintf(stderr, "attnc tune: `%s` for %s: %s, so candidates are ranked by the cost model (not timed)\n",
                 d.name.c_str(), target.c_str(), whyModel.empty() ? "--measure model" : whyModel.c_str());
  else
    std::fprintf(stderr, "attnc tune: `%s` for %s: candidates built and timed on %s, budget %.0f s per shape, database %s\n",
                 d.name.c_str(), target.c_str(), emulate ? "the SIMT emulator (tests: its times are not a GPU's)" : gpuName.c_str(),
                 o.budget, dbPath.c_str());
  Progress progress;
  int status = 0;
  nlohmann::json jobShapes = nlohmann::json::array();
  for (size_t si = 0; si < o.shapes.size(); ++si) {
    const TuneShape &shape = o.shapes[si];
    const auto t0 = Clock::now();
    const bool decode = shape.seqQ * d.tileGroup() <= cuda::defaultSchedule(d, arch, true).blockM();
    const ShapeBucket bucket = ShapeBucket::of(shape.batch, shape.seqQ, shape.seqKv);
    const cuda::Schedule def = cuda::defaultSchedule(d, arch, decode);
    std::vector<std::pair<double, cuda::Schedule>> ranked = rankSchedules(d, arch, card, shape, def);
    const size_t legal = ranked.size();
    double defS = cuda::modelSeconds(d, def, arch, card, shape.batch, shape.seqQ, shape.seqKv);
    if (how == "gpu" || how == "emulator") {
      std::printf("`%s`, batch %lld, seq_q %lld, seq_kv %lld (%s, %s): %zu legal schedules, ranked by the cost model "
                  "on %s\n",
                  d.name.c_str(), (long long)shape.batch, (long long)shape.seqQ, (long long)shape.seqKv,
                  decode ? "decode" : "prefill", target.c_str(), legal, card.c_str());
      // ---- Measured: the model's best few and the default, built, checked, timed.
      const size_t keep = std::clamp<size_t>(size_t(o.budget / (emulate ? 10.0 : 6.0)), 2, 24);
      std::vector<CudaCandidate> cands = measuredCandidates(ranked, def, defS, keep, decode, o.injectWrong);
      for (CudaCandidate &c : cands) c.model = cuda::modelSeconds(d, c.s, arch, card, shape.batch, shape.seqQ, shape.seqKv);
      const int rounds = emulate ? 2 : std::clamp(int(o.budget / 6), 5, 30);
      std::string err;
      if (exporting) {
        const std::string sub = fmt::format("shape-{}", si);
        if (!writeJob(plan, decode, shape, arch, emulate, o.seed, rounds, cands, o.exportJob + "/" + sub, err))
          return report(ErrorId::tune_failed, err);
        nlohmann::json cj = nlohmann::json::array();
        for (const CudaCandidate &c : cands)
          cj.push_back({{"schedule", fullText(d, c.s)}, {"label", c.label}, {"model", c.model},
                        {"injected", c.injected}, {"rejected", c.rejected}, {"dir", c.dir}});
        jobShapes.push_back({{"dir", sub}, {"batch", shape.batch}, {"seq_q", shape.seqQ}, {"seq_kv", shape.seqKv},
                             {"decode", decode}, {"candidates", cj}});
        std::printf("  %zu candidates in %s/%s\n", cands.size(), o.exportJob.c_str(), sub.c_str());
        continue;
      }
      char tmpl[] = "/tmp/attnc-tune-cuda-XXXXXX";
      if (!::mkdtemp(tmpl)) return report(ErrorId::tune_failed, "no temporary directory");
      struct Cleanup {
        std::string dir;
        ~Cleanup() {
          std::error_code ec;
          if (!std::getenv("ATTNC_TUNE_KEEP")) std::filesystem::remove_all(dir, ec);
        }
      } cleanup{tmpl};
      std::string device;
      if (writeJob(plan, decode, shape, arch, emulate, o.seed, rounds, cands, cleanup.dir, err)) {
        runJob(cleanup.dir, cands, emulate, progress);
        device = readJob(plan, decode, shape, o.seed, cleanup.dir, cands, err);
      }
      if (device.empty()) {
        status = report(ErrorId::tune_failed, err);
        continue;
      }
      if (int rc = finishMeasured(plan, specHash, target, card, shape, decode, defS, cands, device, since(t0), o, dbPath);
          rc)
        status = rc;
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
        // ptxas sees the kernel, not the host's split limit: the best few
        // distinct kernels (and the default's) are compiled, and every
        // ranked schedule of those kernels gets their registers.
        auto kernelOf = [](cuda::Schedule s) {
          s.maxSplits = 1;
          return s.str();
        };
        std::vector<cuda::Schedule> ask;
        std::set<std::string> asked;
        for (size_t i = 0; i < ranked.size() && int(ask.size()) < o.ptxas; ++i)
          if (asked.insert(kernelOf(ranked[i].second)).second) ask.push_back(ranked[i].second);
        if (asked.insert(kernelOf(def)).second) ask.push_back(def);
        std::map<std::string, PtxasFigures> figures;  // by kernel; absent: failed or spilled
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
          std::printf("     %-48s ptxas: %d registers\n", s.str().c_str(), f.regs);
          figures[kernelOf(s)] = f;
        }
        for (const auto &[model, s] : ranked) {
          auto f = figures.find(kernelOf(s));
          if (f == figures.end()) continue;
          const double t = cuda::modelSeconds(d, s, arch, card, shape.batch, shape.seqQ, shape.seqKv, f->second.regs);
          if (s.str() == def.str()) defS = t;
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
  if (exporting) {
    nlohmann::json j = {{"format", "attnc-cuda-tune-job"}, {"version", 1},     {"kernel", d.name},
                        {"spec_hash", specHash},         {"target", target}, {"arch", o.arch},
                        {"seed", o.seed},                {"shapes", jobShapes}};
    std::ofstream f(o.exportJob + "/tune.json");
    f << j.dump(1) << "\n";
    std::ofstream r(o.exportJob + "/run.sh");
    r << "#!/bin/sh\n# attnc tune --export-job: builds and times every shape's candidates on this machine\n"
         "# (docs/tuning.md); then carry the directory back and run attnc tune --import-job on it.\n"
         "cd \"$(dirname \"$0\")\" || exit 2\nfor d in shape-*; do\n  sh \"$d/run.sh\"\n"
         "  echo \"$d: $(grep -c '^TIME' \"$d/timer.out\") timings, $(grep -c '^CHECK [0-9]* 0' \"$d/timer.out\") checks run\"\n"
         "done\n";
    if (!f || !r) return report(ErrorId::cannot_write, o.exportJob);
    std::printf("wrote %s: run `sh %s/run.sh` there, then `attnc tune SPEC -target cuda --import-job %s`\n",
                o.exportJob.c_str(), o.exportJob.c_str(), o.exportJob.c_str());
  }
  return status;
}

}  // namespace attnc::driver
