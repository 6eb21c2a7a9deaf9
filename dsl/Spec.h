// A checked attention spec: what Sema produces from one `attention` block and
// MLIRGen consumes. Every value here is valid; expressions are typed and their
// names resolved. Expressions point into the FileAst, which must outlive the Spec.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dsl/Ast.h"
#include "dsl/Types.h"

namespace attnc::dsl {

struct InputDecl {
  std::string name;
  DType dtype;
  std::vector<InputDim> dims;
  SourceRange range;
};

struct Transform {
  TransformKind kind;
  std::vector<int64_t> heads;  // Prune
  int64_t block = 0;           // Sparse*
  int64_t top = 0;             // SparseTop
  int64_t rank = 0;            // LowRank*
  int64_t rope = 0;            // LowRankKv: the decoupled RoPE part of each key (0: none)
  SourceRange range;
};

struct Spec {
  std::string name;
  SourceRange range;  // the attention's name
  DType dtype = DType::F32;
  int64_t heads = 0, kvHeads = 0, headDim = 0, valueDim = 0;
  Layout layout = Layout::BHSD;
  double scale = 1;
  ScoreKind score = ScoreKind::Dot;
  int64_t additiveUnits = 0;
  Normalize normalize = Normalize::Softmax;
  bool outputLse = false;
  std::vector<InputDecl> inputs;
  std::vector<Transform> transforms;
  const Expr *scoreMod = nullptr;     // may read `score`
  const Expr *mask = nullptr;         // bool
  const Expr *sigmoidBias = nullptr;  // float, `normalize sigmoid(EXPR)`
  SourceRange scoreModRange, maskRange, sigmoidBiasRange;
};

}  // namespace attnc::dsl
