// What a Compilation holds; for lowering/ sources only (MLIR-heavy).
#pragma once

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/OwningOpRef.h"

#include "lowering/IR/AttnDialect.h"
#include "lowering/Pipeline.h"

namespace attnc {

struct Compilation::Impl {
  mlir::MLIRContext ctx;
  mutable mlir::OwningOpRef<mlir::ModuleOp> module;  // walks are not const in MLIR
  attn::KernelOp lookup(const std::string &name) const;
};

/// Reads the plain description off a kernel op.
KernelDesc describeKernel(attn::KernelOp kernel);

}  // namespace attnc
