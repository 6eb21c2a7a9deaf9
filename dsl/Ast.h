// The syntax tree of a .attn file, as parsed; Sema annotates expressions with
// their types and what each name refers to. Nodes own their children.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "dsl/Source.h"

namespace attnc::dsl {

enum class Type { Int, Float, Bool, Error };
const char *typeName(Type t);  // "an integer", "a float", "a bool"

enum class ExprKind { IntLit, FloatLit, BoolLit, Name, Unary, Binary, Ternary, Call, Index };

enum class UnaryOp { Neg, Plus, Not, BitNot };
enum class BinaryOp { Add, Sub, Mul, Div, Rem, Eq, Ne, Lt, Le, Gt, Ge, And, Or, BitAnd, BitOr, BitXor, Shl, Shr };
const char *spelling(BinaryOp op);
inline bool isComparison(BinaryOp op) { return op >= BinaryOp::Eq && op <= BinaryOp::Ge; }
const char *spelling(UnaryOp op);

/// What a name refers to once Sema has resolved it.
enum class NameRef {
  Unresolved,
  Batch, Head, QIdx, KvIdx,  // per-element indices: b, h, q_idx, kv_idx
  SeqQ, SeqKv,               // run-time lengths
  Constant,                  // heads, kv_heads, head_dim, value_dim or a param: a folded value
  Input,                     // an `input` tensor (only valid indexed)
  Score,                     // inside score_mod
  Causal,                    // the `causal` mask builtin
};

struct Expr {
  ExprKind kind;
  SourceRange range;
  int depth = 1;  // height of the tree below, bounded by the parser

  // Literals and folded constants.
  int64_t intValue = 0;
  double floatValue = 0;
  bool boolValue = false;

  std::string name;  // Name, Call (callee), Index (tensor)
  SourceRange nameRange;
  UnaryOp unaryOp = UnaryOp::Neg;
  BinaryOp binaryOp = BinaryOp::Add;
  SourceRange opRange;
  std::vector<std::unique_ptr<Expr>> args;  // operands, call arguments or indices

  // Filled by Sema.
  Type type = Type::Error;
  NameRef ref = NameRef::Unresolved;
  int inputIndex = -1;       // for NameRef::Input and Index
  Type constType = Type::Error;  // for NameRef::Constant: the folded value's type
  bool topLeft = false;          // causal(top_left), window(..., top_left): q' = q_idx
  // A bounded reduction `any(i in A..B: BODY)` (any all sum max min): a Call
  // with args {A, B, BODY} and its index's name.
  std::string reduceVar;
  SourceRange reduceVarRange;
};
using ExprPtr = std::unique_ptr<Expr>;

enum class ItemKind {
  Dtype, Heads, KvHeads, HeadDim, ValueDim, Layout, Scale, Param, Input,
  Score, ScoreMod, Mask, Normalize, Output, Compress, Let,
};
const char *itemName(ItemKind k);

/// An input dimension as written: an integer, a name or a size expression.
struct Dim {
  ExprPtr expr;
  SourceRange range;
};

enum class TransformKind { Prune, SparseInput, SparseTop, LowRankKv, LowRankSeq };
const char *transformName(TransformKind k);  // "prune heads", "sparse block ... input", ...

struct TransformDecl {
  TransformKind kind;
  SourceRange range;              // the whole transform
  std::vector<ExprPtr> heads;     // prune
  ExprPtr block, top, rank;       // sparse / low_rank
  ExprPtr rope;                   // low_rank kv ... rope P (the decoupled RoPE part of each key)
  SourceRange ropeRange;          // `rope P`
};

struct Item {
  ItemKind kind;
  bool broken = false;       // a syntax error was reported inside it; Sema only notes it is present
  SourceRange keyword;       // the item's first word
  std::string word;          // dtype/layout/score/normalize/output value; param/input name
  SourceRange wordRange;
  ExprPtr expr;              // integer items, scale, param, score_mod, mask, sigmoid bias, units
  std::string inputType;     // input NAME : TYPE[...]
  SourceRange inputTypeRange;
  std::vector<Dim> dims;
  std::vector<TransformDecl> transforms;
  // let NAME = EXPR, let NAME(p, ...) = EXPR (word, expr): the parameters;
  // Sema counts the uses of each (an unused let is a warning).
  bool letIsFunction = false;
  std::vector<std::pair<std::string, SourceRange>> letParams;
  int letUses = 0;
};

struct AttentionDecl {
  std::string name;
  SourceRange nameRange;
  SourceRange keyword;
  std::vector<Item> items;
  bool broken = false;  // its header (name, `{`) did not parse: Sema reports nothing more of it
};

struct FileAst {
  std::vector<AttentionDecl> attentions;
  std::vector<Item> lets;  // file-level `let`s, shared by every block of the file
};

/// A deep copy of an expression (Sema inlines `let`s with it).
ExprPtr cloneExpr(const Expr &e);

}  // namespace attnc::dsl
