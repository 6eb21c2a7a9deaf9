#include "dsl/Lexer.h"

#include <cctype>
#include <charconv>
#include <cstdlib>

namespace attnc::dsl {

std::string describe(Tok kind) {
  switch (kind) {
  case Tok::Eof: return "end of file";
  case Tok::Newline: return "a newline";
  case Tok::Ident: return "a name";
  case Tok::Int: return "an integer";
  case Tok::Float: return "a number";
  case Tok::LBrace: return "`{`";
  case Tok::RBrace: return "`}`";
  case Tok::LParen: return "`(`";
  case Tok::RParen: return "`)`";
  case Tok::LBracket: return "`[`";
  case Tok::RBracket: return "`]`";
  case Tok::Comma: return "`,`";
  case Tok::Semi: return "`;`";
  case Tok::Colon: return "`:`";
  case Tok::DotDot: return "`..`";
  case Tok::Question: return "`?`";
  case Tok::Assign: return "`=`";
  case Tok::Plus: return "`+`";
  case Tok::Minus: return "`-`";
  case Tok::Star: return "`*`";
  case Tok::Slash: return "`/`";
  case Tok::Percent: return "`%`";
  case Tok::Bang: return "`!`";
  case Tok::EqEq: return "`==`";
  case Tok::NotEq: return "`!=`";
  case Tok::Less: return "`<`";
  case Tok::LessEq: return "`<=`";
  case Tok::Greater: return "`>`";
  case Tok::GreaterEq: return "`>=`";
  case Tok::AndAnd: return "`&&`";
  case Tok::OrOr: return "`||`";
  case Tok::Amp: return "`&`";
  case Tok::Pipe: return "`|`";
  case Tok::Caret: return "`^`";
  case Tok::Tilde: return "`~`";
  case Tok::Shl: return "`<<`";
  case Tok::Shr: return "`>>`";
  case Tok::Error: return "an invalid token";
  }
  return "a token";
}

std::string describe(const Token &t) {
  switch (t.kind) {
  case Tok::Ident:
  case Tok::Int:
  case Tok::Float:
    if (t.text.size() > 40) return fmt::format("`{}...`", t.text.substr(0, 40));
    return fmt::format("`{}`", t.text);
  default: return describe(t.kind);
  }
}

Token Lexer::make(Tok kind, uint32_t begin) {
  Token t;
  t.kind = kind;
  t.range = {begin, pos_};
  t.text = file_.text().substr(begin, pos_ - begin);
  return t;
}

Token Lexer::lexNumber(uint32_t begin) {
  std::string_view src = file_.text();
  // Hexadecimal: 0x / 0X and 1 to 8 hex digits, an int32 by its bits
  // (0xFFFFFFFF is -1, as C's int32_t from that pattern).
  if (src[pos_] == '0' && pos_ + 1 < src.size() && (src[pos_ + 1] == 'x' || src[pos_ + 1] == 'X')) {
    pos_ += 2;
    const uint32_t digitsAt = pos_;
    while (pos_ < src.size() && std::isxdigit(static_cast<unsigned char>(src[pos_]))) ++pos_;
    const bool glued = pos_ < src.size() && (std::isalnum(static_cast<unsigned char>(src[pos_])) || src[pos_] == '_' ||
                                             src[pos_] == '.');
    while (pos_ < src.size() &&
           (std::isalnum(static_cast<unsigned char>(src[pos_])) || src[pos_] == '_' || src[pos_] == '.'))
      ++pos_;
    Token t = make(Tok::Int, begin);
    if (glued || pos_ == digitsAt) {
      t.kind = Tok::Error;
      diags_.error(DiagKind::invalid_number, t.range, t.text.size() > 40 ? t.text.substr(0, 40) : t.text);
      return t;
    }
    uint64_t v = 0;
    auto [ptr, ec] = std::from_chars(src.data() + digitsAt, src.data() + pos_, v, 16);
    if (ec != std::errc() || v > 0xFFFFFFFFull) {
      diags_.error(DiagKind::integer_too_large, t.range,
                   t.text.size() > 40 ? std::string(t.text.substr(0, 40)) + "..." : std::string(t.text));
      t.kind = Tok::Error;
      return t;
    }
    t.intValue = static_cast<int32_t>(static_cast<uint32_t>(v));
    return t;
  }
  bool isFloat = false;
  auto digits = [&] {
    while (pos_ < src.size() && std::isdigit(static_cast<unsigned char>(src[pos_]))) ++pos_;
  };
  digits();
  // (`0..16` is a range: the `.` of `..` never starts a fraction.)
  if (pos_ < src.size() && src[pos_] == '.' && !(pos_ + 1 < src.size() && src[pos_ + 1] == '.')) {
    isFloat = true;
    ++pos_;
    digits();
  }
  if (pos_ < src.size() && (src[pos_] == 'e' || src[pos_] == 'E')) {
    isFloat = true;
    ++pos_;
    if (pos_ < src.size() && (src[pos_] == '+' || src[pos_] == '-')) ++pos_;
    uint32_t expStart = pos_;
    digits();
    if (pos_ == expStart) {
      while (pos_ < src.size() && std::isalnum(static_cast<unsigned char>(src[pos_]))) ++pos_;
      Token t = make(Tok::Error, begin);
      diags_.error(DiagKind::invalid_number, t.range, t.text);
      return t;
    }
  }
  // A number glued to letters (`12ab`) is one bad token, not two good ones.
  if (pos_ < src.size() && (std::isalpha(static_cast<unsigned char>(src[pos_])) || src[pos_] == '_')) {
    while (pos_ < src.size() &&
           (std::isalnum(static_cast<unsigned char>(src[pos_])) || src[pos_] == '_' || src[pos_] == '.'))
      ++pos_;
    Token t = make(Tok::Error, begin);
    diags_.error(DiagKind::invalid_number, t.range, t.text.size() > 40 ? t.text.substr(0, 40) : t.text);
    return t;
  }
  Token t = make(isFloat ? Tok::Float : Tok::Int, begin);
  if (isFloat) {
    std::string s(t.text.substr(0, 400));
    t.floatValue = std::strtod(s.c_str(), nullptr);
  } else {
    int64_t v = 0;
    auto [ptr, ec] = std::from_chars(t.text.data(), t.text.data() + t.text.size(), v);
    if (ec != std::errc() || v > INT32_MAX) {
      diags_.error(DiagKind::integer_too_large, t.range,
                   t.text.size() > 40 ? std::string(t.text.substr(0, 40)) + "..." : std::string(t.text));
      t.kind = Tok::Error;
    }
    t.intValue = v;
  }
  return t;
}

Token Lexer::next() {
  std::string_view src = file_.text();
  for (;;) {
    while (pos_ < src.size() && (src[pos_] == ' ' || src[pos_] == '\t' || src[pos_] == '\r' ||
                                 (src[pos_] == '\n' && groupDepth_ > 0)))
      ++pos_;
    if (pos_ < src.size() && src[pos_] == '#') {
      while (pos_ < src.size() && src[pos_] != '\n') ++pos_;
      continue;
    }
    break;
  }
  uint32_t begin = pos_;
  if (pos_ >= src.size()) return make(Tok::Eof, begin);
  char c = src[pos_];
  if (c == '\n') {
    ++pos_;
    return make(Tok::Newline, begin);
  }
  if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
    while (pos_ < src.size() && (std::isalnum(static_cast<unsigned char>(src[pos_])) || src[pos_] == '_'))
      ++pos_;
    return make(Tok::Ident, begin);
  }
  if (std::isdigit(static_cast<unsigned char>(c)) ||
      (c == '.' && pos_ + 1 < src.size() && std::isdigit(static_cast<unsigned char>(src[pos_ + 1]))))
    return lexNumber(begin);
  ++pos_;
  auto two = [&](char second, Tok yes, Tok no) {
    if (pos_ < src.size() && src[pos_] == second) {
      ++pos_;
      return make(yes, begin);
    }
    return make(no, begin);
  };
  switch (c) {
  case '{': return make(Tok::LBrace, begin);
  case '}': return make(Tok::RBrace, begin);
  case '(': ++groupDepth_; return make(Tok::LParen, begin);
  case ')': if (groupDepth_) --groupDepth_; return make(Tok::RParen, begin);
  case '[': ++groupDepth_; return make(Tok::LBracket, begin);
  case ']': if (groupDepth_) --groupDepth_; return make(Tok::RBracket, begin);
  case ',': return make(Tok::Comma, begin);
  case ';': return make(Tok::Semi, begin);
  case ':': return make(Tok::Colon, begin);
  case '.':
    if (pos_ < src.size() && src[pos_] == '.') {
      ++pos_;
      return make(Tok::DotDot, begin);
    }
    break;  // (a lone `.`: an invalid character, below)
  case '?': return make(Tok::Question, begin);
  case '+': return make(Tok::Plus, begin);
  case '-': return make(Tok::Minus, begin);
  case '*': return make(Tok::Star, begin);
  case '/': return make(Tok::Slash, begin);
  case '%': return make(Tok::Percent, begin);
  case '=': return two('=', Tok::EqEq, Tok::Assign);
  case '!': return two('=', Tok::NotEq, Tok::Bang);
  case '<':
    if (pos_ < src.size() && src[pos_] == '<') { ++pos_; return make(Tok::Shl, begin); }
    return two('=', Tok::LessEq, Tok::Less);
  case '>':
    if (pos_ < src.size() && src[pos_] == '>') { ++pos_; return make(Tok::Shr, begin); }
    return two('=', Tok::GreaterEq, Tok::Greater);
  case '&': return two('&', Tok::AndAnd, Tok::Amp);
  case '|': return two('|', Tok::OrOr, Tok::Pipe);
  case '^': return make(Tok::Caret, begin);
  case '~': return make(Tok::Tilde, begin);
  default: break;
  }
  // One diagnostic for a run of invalid bytes (a binary blob is one error, not thousands);
  // a UTF-8 sequence is shown whole.
  auto startsToken = [](char ch) {
    return std::isalnum(static_cast<unsigned char>(ch)) || std::isspace(static_cast<unsigned char>(ch)) ||
           std::string_view("_#{}()[],;:?+-*/%=!<>.&|^~").find(ch) != std::string_view::npos;
  };
  // A terminal escape sequence (ESC [ ... final byte) is one invalid run too.
  if (c == 0x1b && pos_ < src.size() && src[pos_] == '[') {
    ++pos_;
    while (pos_ < src.size() && (src[pos_] < 0x40 || src[pos_] > 0x7e) && src[pos_] >= 0x20) ++pos_;
    if (pos_ < src.size() && src[pos_] >= 0x40 && src[pos_] <= 0x7e) ++pos_;
  }
  while (pos_ < src.size() && !startsToken(src[pos_])) ++pos_;
  Token t = make(Tok::Error, begin);
  std::string shown;
  if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
    shown = fmt::format("\\x{:02x}", static_cast<unsigned char>(c));
  else
    shown = std::string(t.text.substr(0, (static_cast<unsigned char>(c) & 0x80) ? 4 : 1));
  diags_.error(DiagKind::invalid_character, t.range, shown);
  return t;
}

}  // namespace attnc::dsl
