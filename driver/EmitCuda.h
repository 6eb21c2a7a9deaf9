// `attnc SPEC -target cuda -o DIR`: for every attention of the file writes
// DIR/NAME.h and DIR/NAME.cu, and the runtime headers attnc_runtime.h,
// attnc_device.cuh and attnc_simt.h (docs/cuda.md).
#pragma once

#include <string>

#include "dsl/Sema.h"
#include "driver/EmitX86.h"
#include "lowering/Pipeline.h"
#include "lowering/ToCuda.h"

namespace attnc::driver {

struct CudaEmitOptions {
  std::string dir;
  cuda::Arch arch = cuda::Arch::Sm80;
  std::string schedule;        // knobs over the default prefill schedule
  std::string decodeSchedule;  // knobs over the default decode schedule
};

/// The sources of kernel `name`: schedules from the defaults and the knob
/// texts, legalized for the arch. False, with `error` (a usage error: a bad
/// schedule text or a spec the backend cannot take).
bool cudaSources(const Compilation &c, const dsl::CheckedFile *file, const std::string &name,
                 const CudaEmitOptions &o, cuda::CudaSources &out, std::string &error);

/// Why the cuda backend cannot compile this file ("" when it can).
std::string cudaUnsupported(const Compilation &c);

EmitStatus emitCuda(const Compilation &c, const dsl::CheckedFile &file, const CudaEmitOptions &o, std::string &error);

}  // namespace attnc::driver
