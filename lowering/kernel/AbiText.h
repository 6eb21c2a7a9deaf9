// Text shared by the generated entry points of every target: the parameter
// list of the ABI and the C code that checks a call's arguments (dtypes,
// ranks, extents, strides, null pointers) before anything runs. The text
// compiles as C99 and as C++ (docs/integration.md, "Argument checks").
#pragma once

#include <string>

#include "lowering/kernel/KernelDesc.h"

namespace attnc::abi {

const char *cDtypeEnum(dsl::DType t);  // "ATTNC_F32", ...
/// "const attnc_tensor *q, ..., attnc_tensor *out".
std::string paramList(const KernelDesc &d);
/// "[batch, heads, seq_q, head_dim]".
std::string shapeText(const ArgDesc &a);
/// The argument list as comment lines (" *   q : f16[...]").
std::string argumentComment(const KernelDesc &d);
/// The static helpers the checks use: `last_error` (thread-local), fail(),
/// dtype_name(), check_tensor(), check_extent(), check_disjoint(),
/// check_no_self_overlap(), fill_tensor().
std::string checkHelpers();
/// Statements that check every argument and bind `batch`, `seq_q`, `seq_kv`
/// (int64_t, declared by the caller) and `rc` (int); they `return` a status.
/// Outputs must not overlap themselves or any other argument.
std::string checkStatements(const KernelDesc &d);
/// After the checks: refuses seq_q or seq_kv over ATTNC_MAX_SEQ_LEN; returns
/// ATTNC_OK at once when batch or seq_q is 0; with
/// `hostOutputs`, also when seq_kv is 0, having written out = 0 and lse = -inf.
std::string emptyCallStatements(const KernelDesc &d, bool hostOutputs);

}  // namespace attnc::abi
