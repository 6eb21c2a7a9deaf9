// The value types of a checked spec that every later layer needs: storage
// dtypes, layouts, scoring and normalization kinds, input dimensions. No
// syntax tree here, so the kernel plan and the schedules can use them alone.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace attnc::dsl {

/// The language's integer shifts (docs/language.md, "Integers"): C's results
/// on int32 for amounts 0..31; any other amount (negative, or 32 and above)
/// shifts every bit out: `<<` gives 0, `>>` the sign (0 or -1). The
/// reference, both backends and constant folding share these.
inline int32_t shiftLeft32(int32_t a, int32_t n) {
  return n >= 0 && n < 32 ? static_cast<int32_t>(static_cast<uint32_t>(a) << n) : 0;
}
inline int32_t shiftRight32(int32_t a, int32_t n) { return n >= 0 && n < 32 ? (a >> n) : (a < 0 ? -1 : 0); }


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
