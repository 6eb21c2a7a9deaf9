// The .attn parser: recursive descent over the streaming lexer, with panic-mode
// recovery at item boundaries (one mistake gives one error; later independent
// mistakes are still reported) and a bound on expression nesting.
#pragma once

#include "dsl/Ast.h"
#include "dsl/Diagnostics.h"
#include "dsl/Source.h"

namespace attnc::dsl {

/// The deepest expression tree the parser accepts; deeper input is a diagnostic.
constexpr int kMaxExprDepth = 256;

FileAst parse(const SourceFile &file, DiagnosticEngine &diags);

}  // namespace attnc::dsl
