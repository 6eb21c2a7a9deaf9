#include "dsl/Sema.h"

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "dsl/Parser.h"

namespace attnc::dsl {

const char *typeName(Type t) {
  switch (t) {
  case Type::Int: return "an integer";
  case Type::Float: return "a float";
  case Type::Bool: return "a bool";
  case Type::Error: return "an invalid value";
  }
  return "";
}

const char *spelling(BinaryOp op) {
  static const char *s[] = {"+", "-", "*", "/", "%", "==", "!=", "<", "<=", ">", ">=", "&&", "||",
                            "&", "|", "^", "<<", ">>"};
  return s[static_cast<int>(op)];
}
const char *spelling(UnaryOp op) {
  static const char *s[] = {"-", "+", "!", "~"};
  return s[static_cast<int>(op)];
}

const char *itemName(ItemKind k) {
  static const char *s[] = {"dtype", "heads",  "kv_heads", "head_dim",  "value_dim",
                            "layout", "scale", "param",    "input",     "score",
                            "score_mod", "mask", "normalize", "output", "compress", "let"};
  return s[static_cast<int>(k)];
}

ExprPtr cloneExpr(const Expr &e) {
  auto c = std::make_unique<Expr>();
  c->kind = e.kind, c->range = e.range, c->depth = e.depth;
  c->intValue = e.intValue, c->floatValue = e.floatValue, c->boolValue = e.boolValue;
  c->name = e.name, c->nameRange = e.nameRange, c->unaryOp = e.unaryOp, c->binaryOp = e.binaryOp;
  c->opRange = e.opRange;
  for (const ExprPtr &a : e.args) c->args.push_back(a ? cloneExpr(*a) : nullptr);
  c->type = e.type, c->ref = e.ref, c->inputIndex = e.inputIndex, c->constType = e.constType, c->topLeft = e.topLeft;
  c->reduceVar = e.reduceVar, c->reduceVarRange = e.reduceVarRange;
  return c;
}

const char *transformName(TransformKind k) {
  switch (k) {
  case TransformKind::Prune: return "prune heads";
  case TransformKind::SparseInput: return "sparse block ... input";
  case TransformKind::SparseTop: return "sparse block ... top";
  case TransformKind::LowRankKv: return "low_rank kv";
  case TransformKind::LowRankSeq: return "low_rank seq";
  }
  return "";
}

const char *dtypeName(DType t) {
  static const char *s[] = {"f32", "f16", "bf16", "i32", "u8"};
  return s[static_cast<int>(t)];
}
std::optional<DType> dtypeFromName(std::string_view name) {
  for (DType t : {DType::F32, DType::F16, DType::BF16, DType::I32, DType::U8})
    if (name == dtypeName(t)) return t;
  return std::nullopt;
}

bool isFloat(DType t) { return t == DType::F32 || t == DType::F16 || t == DType::BF16; }

const char *dimName(InputDim::Kind k) {
  static const char *s[] = {"", "batch", "heads", "kv_heads", "seq_q", "seq_kv", ""};
  return s[static_cast<int>(k)];
}

std::optional<InputDim::Kind> dimKindFromName(std::string_view name) {
  for (InputDim::Kind k : {InputDim::Batch, InputDim::Heads, InputDim::KvHeads, InputDim::SeqQ, InputDim::SeqKv})
    if (name == dimName(k)) return k;
  return std::nullopt;
}

namespace {

/// Where an expression is evaluated; decides which names are in scope.
enum class Ctx { Constant, ScoreMod, Mask, SigmoidBias };

/// A checked expression's type and, in constant contexts, its value.
struct Value {
  Type type = Type::Error;
  bool isConst = false;
  int64_t i = 0;
  double f = 0;
  bool b = false;
  double asFloat() const { return type == Type::Int ? static_cast<double>(i) : f; }
};

Value errorValue() { return {}; }
Value intConst(int64_t v) { return {Type::Int, true, v, 0, false}; }
Value floatConst(double v) { return {Type::Float, true, 0, v, false}; }
Value boolConst(bool v) { return {Type::Bool, true, 0, 0, v}; }
Value runtime(Type t) { return {t, false, 0, 0, false}; }

/// i32 arithmetic wraps, as it does in generated code.
int64_t wrap32(int64_t v) { return static_cast<int32_t>(static_cast<uint32_t>(v)); }

struct FnInfo {
  std::string_view name;
  int minArgs, maxArgs;
};
const FnInfo kFunctions[] = {
    {"exp", 1, 1},    {"exp2", 1, 1},  {"log", 1, 1},     {"log2", 1, 1},   {"sqrt", 1, 1},
    {"rsqrt", 1, 1},  {"tanh", 1, 1},  {"sigmoid", 1, 1}, {"abs", 1, 1},    {"min", 2, 2},
    {"max", 2, 2},    {"clamp", 3, 3}, {"floor", 1, 1},   {"ceil", 1, 1},   {"select", 3, 3},
    {"softcap", 2, 2}, {"window", 1, 2}, {"sinks", 1, 1}, {"prefix", 1, 1},
    {"sin", 1, 1},    {"cos", 1, 1},   {"erf", 1, 1},     {"gelu", 1, 1},   {"gelu_tanh", 1, 1},
    {"pow", 2, 2},    {"floor_div", 2, 2}, {"floor_mod", 2, 2}, {"popcount", 1, 1}, {"ceil_div", 2, 2},
    {"causal", 1, 1},  // causal(top_left); plain `causal` is a name
    {"any", 1, 1},    {"all", 1, 1},   {"sum", 1, 1},  // only as reductions: any(i in A..B: EXPR)
};

const std::vector<std::string_view> kIndexNames = {"b", "h", "q_idx", "kv_idx", "seq_q", "seq_kv"};
const std::vector<std::string_view> kSizeNames = {"heads", "kv_heads", "head_dim", "value_dim"};

bool isReserved(std::string_view n) {
  for (auto s : kIndexNames) if (s == n) return true;
  for (auto s : kSizeNames) if (s == n) return true;
  for (auto &f : kFunctions) if (f.name == n) return true;
  return n == "score" || n == "causal" || n == "batch" || n == "true" || n == "false";
}

std::string arityText(const FnInfo &f) {
  auto plural = [](int n) { return fmt::format("{} argument{}", n, n == 1 ? "" : "s"); };
  if (f.minArgs == f.maxArgs) return plural(f.minArgs);
  return fmt::format("{} or {}", f.minArgs, plural(f.maxArgs));
}

std::string dimsText(size_t n) { return fmt::format("{} dimension{}", n, n == 1 ? "" : "s"); }

class SpecChecker {
public:
  SpecChecker(AttentionDecl &decl, DiagnosticEngine &diags, std::vector<Item> *fileLets = nullptr,
              bool reportFileLets = true)
      : decl_(decl), diags_(diags), fileLets_(fileLets), reportFileLets_(reportFileLets) {}
  bool run(Spec &spec);

private:
  // Items.
  void collectItems();
  Value evalNamed(const std::string &name, SourceRange use);
  int64_t intItem(ItemKind k, int64_t dflt, bool required, int64_t min);
  int64_t positiveInt(Expr *e, const char *what, int64_t min = 1);
  void checkInputs(Spec &spec);
  bool inputDim(Expr &e, InputDim &dim);
  std::optional<SizeExpr> sizeExpr(Expr &e);
  void checkTransforms(Spec &spec);

  // Expressions.
  Value check(Expr &e, Ctx ctx);
  Value checkName(Expr &e, Ctx ctx);
  Value checkCall(Expr &e, Ctx ctx);
  Value checkIndex(Expr &e, Ctx ctx);
  Value checkUnary(Expr &e, Ctx ctx);
  Value checkBinary(Expr &e, Ctx ctx);
  Value checkTernary(Expr &e, Ctx ctx);
  bool wantNumber(const Value &v, const Expr &e, const std::string &what) {
    if (v.type == Type::Bool) {
      diags_.error(DiagKind::expected_number, e.range, what);
      return false;
    }
    return v.type != Type::Error;
  }
  bool wantBool(const Value &v, const Expr &e, const std::string &what) {
    if (v.type == Type::Int || v.type == Type::Float) {
      diags_.error(DiagKind::expected_bool, e.range, what, typeName(v.type));
      return false;
    }
    return v.type != Type::Error;
  }
  bool wantInt(const Value &v, const Expr &e, const std::string &what) {
    if (v.type == Type::Float || v.type == Type::Bool) {
      diags_.error(DiagKind::expected_integer, e.range, what, typeName(v.type));
      return false;
    }
    return v.type != Type::Error;
  }
  Value runtimeName(Expr &e, Ctx ctx, NameRef ref) {
    e.ref = ref;
    if (ctx == Ctx::Constant) {
      diags_.error(DiagKind::not_constant, e.range, constWhat_, e.name);
      return errorValue();
    }
    return runtime(ref == NameRef::Causal ? Type::Bool : Type::Int);
  }
  std::vector<std::string_view> namesInScope(Ctx ctx) const;

  AttentionDecl &decl_;
  DiagnosticEngine &diags_;
  std::map<ItemKind, Item *> items_;
  std::set<ItemKind> present_;  // items given but broken by a syntax error
  struct Named {
    Item *item = nullptr;
    enum State { Unvisited, InProgress, Done } state = Unvisited;
    Value value;
  };
  std::map<std::string, Named> params_;  // params and the four size items
  std::vector<std::string> paramOrder_;
  std::map<std::string, size_t> inputIndex_;
  std::vector<InputDecl> inputs_;
  std::string constWhat_;  // "`heads`", for not_constant messages

  // `let`s: the file's, then the block's, in source order (`order`). A use
  // is inlined: a copy of the body (a function's parameters replaced by
  // copies of the call's arguments) takes the use's place and is checked
  // there, so it is typed per use and legal where its body is.
  struct Let {
    Item *item;
    int order;
    bool file;
    bool active = false;
  };
  std::vector<Item> *fileLets_;
  bool reportFileLets_;  // (the file's lets are diagnosed once, with the first block)
  std::map<std::string, Let> lets_;
  std::vector<Let *> letStack_;
  std::set<std::string> fileLetNames_;
  std::set<std::string> refusedLets_;  // lets named as a builtin (reported once; their uses are not)
  size_t inlinedNodes_ = 0;
  bool letLimitHit_ = false;
  void collectLets(std::map<std::string, SourceRange> &declared);
  void checkLetParams();
  Value inlineLet(Expr &e, Ctx ctx, Let &let);
  Value checkReduction(Expr &e, Ctx ctx);
};

namespace {
size_t countNodes(const Expr &e) {
  size_t n = 1;
  for (const ExprPtr &a : e.args)
    if (a) n += countNodes(*a);
  return n;
}
/// Replaces every name `params[i]` in `e` by a copy of `args[i]`.
void substitute(ExprPtr &e, const std::vector<std::pair<std::string, SourceRange>> &params,
                const std::vector<ExprPtr> &args) {
  if (!e) return;
  if (e->kind == ExprKind::Name)
    for (size_t i = 0; i < params.size(); ++i)
      if (e->name == params[i].first) {
        e = cloneExpr(*args[i]);
        return;
      }
  for (ExprPtr &a : e->args) substitute(a, params, args);
}
}  // namespace

/// `any(i in A..B: BODY)` and `all sum max min`: A and B compile-time ints,
/// the body copied once per value of i (a literal there), the copies joined
/// by `||`, `&&`, `+`, `max` or `min` as a balanced tree; the backends see
/// the unrolled expression (CSE shares what the copies have in common).
Value SpecChecker::checkReduction(Expr &e, Ctx ctx) {
  const std::string &fn = e.name;
  if (fn != "any" && fn != "all" && fn != "sum" && fn != "max" && fn != "min") {
    diags_.error(DiagKind::not_a_reduction, e.nameRange, fn);
    return errorValue();
  }
  {
    const std::string &v = e.reduceVar;
    std::string what;
    if (isReserved(v)) what = "a built-in name";
    else if (params_.count(v)) what = fmt::format("the param `{}`", v);
    else if (inputIndex_.count(v)) what = fmt::format("the input `{}`", v);
    else if (lets_.count(v)) what = fmt::format("the let `{}`", v);
    if (!what.empty()) {
      diags_.error(DiagKind::let_shadows, e.reduceVarRange, v, fn, what);
      return errorValue();
    }
  }
  int64_t bounds[2] = {0, 0};
  for (int i = 0; i < 2; ++i) {
    const std::string saved = constWhat_;
    constWhat_ = fmt::format("the range of `{}`", fn);
    Value v = check(*e.args[i], Ctx::Constant);
    constWhat_ = saved;
    if (!wantInt(v, *e.args[i], fmt::format("the {} of `{}`'s range", i == 0 ? "start" : "end", fn)) || !v.isConst)
      return errorValue();
    bounds[i] = v.i;
  }
  constexpr int64_t kMaxTerms = 4096;
  const int64_t n = std::max<int64_t>(0, bounds[1] - bounds[0]);
  if (n > kMaxTerms) {
    diags_.error(DiagKind::reduction_too_long, e.range, fn, n, kMaxTerms);
    return errorValue();
  }
  const std::vector<std::pair<std::string, SourceRange>> var = {{e.reduceVar, e.reduceVarRange}};
  auto term = [&](int64_t i) {
    std::vector<ExprPtr> lit;
    lit.push_back(std::make_unique<Expr>());
    lit[0]->kind = ExprKind::IntLit, lit[0]->intValue = i, lit[0]->range = e.reduceVarRange;
    ExprPtr t = cloneExpr(*e.args[2]);
    substitute(t, var, lit);
    return t;
  };
  // The body once, at the first value: its type, and its errors reported once.
  ExprPtr first = term(bounds[0]);
  Value v0 = check(*first, ctx);
  if (v0.type == Type::Error) return errorValue();
  if (fn == "any" || fn == "all") {
    if (!wantBool(v0, *e.args[2], fmt::format("the body of `{}`", fn))) return errorValue();
  } else if (!wantNumber(v0, *e.args[2], fmt::format("the body of `{}`", fn))) {
    return errorValue();
  }
  const SourceRange use = e.range;
  if (n == 0) {
    if (fn == "max" || fn == "min") {
      diags_.error(DiagKind::empty_reduction, use, fn, bounds[0], bounds[1]);
      return errorValue();
    }
    Expr lit;
    if (fn == "sum") {
      lit.kind = v0.type == Type::Int ? ExprKind::IntLit : ExprKind::FloatLit;
    } else {
      lit.kind = ExprKind::BoolLit;
      lit.boolValue = fn == "all";
    }
    lit.range = use;
    e = std::move(lit);
    return check(e, ctx);
  }
  std::vector<ExprPtr> terms;
  for (int64_t i = bounds[0]; i < bounds[0] + n; ++i) terms.push_back(term(i));
  while (terms.size() > 1) {
    std::vector<ExprPtr> next;
    for (size_t i = 0; i + 1 < terms.size(); i += 2) {
      auto j = std::make_unique<Expr>();
      j->range = use;
      if (fn == "max" || fn == "min") {
        j->kind = ExprKind::Call;
        j->name = fn;
        j->nameRange = e.nameRange;
      } else {
        j->kind = ExprKind::Binary;
        j->binaryOp = fn == "any" ? BinaryOp::Or : fn == "all" ? BinaryOp::And : BinaryOp::Add;
        j->opRange = e.nameRange;
      }
      j->depth = std::max(terms[i]->depth, terms[i + 1]->depth) + 1;
      j->args.push_back(std::move(terms[i]));
      j->args.push_back(std::move(terms[i + 1]));
      next.push_back(std::move(j));
    }
    if (terms.size() % 2) next.push_back(std::move(terms.back()));
    terms = std::move(next);
  }
  e = std::move(*terms[0]);
  e.range = use;
  return check(e, ctx);
}

void SpecChecker::collectLets(std::map<std::string, SourceRange> &declared) {
  int order = 0;
  auto add = [&](Item &item, bool file) {
    if (item.broken || item.word.empty()) return;
    if (isReserved(item.word)) {
      if (!file || reportFileLets_) diags_.error(DiagKind::reserved_name, item.wordRange, item.word);
      refusedLets_.insert(item.word);
      return;
    }
    auto [it, fresh] = declared.emplace(item.word, item.wordRange);
    if (!fresh) {
      if (file && !reportFileLets_ && fileLetNames_.count(item.word)) return;
      Diagnostic *d = diags_.error(DiagKind::duplicate_name, item.wordRange, item.word);
      diags_.note(d, DiagKind::note_previous, it->second, fmt::format("`{}` is", item.word));
      return;
    }
    lets_.emplace(item.word, Let{&item, order++, file});
  };
  if (fileLets_)
    for (Item &item : *fileLets_) {
      add(item, true);
      fileLetNames_.insert(item.word);
    }
  for (Item &item : decl_.items)
    if (item.kind == ItemKind::Let) add(item, false);
}

void SpecChecker::checkLetParams() {
  for (auto &[name, let] : lets_) {
    std::set<std::string> seen;
    if (let.file && !reportFileLets_) continue;
    for (auto &[p, range] : let.item->letParams) {
      std::string what;
      if (isReserved(p)) what = "a built-in name";
      else if (params_.count(p)) what = fmt::format("the param `{}`", p);
      else if (inputIndex_.count(p)) what = fmt::format("the input `{}`", p);
      else if (lets_.count(p)) what = fmt::format("the let `{}`", p);
      else if (!seen.insert(p).second) what = "another parameter of the same name";
      if (!what.empty()) diags_.error(DiagKind::let_shadows, range, p, name, what);
    }
  }
}

Value SpecChecker::inlineLet(Expr &e, Ctx ctx, Let &let) {
  Item &item = *let.item;
  const bool call = e.kind == ExprKind::Call;
  if (item.letIsFunction && !call) {
    diags_.error(DiagKind::let_is_function, e.range, item.word,
                 item.letParams.size() == 1 ? std::string("1 argument") : fmt::format("{} arguments", item.letParams.size()),
                 item.word);
    return errorValue();
  }
  if (!item.letIsFunction && call) {
    diags_.error(DiagKind::let_not_function, e.nameRange, item.word);
    return errorValue();
  }
  if (call && e.args.size() != item.letParams.size()) {
    auto plural = [](size_t n) { return fmt::format("{} argument{}", n, n == 1 ? "" : "s"); };
    diags_.error(DiagKind::wrong_arity, e.range, item.word, plural(item.letParams.size()), e.args.size());
    return errorValue();
  }
  if (let.active) {
    diags_.error(DiagKind::circular_definition, call ? e.nameRange : e.range, item.word);
    return errorValue();
  }
  if (!letStack_.empty()) {
    const Let &in = *letStack_.back();
    // A let's body may use the lets above it (a file's lets: the file's only).
    if (let.order > in.order || (in.file && !let.file)) {
      diags_.error(DiagKind::let_before_definition, call ? e.nameRange : e.range, item.word);
      return errorValue();
    }
  }
  ++item.letUses;
  if (!item.expr) return errorValue();
  ExprPtr body = cloneExpr(*item.expr);
  if (call) substitute(body, item.letParams, e.args);
  constexpr size_t kMaxLevels = 64, kMaxNodes = 1000000;
  inlinedNodes_ += countNodes(*body);
  if (letStack_.size() >= kMaxLevels || inlinedNodes_ > kMaxNodes) {
    if (!letLimitHit_) diags_.error(DiagKind::let_too_deep, e.range, kMaxLevels, kMaxNodes);
    letLimitHit_ = true;  // (one error: every use still open stops here too)
    return errorValue();
  }
  let.active = true;
  letStack_.push_back(&let);
  Value v = check(*body, ctx);
  letStack_.pop_back();
  let.active = false;
  const SourceRange use = e.range;
  e = std::move(*body);
  e.range = use;  // (the use's place, for what its parent reports)
  return v;
}

void SpecChecker::collectItems() {
  std::map<std::string, SourceRange> declared;
  for (Item &item : decl_.items) {
    if (item.kind == ItemKind::Let) continue;  // (collectLets, below)
    if (item.broken) {
      present_.insert(item.kind);
      continue;
    }
    if (item.kind == ItemKind::Param || item.kind == ItemKind::Input) {
      if (isReserved(item.word)) {
        diags_.error(DiagKind::reserved_name, item.wordRange, item.word);
        continue;
      }
      auto [it, fresh] = declared.emplace(item.word, item.wordRange);
      if (!fresh) {
        Diagnostic *d = diags_.error(DiagKind::duplicate_name, item.wordRange, item.word);
        diags_.note(d, DiagKind::note_previous, it->second, fmt::format("`{}` is", item.word));
        continue;
      }
      if (item.kind == ItemKind::Param) {
        params_[item.word].item = &item;
        paramOrder_.push_back(item.word);
      } else {
        inputIndex_[item.word] = SIZE_MAX;  // resolved in checkInputs
      }
      continue;
    }
    auto [it, fresh] = items_.emplace(item.kind, &item);
    if (!fresh) {
      Diagnostic *d = diags_.error(DiagKind::duplicate_item, item.keyword, itemName(item.kind));
      diags_.note(d, DiagKind::note_previous, it->second->keyword,
                  fmt::format("`{}` is", itemName(item.kind)));
    }
  }
  for (ItemKind k : {ItemKind::Heads, ItemKind::KvHeads, ItemKind::HeadDim, ItemKind::ValueDim}) {
    auto it = items_.find(k);
    params_[itemName(k)].item = it == items_.end() ? nullptr : it->second;
  }
  collectLets(declared);
  checkLetParams();
}

/// Evaluates a param or size item on first use (so they may refer to each
/// other in any order), detecting cycles.
Value SpecChecker::evalNamed(const std::string &name, SourceRange use) {
  Named &n = params_.at(name);
  if (n.state == Named::Done) return n.value;
  if (n.state == Named::InProgress) {
    diags_.error(DiagKind::circular_definition, use, name);
    n.value = errorValue();
    return n.value;
  }
  n.state = Named::InProgress;
  Value v;
  if (n.item && n.item->expr) {
    std::string saved = constWhat_;
    const std::string what =
        n.item->kind == ItemKind::Param ? fmt::format("param `{}`", name) : fmt::format("`{}`", name);
    constWhat_ = what;
    v = check(*n.item->expr, Ctx::Constant);
    constWhat_ = saved;
    if (n.item->kind != ItemKind::Param && v.type != Type::Error && !wantInt(v, *n.item->expr, what))
      v = errorValue();
  } else if (name == "kv_heads") {
    v = evalNamed("heads", use);
  } else if (name == "value_dim") {
    v = evalNamed("head_dim", use);
  } else {
    v = errorValue();  // a missing required item, reported by run()
  }
  // A value that failed stays an error without re-reporting at each use.
  n.value = v;
  n.state = Named::Done;
  return v;
}

int64_t SpecChecker::positiveInt(Expr *e, const char *what, int64_t min) {
  if (!e) return 0;
  std::string saved = constWhat_;
  constWhat_ = fmt::format("`{}`", what);
  Value v = check(*e, Ctx::Constant);
  constWhat_ = saved;
  if (!wantInt(v, *e, fmt::format("`{}`", what)) || !v.isConst) return 0;
  if (v.i < min) {
    diags_.error(DiagKind::value_out_of_range, e->range, what, fmt::format("at least {}", min), v.i);
    return 0;
  }
  return v.i;
}

std::vector<std::string_view> SpecChecker::namesInScope(Ctx ctx) const {
  std::vector<std::string_view> names(kSizeNames.begin(), kSizeNames.end());
  if (ctx != Ctx::Constant) {
    names.insert(names.end(), kIndexNames.begin(), kIndexNames.end());
    names.push_back("causal");
  }
  if (ctx == Ctx::ScoreMod) names.push_back("score");
  for (auto &p : paramOrder_) names.push_back(p);
  if (ctx != Ctx::Constant)
    for (auto &in : inputs_) names.push_back(in.name);
  return names;
}

Value SpecChecker::check(Expr &e, Ctx ctx) {
  Value v;
  switch (e.kind) {
  case ExprKind::IntLit: v = intConst(e.intValue); break;
  case ExprKind::FloatLit: v = floatConst(e.floatValue); break;
  case ExprKind::BoolLit: v = boolConst(e.boolValue); break;
  case ExprKind::Name: v = checkName(e, ctx); break;
  case ExprKind::Call: v = checkCall(e, ctx); break;
  case ExprKind::Index: v = checkIndex(e, ctx); break;
  case ExprKind::Unary: v = checkUnary(e, ctx); break;
  case ExprKind::Binary: v = checkBinary(e, ctx); break;
  case ExprKind::Ternary: v = checkTernary(e, ctx); break;
  }
  e.type = v.type;
  return v;
}

Value SpecChecker::checkName(Expr &e, Ctx ctx) {
  const std::string &n = e.name;
  static const std::pair<std::string_view, NameRef> indexRefs[] = {
      {"b", NameRef::Batch},  {"h", NameRef::Head},        {"q_idx", NameRef::QIdx},
      {"kv_idx", NameRef::KvIdx}, {"seq_q", NameRef::SeqQ}, {"seq_kv", NameRef::SeqKv},
      {"causal", NameRef::Causal}};
  for (auto &[name, ref] : indexRefs)
    if (n == name) return runtimeName(e, ctx, ref);
  if (n == "score") {
    if (ctx != Ctx::ScoreMod) {
      diags_.error(DiagKind::score_outside_score_mod, e.range);
      return errorValue();
    }
    e.ref = NameRef::Score;
    return runtime(Type::Float);
  }
  if (auto it = lets_.find(n); it != lets_.end()) return inlineLet(e, ctx, it->second);
  if (params_.count(n)) {
    Value v = evalNamed(n, e.range);
    e.ref = NameRef::Constant;
    e.constType = v.type;
    e.intValue = v.i;
    e.floatValue = v.f;
    e.boolValue = v.b;
    return v;
  }
  if (inputIndex_.count(n)) {
    if (ctx == Ctx::Constant) {
      diags_.error(DiagKind::not_constant, e.range, constWhat_, n);
      return errorValue();
    }
    auto it = inputIndex_.find(n);
    if (it->second != SIZE_MAX)
      diags_.error(DiagKind::input_not_indexed, e.range, n, dimsText(inputs_[it->second].dims.size()));
    return errorValue();
  }
  if (refusedLets_.count(n)) return errorValue();  // (its `let` was refused: said once, there)
  for (auto &f : kFunctions)
    if (f.name == n) {
      // A function named without a call: say how it is called.
      diags_.error(DiagKind::wrong_arity, e.range, n, arityText(f), "none");
      return errorValue();
    }
  diags_.error(DiagKind::unknown_name, e.range, n, didYouMean(n, namesInScope(ctx)));
  return errorValue();
}

Value SpecChecker::checkCall(Expr &e, Ctx ctx) {
  if (!e.reduceVar.empty()) return checkReduction(e, ctx);
  if (auto it = lets_.find(e.name); it != lets_.end()) return inlineLet(e, ctx, it->second);
  if (e.name == "any" || e.name == "all" || e.name == "sum") {
    diags_.error(DiagKind::reduction_form, e.nameRange, e.name);
    return errorValue();
  }
  const FnInfo *fn = nullptr;
  for (auto &f : kFunctions)
    if (f.name == e.name) fn = &f;
  if (!fn) {
    std::vector<std::string_view> names;
    for (auto &f : kFunctions) names.push_back(f.name);
    std::string hint = didYouMean(e.name, names);
    if (hint.empty() && inputIndex_.count(e.name))
      hint = fmt::format("; `{}` is an input: index it with `[ ]`", e.name);
    diags_.error(DiagKind::unknown_function, e.nameRange, e.name, hint);
    for (auto &a : e.args) check(*a, ctx);
    return errorValue();
  }
  // The mask builtins' alignment: a last argument `top_left` (a word of
  // theirs, not a name) aligns q_idx with kv_idx at the top left;
  // `bottom_right` says the default.
  if ((fn->name == "causal" || fn->name == "window") && !e.args.empty() &&
      e.args.back()->kind == ExprKind::Name &&
      (e.args.back()->name == "top_left" || e.args.back()->name == "bottom_right")) {
    e.topLeft = e.args.back()->name == "top_left";
    e.args.pop_back();
    if (fn->name == "causal" && e.args.empty()) {
      e.ref = NameRef::Causal;
      if (ctx == Ctx::Constant) {
        diags_.error(DiagKind::not_constant, e.range, constWhat_, "causal");
        return errorValue();
      }
      return runtime(Type::Bool);
    }
  }
  if (fn->name == "causal") {
    // `causal(x)` with anything but top_left.
    diags_.error(DiagKind::bad_alignment, e.args.empty() ? e.range : e.args.back()->range, "causal");
    return errorValue();
  }
  int n = static_cast<int>(e.args.size());
  if (n < fn->minArgs || n > fn->maxArgs) {
    diags_.error(DiagKind::wrong_arity, e.range, e.name, arityText(*fn), n);
    return errorValue();
  }
  std::vector<Value> a;
  for (auto &arg : e.args) a.push_back(check(*arg, ctx));
  for (auto &v : a)
    if (v.type == Type::Error) return errorValue();
  std::string_view name = fn->name;
  auto argWhat = [&](size_t i) {
    return fn->maxArgs == 1 ? fmt::format("the argument of `{}`", name)
                            : fmt::format("argument {} of `{}`", i + 1, name);
  };
  if (name == "window" || name == "sinks" || name == "prefix") {
    for (size_t i = 0; i < a.size(); ++i)
      if (!wantInt(a[i], *e.args[i], argWhat(i))) return errorValue();
    e.ref = NameRef::Causal;  // mask builtins are run-time bools
    if (ctx == Ctx::Constant) {
      diags_.error(DiagKind::not_constant, e.range, constWhat_, name);
      return errorValue();
    }
    return runtime(Type::Bool);
  }
  if (name == "select") {
    if (!wantBool(a[0], *e.args[0], argWhat(0))) return errorValue();
    bool bool1 = a[1].type == Type::Bool, bool2 = a[2].type == Type::Bool;
    if (bool1 != bool2) {
      if (bool1) wantBool(a[2], *e.args[2], argWhat(2));
      else wantNumber(a[2], *e.args[2], argWhat(2));
      return errorValue();
    }
    Type t = bool1 ? Type::Bool
             : (a[1].type == Type::Int && a[2].type == Type::Int) ? Type::Int : Type::Float;
    if (a[0].isConst && a[1].isConst && a[2].isConst) {
      const Value &pick = a[0].b ? a[1] : a[2];
      if (t == Type::Float) return floatConst(pick.asFloat());
      return pick;
    }
    return runtime(t);
  }
  if (name == "popcount") {
    if (!wantInt(a[0], *e.args[0], argWhat(0))) return errorValue();
    return a[0].isConst ? intConst(std::popcount(static_cast<uint32_t>(static_cast<int32_t>(a[0].i))))
                        : runtime(Type::Int);
  }
  for (size_t i = 0; i < a.size(); ++i)
    if (!wantNumber(a[i], *e.args[i], argWhat(i))) return errorValue();
  bool allInt = true, allConst = true;
  for (auto &v : a) {
    allInt = allInt && v.type == Type::Int;
    allConst = allConst && v.isConst;
  }
  bool intResult = allInt && (name == "abs" || name == "min" || name == "max" || name == "clamp" ||
                               name == "floor_div" || name == "floor_mod" || name == "ceil_div");
  if (!allConst) return runtime(intResult ? Type::Int : Type::Float);
  if (intResult) {
    if (name == "abs") return intConst(wrap32(std::llabs(a[0].i)));
    if (name == "min") return intConst(std::min(a[0].i, a[1].i));
    if (name == "floor_div") return intConst(dsl::floorDiv32(static_cast<int32_t>(a[0].i), static_cast<int32_t>(a[1].i)));
    if (name == "ceil_div") return intConst(dsl::ceilDiv32(static_cast<int32_t>(a[0].i), static_cast<int32_t>(a[1].i)));
    if (name == "floor_mod") return intConst(dsl::floorMod32(static_cast<int32_t>(a[0].i), static_cast<int32_t>(a[1].i)));
    if (name == "max") return intConst(std::max(a[0].i, a[1].i));
    return intConst(std::max(std::min(a[0].i, a[2].i), a[1].i));
  }
  double x = a[0].asFloat();
  double r = 0;
  if (name == "exp") r = std::exp(x);
  else if (name == "exp2") r = std::exp2(x);
  else if (name == "log") r = std::log(x);
  else if (name == "log2") r = std::log2(x);
  else if (name == "sqrt") r = std::sqrt(x);
  else if (name == "rsqrt") r = 1 / std::sqrt(x);
  else if (name == "tanh") r = std::tanh(x);
  else if (name == "sigmoid") r = 1 / (1 + std::exp(-x));
  else if (name == "abs") r = std::fabs(x);
  else if (name == "floor") r = std::floor(x);
  else if (name == "ceil") r = std::ceil(x);
  else if (name == "min") r = std::fmin(x, a[1].asFloat());
  else if (name == "max") r = std::fmax(x, a[1].asFloat());
  else if (name == "clamp") r = std::fmax(std::fmin(x, a[2].asFloat()), a[1].asFloat());
  else if (name == "softcap") r = a[1].asFloat() * std::tanh(x / a[1].asFloat());
  else if (name == "sin") r = std::sin(x);
  else if (name == "cos") r = std::cos(x);
  else if (name == "erf") r = std::erf(x);
  else if (name == "gelu") r = dsl::gelu(x);
  else if (name == "gelu_tanh") r = dsl::geluTanh(x);
  else if (name == "pow") r = std::pow(x, a[1].asFloat());
  else if (name == "floor_div") r = std::floor(x / a[1].asFloat());
  else if (name == "ceil_div") r = std::ceil(x / a[1].asFloat());
  else if (name == "floor_mod") r = x - a[1].asFloat() * std::floor(x / a[1].asFloat());
  return floatConst(r);
}

Value SpecChecker::checkIndex(Expr &e, Ctx ctx) {
  auto it = inputIndex_.find(e.name);
  if (it == inputIndex_.end()) {
    bool known = params_.count(e.name) || isReserved(e.name);
    if (known) diags_.error(DiagKind::not_indexable, e.nameRange, e.name);
    else diags_.error(DiagKind::unknown_name, e.nameRange, e.name, didYouMean(e.name, namesInScope(ctx)));
    for (auto &a : e.args) check(*a, ctx);
    return errorValue();
  }
  if (ctx == Ctx::Constant) {
    diags_.error(DiagKind::not_constant, e.nameRange, constWhat_, e.name);
    return errorValue();
  }
  if (it->second == SIZE_MAX) return errorValue();  // the input's declaration was invalid
  const InputDecl &in = inputs_[it->second];
  bool ok = true;
  for (size_t i = 0; i < e.args.size(); ++i) {
    Value v = check(*e.args[i], ctx);
    ok = wantInt(v, *e.args[i], fmt::format("index {} of `{}`", i + 1, e.name)) && ok;
  }
  if (e.args.size() != in.dims.size()) {
    diags_.error(DiagKind::wrong_index_count, e.range, e.name, dimsText(in.dims.size()),
                 e.args.size() == 1 ? std::string("1 index") : fmt::format("{} indices", e.args.size()));
    return errorValue();
  }
  if (!ok) return errorValue();
  e.ref = NameRef::Input;
  e.inputIndex = static_cast<int>(it->second);
  return runtime(isFloat(in.dtype) ? Type::Float : Type::Int);
}

Value SpecChecker::checkUnary(Expr &e, Ctx ctx) {
  Value v = check(*e.args[0], ctx);
  std::string what = fmt::format("the operand of `{}`", spelling(e.unaryOp));
  if (e.unaryOp == UnaryOp::Not) {
    if (!wantBool(v, *e.args[0], what)) return errorValue();
    return v.isConst ? boolConst(!v.b) : runtime(Type::Bool);
  }
  if (e.unaryOp == UnaryOp::BitNot) {
    if (!wantInt(v, *e.args[0], what)) return errorValue();
    return v.isConst ? intConst(~static_cast<int32_t>(v.i)) : runtime(Type::Int);
  }
  if (!wantNumber(v, *e.args[0], what)) return errorValue();
  if (!v.isConst || e.unaryOp == UnaryOp::Plus) return v;
  return v.type == Type::Int ? intConst(wrap32(-v.i)) : floatConst(-v.f);
}

Value SpecChecker::checkBinary(Expr &e, Ctx ctx) {
  Value l = check(*e.args[0], ctx);
  Value r = check(*e.args[1], ctx);
  if (l.type == Type::Error || r.type == Type::Error) return errorValue();
  BinaryOp op = e.binaryOp;
  std::string lw = fmt::format("the left operand of `{}`", spelling(op));
  std::string rw = fmt::format("the right operand of `{}`", spelling(op));
  bool bothConst = l.isConst && r.isConst;
  switch (op) {
  case BinaryOp::And:
  case BinaryOp::Or: {
    bool ok = wantBool(l, *e.args[0], lw);
    ok = wantBool(r, *e.args[1], rw) && ok;
    if (!ok) return errorValue();
    if (bothConst) return boolConst(op == BinaryOp::And ? (l.b && r.b) : (l.b || r.b));
    return runtime(Type::Bool);
  }
  case BinaryOp::Eq:
  case BinaryOp::Ne:
    if (l.type == Type::Bool || r.type == Type::Bool) {
      if (l.type == Type::Bool ? !wantBool(r, *e.args[1], rw) : !wantNumber(r, *e.args[1], rw))
        return errorValue();
      if (bothConst) return boolConst((l.b == r.b) == (op == BinaryOp::Eq));
      return runtime(Type::Bool);
    }
    [[fallthrough]];
  case BinaryOp::Lt:
  case BinaryOp::Le:
  case BinaryOp::Gt:
  case BinaryOp::Ge: {
    bool ok = wantNumber(l, *e.args[0], lw);
    ok = wantNumber(r, *e.args[1], rw) && ok;
    if (!ok) return errorValue();
    if (!bothConst) return runtime(Type::Bool);
    double a = l.asFloat(), b = r.asFloat();
    bool res = op == BinaryOp::Eq ? a == b : op == BinaryOp::Ne ? a != b : op == BinaryOp::Lt ? a < b
             : op == BinaryOp::Le ? a <= b : op == BinaryOp::Gt ? a > b : a >= b;
    return boolConst(res);
  }
  case BinaryOp::BitAnd:
  case BinaryOp::BitOr:
  case BinaryOp::BitXor:
  case BinaryOp::Shl:
  case BinaryOp::Shr: {
    // Integer bit operators: int32 with C's results, shift amounts modulo
    // 32 (docs/language.md, "Integers"); & | ^ on two bools: logical,
    // both sides evaluated.
    const bool shift = op == BinaryOp::Shl || op == BinaryOp::Shr;
    if (!shift && l.type == Type::Bool && r.type == Type::Bool) {
      if (!bothConst) return runtime(Type::Bool);
      return boolConst(op == BinaryOp::BitAnd ? (l.b && r.b) : op == BinaryOp::BitOr ? (l.b || r.b) : (l.b != r.b));
    }
    // C's precedence trap: `x & m == 0` is `x & (m == 0)`.
    for (int side = 0; side < 2; ++side) {
      const Expr &operand = *e.args[side];
      const Value &v = side == 0 ? l : r, &other = side == 0 ? r : l;
      if (v.type == Type::Bool && other.type == Type::Int && operand.kind == ExprKind::Binary &&
          isComparison(operand.binaryOp)) {
        diags_.error(DiagKind::bit_op_precedence, e.opRange, spelling(op), spelling(operand.binaryOp));
        return errorValue();
      }
    }
    bool ok = wantInt(l, *e.args[0], lw);
    ok = wantInt(r, *e.args[1], rw) && ok;
    if (!ok) return errorValue();
    if (shift && r.isConst && (r.i < 0 || r.i > 31)) {
      diags_.error(DiagKind::shift_out_of_range, e.args[1]->range, r.i);
      return errorValue();
    }
    if (!bothConst) return runtime(Type::Int);
    const int32_t a = static_cast<int32_t>(l.i), b = static_cast<int32_t>(r.i);
    switch (op) {
    case BinaryOp::BitAnd: return intConst(a & b);
    case BinaryOp::BitOr: return intConst(a | b);
    case BinaryOp::BitXor: return intConst(a ^ b);
    case BinaryOp::Shl: return intConst(shiftLeft32(a, b));
    default: return intConst(shiftRight32(a, b));
    }
  }
  default: break;
  }
  // Arithmetic.
  bool ok = wantNumber(l, *e.args[0], lw);
  ok = wantNumber(r, *e.args[1], rw) && ok;
  if (!ok) return errorValue();
  if (op == BinaryOp::Rem) {
    ok = wantInt(l, *e.args[0], lw);
    ok = wantInt(r, *e.args[1], rw) && ok;
    if (!ok) return errorValue();
  }
  bool isInt = l.type == Type::Int && r.type == Type::Int;
  if (!bothConst) return runtime(isInt ? Type::Int : Type::Float);
  if (isInt) {
    int64_t a = l.i, b = r.i;
    if ((op == BinaryOp::Div || op == BinaryOp::Rem) && b == 0) {
      diags_.error(DiagKind::constant_division_by_zero, e.opRange);
      return errorValue();
    }
    switch (op) {
    case BinaryOp::Add: return intConst(wrap32(a + b));
    case BinaryOp::Sub: return intConst(wrap32(a - b));
    case BinaryOp::Mul: return intConst(wrap32(a * b));
    case BinaryOp::Div: return intConst(wrap32(a / b));
    default: return intConst(wrap32(a % b));
    }
  }
  double a = l.asFloat(), b = r.asFloat();
  switch (op) {
  case BinaryOp::Add: return floatConst(a + b);
  case BinaryOp::Sub: return floatConst(a - b);
  case BinaryOp::Mul: return floatConst(a * b);
  default: return floatConst(a / b);
  }
}

Value SpecChecker::checkTernary(Expr &e, Ctx ctx) {
  Value c = check(*e.args[0], ctx);
  Value a = check(*e.args[1], ctx);
  Value b = check(*e.args[2], ctx);
  bool ok = c.type == Type::Error || wantBool(c, *e.args[0], "the condition of `?:`");
  if (!ok || c.type == Type::Error || a.type == Type::Error || b.type == Type::Error) return errorValue();
  if ((a.type == Type::Bool) != (b.type == Type::Bool)) {
    if (a.type == Type::Bool) wantBool(b, *e.args[2], "the third operand of `?:`");
    else wantNumber(b, *e.args[2], "the third operand of `?:`");
    return errorValue();
  }
  Type t = a.type == Type::Bool ? Type::Bool
           : (a.type == Type::Int && b.type == Type::Int) ? Type::Int : Type::Float;
  if (c.isConst && a.isConst && b.isConst) {
    const Value &pick = c.b ? a : b;
    return t == Type::Float ? floatConst(pick.asFloat()) : pick;
  }
  return runtime(t);
}

void SpecChecker::checkInputs(Spec &spec) {
  for (Item &item : decl_.items) {
    if (item.kind != ItemKind::Input) continue;
    auto it = inputIndex_.find(item.word);
    // Skipped: a reserved or duplicate name, already reported.
    if (it == inputIndex_.end() || it->second != SIZE_MAX) continue;
    InputDecl in;
    in.name = item.word;
    in.range = item.wordRange;
    bool ok = true;
    std::optional<DType> t = dtypeFromName(item.inputType);
    if (!t) {
      diags_.error(DiagKind::unknown_keyword, item.inputTypeRange, "element type", item.inputType,
                   "`f32`, `f16`, `bf16`, `i32` or `u8`");
      ok = false;
    } else {
      in.dtype = *t;
    }
    if (item.dims.empty() || item.dims.size() > 4) {
      diags_.error(DiagKind::invalid_input_rank, item.wordRange, item.word, item.dims.size());
      ok = false;
    }
    for (Dim &d : item.dims) {
      InputDim dim;
      ok = inputDim(*d.expr, dim) && ok;
      in.dims.push_back(std::move(dim));
    }
    if (!ok) continue;
    it->second = inputs_.size();
    inputs_.push_back(std::move(in));
  }
  spec.inputs = inputs_;
}

namespace {

/// Whether an expression names a run-time length (`batch`, `seq_q`, `seq_kv`).
bool mentionsLength(const Expr &e) {
  if (e.kind == ExprKind::Name) return e.name == "batch" || e.name == "seq_q" || e.name == "seq_kv";
  for (auto &a : e.args)
    if (mentionsLength(*a)) return true;
  return false;
}

}  // namespace

/// One dimension of an input: an integer or param (fixed), a name of a
/// run-time size, or a size expression of the lengths (docs/language.md,
/// "Inputs"); a size that folds to a constant is fixed and must be >= 1.
bool SpecChecker::inputDim(Expr &e, InputDim &dim) {
  if (e.kind == ExprKind::Name) {
    if (std::optional<InputDim::Kind> n = dimKindFromName(e.name)) {
      dim.kind = *n;
      return true;
    }
  }
  std::optional<SizeExpr> s = sizeExpr(e);
  if (!s) return false;
  if (s->code.size() == 1 && s->code[0].op == SizeExpr::Op::Const) {
    const int64_t v = s->code[0].value;
    if (v < 1) {
      diags_.error(DiagKind::value_out_of_range, e.range, "input dimension", "at least 1", v);
      return false;
    }
    dim.size = v;
    return true;
  }
  dim.kind = InputDim::Expr;
  dim.expr = std::move(*s);
  return true;
}

/// A size expression's program, constant parts folded; nullopt after a
/// diagnostic. Parts that name no length are ordinary constant expressions
/// (params, lets, any operator); the rest may use only + - * /, unary minus,
/// ceil_div, min and max.
std::optional<SizeExpr> SpecChecker::sizeExpr(Expr &e) {
  using Op = SizeExpr::Op;
  const std::string what = "an input dimension";
  if (e.kind == ExprKind::Name && !params_.count(e.name) && !lets_.count(e.name) && e.name != "batch" &&
      e.name != "seq_q" && e.name != "seq_kv") {
    std::vector<std::string_view> cands = {"batch", "heads", "kv_heads", "seq_q", "seq_kv"};
    for (auto &p : paramOrder_) cands.push_back(p);
    std::string hint = didYouMean(e.name, cands);
    if (hint.empty())
      hint = "; expected an integer, a param, one of `batch`, `heads`, `kv_heads`, `seq_q`, `seq_kv` or an "
             "expression of them";
    diags_.error(DiagKind::unknown_dimension, e.range, e.name, hint);
    return std::nullopt;
  }
  if (!mentionsLength(e)) {
    std::string saved = constWhat_;
    constWhat_ = what;
    Value v = check(e, Ctx::Constant);
    constWhat_ = saved;
    if (!wantInt(v, e, what) || !v.isConst) return std::nullopt;
    return SizeExpr{{{Op::Const, v.i}}};
  }
  // A binary step; constant operands fold (both are then the last steps).
  auto combine = [&](SizeExpr a, SizeExpr b, Op op, SourceRange where) -> std::optional<SizeExpr> {
    if ((op == Op::Div || op == Op::CeilDiv) && b.code.size() == 1 && b.code[0].op == Op::Const &&
        b.code[0].value == 0) {
      diags_.error(DiagKind::constant_division_by_zero, where);
      return std::nullopt;
    }
    a.code.insert(a.code.end(), b.code.begin(), b.code.end());
    a.code.push_back({op});
    return a;
  };
  switch (e.kind) {
  case ExprKind::Name:
    e.type = Type::Int;
    return SizeExpr{{{e.name == "batch" ? Op::Batch : e.name == "seq_q" ? Op::SeqQ : Op::SeqKv}}};
  case ExprKind::Unary: {
    if (e.unaryOp != UnaryOp::Neg && e.unaryOp != UnaryOp::Plus) break;
    std::optional<SizeExpr> x = sizeExpr(*e.args[0]);
    if (!x || e.unaryOp == UnaryOp::Plus) return x;
    return combine(SizeExpr{{{Op::Const, 0}}}, std::move(*x), Op::Sub, e.opRange);
  }
  case ExprKind::Binary: {
    const BinaryOp op = e.binaryOp;
    if (op != BinaryOp::Add && op != BinaryOp::Sub && op != BinaryOp::Mul && op != BinaryOp::Div) break;
    std::optional<SizeExpr> l = sizeExpr(*e.args[0]);
    std::optional<SizeExpr> r = sizeExpr(*e.args[1]);
    if (!l || !r) return std::nullopt;
    return combine(std::move(*l), std::move(*r),
                   op == BinaryOp::Add ? Op::Add : op == BinaryOp::Sub ? Op::Sub : op == BinaryOp::Mul ? Op::Mul : Op::Div,
                   e.opRange);
  }
  case ExprKind::Call: {
    if (!e.reduceVar.empty() || lets_.count(e.name) ||
        (e.name != "ceil_div" && e.name != "min" && e.name != "max"))
      break;
    if (e.args.size() != 2) {
      diags_.error(DiagKind::wrong_arity, e.range, e.name, "2 arguments", e.args.size());
      return std::nullopt;
    }
    std::optional<SizeExpr> a = sizeExpr(*e.args[0]);
    std::optional<SizeExpr> b = sizeExpr(*e.args[1]);
    if (!a || !b) return std::nullopt;
    return combine(std::move(*a), std::move(*b),
                   e.name == "ceil_div" ? Op::CeilDiv : e.name == "min" ? Op::Min : Op::Max, e.range);
  }
  default: break;
  }
  // Anything else over a length: a comparison, `%`, a bit operator, `?:`,
  // another function, an input.
  std::string thing = e.kind == ExprKind::Binary  ? fmt::format("`{}`", spelling(e.binaryOp))
                      : e.kind == ExprKind::Unary ? fmt::format("`{}`", spelling(e.unaryOp))
                      : e.kind == ExprKind::Call  ? fmt::format("`{}`", e.name)
                      : e.kind == ExprKind::Index ? fmt::format("input `{}`", e.name)
                                                  : std::string("`?:`");
  diags_.error(DiagKind::bad_size_expression, e.kind == ExprKind::Binary || e.kind == ExprKind::Unary ? e.opRange
                                              : e.kind == ExprKind::Call || e.kind == ExprKind::Index ? e.nameRange
                                                                                                       : e.range,
               thing);
  return std::nullopt;
}

void SpecChecker::checkTransforms(Spec &spec) {
  auto it = items_.find(ItemKind::Compress);
  if (it == items_.end()) return;
  const TransformDecl *lowRank = nullptr, *sparse = nullptr, *prune = nullptr;
  for (TransformDecl &t : it->second->transforms) {
    Transform out;
    out.kind = t.kind;
    out.range = t.range;
    bool ok = true;
    auto conflict = [&](const TransformDecl *&slot, bool sameFamilyIsDuplicate) {
      if (slot) {
        Diagnostic *d;
        if (slot->kind == t.kind || sameFamilyIsDuplicate)
          d = diags_.error(DiagKind::duplicate_transform, t.range, transformName(t.kind));
        else
          d = diags_.error(DiagKind::conflicting_transforms, t.range, transformName(t.kind),
                           transformName(slot->kind));
        diags_.note(d, DiagKind::note_previous, slot->range, fmt::format("`{}` is", transformName(slot->kind)));
        ok = false;
      } else {
        slot = &t;
      }
    };
    switch (t.kind) {
    case TransformKind::Prune: {
      conflict(prune, true);
      std::map<int64_t, SourceRange> seen;
      for (auto &h : t.heads) {
        int64_t v = positiveInt(h.get(), "pruned head", 0);
        if (h->type != Type::Int) { ok = false; continue; }
        if (spec.heads > 0 && v >= spec.heads) {
          diags_.error(DiagKind::pruned_head_out_of_range, h->range, v, spec.heads);
          ok = false;
          continue;
        }
        auto [s, fresh] = seen.emplace(v, h->range);
        if (!fresh) {
          Diagnostic *d = diags_.error(DiagKind::duplicate_pruned_head, h->range, v);
          diags_.note(d, DiagKind::note_previous, s->second, fmt::format("head {} is", v));
          ok = false;
          continue;
        }
        out.heads.push_back(v);
      }
      if (ok && spec.heads > 0 && static_cast<int64_t>(out.heads.size()) == spec.heads) {
        diags_.error(DiagKind::all_heads_pruned, t.range);
        ok = false;
      }
      std::sort(out.heads.begin(), out.heads.end());
      break;
    }
    case TransformKind::SparseInput:
    case TransformKind::SparseTop:
      out.block = positiveInt(t.block.get(), "block");
      if (t.top) out.top = positiveInt(t.top.get(), "top");
      ok = ok && out.block > 0 && (!t.top || out.top > 0);
      if (lowRank && lowRank->kind == TransformKind::LowRankSeq) {
        Diagnostic *d = diags_.error(DiagKind::conflicting_transforms, t.range, transformName(t.kind),
                                     transformName(lowRank->kind));
        diags_.note(d, DiagKind::note_previous, lowRank->range,
                    fmt::format("`{}` is", transformName(lowRank->kind)));
        ok = false;
      }
      conflict(sparse, false);
      break;
    case TransformKind::LowRankKv:
    case TransformKind::LowRankSeq:
      out.rank = positiveInt(t.rank.get(), "rank");
      ok = ok && out.rank > 0;
      if (t.rope && t.kind == TransformKind::LowRankSeq) {
        diags_.error(DiagKind::rope_needs_low_rank_kv, t.ropeRange);
        ok = false;
      } else if (t.rope) {
        // The key's last `rope` dims come from the latent row as they are;
        // its first head_dim - rope from k_up: at least one of each.
        out.rope = positiveInt(t.rope.get(), "rope");
        if (out.rope > 0 && spec.headDim > 0 && out.rope >= spec.headDim) {
          diags_.error(DiagKind::value_out_of_range, t.rope->range, "rope",
                       fmt::format("less than `head_dim` ({})", spec.headDim), out.rope);
          out.rope = 0;
        }
        ok = ok && out.rope > 0;
      }
      if (t.kind == TransformKind::LowRankSeq && sparse) {
        Diagnostic *d = diags_.error(DiagKind::conflicting_transforms, t.range, transformName(t.kind),
                                     transformName(sparse->kind));
        diags_.note(d, DiagKind::note_previous, sparse->range, fmt::format("`{}` is", transformName(sparse->kind)));
        ok = false;
      }
      conflict(lowRank, false);
      break;
    }
    if (ok) spec.transforms.push_back(std::move(out));
  }
}

/// Whether an expression reads `kv_idx`, directly or through a mask builtin.
const Expr *findKvIdx(const Expr &e) {
  if (e.ref == NameRef::KvIdx) return &e;
  if (e.kind == ExprKind::Name && e.ref == NameRef::Causal) return &e;
  if (e.kind == ExprKind::Call && e.ref == NameRef::Causal) return &e;
  for (auto &a : e.args)
    if (const Expr *r = findKvIdx(*a)) return r;
  return nullptr;
}

bool SpecChecker::run(Spec &spec) {
  size_t errorsBefore = diags_.errorCount();
  spec.name = decl_.name;
  spec.range = decl_.nameRange;
  collectItems();
  if (decl_.broken) return false;  // its one error is reported
  for (ItemKind k : {ItemKind::Dtype, ItemKind::Heads, ItemKind::HeadDim})
    if (!items_.count(k) && !present_.count(k)) diags_.error(DiagKind::missing_item, decl_.nameRange, decl_.name, itemName(k));

  if (auto it = items_.find(ItemKind::Dtype); it != items_.end()) {
    const Item &item = *it->second;
    std::optional<DType> t = dtypeFromName(item.word);
    if (t && isFloat(*t)) spec.dtype = *t;
    else diags_.error(DiagKind::unknown_keyword, item.wordRange, "type", item.word, "`f32`, `f16` or `bf16`");
  }
  if (auto it = items_.find(ItemKind::Layout); it != items_.end()) {
    const Item &item = *it->second;
    if (item.word == "bhsd") spec.layout = Layout::BHSD;
    else if (item.word == "bshd") spec.layout = Layout::BSHD;
    else diags_.error(DiagKind::unknown_keyword, item.wordRange, "layout", item.word, "`bhsd` or `bshd`");
  }
  if (auto it = items_.find(ItemKind::Output); it != items_.end()) {
    const Item &item = *it->second;
    if (item.word == "lse") spec.outputLse = true;
    else diags_.error(DiagKind::unknown_keyword, item.wordRange, "output", item.word, "`lse`");
  }

  // Sizes: evaluated (with params) on demand, then range-checked.
  struct SizeItem { const char *name; int64_t *slot; int64_t min; };
  for (SizeItem s : {SizeItem{"heads", &spec.heads, 1}, SizeItem{"kv_heads", &spec.kvHeads, 1},
                     SizeItem{"head_dim", &spec.headDim, 1}, SizeItem{"value_dim", &spec.valueDim, 1}}) {
    Named &n = params_.at(s.name);
    Value v = evalNamed(s.name, decl_.nameRange);
    if (v.type != Type::Int || !v.isConst) continue;
    // heads up to 65536; head and value dims up to 4096 (every model uses 576
    // or less), so a kernel's per-task tiles stay under 2^31 bytes.
    const int64_t kMax = s.slot == &spec.headDim || s.slot == &spec.valueDim ? 4096 : 65536;
    // A defaulted kv_heads/value_dim inherits its source's error; report it once.
    if (!(n.item && n.item->expr) && (v.i < s.min || v.i > kMax)) continue;
    if (v.i < s.min || v.i > kMax) {
      SourceRange r = n.item && n.item->expr ? n.item->expr->range : decl_.nameRange;
      diags_.error(DiagKind::value_out_of_range, r, s.name, fmt::format("between {} and {}", s.min, kMax), v.i);
      continue;
    }
    *s.slot = v.i;
  }
  if (spec.heads > 0 && spec.kvHeads > 0 && spec.heads % spec.kvHeads != 0) {
    auto it = items_.find(ItemKind::KvHeads);
    SourceRange r = it != items_.end() ? it->second->expr->range : decl_.nameRange;
    Diagnostic *d = diags_.error(DiagKind::heads_not_divisible, r, spec.heads, spec.kvHeads);
    if (auto h = items_.find(ItemKind::Heads); h != items_.end())
      diags_.note(d, DiagKind::note_declared_here, h->second->expr->range, "`heads` is");
  }
  // Params nobody used are still checked.
  for (auto &p : paramOrder_) evalNamed(p, params_.at(p).item->wordRange);

  checkInputs(spec);

  if (auto it = items_.find(ItemKind::Score); it != items_.end()) {
    Item &item = *it->second;
    if (item.word == "dot") spec.score = ScoreKind::Dot;
    else if (item.word == "additive") {
      spec.score = ScoreKind::Additive;
      spec.additiveUnits = positiveInt(item.expr.get(), "units");
    } else {
      diags_.error(DiagKind::unknown_keyword, item.wordRange, "score", item.word, "`dot` or `additive`");
    }
  }
  if (auto it = items_.find(ItemKind::Scale); it != items_.end()) {
    Item &item = *it->second;
    constWhat_ = "`scale`";
    Value v = check(*item.expr, Ctx::Constant);
    if (wantNumber(v, *item.expr, "`scale`") && v.isConst) {
      // Kernels multiply in f32: a scale that is NaN, infinite or zero there
      // would turn every row into a uniform average (or NaN) without a word.
      const double x = v.asFloat();
      const float f = static_cast<float>(x);
      if (!std::isfinite(f) || f == 0.0f) diags_.error(DiagKind::invalid_scale, item.expr->range, std::isnan(x) ? std::string("nan") : fmt::format("{}", x));
      else spec.scale = x;
    }
  } else {
    spec.scale = spec.score == ScoreKind::Additive || spec.headDim <= 0 ? 1.0 : 1.0 / std::sqrt(double(spec.headDim));
  }
  if (auto it = items_.find(ItemKind::ScoreMod); it != items_.end()) {
    Item &item = *it->second;
    Value v = check(*item.expr, Ctx::ScoreMod);
    if (wantNumber(v, *item.expr, "`score_mod`")) {
      spec.scoreMod = item.expr.get();
      spec.scoreModRange = item.keyword;
    }
  }
  if (auto it = items_.find(ItemKind::Mask); it != items_.end()) {
    Item &item = *it->second;
    Value v = check(*item.expr, Ctx::Mask);
    if (wantBool(v, *item.expr, "`mask`")) {
      spec.mask = item.expr.get();
      spec.maskRange = item.keyword;
    }
  }
  if (auto it = items_.find(ItemKind::Normalize); it != items_.end()) {
    Item &item = *it->second;
    if (item.word == "softmax") spec.normalize = Normalize::Softmax;
    else if (item.word == "sigmoid") {
      spec.normalize = Normalize::Sigmoid;
      if (item.expr) {
        Value v = check(*item.expr, Ctx::SigmoidBias);
        if (wantNumber(v, *item.expr, "the bias of `sigmoid`")) {
          spec.sigmoidBias = item.expr.get();
          spec.sigmoidBiasRange = item.expr->range;
        }
      }
    } else {
      diags_.error(DiagKind::unknown_keyword, item.wordRange, "normalization", item.word, "`softmax` or `sigmoid`");
    }
    if (spec.outputLse && spec.normalize == Normalize::Sigmoid)
      if (auto o = items_.find(ItemKind::Output); o != items_.end()) {
        Diagnostic *d = diags_.error(DiagKind::lse_needs_softmax, o->second->keyword);
        diags_.note(d, DiagKind::note_declared_here, item.wordRange, "the normalization is");
      }
  }

  checkTransforms(spec);
  for (const Transform &t : spec.transforms) {
    if (t.kind != TransformKind::LowRankSeq) continue;
    auto report = [&](const Expr *e, const char *what) {
      if (!e) return;
      if (const Expr *kv = findKvIdx(*e)) {
        Diagnostic *d = diags_.error(DiagKind::kv_idx_after_low_rank_seq, kv->range, what);
        diags_.note(d, DiagKind::note_declared_here, t.range, "`low_rank seq` is");
      }
    };
    report(spec.mask, "`mask`");
    report(spec.scoreMod, "`score_mod`");
    report(spec.sigmoidBias, "the bias of `sigmoid`");
  }
  if (diags_.errorCount() == errorsBefore)
    for (auto &[name, let] : lets_)
      if (!let.file && let.item->letUses == 0) diags_.error(DiagKind::unused_let, let.item->wordRange, name);
  return diags_.errorCount() == errorsBefore;
}

}  // namespace

namespace {

/// Why an attention name cannot be the name of C functions and files ("" when
/// it can): the kernel is exported as NAME (and NAME_last_error ...) from a
/// library linked into C and C++ programs, and written to NAME.h / NAME.a.
std::string kernelNameProblem(const std::string &name) {
  // C (C23) and C++ (C++23) keywords and alternative tokens.
  static const std::set<std::string> keywords = {
      "alignas", "alignof", "and", "and_eq", "asm", "auto", "bitand", "bitor", "bool", "break", "case", "catch",
      "char", "char8_t", "char16_t", "char32_t", "class", "compl", "concept", "const", "consteval", "constexpr",
      "constinit", "const_cast", "continue", "co_await", "co_return", "co_yield", "decltype", "default", "delete",
      "do", "double", "dynamic_cast", "else", "enum", "explicit", "export", "extern", "false", "float", "for",
      "friend", "goto", "if", "inline", "int", "long", "mutable", "namespace", "new", "noexcept", "not", "not_eq",
      "nullptr", "operator", "or", "or_eq", "private", "protected", "public", "register", "reinterpret_cast",
      "requires", "restrict", "return", "short", "signed", "sizeof", "static", "static_assert", "static_cast",
      "struct", "switch", "template", "this", "thread_local", "throw", "true", "try", "typedef", "typeid",
      "typename", "typeof", "typeof_unqual", "union", "unsigned", "using", "virtual", "void", "volatile",
      "wchar_t", "while", "xor", "xor_eq"};
  // Functions of the C standard library and POSIX that programs link: a kernel
  // exported under one of these names would replace it.
  static const std::set<std::string> libc = {
      // <math.h>
      "acos", "acosf", "acosh", "acoshf", "asin", "asinf", "asinh", "asinhf", "atan", "atan2", "atan2f", "atanf",
      "atanh", "atanhf", "cbrt", "cbrtf", "ceil", "ceilf", "copysign", "copysignf", "cos", "cosf", "cosh", "coshf",
      "erf", "erfc", "erfcf", "erff", "exp", "exp2", "exp2f", "expf", "expm1", "expm1f", "fabs", "fabsf", "fdim",
      "floor", "floorf", "fma", "fmaf", "fmax", "fmaxf", "fmin", "fminf", "fmod", "fmodf", "frexp", "hypot",
      "hypotf", "ilogb", "ldexp", "lgamma", "llrint", "llround", "log", "log10", "log10f", "log1p", "log1pf",
      "log2", "log2f", "logb", "logf", "lrint", "lround", "modf", "nan", "nanf", "nearbyint", "nextafter", "pow",
      "powf", "remainder", "remquo", "rint", "rintf", "round", "roundf", "scalbn", "sin", "sincos", "sincosf",
      "sinf", "sinh", "sinhf", "sqrt", "sqrtf", "tan", "tanf", "tanh", "tanhf", "tgamma", "trunc", "truncf",
      // <stdlib.h>
      "abort", "abs", "aligned_alloc", "atexit", "atof", "atoi", "atol", "atoll", "bsearch", "calloc", "div",
      "exit", "free", "getenv", "labs", "llabs", "malloc", "mblen", "posix_memalign", "qsort", "quick_exit",
      "rand", "realloc", "setenv", "srand", "strtod", "strtof", "strtol", "strtoll", "strtoul", "strtoull",
      "system", "unsetenv",
      // <string.h>, <ctype.h>
      "memchr", "memcmp", "memcpy", "memmove", "memset", "strcat", "strchr", "strcmp", "strcpy", "strdup",
      "strerror", "strlen", "strncat", "strncmp", "strncpy", "strrchr", "strstr", "strtok", "isalnum", "isalpha",
      "isdigit", "islower", "isspace", "isupper", "tolower", "toupper",
      // <stdio.h>
      "fclose", "feof", "ferror", "fflush", "fgetc", "fgets", "fopen", "fprintf", "fputc", "fputs", "fread",
      "fscanf", "fseek", "ftell", "fwrite", "getc", "getchar", "printf", "putc", "putchar", "puts", "remove",
      "rename", "scanf", "snprintf", "sprintf", "sscanf", "stderr", "stdin", "stdout", "vfprintf", "vprintf",
      "vsnprintf", "vsprintf",
      // <time.h>, <signal.h>, <setjmp.h>, POSIX and the C runtime
      "clock", "time", "signal", "raise", "longjmp", "setjmp", "main", "close", "dup", "fork", "kill", "open",
      "pipe", "read", "sleep", "stat", "sysconf", "unlink", "usleep", "write", "errno", "environ"};
  if (name.size() > 128) return fmt::format("is {} characters long, more than 128", name.size());
  if (keywords.count(name)) return "is a C or C++ keyword";
  if (libc.count(name)) return "is a function of the C standard library or POSIX";
  if (name.rfind("attnc_", 0) == 0 || name.rfind("halide_", 0) == 0)
    return "starts with `attnc_` or `halide_`, which attnc's and Halide's runtimes use";
  if (name.size() >= 2 && name[0] == '_' && (name[1] == '_' || std::isupper(static_cast<unsigned char>(name[1]))))
    return "is reserved in C and C++ (`__` or `_` and an upper-case letter)";
  return "";
}

}  // namespace

std::vector<Spec> analyze(FileAst &ast, DiagnosticEngine &diags) {
  std::vector<Spec> specs;
  std::map<std::string, SourceRange> names;
  bool firstBlock = true;
  for (AttentionDecl &decl : ast.attentions) {
    if (decl.name.empty()) continue;  // its header failed to parse; already reported
    if (std::string why = kernelNameProblem(decl.name); !why.empty()) {
      diags.error(DiagKind::invalid_kernel_name, decl.nameRange, decl.name.size() > 128 ? decl.name.substr(0, 32) + "..." : decl.name, why);
      continue;
    }
    auto [it, fresh] = names.emplace(decl.name, decl.nameRange);
    if (!fresh) {
      Diagnostic *d = diags.error(DiagKind::duplicate_attention, decl.nameRange, decl.name);
      diags.note(d, DiagKind::note_previous, it->second, fmt::format("`{}` is", decl.name));
      continue;
    }
    Spec spec;
    SpecChecker checker(decl, diags, &ast.lets, firstBlock);
    firstBlock = false;
    if (checker.run(spec)) specs.push_back(std::move(spec));
    if (diags.saturated()) break;
  }
  // A file's let that no block used (the blocks' own: in run()).
  for (const Item &item : ast.lets)
    if (!item.broken && !item.word.empty() && item.letUses == 0 && !diags.hasErrors())
      diags.error(DiagKind::unused_let, item.wordRange, item.word);
  return specs;
}

std::unique_ptr<CheckedFile> checkSource(std::string path, std::string text) {
  auto cf = std::make_unique<CheckedFile>();
  cf->source = std::make_unique<SourceFile>(std::move(path), std::move(text));
  cf->diags = std::make_unique<DiagnosticEngine>(*cf->source);
  cf->ast = parse(*cf->source, *cf->diags);
  if (!cf->diags->saturated()) cf->specs = analyze(cf->ast, *cf->diags);
  if (cf->diags->hasErrors()) cf->specs.clear();
  return cf;
}

std::unique_ptr<CheckedFile> checkFile(const std::string &path, std::string &error) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    error = fmt::format("cannot read `{}`: it is a directory", path);
    return nullptr;
  }
  errno = 0;
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    error = errno ? fmt::format("cannot read `{}`: {}", path, std::strerror(errno)) : fmt::format("cannot read `{}`", path);
    return nullptr;
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  return checkSource(path, ss.str());
}

}  // namespace attnc::dsl
