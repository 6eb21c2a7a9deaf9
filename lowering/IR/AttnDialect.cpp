#include "AttnDialect.h"

#include "llvm/ADT/StringSet.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/OpImplementation.h"

#include "AttnDialect.cpp.inc"

#define GET_OP_CLASSES
#include "AttnOps.cpp.inc"

using namespace mlir;

namespace attnc::attn {

void AttnDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "AttnOps.cpp.inc"
      >();
}

namespace {

bool isKnownDim(llvm::StringRef d) {
  return d == "batch" || d == "heads" || d == "kv_heads" || d == "seq_q" || d == "seq_kv";
}

/// Checks that a region is empty or one block with the given argument types
/// ending in attn.yield of `result`.
LogicalResult verifyExprRegion(Operation *op, Region &region, llvm::StringRef name,
                               ArrayRef<Type> args, Type result) {
  if (region.empty()) return success();
  if (!region.hasOneBlock()) return op->emitOpError() << "region `" << name << "` must have one block";
  Block &block = region.front();
  if (block.getNumArguments() != args.size())
    return op->emitOpError() << "region `" << name << "` must have " << args.size() << " arguments";
  for (auto [arg, type] : llvm::zip(block.getArguments(), args))
    if (arg.getType() != type)
      return op->emitOpError() << "region `" << name << "` argument " << arg.getArgNumber()
                               << " must be " << type;
  auto yield = llvm::dyn_cast_or_null<YieldOp>(block.empty() ? nullptr : &block.back());
  if (!yield) return op->emitOpError() << "region `" << name << "` must end in attn.yield";
  if (yield.getValue().getType() != result)
    return yield.emitOpError() << "in `" << name << "` must yield " << result;
  return success();
}

}  // namespace

void KernelOp::getAsmBlockArgumentNames(Region &region, OpAsmSetValueNameFn setName) {
  // Print region arguments by their .attn names: %score, %b, %h, %q_idx, %kv_idx.
  if (region.empty()) return;
  static const char *const names[] = {"score", "b", "h", "q_idx", "kv_idx"};
  Block &block = region.front();
  unsigned skip = block.getNumArguments() == 5 ? 0 : 1;
  for (BlockArgument arg : block.getArguments())
    if (arg.getArgNumber() + skip < 5) setName(arg, names[arg.getArgNumber() + skip]);
}

InputOp KernelOp::lookupInput(llvm::StringRef name) {
  for (auto in : getBody().front().getOps<InputOp>())
    if (in.getName() == name) return in;
  return {};
}

LogicalResult KernelOp::verify() {
  llvm::StringRef dt = getDtype();
  if (dt != "f32" && dt != "f16" && dt != "bf16") return emitOpError("dtype must be f32, f16 or bf16");
  if (getLayout() != "bhsd" && getLayout() != "bshd") return emitOpError("layout must be bhsd or bshd");
  if (getScore() != "dot" && getScore() != "additive") return emitOpError("score must be dot or additive");
  if (getScore() == "additive" && getUnits() < 1) return emitOpError("additive scoring needs units >= 1");
  if (getNormalize() != "softmax" && getNormalize() != "sigmoid")
    return emitOpError("normalize must be softmax or sigmoid");
  if (getOutputLse() && getNormalize() != "softmax") return emitOpError("output lse needs softmax");
  if (getHeads() < 1 || getKvHeads() < 1 || getHeadDim() < 1 || getValueDim() < 1)
    return emitOpError("heads, kv_heads, head_dim and value_dim must be positive");
  if (getHeads() % getKvHeads() != 0) return emitOpError("heads must be a multiple of kv_heads");
  MLIRContext *ctx = getContext();
  Type i32 = IntegerType::get(ctx, 32), f32 = Float32Type::get(ctx), i1 = IntegerType::get(ctx, 1);
  if (failed(verifyExprRegion(*this, getScoreMod(), "score_mod", {f32, i32, i32, i32, i32}, f32)) ||
      failed(verifyExprRegion(*this, getMask(), "mask", {i32, i32, i32, i32}, i1)) ||
      failed(verifyExprRegion(*this, getBias(), "bias", {i32, i32, i32, i32}, f32)))
    return failure();
  if (!getBias().empty() && getNormalize() != "sigmoid")
    return emitOpError("a bias region needs sigmoid normalization");
  int lowRanks = 0, sparse = 0;
  llvm::StringSet<> names;
  for (Operation &op : getBody().front()) {
    if (auto in = llvm::dyn_cast<InputOp>(op))
      if (!names.insert(in.getName()).second) return in.emitOpError("duplicate input name");
    if (llvm::isa<LowRankOp>(op)) ++lowRanks;
    if (llvm::isa<SparseBlockOp>(op)) ++sparse;
  }
  if (lowRanks > 1) return emitOpError("at most one low_rank transform");
  if (sparse > 1) return emitOpError("at most one sparse_block transform");
  return success();
}

LogicalResult InputOp::verify() {
  llvm::StringRef t = getElementType();
  if (t != "f32" && t != "f16" && t != "bf16" && t != "i32" && t != "u8")
    return emitOpError("element type must be f32, f16, bf16, i32 or u8");
  auto dims = getDims();
  if (dims.empty() || dims.size() > 4) return emitOpError("must have 1 to 4 dimensions");
  for (Attribute a : dims) {
    llvm::StringRef d = llvm::cast<StringAttr>(a).getValue();
    long long v;
    if (!isKnownDim(d) && (d.getAsInteger(10, v) || v < 1))
      return emitOpError() << "invalid dimension `" << d << "`";
  }
  return success();
}

LogicalResult PruneOp::verify() {
  auto kernel = (*this)->getParentOfType<KernelOp>();
  llvm::SmallDenseSet<int64_t> seen;
  for (int64_t h : getHeads()) {
    if (h < 0 || h >= kernel.getHeads()) return emitOpError() << "head " << h << " out of range";
    if (!seen.insert(h).second) return emitOpError() << "head " << h << " pruned twice";
  }
  if (static_cast<int64_t>(seen.size()) >= kernel.getHeads()) return emitOpError("prunes every head");
  return success();
}

LogicalResult SparseBlockOp::verify() {
  if (getBlock() < 1) return emitOpError("block must be positive");
  if (getMode() != "input" && getMode() != "top") return emitOpError("mode must be input or top");
  if (getMode() == "top" && getTop() < 1) return emitOpError("top must be positive");
  return success();
}

LogicalResult LowRankOp::verify() {
  if (getKind() != "kv" && getKind() != "seq") return emitOpError("kind must be kv or seq");
  if (getRank() < 1) return emitOpError("rank must be positive");
  return success();
}

LogicalResult LoadOp::verify() {
  auto kernel = (*this)->getParentOfType<KernelOp>();
  if (!kernel) return emitOpError("must be inside attn.kernel");
  InputOp in = kernel.lookupInput(getInput());
  if (!in) return emitOpError() << "unknown input `" << getInput() << "`";
  if (getIndices().size() != in.getDims().size())
    return emitOpError() << "input `" << getInput() << "` has " << in.getDims().size()
                         << " dimensions, indexed with " << getIndices().size();
  llvm::StringRef t = in.getElementType();
  bool isFloat = t == "f32" || t == "f16" || t == "bf16";
  if (isFloat != getResult().getType().isF32())
    return emitOpError() << "result type does not match element type " << t;
  return success();
}

}  // namespace attnc::attn
