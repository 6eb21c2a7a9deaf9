#include "driver/TuningDb.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#ifndef ATTNC_VERSION_STRING
#define ATTNC_VERSION_STRING "0"
#endif

namespace attnc::driver {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

constexpr const char *kFormat = "attnc-tuning-db";
constexpr int kFormatVersion = 1;

int64_t pow2At(int64_t x) {
  int64_t p = 1;
  while (p < x && p < (int64_t(1) << 40)) p <<= 1;
  return p;
}

std::string cpuModel() {
  std::ifstream f("/proc/cpuinfo");
  std::string line, model = "unknown CPU", flags;
  while (std::getline(f, line)) {
    if (line.rfind("model name", 0) == 0 && model == "unknown CPU") model = line.substr(line.find(':') + 2);
    if (line.rfind("flags", 0) == 0 && flags.empty()) flags = " " + line.substr(line.find(':') + 1) + " ";
  }
  std::string features;
  for (const char *ft : {"avx2", "fma", "avx512f", "avx512bw", "avx512_bf16", "avx512_fp16", "amx_bf16", "amx_tile"})
    if (flags.find(std::string(" ") + ft + " ") != std::string::npos) features += std::string(features.empty() ? "" : "+") + ft;
  return model + " [" + features + "]";
}

json toJson(const TuningEntry &e) {
  return {{"kernel", e.kernel},
          {"spec_hash", e.specHash},
          {"target", e.target},
          {"bucket", {{"batch", e.bucket.batch}, {"seq_q", e.bucket.seqQ}, {"seq_kv", e.bucket.seqKv}}},
          {"variant", e.variant},
          {"schedule", e.schedule},
          {"seconds", e.seconds},
          {"default_seconds", e.defaultSeconds},
          {"how", e.how},
          {"candidates", e.candidates},
          {"tune_seconds", e.tuneSeconds},
          {"when", e.when},
          {"machine", e.key.machine},
          {"versions", e.key.versions}};
}

TuningEntry fromJson(const json &j) {
  TuningEntry e;
  e.kernel = j.at("kernel").get<std::string>();
  e.specHash = j.at("spec_hash").get<std::string>();
  e.target = j.at("target").get<std::string>();
  const json &b = j.at("bucket");
  e.bucket = {b.at("batch").get<int64_t>(), b.at("seq_q").get<int64_t>(), b.at("seq_kv").get<int64_t>()};
  e.variant = j.at("variant").get<std::string>();
  e.schedule = j.at("schedule").get<std::string>();
  e.seconds = j.at("seconds").get<double>();
  e.defaultSeconds = j.value("default_seconds", 0.0);
  e.how = j.value("how", std::string("measured"));
  e.candidates = j.value("candidates", 0);
  e.tuneSeconds = j.value("tune_seconds", 0.0);
  e.when = j.value("when", std::string());
  e.key.machine = j.at("machine").get<std::string>();
  e.key.versions = j.at("versions").get<std::string>();
  return e;
}

bool sameSlot(const TuningEntry &a, const TuningEntry &b) {
  return a.specHash == b.specHash && a.target == b.target && a.bucket == b.bucket && a.variant == b.variant &&
         a.key == b.key;
}

/// Parses `text` into entries; false, with why, when it is not a database of this format.
bool parse(const std::string &text, std::vector<TuningEntry> &out, std::string &why) {
  if (text.find_first_not_of(" \t\r\n") == std::string::npos) return why = "it is empty", false;
  json j;
  try {
    j = json::parse(text);
  } catch (const std::exception &e) {
    why = std::string("it is not valid JSON (truncated or corrupt): ") + e.what();
    return false;
  }
  if (!j.is_object() || j.value("format", std::string()) != kFormat) return why = "it is not an attnc tuning database", false;
  if (j.value("version", 0) != kFormatVersion)
    return why = fmt::format("it has format version {}, this attnc reads {}", j.value("version", 0), kFormatVersion),
           false;
  try {
    for (const json &e : j.at("entries")) out.push_back(fromJson(e));
  } catch (const std::exception &e) {
    out.clear();
    why = std::string("an entry is malformed: ") + e.what();
    return false;
  }
  return true;
}

bool readFile(const std::string &path, std::string &text) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return false;
  std::ostringstream s;
  s << f.rdbuf();
  text = s.str();
  return !f.bad();
}

std::string nowIso() {
  std::time_t t = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return buf;
}

}  // namespace

ShapeBucket ShapeBucket::of(int64_t batch, int64_t seqQ, int64_t seqKv) {
  return {pow2At(batch), pow2At(seqQ), pow2At(seqKv)};
}

std::string ShapeBucket::str() const { return fmt::format("b{} q{} kv{}", batch, seqQ, seqKv); }

MachineKey currentMachine(const std::string &target) {
  MachineKey k;
  k.versions = std::string("attnc ") + ATTNC_VERSION_STRING + ", Halide 14, ABI 1";
  if (target.rfind("cuda", 0) == 0) k.machine = "cost model (no GPU)";
  else k.machine = cpuModel();
  return k;
}

std::string TuningDb::resolvePath(const std::string &explicitPath) {
  if (!explicitPath.empty()) return explicitPath;
  if (const char *e = std::getenv("ATTNC_TUNING_DB"); e && *e) return e;
  if (const char *x = std::getenv("XDG_CACHE_HOME"); x && *x) return std::string(x) + "/attnc/tuning.json";
  if (const char *h = std::getenv("HOME"); h && *h) return std::string(h) + "/.cache/attnc/tuning.json";
  return "attnc-tuning.json";
}

TuningDb TuningDb::load(const std::string &path, bool warnIfMissing, std::string &warning) {
  TuningDb db;
  std::error_code ec;
  if (!fs::exists(path, ec)) {
    if (warnIfMissing) warning = fmt::format("the tuning database `{}` does not exist: default schedules", path);
    return db;
  }
  std::string text, why;
  if (!readFile(path, text)) {
    warning = fmt::format("cannot read the tuning database `{}` ({}): default schedules", path, std::strerror(errno));
    return db;
  }
  if (!parse(text, db.entries_, why)) {
    warning = fmt::format("ignoring the tuning database `{}`: {}; default schedules", path, why);
    db.entries_.clear();
  }
  return db;
}

const TuningEntry *TuningDb::find(const std::string &specHash, const std::string &target, const ShapeBucket &b,
                                  const MachineKey &m) const {
  for (const TuningEntry &e : entries_)
    if (e.specHash == specHash && e.target == target && e.bucket == b && e.key == m) return &e;
  return nullptr;
}

namespace {
bool cudaTarget(const std::string &target) { return target.rfind("cuda", 0) == 0; }
/// CUDA entries, best first: timed on a GPU, ranked by the cost model, timed
/// on the SIMT emulator (tests of the tuner).
int cudaRank(const TuningEntry &e) { return e.how == "measured" ? 2 : e.how == "cost model" ? 1 : 0; }
}  // namespace

std::vector<TuningEntry> TuningDb::usable(const std::string &specHash, const std::string &target,
                                          const MachineKey &m) const {
  std::vector<TuningEntry> out;
  if (!cudaTarget(target)) {
    for (const TuningEntry &e : entries_)
      if (e.specHash == specHash && e.target == target && e.key == m) out.push_back(e);
    return out;
  }
  // A CUDA compile runs anywhere (nvcc needs no GPU), so entries of every
  // machine of these versions apply: per bucket and variant the best kind
  // (a GPU's timing, then the cost model's ranking, then the emulator's),
  // the newest among equals.
  for (const TuningEntry &e : entries_) {
    if (e.specHash != specHash || e.target != target || e.key.versions != m.versions) continue;
    auto same = std::find_if(out.begin(), out.end(), [&](const TuningEntry &x) {
      return x.bucket == e.bucket && x.variant == e.variant;
    });
    if (same == out.end()) out.push_back(e);
    else if (cudaRank(e) > cudaRank(*same) || (cudaRank(e) == cudaRank(*same) && e.when > same->when)) *same = e;
  }
  return out;
}

int TuningDb::foreign(const std::string &specHash, const std::string &target, const MachineKey &m) const {
  int n = 0;
  for (const TuningEntry &e : entries_)
    n += e.specHash == specHash && e.target == target &&
         !(cudaTarget(target) ? e.key.versions == m.versions : e.key == m);
  return n;
}

bool TuningDb::upsert(const std::string &path, const TuningEntry &entry, std::string &error, std::string &warning) {
  std::error_code ec;
  const fs::path p(path);
  if (p.has_parent_path()) fs::create_directories(p.parent_path(), ec);
  const std::string lockPath = path + ".lock";
  const int lock = ::open(lockPath.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (lock < 0) {
    error = fmt::format("cannot write the tuning database: `{}`: {}", lockPath, std::strerror(errno));
    return false;
  }
  struct Unlock {
    int fd;
    ~Unlock() {
      ::flock(fd, LOCK_UN);
      ::close(fd);
    }
  } unlock{lock};
  while (::flock(lock, LOCK_EX) != 0)
    if (errno != EINTR) {
      error = fmt::format("cannot lock `{}`: {}", lockPath, std::strerror(errno));
      return false;
    }
  // Under the lock: what is on disk now (another tune may have written since we read).
  std::vector<TuningEntry> entries;
  if (fs::exists(p, ec)) {
    std::string text, why;
    if (!readFile(path, text)) {
      error = fmt::format("cannot read the tuning database `{}`: {}", path, std::strerror(errno));
      return false;
    }
    if (!parse(text, entries, why)) {
      // Kept aside, never overwritten: nothing in it is lost.
      const std::string aside = fmt::format("{}.corrupt-{}", path, static_cast<long long>(std::time(nullptr)));
      fs::rename(p, aside, ec);
      if (ec) {
        error = fmt::format("the tuning database `{}` cannot be parsed ({}) nor moved aside: {}", path, why, ec.message());
        return false;
      }
      warning = fmt::format("the tuning database `{}` could not be parsed ({}); it was moved to `{}` and a new one "
                            "started",
                            path, why, aside);
      entries.clear();
    }
  }
  TuningEntry e = entry;
  if (e.when.empty()) e.when = nowIso();
  bool replaced = false;
  for (TuningEntry &x : entries)
    if (sameSlot(x, e)) x = e, replaced = true;
  if (!replaced) entries.push_back(e);
  json j = {{"format", kFormat}, {"version", kFormatVersion}, {"entries", json::array()}};
  j["metadata"] = {{"written_by", currentMachine(e.target).versions}, {"machine", currentMachine(e.target).machine},
                   {"written_at", nowIso()}};
  for (const TuningEntry &x : entries) j["entries"].push_back(toJson(x));
  const std::string tmp = fmt::format("{}.tmp.{}", path, static_cast<long>(::getpid()));
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    f << j.dump(2) << "\n";
    f.flush();
    if (!f) {
      error = fmt::format("cannot write the tuning database: `{}`: {}", tmp, std::strerror(errno));
      fs::remove(tmp, ec);
      return false;
    }
  }
  if (const int fd = ::open(tmp.c_str(), O_RDONLY | O_CLOEXEC); fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    error = fmt::format("cannot replace the tuning database `{}`: {}", path, std::strerror(errno));
    fs::remove(tmp, ec);
    return false;
  }
  return true;
}

std::string hashText(const std::string &text) {
  uint64_t h = 14695981039346656037ull;  // FNV-1a 64: offset basis, then the prime
  for (unsigned char c : text) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return fmt::format("{:016x}", h);
}

}  // namespace attnc::driver
