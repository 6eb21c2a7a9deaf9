// canonicalize: MLIR's canonicalizer (constant folding and the arith/math
// canonicalization patterns) followed by CSE, over every kernel region.
#include "lowering/IR/AttnDialect.h"
#include "lowering/Passes.h"

#include "mlir/Pass/PassManager.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;

namespace attnc {

LogicalResult canonicalize(ModuleOp module) {
  PassManager pm(module.getContext());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  return pm.run(module);
}

}  // namespace attnc
