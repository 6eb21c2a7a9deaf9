// MLIRGen: checked specs -> one `attn.kernel` op each, in a new module.
// Locations are the .attn file's line:col, so every later diagnostic and
// printed op points back at the spec text that produced it.
#pragma once

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"

#include "dsl/Sema.h"

namespace attnc {

/// Needs: `file.ok()`. Guarantees: a module that verifies, with the mask
/// builtins and softcap/sigmoid still as `attn` ops (see expandBuiltins).
mlir::OwningOpRef<mlir::ModuleOp> mlirGen(mlir::MLIRContext &ctx, const dsl::CheckedFile &file);

}  // namespace attnc
