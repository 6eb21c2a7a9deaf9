#include "schedules/x86/Schedule.h"

#include <algorithm>
#include <cstdlib>
#include <numeric>
#include <sstream>

#include <cpuid.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <fmt/format.h>

#include "lowering/kernel/KernelDesc.h"

namespace attnc::x86 {

const char *isaName(Isa isa) { return isa == Isa::Avx512 ? "avx512" : "avx2"; }

bool hostHasBf16Dot() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512bf16") && __builtin_cpu_supports("avx512bw") &&
         __builtin_cpu_supports("avx512vl");
}

bool hostHasAmx() {
  static const bool ok = [] {
    // CPUID.(7,0):EDX bit 22 AMX-BF16, bit 24 AMX-TILE; XCR0 bits 17-18 (the
    // OS saves tile state); then Linux's per-process permission for XTILEDATA.
    unsigned a, b, c, d;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d) || !(d & (1u << 22)) || !(d & (1u << 24))) return false;
    if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & (1u << 27))) return false;  // OSXSAVE
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    if ((lo & (3u << 17)) != (3u << 17)) return false;
    return syscall(SYS_arch_prctl, 0x1023 /* ARCH_REQ_XCOMP_PERM */, 18 /* XFEATURE_XTILEDATA */) == 0;
  }();
  return ok && hostHasBf16Dot();
}

Isa hostIsa() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") ? Isa::Avx512 : Isa::Avx2;
}

std::string Schedule::str() const {
  return fmt::format("q{} kv{} v{} qk{}x{} pv{}x{} split{} {}{}", qPerTile, tileKv, vector, rowBlock, colBlock, pvRows,
                     dvBlock, maxSplits, fastExp ? "fastexp" : "exactexp", std::string(dotQK ? " dot" : "") + (headsInner ? " headsinner" : "") + (allHeads ? " allheads" : "") + (pvStream ? " pvstream" : "") + (pvLanes ? " pvlanes" : "") + (prefetch ? "" : " noprefetch") + (bf16Dot ? " bf16dot" : "") + (amx ? " amx" : "") + (mlaMaterialized ? " mlamat" : ""));
}

bool mlaMaterializedCheaper(const KernelDesc &d, int rows) {
  const double R = double(d.rank), P = double(d.ropeDim), D = double(d.headDim), Dv = double(d.valueDim);
  const double materialized = 2 * (D + Dv) + 2 * R * (D - P + Dv) / std::max(rows, 1);
  const double absorbed = 2 * (R + P) + 2 * R;
  return materialized < absorbed;
}

int tileRows(const Schedule &s, const KernelDesc &d) {
  return s.qPerTile * static_cast<int>(s.allHeads ? d.heads - static_cast<int64_t>(d.prunedHeads.size()) : d.tileGroup());
}

namespace {

/// The largest divisor of `n` that is <= `want` (at least 1).
int divisorAtMost(int64_t n, int want) {
  want = static_cast<int>(std::clamp<int64_t>(want, 1, n));
  while (n % want) --want;
  return want;
}

}  // namespace

std::vector<std::string> legalize(Schedule &s, const KernelDesc &d, Isa isa) {
  std::vector<std::string> notes;
  auto set = [&](int &knob, int v, const char *what) {
    if (knob != v) notes.push_back(fmt::format("{} {} -> {}", what, knob, v));
    knob = v;
  };
  const bool lowRankKv = d.lowRank == KernelDesc::LowRank::Kv;
  if (s.mlaMaterialized && !lowRankKv) {
    notes.push_back("mlamat -> off (no low_rank kv)");
    s.mlaMaterialized = false;
  }
  if (lowRankKv && !s.mlaMaterialized && (d.additive || d.sparseTop)) {
    // (Both are defined on the keys themselves: additive projects each key,
    // top-T ranks blocks by the keys' means.)
    notes.push_back(d.additive ? "mlaabs -> mlamat (additive scores project the keys themselves)"
                               : "mlaabs -> mlamat (top-T ranks blocks by the keys' means)");
    s.mlaMaterialized = true;
  }
  if (s.mlaMaterialized) {
    // The materialized tile is the prefill one (K and V tiles of the task,
    // no K in registers, no bf16 products: the tiles are f32 sums).
    const char *what = s.dotQK ? "dot" : s.pvStream ? "pvstream" : s.allHeads ? "allheads" : s.bf16Dot ? "bf16dot" : s.amx ? "amx" : nullptr;
    if (what) notes.push_back(fmt::format("{} -> off (mlamat builds K and V tiles in f32)", what));
    s.dotQK = s.pvStream = s.allHeads = s.bf16Dot = s.amx = false;
  }
  // The value columns the tiles carry: the latent's with absorbed low rank
  // (its output projection then splits value_dim too).
  const bool mla = lowRankKv && !s.mlaMaterialized;
  const int64_t cols = mla ? std::gcd(d.rank, d.valueDim) : d.valueDim;
  set(s.vector, std::clamp(s.vector, 1, lanes(isa)), "vector");
  if (s.allHeads && d.sparseBlock > 0) {
    notes.push_back("allheads -> off (block sparsity lists tiles per kv head)");
    s.allHeads = false;
  }
  if (s.allHeads && s.headsInner) {
    notes.push_back("headsinner -> off (allheads has one kv-head task)");
    s.headsInner = false;
  }
  set(s.qPerTile, std::clamp(s.qPerTile, 1, 1024), "q tile");
  set(s.tileKv, std::clamp(s.tileKv, 1, 4096), "kv tile");
  int rows = tileRows(s, d);
  set(s.rowBlock, divisorAtMost(rows, s.rowBlock), "qk rows");
  set(s.colBlock, divisorAtMost(s.tileKv, s.colBlock), "qk columns");
  set(s.pvRows, divisorAtMost(rows, s.pvRows), "pv rows");
  set(s.dvBlock, divisorAtMost(cols, s.dvBlock), "pv columns");
  set(s.maxSplits, std::clamp(s.maxSplits, 1, 4096), "splits");
  if (s.pvLanes) {
    // (Also with bf16dot: the f32 twin of a bf16dot prefill uses it.)
    if (s.dotQK || s.pvStream || s.headsInner) {
      notes.push_back("pvlanes -> off (the nodot pvblock tile without headsinner only)");
      s.pvLanes = false;
    } else set(s.colBlock, divisorAtMost(std::gcd<int64_t>(s.tileKv, cols), s.colBlock), "qk columns");
  }
  if (s.amx) {
    const int64_t dv = mla ? d.rank : d.valueDim;
    const char *why = d.dtype != dsl::DType::BF16 ? "the kernel is not bf16"
                      : isa != Isa::Avx512        ? "AVX-512 only"
                      : d.additive                ? "additive scores have no Q.K^T"
                      : d.lowRank != KernelDesc::LowRank::None ? "not with low_rank"
                      : s.dotQK || s.pvStream || s.headsInner || s.allHeads
                          ? "the prefill tile only (nodot pvblock, no headsinner or allheads)"
                      : rows % 32 || s.tileKv % 32 || d.headDim % 32 || dv % 32
                          ? "tile rows, kv tile, head_dim and value_dim must be multiples of 32"
                      : int64_t(rows) * s.tileKv > 32768 ? "at most 32768 scores per tile (rows x kv tile)"
                          : nullptr;
    if (why) {
      notes.push_back(fmt::format("amx -> off ({})", why));
      s.amx = false;
    } else if (s.bf16Dot) {
      notes.push_back("bf16dot -> off (amx does both products)");
      s.bf16Dot = false;
    }
  }
  if (s.bf16Dot) {
    const char *why = d.dtype != dsl::DType::BF16 ? "the kernel is not bf16"
                      : isa != Isa::Avx512        ? "AVX-512 only"
                      : d.additive                ? "additive scores have no Q.K^T"
                      : d.lowRank == KernelDesc::LowRank::Seq ? "Linformer's projected keys and values are f32"
                      : mla && (s.dotQK || s.pvStream) ? "absorbed low rank: the prefill tile only (nodot pvblock)"
                      : s.headsInner || (s.allHeads && !s.dotQK) ? "not with headsinner, nor allheads in prefill"
                      : s.dotQK != s.pvStream ? "the prefill tile (nodot pvblock) or the decode tile (dot pvstream) only"
                      : (mla ? d.rank + d.ropeDim : d.headDim) % 2 || s.tileKv % 2 ? "head_dim (the latent row) and the kv tile must be even"
                                                      : nullptr;
    if (why) {
      notes.push_back(fmt::format("bf16dot -> off ({})", why));
      s.bf16Dot = false;
    } else {
      // Both products use the Q.K^T block; its columns also split value_dim.
      set(s.colBlock, divisorAtMost(std::gcd<int64_t>(s.tileKv, cols), s.colBlock), "qk columns");
    }
  }
  return notes;
}

Schedule defaultSchedule(const KernelDesc &d, Isa isa, bool decode) {
  Schedule s;
  s.vector = lanes(isa);
  // Query heads per kv head in a tile (fewer than heads / kv_heads when pruned).
  int group = static_cast<int>(d.tileGroup());
  if (decode) {
    // One query position per tile: the rows are the group's heads; the kv
    // range is split across threads. Wider kv tiles amortize the per-tile merge.
    s.qPerTile = 1;
    s.tileKv = 512;
    // The rows are unrolled in registers: never the whole group (heads 4096
    // kv_heads 1 took a minute to compile, 65536 overflowed Halide's stack).
    s.rowBlock = std::min(group, 2 * s.vector);
    s.colBlock = 8;
    s.pvRows = std::min(group, 8);
    s.dotQK = group < s.vector;
    // bshd caches interleave the kv heads in each row: all heads in one tile
    // read each row whole (measured 2.4x faster than per-kv-head tasks).
    // (Absorbed low rank: every head reads the one latent, so one tile of all heads.)
    s.allHeads = (d.layout == dsl::Layout::BSHD || d.lowRank == KernelDesc::LowRank::Kv) && d.kvHeads > 1 &&
                 d.sparseBlock == 0;
    s.pvStream = true;
    if (d.lowRank == KernelDesc::LowRank::Kv) {
      // Absorbed low rank: every head in the tile over R-wide latent rows is
      // a prefill-sized tile: register blocks, not one pass over V per row
      // (MLA decode, 128 heads, R 512, seq_kv 8192, batch 4: 78 ms against
      // 155 ms with pvstream and kv512; kv64/128/256 within noise).
      s.pvStream = false;
      s.dotQK = false;
      s.rowBlock = 2 * s.vector;
      s.pvRows = 8;
      s.tileKv = 128;
    }
    s.prefetch = false;  // measured slower: the hardware prefetcher streams K/V alone
    // Not with allheads (a bshd cache): measured 7.8-8.0 ms against 6.1-6.3 ms
    // without (B4 H32/kv8 seq_kv 8192): the rows' V pairs differ by kv head.
    s.bf16Dot = d.dtype == dsl::DType::BF16 && isa == Isa::Avx512 && !d.additive && d.headDim % 2 == 0 &&
                s.dotQK && !s.allHeads && d.lowRank == KernelDesc::LowRank::None;
    // Absorbed low rank: its prefill-shaped tile on vdpbf16ps (the latent q
    // as hi + lo bf16 parts), where the latent row has an even length.
    if (d.lowRank == KernelDesc::LowRank::Kv)
      s.bf16Dot = d.dtype == dsl::DType::BF16 && isa == Isa::Avx512 && !d.additive && !s.allHeads &&
                  (d.rank + d.ropeDim) % 2 == 0;
  } else {
    // vdpbf16ps where the CPU has it (a library also carries the prefill
    // without it; legalize() turns it off for other dtypes and ISAs).
    s.bf16Dot = d.dtype == dsl::DType::BF16 && isa == Isa::Avx512 && !d.additive &&
                (d.lowRank == KernelDesc::LowRank::Kv ? (d.rank + d.ropeDim) % 2 == 0
                                                      : d.headDim % 2 == 0 && d.lowRank == KernelDesc::LowRank::None);
    // Register blocks of 2 vectors of rows (Q.K^T keeps 2 x 8 accumulators);
    // a tile of 8 such vectors (4 with bf16dot): every K/V tile, copied once
    // per q tile, serves 128 rows. Measured (f32, seq 2048, 2 threads, Zen 4):
    // 32 / 64 / 128 rows: unmasked 106-115 / 100-103 / 97-102 ms, causal
    // 60-63 / 54-60 / 51-54 ms; bf16dot GQA causal 4096: 32 / 64 / 128 rows
    // 546-655 / 533-582 / 595-619 ms. The cost: a prefill of fewer queries
    // than a tile computes the whole tile (per-shape variants: the tuning work).
    s.qPerTile = std::max(1, ((s.bf16Dot ? 4 : 8) * s.vector) / group);
    s.tileKv = 128;
    s.rowBlock = 2 * s.vector;
    s.colBlock = 8;
    s.pvRows = 8;
    // Measured: the next tile's prefetch (Halide's, over the whole K and V
    // tile) cost 6% on causal f32 seq 2048 (a partial tile prefetches a
    // tile nobody reads; 26% of the partial stage's samples) and gained
    // nothing unmasked: the hardware prefetcher streams the rows alone.
    s.prefetch = false;
  }
  if (!decode && d.dtype == dsl::DType::BF16 && isa == Isa::Avx512 && hostHasAmx()) {
    // AMX tiles where this CPU has them (a library also carries the prefill
    // without; legalize() keeps it only where the dims allow): tiles of
    // about 64 rows (a multiple of 32) by 256 kv columns. Measured (bf16
    // H32/kv8 D128 causal seq 4096, 2 threads, Xeon with AMX): q16 kv256
    // 248-252 ms, q16 kv128 265, q32 kv256 281-286, q64 kv128 294-305, the
    // f32 products (nobf16dot) 998, vdpbf16ps 881.
    const int group = static_cast<int>(d.tileGroup());
    int q = std::lcm(group, 32) / group;
    while (q * group < 64) q *= 2;
    Schedule a = s;
    a.qPerTile = q;
    a.tileKv = 256;
    a.amx = true;
    if (d.sparseBlock > 0) {
      a.qPerTile = divisorAtMost(d.sparseBlock, a.qPerTile);
      a.tileKv = divisorAtMost(d.sparseBlock, a.tileKv);
    }
    a.dvBlock = 2 * a.vector;
    legalize(a, d, isa);
    if (a.amx) s = a;
  }
  if (d.sparseBlock > 0) {
    // Tiles inside the sparse blocks (query positions and kv rows dividing
    // B): a tile is then wholly kept or wholly dropped by the block mask, so
    // sparsity skips tiles without making the kept ones partial.
    s.qPerTile = divisorAtMost(d.sparseBlock, s.qPerTile);
    s.tileKv = divisorAtMost(d.sparseBlock, s.tileKv);
  }
  s.dvBlock = 2 * s.vector;
  s.maxSplits = decode ? 256 : 16;
  if (d.lowRank == KernelDesc::LowRank::Kv) {
    // The cheaper form for this tile (mlaMaterializedCheaper), or the
    // materialized one where the absorbed cannot run (additive, top-T).
    Schedule m = s;
    m.mlaMaterialized = true;
    legalize(m, d, isa);
    if (d.additive || d.sparseTop || mlaMaterializedCheaper(d, tileRows(m, d))) s = m;
  }
  legalize(s, d, isa);
  return s;
}

std::vector<Schedule> candidateSchedules(const KernelDesc &d, Isa isa, bool decode) {
  std::vector<Schedule> out;
  auto add = [&](Schedule s) {
    legalize(s, d, isa);
    if (std::find(out.begin(), out.end(), s) == out.end()) out.push_back(s);
  };
  Schedule base = defaultSchedule(d, isa, decode);
  add(base);
  for (int kv : {64, 256, 512}) {
    Schedule s = base;
    s.tileKv = kv;
    add(s);
  }
  for (int q : {base.qPerTile * 2, std::max(1, base.qPerTile / 2)}) {
    Schedule s = base;
    s.qPerTile = q;
    add(s);
  }
  {
    Schedule s = base;
    s.colBlock = 4;
    s.rowBlock = s.vector;
    s.pvRows = 4;
    s.dvBlock = s.vector;
    add(s);
  }
  {
    Schedule s = base;
    s.fastExp = false;
    add(s);
  }
  if (!decode) {
    Schedule s = base;
    s.pvLanes = true;
    add(s);
  }
  return out;
}

bool parseSchedule(const std::string &text, Schedule &s, std::string &error) {
  std::istringstream in(text);
  std::string w;
  auto num = [&](const std::string &str, int &v) {
    char *end = nullptr;
    long x = std::strtol(str.c_str(), &end, 10);
    if (str.empty() || *end || x < 1 || x > 65536) return false;
    v = static_cast<int>(x);
    return true;
  };
  auto pair = [&](const std::string &str, int &a, int &b) {
    size_t x = str.find('x');
    return x != std::string::npos && num(str.substr(0, x), a) && num(str.substr(x + 1), b);
  };
  while (in >> w) {
    bool ok = false;
    if (w == "fastexp") s.fastExp = true, ok = true;
    else if (w == "dot") s.dotQK = true, ok = true;
    else if (w == "prefetch") s.prefetch = true, ok = true;
    else if (w == "headsinner") s.headsInner = true, ok = true;
    else if (w == "allheads") s.allHeads = true, ok = true;
    else if (w == "groupheads") s.allHeads = false, ok = true;
    else if (w == "pvstream") s.pvStream = true, ok = true;
    else if (w == "pvblock") s.pvStream = false, ok = true;
    else if (w == "headsouter") s.headsInner = false, ok = true;
    else if (w == "noprefetch") s.prefetch = false, ok = true;
    else if (w == "nodot") s.dotQK = false, ok = true;
    else if (w == "exactexp") s.fastExp = false, ok = true;
    else if (w == "pvlanes") s.pvLanes = true, ok = true;
    else if (w == "nopvlanes") s.pvLanes = false, ok = true;
    else if (w == "bf16dot") s.bf16Dot = true, ok = true;
    else if (w == "nobf16dot") s.bf16Dot = false, ok = true;
    else if (w == "amx") s.amx = true, ok = true;
    else if (w == "noamx") s.amx = false, ok = true;
    else if (w == "mlamat") s.mlaMaterialized = true, ok = true;
    else if (w == "mlaabs") s.mlaMaterialized = false, ok = true;
    else if (w.rfind("split", 0) == 0) ok = num(w.substr(5), s.maxSplits);
    else if (w.rfind("kv", 0) == 0) ok = num(w.substr(2), s.tileKv);
    else if (w.rfind("qk", 0) == 0) ok = pair(w.substr(2), s.rowBlock, s.colBlock);
    else if (w.rfind("pv", 0) == 0) ok = pair(w.substr(2), s.pvRows, s.dvBlock);
    else if (w.rfind("q", 0) == 0) ok = num(w.substr(1), s.qPerTile);
    else if (w.rfind("v", 0) == 0) ok = num(w.substr(1), s.vector);
    if (!ok) {
      error = fmt::format("bad schedule knob `{}` (knobs: qN kvN vN qkRxC pvRxC splitN fastexp exactexp dot nodot prefetch noprefetch headsinner headsouter allheads groupheads pvstream pvblock pvlanes nopvlanes bf16dot nobf16dot amx noamx mlamat mlaabs)", w);
      return false;
    }
  }
  return true;
}

}  // namespace attnc::x86
