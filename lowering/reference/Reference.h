// The reference backend: an f64 interpreter of a kernel plan. It is
// the definition of what every spec computes (docs/language.md) and the oracle
// the other backends are tested against. Region ops are compiled once into a
// small register bytecode; evaluation runs in parallel over (batch, head).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "lowering/kernel/KernelPlan.h"

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
  /// The interpreter of a plan (it reads the description and the region
  /// programs; the mask analysis is for backends, the reference asks the mask).
  static std::unique_ptr<ReferenceKernel> create(const KernelPlan &plan);
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

  /// Pairs (q, kv) the mask and the block sparsity (`sparse block B input`'s
  /// block mask, or the blocks top-T selects) keep for batch b, head h
  /// (pruning aside),
  /// reading the spec's inputs from `args` (as for run()). -1 on a bad argument.
  int64_t countKept(const std::vector<const HostTensor *> &args, int64_t b, int64_t h, int64_t seqQ,
                    int64_t seqKv) const;
  /// Kept pairs per tile of tileQ x tileKv for batch b, head h (pruning
  /// aside), row-major over ceil(seqQ / tileQ) x ceil(seqKv / tileKv) tiles:
  /// by the mask alone (`maskKept`) and by the mask and the block sparsity
  /// (`kept`). False on a bad argument.
  bool tileKept(const std::vector<const HostTensor *> &args, int64_t b, int64_t h, int64_t seqQ, int64_t seqKv,
                int64_t tileQ, int64_t tileKv, std::vector<int64_t> &maskKept, std::vector<int64_t> &kept) const;

  struct Impl;

private:
  ReferenceKernel();
  std::unique_ptr<Impl> impl_;
};

}  // namespace attnc
