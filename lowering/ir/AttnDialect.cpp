#include "lowering/ir/AttnDialect.h"

#include "dsl/SizeExpr.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/ADT/TypeSwitch.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectImplementation.h"
#include "mlir/IR/OpImplementation.h"

#include "AttnDialect.cpp.inc"
#include "AttnEnums.cpp.inc"

#define GET_ATTRDEF_CLASSES
#include "AttnAttrs.cpp.inc"

#define GET_OP_CLASSES
#include "AttnOps.cpp.inc"

using namespace mlir;

namespace attnc::attn {

static_assert(static_cast<int>(DType::f32) == static_cast<int>(dsl::DType::F32) &&
              static_cast<int>(DType::f16) == static_cast<int>(dsl::DType::F16) &&
              static_cast<int>(DType::bf16) == static_cast<int>(dsl::DType::BF16) &&
              static_cast<int>(DType::i32) == static_cast<int>(dsl::DType::I32) &&
              static_cast<int>(DType::u8) == static_cast<int>(dsl::DType::U8));

void AttnDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "AttnOps.cpp.inc"
      >();
  addAttributes<
#define GET_ATTRDEF_LIST
#include "AttnAttrs.cpp.inc"
      >();
}

// ---- #attn.mask ----------------------------------------------------------
// A KvSet is stored flattened: [parts, then per part: #lo, #hi, and 4
// integers (q, seq_q, seq_kv, constant) per bound, lower bounds first].

namespace {

void encodeKvSet(const KvSet &s, llvm::SmallVectorImpl<int64_t> &out) {
  out.push_back(static_cast<int64_t>(s.parts.size()));
  for (const KvInterval &iv : s.parts) {
    out.push_back(static_cast<int64_t>(iv.lo.size()));
    out.push_back(static_cast<int64_t>(iv.hi.size()));
    for (const auto *bounds : {&iv.lo, &iv.hi})
      for (const Affine &a : *bounds) out.append({a.q, a.sq, a.skv, a.c});
  }
}

/// Null on a malformed encoding (only a hand-written attribute can have one).
std::optional<KvSet> decodeKvSet(ArrayRef<int64_t> v) {
  size_t at = 0;
  auto next = [&](int64_t &x) {
    if (at >= v.size()) return false;
    x = v[at++];
    return true;
  };
  int64_t parts;
  if (!next(parts) || parts < 0) return std::nullopt;
  KvSet s;
  for (int64_t i = 0; i < parts; ++i) {
    int64_t nlo, nhi;
    if (!next(nlo) || !next(nhi) || nlo < 0 || nhi < 0) return std::nullopt;
    KvInterval iv;
    for (int64_t j = 0; j < nlo + nhi; ++j) {
      Affine a;
      if (!next(a.q) || !next(a.sq) || !next(a.skv) || !next(a.c)) return std::nullopt;
      (j < nlo ? iv.lo : iv.hi).push_back(a);
    }
    s.parts.push_back(std::move(iv));
  }
  if (at != v.size()) return std::nullopt;
  return s;
}

/// `q_idx + -1*seq_q + seq_kv + -1023`: terms joined by `+`, coefficient 1 left out.
void printAffine(AsmPrinter &p, const Affine &a) {
  bool first = true;
  auto term = [&](int64_t k, const char *name) {
    if (k == 0) return;
    p << (first ? "" : " + ");
    first = false;
    if (k != 1) p << k << "*";
    p << name;
  };
  term(a.q, "q_idx");
  term(a.sq, "seq_q");
  term(a.skv, "seq_kv");
  if (a.c != 0 || first) p << (first ? "" : " + ") << a.c;
}

ParseResult parseAffine(AsmParser &p, Affine &a) {
  do {
    int64_t k = 1;
    llvm::StringRef name;
    OptionalParseResult num = p.parseOptionalInteger(k);
    if (num.has_value()) {
      if (failed(*num)) return failure();
      if (failed(p.parseOptionalStar())) {
        a.c += k;
        continue;
      }
    }
    llvm::SMLoc loc = p.getCurrentLocation();
    if (p.parseKeyword(&name)) return failure();
    if (name == "q_idx") a.q += k;
    else if (name == "seq_q") a.sq += k;
    else if (name == "seq_kv") a.skv += k;
    else return p.emitError(loc) << "expected `q_idx`, `seq_q` or `seq_kv`, got `" << name << "`";
  } while (succeeded(p.parseOptionalPlus()));
  return success();
}

/// `{[max(A, B), min(C)], ...}`
void printKvSet(AsmPrinter &p, const KvSet &s) {
  p << "{";
  llvm::interleaveComma(s.parts, p, [&](const KvInterval &iv) {
    p << "[max(";
    llvm::interleaveComma(iv.lo, p, [&](const Affine &a) { printAffine(p, a); });
    p << "), min(";
    llvm::interleaveComma(iv.hi, p, [&](const Affine &a) { printAffine(p, a); });
    p << ")]";
  });
  p << "}";
}

ParseResult parseKvSet(AsmParser &p, KvSet &s) {
  auto bounds = [&](const char *fn, std::vector<Affine> &out) -> ParseResult {
    if (p.parseKeyword(fn)) return failure();
    return p.parseCommaSeparatedList(AsmParser::Delimiter::Paren, [&]() -> ParseResult {
      out.emplace_back();
      return parseAffine(p, out.back());
    });
  };
  return p.parseCommaSeparatedList(AsmParser::Delimiter::Braces, [&]() -> ParseResult {
    KvInterval iv;
    if (p.parseLSquare() || bounds("max", iv.lo) || p.parseComma() || bounds("min", iv.hi) || p.parseRSquare())
      return failure();
    s.parts.push_back(std::move(iv));
    return success();
  });
}

}  // namespace

MaskAnalysisAttr MaskAnalysisAttr::fromInfo(MLIRContext *ctx, const MaskInfo &info) {
  llvm::SmallVector<int64_t> possible, certain;
  encodeKvSet(info.outer, possible);
  encodeKvSet(info.inner, certain);
  return get(ctx, info.hasMask, info.exact, info.readsInputs, possible, certain);
}

MaskInfo MaskAnalysisAttr::toInfo() const {
  MaskInfo m;
  m.hasMask = getHasMask();
  m.exact = getExact();
  m.readsInputs = getReadsInputs();
  // Attributes are built by fromInfo() or checked by parse(): both decode.
  m.outer = decodeKvSet(getPossible()).value_or(KvSet::all());
  m.inner = decodeKvSet(getCertain()).value_or(KvSet::none());
  return m;
}

void MaskAnalysisAttr::print(AsmPrinter &p) const {
  MaskInfo m = toInfo();
  p << "<" << m.kind();
  if (m.hasMask) {
    p << ", possible = ";
    printKvSet(p, m.outer);
    p << ", certain = ";
    printKvSet(p, m.inner);
  }
  p << ">";
}

Attribute MaskAnalysisAttr::parse(AsmParser &p, Type) {
  MaskInfo m;
  llvm::StringRef kind;
  llvm::SMLoc loc = p.getCurrentLocation();
  if (p.parseLess() || p.parseKeyword(&kind)) return {};
  if (kind == "none") {
    m.hasMask = false;
  } else if (kind == "symbolic" || kind == "runtime" || kind == "partial") {
    m.hasMask = true;
    m.exact = kind == "symbolic";
    m.readsInputs = kind == "runtime";
    m.outer = KvSet::none();
    m.inner = KvSet::none();
    if (p.parseComma() || p.parseKeyword("possible") || p.parseEqual() || parseKvSet(p, m.outer) ||
        p.parseComma() || p.parseKeyword("certain") || p.parseEqual() || parseKvSet(p, m.inner))
      return {};
  } else {
    p.emitError(loc) << "expected `none`, `symbolic`, `runtime` or `partial`, got `" << kind << "`";
    return {};
  }
  if (p.parseGreater()) return {};
  return fromInfo(p.getContext(), m);
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
  for (auto in : getBody().getOps<InputOp>())
    if (in.getName() == name) return in;
  return {};
}

LogicalResult KernelOp::verify() {
  DType dt = getDtype();
  if (dt != DType::f32 && dt != DType::f16 && dt != DType::bf16) return emitOpError("dtype must be f32, f16 or bf16");
  if (getScore() == Score::additive && getUnits() < 1) return emitOpError("additive scoring needs units >= 1");
  if (getOutputLse() && getNormalize() != Normalize::softmax) return emitOpError("output lse needs softmax");
  if (getHeads() < 1 || getKvHeads() < 1 || getHeadDim() < 1 || getValueDim() < 1)
    return emitOpError("heads, kv_heads, head_dim and value_dim must be positive");
  if (getHeads() % getKvHeads() != 0) return emitOpError("heads must be a multiple of kv_heads");
  MLIRContext *ctx = getContext();
  Type i32 = IntegerType::get(ctx, 32), f32 = Float32Type::get(ctx), i1 = IntegerType::get(ctx, 1);
  if (failed(verifyExprRegion(*this, getScoreMod(), "score_mod", {f32, i32, i32, i32, i32}, f32)) ||
      failed(verifyExprRegion(*this, getMask(), "mask", {i32, i32, i32, i32}, i1)) ||
      failed(verifyExprRegion(*this, getBias(), "bias", {i32, i32, i32, i32}, f32)))
    return failure();
  if (!getBias().empty() && getNormalize() != Normalize::sigmoid)
    return emitOpError("a bias region needs sigmoid normalization");
  int lowRanks = 0, sparse = 0;
  llvm::StringSet<> names;
  for (Operation &op : getBody().getOps()) {
    if (auto in = llvm::dyn_cast<InputOp>(op))
      if (!names.insert(in.getName()).second) return in.emitOpError("duplicate input name");
    if (llvm::isa<LowRankOp>(op)) ++lowRanks;
    if (llvm::isa<SparseBlockOp>(op)) ++sparse;
  }
  if (getHeadRows().has_value() != static_cast<bool>(getHeadTableAttr()))
    return emitOpError("head_rows and head_table come together");
  if (auto table = getHeadTableAttr()) {
    const int64_t rows = static_cast<int64_t>(*getHeadRows()), heads = static_cast<int64_t>(getHeads());
    const int64_t kvHeads = static_cast<int64_t>(getKvHeads()), group = heads / kvHeads;
    if (rows < 1 || rows > group) return emitOpError() << "head_rows must be in 1.." << group;
    if (static_cast<int64_t>(table.size()) != kvHeads * rows)
      return emitOpError() << "head_table must have kv_heads x head_rows = " << kvHeads * rows << " entries";
    llvm::SmallDenseSet<int64_t> seen;
    for (int64_t g = 0; g < kvHeads; ++g)
      for (int64_t i = 0; i < rows; ++i) {
        int64_t h = table[g * rows + i];
        if (h == -1) continue;
        if (h < 0 || h >= heads || h / group != g)
          return emitOpError() << "head_table entry " << h << " is not a query head of kv head " << g;
        if (i > 0 && table[g * rows + i - 1] == -1) return emitOpError("head_table rows must be packed");
        if (!seen.insert(h).second) return emitOpError() << "head " << h << " twice in head_table";
      }
    // Exactly the heads no attn.prune removes.
    llvm::SmallDenseSet<int64_t> pruned;
    for (PruneOp p : getBody().getOps<PruneOp>()) pruned.insert(p.getHeads().begin(), p.getHeads().end());
    for (int64_t h = 0; h < heads; ++h)
      if (seen.contains(h) == pruned.contains(h))
        return emitOpError() << "head_table " << (pruned.contains(h) ? "lists pruned head " : "misses head ") << h;
  }
  if (lowRanks > 1) return emitOpError("at most one low_rank transform");
  if (sparse > 1) return emitOpError("at most one sparse_block transform");
  return success();
}

LogicalResult InputOp::verify() {
  auto dims = getDims();
  if (dims.empty() || dims.size() > 4) return emitOpError("must have 1 to 4 dimensions");
  for (Attribute a : dims) {
    llvm::StringRef d = llvm::cast<StringAttr>(a).getValue();
    long long v;
    if (!isKnownDim(d) && (d.getAsInteger(10, v) || v < 1) &&
        !dsl::SizeExpr::parse(std::string_view(d.data(), d.size())))
      return emitOpError() << "invalid dimension `" << d << "`";
  }
  return success();
}

LogicalResult PruneOp::verify() {
  auto kernel = (*this)->getParentOfType<KernelOp>();
  const int64_t heads = static_cast<int64_t>(kernel.getHeads());
  llvm::SmallDenseSet<int64_t> seen;
  for (int64_t h : getHeads()) {
    if (h < 0 || h >= heads) return emitOpError() << "head " << h << " out of range";
    if (!seen.insert(h).second) return emitOpError() << "head " << h << " pruned twice";
  }
  if (static_cast<int64_t>(seen.size()) >= heads) return emitOpError("prunes every head");
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
  if (static_cast<int64_t>(getRope()) < 0) return emitOpError("rope must not be negative");
  if (getRope() > 0 && getKind() != "kv") return emitOpError("rope applies to kv only");
  if (auto kernel = (*this)->getParentOfType<KernelOp>(); kernel && getRope() > 0 && getRope() >= kernel.getHeadDim())
    return emitOpError("rope must be less than head_dim");
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
  DType t = in.getElementType();
  bool isFloat = t == DType::f32 || t == DType::f16 || t == DType::bf16;
  if (isFloat != getResult().getType().isF32())
    return emitOpError() << "result type does not match element type " << stringifyDType(t);
  return success();
}

}  // namespace attnc::attn
