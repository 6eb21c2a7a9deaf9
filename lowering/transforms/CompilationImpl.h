// What a Compilation holds; for lowering/ sources only (MLIR-heavy).
#pragma once

#include <map>
#include <string>

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/OwningOpRef.h"

#include "lowering/ir/AttnDialect.h"
#include "lowering/transforms/Pipeline.h"

namespace attnc {

struct Compilation::Impl {
  mlir::MLIRContext ctx;
  mutable mlir::OwningOpRef<mlir::ModuleOp> module;  // walks are not const in MLIR
  std::map<std::string, SourceNotes> notes;           // per kernel, read off the spec by fromChecked
  attn::KernelOp lookup(const std::string &name) const;
};

/// Where a spec's expressions are, as text for generated code's comments.
SourceNotes sourceNotes(const dsl::CheckedFile &file, const dsl::Spec &spec);

/// The export from MLIR to the plan (ExportPlan.cpp). Needs: the pipeline
/// has run (the kernel carries `mask_analysis`).
bool exportPlan(attn::KernelOp kernel, KernelPlan &out, std::string &error);

}  // namespace attnc
