// The `attn` MLIR dialect (lowering/ir/AttnOps.td): ops, enum attributes and
// the mask-analysis attribute. MLIR-heavy: included by lowering/ir and
// lowering/transforms sources and attnc-opt only, never by a header the
// backends, the driver or the tests see.
#pragma once

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Dialect.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include "lowering/kernel/MaskInfo.h"

#include "AttnDialect.h.inc"
#include "AttnEnums.h.inc"

#define GET_ATTRDEF_CLASSES
#include "AttnAttrs.h.inc"

#define GET_OP_CLASSES
#include "AttnOps.h.inc"

#include "dsl/Types.h"

namespace attnc::attn {
/// The dialect's dtype enum and the front end's are numbered alike (checked
/// in AttnDialect.cpp), as is attnc_runtime.h's attnc_dtype.
inline DType toIR(dsl::DType t) { return static_cast<DType>(static_cast<int>(t)); }
inline dsl::DType fromIR(DType t) { return static_cast<dsl::DType>(static_cast<int>(t)); }
}  // namespace attnc::attn
