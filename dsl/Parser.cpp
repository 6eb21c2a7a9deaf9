#include "dsl/Parser.h"

#include <algorithm>

#include "dsl/Lexer.h"

namespace attnc::dsl {

namespace {

const std::vector<std::string_view> kItemWords = {
    "dtype", "heads", "kv_heads", "head_dim", "value_dim", "layout", "scale", "param",
    "input", "score", "score_mod", "mask", "normalize", "output", "compress", "let"};
const std::vector<std::string_view> kTransformWords = {"prune", "sparse", "low_rank"};

/// Thrown to abandon the current item after its error was reported; caught at
/// item level, where the parser skips to the next item boundary.
struct ItemError {};

struct BinInfo {
  int prec;
  BinaryOp op;
};
std::optional<BinInfo> binaryInfo(Tok k) {
  switch (k) {
  // C's precedence, loosest first.
  case Tok::OrOr: return BinInfo{1, BinaryOp::Or};
  case Tok::AndAnd: return BinInfo{2, BinaryOp::And};
  case Tok::Pipe: return BinInfo{3, BinaryOp::BitOr};
  case Tok::Caret: return BinInfo{4, BinaryOp::BitXor};
  case Tok::Amp: return BinInfo{5, BinaryOp::BitAnd};
  case Tok::EqEq: return BinInfo{6, BinaryOp::Eq};
  case Tok::NotEq: return BinInfo{6, BinaryOp::Ne};
  case Tok::Less: return BinInfo{7, BinaryOp::Lt};
  case Tok::LessEq: return BinInfo{7, BinaryOp::Le};
  case Tok::Greater: return BinInfo{7, BinaryOp::Gt};
  case Tok::GreaterEq: return BinInfo{7, BinaryOp::Ge};
  case Tok::Shl: return BinInfo{8, BinaryOp::Shl};
  case Tok::Shr: return BinInfo{8, BinaryOp::Shr};
  case Tok::Plus: return BinInfo{9, BinaryOp::Add};
  case Tok::Minus: return BinInfo{9, BinaryOp::Sub};
  case Tok::Star: return BinInfo{10, BinaryOp::Mul};
  case Tok::Slash: return BinInfo{10, BinaryOp::Div};
  case Tok::Percent: return BinInfo{10, BinaryOp::Rem};
  default: return std::nullopt;
  }
}


class Parser {
public:
  Parser(const SourceFile &file, DiagnosticEngine &diags)
      : file_(file), diags_(diags), lexer_(file, diags) {
    tok_ = lexer_.next();
  }

  FileAst parseFile();

private:
  // Token handling.
  void advance() {
    prevEnd_ = tok_.range.end;
    tok_ = lexer_.next();
  }
  bool at(Tok k) const { return tok_.kind == k; }
  bool atWord(std::string_view w) const { return tok_.kind == Tok::Ident && tok_.text == w; }
  bool isItemEnd() const {
    return at(Tok::Newline) || at(Tok::Semi) || at(Tok::RBrace) || at(Tok::Eof);
  }
  void skipNewlines() {
    while (at(Tok::Newline) || at(Tok::Semi)) advance();
  }
  [[noreturn]] void fail(DiagKind kind, SourceRange r, const std::string &a) {
    // A lexer error token was already reported: do not pile a parse error on it.
    if (!at(Tok::Error)) diags_.error(kind, r, a);
    throw ItemError{};
  }
  [[noreturn]] void failExpected(const std::string &what) {
    if (!at(Tok::Error)) diags_.error(DiagKind::expected_token, tok_.range, what, describe(tok_));
    throw ItemError{};
  }
  Token expect(Tok k) {
    if (!at(k)) failExpected(describe(k));
    Token t = tok_;
    advance();
    return t;
  }
  Token expectWord(std::string_view w) {
    if (!atWord(w)) failExpected(fmt::format("`{}`", w));
    Token t = tok_;
    advance();
    return t;
  }
  Token expectIdent(const char *what) {
    if (!at(Tok::Ident)) failExpected(what);
    Token t = tok_;
    advance();
    return t;
  }
  /// Skips to the end of the current item: a newline or `;` at this brace
  /// level, or the `}` that closes the block (left for the caller).
  void recover() {
    int braces = 0;
    while (!at(Tok::Eof) && !diags_.saturated()) {
      if (braces == 0 && (at(Tok::Newline) || at(Tok::Semi) || at(Tok::RBrace))) return;
      if (at(Tok::LBrace)) ++braces;
      if (at(Tok::RBrace)) --braces;
      advance();
    }
  }
  void endItem() {
    if (!isItemEnd()) failExpected("a newline or `;` after the item");
  }

  AttentionDecl parseAttention();
  void parseItem(Item &item);
  void parseCompress(Item &item);
  TransformDecl parseTransform();

  // Expressions, by C precedence.
  ExprPtr parseExpr();
  ExprPtr parseTernary();
  ExprPtr parseBinary(int minPrec);
  ExprPtr parseUnary();
  ExprPtr parsePostfix();
  ExprPtr parsePrimary();
  ExprPtr node(ExprKind kind, SourceRange r) {
    auto e = std::make_unique<Expr>();
    e->kind = kind;
    e->range = r;
    return e;
  }
  void setDepth(Expr &e) {
    int d = 0;
    for (auto &a : e.args) d = std::max(d, a->depth);
    e.depth = d + 1;
    if (e.depth > kMaxExprDepth) {
      diags_.error(DiagKind::nesting_too_deep, e.range, kMaxExprDepth);
      throw ItemError{};
    }
  }
  struct DepthGuard {
    Parser &p;
    explicit DepthGuard(Parser &parser, SourceRange r) : p(parser) {
      if (++p.nesting_ > kMaxExprDepth) {
        p.diags_.error(DiagKind::nesting_too_deep, r, kMaxExprDepth);
        throw ItemError{};
      }
    }
    ~DepthGuard() { --p.nesting_; }
  };

  const SourceFile &file_;
  DiagnosticEngine &diags_;
  Lexer lexer_;
  Token tok_;
  uint32_t prevEnd_ = 0;
  int nesting_ = 0;
};

FileAst Parser::parseFile() {
  FileAst ast;
  skipNewlines();
  while (!at(Tok::Eof) && !diags_.saturated()) {
    if (atWord("let")) {
      // A file-level let, shared by the blocks of the file.
      Item item;
      try {
        parseItem(item);
        endItem();
        ast.lets.push_back(std::move(item));
      } catch (ItemError &) {
        recover();
      }
      skipNewlines();
      continue;
    }
    if (!atWord("attention")) {
      if (!at(Tok::Error)) diags_.error(DiagKind::expected_attention, tok_.range, describe(tok_));
      // Skip to the next `attention` at the start of an item.
      while (!at(Tok::Eof) && !atWord("attention") && !diags_.saturated()) advance();
      continue;
    }
    ast.attentions.push_back(parseAttention());
    skipNewlines();
  }
  if (ast.attentions.empty() && !diags_.hasErrors())
    diags_.error(DiagKind::no_attention, tok_.range);
  return ast;
}

AttentionDecl Parser::parseAttention() {
  AttentionDecl decl;
  decl.keyword = tok_.range;
  advance();
  try {
    Token name = expectIdent("a name for the attention");
    decl.name = std::string(name.text);
    decl.nameRange = name.range;
    while (at(Tok::Newline)) advance();
    expect(Tok::LBrace);
  } catch (ItemError &) {
    // Without a `{` there is no block to read: skip to the next `attention`.
    // One mistake, one error: the items it holds are not "missing".
    decl.broken = true;
    while (!at(Tok::Eof) && !atWord("attention") && !diags_.saturated()) advance();
    return decl;
  }
  SourceRange open = {prevEnd_ - 1, prevEnd_};
  for (;;) {
    skipNewlines();
    if (at(Tok::RBrace)) {
      advance();
      break;
    }
    if (at(Tok::Eof) || diags_.saturated()) {
      Diagnostic *d = diags_.error(DiagKind::expected_token, tok_.range, "`}`", describe(tok_));
      diags_.note(d, DiagKind::note_to_match, open, "`{`");
      break;
    }
    Item item;
    try {
      parseItem(item);
      endItem();
      decl.items.push_back(std::move(item));
    } catch (ItemError &) {
      // The item is still there, broken: Sema must not also call it missing.
      if (item.keyword.end > item.keyword.begin) {
        item.broken = true;
        decl.items.push_back(std::move(item));
      }
      recover();
    }
  }
  return decl;
}

void Parser::parseItem(Item &item) {
  // A line that starts with an operator: the expression above ended at its
  // newline (docs/language.md, "Lines").
  if (binaryInfo(tok_.kind) || at(Tok::Question) || at(Tok::Colon)) {
    diags_.error(DiagKind::line_starts_with_operator, tok_.range, describe(tok_));
    throw ItemError{};
  }
  if (!at(Tok::Ident)) failExpected("an item");
  std::string_view w = tok_.text;
  static const std::pair<std::string_view, ItemKind> kinds[] = {
      {"dtype", ItemKind::Dtype},       {"heads", ItemKind::Heads},
      {"kv_heads", ItemKind::KvHeads},  {"head_dim", ItemKind::HeadDim},
      {"value_dim", ItemKind::ValueDim}, {"layout", ItemKind::Layout},
      {"scale", ItemKind::Scale},       {"param", ItemKind::Param},
      {"input", ItemKind::Input},       {"score", ItemKind::Score},
      {"score_mod", ItemKind::ScoreMod}, {"mask", ItemKind::Mask},
      {"normalize", ItemKind::Normalize}, {"output", ItemKind::Output},
      {"compress", ItemKind::Compress}, {"let", ItemKind::Let}};
  auto it = std::find_if(std::begin(kinds), std::end(kinds), [&](auto &p) { return p.first == w; });
  if (it == std::end(kinds)) {
    diags_.error(DiagKind::unknown_item, tok_.range, w, didYouMean(w, kItemWords));
    throw ItemError{};
  }
  item.kind = it->second;
  item.keyword = tok_.range;
  advance();
  auto word = [&](const char *what) {
    Token t = expectIdent(what);
    item.word = std::string(t.text);
    item.wordRange = t.range;
  };
  switch (item.kind) {
  case ItemKind::Dtype: word("a type"); break;
  case ItemKind::Layout: word("a layout"); break;
  case ItemKind::Output: word("an output"); break;
  case ItemKind::Heads:
  case ItemKind::KvHeads:
  case ItemKind::HeadDim:
  case ItemKind::ValueDim:
  case ItemKind::Scale:
  case ItemKind::ScoreMod:
  case ItemKind::Mask: item.expr = parseExpr(); break;
  case ItemKind::Param:
    word("a parameter name");
    expect(Tok::Assign);
    item.expr = parseExpr();
    break;
  case ItemKind::Input: {
    word("an input name");
    expect(Tok::Colon);
    Token t = expectIdent("an element type");
    item.inputType = std::string(t.text);
    item.inputTypeRange = t.range;
    expect(Tok::LBracket);
    for (;;) {
      // An integer, a name or a size expression (`ceil_div(seq_q, 16)`):
      // Sema decides which names and operators a size may use.
      Dim d;
      d.expr = parseExpr();
      d.range = d.expr->range;
      item.dims.push_back(std::move(d));
      if (at(Tok::Comma)) {
        advance();
        continue;
      }
      expect(Tok::RBracket);
      break;
    }
    break;
  }
  case ItemKind::Score:
    word("`dot` or `additive`");
    if (item.word == "additive") {
      expect(Tok::LParen);
      expectWord("units");
      item.expr = parseExpr();
      expect(Tok::RParen);
    }
    break;
  case ItemKind::Normalize:
    word("`softmax` or `sigmoid`");
    if (item.word == "sigmoid" && at(Tok::LParen)) {
      advance();
      item.expr = parseExpr();
      expect(Tok::RParen);
    }
    break;
  case ItemKind::Compress: parseCompress(item); break;
  case ItemKind::Let:
    word("a name");
    if (at(Tok::LParen)) {
      item.letIsFunction = true;
      advance();
      if (!at(Tok::RParen)) {
        for (;;) {
          Token t = expectIdent("a parameter name");
          item.letParams.emplace_back(std::string(t.text), t.range);
          if (!at(Tok::Comma)) break;
          advance();
        }
      }
      expect(Tok::RParen);
    }
    expect(Tok::Assign);
    while (at(Tok::Newline)) advance();  // (the body may start on the next line)
    item.expr = parseExpr();
    break;
  }
}

void Parser::parseCompress(Item &item) {
  while (at(Tok::Newline)) advance();
  expect(Tok::LBrace);
  SourceRange open = {prevEnd_ - 1, prevEnd_};
  for (;;) {
    skipNewlines();
    if (at(Tok::RBrace)) {
      advance();
      return;
    }
    if (at(Tok::Eof) || diags_.saturated()) {
      Diagnostic *d = diags_.error(DiagKind::expected_token, tok_.range, "`}`", describe(tok_));
      diags_.note(d, DiagKind::note_to_match, open, "`{`");
      throw ItemError{};
    }
    try {
      item.transforms.push_back(parseTransform());
      endItem();
    } catch (ItemError &) {
      recover();
    }
  }
}

TransformDecl Parser::parseTransform() {
  TransformDecl t;
  uint32_t begin = tok_.range.begin;
  if (!at(Tok::Ident)) failExpected("a transform");
  std::string_view w = tok_.text;
  if (w == "prune") {
    advance();
    expectWord("heads");
    expect(Tok::LBracket);
    t.kind = TransformKind::Prune;
    if (at(Tok::RBracket)) fail(DiagKind::expected_expression, tok_.range, describe(tok_));
    for (;;) {
      t.heads.push_back(parseExpr());
      if (at(Tok::Comma)) {
        advance();
        continue;
      }
      expect(Tok::RBracket);
      break;
    }
  } else if (w == "sparse") {
    advance();
    expectWord("block");
    t.block = parseExpr();
    if (atWord("input")) {
      advance();
      t.kind = TransformKind::SparseInput;
    } else if (atWord("top")) {
      advance();
      t.kind = TransformKind::SparseTop;
      t.top = parseExpr();
    } else {
      failExpected("`input` or `top`");
    }
  } else if (w == "low_rank") {
    advance();
    if (atWord("kv")) t.kind = TransformKind::LowRankKv;
    else if (atWord("seq")) t.kind = TransformKind::LowRankSeq;
    else failExpected("`kv` or `seq`");
    advance();
    expectWord("rank");
    t.rank = parseExpr();
    if (atWord("rope")) {
      const uint32_t ropeBegin = tok_.range.begin;
      advance();
      t.rope = parseExpr();
      t.ropeRange = {ropeBegin, prevEnd_};
    }
  } else {
    diags_.error(DiagKind::unknown_transform, tok_.range, w, didYouMean(w, kTransformWords));
    throw ItemError{};
  }
  t.range = {begin, prevEnd_};
  return t;
}

ExprPtr Parser::parseExpr() { return parseTernary(); }

ExprPtr Parser::parseTernary() {
  DepthGuard guard(*this, tok_.range);
  ExprPtr cond = parseBinary(0);
  if (!at(Tok::Question)) return cond;
  advance();
  while (at(Tok::Newline)) advance();  // (a line ending in `?` or `:` continues)
  ExprPtr yes = parseTernary();
  expect(Tok::Colon);
  while (at(Tok::Newline)) advance();
  ExprPtr no = parseTernary();
  auto e = node(ExprKind::Ternary, {cond->range.begin, no->range.end});
  e->args.push_back(std::move(cond));
  e->args.push_back(std::move(yes));
  e->args.push_back(std::move(no));
  setDepth(*e);
  return e;
}


ExprPtr Parser::parseBinary(int minPrec) {
  ExprPtr lhs = parseUnary();
  for (;;) {
    auto info = binaryInfo(tok_.kind);
    if (!info || info->prec < minPrec) return lhs;
    SourceRange opRange = tok_.range;
    advance();
    // A line that ends with a binary operator continues on the next
    // (docs/language.md, "Lines"): `mask causal &&` / `  doc_q == doc_kv`.
    while (at(Tok::Newline)) advance();
    ExprPtr rhs;
    {
      DepthGuard guard(*this, tok_.range);
      rhs = parseBinary(info->prec + 1);
    }
    auto e = node(ExprKind::Binary, {lhs->range.begin, rhs->range.end});
    e->binaryOp = info->op;
    e->opRange = opRange;
    e->args.push_back(std::move(lhs));
    e->args.push_back(std::move(rhs));
    setDepth(*e);
    lhs = std::move(e);
  }
}

ExprPtr Parser::parseUnary() {
  if (at(Tok::Minus) || at(Tok::Plus) || at(Tok::Bang) || at(Tok::Tilde)) {
    SourceRange opRange = tok_.range;
    UnaryOp op = at(Tok::Minus) ? UnaryOp::Neg : at(Tok::Plus) ? UnaryOp::Plus : at(Tok::Bang) ? UnaryOp::Not : UnaryOp::BitNot;
    advance();
    DepthGuard guard(*this, opRange);
    ExprPtr operand = parseUnary();
    auto e = node(ExprKind::Unary, {opRange.begin, operand->range.end});
    e->unaryOp = op;
    e->opRange = opRange;
    e->args.push_back(std::move(operand));
    setDepth(*e);
    return e;
  }
  return parsePostfix();
}

ExprPtr Parser::parsePostfix() {
  ExprPtr e = parsePrimary();
  if (e->kind != ExprKind::Name) return e;
  if (at(Tok::LParen) || at(Tok::LBracket)) {
    bool call = at(Tok::LParen);
    Tok close = call ? Tok::RParen : Tok::RBracket;
    SourceRange open = tok_.range;
    advance();
    auto n = node(call ? ExprKind::Call : ExprKind::Index, e->range);
    n->name = e->name;
    n->nameRange = e->range;
    if (!at(close)) {
      for (;;) {
        DepthGuard guard(*this, tok_.range);
        n->args.push_back(parseExpr());
        // A bounded reduction: `any(i in A..B: BODY)`.
        if (call && n->args.size() == 1 && n->args[0]->kind == ExprKind::Name && atWord("in")) {
          n->reduceVar = n->args[0]->name;
          n->reduceVarRange = n->args[0]->range;
          n->args.clear();
          advance();
          n->args.push_back(parseExpr());
          expect(Tok::DotDot);
          n->args.push_back(parseExpr());
          expect(Tok::Colon);
          while (at(Tok::Newline)) advance();
          n->args.push_back(parseExpr());
          break;
        }
        if (at(Tok::Comma)) {
          advance();
          continue;
        }
        break;
      }
    }
    if (!at(close)) {
      if (!at(Tok::Error)) {
        Diagnostic *d = diags_.error(DiagKind::expected_token, tok_.range, describe(close), describe(tok_));
        diags_.note(d, DiagKind::note_to_match, open, describe(call ? Tok::LParen : Tok::LBracket));
      }
      throw ItemError{};
    }
    advance();
    n->range.end = prevEnd_;
    setDepth(*n);
    return n;
  }
  return e;
}

ExprPtr Parser::parsePrimary() {
  switch (tok_.kind) {
  case Tok::Int: {
    auto e = node(ExprKind::IntLit, tok_.range);
    e->intValue = tok_.intValue;
    advance();
    return e;
  }
  case Tok::Float: {
    auto e = node(ExprKind::FloatLit, tok_.range);
    e->floatValue = tok_.floatValue;
    advance();
    return e;
  }
  case Tok::Ident: {
    if (tok_.text == "true" || tok_.text == "false") {
      auto e = node(ExprKind::BoolLit, tok_.range);
      e->boolValue = tok_.text == "true";
      advance();
      return e;
    }
    auto e = node(ExprKind::Name, tok_.range);
    e->name = std::string(tok_.text);
    e->nameRange = tok_.range;
    advance();
    return e;
  }
  case Tok::LParen: {
    SourceRange open = tok_.range;
    advance();
    ExprPtr inner = parseExpr();
    if (!at(Tok::RParen)) {
      if (!at(Tok::Error)) {
        Diagnostic *d = diags_.error(DiagKind::expected_token, tok_.range, "`)`", describe(tok_));
        diags_.note(d, DiagKind::note_to_match, open, "`(`");
      }
      throw ItemError{};
    }
    advance();
    inner->range = {open.begin, prevEnd_};
    return inner;
  }
  default:
    fail(DiagKind::expected_expression, tok_.range, describe(tok_));
  }
}

}  // namespace

FileAst parse(const SourceFile &file, DiagnosticEngine &diags) {
  Parser p(file, diags);
  return p.parseFile();
}

}  // namespace attnc::dsl
