// The passes of Passes.h as registered MLIR passes: thin wrappers over the
// same functions the pipeline calls, so attnc-opt tests what attnc runs.
#include "lowering/transforms/Passes.h"

#include "mlir/Pass/Pass.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"

#include "lowering/ir/AttnDialect.h"

using namespace mlir;

namespace attnc {

namespace {

template <class Derived>
struct ModulePass : PassWrapper<Derived, OperationPass<ModuleOp>> {
  void getDependentDialects(DialectRegistry &r) const override {
    r.insert<attn::AttnDialect, arith::ArithDialect, math::MathDialect>();
  }
};

struct ExpandBuiltinsPass : ModulePass<ExpandBuiltinsPass> {
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(ExpandBuiltinsPass)
  StringRef getArgument() const final { return "attn-expand-builtins"; }
  StringRef getDescription() const final { return "mask builtins, softcap and sigmoid to arith/math"; }
  void runOnOperation() final {
    if (failed(expandBuiltins(getOperation()))) signalPassFailure();
  }
};

struct CanonicalizePass : ModulePass<CanonicalizePass> {
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(CanonicalizePass)
  StringRef getArgument() const final { return "attn-canonicalize"; }
  StringRef getDescription() const final { return "constant folding, arith/math canonicalization and CSE"; }
  void runOnOperation() final {
    OpPassManager pm(ModuleOp::getOperationName());
    addCanonicalizeSteps(pm);
    if (failed(this->runPipeline(pm, getOperation()))) signalPassFailure();
  }
};

struct MaskAnalysisPass : ModulePass<MaskAnalysisPass> {
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(MaskAnalysisPass)
  StringRef getArgument() const final { return "attn-mask-analysis"; }
  StringRef getDescription() const final { return "attach #attn.mask: the kept kv range of each query row"; }
  void runOnOperation() final {
    if (failed(annotateMaskAnalysis(getOperation()))) signalPassFailure();
  }
};

struct PlanHeadsPass : ModulePass<PlanHeadsPass> {
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(PlanHeadsPass)
  StringRef getArgument() const final { return "attn-plan-heads"; }
  StringRef getDescription() const final { return "attach head_rows/head_table: the query heads each kv head computes"; }
  void runOnOperation() final {
    if (failed(planHeads(getOperation()))) signalPassFailure();
  }
};

}  // namespace

void registerAttnPasses() {
  PassRegistration<ExpandBuiltinsPass>();
  PassRegistration<CanonicalizePass>();
  PassRegistration<MaskAnalysisPass>();
  PassRegistration<PlanHeadsPass>();
}

}  // namespace attnc
