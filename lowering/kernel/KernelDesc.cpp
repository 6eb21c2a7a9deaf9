#include "lowering/kernel/KernelDesc.h"

#include <algorithm>

namespace attnc {

const char *dimSymName(DimSym::Kind k) {
  static const char *s[] = {"batch", "heads",  "kv_heads", "seq_q",    "seq_kv",    "head_dim",
                            "value_dim", "units", "rank", "rank + rope", "head_dim - rope", "q_blocks", "kv_blocks", "", ""};
  return s[k];
}

std::string dimSymText(const DimSym &s) {
  if (s.kind == DimSym::Fixed) return std::to_string(s.size);
  if (s.kind == DimSym::SizeExpr) return s.expr.text();
  return dimSymName(s.kind);
}

bool KernelDesc::isPruned(int64_t h) const {
  return std::find(prunedHeads.begin(), prunedHeads.end(), h) != prunedHeads.end();
}

std::vector<ArgDesc> KernelDesc::signature() const {
  using D = DimSym;
  auto d = [](D::Kind k) { return D{k, 0, {}}; };
  bool bshd = layout == dsl::Layout::BSHD;
  auto qkv = [&](D::Kind heads, D::Kind seq, D::Kind dim) {
    return bshd ? std::vector<D>{d(D::Batch), d(seq), d(heads), d(dim)}
                : std::vector<D>{d(D::Batch), d(heads), d(seq), d(dim)};
  };
  std::vector<ArgDesc> args;
  args.push_back({"q", dtype, qkv(D::Heads, D::SeqQ, D::HeadDim)});
  if (lowRank == LowRank::Kv) {
    // (With rope P the latent row is rank + P long and k_up makes the first head_dim - P dims of a key.)
    args.push_back({"latent", dtype, {d(D::Batch), d(D::SeqKv), d(ropeDim > 0 ? D::LatentDim : D::Rank)}});
    args.push_back({"k_up", dtype, {d(D::KvHeads), d(D::Rank), d(ropeDim > 0 ? D::NopeDim : D::HeadDim)}});
    args.push_back({"v_up", dtype, {d(D::KvHeads), d(D::Rank), d(D::ValueDim)}});
  } else {
    args.push_back({"k", dtype, qkv(D::KvHeads, D::SeqKv, D::HeadDim)});
    args.push_back({"v", dtype, qkv(D::KvHeads, D::SeqKv, D::ValueDim)});
  }
  if (additive) {
    args.push_back({"add_wq", dtype, {d(D::Heads), d(D::HeadDim), d(D::Units)}});
    args.push_back({"add_wk", dtype, {d(D::KvHeads), d(D::HeadDim), d(D::Units)}});
    args.push_back({"add_v", dtype, {d(D::Heads), d(D::Units)}});
  }
  for (const InputDesc &in : inputs) {
    ArgDesc a{in.name, in.dtype, {}};
    for (const dsl::InputDim &id : in.dims) {
      switch (id.kind) {
      case dsl::InputDim::Fixed: a.dims.push_back({D::Fixed, id.size, {}}); break;
      case dsl::InputDim::Batch: a.dims.push_back(d(D::Batch)); break;
      case dsl::InputDim::Heads: a.dims.push_back(d(D::Heads)); break;
      case dsl::InputDim::KvHeads: a.dims.push_back(d(D::KvHeads)); break;
      case dsl::InputDim::SeqQ: a.dims.push_back(d(D::SeqQ)); break;
      case dsl::InputDim::SeqKv: a.dims.push_back(d(D::SeqKv)); break;
      case dsl::InputDim::Expr: a.dims.push_back({D::SizeExpr, 0, id.expr}); break;
      }
    }
    args.push_back(std::move(a));
  }
  if (sparseBlock > 0 && !sparseTop)
    args.push_back({"block_mask", dsl::DType::U8, {d(D::Batch), d(D::Heads), d(D::QBlocks), d(D::KvBlocks)}});
  if (lowRank == LowRank::Seq) {
    args.push_back({"e_proj", dtype, {d(D::Rank), d(D::SeqKv)}});
    args.push_back({"f_proj", dtype, {d(D::Rank), d(D::SeqKv)}});
  }
  args.push_back({"out", dtype, qkv(D::Heads, D::SeqQ, D::ValueDim), true});
  if (outputLse) args.push_back({"lse", dsl::DType::F32, {d(D::Batch), d(D::Heads), d(D::SeqQ)}, true});
  return args;
}

}  // namespace attnc

#include <fmt/format.h>

namespace attnc {

bool bindShapes(const KernelDesc &desc, const std::vector<std::vector<int64_t>> &shapes, CallSizes &sizes,
                std::string &error) {
  std::vector<ArgDesc> sig = desc.signature();
  if (shapes.size() != sig.size()) {
    error = fmt::format("expected {} tensors, got {}", sig.size(), shapes.size());
    return false;
  }
  int64_t bound[3] = {-1, -1, -1};  // batch, seq_q, seq_kv: bound by their first use
  auto slot = [&](DimSym::Kind k) -> int64_t * {
    if (k == DimSym::Batch) return &bound[0];
    if (k == DimSym::SeqQ) return &bound[1];
    if (k == DimSym::SeqKv) return &bound[2];
    return nullptr;
  };
  // Two passes: extents first, then the ones derived from them (blocks).
  for (int pass = 0; pass < 2; ++pass)
    for (size_t i = 0; i < sig.size(); ++i) {
      const ArgDesc &a = sig[i];
      if (shapes[i].size() != a.dims.size()) {
        error = fmt::format("`{}` must have {} dimensions, got {}", a.name, a.dims.size(), shapes[i].size());
        return false;
      }
      for (size_t j = 0; j < a.dims.size(); ++j) {
        DimSym d = a.dims[j];
        int64_t got = shapes[i][j];
        int64_t want = -1;
        const char *what = dimSymName(d.kind);
        switch (d.kind) {
        case DimSym::Heads: want = desc.heads; break;
        case DimSym::KvHeads: want = desc.kvHeads; break;
        case DimSym::HeadDim: want = desc.headDim; break;
        case DimSym::ValueDim: want = desc.valueDim; break;
        case DimSym::Units: want = desc.units; break;
        case DimSym::Rank: want = desc.rank; break;
        case DimSym::LatentDim: want = desc.rank + desc.ropeDim; break;
        case DimSym::NopeDim: want = desc.headDim - desc.ropeDim; break;
        case DimSym::Fixed: want = d.size; what = "fixed size"; break;
        case DimSym::SizeExpr:
          // After the lengths are bound (pass 0); as the headers' check_size.
          if (pass == 0) continue;
          want = d.expr.eval(bound[0], bound[1], bound[2]);
          if (want < 1) {
            error = fmt::format("`{}` dimension {} ({}) is {} for batch {}, seq_q {}, seq_kv {}; an input's size must "
                                "be at least 1",
                                a.name, j, d.expr.text(), want, bound[0], bound[1], bound[2]);
            return false;
          }
          if (got != want) {
            error = fmt::format("`{}` dimension {} ({}) must be {} for batch {}, seq_q {}, seq_kv {}, got {}", a.name,
                                j, d.expr.text(), want, bound[0], bound[1], bound[2], got);
            return false;
          }
          continue;
        case DimSym::QBlocks:
          if (pass == 0) continue;
          want = (bound[1] + desc.sparseBlock - 1) / desc.sparseBlock;
          break;
        case DimSym::KvBlocks:
          if (pass == 0) continue;
          want = (bound[2] + desc.sparseBlock - 1) / desc.sparseBlock;
          break;
        case DimSym::Batch:
        case DimSym::SeqQ:
        case DimSym::SeqKv: {
          int64_t *s = slot(d.kind);
          if (pass == 1) continue;
          if (got < 1) {
            error = fmt::format("`{}` dimension {} ({}) must be at least 1, got {}", a.name, j, what, got);
            return false;
          }
          if (*s < 0) *s = got;
          want = *s;
          break;
        }
        }
        if (pass == 1 && d.kind != DimSym::QBlocks && d.kind != DimSym::KvBlocks) continue;
        if (got != want) {
          error = fmt::format("`{}` dimension {} ({}) must be {}, got {}", a.name, j, what, want, got);
          return false;
        }
      }
    }
  if (bound[2] > INT32_MAX || bound[1] > INT32_MAX) {
    error = "sequence lengths must fit in 32 bits";
    return false;
  }
  sizes = {bound[0], bound[1], bound[2]};
  return true;
}

}  // namespace attnc
