// Mask analysis: which (q, kv) pairs a kernel's mask can keep, in closed form,
// and from that the classification of (q-tile, kv-tile) blocks as empty,
// full, partial (mask code needed) or run-time (the mask reads inputs; a plan
// step classifies the tile when the kernel runs). Plain data: no MLIR here.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "attnc_runtime.h"

namespace attnc {

/// The longest seq_q and seq_kv a kernel takes (ATTNC_MAX_SEQ_LEN, which every
/// entry point checks): the index domain over which the mask analysis must be sound.
inline constexpr int64_t kMaxSeqLen = ATTNC_MAX_SEQ_LEN;

/// c + q*q_idx + sq*seq_q + skv*seq_kv.
struct Affine {
  int64_t q = 0, sq = 0, skv = 0, c = 0;
  int64_t eval(int64_t qIdx, int64_t seqQ, int64_t seqKv) const { return c + q * qIdx + sq * seqQ + skv * seqKv; }
  bool operator==(const Affine &o) const { return q == o.q && sq == o.sq && skv == o.skv && c == o.c; }
  std::string str() const;
};

/// max(lo...) <= kv_idx <= min(hi...); no lo means no lower bound, no hi no upper bound.
struct KvInterval {
  std::vector<Affine> lo, hi;
  bool operator==(const KvInterval &o) const { return lo == o.lo && hi == o.hi; }
  std::string str() const;
};

/// A union of intervals of kv_idx, each bounded by functions of the query row.
struct KvSet {
  std::vector<KvInterval> parts;
  static KvSet all() { return {{KvInterval{}}}; }
  static KvSet none() { return {}; }
  std::string str() const;
};

enum class TileClass { Empty, Partial, Full, Runtime };
char tileClassLetter(TileClass c);  // E, P, F, R

struct MaskInfo {
  bool hasMask = false;
  bool exact = true;        // inner == outer: the mask is fully described by the intervals
  bool readsInputs = false; // some part depends on run-time tensors
  KvSet inner = KvSet::all();  // pairs certainly kept
  KvSet outer = KvSet::all();  // pairs possibly kept

  /// Classifies the tile of rows [q0, q1] and columns [k0, k1] (inclusive, in range).
  TileClass classify(int64_t q0, int64_t q1, int64_t k0, int64_t k1, int64_t seqQ, int64_t seqKv) const;
  /// Row-major [ceil(seqQ/tileQ)][ceil(seqKv/tileKv)] classification.
  std::vector<TileClass> classifyTiles(int64_t seqQ, int64_t seqKv, int64_t tileQ, int64_t tileKv) const;
  /// "symbolic", "runtime", "partial" (inexact without inputs) or "none".
  std::string kind() const;
  /// Closed-form kv-tile ranges per q-tile t, one line per interval of `outer`
  /// and `inner`, where every bound is a single function of the row.
  std::vector<std::string> tileFormulas(int64_t tileQ, int64_t tileKv) const;
};

/// The tile table as text: one row per q-tile, one letter per kv-tile.
std::string renderTiles(const std::vector<TileClass> &tiles, int64_t seqQ, int64_t seqKv, int64_t tileQ,
                        int64_t tileKv);

}  // namespace attnc
