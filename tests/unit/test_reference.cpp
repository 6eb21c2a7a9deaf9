// The reference interpreter against cases worked out by hand (the expected
// numbers are written from the formulas of docs/language.md, not from the
// interpreter).
#include <cmath>
#include <limits>

#include "TestUtil.h"

using namespace attnc;

namespace {

struct Ref {
  test::Compiled c;
  std::unique_ptr<ReferenceKernel> k;
};

Ref make(const std::string &text) {
  Ref r;
  r.c = test::compileText(text);
  r.k = ReferenceKernel::create(test::planOf(r.c, r.c.comp->kernelNames().at(0)));
  return r;
}

HostTensor tensor(std::vector<int64_t> shape, std::vector<double> values) {
  HostTensor t(std::move(shape));
  REQUIRE(static_cast<int64_t>(values.size()) == t.numel());
  t.data = std::move(values);
  return t;
}

HostTensor run(const Ref &r, std::vector<const HostTensor *> args, HostTensor *lse = nullptr) {
  HostTensor out;
  std::string err;
  bool ok = r.k->run(args, out, lse, err);
  INFO(err);
  REQUIRE(ok);
  return out;
}

double sig(double x) { return 1 / (1 + std::exp(-x)); }
const double kInf = std::numeric_limits<double>::infinity();

}  // namespace

TEST_CASE("softmax over two keys", "[reference]") {
  Ref r = make("attention a { dtype f32; heads 1; head_dim 1; scale 1.0; output lse }");
  HostTensor q = tensor({1, 1, 1, 1}, {2}), k = tensor({1, 1, 2, 1}, {1, 3}), v = tensor({1, 1, 2, 1}, {10, 20});
  HostTensor lse;
  HostTensor out = run(r, {&q, &k, &v}, &lse);
  // scores 2 and 6: p = e^2 / (e^2 + e^6), e^6 / (...)
  double p0 = std::exp(2) / (std::exp(2) + std::exp(6));
  CHECK(out.data[0] == Approx(10 * p0 + 20 * (1 - p0)).epsilon(1e-12));
  CHECK(lse.data[0] == Approx(std::log(std::exp(2) + std::exp(6))).epsilon(1e-12));
}

TEST_CASE("default scale is 1/sqrt(head_dim)", "[reference]") {
  Ref r = make("attention a { dtype f32; heads 1; head_dim 4 }");
  HostTensor q = tensor({1, 1, 1, 4}, {1, 1, 1, 1}), k = tensor({1, 1, 2, 4}, {1, 0, 0, 0, 0, 0, 0, 0}),
             v = tensor({1, 1, 2, 4}, {1, 0, 0, 0, 0, 1, 0, 0});
  HostTensor out = run(r, {&q, &k, &v});
  double p0 = std::exp(0.5) / (std::exp(0.5) + 1);  // scores 1/2 and 0
  CHECK(out.data[0] == Approx(p0));
  CHECK(out.data[1] == Approx(1 - p0));
}

TEST_CASE("causal is bottom-right aligned and fully masked rows give 0 and -inf", "[reference]") {
  Ref r = make("attention a { dtype f32; heads 1; head_dim 1; scale 1.0; mask causal; output lse }");
  // seq_q 3, seq_kv 2: q' = q - 1, so row 0 sees nothing, row 1 sees kv 0, row 2 sees both.
  HostTensor q = tensor({1, 1, 3, 1}, {1, 1, 1}), k = tensor({1, 1, 2, 1}, {0, 0}), v = tensor({1, 1, 2, 1}, {4, 8});
  HostTensor lse;
  HostTensor out = run(r, {&q, &k, &v}, &lse);
  CHECK(out.data[0] == 0);
  CHECK(lse.data[0] == -kInf);
  CHECK(out.data[1] == Approx(4));
  CHECK(lse.data[1] == Approx(0).margin(1e-15));
  CHECK(out.data[2] == Approx(6));
  CHECK(lse.data[2] == Approx(std::log(2)));
  // seq_q 1, seq_kv 3 (decode): the one row sees all keys.
  HostTensor q1 = tensor({1, 1, 1, 1}, {0}), k3 = tensor({1, 1, 3, 1}, {0, 0, 0}), v3 = tensor({1, 1, 3, 1}, {3, 6, 9});
  HostTensor lse1;
  CHECK(run(r, {&q1, &k3, &v3}, &lse1).data[0] == Approx(6));
  CHECK(lse1.data[0] == Approx(std::log(3)));
}

TEST_CASE("windows and sinks and prefix", "[reference]") {
  // value = kv index, equal scores: out = mean of the kept kv indices.
  auto meanKept = [](const std::string &mask, int64_t n, int64_t row) {
    Ref r = make("attention a { dtype f32; heads 1; head_dim 1; mask " + mask + " }");
    HostTensor q({1, 1, n, 1}, 0.0), k({1, 1, n, 1}, 0.0), v({1, 1, n, 1});
    for (int64_t j = 0; j < n; ++j) v.data[j] = j;
    return run(r, {&q, &k, &v}).data[row];
  };
  CHECK(meanKept("window(3)", 10, 7) == Approx((5 + 6 + 7) / 3.0));
  CHECK(meanKept("window(2, 1)", 10, 7) == Approx((5 + 6 + 7 + 8) / 4.0));
  CHECK(meanKept("sinks(2) || window(2)", 10, 7) == Approx((0 + 1 + 6 + 7) / 4.0));
  CHECK(meanKept("causal || prefix(4)", 10, 1) == Approx((0 + 1 + 2 + 3) / 4.0));
  CHECK(meanKept("causal || prefix(4)", 10, 6) == Approx(3.0));
}

TEST_CASE("ALiBi and softcap score mods", "[reference]") {
  Ref r = make("attention a { dtype f32; heads 2; head_dim 1; scale 1.0\n"
               " score_mod score - exp2(-8.0 * (h + 1) / heads) * (q_idx - kv_idx) }");
  // q = k = 0: scores are -slope * (q - kv); slopes 2^-4 and 2^-8.
  HostTensor q({1, 2, 2, 1}, 0.0), k({1, 2, 2, 1}, 0.0), v = tensor({1, 2, 2, 1}, {0, 1, 0, 1});
  HostTensor out = run(r, {&q, &k, &v});
  for (int h = 0; h < 2; ++h) {
    double slope = std::exp2(-8.0 * (h + 1) / 2);
    // row 1: scores -slope (kv 0) and 0 (kv 1)
    double p1 = 1 / (1 + std::exp(-slope));
    CHECK(out.at({0, h, 1, 0}) == Approx(p1));
    // row 0: scores 0 (kv 0) and +slope (kv 1)
    CHECK(out.at({0, h, 0, 0}) == Approx(std::exp(slope) / (1 + std::exp(slope))));
  }
  Ref c = make("attention a { dtype f32; heads 1; head_dim 1; scale 1.0; score_mod softcap(score, 2.0) }");
  HostTensor q1 = tensor({1, 1, 1, 1}, {5}), k2 = tensor({1, 1, 2, 1}, {1, 0}), v2 = tensor({1, 1, 2, 1}, {1, 0});
  double s0 = 2 * std::tanh(5 / 2.0);
  CHECK(run(c, {&q1, &k2, &v2}).data[0] == Approx(std::exp(s0) / (std::exp(s0) + 1)));
}

TEST_CASE("grouped-query heads share k and v in bshd layout", "[reference]") {
  Ref r = make("attention a { dtype f32; heads 4; kv_heads 2; head_dim 1; layout bshd }");
  // bshd: [batch, seq, heads, dim]; one key per kv head, so out = v of the group's kv head.
  HostTensor q({1, 1, 4, 1}, 1.0), k({1, 1, 2, 1}, 1.0), v = tensor({1, 1, 2, 1}, {7, 9});
  HostTensor out = run(r, {&q, &k, &v});
  CHECK(out.data == std::vector<double>{7, 7, 9, 9});
}

TEST_CASE("sigmoid normalization with a bias", "[reference]") {
  Ref r = make("attention a { dtype f32; heads 1; head_dim 1; scale 1.0; normalize sigmoid(-1.0); mask causal }");
  HostTensor q = tensor({1, 1, 2, 1}, {1, 2}), k = tensor({1, 1, 2, 1}, {1, -1}), v = tensor({1, 1, 2, 1}, {3, 5});
  HostTensor out = run(r, {&q, &k, &v});
  CHECK(out.data[0] == Approx(3 * sig(1 - 1)));
  CHECK(out.data[1] == Approx(3 * sig(2 - 1) + 5 * sig(-2 - 1)));
}

TEST_CASE("inputs: document masks and clamped indices", "[reference]") {
  Ref r = make("attention a { dtype f32; heads 1; head_dim 1\n input doc : i32[seq_kv]\n"
               " mask causal && doc[q_idx] == doc[kv_idx] }");
  HostTensor q({1, 1, 4, 1}, 0.0), k({1, 1, 4, 1}, 0.0), v = tensor({1, 1, 4, 1}, {1, 2, 3, 4});
  HostTensor doc = tensor({4}, {0, 0, 1, 1});
  HostTensor out = run(r, {&q, &k, &v, &doc});
  CHECK(out.data == std::vector<double>{1, 1.5, 3, 3.5});
  Ref b = make("attention a { dtype f32; heads 1; head_dim 1\n input bias : f32[3]\n score_mod score + bias[kv_idx - 1] }");
  // kv_idx - 1 = -1 clamps to 0; kv 3 -> index 2.
  HostTensor bias = tensor({3}, {0, std::log(2.0), std::log(3.0)});
  HostTensor q1({1, 1, 1, 1}, 0.0), k4({1, 1, 4, 1}, 0.0), v4 = tensor({1, 1, 4, 1}, {1, 0, 0, 0});
  // weights 1 (clamped to bias[0]), 1, 2, 3 -> p(kv 0) = 1/7
  CHECK(run(b, {&q1, &k4, &v4, &bias}).data[0] == Approx(1 / 7.0));
}

TEST_CASE("integer arithmetic is C arithmetic on i32", "[reference]") {
  // (q_idx - kv_idx) / 2 truncates toward zero; % keeps the dividend's sign.
  Ref r = make("attention a { dtype f32; heads 1; head_dim 1\n"
               " score_mod score + (q_idx - kv_idx) / 2 * 1.0 + (q_idx - kv_idx) % 2 * 10.0 }");
  HostTensor q({1, 1, 1, 1}, 0.0), k({1, 1, 4, 1}, 0.0), v = tensor({1, 1, 4, 1}, {1, 0, 0, 0});
  // row 0 against kv 0..3: d = 0,-1,-2,-3 -> d/2 = 0,0,-1,-1 ; d%2 = 0,-1,0,-1
  double w[4] = {std::exp(0), std::exp(-10), std::exp(-1), std::exp(-11)};
  CHECK(run(r, {&q, &k, &v}).data[0] == Approx(w[0] / (w[0] + w[1] + w[2] + w[3])));
}

TEST_CASE("integer bit operators are C's on i32, shift amounts modulo 32", "[reference][bits]") {
  // Constants fold with the language's rules; run-time amounts outside
  // 0..31 take their low five bits: every clause below holds, so the mask
  // keeps every pair.
  Ref c = make("attention a { dtype f32; heads 1; head_dim 1\n mask (0xFF & 0x0F) == 15 && (0xF0 | 0x0F) == 255 &&\n"
               "  (6 ^ 3) == 5 && ~0 == -1 && 0xFFFFFFFF == -1 && 0x7fffffff == 2147483647 && (1 << 31) < 0 &&\n"
               "  (-8 >> 1) == -4 && (-8 >> 31) == -1 && (8 >> 31) == 0 &&\n"
               "  (1 << (q_idx * 0 + 33)) == 2 && (1 << (q_idx * 0 - 1)) < 0 && (8 >> (kv_idx * 0 + 32)) == 8 &&\n"
               "  (-8 >> (kv_idx * 0 + 40)) == -1 &&\n"
               "  1 + 2 << 1 == 6 && (6 & 3 | 8) == 10 && (1 | 6 ^ 3) == 5 }");
  HostTensor q0({1, 1, 3, 1}, 0.0), k0({1, 1, 5, 1}, 0.0), v0({1, 1, 5, 1}, 1.0);
  CHECK(c.k->countKept({&q0, &k0, &v0}, 0, 0, 3, 5) == 15);
  // & | ^ on two bools: logical (both sides evaluated).
  Ref lg = make("attention a { dtype f32; heads 1; head_dim 1\n mask (q_idx < 2) & (kv_idx < 3) | (kv_idx == 4) ^ (q_idx == 0) }");
  int64_t wantL = 0;
  for (int qi = 0; qi < 3; ++qi)
    for (int kv = 0; kv < 5; ++kv) wantL += ((qi < 2) && (kv < 3)) || ((kv == 4) != (qi == 0));
  CHECK(lg.k->countKept({&q0, &k0, &v0}, 0, 0, 3, 5) == wantL);
  // Data-dependent shift amounts (negative, 0..31, 32 and above) against C++ with the same rules.
  Ref r = make("attention a { dtype f32; heads 1; head_dim 1\n"
               " mask ((q_idx << (kv_idx - 8)) >> (q_idx - kv_idx) & 0x3F) != (kv_idx ^ ~q_idx) % 5 }");
  const int64_t Sq = 50, Skv = 60;
  int64_t want = 0;
  for (int32_t qi = 0; qi < Sq; ++qi)
    for (int32_t kv = 0; kv < Skv; ++kv) {
      const int32_t lhs = dsl::shiftRight32(dsl::shiftLeft32(qi, kv - 8), qi - kv) & 0x3F;
      want += lhs != (kv ^ ~qi) % 5;
    }
  HostTensor q({1, 1, Sq, 1}, 0.0), k({1, 1, Skv, 1}, 0.0), v({1, 1, Skv, 1}, 1.0);
  CHECK(r.k->countKept({&q, &k, &v}, 0, 0, Sq, Skv) == want);
  CHECK(want > 0);
  CHECK(want < Sq * Skv);
}

TEST_CASE("functions of language 1.1 against C++ in f64", "[reference][functions]") {
  const int32_t Sq = 80;
  for (const test::FunctionCase &fc : test::functionCases()) {
    INFO(fc.expr);
    Ref r = make(test::functionSpec(fc));
    KernelArgs args = makeArgs(r.k->desc(), 1, Sq, 3, 5);
    HostTensor out, lse;
    std::string err;
    REQUIRE(r.k->run(args.inputs(), out, &lse, err));
    // (f64 throughout, but the formulas' constants are the IR's f32 ones,
    // as every float literal is: gelu's 1/sqrt(2) is off by 3e-8 of itself.)
    CHECK(test::checkFunctionLse(fc, lse.data, Sq, 1, 1e-8) == "");
  }
  // Python's rounding: -7 // 2 == -4, -7 % 2 == 1, 7 % -2 == -1, and the
  // language's zero divisor (0).
  Ref c = make("attention a { dtype f32; heads 1; head_dim 1\n mask floor_div(-7, 2) == -4 && floor_mod(-7, 2) == 1 &&\n"
               "  floor_mod(7, -2) == -1 && floor_div(7, 0) == 0 && floor_mod(-2147483647 - 1, -1) == 0 &&\n"
               "  floor_div(-7.5, 2) == -4.0 && floor_mod(-7.5, 2) == 0.5 && popcount(-1) == 32 && popcount(0) == 0 &&\n"
               "  pow(2, 10) == 1024.0 && gelu(0) == 0.0 && ceil_div(7, 2) == 4 && ceil_div(-7, 2) == -3 &&\n"
               "  ceil_div(7, -2) == -3 && ceil_div(-7, -2) == 4 && ceil_div(8, 2) == 4 && ceil_div(7, 0) == 0 &&\n"
               "  ceil_div(-7.5, 2) == -3.0 && ceil_div(q_idx + 5, 2) == (q_idx + 6) / 2 &&\n"
               "  ceil_div(-q_idx - 5, 2) == -((q_idx + 5) / 2) && ceil_div(kv_idx - 3, -2) == -floor_div(kv_idx - 3, 2) }");
  HostTensor q0({1, 1, 3, 1}, 0.0), k0({1, 1, 5, 1}, 0.0), v0({1, 1, 5, 1}, 1.0);
  CHECK(c.k->countKept({&q0, &k0, &v0}, 0, 0, 3, 5) == 15);
}

TEST_CASE("top-left mask builtins are the index comparisons they stand for", "[reference][top_left]") {
  // Each builtin against its definition written out, on a rectangular shape
  // both ways round (where the alignments differ).
  const std::vector<std::pair<std::string, std::string>> pairs = {
      {"causal(top_left)", "kv_idx <= q_idx"},
      {"causal(bottom_right)", "kv_idx <= q_idx + seq_kv - seq_q"},
      {"window(6, top_left)", "q_idx - 6 < kv_idx && kv_idx <= q_idx"},
      {"window(4, 2, top_left)", "q_idx - 4 <= kv_idx && kv_idx <= q_idx + 2"},
      {"window(4, 2, bottom_right)", "window(4, 2)"},
  };
  for (auto [a, b] : pairs)
    for (auto [sq, skv] : {std::pair<int64_t, int64_t>{7, 20}, {20, 7}, {9, 9}}) {
      INFO(a << " vs " << b << " at " << sq << " x " << skv);
      Ref ra = make("attention a { dtype f32; heads 1; head_dim 1; mask " + a + " }");
      Ref rb = make("attention a { dtype f32; heads 1; head_dim 1; mask " + b + " }");
      HostTensor q({1, 1, sq, 1}, 0.0), k({1, 1, skv, 1}, 0.0), v({1, 1, skv, 1}, 1.0);
      // (Tiles of one pair: the whole pattern, pair by pair.)
      std::vector<int64_t> ma, ka, mb, kb;
      REQUIRE(ra.k->tileKept({&q, &k, &v}, 0, 0, sq, skv, 1, 1, ma, ka));
      REQUIRE(rb.k->tileKept({&q, &k, &v}, 0, 0, sq, skv, 1, 1, mb, kb));
      CHECK(ma == mb);
    }
  // And they differ where they should: causal(top_left) at 7 x 20 keeps q_idx + 1 keys per row.
  Ref tl = make("attention a { dtype f32; heads 1; head_dim 1; mask causal(top_left) }");
  HostTensor q({1, 1, 7, 1}, 0.0), k({1, 1, 20, 1}, 0.0), v({1, 1, 20, 1}, 1.0);
  CHECK(tl.k->countKept({&q, &k, &v}, 0, 0, 7, 20) == 1 + 2 + 3 + 4 + 5 + 6 + 7);
}

TEST_CASE("additive (Bahdanau) scoring", "[reference]") {
  Ref r = make("attention a { dtype f32; heads 1; head_dim 1; score additive(units 2) }");
  HostTensor q = tensor({1, 1, 1, 1}, {1}), k = tensor({1, 1, 2, 1}, {1, -1}), v = tensor({1, 1, 2, 1}, {1, 0});
  HostTensor wq = tensor({1, 1, 2}, {0.5, -1}), wk = tensor({1, 1, 2}, {2, 1}), av = tensor({1, 2}, {1, 3});
  auto score = [&](double kv) { return 1 * std::tanh(0.5 + 2 * kv) + 3 * std::tanh(-1 + kv); };
  double s0 = score(1), s1 = score(-1);
  CHECK(run(r, {&q, &k, &v, &wq, &wk, &av}).data[0] == Approx(std::exp(s0) / (std::exp(s0) + std::exp(s1))));
}

TEST_CASE("pruned heads are zero with lse -inf", "[reference]") {
  Ref r = make("attention a { dtype f32; heads 3; head_dim 1; output lse\n compress { prune heads [1] } }");
  HostTensor q({1, 3, 1, 1}, 1.0), k({1, 3, 1, 1}, 1.0), v({1, 3, 1, 1}, 5.0), lse;
  HostTensor out = run(r, {&q, &k, &v}, &lse);
  CHECK(out.data == std::vector<double>{5, 0, 5});
  CHECK(lse.data[1] == -kInf);
  CHECK(lse.data[0] == Approx(1.0));
}

TEST_CASE("sparse block input", "[reference]") {
  Ref r = make("attention a { dtype f32; heads 1; head_dim 1\n compress { sparse block 2 input } }");
  HostTensor q({1, 1, 3, 1}, 0.0), k({1, 1, 3, 1}, 0.0), v = tensor({1, 1, 3, 1}, {1, 2, 3});
  // 2 q blocks x 2 kv blocks: block row 0 keeps kv block 1 only; row 1 keeps both.
  HostTensor bm = tensor({1, 1, 2, 2}, {0, 1, 1, 1});
  HostTensor out = run(r, {&q, &k, &v, &bm});
  CHECK(out.data == std::vector<double>{3, 3, 2});
}

TEST_CASE("sparse block top-T keeps the best blocks and the diagonal", "[reference]") {
  Ref r = make("attention a { dtype f32; heads 1; head_dim 1; scale 1.0\n compress { sparse block 2 top 1 } }");
  // 4 keys in two blocks; k block 0 = {-1,-1}, block 1 = {1,1}; one query block of 2 rows,
  // q = {1, 1}: estimate favours block 1; the diagonal (rows 0..1 -> q' = 2..3) is block 1 too.
  HostTensor q({1, 1, 2, 1}, 1.0), k = tensor({1, 1, 4, 1}, {-1, -1, 1, 1}), v = tensor({1, 1, 4, 1}, {1, 2, 3, 4});
  HostTensor out = run(r, {&q, &k, &v});
  CHECK(out.data[0] == Approx(3.5));
  // With negative queries block 0 is best, and block 1 is kept as the diagonal: all four keys.
  HostTensor qn({1, 1, 2, 1}, -1.0);
  HostTensor out2 = run(r, {&qn, &k, &v});
  double w0 = std::exp(1), w1 = std::exp(-1);
  CHECK(out2.data[0] == Approx((w0 * (1 + 2) + w1 * (3 + 4)) / (2 * w0 + 2 * w1)));
}

TEST_CASE("low-rank kv makes k from latent . k_up and v from latent . v_up", "[reference]") {
  Ref r = make("attention a { dtype f32; heads 1; head_dim 1; scale 1.0\n compress { low_rank kv rank 2 } }");
  HostTensor q = tensor({1, 1, 1, 1}, {1}), lat = tensor({1, 2, 2}, {1, 0, 0, 1});
  HostTensor kup = tensor({1, 2, 1}, {2, -1}), vup = tensor({1, 2, 1}, {10, 20});
  // k = {2, -1}, v = {10, 20}
  double p0 = std::exp(2) / (std::exp(2) + std::exp(-1));
  CHECK(run(r, {&q, &lat, &kup, &vup}).data[0] == Approx(10 * p0 + 20 * (1 - p0)));
}

TEST_CASE("low-rank kv with rope: the key's last dims are the latent row's last elements", "[reference]") {
  // rank 1, rope 1, head_dim 2: a latent row (c, r) makes the key (c . k_up, r) and the value c . v_up.
  Ref r = make("attention a { dtype f32; heads 1; head_dim 2; value_dim 1; scale 1.0\n"
               " compress { low_rank kv rank 1 rope 1 } }");
  HostTensor q = tensor({1, 1, 1, 2}, {1, 2}), lat = tensor({1, 2, 2}, {1, 0.5, 2, -1});
  HostTensor kup = tensor({1, 1, 1}, {3}), vup = tensor({1, 1, 1}, {10});
  // keys (3, 0.5) and (6, -1): scores 1 x 3 + 2 x 0.5 = 4 and 6 - 2 = 4; values 10 and 20
  CHECK(run(r, {&q, &lat, &kup, &vup}).data[0] == Approx(15));
  HostTensor q2 = tensor({1, 1, 1, 2}, {0, 1});  // scores 0.5 and -1
  double p0 = std::exp(0.5) / (std::exp(0.5) + std::exp(-1));
  CHECK(run(r, {&q2, &lat, &kup, &vup}).data[0] == Approx(10 * p0 + 20 * (1 - p0)));
  // The shapes: latent [batch, seq_kv, rank + rope], k_up [kv_heads, rank, head_dim - rope].
  HostTensor badLat = tensor({1, 2, 1}, {1, 2}), out;
  std::string err;
  CHECK_FALSE(r.k->run({&q, &badLat, &kup, &vup}, out, nullptr, err));
  CHECK(err.find("rank + rope") != std::string::npos);
}

TEST_CASE("low-rank seq (Linformer)", "[reference]") {
  Ref r = make("attention a { dtype f32; heads 1; head_dim 1; scale 1.0\n compress { low_rank seq rank 1 } }");
  HostTensor q = tensor({1, 1, 1, 1}, {1}), k = tensor({1, 1, 2, 1}, {1, 2}), v = tensor({1, 1, 2, 1}, {3, 4});
  HostTensor e = tensor({1, 2}, {1, 1}), f = tensor({1, 2}, {0.5, 0.5});
  // One projected key/value: out = F.V = 3.5 whatever the score.
  CHECK(run(r, {&q, &k, &v, &e, &f}).data[0] == Approx(3.5));
}

TEST_CASE("bad arguments are errors and not crashes", "[reference]") {
  Ref r = make("attention a { dtype f32; heads 2; head_dim 4 }");
  HostTensor q({1, 2, 3, 4}), k({1, 2, 5, 4}), v({1, 2, 5, 4}), out;
  std::string err;
  HostTensor badK({1, 2, 5, 3});
  CHECK_FALSE(r.k->run({&q, &badK, &v}, out, nullptr, err));
  CHECK(err == "`k` dimension 3 (head_dim) must be 4, got 3");
  HostTensor badV({1, 2, 6, 4});
  CHECK_FALSE(r.k->run({&q, &k, &badV}, out, nullptr, err));
  CHECK(err == "`v` dimension 2 (seq_kv) must be 5, got 6");
  CHECK_FALSE(r.k->run({&q, &k}, out, nullptr, err));
  CHECK_FALSE(r.k->run({&q, nullptr, &v}, out, nullptr, err));
  CHECK(err == "`k` is null");
  HostTensor flatQ({12});
  CHECK_FALSE(r.k->run({&flatQ, &k, &v}, out, nullptr, err));
  CHECK(err == "`q` must have 4 dimensions, got 1");
}

TEST_CASE("a NaN score makes its row NaN and -inf scores weigh nothing", "[reference][nonfinite]") {
  Ref r = make("attention a { dtype f32; heads 1; head_dim 1; scale 1.0; mask causal; output lse; "
               "input bias : f32[seq_kv]; score_mod score + bias[kv_idx] }");
  // seq_q 3 = seq_kv 3, causal: row 0 sees kv 0, row 1 kv 0..1, row 2 kv 0..2.
  // k[2] = NaN: row 2's score on kv 2 is NaN; bias makes kv 1 -inf for every row.
  HostTensor q = tensor({1, 1, 3, 1}, {1, 1, 1}), k = tensor({1, 1, 3, 1}, {0, 5, NAN}),
             v = tensor({1, 1, 3, 1}, {4, 8, 16}), bias = tensor({3}, {0, -kInf, 0});
  HostTensor lse;
  HostTensor out = run(r, {&q, &k, &v, &bias}, &lse);
  CHECK(out.data[0] == Approx(4));
  CHECK(lse.data[0] == Approx(0).margin(1e-15));
  CHECK(out.data[1] == Approx(4));  // kv 1 scores -inf: only kv 0 counts
  CHECK(lse.data[1] == Approx(0).margin(1e-15));
  CHECK(std::isnan(out.data[2]));
  CHECK(std::isnan(lse.data[2]));
  // Every score -inf: as if fully masked.
  HostTensor k0 = tensor({1, 1, 3, 1}, {0, 0, 0}), allInf = tensor({3}, {-kInf, -kInf, -kInf}), lse2;
  HostTensor out2 = run(r, {&q, &k0, &v, &allInf}, &lse2);
  for (int i = 0; i < 3; ++i) {
    CHECK(out2.data[i] == 0);
    CHECK(lse2.data[i] == -kInf);
  }
}
