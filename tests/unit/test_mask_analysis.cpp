// Mask analysis: the tile classification is checked against brute force (the
// reference interpreter evaluating the mask on every pair), on odd tile sizes
// and seq_q != seq_kv both ways, and against hand-counted tables.
#include "TestUtil.h"

using namespace attnc;

namespace {

/// Every (q, kv) pair's mask value, read through the reference: with q = k = 0
/// the kept pairs of a row weigh equally, so with v = 1 on column j only,
/// out[q] > 0 exactly when (q, j) is kept.
struct Probe {
  test::Compiled c;
  std::unique_ptr<ReferenceKernel> ref;
  std::vector<HostTensor> extra;  // the spec's inputs

  std::vector<char> pairs(int64_t sq, int64_t skv) {
    const KernelDesc &d = ref->desc();
    std::vector<char> keep(sq * skv, 0);
    HostTensor q({1, d.heads, sq, d.headDim}, 0.0), k({1, d.kvHeads, skv, d.headDim}, 0.0);
    for (int64_t j = 0; j < skv; ++j) {
      HostTensor v({1, d.kvHeads, skv, d.valueDim}, 0.0);
      for (int64_t h = 0; h < d.kvHeads; ++h) v.at({0, h, j, 0}) = 1;
      std::vector<const HostTensor *> args = {&q, &k, &v};
      for (auto &e : extra) args.push_back(&e);
      HostTensor out;
      std::string err;
      REQUIRE(ref->run(args, out, nullptr, err));
      for (int64_t i = 0; i < sq; ++i) keep[i * skv + j] = out.at({0, 0, i, 0}) > 0;
    }
    return keep;
  }
};

/// The analysis is tile-independent: tiles are classified at check time.
Probe probe(const std::string &maskItems) {
  Probe p;
  p.c = test::compileText("attention m {\n dtype f32\n heads 1\n head_dim 1\n" + maskItems + "\n}\n");
  p.ref = ReferenceKernel::create(test::planOf(p.c, "m"));
  return p;
}

/// Checks every tile's class against the pairs it holds.
void checkTiles(Probe &p, int64_t sq, int64_t skv, int64_t tq, int64_t tk, bool expectExact, bool tight) {
  MaskInfo info = test::planOf(p.c, "m").mask;
  CHECK(info.exact == expectExact);
  std::vector<char> keep = p.pairs(sq, skv);
  std::vector<TileClass> tiles = info.classifyTiles(sq, skv, tq, tk);
  int64_t nk = (skv + tk - 1) / tk;
  for (size_t t = 0; t < tiles.size(); ++t) {
    int64_t i = t / nk, j = t % nk;
    size_t kept = 0, total = 0;
    for (int64_t q = i * tq; q < std::min(sq, (i + 1) * tq); ++q)
      for (int64_t kv = j * tk; kv < std::min(skv, (j + 1) * tk); ++kv) {
        kept += keep[q * skv + kv];
        ++total;
      }
    INFO("tile (" << i << ", " << j << ") of " << sq << "x" << skv << " tiles " << tq << "x" << tk);
    if (tiles[t] == TileClass::Empty) CHECK(kept == 0);
    if (tiles[t] == TileClass::Full) CHECK(kept == total);
    // Single-interval masks are classified tightly: partial tiles really are
    // partial. (A tile covered only by a union of intervals may be called partial.)
    if (tight && tiles[t] == TileClass::Partial) CHECK((kept > 0 && kept < total));
  }
}

}  // namespace

TEST_CASE("mask analysis matches brute force", "[mask]") {
  struct Case {
    const char *mask;
    bool exact, tight;
  };
  const Case cases[] = {
      {"mask causal", true, true},
      {"mask window(5)", true, true},
      {"mask window(3, 2)", true, true},
      {"mask sinks(3) || window(4)", true, false},
      {"mask causal || prefix(6)", true, false},
      {"mask !causal", true, true},
      {"mask kv_idx != q_idx", true, true},
      {"mask q_idx - kv_idx >= 2 && kv_idx * 1 + 1 > 3", true, true},
      {"mask causal && kv_idx % 2 == 0", false, false},
      {"mask select(q_idx > 3, causal, kv_idx < 2)", false, false},
      // i32 wrap-around (the language's integers wrap): a side that can leave
      // i32 for some index is classified at run time; sides that stay in i32
      // keep the exact analysis however large their constants.
      {"mask kv_idx - 2147483647 - 1 < 0", false, false},  // folds to kv_idx - (-2^31): can leave i32
      {"mask kv_idx + 2147483647 >= 0", false, false},
      {"mask q_idx + 2147483647 + 1 > 0", false, false},
      {"mask q_idx * 65536 * 65536 == 0", true, true},  // 65536 * 65536 folds to 0 (i32): every pair
      {"mask kv_idx - 2147483647 < q_idx - 2147483647", true, true},  // both sides stay in i32
      {"mask kv_idx - 2147483647 <= q_idx + seq_kv - seq_q - 2147483647", false, false},  // wraps for some shapes
      {"mask kv_idx - 1000000000 <= q_idx + seq_kv - seq_q - 1000000000", true, true},  // causal, in i32 for every shape
      // Language 1.1: top-left builtins stay exact; bit operators, floor
      // division and popcount are opaque (run-time classification);
      // reductions and lets are what they unroll and inline to.
      {"mask causal(top_left)", true, true},
      {"mask window(3, 2, top_left)", true, true},
      {"mask window(4, top_left) || sinks(2)", true, false},
      {"mask ((q_idx ^ kv_idx) & 3) == 0 && causal", false, false},
      {"mask (kv_idx >> 2) <= (q_idx >> 2)", false, false},
      {"mask floor_div(kv_idx, 4) <= floor_div(q_idx, 4)", false, false},
      {"mask popcount(q_idx & kv_idx) == 0", false, false},
      {"mask ceil_div(kv_idx, 4) <= ceil_div(q_idx, 4) && ceil_div(q_idx - kv_idx, -3) < 2", false, false},
      {"mask any(i in 0..3: kv_idx == q_idx - i * 2)", true, false},
      {"mask all(i in 1..3: (kv_idx * i) % 5 != 1) || causal(top_left)", false, false},
      {"let near(x, y) = abs(x - y) <= 2\n mask near(q_idx, kv_idx)", false, false},
  };
  const int64_t shapes[][4] = {{17, 17, 4, 4}, {13, 29, 5, 3}, {29, 13, 3, 7}, {1, 40, 1, 6}, {40, 1, 7, 1}, {23, 23, 23, 23}};
  for (const Case &c : cases)
    for (auto &s : shapes) {
      SECTION(std::string(c.mask) + " " + std::to_string(s[0]) + "x" + std::to_string(s[1]) + " tiles " +
              std::to_string(s[2]) + "x" + std::to_string(s[3])) {
        Probe p = probe(c.mask);
        checkTiles(p, s[0], s[1], s[2], s[3], c.exact, c.tight);
      }
    }
}

TEST_CASE("a mask on inputs needs run-time classification", "[mask]") {
  Probe p = probe(" input doc : i32[seq_kv]\n mask causal && doc[q_idx] == doc[kv_idx]");
  MaskInfo info = test::planOf(p.c, "m").mask;
  CHECK(info.kind() == "runtime");
  CHECK(info.readsInputs);
  // Tiles above the diagonal are still statically empty; the rest are run-time.
  auto tiles = info.classifyTiles(8, 8, 4, 4);
  CHECK(tiles == std::vector<TileClass>{TileClass::Runtime, TileClass::Empty, TileClass::Runtime, TileClass::Runtime});
  HostTensor doc({9}, 0.0);
  for (int i = 0; i < 9; ++i) doc.data[i] = i < 4 ? 0 : 1;
  p.extra.push_back(doc);
  checkTiles(p, 9, 9, 4, 4, false, false);
}

TEST_CASE("causal tile counts", "[mask]") {
  Probe p = probe("mask causal");
  MaskInfo info = test::planOf(p.c, "m").mask;
  auto t = info.classifyTiles(256, 256, 64, 64);
  size_t n[4] = {0, 0, 0, 0};
  for (auto c : t) ++n[static_cast<int>(c)];
  CHECK(n[static_cast<int>(TileClass::Empty)] == 6);
  CHECK(n[static_cast<int>(TileClass::Partial)] == 4);
  CHECK(n[static_cast<int>(TileClass::Full)] == 6);
  // Decode: the one row (q' = 999) sees every key, so every tile is full,
  // the short last one too (tails are the backend's business, not the mask's).
  auto d = info.classifyTiles(1, 1000, 64, 64);
  CHECK(std::count(d.begin(), d.end(), TileClass::Full) == 16);
  // Two rows against 1000 keys: the last tile holds the diagonal.
  auto d2 = info.classifyTiles(2, 1000, 64, 64);
  CHECK(d2.back() == TileClass::Partial);
  auto f = info.tileFormulas(64, 64);
  REQUIRE(f.size() == 2);
  CHECK(f[0] == "non-empty kv tiles of q-tile t: [0, floor(((64*t + 63) + seq_kv - seq_q) / 64)]");
}

TEST_CASE("no mask means every tile is full", "[mask]") {
  Probe p = probe("");
  MaskInfo info = test::planOf(p.c, "m").mask;
  CHECK(info.kind() == "none");
  for (auto c : info.classifyTiles(33, 47, 16, 16)) CHECK(c == TileClass::Full);
}
