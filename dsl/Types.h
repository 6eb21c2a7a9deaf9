// The value types of a checked spec that every later layer needs: storage
// dtypes, layouts, scoring and normalization kinds, input dimensions. No
// syntax tree here, so the kernel plan and the schedules can use them alone.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace attnc::dsl {

/// Numbered as attnc_runtime.h's attnc_dtype (checked in lowering/kernel/AbiText.cpp).
enum class DType { F32, F16, BF16, I32, U8 };
const char *dtypeName(DType t);  // "f32", ...
std::optional<DType> dtypeFromName(std::string_view name);
bool isFloat(DType t);
/// Bytes of one element.
inline int dtypeBytes(DType t) { return t == DType::F16 || t == DType::BF16 ? 2 : t == DType::U8 ? 1 : 4; }

enum class Layout { BHSD, BSHD };
enum class ScoreKind { Dot, Additive };
enum class Normalize { Softmax, Sigmoid };

/// One dimension of an `input` tensor: a fixed size or a run-time size.
struct InputDim {
  enum Kind { Fixed, Batch, Heads, KvHeads, SeqQ, SeqKv } kind = Fixed;
  int64_t size = 0;  // for Fixed
};
const char *dimName(InputDim::Kind k);
/// `batch heads kv_heads seq_q seq_kv`; nullopt for anything else.
std::optional<InputDim::Kind> dimKindFromName(std::string_view name);

}  // namespace attnc::dsl
