// The kernel plan: everything the backends, the reference, `attnc bench` and
// the tests know about one attention, produced once by the pipeline
// (lowering/transforms/ExportPlan.cpp) and never recomputed downstream:
// the plain description with its ABI, the score_mod/mask/bias programs, the
// mask analysis, and where the spec's expressions came from.
#pragma once

#include <string>

#include "lowering/kernel/KernelDesc.h"
#include "lowering/kernel/MaskInfo.h"
#include "lowering/kernel/Program.h"

namespace attnc {

/// Where the pieces of a kernel came from, for the comments of generated
/// code: "file.attn:7: mask (`mask causal && doc[q_idx] == doc[kv_idx]`)".
/// Empty strings where the spec has no such expression.
struct SourceNotes {
  std::string spec;  // the .attn file
  std::string scoreMod, mask, bias;
};

struct KernelPlan {
  KernelDesc desc;
  KernelRegions regions;
  /// The `#attn.mask` attribute of the mask-analysis pass, tile-independent:
  /// backends classify tiles at their own schedule's sizes.
  MaskInfo mask;
  SourceNotes notes;
};

}  // namespace attnc
