// plan-heads: `attn.prune` becomes the plan of the query heads each kv head
// computes (`head_rows`, `head_table` on the kernel), which both backends
// read instead of re-deriving it: a kernel tile holds head_rows query heads
// per query position (the most any kv head keeps, not heads / kv_heads), and
// a kv head that keeps none is never visited, so its K/V are never read.
#include "lowering/ir/AttnDialect.h"
#include "lowering/transforms/Passes.h"

#include "llvm/ADT/DenseSet.h"
#include "mlir/IR/Builders.h"

using namespace mlir;

namespace attnc {

LogicalResult planHeads(ModuleOp module) {
  module.walk([](attn::KernelOp k) {
    llvm::SmallDenseSet<int64_t> pruned;
    for (attn::PruneOp p : k.getBody().getOps<attn::PruneOp>()) pruned.insert(p.getHeads().begin(), p.getHeads().end());
    if (pruned.empty()) {
      k.removeHeadRowsAttr();
      k.removeHeadTableAttr();
      return;
    }
    const int64_t heads = static_cast<int64_t>(k.getHeads()), kvHeads = static_cast<int64_t>(k.getKvHeads());
    const int64_t group = heads / kvHeads;
    std::vector<std::vector<int64_t>> kept(kvHeads);
    int64_t rows = 0;
    for (int64_t g = 0; g < kvHeads; ++g) {
      for (int64_t i = 0; i < group; ++i)
        if (!pruned.contains(g * group + i)) kept[g].push_back(g * group + i);
      rows = std::max<int64_t>(rows, static_cast<int64_t>(kept[g].size()));
    }
    std::vector<int64_t> table(kvHeads * rows, -1);
    for (int64_t g = 0; g < kvHeads; ++g)
      for (size_t i = 0; i < kept[g].size(); ++i) table[g * rows + i] = kept[g][i];
    Builder b(k.getContext());
    k.setHeadRowsAttr(b.getI64IntegerAttr(rows));
    k.setHeadTableAttr(b.getDenseI64ArrayAttr(table));
  });
  return success();
}

}  // namespace attnc
