// The passes over the `attn` dialect, in pipeline order (Pipeline.cpp lists
// them). Each is a function of the module with no hidden state; each is also
// registered as an MLIR pass, so that attnc-opt can run it alone:
//
//   attn-expand-builtins   expandBuiltins
//   attn-canonicalize      canonicalize
//   attn-mask-analysis     annotateMaskAnalysis
//   attn-plan-heads        planHeads
#pragma once

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Support/LogicalResult.h"

namespace mlir {
class OpPassManager;
}

namespace attnc {

/// Needs: a verified module. Guarantees: no attn.causal/window/sinks/softcap/
/// sigmoid ops remain; masks are index arithmetic on q' = q_idx + seq_kv - seq_q.
mlir::LogicalResult expandBuiltins(mlir::ModuleOp module);

/// Constant folding, canonicalization patterns of arith/math, and CSE over
/// every region. Guarantees: same values, fewer ops; unused loads removed.
mlir::LogicalResult canonicalize(mlir::ModuleOp module);

/// Needs: builtins expanded. Guarantees: every attn.kernel carries
/// `mask_analysis = #attn.mask<...>`, the kv range of each query row in
/// closed form (tile sizes are the backends' business).
mlir::LogicalResult annotateMaskAnalysis(mlir::ModuleOp module);

/// Needs: a verified module. Guarantees: every attn.kernel with attn.prune
/// carries `head_rows` and `head_table`, the packed query heads each kv head
/// computes (no other kernel does); backends visit no pruned head and no kv
/// head whose query heads are all pruned.
mlir::LogicalResult planHeads(mlir::ModuleOp module);

/// The passes canonicalize() runs, for a pass that runs them as a nested pipeline.
void addCanonicalizeSteps(mlir::OpPassManager &pm);

/// Registers the four passes under the names above (for attnc-opt).
void registerAttnPasses();

}  // namespace attnc
