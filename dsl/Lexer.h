// The .attn lexer: turns text into tokens on demand (no token vector, so memory
// stays bounded for any input). Newlines end items, except inside ( ) or [ ].
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "dsl/Diagnostics.h"
#include "dsl/Source.h"

namespace attnc::dsl {

enum class Tok {
  Eof, Newline, Ident, Int, Float,
  LBrace, RBrace, LParen, RParen, LBracket, RBracket,
  Comma, Semi, Colon, Question, Assign,
  Plus, Minus, Star, Slash, Percent, Bang,
  EqEq, NotEq, Less, LessEq, Greater, GreaterEq, AndAnd, OrOr,
  Amp, Pipe, Caret, Tilde, Shl, Shr,  // integer bit operators
  DotDot,                              // `..` of a reduction's range
  Error,  // an invalid character or number; already diagnosed
};

struct Token {
  Tok kind = Tok::Eof;
  SourceRange range;
  std::string_view text;
  int64_t intValue = 0;
  double floatValue = 0;
};

/// How a token is named in messages: "`heads`", "a newline", "end of file".
std::string describe(const Token &t);
/// How a token kind is named in "expected ..." messages.
std::string describe(Tok kind);

class Lexer {
public:
  /// A UTF-8 byte order mark at the start of the file is skipped.
  Lexer(const SourceFile &file, DiagnosticEngine &diags)
      : file_(file), diags_(diags), pos_(file.text().substr(0, 3) == "\xEF\xBB\xBF" ? 3 : 0) {}
  Token next();

private:
  Token make(Tok kind, uint32_t begin);
  Token lexNumber(uint32_t begin);

  const SourceFile &file_;
  DiagnosticEngine &diags_;
  uint32_t pos_ = 0;
  uint32_t groupDepth_ = 0;  // open ( and [ : newlines inside them are not tokens
};

}  // namespace attnc::dsl
