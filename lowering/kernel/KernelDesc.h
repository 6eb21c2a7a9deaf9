// A plain description of one compiled kernel, read off its `attn.kernel` op:
// what backends, the reference and generated headers need to know without
// touching MLIR, including the ABI argument list (docs/integration.md, "The ABI (version 1)").
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "dsl/Types.h"

namespace attnc {

/// A symbolic or fixed extent of an ABI tensor.
struct DimSym {
  // LatentDim: rank + rope (a latent row of low_rank kv ... rope P); NopeDim:
  // head_dim - rope (what k_up makes of a key).
  // SizeExpr: an input's size expression of the lengths (`ceil_div(seq_q, 16)`).
  enum Kind { Batch, Heads, KvHeads, SeqQ, SeqKv, HeadDim, ValueDim, Units, Rank, LatentDim, NopeDim, QBlocks, KvBlocks, Fixed, SizeExpr };
  Kind kind = Fixed;
  int64_t size = 0;     // for Fixed
  dsl::SizeExpr expr;   // for SizeExpr
};
const char *dimSymName(DimSym::Kind k);
/// How a dimension is written in headers and messages: `seq_q`, `64`, `ceil_div(seq_q, 16)`.
std::string dimSymText(const DimSym &s);

struct ArgDesc {
  std::string name;
  dsl::DType dtype;
  std::vector<DimSym> dims;
  bool output = false;
};

struct InputDesc {
  std::string name;
  dsl::DType dtype;
  std::vector<dsl::InputDim> dims;
};

struct KernelDesc {
  std::string name;
  dsl::DType dtype = dsl::DType::F32;
  int64_t heads = 0, kvHeads = 0, headDim = 0, valueDim = 0;
  dsl::Layout layout = dsl::Layout::BHSD;
  bool additive = false;
  int64_t units = 0;
  bool sigmoid = false;
  double scale = 1;
  bool outputLse = false;
  std::vector<InputDesc> inputs;
  std::vector<int64_t> prunedHeads;
  /// The head plan of `attn-plan-heads` (pruned kernels only; else empty):
  /// headTable[g * headRows + i] is the i-th computed query head of kv head g,
  /// or -1 past its last.
  int64_t headRows = 0;
  std::vector<int64_t> headTable;
  int64_t sparseBlock = 0;  // 0: no sparse transform
  bool sparseTop = false;   // top-T selection rather than an input block mask
  int64_t sparseTopT = 0;
  enum class LowRank { None, Kv, Seq } lowRank = LowRank::None;
  int64_t rank = 0;
  /// low_rank kv ... rope P: the keys' last P dims are the latent row's last
  /// P elements (shared by every head), k_up makes the first head_dim - P.
  int64_t ropeDim = 0;
  bool hasScoreMod = false, hasMask = false, hasBias = false;

  /// Whether the spec has a `compress` transform (pruning, sparsity, low rank).
  bool hasCompress() const { return lowRank != LowRank::None || sparseBlock > 0 || !prunedHeads.empty(); }

  /// Query heads per query position in a tile of one kv head: the most any
  /// kv head computes (heads / kv_heads without pruning).
  int64_t tileGroup() const { return headRows > 0 ? headRows : heads / (kvHeads > 0 ? kvHeads : 1); }
  /// Whether kv head g computes any query head.
  bool kvHeadComputed(int64_t g) const { return headTable.empty() || headTable[g * headRows] >= 0; }
  bool isPruned(int64_t h) const;

  /// Every argument of the generated function, in ABI order (outputs last).
  std::vector<ArgDesc> signature() const;
};

/// The extent of an ABI tensor's dimension for a call's sizes.
inline int64_t extentOf(const DimSym &s, const KernelDesc &d, int64_t batch, int64_t seqQ, int64_t seqKv) {
  switch (s.kind) {
  case DimSym::Batch: return batch;
  case DimSym::Heads: return d.heads;
  case DimSym::KvHeads: return d.kvHeads;
  case DimSym::SeqQ: return seqQ;
  case DimSym::SeqKv: return seqKv;
  case DimSym::HeadDim: return d.headDim;
  case DimSym::ValueDim: return d.valueDim;
  case DimSym::Units: return d.units;
  case DimSym::Rank: return d.rank;
  case DimSym::LatentDim: return d.rank + d.ropeDim;
  case DimSym::NopeDim: return d.headDim - d.ropeDim;
  case DimSym::QBlocks: return (seqQ + d.sparseBlock - 1) / d.sparseBlock;
  case DimSym::KvBlocks: return (seqKv + d.sparseBlock - 1) / d.sparseBlock;
  case DimSym::Fixed: return s.size;
  case DimSym::SizeExpr: return s.expr.eval(batch, seqQ, seqKv);
  }
  return 1;
}

}  // namespace attnc

namespace attnc {

/// The run-time extents of one call.
struct CallSizes {
  int64_t batch = 0, seqQ = 0, seqKv = 0;
};

/// Checks argument shapes (in signature order) against the kernel and binds the
/// run-time extents. On a mismatch returns false with a message naming the
/// tensor and dimension, as the generated kernels' argument checks do.
bool bindShapes(const KernelDesc &desc, const std::vector<std::vector<int64_t>> &shapes, CallSizes &sizes,
                std::string &error);

}  // namespace attnc
