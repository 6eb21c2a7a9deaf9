#include "lowering/kernel/AbiText.h"

#include <map>
#include <sstream>

#include <fmt/format.h>

#include "attnc_runtime.h"
#include "lowering/kernel/Templates.h"

namespace attnc::abi {

// Kernels compare a tensor's `dtype` field with these numbers (attnc_tensor
// tensors from C carry attnc_dtype values; tests and the reference cast
// dsl::DType to it): one numbering for the front end, the ABI and the IR
// (lowering/ir checks its own enum against dsl::DType).
static_assert(static_cast<int>(dsl::DType::F32) == ATTNC_F32 && static_cast<int>(dsl::DType::F16) == ATTNC_F16 &&
                  static_cast<int>(dsl::DType::BF16) == ATTNC_BF16 && static_cast<int>(dsl::DType::I32) == ATTNC_I32 &&
                  static_cast<int>(dsl::DType::U8) == ATTNC_U8,
              "dsl::DType must number dtypes as attnc_runtime.h does");

const char *cDtypeEnum(dsl::DType t) {
  switch (t) {
  case dsl::DType::F32: return "ATTNC_F32";
  case dsl::DType::F16: return "ATTNC_F16";
  case dsl::DType::BF16: return "ATTNC_BF16";
  case dsl::DType::I32: return "ATTNC_I32";
  case dsl::DType::U8: return "ATTNC_U8";
  }
  return "ATTNC_F32";
}

std::string shapeText(const ArgDesc &a) {
  std::string s = "[";
  for (size_t i = 0; i < a.dims.size(); ++i) {
    if (i) s += ", ";
    s += dimSymText(a.dims[i]);
  }
  return s + "]";
}

std::string paramList(const KernelDesc &d) {
  std::string s;
  for (const ArgDesc &a : d.signature()) {
    if (!s.empty()) s += ", ";
    s += fmt::format("{}attnc_tensor *{}", a.output ? "" : "const ", a.name);
  }
  return s;
}

std::string argumentComment(const KernelDesc &d) {
  std::string o;
  for (const ArgDesc &a : d.signature())
    o += fmt::format(" *   {} : {}{}{}\n", a.name, dsl::dtypeName(a.dtype), shapeText(a), a.output ? "  (output)" : "");
  return o;
}

namespace {

/// The C extent a symbolic dim must have, once bound ("" for run-time symbols).
std::string fixedExtent(const DimSym &s, const KernelDesc &d) {
  switch (s.kind) {
  case DimSym::Heads: return std::to_string(d.heads);
  case DimSym::KvHeads: return std::to_string(d.kvHeads);
  case DimSym::HeadDim: return std::to_string(d.headDim);
  case DimSym::ValueDim: return std::to_string(d.valueDim);
  case DimSym::Units: return std::to_string(d.units);
  case DimSym::Rank: return std::to_string(d.rank);
  case DimSym::LatentDim: return std::to_string(d.rank + d.ropeDim);
  case DimSym::NopeDim: return std::to_string(d.headDim - d.ropeDim);
  case DimSym::Fixed: return std::to_string(s.size);
  default: return "";
  }
}

}  // namespace

std::string checkHelpers() { return templates::kCheckHelpers; }

std::string checkStatements(const KernelDesc &d) {
  std::vector<ArgDesc> sig = d.signature();
  std::ostringstream o;
  // Checks, argument by argument.
  auto bound = [&](DimSym::Kind k) -> const char * {
    switch (k) {
    case DimSym::Batch: return "batch";
    case DimSym::SeqQ: return "seq_q";
    case DimSym::SeqKv: return "seq_kv";
    default: return nullptr;
    }
  };
  std::map<DimSym::Kind, std::string> firstSeen;
  for (const ArgDesc &a : sig) {
    bool unitInner = a.name == "q" || a.name == "k" || a.name == "v" || a.name == "out" || a.name == "lse" ||
                     a.name == "latent";  // (the kv cache of low_rank kv: rows as k's and v's)
    o << fmt::format("  if ((rc = check_tensor({0}, \"{0}\", {1}, {2}, {3})) != ATTNC_OK) return rc;\n", a.name,
                     cDtypeEnum(a.dtype), a.dims.size(), unitInner ? 1 : 0);
    for (size_t i = 0; i < a.dims.size(); ++i) {
      const DimSym &s = a.dims[i];
      if (const char *var = bound(s.kind)) {
        auto it = firstSeen.find(s.kind);
        if (it == firstSeen.end()) {
          o << fmt::format("  {} = {}->shape[{}];\n", var, a.name, i);
          firstSeen[s.kind] = a.name;
        } else {
          o << fmt::format("  if ({0}->shape[{1}] != {2})\n    return fail(ATTNC_E_SHAPE, \"`{0}` dimension {1} ({3}) "
                           "must be %lld as in `{4}`, got %lld\", (long long){2}, (long long){0}->shape[{1}]);\n",
                           a.name, i, var, dimSymName(s.kind), it->second);
        }
      } else if (s.kind == DimSym::SizeExpr) {
        // An expression of the lengths, which q and k (or latent) bound above.
        o << fmt::format("  if ((rc = check_size({0}, \"{0}\", {1}, \"{2}\", {3}, batch, seq_q, seq_kv)) != ATTNC_OK) "
                         "return rc;\n",
                         a.name, i, s.expr.text(), s.expr.text("sz_"));
      } else if (s.kind == DimSym::QBlocks || s.kind == DimSym::KvBlocks) {
        // ceil(seq / B): q and k, which bind the lengths, come first.
        const char *seq = s.kind == DimSym::QBlocks ? "seq_q" : "seq_kv";
        o << fmt::format("  if ({0}->shape[{1}] != ({2} + {3} - 1) / {3})\n    return fail(ATTNC_E_SHAPE, \"`{0}` "
                         "dimension {1} ({4}) must be ceil({2} / {3}) = %lld, got %lld\", (long long)(({2} + {3} - 1) / "
                         "{3}), (long long){0}->shape[{1}]);\n",
                         a.name, i, seq, d.sparseBlock, dimSymName(s.kind));
      } else {
        o << fmt::format("  if ((rc = check_extent({0}, \"{0}\", {1}, \"{2}\", {3})) != ATTNC_OK) return rc;\n",
                         a.name, i, s.kind == DimSym::Fixed ? "fixed" : dimSymName(s.kind), fixedExtent(s, d));
      }
    }
  }
  // Aliasing: outputs are distinct elements and share no memory with any other argument.
  for (const ArgDesc &a : sig) {
    if (!a.output) continue;
    o << fmt::format("  if ((rc = check_no_self_overlap({0}, \"{0}\")) != ATTNC_OK) return rc;\n", a.name);
    for (const ArgDesc &b : sig) {
      if (&b == &a || (b.output && &b > &a)) continue;  // each pair of outputs once
      o << fmt::format("  if ((rc = check_disjoint({0}, \"{0}\", {1}, {2}, \"{2}\", {3})) != ATTNC_OK) return rc;\n",
                       a.name, dsl::dtypeBytes(a.dtype), b.name, dsl::dtypeBytes(b.dtype));
    }
  }
  return o.str();
}

std::string emptyCallStatements(const KernelDesc &d, bool hostOutputs) {
  std::string o = "  if (seq_q > ATTNC_MAX_SEQ_LEN || seq_kv > ATTNC_MAX_SEQ_LEN)\n"
                  "    return fail(ATTNC_E_SHAPE, \"seq_q and seq_kv must be at most 2^30-1 (ATTNC_MAX_SEQ_LEN), got "
                  "%lld and %lld\", (long long)seq_q, (long long)seq_kv);\n"
                  "  /* Empty calls (docs/integration.md): no rows is a no-op; no keys masks every row. */\n"
                  "  if (batch == 0 || seq_q == 0) return ATTNC_OK;\n";
  if (!hostOutputs) return o;
  o += "  if (seq_kv == 0) {\n    const unsigned char zero[4] = {0, 0, 0, 0};\n";
  o += fmt::format("    fill_tensor(out, {}, zero);\n", dsl::dtypeBytes(d.dtype));
  if (d.outputLse) o += "    const uint32_t neg_inf = 0xff800000u;\n    fill_tensor(lse, 4, &neg_inf);\n";
  o += "    return ATTNC_OK;\n  }\n";
  return o;
}


}  // namespace attnc::abi
