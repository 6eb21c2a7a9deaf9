// The reference backend: an f64 interpreter of a compiled `attn.kernel`. It is
// the definition of what every spec computes (docs/language.md) and the oracle
// the other backends are tested against. Region ops are compiled once into a
// small register bytecode; evaluation runs in parallel over (batch, head).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "lowering/KernelDesc.h"
#include "lowering/Pipeline.h"

namespace attnc {

/// A dense row-major tensor of f64 values (integers are stored exactly).
struct HostTensor {
  std::vector<int64_t> shape;
  std::vector<double> data;
  HostTensor() = default;
  explicit HostTensor(std::vector<int64_t> s, double fill = 0);
  int64_t numel() const;
  double &at(std::initializer_list<int64_t> idx);
  double at(std::initializer_list<int64_t> idx) const;
};

class ReferenceKernel {
public:
  /// Needs: `c` has run its pipeline. Null, with `error`, if there is no
  /// such kernel or a region uses an op the interpreter does not know.
  static std::unique_ptr<ReferenceKernel> create(const Compilation &c, const std::string &name,
                                                 std::string &error);
  ~ReferenceKernel();

  const KernelDesc &desc() const;

  /// `args` are the non-output arguments in signature order (q, k, v, ...).
  /// Fills `out` (and `lse` when the kernel has `output lse`) with the ABI
  /// shapes. Returns false, with `error`, on a bad argument.
  /// With `scoreMax`, also gives max_j |s_j| over each row's kept pairs
  /// ([batch, heads, seq_q]): how far f32 rounding of the scores can move a
  /// backend's result (docs/language.md, "Numerics contract").
  bool run(const std::vector<const HostTensor *> &args, HostTensor &out, HostTensor *lse, std::string &error,
           int threads = 0, HostTensor *scoreMax = nullptr) const;

  /// Pairs (q, kv) the mask keeps for batch b, head h (transforms aside),
  /// reading the spec's inputs from `args` (as for run()). -1 on a bad argument.
  int64_t countKept(const std::vector<const HostTensor *> &args, int64_t b, int64_t h, int64_t seqQ,
                    int64_t seqKv) const;

  struct Impl;

private:
  ReferenceKernel();
  std::unique_ptr<Impl> impl_;
};

}  // namespace attnc
