// canonicalize: MLIR's canonicalizer (constant folding and the arith/math
// canonicalization patterns) followed by CSE, over every kernel region.
#include "lowering/ir/AttnDialect.h"
#include "lowering/transforms/Passes.h"

#include "mlir/Pass/PassManager.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;

namespace attnc {

void addCanonicalizeSteps(OpPassManager &pm) {
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
}

LogicalResult canonicalize(ModuleOp module) {
  PassManager pm(module.getContext());
  addCanonicalizeSteps(pm);
  return pm.run(module);
}

}  // namespace attnc
