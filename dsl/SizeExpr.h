// An input dimension that depends on the run-time lengths (language 1.1):
// `ceil_div(seq_q, 16)`, `seq_kv + 1`, `min(seq_q, 64)`. Sema folds every
// compile-time part (params, heads, literals) into constants, so what is left
// is integers, `batch`, `seq_q`, `seq_kv`, + - * / and ceil_div, min, max.
//
// Kept as a postfix program: it travels through the IR as its canonical text
// (`text()`, read back by `parse()`), and the reference, the JIT's shape
// checks, the generated headers' checks (templates::kCheckHelpers mirrors
// `eval`) and the GPU runner all evaluate it the same way. Header-only and
// free of the rest of attnc, so the standalone GPU runner can include it.
#pragma once

#include <cctype>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace attnc::dsl {

struct SizeExpr {
  enum class Op : uint8_t { Const, Batch, SeqQ, SeqKv, Add, Sub, Mul, Div, CeilDiv, Min, Max };
  struct Step {
    Op op;
    int64_t value = 0;  // for Const
    bool operator==(const Step &o) const { return op == o.op && value == o.value; }
  };
  std::vector<Step> code;

  bool operator==(const SizeExpr &o) const { return code == o.code; }

  /// Results are clamped to +-kLimit (far beyond any tensor's extent), so
  /// evaluation never overflows whatever lengths a caller passes; `/` rounds
  /// toward zero as the language's `/` does, ceil_div rounds up, and a zero
  /// divisor gives 0 (as `/` does in expressions).
  static constexpr int64_t kLimit = int64_t(1) << 61;
  static int64_t clampValue(int64_t v) { return v > kLimit ? kLimit : v < -kLimit ? -kLimit : v; }
  static int64_t add(int64_t a, int64_t b) { return clampValue(a + b); }  // (|a|, |b| <= 2^61)
  static int64_t sub(int64_t a, int64_t b) { return clampValue(a - b); }
  static int64_t mul(int64_t a, int64_t b) {
    if (a == 0 || b == 0) return 0;
    const uint64_t ua = a < 0 ? uint64_t(0) - uint64_t(a) : uint64_t(a);
    const uint64_t ub = b < 0 ? uint64_t(0) - uint64_t(b) : uint64_t(b);
    const bool neg = (a < 0) != (b < 0);
    if (ua > uint64_t(kLimit) / ub) return neg ? -kLimit : kLimit;
    const int64_t m = int64_t(ua * ub);
    return neg ? -m : m;
  }
  static int64_t div(int64_t a, int64_t b) { return b == 0 ? 0 : a / b; }
  static int64_t ceilDiv(int64_t a, int64_t b) {
    if (b == 0) return 0;
    const int64_t q = a / b, r = a % b;
    return (r != 0 && ((r < 0) == (b < 0))) ? q + 1 : q;
  }

  /// The value for a call's lengths (clamped as above).
  int64_t eval(int64_t batch, int64_t seqQ, int64_t seqKv) const {
    std::vector<int64_t> st;
    st.reserve(code.size());
    for (const Step &s : code) {
      if (s.op <= Op::SeqKv) {
        int64_t v = s.op == Op::Const ? s.value : s.op == Op::Batch ? batch : s.op == Op::SeqQ ? seqQ : seqKv;
        st.push_back(clampValue(v));
        continue;
      }
      if (st.size() < 2) return 0;  // (not a program parse() or Sema makes)
      const int64_t b = st.back();
      st.pop_back();
      int64_t &a = st.back();
      switch (s.op) {
      case Op::Add: a = add(a, b); break;
      case Op::Sub: a = sub(a, b); break;
      case Op::Mul: a = mul(a, b); break;
      case Op::Div: a = div(a, b); break;
      case Op::CeilDiv: a = ceilDiv(a, b); break;
      case Op::Min: a = a < b ? a : b; break;
      default: a = a > b ? a : b; break;
      }
    }
    return st.size() == 1 ? st.back() : 0;
  }

  /// Whether the program is well formed (one value left, operands for each op).
  bool valid() const {
    int64_t depth = 0;
    for (const Step &s : code) {
      if (s.op <= Op::SeqKv) ++depth;
      else if (--depth < 1) return false;
    }
    return depth == 1;
  }

  /// The canonical text: `ceil_div(seq_q, 16)`, `seq_kv + 1`, `2 * (seq_q - 1)`.
  /// `names` replaces batch, seq_q, seq_kv and `call` prefixes each function
  /// and operator when given (the generated headers' C form: every operation
  /// a call, `call` + "add(a, b)").
  std::string text(const char *call = nullptr) const {
    struct Part {
      std::string s;
      int prec;  // 1: + -, 2: * /, 3: atom
    };
    std::vector<Part> st;
    for (const Step &s : code) {
      switch (s.op) {
      case Op::Const: st.push_back({std::to_string(s.value), s.value < 0 && !call ? 0 : 3}); continue;
      case Op::Batch: st.push_back({"batch", 3}); continue;
      case Op::SeqQ: st.push_back({"seq_q", 3}); continue;
      case Op::SeqKv: st.push_back({"seq_kv", 3}); continue;
      default: break;
      }
      if (st.size() < 2) return "?";
      Part b = std::move(st.back());
      st.pop_back();
      Part a = std::move(st.back());
      st.pop_back();
      const char *fn = s.op == Op::CeilDiv ? "ceil_div" : s.op == Op::Min ? "min" : s.op == Op::Max ? "max" : nullptr;
      if (call) {
        static const char *names[] = {"add", "sub", "mul", "div", "ceil_div", "min", "max"};
        st.push_back({std::string(call) + names[int(s.op) - int(Op::Add)] + "(" + a.s + ", " + b.s + ")", 3});
        continue;
      }
      if (fn) {
        st.push_back({std::string(fn) + "(" + a.s + ", " + b.s + ")", 3});
        continue;
      }
      const int prec = s.op == Op::Add || s.op == Op::Sub ? 1 : 2;
      const char *sym = s.op == Op::Add ? " + " : s.op == Op::Sub ? " - " : s.op == Op::Mul ? " * " : " / ";
      // Left-associative: the right operand of an equal precedence needs parentheses.
      std::string l = a.prec < prec ? "(" + a.s + ")" : a.s;
      std::string r = b.prec <= prec ? "(" + b.s + ")" : b.s;
      st.push_back({l + sym + r, prec});
    }
    return st.size() == 1 ? st.back().s : "?";
  }

  /// Reads text() back (also accepts any spacing and redundant parentheses);
  /// nullopt for anything else.
  static std::optional<SizeExpr> parse(std::string_view text) {
    SizeExpr e;
    size_t pos = 0;
    int depth = 0;
    auto skip = [&] {
      while (pos < text.size() && std::isspace(static_cast<unsigned char>(text[pos]))) ++pos;
    };
    auto eat = [&](char c) {
      skip();
      if (pos < text.size() && text[pos] == c) {
        ++pos;
        return true;
      }
      return false;
    };
    // expr := term (('+'|'-') term)*; term := atom (('*'|'/') atom)*;
    // atom := ['-'] digits | name | fn '(' expr ',' expr ')' | '(' expr ')'
    struct P {
      static bool expr(SizeExpr &e, std::string_view t, size_t &pos, int &depth, decltype(skip) &skip,
                       decltype(eat) &eat) {
        if (!term(e, t, pos, depth, skip, eat)) return false;
        for (;;) {
          Op op;
          if (eat('+')) op = Op::Add;
          else if (eat('-')) op = Op::Sub;
          else return true;
          if (!term(e, t, pos, depth, skip, eat)) return false;
          e.code.push_back({op});
        }
      }
      static bool term(SizeExpr &e, std::string_view t, size_t &pos, int &depth, decltype(skip) &skip,
                       decltype(eat) &eat) {
        if (!atom(e, t, pos, depth, skip, eat)) return false;
        for (;;) {
          Op op;
          if (eat('*')) op = Op::Mul;
          else if (eat('/')) op = Op::Div;
          else return true;
          if (!atom(e, t, pos, depth, skip, eat)) return false;
          e.code.push_back({op});
        }
      }
      static bool atom(SizeExpr &e, std::string_view t, size_t &pos, int &depth, decltype(skip) &skip,
                       decltype(eat) &eat) {
        if (++depth > 64) return false;
        struct Leave {
          int &d;
          ~Leave() { --d; }
        } leave{depth};
        skip();
        if (eat('(')) return expr(e, t, pos, depth, skip, eat) && eat(')');
        skip();
        bool neg = false;
        if (pos < t.size() && t[pos] == '-') {
          neg = true;
          ++pos;
        }
        if (pos < t.size() && std::isdigit(static_cast<unsigned char>(t[pos]))) {
          int64_t v = 0;
          while (pos < t.size() && std::isdigit(static_cast<unsigned char>(t[pos]))) {
            if (v > kLimit / 10) return false;
            v = v * 10 + (t[pos++] - '0');
          }
          e.code.push_back({Op::Const, neg ? -v : v});
          return true;
        }
        if (neg) return false;
        size_t start = pos;
        while (pos < t.size() && (std::isalnum(static_cast<unsigned char>(t[pos])) || t[pos] == '_')) ++pos;
        std::string_view w = t.substr(start, pos - start);
        if (w == "batch") e.code.push_back({Op::Batch});
        else if (w == "seq_q") e.code.push_back({Op::SeqQ});
        else if (w == "seq_kv") e.code.push_back({Op::SeqKv});
        else if (w == "ceil_div" || w == "min" || w == "max") {
          if (!eat('(') || !expr(e, t, pos, depth, skip, eat) || !eat(',') || !expr(e, t, pos, depth, skip, eat) ||
              !eat(')'))
            return false;
          e.code.push_back({w == "ceil_div" ? Op::CeilDiv : w == "min" ? Op::Min : Op::Max});
        } else {
          return false;
        }
        return true;
      }
    };
    if (!P::expr(e, text, pos, depth, skip, eat)) return std::nullopt;
    skip();
    if (pos != text.size() || !e.valid()) return std::nullopt;
    return e;
  }
};

}  // namespace attnc::dsl
