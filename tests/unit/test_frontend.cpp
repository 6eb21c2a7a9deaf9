// Parser and Sema behaviour beyond single diagnostics: recovery, counts of
// independent errors, robustness on hostile input, and checked values.
#include "TestUtil.h"

using namespace attnc;

namespace {
size_t errors(const std::string &text) { return dsl::checkSource("t.attn", text)->diags->errorCount(); }
}  // namespace

TEST_CASE("one mistake gives one error and independent mistakes are all reported", "[frontend]") {
  CHECK(errors("attention a {\n dtype f32\n heads 4\n head_dim 64\n mask q_idx $ kv_idx\n}\n") == 1);
  CHECK(errors("attention a {\n dtype f32\n heads 4\n head_dim 64\n mask (q_idx <\n}\n") == 1);
  CHECK(errors("attention a {\n dtype f32\n heads 4\n head_dim (64\n}\n") == 1);
  // Three unrelated mistakes on three lines.
  CHECK(errors("attention a {\n dtype f64\n heads 4\n head_dim 64\n hedas 3\n mask q_indx < 2\n}\n") == 3);
  // Errors in two attention blocks are both found.
  CHECK(errors("attention a {\n dtype f32\n heads 0\n head_dim 64\n}\n"
               "attention b {\n dtype f32\n heads 4\n head_dim 64\n mask 1\n}\n") == 2);
  // An unclosed block is one error, with the note pointing at its `{`.
  auto f = dsl::checkSource("t.attn", "attention a {\n dtype f32\n heads 4\n head_dim 64\n");
  REQUIRE(f->diags->errorCount() == 1);
  CHECK(f->diags->diagnostics()[0].notes.size() == 1);
}

TEST_CASE("hostile input never crashes or grows without bound", "[frontend]") {
  // 10 MB of nested parentheses: one diagnostic.
  std::string deep = "attention a {\n dtype f32\n heads 4\n head_dim 64\n scale " + std::string(10 << 20, '(') + "\n}\n";
  auto f = dsl::checkSource("deep.attn", deep);
  CHECK(f->diags->errorCount() == 1);
  CHECK(f->diags->diagnostics()[0].kind == dsl::DiagKind::nesting_too_deep);
  CHECK(f->diags->render().size() < 2000);
  // A long flat chain is bounded too (it would overflow recursive passes).
  std::string chain = "attention a {\n dtype f32\n heads 4\n head_dim 64\n scale 1";
  for (int i = 0; i < 100000; ++i) chain += "+1";
  chain += "\n}\n";
  CHECK(dsl::checkSource("chain.attn", chain)->diags->errorCount() == 1);
  // Binary garbage: bounded errors.
  std::string junk;
  for (int i = 0; i < 100000; ++i) junk += static_cast<char>((i * 7919) % 256);
  auto g = dsl::checkSource("junk.attn", junk);
  CHECK(g->diags->errorCount() <= 51);
  CHECK(dsl::checkSource("empty.attn", "")->diags->errorCount() == 1);
  CHECK(dsl::checkSource("nul.attn", std::string("attention a {\0}", 15))->diags->hasErrors());
}

TEST_CASE("checked specs carry their values", "[frontend]") {
  auto f = dsl::checkSource("t.attn", R"(
attention s {
  dtype bf16
  heads 2 * group
  kv_heads 4
  head_dim 96
  value_dim 64
  layout bshd
  param group = 8
  param cap = 30.0
  scale 1 / sqrt(head_dim)
  score_mod softcap(score, cap)
  mask window(16, 0) && !sinks(2); output lse
  compress {
    prune heads [3, 1]
  }
})");
  INFO(f->diags->render());
  REQUIRE(f->ok());
  const dsl::Spec &s = f->specs.at(0);
  CHECK(s.heads == 16);
  CHECK(s.kvHeads == 4);
  CHECK(s.headDim == 96);
  CHECK(s.valueDim == 64);
  CHECK(s.layout == dsl::Layout::BSHD);
  CHECK(s.scale == Approx(1 / std::sqrt(96.0)));
  CHECK(s.outputLse);
  REQUIRE(s.transforms.size() == 1);
  CHECK(s.transforms[0].heads == std::vector<int64_t>{1, 3});
}

TEST_CASE("defaults", "[frontend]") {
  auto f = dsl::checkSource("t.attn", "attention a { dtype f16; heads 4; head_dim 64 }\n"
                                      "attention b { dtype f32; heads 1; head_dim 8; score additive(units 3) }");
  INFO(f->diags->render());
  REQUIRE(f->ok());
  CHECK(f->specs[0].kvHeads == 4);
  CHECK(f->specs[0].valueDim == 64);
  CHECK(f->specs[0].scale == Approx(0.125));
  CHECK(f->specs[0].layout == dsl::Layout::BHSD);
  CHECK(f->specs[1].scale == 1.0);
  CHECK(f->specs[1].additiveUnits == 3);
}

TEST_CASE("a UTF-8 byte order mark at the start of a spec is skipped", "[frontend]") {
  auto f = dsl::checkSource("bom.attn", "\xEF\xBB\xBF" "attention a {\n dtype f32\n heads 4\n head_dim 8\n}\n");
  INFO(f->diags->render(false));
  CHECK(f->ok());
  // Only at the start: elsewhere it is still an invalid character.
  auto g = dsl::checkSource("bom.attn", "attention a {\n dtype f32\n \xEF\xBB\xBF heads 4\n head_dim 8\n}\n");
  CHECK_FALSE(g->ok());
}

TEST_CASE("an expression continues after a binary operator at the end of a line", "[frontend]") {
  // The same mask on one line and over four (a comment and a blank line between).
  const std::string one = "attention a {\n dtype f32\n heads 2\n head_dim 8\n mask causal && (kv_idx >= q_idx - 8 || "
                          "(kv_idx & 1) == 0)\n}\n";
  const std::string four = "attention a {\n dtype f32\n heads 2\n head_dim 8\n mask causal &&  # the window\n\n"
                           "   (kv_idx >= q_idx - 8 ||\n    (kv_idx &\n 1) == 0)\n}\n";
  test::Compiled a = test::compileText(one), b = test::compileText(four);
  CHECK(a.comp->printIR(false) == b.comp->printIR(false));
  // `?`, `:`, `,` and a let's `=` continue too.
  const std::string ternary = "attention a {\n dtype f32\n heads 2\n head_dim 8\n let f(x,\n   y) =\n   x + y\n"
                              " mask q_idx > 2 ?\n   true :\n   kv_idx < f(1,\n 2)\n}\n";
  const std::string flat = "attention a {\n dtype f32\n heads 2\n head_dim 8\n mask q_idx > 2 ? true : kv_idx < 1 + 2\n}\n";
  CHECK(test::compileText(ternary).comp->printIR(false) == test::compileText(flat).comp->printIR(false));
  // Without an operator the line still ends the item: a line that starts
  // with one gets one error saying so (line_starts_with_operator).
  auto f = dsl::checkSource("t.attn", "attention a {\n dtype f32\n heads 2\n head_dim 8\n mask causal\n  && kv_idx > 0\n}\n");
  REQUIRE(f->diags->errorCount() == 1);
  CHECK(f->diags->diagnostics()[0].kind == dsl::DiagKind::line_starts_with_operator);
  // An operator before the closing brace is still an error, at the brace.
  CHECK(errors("attention a {\n dtype f32\n heads 2\n head_dim 8\n mask causal &&\n}\n") == 1);
}

TEST_CASE("hex literals are int32 by their bits", "[frontend]") {
  auto f = dsl::checkSource("hex.attn", "attention a {\n dtype f32\n heads 0x4\n head_dim 0X10\n param m = 0xFFFFFFFF\n"
                                        " param n = 0x7fffffff\n}\n");
  INFO(f->diags->render(false));
  REQUIRE(f->ok());
  CHECK(f->specs[0].heads == 4);
  CHECK(f->specs[0].headDim == 16);
  CHECK(errors("attention a {\n dtype f32\n heads 4\n head_dim 8\n param m = 0x100000000\n}\n") == 1);
  CHECK(errors("attention a {\n dtype f32\n heads 4\n head_dim 8\n param m = 0x\n}\n") == 1);
  CHECK(errors("attention a {\n dtype f32\n heads 4\n head_dim 8\n param m = 0xABCG\n}\n") == 1);
}

TEST_CASE("let: named expressions and functions inline to the IR written out by hand", "[frontend][let]") {
  // File-level and block lets, a function typed per use (int and float),
  // lets using lets above them, a body over two lines: the same IR as the
  // expressions written out.
  const std::string withLets =
      "let tile = 16\n"
      "let same_tile(x, y) = x / tile == y / tile\n"
      "attention a {\n dtype f32\n heads 2\n head_dim 8\n"
      " let twice(x) = x * 2\n"
      " let near = abs(q_idx - kv_idx) <=\n    twice(4)\n"
      " mask near && same_tile(q_idx, kv_idx) || causal(top_left)\n"
      " score_mod score * twice(0.5) + twice(h)\n}\n";
  const std::string byHand = "attention a {\n dtype f32\n heads 2\n head_dim 8\n"
                             " mask abs(q_idx - kv_idx) <= 4 * 2 && q_idx / 16 == kv_idx / 16 || causal(top_left)\n"
                             " score_mod score * (0.5 * 2) + h * 2\n}\n";
  test::Compiled a = test::compileText(withLets), b = test::compileText(byHand);
  CHECK(a.comp->printIR(false) == b.comp->printIR(false));
  // Compile-time places take a let whose body is compile-time.
  auto f = dsl::checkSource("c.attn", "let d = 32\nattention a {\n dtype f32\n heads 4\n head_dim d * 2\n}\n");
  INFO(f->diags->render(false));
  REQUIRE(f->ok());
  CHECK(f->specs[0].headDim == 64);
  CHECK(errors("attention a {\n dtype f32\n heads 4\n let n = q_idx\n head_dim n\n}\n") == 1);
  // `score` only where the use may read it.
  CHECK(errors("attention a {\n dtype f32\n heads 4\n head_dim 8\n let s = score * 2\n mask s > 0\n}\n") == 1);
  // Cycles, arity, redefinition, shadowing.
  CHECK(errors("attention a {\n dtype f32\n heads 4\n head_dim 8\n let f(i) = f(i - 1)\n mask f(q_idx) > 0\n}\n") == 1);
  CHECK(errors("attention a {\n dtype f32\n heads 4\n head_dim 8\n let f(i) = i\n mask f(q_idx, 1) > 0\n}\n") == 1);
  CHECK(errors("attention a {\n dtype f32\n heads 4\n head_dim 8\n let n = 1\n let n = 2\n mask n > 0\n}\n") == 1);
  CHECK(errors("attention a {\n dtype f32\n heads 4\n head_dim 8\n param n = 1\n let n = 2\n mask n > 0\n}\n") == 1);
  CHECK(errors("attention a {\n dtype f32\n heads 4\n head_dim 8\n let f(kv_idx) = kv_idx\n mask f(1) > 0\n}\n") == 1);
  CHECK(errors("attention a {\n dtype f32\n heads 4\n head_dim 8\n let exp = 1\n mask causal\n}\n") == 1);
  // A let named as a builtin: one error there, none at its uses.
  CHECK(errors("attention a {\n dtype f32\n heads 4\n head_dim 8\n let prefix = 5\n mask kv_idx < prefix\n}\n") == 1);
  // A file's let seen by two blocks: diagnosed once; unused: one warning.
  auto g = dsl::checkSource("g.attn", "let f(h) = h\nattention a {\n dtype f32\n heads 4\n head_dim 8\n}\n"
                                      "attention c {\n dtype f32\n heads 4\n head_dim 8\n}\n");
  CHECK(g->diags->errorCount() == 1);
  auto w = dsl::checkSource("w.attn", "let u = 1\nattention a {\n dtype f32\n heads 4\n head_dim 8\n}\n");
  CHECK(w->ok());
  REQUIRE(w->diags->diagnostics().size() == 1);
  CHECK(w->diags->diagnostics()[0].kind == dsl::DiagKind::unused_let);
  // Exponential inlining is bounded: one error, no hang.
  std::string big = "attention a {\n dtype f32\n heads 4\n head_dim 8\n let f0(x) = x + x\n";
  for (int i = 1; i < 40; ++i) big += fmt::format(" let f{}(x) = f{}(x) + f{}(x)\n", i, i - 1, i - 1);
  big += " mask f39(q_idx) > 0\n}\n";
  CHECK(errors(big) == 1);
}

TEST_CASE("bounded reductions unroll to the expression written out", "[frontend][reduce]") {
  const std::string red = "attention a {\n dtype f32\n heads 2\n head_dim 8\n param k = 3\n"
                          " input sel : i32[batch, heads, 4]\n"
                          " mask any(j in 0..k + 1: sel[b, h, j] == kv_idx / 16) || all(i in 2..2: false)\n"
                          " score_mod score + sum(i in 0..3: i * 0.5) + max(i in 1..3: q_idx - i) + sum(i in 5..1: i)\n}\n";
  const std::string hand = "attention a {\n dtype f32\n heads 2\n head_dim 8\n param k = 3\n"
                           " input sel : i32[batch, heads, 4]\n"
                           " mask (sel[b, h, 0] == kv_idx / 16 || sel[b, h, 1] == kv_idx / 16) ||\n"
                           "      (sel[b, h, 2] == kv_idx / 16 || sel[b, h, 3] == kv_idx / 16) || true\n"
                           " score_mod score + ((0 * 0.5 + 1 * 0.5) + 2 * 0.5) + max(q_idx - 1, q_idx - 2) + 0\n}\n";
  test::Compiled a = test::compileText(red), b = test::compileText(hand);
  CHECK(a.comp->printIR(false) == b.comp->printIR(false));
  // `..` is a token: `0..16` is not the float `0.`; a float still lexes.
  CHECK(errors("attention a {\n dtype f32\n heads 2\n head_dim 8\n mask any(i in 0..16: kv_idx == i) && 0.5 < 1.\n}\n") == 0);
  // The index is a local name: it may not hide another.
  CHECK(errors("attention a {\n dtype f32\n heads 2\n head_dim 8\n mask any(h in 0..4: kv_idx == h)\n}\n") == 1);
  // A body error is reported once, not once per value.
  CHECK(errors("attention a {\n dtype f32\n heads 2\n head_dim 8\n mask any(i in 0..50: kv_idx + 0.5)\n}\n") == 1);
}

TEST_CASE("input sizes as expressions of the lengths", "[frontend][size_expr]") {
  using dsl::SizeExpr;
  // The canonical text reads back to the same program; evaluation rounds
  // as documented and never overflows.
  for (const char *t : {"ceil_div(seq_q, 16)", "seq_kv + 1", "2 * (seq_q - 1)", "(seq_kv + 16 - 1) / 16",
                        "min(seq_q, 4) * 2 - (-1)", "max(batch * 2, seq_kv / 32)", "seq_q - (seq_kv - 3)"}) {
    INFO(t);
    std::optional<SizeExpr> e = SizeExpr::parse(t);
    REQUIRE(e);
    CHECK(e->text() == t);
    CHECK(SizeExpr::parse(e->text()) == e);
  }
  for (const char *bad : {"", "seq_q +", "q_idx", "ceil_div(seq_q)", "seq_q % 2", "(seq_q", "seq_q)", "1 2"}) {
    INFO(bad);
    CHECK(!SizeExpr::parse(bad));
  }
  auto ev = [](const char *t, int64_t b, int64_t sq, int64_t skv) { return SizeExpr::parse(t)->eval(b, sq, skv); };
  CHECK(ev("ceil_div(seq_q, 16)", 1, 33, 0) == 3);
  CHECK(ev("ceil_div(seq_q, 16)", 1, 32, 0) == 2);
  CHECK(ev("ceil_div(seq_q, 16)", 1, 0, 0) == 0);
  CHECK(ev("ceil_div(seq_q - 40, 16)", 1, 7, 0) == -2);  // ceil(-33 / 16)
  CHECK(ev("(seq_q - 40) / 16", 1, 7, 0) == -2);         // toward zero
  CHECK(ev("seq_q / (seq_kv - 5)", 1, 7, 5) == 0);       // a zero divisor
  CHECK(ev("seq_q * seq_q * seq_q * seq_q", 1, int64_t(1) << 40, 0) == SizeExpr::kLimit);
  CHECK(ev("0 - seq_q * seq_q * seq_q", 1, int64_t(1) << 40, 0) == -SizeExpr::kLimit);

  // Sema: run-time parts stay, compile-time parts fold (a size that folds
  // is a fixed size), names of run-time sizes keep their plain form.
  auto dims = [](const std::string &decl) {
    test::Compiled c = test::compileText("attention a {\n dtype f32\n heads 4\n head_dim 8\n param B = 16\n let t = 4\n"
                                         " input x : " + decl + "\n mask x[" + std::string(decl.find(',') == std::string::npos ? "0" : "0, 0") + "] == 0\n}\n");
    std::string ir = c.comp->printIR(false);
    size_t at = ir.find("attn.input");
    return ir.substr(at, ir.find('\n', at) - at);
  };
  CHECK(dims("i32[batch, ceil_div(seq_q, B)]") == R"x(attn.input "x" : <i32> ["batch", "ceil_div(seq_q, 16)"])x");
  CHECK(dims("i32[heads * t, ceil_div(64, B)]") == R"x(attn.input "x" : <i32> ["16", "4"])x");
  CHECK(dims("i32[seq_kv, -(-seq_q) + +heads]") == R"x(attn.input "x" : <i32> ["seq_kv", "0 - (0 - seq_q) + 4"])x");
  // Errors: what a size may not use, each reported once.
  auto spec = [](const std::string &decl) {
    return "attention a {\n dtype f32\n heads 4\n head_dim 8\n input x : i32[" + decl + "]\n mask x[0] == 0\n}\n";
  };
  for (const char *bad : {"seq_q % 16", "q_idx", "seq_q / 2.0", "ceil_div(seq_q, 0)", "ceil_div(seq_q)",
                          "seq_q > 1 ? 1 : 2", "exp(seq_q)", "seq_q & 15", "16 - 16", "seq_k / 2", "-seq_q * (1 < 2)"}) {
    INFO(bad);
    CHECK(errors(spec(bad)) == 1);
  }
  // The run-time check of a size expression (the JIT's bindShapes; the
  // generated headers' check_size in tests/aot).
  test::Compiled c = test::compileText("attention a {\n dtype f32\n heads 2\n head_dim 8\n"
                                       " input blocks : i32[batch, ceil_div(seq_q, 16), seq_kv - 4]\n"
                                       " mask blocks[b, q_idx / 16, kv_idx] == 0\n}\n");
  KernelDesc d = test::planOf(c, "a").desc;
  auto bind = [&](int64_t sq, int64_t skv, std::vector<int64_t> blocks, std::string &err) {
    std::vector<std::vector<int64_t>> shapes = {{1, 2, sq, 8}, {1, 2, skv, 8}, {1, 2, skv, 8}, blocks, {1, 2, sq, 8}};
    CallSizes sizes;
    return bindShapes(d, shapes, sizes, err);
  };
  std::string err;
  CHECK(bind(33, 10, {1, 3, 6}, err));
  CHECK(!bind(33, 10, {1, 2, 6}, err));
  CHECK(err == "`blocks` dimension 1 (ceil_div(seq_q, 16)) must be 3 for batch 1, seq_q 33, seq_kv 10, got 2");
  CHECK(!bind(33, 4, {1, 3, 0}, err));
  CHECK(err == "`blocks` dimension 2 (seq_kv - 4) is 0 for batch 1, seq_q 33, seq_kv 4; an input's size must be at least 1");
}
