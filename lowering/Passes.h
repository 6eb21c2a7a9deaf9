// The passes over the `attn` dialect, in pipeline order (Pipeline.cpp lists
// them). Each is a function of the module with no hidden state.
#pragma once

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Support/LogicalResult.h"

namespace attnc {

/// Needs: a verified module. Guarantees: no attn.causal/window/sinks/softcap/
/// sigmoid ops remain; masks are index arithmetic on q' = q_idx + seq_kv - seq_q.
mlir::LogicalResult expandBuiltins(mlir::ModuleOp module);

/// Constant folding, canonicalization patterns of arith/math, and CSE over
/// every region. Guarantees: same values, fewer ops; unused loads removed.
mlir::LogicalResult canonicalize(mlir::ModuleOp module);

/// Attaches `mask_analysis` to every attn.kernel: the kv range of each query
/// row in closed form and the tile classification rule for the given tiles.
mlir::LogicalResult annotateMaskAnalysis(mlir::ModuleOp module, int64_t tileQ, int64_t tileKv);

}  // namespace attnc
