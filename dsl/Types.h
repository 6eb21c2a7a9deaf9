// The value types of a checked spec that every later layer needs: storage
// dtypes, layouts, scoring and normalization kinds, input dimensions. No
// syntax tree here, so the kernel plan and the schedules can use them alone.
#pragma once

#include <cmath>
#include <cstdint>
#include <optional>
#include <string_view>

#include "dsl/SizeExpr.h"

namespace attnc::dsl {

/// The language's integer shifts (docs/language.md, "Integers"): C's results
/// on int32 with the amount taken modulo 32 (its low five bits: `1 << 33` is
/// 2, `x >> -1` is `x >> 31`), as x86's shift instructions do and CUDA's
/// code does explicitly. The reference and both backends share these; a
/// constant amount outside 0..31 is a compile-time error.
inline int32_t shiftLeft32(int32_t a, int32_t n) {
  return static_cast<int32_t>(static_cast<uint32_t>(a) << (static_cast<uint32_t>(n) & 31u));
}
inline int32_t shiftRight32(int32_t a, int32_t n) { return a >> (static_cast<uint32_t>(n) & 31u); }

/// Python's integer `//` and `%` on int32 (floor_div, floor_mod): the
/// quotient rounded toward minus infinity, the remainder with the divisor's
/// sign; a zero divisor gives 0 as `/` and `%` do; INT_MIN // -1 wraps.
inline int32_t floorDiv32(int32_t a, int32_t b) {
  if (b == 0) return 0;
  if (b == -1) return static_cast<int32_t>(0u - static_cast<uint32_t>(a));
  int32_t q = a / b, r = a % b;
  return (r != 0 && ((r < 0) != (b < 0))) ? q - 1 : q;
}
/// ceil(a / b) on int32 (ceil_div): the truncated quotient plus one where
/// the exact quotient is positive and not whole; a zero divisor gives 0.
inline int32_t ceilDiv32(int32_t a, int32_t b) {
  if (b == 0) return 0;
  if (b == -1) return static_cast<int32_t>(0u - static_cast<uint32_t>(a));
  int32_t q = a / b, r = a % b;
  return (r != 0 && ((r < 0) == (b < 0))) ? q + 1 : q;
}
inline int32_t floorMod32(int32_t a, int32_t b) {
  if (b == 0 || b == -1) return 0;
  int32_t r = a % b;
  return (r != 0 && ((r < 0) != (b < 0))) ? r + b : r;
}
/// GELU, exact (erf) and the tanh approximation, as the language defines them.
inline double gelu(double x) { return 0.5 * x * (1.0 + std::erf(x * 0.70710678118654752440)); }
inline double geluTanh(double x) {
  return 0.5 * x * (1.0 + std::tanh(0.79788456080286535588 * (x + 0.044715 * x * x * x)));
}

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

/// One dimension of an `input` tensor: a fixed size, a run-time size, or an
/// expression of the run-time lengths (`ceil_div(seq_q, 16)`).
struct InputDim {
  enum Kind { Fixed, Batch, Heads, KvHeads, SeqQ, SeqKv, Expr } kind = Fixed;
  int64_t size = 0;  // for Fixed
  SizeExpr expr;     // for Expr
};
const char *dimName(InputDim::Kind k);
/// `batch heads kv_heads seq_q seq_kv`; nullopt for anything else.
std::optional<InputDim::Kind> dimKindFromName(std::string_view name);

}  // namespace attnc::dsl
