// The `attn` MLIR dialect (lowering/IR/AttnOps.td). MLIR-heavy: include only
// from lowering/ sources, never from headers the driver or tests see.
#pragma once

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Dialect.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include "AttnDialect.h.inc"

#define GET_OP_CLASSES
#include "AttnOps.h.inc"
