#include "lowering/transforms/MLIRGen.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/Verifier.h"

#include "lowering/ir/AttnDialect.h"

using namespace mlir;

namespace attnc {

namespace {

using dsl::BinaryOp;
using dsl::Expr;
using dsl::ExprKind;
using dsl::NameRef;

class Generator {
public:
  Generator(MLIRContext &ctx, const dsl::CheckedFile &file)
      : ctx_(ctx), file_(file), b_(&ctx), fileName_(StringAttr::get(&ctx, file.source->path())) {}

  OwningOpRef<ModuleOp> run();

private:
  Location loc(dsl::SourceRange r) {
    dsl::LineCol lc = file_.source->lineCol(r.begin);
    return FileLineColLoc::get(fileName_, lc.line, lc.column);
  }
  void genKernel(const dsl::Spec &spec);
  /// Fills `region` with one block of the given arguments yielding `e` as `result`.
  void genRegion(Region &region, const Expr *e, bool withScore, Type result);
  Value gen(const Expr &e);
  Value genCall(const Expr &e);
  Value genBinary(const Expr &e);
  Value toFloat(Value v, Location l) {
    if (v.getType().isF32()) return v;
    return b_.create<arith::SIToFPOp>(l, b_.getF32Type(), v);
  }
  Value constI32(int64_t v, Location l) { return b_.create<arith::ConstantIntOp>(l, v, 32); }
  Value constF32(double v, Location l) {
    return b_.create<arith::ConstantFloatOp>(l, APFloat(static_cast<float>(v)), b_.getF32Type());
  }
  Value constBool(bool v, Location l) { return b_.create<arith::ConstantIntOp>(l, v, 1); }
  Value seqQ(Location l) { return b_.create<attn::SeqQOp>(l, b_.getI32Type()); }
  Value seqKv(Location l) { return b_.create<attn::SeqKvOp>(l, b_.getI32Type()); }

  MLIRContext &ctx_;
  const dsl::CheckedFile &file_;
  OpBuilder b_;
  StringAttr fileName_;
  const dsl::Spec *spec_ = nullptr;
  // Block arguments of the region being generated.
  Value score_, batch_, head_, qIdx_, kvIdx_;
};

OwningOpRef<ModuleOp> Generator::run() {
  OwningOpRef<ModuleOp> module = ModuleOp::create(FileLineColLoc::get(fileName_, 1, 1));
  for (const dsl::Spec &spec : file_.specs) {
    b_.setInsertionPointToEnd(module->getBody());
    genKernel(spec);
  }
  return module;
}

void Generator::genKernel(const dsl::Spec &spec) {
  spec_ = &spec;
  auto kernel = b_.create<attn::KernelOp>(
      loc(spec.range), b_.getStringAttr(spec.name), attn::DTypeAttr::get(&ctx_, attn::toIR(spec.dtype)),
      b_.getI64IntegerAttr(spec.heads), b_.getI64IntegerAttr(spec.kvHeads),
      b_.getI64IntegerAttr(spec.headDim), b_.getI64IntegerAttr(spec.valueDim),
      attn::LayoutAttr::get(&ctx_, spec.layout == dsl::Layout::BSHD ? attn::Layout::bshd : attn::Layout::bhsd),
      attn::ScoreAttr::get(&ctx_, spec.score == dsl::ScoreKind::Additive ? attn::Score::additive : attn::Score::dot),
      b_.getI64IntegerAttr(spec.additiveUnits),
      attn::NormalizeAttr::get(&ctx_, spec.normalize == dsl::Normalize::Sigmoid ? attn::Normalize::sigmoid
                                                                                : attn::Normalize::softmax),
      b_.getF64FloatAttr(spec.scale), b_.getBoolAttr(spec.outputLse), attn::MaskAnalysisAttr(),
      IntegerAttr(), DenseI64ArrayAttr());

  Block *body = b_.createBlock(&kernel.getBody());
  b_.setInsertionPointToEnd(body);
  for (const dsl::InputDecl &in : spec.inputs) {
    SmallVector<StringRef> dims;
    SmallVector<std::string> storage;
    for (const dsl::InputDim &d : in.dims)
      storage.push_back(d.kind == dsl::InputDim::Fixed  ? std::to_string(d.size)
                        : d.kind == dsl::InputDim::Expr ? d.expr.text()
                                                        : dsl::dimName(d.kind));
    for (auto &s : storage) dims.push_back(s);
    b_.create<attn::InputOp>(loc(in.range), b_.getStringAttr(in.name),
                             attn::DTypeAttr::get(&ctx_, attn::toIR(in.dtype)), b_.getStrArrayAttr(dims));
  }
  for (const dsl::Transform &t : spec.transforms) {
    Location l = loc(t.range);
    switch (t.kind) {
    case dsl::TransformKind::Prune: b_.create<attn::PruneOp>(l, t.heads); break;
    case dsl::TransformKind::SparseInput: b_.create<attn::SparseBlockOp>(l, t.block, "input", 0); break;
    case dsl::TransformKind::SparseTop: b_.create<attn::SparseBlockOp>(l, t.block, "top", t.top); break;
    case dsl::TransformKind::LowRankKv: b_.create<attn::LowRankOp>(l, "kv", t.rank, t.rope); break;
    case dsl::TransformKind::LowRankSeq: b_.create<attn::LowRankOp>(l, "seq", t.rank); break;
    }
  }
  if (spec.scoreMod) genRegion(kernel.getScoreMod(), spec.scoreMod, true, b_.getF32Type());
  if (spec.mask) genRegion(kernel.getMask(), spec.mask, false, b_.getI1Type());
  if (spec.sigmoidBias) genRegion(kernel.getBias(), spec.sigmoidBias, false, b_.getF32Type());
}

void Generator::genRegion(Region &region, const Expr *e, bool withScore, Type result) {
  Location l = loc(e->range);
  Type i32 = b_.getI32Type();
  SmallVector<Type> types;
  if (withScore) types.push_back(b_.getF32Type());
  types.append({i32, i32, i32, i32});
  SmallVector<Location> locs(types.size(), l);
  Block *block = b_.createBlock(&region, {}, types, locs);
  unsigned i = 0;
  score_ = withScore ? block->getArgument(i++) : Value();
  batch_ = block->getArgument(i++);
  head_ = block->getArgument(i++);
  qIdx_ = block->getArgument(i++);
  kvIdx_ = block->getArgument(i++);
  b_.setInsertionPointToEnd(block);
  Value v = gen(*e);
  if (result.isF32()) v = toFloat(v, l);
  b_.create<attn::YieldOp>(l, v);
}

Value Generator::gen(const Expr &e) {
  Location l = loc(e.range);
  switch (e.kind) {
  case ExprKind::IntLit: return constI32(e.intValue, l);
  case ExprKind::FloatLit: return constF32(e.floatValue, l);
  case ExprKind::BoolLit: return constBool(e.boolValue, l);
  case ExprKind::Name:
    switch (e.ref) {
    case NameRef::Batch: return batch_;
    case NameRef::Head: return head_;
    case NameRef::QIdx: return qIdx_;
    case NameRef::KvIdx: return kvIdx_;
    case NameRef::SeqQ: return seqQ(l);
    case NameRef::SeqKv: return seqKv(l);
    case NameRef::Score: return score_;
    case NameRef::Causal: return b_.create<attn::CausalOp>(l, b_.getI1Type(), qIdx_, kvIdx_, /*top_left=*/false);
    case NameRef::Constant:
      if (e.constType == dsl::Type::Int) return constI32(e.intValue, l);
      if (e.constType == dsl::Type::Bool) return constBool(e.boolValue, l);
      return constF32(e.floatValue, l);
    default: break;
    }
    break;
  case ExprKind::Index: {
    SmallVector<Value> idx;
    for (auto &a : e.args) idx.push_back(gen(*a));
    const dsl::InputDecl &in = spec_->inputs[e.inputIndex];
    Type t = dsl::isFloat(in.dtype) ? Type(b_.getF32Type()) : Type(b_.getI32Type());
    return b_.create<attn::LoadOp>(l, t, in.name, idx);
  }
  case ExprKind::Unary: {
    Value v = gen(*e.args[0]);
    switch (e.unaryOp) {
    case dsl::UnaryOp::Plus: return v;
    case dsl::UnaryOp::Not: return b_.create<arith::XOrIOp>(l, v, constBool(true, l));
    case dsl::UnaryOp::BitNot: return b_.create<arith::XOrIOp>(l, v, constI32(-1, l));
    case dsl::UnaryOp::Neg:
      if (v.getType().isF32()) return b_.create<arith::NegFOp>(l, v);
      return b_.create<arith::SubIOp>(l, constI32(0, l), v);
    }
    break;
  }
  case ExprKind::Binary: return genBinary(e);
  case ExprKind::Ternary: {
    Value c = gen(*e.args[0]);
    Value a = gen(*e.args[1]), b = gen(*e.args[2]);
    if (e.type == dsl::Type::Float) {
      a = toFloat(a, l);
      b = toFloat(b, l);
    }
    return b_.create<arith::SelectOp>(l, c, a, b);
  }
  case ExprKind::Call: return genCall(e);
  }
  llvm_unreachable("unchecked expression reached MLIRGen");
}

Value Generator::genBinary(const Expr &e) {
  Location l = loc(e.range);
  Value a = gen(*e.args[0]), b = gen(*e.args[1]);
  BinaryOp op = e.binaryOp;
  if (op == BinaryOp::And || op == BinaryOp::BitAnd) return b_.create<arith::AndIOp>(l, a, b);
  if (op == BinaryOp::Or || op == BinaryOp::BitOr) return b_.create<arith::OrIOp>(l, a, b);
  if (op == BinaryOp::BitXor) return b_.create<arith::XOrIOp>(l, a, b);
  if (op == BinaryOp::Shl || op == BinaryOp::Shr) {
    // arith's shifts are poison for amounts outside 0..31; the language takes
    // the amount modulo 32 (dsl::shiftLeft32 / shiftRight32): its low bits.
    Value n = b_.create<arith::AndIOp>(l, b, constI32(31, l));
    if (op == BinaryOp::Shl) return b_.create<arith::ShLIOp>(l, a, n);
    return b_.create<arith::ShRSIOp>(l, a, n);
  }
  bool isFloat = a.getType().isF32() || b.getType().isF32();
  if (isFloat) {
    a = toFloat(a, l);
    b = toFloat(b, l);
  }
  auto cmp = [&](arith::CmpIPredicate ip, arith::CmpFPredicate fp) -> Value {
    if (isFloat) return b_.create<arith::CmpFOp>(l, fp, a, b);
    return b_.create<arith::CmpIOp>(l, ip, a, b);
  };
  using IP = arith::CmpIPredicate;
  using FP = arith::CmpFPredicate;
  switch (op) {
  case BinaryOp::Add: return isFloat ? Value(b_.create<arith::AddFOp>(l, a, b)) : Value(b_.create<arith::AddIOp>(l, a, b));
  case BinaryOp::Sub: return isFloat ? Value(b_.create<arith::SubFOp>(l, a, b)) : Value(b_.create<arith::SubIOp>(l, a, b));
  case BinaryOp::Mul: return isFloat ? Value(b_.create<arith::MulFOp>(l, a, b)) : Value(b_.create<arith::MulIOp>(l, a, b));
  case BinaryOp::Div: return isFloat ? Value(b_.create<arith::DivFOp>(l, a, b)) : Value(b_.create<arith::DivSIOp>(l, a, b));
  case BinaryOp::Rem: return b_.create<arith::RemSIOp>(l, a, b);
  case BinaryOp::Eq: return cmp(IP::eq, FP::OEQ);
  case BinaryOp::Ne: return cmp(IP::ne, FP::UNE);
  case BinaryOp::Lt: return cmp(IP::slt, FP::OLT);
  case BinaryOp::Le: return cmp(IP::sle, FP::OLE);
  case BinaryOp::Gt: return cmp(IP::sgt, FP::OGT);
  case BinaryOp::Ge: return cmp(IP::sge, FP::OGE);
  default: break;
  }
  llvm_unreachable("bad binary operator");
}

Value Generator::genCall(const Expr &e) {
  Location l = loc(e.range);
  llvm::StringRef name = e.name;
  SmallVector<Value> a;
  for (auto &arg : e.args) a.push_back(gen(*arg));
  if (name == "window") {
    Value left = a.size() == 1 ? b_.create<arith::SubIOp>(l, a[0], constI32(1, l)).getResult() : a[0];
    Value right = a.size() == 1 ? constI32(0, l) : a[1];
    return b_.create<attn::WindowOp>(l, b_.getI1Type(), qIdx_, kvIdx_, left, right, e.topLeft);
  }
  if (name == "causal") return b_.create<attn::CausalOp>(l, b_.getI1Type(), qIdx_, kvIdx_, e.topLeft);
  if (name == "sinks" || name == "prefix") return b_.create<attn::SinksOp>(l, b_.getI1Type(), kvIdx_, a[0]);
  if (name == "select") {
    if (e.type == dsl::Type::Float) {
      a[1] = toFloat(a[1], l);
      a[2] = toFloat(a[2], l);
    }
    return b_.create<arith::SelectOp>(l, a[0], a[1], a[2]);
  }
  if (name == "popcount") return b_.create<math::CtPopOp>(l, a[0]);
  bool intResult = e.type == dsl::Type::Int;
  if (!intResult)
    for (Value &v : a) v = toFloat(v, l);
  if (name == "ceil_div") {
    if (intResult) {
      // The truncated quotient, plus one where the remainder is non-zero and
      // has the divisor's sign (the exact quotient is positive and not whole).
      Value q = b_.create<arith::DivSIOp>(l, a[0], a[1]), r = b_.create<arith::RemSIOp>(l, a[0], a[1]);
      Value zero = constI32(0, l);
      Value rNeg = b_.create<arith::CmpIOp>(l, arith::CmpIPredicate::slt, r, zero);
      Value bNeg = b_.create<arith::CmpIOp>(l, arith::CmpIPredicate::slt, a[1], zero);
      Value sameSign = b_.create<arith::CmpIOp>(l, arith::CmpIPredicate::eq, rNeg, bNeg);
      Value adjust =
          b_.create<arith::AndIOp>(l, b_.create<arith::CmpIOp>(l, arith::CmpIPredicate::ne, r, zero), sameSign);
      return b_.create<arith::SelectOp>(l, adjust, b_.create<arith::AddIOp>(l, q, constI32(1, l)), q);
    }
    return b_.create<math::CeilOp>(l, b_.create<arith::DivFOp>(l, a[0], a[1]));
  }
  if (name == "floor_div" || name == "floor_mod") {
    if (intResult) {
      // Python's rounding from C's: q - 1 and r + b where the remainder is
      // non-zero and its sign differs from the divisor's (a zero divisor:
      // q = r = 0, as `/` and `%` give).
      Value q = b_.create<arith::DivSIOp>(l, a[0], a[1]), r = b_.create<arith::RemSIOp>(l, a[0], a[1]);
      Value zero = constI32(0, l);
      Value rNeg = b_.create<arith::CmpIOp>(l, arith::CmpIPredicate::slt, r, zero);
      Value bNeg = b_.create<arith::CmpIOp>(l, arith::CmpIPredicate::slt, a[1], zero);
      Value adjust = b_.create<arith::AndIOp>(l, b_.create<arith::CmpIOp>(l, arith::CmpIPredicate::ne, r, zero),
                                              b_.create<arith::XOrIOp>(l, rNeg, bNeg));
      if (name == "floor_div")
        return b_.create<arith::SelectOp>(l, adjust, b_.create<arith::SubIOp>(l, q, constI32(1, l)), q);
      return b_.create<arith::SelectOp>(l, adjust, b_.create<arith::AddIOp>(l, r, a[1]), r);
    }
    Value fl = b_.create<math::FloorOp>(l, b_.create<arith::DivFOp>(l, a[0], a[1]));
    if (name == "floor_div") return fl;
    return b_.create<arith::SubFOp>(l, a[0], b_.create<arith::MulFOp>(l, a[1], fl));
  }
  if (name == "sin") return b_.create<math::SinOp>(l, a[0]);
  if (name == "cos") return b_.create<math::CosOp>(l, a[0]);
  if (name == "erf") return b_.create<math::ErfOp>(l, a[0]);
  if (name == "pow") return b_.create<math::PowFOp>(l, a[0], a[1]);
  if (name == "gelu" || name == "gelu_tanh") {
    // 0.5 x (1 + erf(x / sqrt 2)); 0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3))).
    Value x = a[0], inner;
    if (name == "gelu") {
      inner = b_.create<math::ErfOp>(l, b_.create<arith::MulFOp>(l, x, constF32(0.70710678118654752440, l)));
    } else {
      Value x3 = b_.create<arith::MulFOp>(l, b_.create<arith::MulFOp>(l, x, x), x);
      Value arg = b_.create<arith::AddFOp>(l, x, b_.create<arith::MulFOp>(l, constF32(0.044715, l), x3));
      inner = b_.create<math::TanhOp>(l, b_.create<arith::MulFOp>(l, constF32(0.79788456080286535588, l), arg));
    }
    Value half = b_.create<arith::MulFOp>(l, constF32(0.5, l), x);
    return b_.create<arith::MulFOp>(l, half, b_.create<arith::AddFOp>(l, constF32(1.0, l), inner));
  }
  if (name == "abs") return intResult ? Value(b_.create<math::AbsIOp>(l, a[0])) : Value(b_.create<math::AbsFOp>(l, a[0]));
  if (name == "min") return intResult ? Value(b_.create<arith::MinSIOp>(l, a[0], a[1])) : Value(b_.create<arith::MinimumFOp>(l, a[0], a[1]));
  if (name == "max") return intResult ? Value(b_.create<arith::MaxSIOp>(l, a[0], a[1])) : Value(b_.create<arith::MaximumFOp>(l, a[0], a[1]));
  if (name == "clamp") {
    if (intResult) return b_.create<arith::MaxSIOp>(l, b_.create<arith::MinSIOp>(l, a[0], a[2]), a[1]);
    return b_.create<arith::MaximumFOp>(l, b_.create<arith::MinimumFOp>(l, a[0], a[2]), a[1]);
  }
  if (name == "exp") return b_.create<math::ExpOp>(l, a[0]);
  if (name == "exp2") return b_.create<math::Exp2Op>(l, a[0]);
  if (name == "log") return b_.create<math::LogOp>(l, a[0]);
  if (name == "log2") return b_.create<math::Log2Op>(l, a[0]);
  if (name == "sqrt") return b_.create<math::SqrtOp>(l, a[0]);
  if (name == "rsqrt") return b_.create<math::RsqrtOp>(l, a[0]);
  if (name == "tanh") return b_.create<math::TanhOp>(l, a[0]);
  if (name == "floor") return b_.create<math::FloorOp>(l, a[0]);
  if (name == "ceil") return b_.create<math::CeilOp>(l, a[0]);
  if (name == "sigmoid") return b_.create<attn::SigmoidOp>(l, b_.getF32Type(), a[0]);
  if (name == "softcap") return b_.create<attn::SoftcapOp>(l, b_.getF32Type(), a[0], a[1]);
  llvm_unreachable("unknown function reached MLIRGen");
}

}  // namespace

OwningOpRef<ModuleOp> mlirGen(MLIRContext &ctx, const dsl::CheckedFile &file) {
  return Generator(ctx, file).run();
}

}  // namespace attnc
