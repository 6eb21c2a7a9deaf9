// Generated x86 kernels (attnc -target x86, built by attnc_add_kernel) called
// through their C ABI: results against the reference, every status code with
// its message, strided views, several kernels in one program, and one kernel
// called from several threads at once.
#include <catch2/catch.hpp>

#include <limits>
#include <thread>
#include <tuple>
#include <utility>

#include "../unit/TestUtil.h"
#include "lowering/reference/KernelArgs.h"

#include "alibi.h"
#include "bahdanau.h"
#include "block_sparse.h"
#include "linformer.h"
#include "llama3_8b.h"
#include "mla_latent.h"
#include "moba.h"
#include "mqa_decode.h"
#include "packed_docs.h"
#include "pruned_heads.h"
#include "sigmoid_attn.h"
#include "sliding_sinks.h"
#include "t5_bias.h"
#include "topk_sparse.h"
#include "tuned_kernel.h"

namespace attnc::test {
namespace {

/// Calls a generated kernel with the tensors of `a` (signature order).
template <typename... P, size_t... I>
int callImpl(int (*fn)(P...), KernelArgs &a, std::index_sequence<I...>) {
  return fn(&a.tensors[I]...);
}
template <typename... P>
int call(int (*fn)(P...), KernelArgs &a) {
  REQUIRE(a.tensors.size() == sizeof...(P));
  return callImpl(fn, a, std::index_sequence_for<P...>{});
}

struct Spec {
  Compiled c;
  std::unique_ptr<ReferenceKernel> ref;
  KernelDesc desc;
};

Spec load(const std::string &example) {
  Spec s{compileText(readFile(sourcePath("examples/" + example + ".attn"))), nullptr, {}};
  s.ref = ReferenceKernel::create(planOf(s.c, example));
  s.desc = s.ref->desc();
  return s;
}

/// "" when the kernel's results on fresh arguments match the reference.
template <typename F>
std::string checkAgainstReference(F fn, const Spec &s, int64_t batch, int64_t seqQ, int64_t seqKv, uint32_t seed) {
  KernelArgs a = makeArgs(s.desc, batch, seqQ, seqKv, seed);
  scaleProjections(a);  // (Linformer's; a no-op elsewhere)
  int rc = call(fn, a);
  if (rc != ATTNC_OK) return "status " + std::to_string(rc);
  HostTensor out, lse, smax;
  std::string err;
  if (!s.ref->run(a.inputs(), out, s.desc.outputLse ? &lse : nullptr, err, 0, &smax)) return err;
  double vmax = 0;
  for (double x : a.host[2].data) vmax = std::max(vmax, std::fabs(x));
  double worstRow = 0;
  for (double x : smax.data) worstRow = std::max(worstRow, x);
  auto extra = [&](size_t) { return scoreRoundingBound(worstRow, vmax); };
  std::string bad = compareTensors(a.output(0), out, toleranceFor(s.desc.dtype), "out", extra);
  if (bad.empty() && s.desc.outputLse)
    bad = compareTensors(a.output(1), lse, toleranceFor(dsl::DType::F32), "lse",
                         [&](size_t) { return scoreRoundingBound(worstRow, 1.0); });
  return bad;
}

}  // namespace

TEST_CASE("aot kernels match the reference", "[aot]") {
  struct Shape {
    int64_t b, q, kv;
  };
  const std::vector<Shape> shapes = {{1, 1, 1}, {2, 7, 65}, {1, 65, 7}, {1, 1, 300}, {3, 17, 40}, {1, 100, 100}};
  auto each = [&](auto fn, const char *name) {
    Spec s = load(name);
    uint32_t seed = 1;
    for (const Shape &sh : shapes) {
      INFO(name << " B=" << sh.b << " Sq=" << sh.q << " Skv=" << sh.kv);
      CHECK(checkAgainstReference(fn, s, sh.b, sh.q, sh.kv, seed++) == "");
    }
  };
  each(llama3_8b, "llama3_8b");
  each(alibi, "alibi");
  each(bahdanau, "bahdanau");
  each(block_sparse, "block_sparse");  // a random block mask (a quarter of the blocks dropped) and causal
  each(mqa_decode, "mqa_decode");
  each(packed_docs, "packed_docs");
  each(moba, "moba");  // an input of ceil_div(seq_q, 64) rows
  each(pruned_heads, "pruned_heads");  // prefill and decode: pruned heads 0, lse -inf
  each(sigmoid_attn, "sigmoid_attn");
  each(sliding_sinks, "sliding_sinks");
  each(t5_bias, "t5_bias");
  each(topk_sparse, "topk_sparse");
  each(linformer, "linformer");  // E.K and F.V, then attention over 256 keys
  each(mla_latent, "mla_latent");  // absorbed low rank: q through k_up, the latent as keys and values, v_up  // the top-T plan, then the block-sparse kernel
}

TEST_CASE("aot: an input sized by an expression of the lengths is checked against its value", "[aot]") {
  Spec s = load("moba");  // picked : i32[batch, heads, ceil_div(seq_q, block), top], block 64, top 3
  auto run = [&](int64_t sq, int64_t skv, int64_t rows, std::vector<std::string> words) {
    KernelArgs a = makeArgs(s.desc, 1, sq, skv, 3);
    a.tensors[3].shape[2] = rows;  // (fewer rows than allocated: the memory stays valid)
    std::vector<unsigned char> before = a.mem.back();
    int rc = call(moba, a);
    std::string msg = moba_last_error();
    INFO("message: " << msg);
    for (const std::string &w : words) CHECK(msg.find(w) != std::string::npos);
    if (rc != ATTNC_OK) CHECK(a.mem.back() == before);  // out untouched
    return rc;
  };
  CHECK(run(129, 129, 3, {}) == ATTNC_OK);  // ceil(129 / 64) = 3
  CHECK(run(129, 129, 2, {"`picked`", "dimension 2", "ceil_div(seq_q, 64)", "must be 3", "seq_q 129", "got 2"}) ==
        ATTNC_E_SHAPE);
  CHECK(run(128, 200, 2, {}) == ATTNC_OK);
  CHECK(run(64, 64, 0, {"must be 1", "got 0"}) == ATTNC_E_SHAPE);
  // An empty call (no rows): the table has ceil_div(0, 64) = 0 rows.
  KernelArgs e = makeArgs(s.desc, 1, 1, 64, 3);
  e.tensors[0].shape[2] = 0, e.tensors[3].shape[2] = 0, e.tensors.back().shape[2] = 0;
  CHECK(call(moba, e) == ATTNC_OK);
  e.tensors[3].shape[2] = 1;
  CHECK(call(moba, e) == ATTNC_E_SHAPE);
}

TEST_CASE("aot bad arguments: every status with a message naming the tensor", "[aot]") {
  Spec s = load("llama3_8b");  // bf16, bshd, heads 32, kv_heads 8, head_dim 128
  auto expectFail = [&](KernelArgs &a, int status, std::vector<std::string> words) {
    std::vector<unsigned char> before = a.mem.back();
    int rc = call(llama3_8b, a);
    std::string msg = llama3_8b_last_error();
    INFO("message: " << msg);
    CHECK(rc == status);
    for (const std::string &w : words) CHECK(msg.find(w) != std::string::npos);
    CHECK(a.mem.back() == before);  // out untouched
  };
  {
    KernelArgs a = makeArgs(s.desc, 1, 4, 4, 7);
    a.tensors[0].data = nullptr;
    expectFail(a, ATTNC_E_ARGUMENT, {"`q`", "null"});
  }
  {
    KernelArgs a = makeArgs(s.desc, 1, 4, 4, 7);
    std::vector<const attnc_tensor *> p;
    CHECK(llama3_8b(&a.tensors[0], nullptr, &a.tensors[2], &a.tensors[3]) == ATTNC_E_ARGUMENT);
    CHECK(std::string(llama3_8b_last_error()).find("`k` is null") != std::string::npos);
  }
  {
    KernelArgs a = makeArgs(s.desc, 1, 4, 4, 7);
    a.tensors[2].dtype = ATTNC_F32;
    expectFail(a, ATTNC_E_DTYPE, {"`v`", "bf16", "f32"});
  }
  {
    KernelArgs a = makeArgs(s.desc, 1, 4, 4, 7);
    a.tensors[1].ndim = 3;
    expectFail(a, ATTNC_E_SHAPE, {"`k`", "4 dimensions", "got 3"});
  }
  {
    KernelArgs a = makeArgs(s.desc, 1, 4, 4, 7);
    a.tensors[1].shape[3] = 64;  // head_dim
    expectFail(a, ATTNC_E_SHAPE, {"`k`", "dimension 3", "head_dim", "128", "64"});
  }
  {
    KernelArgs a = makeArgs(s.desc, 2, 4, 4, 7);
    a.tensors[2].shape[0] = 1;  // batch differs from q's
    expectFail(a, ATTNC_E_SHAPE, {"`v`", "dimension 0", "batch", "as in `q`"});
  }
  {
    KernelArgs a = makeArgs(s.desc, 1, 4, 6, 7);
    a.tensors[2].shape[1] = 5;  // seq_kv differs from k's
    expectFail(a, ATTNC_E_SHAPE, {"`v`", "dimension 1", "seq_kv", "as in `k`"});
  }
  {
    KernelArgs a = makeArgs(s.desc, 1, 4, 4, 7);
    a.tensors[3].shape[2] = 31;  // heads of out
    expectFail(a, ATTNC_E_SHAPE, {"`out`", "dimension 2", "heads", "32"});
  }
  {
    KernelArgs a = makeArgs(s.desc, 1, 4, 4, 7);
    a.tensors[0].stride[3] = 2;
    expectFail(a, ATTNC_E_LAYOUT, {"`q`", "stride 1", "last dimension"});
  }
  {
    KernelArgs a = makeArgs(s.desc, 1, 4, 4, 7);
    a.tensors[0].shape[1] = 0;
    expectFail(a, ATTNC_E_SHAPE, {"`q`", "dimension 1"});
  }
  {
    KernelArgs a = makeArgs(s.desc, 1, 4, 4, 7);
    a.tensors[1].stride[0] = -1;
    expectFail(a, ATTNC_E_LAYOUT, {"`k`", "stride"});
  }
  // A good call clears the message.
  KernelArgs a = makeArgs(s.desc, 1, 4, 4, 7);
  CHECK(call(llama3_8b, a) == ATTNC_OK);
  CHECK(std::string(llama3_8b_last_error()).empty());
}

TEST_CASE("aot strided views: q inside a larger buffer", "[aot]") {
  Spec s = load("alibi");  // f16, bhsd, heads 32, head_dim 128
  KernelArgs a = makeArgs(s.desc, 2, 9, 20, 11);
  // Copy q into a buffer with padded rows and heads: strides change, values do not.
  const attnc_tensor q = a.tensors[0];
  std::vector<uint16_t> big(size_t(q.shape[0]) * q.shape[1] * (q.shape[2] + 3) * (q.shape[3] + 8), 0x7e00);
  attnc_tensor v = q;
  v.stride[3] = 1;
  v.stride[2] = q.shape[3] + 8;
  v.stride[1] = v.stride[2] * (q.shape[2] + 3);
  v.stride[0] = v.stride[1] * q.shape[1];
  for (int64_t b = 0; b < q.shape[0]; ++b)
    for (int64_t h = 0; h < q.shape[1]; ++h)
      for (int64_t i = 0; i < q.shape[2]; ++i)
        for (int64_t x = 0; x < q.shape[3]; ++x)
          big[b * v.stride[0] + h * v.stride[1] + i * v.stride[2] + x] =
              static_cast<const uint16_t *>(q.data)[((b * q.shape[1] + h) * q.shape[2] + i) * q.shape[3] + x];
  v.data = big.data();
  a.tensors[0] = v;
  REQUIRE(call(alibi, a) == ATTNC_OK);
  HostTensor out;
  std::string err;
  REQUIRE(s.ref->run(a.inputs(), out, nullptr, err));
  HostTensor got = a.output(0);
  CHECK(compareTensors(got, out, toleranceFor(s.desc.dtype), "out", [](size_t) { return 1e-3; }) == "");
}

TEST_CASE("aot one kernel called from several threads at once", "[aot]") {
  Spec s = load("llama3_8b");
  std::vector<std::string> results(6);
  std::vector<std::thread> pool;
  for (size_t t = 0; t < results.size(); ++t)
    pool.emplace_back([&, t] {
      for (int rep = 0; rep < 3; ++rep) {
        KernelArgs a = makeArgs(s.desc, 1 + int64_t(t % 2), 5 + int64_t(t), 33 + 7 * int64_t(t), uint32_t(100 * t + rep));
        if (call(llama3_8b, a) != ATTNC_OK) {
          results[t] = llama3_8b_last_error();
          return;
        }
        HostTensor out, smax;
        std::string err;
        if (!s.ref->run(a.inputs(), out, nullptr, err, 1, &smax)) {
          results[t] = err;
          return;
        }
        std::string bad = compareTensors(a.output(0), out, toleranceFor(s.desc.dtype), "out");
        if (!bad.empty()) {
          results[t] = bad;
          return;
        }
      }
    });
  for (auto &t : pool) t.join();
  for (const std::string &r : results) CHECK(r == "");
}

}  // namespace attnc::test

namespace attnc::test {

TEST_CASE("aot random malformed arguments never crash", "[aot]") {
  // Valid tensors, then one field of one tensor corrupted at random: the call
  // must return an error status (or OK when the change kept it valid) and
  // never read or write out of bounds (this test also runs under ASan).
  Spec s = load("packed_docs");  // bf16 q/k/v, an i32 input, bhsd
  std::mt19937 rng(2024);
  int errors = 0, oks = 0;
  for (int iter = 0; iter < 400; ++iter) {
    KernelArgs a = makeArgs(s.desc, 1 + iter % 2, 1 + iter % 9, 1 + iter % 13, uint32_t(iter));
    bool inBounds = corruptOne(a, rng);
    int rc = call(packed_docs, a);
    if (rc == ATTNC_OK) {
      ++oks;
      CHECK(inBounds);  // accepted arguments always describe memory we own
      CHECK(std::string(packed_docs_last_error()).empty());
    } else {
      ++errors;
      CHECK(rc >= ATTNC_E_ARGUMENT);
      CHECK(rc <= ATTNC_E_LAYOUT);
      CHECK(!std::string(packed_docs_last_error()).empty());
    }
  }
  CHECK(errors > 300);
  INFO("accepted " << oks);
}

}  // namespace attnc::test

namespace attnc::test {

TEST_CASE("aot a spec input given as a strided view", "[aot]") {
  Spec s = load("packed_docs");  // input doc : i32[seq_kv]
  KernelArgs a = makeArgs(s.desc, 2, 30, 30, 77);
  // doc (argument 3) with stride 3 inside a larger buffer.
  const attnc_tensor doc = a.tensors[3];
  std::vector<int32_t> big(size_t(doc.shape[0]) * 3, -7);
  for (int64_t i = 0; i < doc.shape[0]; ++i) big[i * 3] = static_cast<const int32_t *>(doc.data)[i];
  a.tensors[3].data = big.data();
  a.tensors[3].stride[0] = 3;
  REQUIRE(call(packed_docs, a) == ATTNC_OK);
  HostTensor out;
  std::string err;
  REQUIRE(s.ref->run(a.inputs(), out, nullptr, err));
  CHECK(compareTensors(a.output(0), out, toleranceFor(s.desc.dtype), "out") == "");
}

}  // namespace attnc::test

namespace attnc::test {

TEST_CASE("aot empty calls: batch or seq_q 0 is a no-op, seq_kv 0 masks every row", "[aot][empty]") {
  Spec s = load("sliding_sinks");  // f16, bhsd, output lse
  auto outBits = [](KernelArgs &a) { return a.mem[a.mem.size() - 2]; };
  for (auto [b, q, kv] : {std::tuple<int64_t, int64_t, int64_t>{0, 5, 9}, {2, 0, 9}, {0, 0, 0}}) {
    INFO("B=" << b << " Sq=" << q << " Skv=" << kv);
    KernelArgs a = makeArgs(s.desc, b, q, kv, 3);
    auto before = outBits(a);
    INFO(sliding_sinks_last_error());
    CHECK(call(sliding_sinks, a) == ATTNC_OK);
    CHECK(outBits(a) == before);
    // Empty tensors may have null data.
    for (attnc_tensor &t : a.tensors)
      if (t.shape[0] * t.shape[1] * t.shape[2] * (t.ndim == 4 ? t.shape[3] : 1) == 0) t.data = nullptr;
    CHECK(call(sliding_sinks, a) == ATTNC_OK);
  }
  {
    KernelArgs a = makeArgs(s.desc, 2, 3, 0, 3);
    a.tensors[1].data = a.tensors[2].data = nullptr;  // k and v are empty
    REQUIRE(call(sliding_sinks, a) == ATTNC_OK);
    HostTensor out = a.output(0), lse = a.output(1);
    REQUIRE(out.numel() == 2 * 32 * 3 * 64);
    for (double x : out.data) CHECK(x == 0);
    for (double x : lse.data) CHECK(x == -std::numeric_limits<double>::infinity());
  }
  {  // An empty q with a non-empty out is still a shape error.
    KernelArgs a = makeArgs(s.desc, 1, 4, 4, 3);
    a.tensors[0].shape[2] = 0;
    CHECK(call(sliding_sinks, a) == ATTNC_E_SHAPE);
    CHECK(std::string(sliding_sinks_last_error()).find("as in `q`") != std::string::npos);
  }
}

TEST_CASE("aot aliasing: outputs that overlap an argument or themselves are refused", "[aot][alias]") {
  Spec s = load("sliding_sinks");  // f16, bhsd [b, h, s, d], output lse
  auto expect = [&](KernelArgs &a, int status, const char *words) {
    int rc = call(sliding_sinks, a);
    std::string msg = sliding_sinks_last_error();
    INFO("message: " << msg);
    CHECK(rc == status);
    CHECK(msg.find(words) != std::string::npos);
  };
  {
    KernelArgs a = makeArgs(s.desc, 1, 8, 8, 5);
    a.tensors[1].data = a.tensors[3].data;  // k read from inside out (k is smaller: no write past anything)
    expect(a, ATTNC_E_ARGUMENT, "`out` overlaps `k`");
  }
  {
    KernelArgs a = makeArgs(s.desc, 1, 8, 8, 5);
    a.tensors[2].data = static_cast<char *>(a.tensors[3].data) + 2 * 96;  // v starting inside out
    expect(a, ATTNC_E_ARGUMENT, "`out` overlaps `v`");
  }
  {
    KernelArgs a = makeArgs(s.desc, 1, 8, 8, 5);
    a.tensors[4].data = a.tensors[3].data;  // lse over out
    expect(a, ATTNC_E_ARGUMENT, "overlaps");
  }
  {
    KernelArgs a = makeArgs(s.desc, 1, 8, 8, 5);
    a.tensors[3].stride[2] = 0;  // every row of out to one place
    expect(a, ATTNC_E_LAYOUT, "`out` dimension 2 has stride 0");
  }
  {
    KernelArgs a = makeArgs(s.desc, 1, 8, 8, 5);
    a.tensors[4].stride[1] = 4;  // lse heads 4 apart, 8 rows each: they overlap
    expect(a, ATTNC_E_LAYOUT, "`lse` dimension 1 has stride 4");
  }
  {  // Inputs may alias each other: k and v the same tensor.
    KernelArgs a = makeArgs(s.desc, 1, 8, 8, 5);
    a.tensors[2].data = a.tensors[1].data;
    CHECK(call(sliding_sinks, a) == ATTNC_OK);
  }
}

}  // namespace attnc::test

namespace attnc::test {

TEST_CASE("aot block sparsity: the block mask is checked, may be a strided view, and drops what it says", "[aot][sparse]") {
  Spec s = load("block_sparse");  // bf16, heads 8, head_dim 128, causal, sparse block 64 input (argument 3)
  auto run = [&](KernelArgs &a) {
    int rc = call(block_sparse, a);
    INFO(block_sparse_last_error());
    return rc;
  };
  {
    // One q block short, the kv blocks of another sequence length, the wrong
    // dtype, a null pointer: an error naming block_mask, out untouched.
    KernelArgs a = makeArgs(s.desc, 1, 130, 70, 5);
    std::vector<unsigned char> before = a.mem.back();
    a.tensors[3].shape[2] -= 1;
    CHECK(run(a) == ATTNC_E_SHAPE);
    CHECK(std::string(block_sparse_last_error()).find("block_mask") != std::string::npos);
    a.tensors[3].shape[2] += 1;
    a.tensors[3].shape[3] += 1;
    CHECK(run(a) == ATTNC_E_SHAPE);
    a.tensors[3].shape[3] -= 1;
    a.tensors[3].dtype = ATTNC_I32;
    CHECK(run(a) == ATTNC_E_DTYPE);
    a.tensors[3].dtype = ATTNC_U8;
    a.tensors[3].data = nullptr;
    CHECK(run(a) == ATTNC_E_ARGUMENT);
    CHECK(std::string(block_sparse_last_error()).find("`block_mask`") != std::string::npos);
    CHECK(a.mem.back() == before);
  }
  for (double density : {0.0, 0.4, 1.0}) {
    // block_mask as a view with padded rows (stride 2 along kv blocks): the
    // padding says "keep" (0xff) and must not be read.
    KernelArgs a = makeArgs(s.desc, 2, 150, 200, 9);
    fillBlockMask(a, density, 3, 0);
    const attnc_tensor m = a.tensors[3];
    std::vector<uint8_t> big(size_t(m.shape[0] * m.shape[1] * m.shape[2] * m.shape[3]) * 2, 0xff);
    for (int64_t e = 0; e < m.shape[0] * m.shape[1] * m.shape[2] * m.shape[3]; ++e)
      big[e * 2] = static_cast<const uint8_t *>(m.data)[e];
    a.tensors[3].data = big.data();
    for (int i = 0; i < 4; ++i) a.tensors[3].stride[i] = m.stride[i] * 2;
    REQUIRE(run(a) == ATTNC_OK);
    HostTensor out, lse;
    std::string err;
    REQUIRE(s.ref->run(a.inputs(), out, nullptr, err));
    INFO("density " << density);
    CHECK(compareTensors(a.output(0), out, toleranceFor(s.desc.dtype), "out") == "");
    // Query block 0 keeps no block: its rows are 0.
    for (int64_t h = 0; h < 8; ++h) CHECK(a.output(0).data[(h * 150 + 3) * 128] == 0.0);
  }
}

}  // namespace attnc::test

namespace attnc::test {
namespace {

/// Argument `i` of `a` copied into a buffer twice its size, every element at
/// twice its offset (the padding filled with `pad`): a strided view of the
/// same values.
template <typename T>
std::vector<T> strideTwice(KernelArgs &a, size_t i, T pad) {
  attnc_tensor &t = a.tensors[i];
  int64_t n = 1;
  for (int d = 0; d < t.ndim; ++d) n *= t.shape[d];
  std::vector<T> big(size_t(n) * 2, pad);
  for (int64_t e = 0; e < n; ++e) big[e * 2] = static_cast<const T *>(t.data)[e];
  t.data = big.data();
  for (int d = 0; d < t.ndim; ++d) t.stride[d] *= 2;
  return big;
}

}  // namespace

TEST_CASE("aot low-rank arguments: checked by name, and strided views", "[aot][lowrank]") {
  {
    Spec s = load("linformer");  // f32, e_proj and f_proj [256, seq_kv] are arguments 3 and 4
    KernelArgs a = makeArgs(s.desc, 1, 20, 40, 3);
    scaleProjections(a);
    std::vector<unsigned char> before = a.mem.back();
    a.tensors[3].shape[1] += 1;  // not seq_kv
    CHECK(call(linformer, a) == ATTNC_E_SHAPE);
    CHECK(std::string(linformer_last_error()).find("e_proj") != std::string::npos);
    a.tensors[3].shape[1] -= 1;
    a.tensors[4].shape[0] = 128;  // not the rank
    CHECK(call(linformer, a) == ATTNC_E_SHAPE);
    CHECK(std::string(linformer_last_error()).find("f_proj") != std::string::npos);
    a.tensors[4].shape[0] = 256;
    a.tensors[4].data = nullptr;
    CHECK(call(linformer, a) == ATTNC_E_ARGUMENT);
    CHECK(a.mem.back() == before);
    KernelArgs b = makeArgs(s.desc, 1, 20, 40, 3);
    scaleProjections(b);
    // Both projections as strided views whose padding is NaN (never read).
    auto e = strideTwice<float>(b, 3, NAN);
    auto f = strideTwice<float>(b, 4, NAN);
    REQUIRE(call(linformer, b) == ATTNC_OK);
    HostTensor out;
    std::string err;
    REQUIRE(s.ref->run(b.inputs(), out, nullptr, err));
    CHECK(compareTensors(b.output(0), out, toleranceFor(s.desc.dtype), "out") == "");
  }
  {
    Spec s = load("mla_latent");  // bf16, latent [batch, seq_kv, 512 + 64], k_up [1, 512, 128], v_up [1, 512, 128]
    KernelArgs a = makeArgs(s.desc, 1, 9, 30, 4);
    scaleProjections(a);
    std::vector<unsigned char> before = a.mem[a.mem.size() - 2];
    a.tensors[2].shape[1] = 256;  // k_up's rank
    CHECK(call(mla_latent, a) == ATTNC_E_SHAPE);
    CHECK(std::string(mla_latent_last_error()).find("k_up") != std::string::npos);
    a.tensors[2].shape[1] = 512;
    a.tensors[1].dtype = ATTNC_F32;  // latent
    CHECK(call(mla_latent, a) == ATTNC_E_DTYPE);
    CHECK(std::string(mla_latent_last_error()).find("latent") != std::string::npos);
    a.tensors[1].dtype = ATTNC_BF16;
    a.tensors[1].stride[2] = 2, a.tensors[1].stride[1] *= 2, a.tensors[1].stride[0] *= 2;  // (rows unit stride: the ABI)
    CHECK(call(mla_latent, a) == ATTNC_E_LAYOUT);
    CHECK(std::string(mla_latent_last_error()).find("latent") != std::string::npos);
    CHECK(a.mem[a.mem.size() - 2] == before);
    KernelArgs b = makeArgs(s.desc, 1, 9, 30, 4);
    scaleProjections(b);
    // latent (rows padded: its rows are unit stride, as k's and v's), k_up
    // and v_up as strided views whose padding is NaN (bf16 0x7fc0).
    auto l = padView<uint16_t>(b, 1, 0x7fc0, true);
    auto k = strideTwice<uint16_t>(b, 2, 0x7fc0);
    auto v = strideTwice<uint16_t>(b, 3, 0x7fc0);
    REQUIRE(call(mla_latent, b) == ATTNC_OK);
    HostTensor out, lse;
    std::string err;
    REQUIRE(s.ref->run(b.inputs(), out, &lse, err));
    CHECK(compareTensors(b.output(0), out, toleranceFor(s.desc.dtype), "out") == "");
  }
}

}  // namespace attnc::test

namespace attnc::test {

TEST_CASE("aot tuned variants: each bucket's schedule runs for its shapes, the others fall back", "[aot][tune]") {
  // tests/CMakeLists.txt tuned `tuned_kernel` for b1 q64 kv64 (prefill) and
  // b2 q1 kv128 (decode) into its own database; the header says which
  // schedules the library carries and where they came from.
  const std::string header = readFile(ATTNC_TUNED_HEADER);
  CHECK(header.find("tuned, for calls whose batch, seq_q and seq_kv round up to 1, 64, 64: prefill") != std::string::npos);
  CHECK(header.find("tuned, for calls whose batch, seq_q and seq_kv round up to 2, 1, 128: decode") != std::string::npos);
  CHECK(header.find("(tuning database ") != std::string::npos);
  Compiled c = compileText(readFile(sourcePath("tests/aot/tuned_kernel.attn")));
  auto ref = ReferenceKernel::create(planOf(c, "tuned_kernel"));
  const KernelDesc d = ref->desc();
  // In the tuned buckets (33..64 queries and keys; batch 2, one query, 65..128 keys), then outside them.
  for (auto [b, sq, skv] : {std::tuple<int64_t, int64_t, int64_t>{1, 64, 64}, {1, 40, 50}, {2, 1, 100}, {2, 1, 128},
                            {1, 100, 300}, {3, 1, 100}}) {
    KernelArgs a = makeArgs(d, b, sq, skv, uint32_t(sq * 7 + skv));
    HostTensor out, lse, smax;
    std::string err;
    REQUIRE(ref->run(a.inputs(), out, &lse, err, 0, &smax));
    INFO("B=" << b << " Sq=" << sq << " Skv=" << skv);
    REQUIRE(call(tuned_kernel, a) == ATTNC_OK);
    CHECK(compareWithReference(d, a, out, lse, smax, sq) == "");
  }
}

}  // namespace attnc::test
