// The one export from MLIR to the plain world: an `attn.kernel` after the
// pipeline becomes a KernelPlan (its description, its regions as register
// programs, the mask analysis read off its `#attn.mask` attribute).
#include "lowering/kernel/KernelPlan.h"

#include <algorithm>

#include <fmt/format.h>

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"

#include "lowering/transforms/CompilationImpl.h"

using namespace mlir;

namespace attnc {

static_assert(static_cast<int>(arith::CmpIPredicate::uge) == static_cast<int>(CmpIPred::uge));
static_assert(static_cast<int>(arith::CmpFPredicate::UNO) == static_cast<int>(CmpFPred::UNO));
static_assert(static_cast<int>(arith::CmpFPredicate::AlwaysTrue) == static_cast<int>(CmpFPred::True));

namespace {

ValType valType(Type t) {
  if (t.isInteger(1)) return ValType::Bool;
  if (isa<FloatType>(t)) return ValType::Float;
  return ValType::Int;
}

class RegionCompiler {
public:
  explicit RegionCompiler(const std::vector<InputDesc> &inputs) : inputs_(inputs) {}

  bool compile(Region &region, bool withScore, Program &p, std::string &error) {
    if (region.empty()) return true;
    Block &block = region.front();
    regs_.clear();
    unsigned first = withScore ? 0 : 1;
    for (BlockArgument arg : block.getArguments()) regs_[arg] = first + arg.getArgNumber();
    p.numRegs = 5;
    for (Operation &op : block) {
      if (auto y = dyn_cast<attn::YieldOp>(op)) {
        p.result = regs_.at(y.getValue());
        continue;
      }
      if (!emit(op, p)) {
        error = fmt::format("no backend supports `{}` in a region", op.getName().getStringRef().str());
        return false;
      }
    }
    return true;
  }

private:
  int32_t reg(Value v) { return regs_.at(v); }
  bool emit(Operation &op, Program &p) {
    if (op.getNumResults() != 1) return false;
    Instr in;
    in.dst = p.numRegs++;
    in.type = valType(op.getResult(0).getType());
    auto bin = [&](Code c) {
      in.code = c;
      in.a = reg(op.getOperand(0));
      in.b = reg(op.getOperand(1));
    };
    auto un = [&](Code c) {
      in.code = c;
      in.a = reg(op.getOperand(0));
    };
    if (auto c = dyn_cast<arith::ConstantOp>(op)) {
      in.code = Code::Const;
      if (auto f = dyn_cast<FloatAttr>(c.getValue())) in.imm = f.getValueAsDouble();
      else if (auto i = dyn_cast<IntegerAttr>(c.getValue()))
        in.imm = i.getType().isInteger(1) ? double(i.getValue().getBoolValue()) : double(i.getValue().getSExtValue());
      else return false;
    } else if (isa<attn::SeqQOp>(op)) in.code = Code::SeqQ;
    else if (isa<attn::SeqKvOp>(op)) in.code = Code::SeqKv;
    else if (isa<arith::AddIOp>(op)) bin(Code::AddI);
    else if (isa<arith::SubIOp>(op)) bin(Code::SubI);
    else if (isa<arith::MulIOp>(op)) bin(Code::MulI);
    else if (isa<arith::DivSIOp>(op)) bin(Code::DivI);
    else if (isa<arith::RemSIOp>(op)) bin(Code::RemI);
    else if (isa<arith::MinSIOp>(op)) bin(Code::MinI);
    else if (isa<arith::MaxSIOp>(op)) bin(Code::MaxI);
    else if (isa<math::AbsIOp>(op)) un(Code::AbsI);
    else if (isa<arith::AddFOp>(op)) bin(Code::AddF);
    else if (isa<arith::SubFOp>(op)) bin(Code::SubF);
    else if (isa<arith::MulFOp>(op)) bin(Code::MulF);
    else if (isa<arith::DivFOp>(op)) bin(Code::DivF);
    else if (isa<arith::RemFOp>(op)) bin(Code::RemF);
    else if (isa<arith::NegFOp>(op)) un(Code::NegF);
    else if (isa<arith::MinimumFOp>(op)) bin(Code::MinF);
    else if (isa<arith::MaximumFOp>(op)) bin(Code::MaxF);
    else if (isa<math::AbsFOp>(op)) un(Code::AbsF);
    else if (isa<math::ExpOp>(op)) un(Code::Exp);
    else if (isa<math::Exp2Op>(op)) un(Code::Exp2);
    else if (isa<math::LogOp>(op)) un(Code::Log);
    else if (isa<math::Log2Op>(op)) un(Code::Log2);
    else if (isa<math::SqrtOp>(op)) un(Code::Sqrt);
    else if (isa<math::RsqrtOp>(op)) un(Code::Rsqrt);
    else if (isa<math::TanhOp>(op)) un(Code::Tanh);
    else if (isa<math::FloorOp>(op)) un(Code::Floor);
    else if (isa<math::CeilOp>(op)) un(Code::Ceil);
    else if (isa<math::SinOp>(op)) un(Code::Sin);
    else if (isa<math::CosOp>(op)) un(Code::Cos);
    else if (isa<math::ErfOp>(op)) un(Code::Erf);
    else if (isa<math::PowFOp>(op)) bin(Code::Pow);
    else if (isa<math::CtPopOp>(op)) un(Code::Popcount);
    else if (auto c = dyn_cast<arith::CmpIOp>(op)) {
      bin(Code::CmpI);
      in.pred = static_cast<uint8_t>(c.getPredicate());
    } else if (auto c = dyn_cast<arith::CmpFOp>(op)) {
      bin(Code::CmpF);
      in.pred = static_cast<uint8_t>(c.getPredicate());
    } else if (isa<arith::AndIOp>(op)) bin(Code::And);
    else if (isa<arith::OrIOp>(op)) bin(Code::Or);
    else if (isa<arith::XOrIOp>(op)) bin(Code::Xor);
    else if (isa<arith::ShLIOp>(op)) bin(Code::Shl);
    else if (isa<arith::ShRSIOp>(op)) bin(Code::ShrS);
    else if (auto s = dyn_cast<arith::SelectOp>(op)) {
      in.code = Code::Select;
      in.a = reg(s.getCondition());
      in.b = reg(s.getTrueValue());
      in.c = reg(s.getFalseValue());
    } else if (isa<arith::SIToFPOp>(op)) un(Code::IToF);
    else if (isa<arith::FPToSIOp>(op)) un(Code::FToI);
    else if (auto l = dyn_cast<attn::LoadOp>(op)) {
      in.code = Code::Load;
      auto it = std::find_if(inputs_.begin(), inputs_.end(), [&](auto &d) { return d.name == l.getInput(); });
      if (it == inputs_.end()) return false;
      in.input = static_cast<int32_t>(it - inputs_.begin());
      int32_t idx[4] = {0, 0, 0, 0};
      in.numIdx = static_cast<int32_t>(l.getIndices().size());
      for (size_t i = 0; i < l.getIndices().size() && i < 4; ++i) idx[i] = reg(l.getIndices()[i]);
      in.a = idx[0];
      in.b = idx[1];
      in.c = idx[2];
      in.imm = idx[3];
    } else {
      return false;
    }
    regs_[op.getResult(0)] = in.dst;
    p.code.push_back(in);
    return true;
  }

  const std::vector<InputDesc> &inputs_;
  llvm::DenseMap<Value, int32_t> regs_;
};

KernelDesc describeKernel(attn::KernelOp k) {
  KernelDesc d;
  d.name = k.getSymName().str();
  d.dtype = attn::fromIR(k.getDtype());
  d.heads = k.getHeads();
  d.kvHeads = k.getKvHeads();
  d.headDim = k.getHeadDim();
  d.valueDim = k.getValueDim();
  d.layout = k.getLayout() == attn::Layout::bshd ? dsl::Layout::BSHD : dsl::Layout::BHSD;
  d.additive = k.getScore() == attn::Score::additive;
  d.units = k.getUnits();
  d.sigmoid = k.getNormalize() == attn::Normalize::sigmoid;
  d.scale = k.getScale().convertToDouble();
  d.outputLse = k.getOutputLse();
  d.hasScoreMod = !k.getScoreMod().empty();
  d.hasMask = !k.getMask().empty();
  d.hasBias = !k.getBias().empty();
  if (auto table = k.getHeadTableAttr()) {
    d.headRows = static_cast<int64_t>(*k.getHeadRows());
    d.headTable.assign(table.asArrayRef().begin(), table.asArrayRef().end());
  }
  for (Operation &op : k.getBody().getOps()) {
    if (auto in = dyn_cast<attn::InputOp>(op)) {
      InputDesc id{in.getName().str(), attn::fromIR(in.getElementType()), {}};
      for (Attribute a : in.getDims()) {
        llvm::StringRef s = cast<StringAttr>(a).getValue();
        dsl::InputDim dim;
        if (auto kind = dsl::dimKindFromName(std::string_view(s))) {
          dim.kind = *kind;
        } else if (s.getAsInteger(10, dim.size)) {  // (not an integer: a size expression, verified)
          dim.kind = dsl::InputDim::Expr;
          dim.expr = dsl::SizeExpr::parse(std::string_view(s.data(), s.size())).value_or(dsl::SizeExpr{});
        }
        id.dims.push_back(dim);
      }
      d.inputs.push_back(std::move(id));
    } else if (auto p = dyn_cast<attn::PruneOp>(op)) {
      d.prunedHeads.assign(p.getHeads().begin(), p.getHeads().end());
    } else if (auto s = dyn_cast<attn::SparseBlockOp>(op)) {
      d.sparseBlock = s.getBlock();
      d.sparseTop = s.getMode() == "top";
      d.sparseTopT = s.getTop();
    } else if (auto l = dyn_cast<attn::LowRankOp>(op)) {
      d.lowRank = l.getKind() == "kv" ? KernelDesc::LowRank::Kv : KernelDesc::LowRank::Seq;
      d.rank = l.getRank();
      d.ropeDim = l.getRope();
    }
  }
  return d;
}

}  // namespace

bool exportPlan(attn::KernelOp k, KernelPlan &out, std::string &error) {
  attn::MaskAnalysisAttr mask = k.getMaskAnalysisAttr();
  if (!mask) {
    error = fmt::format("kernel `{}` has no mask analysis: the pipeline has not run", k.getSymName().str());
    return false;
  }
  out.desc = describeKernel(k);
  out.mask = mask.toInfo();
  out.regions = KernelRegions{};
  RegionCompiler rc(out.desc.inputs);
  return rc.compile(k.getScoreMod(), true, out.regions.scoreMod, error) &&
         rc.compile(k.getMask(), false, out.regions.mask, error) &&
         rc.compile(k.getBias(), false, out.regions.bias, error);
}

namespace {

/// "file.attn:7: mask (`mask causal && ...`)" for a range of the spec.
std::string note(const dsl::CheckedFile &file, dsl::SourceRange r, const char *what) {
  if (r.end <= r.begin) return "";
  dsl::LineCol lc = file.source->lineCol(r.begin);
  std::string text(file.source->lineText(lc.line));
  size_t b = text.find_first_not_of(" \t");
  text = b == std::string::npos ? "" : text.substr(b);
  return fmt::format("{}:{}: {} (`{}`)", file.source->path(), lc.line, what, text);
}

}  // namespace

SourceNotes sourceNotes(const dsl::CheckedFile &file, const dsl::Spec &s) {
  SourceNotes n;
  n.spec = file.source->path();
  n.scoreMod = note(file, s.scoreModRange, "score_mod");
  n.mask = note(file, s.maskRange, "mask");
  n.bias = note(file, s.sigmoidBiasRange, "the bias of `normalize sigmoid`");
  return n;
}

bool Compilation::plan(const std::string &name, KernelPlan &out, std::string &error) const {
  attn::KernelOp k = impl_->lookup(name);
  if (!k) {
    error = fmt::format("no kernel named `{}`", name);
    return false;
  }
  if (!exportPlan(k, out, error)) return false;
  auto it = impl_->notes.find(name);
  if (it != impl_->notes.end()) out.notes = it->second;
  return true;
}

}  // namespace attnc
