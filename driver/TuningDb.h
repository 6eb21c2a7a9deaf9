// The tuning database (docs/tuning.md): one JSON file of the schedules
// `attnc tune` found, which every compile, `attnc bench` and attnc_add_kernel
// consult. Entries are keyed by the kernel's lowered-IR hash, the target and
// a shape bucket, and carry the machine and versions they were measured
// with: an entry of another machine or attnc version is kept but not used.
// Writes are atomic (a temporary file renamed over the database) under a
// file lock, and merge with what is on disk, so concurrent tunes lose
// nothing; a database that cannot be read is moved aside, never overwritten.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace attnc::driver {

/// Powers of two at or above each extent (the bucket a shape tunes for).
struct ShapeBucket {
  int64_t batch = 1, seqQ = 1, seqKv = 1;
  static ShapeBucket of(int64_t batch, int64_t seqQ, int64_t seqKv);
  bool operator==(const ShapeBucket &) const = default;
  std::string str() const;  // "b1 q4096 kv4096"
};

/// What a measurement depends on: the machine and the toolchain.
struct MachineKey {
  std::string machine;   // x86: CPU model and features; cuda: the GPU timed on, "SIMT emulator", or "cost model (no GPU)"
  std::string versions;  // attnc, Halide and LLVM (or CUDA) versions
  bool operator==(const MachineKey &) const = default;
};
/// This machine, for a target ("x86-avx512", "x86-avx2", "cuda-sm_80", ...).
MachineKey currentMachine(const std::string &target);

struct TuningEntry {
  std::string kernel, specHash, target;
  ShapeBucket bucket;
  std::string variant;   // "prefill" or "decode"
  std::string schedule;  // the knobs (schedules/x86 or schedules/cuda text)
  double seconds = 0, defaultSeconds = 0;  // best measured (or modelled) time, and the default's
  std::string how;       // "measured", "cost model" or (cuda, tests) "measured (SIMT emulator)"
  int candidates = 0;
  double tuneSeconds = 0;
  std::string when;      // ISO 8601, UTC
  MachineKey key;
};

class TuningDb {
public:
  /// The database path: `explicitPath`, else $ATTNC_TUNING_DB, else
  /// $XDG_CACHE_HOME/attnc/tuning.json, else ~/.cache/attnc/tuning.json.
  static std::string resolvePath(const std::string &explicitPath);

  /// Reads `path`. Never fails: a missing file is an empty database (a warning
  /// only when `warnIfMissing`); an unreadable, empty, truncated or corrupt
  /// file, or one of another format version, gives one line in `warning`
  /// and an empty database.
  static TuningDb load(const std::string &path, bool warnIfMissing, std::string &warning);

  /// The entry for this kernel hash, target, bucket and machine, if any.
  const TuningEntry *find(const std::string &specHash, const std::string &target, const ShapeBucket &b,
                          const MachineKey &m) const;
  /// Every usable entry of a kernel hash and target: x86, this machine's;
  /// CUDA (compiles need no GPU), every machine's of these versions, one per
  /// bucket and variant: a GPU's timing, else the cost model's, else the
  /// emulator's, the newest among equals.
  std::vector<TuningEntry> usable(const std::string &specHash, const std::string &target, const MachineKey &m) const;
  /// Entries for this kernel hash and target that `usable` leaves out for
  /// their machine or versions (to say why none is used).
  int foreign(const std::string &specHash, const std::string &target, const MachineKey &m) const;

  const std::vector<TuningEntry> &entries() const { return entries_; }

  /// Inserts or replaces (same hash, target, bucket, variant and machine) an
  /// entry: under an exclusive lock on PATH.lock, re-reads PATH, merges, and
  /// writes PATH.tmp.PID then renames it over PATH. A PATH that cannot be
  /// parsed is first renamed to PATH.corrupt-<time> (kept, with a warning).
  /// False, with `error`, when the directory cannot be written.
  static bool upsert(const std::string &path, const TuningEntry &e, std::string &error, std::string &warning);

private:
  std::vector<TuningEntry> entries_;
};

/// A stable 64-bit hash (FNV-1a) as 16 hex digits.
std::string hashText(const std::string &text);
/// A kernel's key in the database: the hash of its file's lowered IR (printed
/// without locations: comments, spacing and item order of the .attn do not
/// change it) and its name.
inline std::string specHash(const std::string &irText, const std::string &kernel) {
  return hashText(irText + "\n#kernel " + kernel);
}

}  // namespace attnc::driver
