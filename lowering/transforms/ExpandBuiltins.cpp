// expand-builtins: mask builtins and the non-MLIR math functions become
// arith/math ops, so later passes and every backend see one vocabulary.
#include "lowering/ir/AttnDialect.h"
#include "lowering/transforms/Passes.h"

#include "mlir/IR/Builders.h"

using namespace mlir;

namespace attnc {

namespace {

/// q' = q_idx + seq_kv - seq_q: bottom-right alignment when seq_q != seq_kv.
Value alignedQuery(OpBuilder &b, Location l, Value q) {
  Value sq = b.create<attn::SeqQOp>(l, b.getI32Type());
  Value skv = b.create<attn::SeqKvOp>(l, b.getI32Type());
  return b.create<arith::AddIOp>(l, q, b.create<arith::SubIOp>(l, skv, sq));
}

Value expand(OpBuilder &b, Operation *op) {
  Location l = op->getLoc();
  using P = arith::CmpIPredicate;
  if (auto c = dyn_cast<attn::CausalOp>(op)) {
    Value qa = c.getTopLeft() ? c.getQIdx() : alignedQuery(b, l, c.getQIdx());
    return b.create<arith::CmpIOp>(l, P::sle, c.getKvIdx(), qa);
  }
  if (auto w = dyn_cast<attn::WindowOp>(op)) {
    Value qa = w.getTopLeft() ? w.getQIdx() : alignedQuery(b, l, w.getQIdx());
    Value lo = b.create<arith::SubIOp>(l, qa, w.getLeft());
    Value hi = b.create<arith::AddIOp>(l, qa, w.getRight());
    Value geLo = b.create<arith::CmpIOp>(l, P::sge, w.getKvIdx(), lo);
    Value leHi = b.create<arith::CmpIOp>(l, P::sle, w.getKvIdx(), hi);
    return b.create<arith::AndIOp>(l, geLo, leHi);
  }
  if (auto s = dyn_cast<attn::SinksOp>(op))
    return b.create<arith::CmpIOp>(l, P::slt, s.getKvIdx(), s.getN());
  if (auto s = dyn_cast<attn::SoftcapOp>(op)) {
    Value t = b.create<math::TanhOp>(l, b.create<arith::DivFOp>(l, s.getX(), s.getCap()));
    return b.create<arith::MulFOp>(l, s.getCap(), t);
  }
  if (auto s = dyn_cast<attn::SigmoidOp>(op)) {
    Value one = b.create<arith::ConstantFloatOp>(l, APFloat(1.0f), b.getF32Type());
    Value e = b.create<math::ExpOp>(l, b.create<arith::NegFOp>(l, s.getX()));
    return b.create<arith::DivFOp>(l, one, b.create<arith::AddFOp>(l, one, e));
  }
  return {};
}

}  // namespace

LogicalResult expandBuiltins(ModuleOp module) {
  SmallVector<Operation *> worklist;
  module.walk([&](Operation *op) {
    if (isa<attn::CausalOp, attn::WindowOp, attn::SinksOp, attn::SoftcapOp, attn::SigmoidOp>(op))
      worklist.push_back(op);
  });
  OpBuilder b(module.getContext());
  for (Operation *op : worklist) {
    b.setInsertionPoint(op);
    Value v = expand(b, op);
    op->getResult(0).replaceAllUsesWith(v);
    op->erase();
  }
  return success();
}

}  // namespace attnc
