// The IR side of the mask analysis: reads an attn.kernel's mask region.
#pragma once

#include "lowering/ir/AttnDialect.h"
#include "lowering/kernel/MaskInfo.h"

namespace attnc {

/// Needs: builtins expanded (expandBuiltins). Analyzes the mask region as
/// interval arithmetic over kv_idx with bounds affine in q_idx, seq_q, seq_kv;
/// parts it cannot describe make the result inexact (inner shrinks, outer grows).
MaskInfo analyzeMask(attn::KernelOp kernel);

}  // namespace attnc
