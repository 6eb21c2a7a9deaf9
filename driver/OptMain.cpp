// attnc-opt: the `attn` dialect's mlir-opt. Reads .mlir, runs the passes
// named on the command line (--attn-expand-builtins, --attn-canonicalize,
// --attn-mask-analysis, or any upstream pass), prints the IR. The per-pass
// FileCheck tests (tests/lowering/passes/*.mlir) run through it.
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"
#include "mlir/Transforms/Passes.h"

#include "lowering/ir/AttnDialect.h"
#include "lowering/transforms/Passes.h"

int main(int argc, char **argv) {
  mlir::DialectRegistry registry;
  registry.insert<attnc::attn::AttnDialect, mlir::arith::ArithDialect, mlir::math::MathDialect>();
  attnc::registerAttnPasses();
  mlir::registerCanonicalizerPass();
  mlir::registerCSEPass();
  return mlir::asMainReturnCode(mlir::MlirOptMain(argc, argv, "attnc-opt: the attn dialect's pass driver\n", registry));
}
