// The tuning database (driver/TuningDb.h): buckets, lookups by machine and
// version, and its robustness: missing, empty, truncated, corrupt, foreign
// version and other-machine files, an unwritable directory, and two
// processes writing at once (no entry lost).
#include <catch2/catch.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <fmt/format.h>

#include "driver/TuningDb.h"

namespace attnc::test {
namespace {

namespace fs = std::filesystem;
using driver::ShapeBucket;
using driver::TuningDb;
using driver::TuningEntry;

std::string scratch(const std::string &name) {
  fs::path d = fs::temp_directory_path() / ("attnc-tuning-test-" + std::to_string(::getpid()));
  fs::create_directories(d);
  fs::remove(d / name);
  return (d / name).string();
}

TuningEntry entry(const std::string &hash, int64_t seqQ, const std::string &schedule) {
  // (Members from std::string values: GCC 12 at -O3 warns falsely of
  // -Wrestrict on assigning string literals here.)
  const std::string kernel("k"), target("x86-avx512"), variant("prefill"), how("measured");
  TuningEntry e;
  e.kernel = kernel;
  e.specHash = hash;
  e.target = target;
  e.bucket = ShapeBucket::of(1, seqQ, seqQ);
  e.variant = variant, e.schedule = schedule, e.seconds = 1e-3, e.defaultSeconds = 2e-3, e.how = how;
  e.key = driver::currentMachine(target);
  return e;
}

void write(const std::string &path, const std::string &text) { std::ofstream(path, std::ios::binary) << text; }

}  // namespace

TEST_CASE("tuning db: buckets are the powers of two at or above a shape", "[tuning]") {
  CHECK(ShapeBucket::of(1, 1, 1) == ShapeBucket{1, 1, 1});
  CHECK(ShapeBucket::of(3, 3000, 4096) == ShapeBucket{4, 4096, 4096});
  CHECK(ShapeBucket::of(2, 4097, 65) == ShapeBucket{2, 8192, 128});
  CHECK(ShapeBucket::of(3, 3000, 4096).str() == "b4 q4096 kv4096");
  CHECK(driver::specHash("ir", "a") != driver::specHash("ir", "b"));
  CHECK(driver::hashText("") == "cbf29ce484222325");  // FNV-1a's offset basis
}

TEST_CASE("tuning db: entries round-trip, replace their slot, and match this machine only", "[tuning]") {
  const std::string path = scratch("db.json");
  std::string err, warn;
  REQUIRE(TuningDb::upsert(path, entry("h1", 4096, "q8 kv128"), err, warn));
  REQUIRE(TuningDb::upsert(path, entry("h1", 1024, "q4 kv64"), err, warn));
  REQUIRE(TuningDb::upsert(path, entry("h1", 4000, "q16 kv256"), err, warn));  // same bucket as 4096: replaces it
  CHECK(warn.empty());
  TuningDb db = TuningDb::load(path, true, warn);
  CHECK(warn.empty());
  REQUIRE(db.entries().size() == 2);
  const auto m = driver::currentMachine("x86-avx512");
  const TuningEntry *e = db.find("h1", "x86-avx512", ShapeBucket::of(1, 3000, 3000), m);
  REQUIRE(e);
  CHECK(e->schedule == "q16 kv256");
  CHECK(!e->when.empty());
  CHECK(db.find("h1", "x86-avx512", ShapeBucket::of(1, 100, 100), m) == nullptr);  // another bucket: the heuristic
  CHECK(db.find("h2", "x86-avx512", ShapeBucket::of(1, 4096, 4096), m) == nullptr);
  CHECK(db.find("h1", "x86-avx2", ShapeBucket::of(1, 4096, 4096), m) == nullptr);
  // Another machine's (or version's) entry is kept but never used.
  TuningEntry other = entry("h1", 4096, "q2 kv32");
  other.key.machine = "Some Other CPU [avx2]";
  REQUIRE(TuningDb::upsert(path, other, err, warn));
  db = TuningDb::load(path, true, warn);
  CHECK(db.entries().size() == 3);
  CHECK(db.find("h1", "x86-avx512", ShapeBucket::of(1, 4096, 4096), m)->schedule == "q16 kv256");
  CHECK(db.usable("h1", "x86-avx512", m).size() == 2);
  CHECK(db.foreign("h1", "x86-avx512", m) == 1);
}

TEST_CASE("tuning db: CUDA entries of any machine apply, a GPU's timing before the model's before the emulator's",
          "[tuning]") {
  const std::string path = scratch("cuda.json"), target("cuda-sm_90a");
  std::string err, warn;
  auto cudaEntry = [&](int64_t seqQ, const std::string &how, const std::string &machine, const std::string &sched) {
    TuningEntry e = entry("h", seqQ, sched);
    e.target = target, e.how = how;
    e.key = driver::currentMachine(target);
    e.key.machine = machine;
    return e;
  };
  REQUIRE(TuningDb::upsert(path, cudaEntry(1024, "measured (SIMT emulator)", "SIMT emulator", "n16"), err, warn));
  REQUIRE(TuningDb::upsert(path, cudaEntry(1024, "cost model", "cost model (no GPU)", "n32"), err, warn));
  REQUIRE(TuningDb::upsert(path, cudaEntry(4096, "measured (SIMT emulator)", "SIMT emulator", "n128"), err, warn));
  const auto m = driver::currentMachine(target);
  TuningDb db = TuningDb::load(path, true, warn);
  auto scheduleOf = [&](int64_t seqQ) {
    for (const TuningEntry &e : db.usable("h", target, m))
      if (e.bucket == ShapeBucket::of(1, seqQ, seqQ)) return e.schedule;
    return std::string("none");
  };
  CHECK(db.usable("h", target, m).size() == 2);  // one per bucket and variant
  CHECK(scheduleOf(1024) == "n32");              // the model's before the emulator's
  CHECK(scheduleOf(4096) == "n128");             // the emulator's where it is the only one
  REQUIRE(TuningDb::upsert(path, cudaEntry(1024, "measured", "NVIDIA H100 80GB HBM3 (sm_90)", "n64"), err, warn));
  db = TuningDb::load(path, true, warn);
  CHECK(scheduleOf(1024) == "n64");  // a GPU's timing first, whichever GPU of the arch
  CHECK(db.foreign("h", target, m) == 0);
  // Another attnc version's entries are not used (and counted as foreign).
  TuningEntry old = cudaEntry(64, "measured", "NVIDIA A100", "n16");
  old.key.versions = "attnc 0.0.1, Halide 14, ABI 1";
  REQUIRE(TuningDb::upsert(path, old, err, warn));
  db = TuningDb::load(path, true, warn);
  CHECK(scheduleOf(64) == "none");
  CHECK(db.foreign("h", target, m) == 1);
}

TEST_CASE("tuning db: unreadable databases warn once and give the heuristic and writes keep them aside", "[tuning]") {
  const std::string path = scratch("bad.json");
  std::string warn;
  // Missing: silent unless named.
  CHECK(TuningDb::load(path, false, warn).entries().empty());
  CHECK(warn.empty());
  CHECK(TuningDb::load(path, true, warn).entries().empty());
  CHECK(warn.find("does not exist") != std::string::npos);
  const std::pair<const char *, const char *> bad[] = {
      {"", "empty"},
      {"{\"format\": \"attnc-tuning-db\", \"version\": 1, \"entries\": [", "not valid JSON"},
      {"\x01\x02 garbage", "not valid JSON"},
      {"[1, 2, 3]", "not an attnc tuning database"},
      {"{\"format\": \"attnc-tuning-db\", \"version\": 7, \"entries\": []}", "format version 7"},
      {"{\"format\": \"attnc-tuning-db\", \"version\": 1, \"entries\": [{\"kernel\": 3}]}", "malformed"},
  };
  for (auto [text, why] : bad) {
    INFO(why);
    write(path, text);
    warn.clear();
    CHECK(TuningDb::load(path, false, warn).entries().empty());
    CHECK(warn.find(why) != std::string::npos);
    CHECK(warn.find("default schedules") != std::string::npos);
  }
  // Writing over an unparsable database moves it aside first: nothing in it is lost.
  write(path, "{\"format\": \"attnc-tuning-db\", \"version\": 7, \"entries\": [\"precious\"]}");
  std::string err;
  warn.clear();
  REQUIRE(TuningDb::upsert(path, entry("h", 64, "q8"), err, warn));
  CHECK(warn.find("moved to") != std::string::npos);
  int aside = 0;
  for (const auto &f : fs::directory_iterator(fs::path(path).parent_path()))
    if (f.path().filename().string().rfind("bad.json.corrupt-", 0) == 0) {
      ++aside;
      std::ifstream in(f.path());
      std::string text((std::istreambuf_iterator<char>(in)), {});
      CHECK(text.find("precious") != std::string::npos);
    }
  CHECK(aside == 1);
  CHECK(TuningDb::load(path, true, warn).entries().size() == 1);
}

TEST_CASE("tuning db: an unwritable place is an error, never a crash", "[tuning]") {
  std::string err, warn;
  CHECK_FALSE(TuningDb::upsert("/proc/attnc-cannot-write/tuning.json", entry("h", 64, "q8"), err, warn));
  CHECK(err.find("cannot write the tuning database") != std::string::npos);
  // A read-only directory (where permissions apply: not to root).
  if (::geteuid() != 0) {
    const std::string path = scratch("ro/db.json");
    fs::create_directories(fs::path(path).parent_path());
    fs::permissions(fs::path(path).parent_path(), fs::perms::owner_read | fs::perms::owner_exec);
    err.clear();
    CHECK_FALSE(TuningDb::upsert(path, entry("h", 64, "q8"), err, warn));
    CHECK(!err.empty());
    fs::permissions(fs::path(path).parent_path(), fs::perms::owner_all);
  }
}

TEST_CASE("tuning db: two processes writing at once lose no entry", "[tuning]") {
  const std::string path = scratch("shared.json");
  constexpr int kEach = 25;
  pid_t kids[2];
  for (int k = 0; k < 2; ++k) {
    kids[k] = ::fork();
    REQUIRE(kids[k] >= 0);
    if (kids[k] == 0) {
      int bad = 0;
      for (int i = 0; i < kEach; ++i) {
        std::string err, warn;
        // (fmt, not string +: GCC 12 warns falsely of -Wrestrict on the latter here.)
        bad += !TuningDb::upsert(path, entry(fmt::format("p{}", k), int64_t(1) << i % 20, fmt::format("i{}", i)), err,
                                 warn);
        bad += !TuningDb::upsert(path, entry(fmt::format("q{}_{}", k, i), 8, "x"), err, warn);
      }
      ::_exit(bad ? 1 : 0);
    }
  }
  for (pid_t kid : kids) {
    int status = 0;
    ::waitpid(kid, &status, 0);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
  }
  std::string warn;
  TuningDb db = TuningDb::load(path, true, warn);
  CHECK(warn.empty());
  // Per process: 20 buckets of its p-hash (later writes replace earlier ones of
  // the same bucket) and 25 q-hashes.
  CHECK(db.entries().size() == size_t(2 * (20 + kEach)));
}

}  // namespace attnc::test
