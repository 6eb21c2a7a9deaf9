// Helpers shared by the unit tests: compile spec text through the pipeline.
#pragma once

#include <algorithm>
#include <bit>
#include <cmath>
#include <filesystem>
#include <functional>

#include <sys/mman.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>
#include <string>

#include "driver/Targets.h"
#include "dsl/Sema.h"
#include "lowering/transforms/Pipeline.h"
#include "lowering/reference/KernelArgs.h"
#include "lowering/reference/Reference.h"

namespace attnc::test {

inline std::string readFile(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline std::string sourcePath(const std::string &rel) { return std::string(ATTNC_SOURCE_DIR) + "/" + rel; }

/// A spec compiled through the whole pipeline, kept alive with its AST.
struct Compiled {
  std::unique_ptr<dsl::CheckedFile> file;
  std::unique_ptr<Compilation> comp;
};

/// The plan of kernel `name` (the test fails when there is none).
inline KernelPlan planOf(const Compiled &c, const std::string &name) {
  KernelPlan p;
  std::string err;
  INFO(err);
  REQUIRE(c.comp->plan(name, p, err));
  return p;
}

inline Compiled compileText(const std::string &text, PipelineOptions opts = {}) {
  Compiled c;
  c.file = dsl::checkSource("test.attn", text);
  INFO(c.file->diags->render());
  REQUIRE(c.file->ok());
  std::string err;
  c.comp = Compilation::fromChecked(*c.file, err);
  INFO(err);
  REQUIRE(c.comp);
  REQUIRE(c.comp->run(opts, nullptr, err));
  return c;
}

/// Whether target `target` takes every kernel of the spec file at `path`
/// (the driver's target table decides, as for `attnc -target`).
inline bool supportedBy(const std::string &target, const std::string &path) {
  Compiled c = compileText(readFile(path));
  const driver::Target *t = driver::findTarget(target);
  REQUIRE(t);
  for (const std::string &name : c.comp->kernelNames())
    if (!t->unsupported(planOf(c, name)).empty()) return false;
  return true;
}

/// Corrupts one field of one tensor of `a` at random: the dtype, the rank, an
/// extent (a little, or to 2^20..2^59), a stride (only ever smaller: a larger
/// one could describe memory past a caller's buffer, which no check can see)
/// or the data pointer (null). Returns whether the corrupted tensor still
/// lies inside its allocation, which any call that accepts it must rely on
/// (shapes that grow never match the other tensors, so they are refused).
inline bool corruptOne(KernelArgs &a, std::mt19937 &rng) {
  attnc_tensor &t = a.tensors[rng() % a.tensors.size()];
  switch (rng() % 6) {
  case 0: t.dtype = int32_t(rng() % 7) - 1; break;
  case 1: t.ndim = int32_t(rng() % 7) - 1; break;
  case 2: t.shape[rng() % 4] += int64_t(rng() % 5) - 2; break;
  case 3: {
    int64_t &st = t.stride[rng() % 4];  // the dimension drawn first, then the amount
    st -= int64_t(rng() % 3) + 1;
    break;
  }
  case 4: t.shape[rng() % 4] = int64_t(1) << (20 + rng() % 40); break;
  case 5: t.data = nullptr; break;
  }
  __int128 need = 1;  // wide: corrupted extents reach 2^59
  bool fits = t.ndim >= 1 && t.ndim <= 4;
  if (fits) {
    __int128 last = 0;
    for (int i = 0; i < t.ndim; ++i) {
      if (t.shape[i] < 1 || t.stride[i] < 0) fits = false;
      else last += __int128(t.shape[i] - 1) * t.stride[i];
    }
    need = last + 1;
  }
  size_t idx = static_cast<size_t>(&t - a.tensors.data());
  return fits && need * __int128(dsl::dtypeBytes(a.sig[idx].dtype)) <= __int128(a.mem[idx].size());
}


/// Masks whose i32 arithmetic wraps for in-range indices (the language's
/// integers wrap): backends must agree with the reference, and the mask
/// analysis must not classify them as if integers were unbounded.
inline std::vector<std::string> wrapAroundSpecs() {
  std::vector<std::string> out;
  for (const char *m : {"kv_idx - 2147483647 - 1 < 0", "kv_idx + 2147483647 >= 0", "q_idx + 2147483647 + 1 > 0",
                        "kv_idx - 2147483647 < q_idx - 2147483647", "q_idx * 65536 * 65536 == 0 && causal"})
    out.push_back(std::string("attention wrap {\n  dtype f32\n  heads 2\n  head_dim 16\n  output lse\n  mask ") + m +
                  "\n}\n");
  return out;
}

/// Integer bit operators and hex literals in masks and score_mods (each
/// kernel named `bits`): shifts by amounts inside and outside 0..31
/// (negative, 32 and above: defined, docs/language.md "Integers"), C's
/// precedence, expressions continued over lines.
inline std::vector<std::string> bitOpSpecs() {
  auto spec = [](const std::string &body) {
    return "attention bits {\n  dtype f32\n  heads 2\n  head_dim 16\n  output lse\n" + body + "}\n";
  };
  return {
      // A dilated, Morton-flavoured mask: low bits of q and kv agree, then a bounded window.
      spec("  mask ((q_idx ^ kv_idx) & 0x3) == 0 &&\n       (kv_idx >> 1) <= (q_idx >> 1) + 0x10\n"),
      // Shifts by data-dependent amounts, some outside 0..31 (kv_idx - 20 is negative, q_idx % 45 reaches 44).
      spec("  mask ((1 << (q_idx % 45)) | (kv_idx >> (kv_idx - 20))) != 0 || (~q_idx & kv_idx) == 0\n"),
      spec("  score_mod score + ((q_idx << (kv_idx % 40)) >> (kv_idx % 37) & 0xF) * 0.25 - (~kv_idx ^ 0x5A) % 7 * 0.5\n"),
  };
}

/// The ported FlexAttention mods (examples/flex/*.attn, docs/porting.md),
/// sorted; ATTNC_FLEX_ONLY=NAME keeps one.
inline std::vector<std::string> flexExamples() {
  std::vector<std::string> out;
  for (const auto &e : std::filesystem::directory_iterator(sourcePath("examples/flex"))) {
    if (e.path().extension() != ".attn") continue;
    if (const char *only = std::getenv("ATTNC_FLEX_ONLY"); only && e.path().stem().string() != only) continue;
    out.push_back(e.path().stem().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

/// Bounded reductions in masks (an input's top-k membership, VSA-style) and
/// score mods, for the backends' matrices.
inline std::vector<std::string> reductionSpecs() {
  auto spec = [](const std::string &body) {
    return "attention red {\n  dtype f32\n  heads 2\n  head_dim 16\n  output lse\n" + body + "}\n";
  };
  return {
      spec("  input topk : i32[batch, heads, 8, 4]\n"
           "  mask any(j in 0..4: topk[b, h, q_idx / 16, j] == kv_idx / 16) || kv_idx == 0\n"),
      spec("  mask all(i in 1..4: (q_idx + kv_idx * i) % 7 != 0)\n"
           "  score_mod score + sum(i in 0..4: sin(q_idx * 0.1 + i)) * 0.1 - min(i in 0..3: abs(kv_idx - i * 9)) * 0.01\n"),
  };
}

/// Inputs sized by expressions of the lengths (language 1.1): block tables
/// of ceil(seq / 16) rows, a top-k list per query block, biases sized from
/// min/max/batch; integer inputs are in [0, 4) (makeArgs).
inline std::vector<std::string> sizeExprSpecs() {
  auto spec = [](const std::string &body) {
    return "attention sized {\n  dtype f32\n  heads 2\n  head_dim 16\n  output lse\n  param B = 16\n" + body + "}\n";
  };
  return {
      spec("  input qdoc : i32[batch, ceil_div(seq_q, B)]\n"
           "  input kvdoc : i32[batch, (seq_kv + B - 1) / B]\n"
           "  mask qdoc[b, q_idx / B] == kvdoc[b, kv_idx / B] || kv_idx == 0\n"),
      spec("  input topk : i32[batch, heads, ceil_div(seq_q, B), 4]\n"
           "  mask any(j in 0..4: topk[b, h, q_idx / B, j] == kv_idx / B) || causal\n"),
      spec("  input bias : f32[min(seq_q, 64), 2 * seq_kv - seq_kv + 1]\n"
           "  input per_batch : f32[batch * 2, max(seq_kv / 32, 1)]\n"
           "  score_mod score + bias[min(q_idx, 63), kv_idx + 1] - per_batch[b * 2 + 1, kv_idx / 32] * 0.5\n"),
  };
}

/// Top-left mask builtins (FlexAttention's alignment) and `bottom_right`
/// spelled out, alone and combined, for the backends' matrices.
inline std::vector<std::string> topLeftSpecs() {
  auto spec = [](const std::string &body) {
    return "attention tl {\n  dtype f32\n  heads 2\n  head_dim 16\n  output lse\n" + body + "}\n";
  };
  return {
      spec("  mask causal(top_left)\n"),
      spec("  mask window(9, top_left)\n"),
      spec("  mask window(5, 3, top_left) || sinks(2)\n"),
      spec("  mask causal(top_left) && window(40, bottom_right)\n"),
  };
}

/// The language 1.1 functions, one per spec: `mask kv_idx == 0` keeps one
/// key per row and `output lse` then returns the score_mod's value itself
/// (m + log 1), so each row's lse is the function at that row's argument,
/// compared with C++'s f64 value. Arguments are exact in f32 (quarters of
/// q_idx - 40, heads 0 and 1), so only the function's own error shows.
struct FunctionCase {
  std::string fn, expr;
  std::function<double(int32_t q, int32_t h)> want;
};
inline std::vector<FunctionCase> functionCases() {
  auto x = [](int32_t q, int32_t h) { return (q - 40) * 0.25 + h * 0.125; };
  const std::string X = "((q_idx - 40) * 0.25 + h * 0.125)";
  return {
      {"sin", "sin(" + X + ")", [=](int32_t q, int32_t h) { return std::sin(x(q, h)); }},
      {"cos", "cos(" + X + ")", [=](int32_t q, int32_t h) { return std::cos(x(q, h)); }},
      {"erf", "erf(" + X + " * 0.5)", [=](int32_t q, int32_t h) { return std::erf(x(q, h) * 0.5); }},
      {"gelu", "gelu(" + X + ")", [=](int32_t q, int32_t h) { return dsl::gelu(x(q, h)); }},
      {"gelu_tanh", "gelu_tanh(" + X + ")", [=](int32_t q, int32_t h) { return dsl::geluTanh(x(q, h)); }},
      {"pow", "pow(1.5 + q_idx * 0.125, (h - 0.5) * 1.5) + pow(" + X + ", 3)",
       [=](int32_t q, int32_t h) { return std::pow(1.5 + q * 0.125, (h - 0.5) * 1.5) + std::pow(x(q, h), 3); }},
      {"floor_div", "floor_div(q_idx - 40, h * 3 - 4) + floor_div(q_idx, h * 0) * 1000 + floor_div(" + X + ", -0.75)",
       [=](int32_t q, int32_t h) { return dsl::floorDiv32(q - 40, h * 3 - 4) + std::floor(x(q, h) / -0.75); }},
      {"floor_mod", "floor_mod(q_idx - 40, 7 - h * 14) + floor_mod(" + X + ", 0.75) * 16",
       [=](int32_t q, int32_t h) {
         return dsl::floorMod32(q - 40, 7 - h * 14) + (x(q, h) - 0.75 * std::floor(x(q, h) / 0.75)) * 16;
       }},
      {"ceil_div", "ceil_div(q_idx - 40, h * 3 - 4) + ceil_div(q_idx, h * 0) * 1000 + ceil_div(" + X + ", -0.75)",
       [=](int32_t q, int32_t h) { return dsl::ceilDiv32(q - 40, h * 3 - 4) + std::ceil(x(q, h) / -0.75); }},
      {"popcount", "popcount(q_idx * 0x1234567 ^ h << 31) + popcount(q_idx - 40)",
       [=](int32_t q, int32_t h) {
         const uint32_t m = static_cast<uint32_t>(q) * 0x1234567u ^ (static_cast<uint32_t>(h) << 31);
         return double(std::popcount(m) + std::popcount(static_cast<uint32_t>(q - 40)));
       }},
  };
}
inline std::string functionSpec(const FunctionCase &c, const std::string &dtype = "f32") {
  return "attention fn {\n  dtype " + dtype + "\n  heads 2\n  head_dim 16\n  output lse\n  mask kv_idx == 0\n  score_mod " +
         c.expr + "\n}\n";
}
/// "" if every row's lse (batch 1, heads 2, bhsd: [1][2][seqQ]) is within
/// max(ulps x ulp(want), atol) of the case's value, else the first miss.
inline std::string checkFunctionLse(const FunctionCase &c, const std::vector<double> &lse, int32_t seqQ, double ulps,
                                    double atol) {
  if (lse.size() != size_t(2 * seqQ)) return "lse size";
  for (int32_t h = 0; h < 2; ++h)
    for (int32_t q = 0; q < seqQ; ++q) {
      const double want = c.want(q, h), got = lse[size_t(h * seqQ + q)];
      const double tol = std::max(ulps * std::ldexp(std::fabs(want), -23), atol);
      if (!(std::fabs(got - want) <= tol))
        return fmt::format("{}: q_idx {} h {}: got {:.9g}, want {:.9g} (error {:.3g}, allowed {:.3g})", c.fn, q, h, got,
                           want, std::fabs(got - want), tol);
    }
  return "";
}

/// NaN and infinity in the inputs (docs/language.md, numerics): one element of
/// q, k or v set to `value` in a spec and shape that reach a path (prefill,
/// decode, split-KV) with rows that see it, rows that do not, and rows that
/// are fully masked.
struct NonFiniteCase {
  std::string what, spec;
  int64_t batch, seqQ, seqKv;
  std::string tensor;  // q, k or v
  int64_t b, h, s;     // element (b, h, s, 0); h is a kv head for k and v
  double value;
  int nsplit = 0;      // x86: the kv splits to force (0: the kernel's choice)
};

inline std::vector<NonFiniteCase> nonFiniteCases() {
  const std::string strict = "attention nf {\n  dtype f32\n  heads 2\n  kv_heads 1\n  head_dim 16\n  output lse\n"
                             "  mask kv_idx < q_idx\n}\n";
  const std::string open = "attention nf {\n  dtype f32\n  heads 2\n  kv_heads 1\n  head_dim 16\n  output lse\n}\n";
  std::string bf16 = strict;
  bf16.replace(bf16.find("f32"), 3, "bf16");
  return {
      {"prefill, NaN in k", strict, 1, 40, 40, "k", 0, 0, 9, NAN},
      {"prefill, NaN in q", strict, 1, 40, 40, "q", 0, 1, 20, NAN},
      // In v, only at a pair every row keeps: a NaN v at a masked pair is
      // unspecified (0 weight x NaN, as in any P.V product; docs/language.md).
      {"prefill, NaN in v", open, 2, 40, 40, "v", 1, 0, 9, NAN},
      {"prefill, +inf in k", open, 2, 40, 40, "k", 1, 0, 3, INFINITY},
      {"prefill bf16, NaN in k", bf16, 1, 40, 40, "k", 0, 0, 5, NAN},
      {"decode, NaN in k", strict, 1, 3, 300, "k", 0, 0, 1, NAN},
      {"decode split-KV, NaN in k", open, 2, 4, 1000, "k", 0, 0, 700, NAN, 4},
      {"decode split-KV, NaN in q", open, 2, 4, 1000, "q", 1, 0, 2, NAN, 4},
  };
}

/// Sets element (b, h, s, 0) of input `name` of `a` (and its f64 copy).
inline void setInputElement(KernelArgs &a, const KernelDesc &d, const std::string &name, int64_t b, int64_t h,
                            int64_t s, double value) {
  for (size_t i = 0; i < a.sig.size(); ++i) {
    if (a.sig[i].name != name) continue;
    const attnc_tensor &t = a.tensors[i];
    const bool bshd = d.layout == dsl::Layout::BSHD;
    const int64_t off = b * t.stride[0] + h * t.stride[bshd ? 2 : 1] + s * t.stride[bshd ? 1 : 2];
    a.host[i].data[off] = storeAs(a.sig[i].dtype, a.mem[i].data(), off, value);
    return;
  }
  FAIL("no input " << name);
}

/// Pruned kernels for the backends' tests (each kernel is named `pr`): whole
/// GQA groups pruned, groups left with fewer heads than others, masks the
/// analysis bounds and masks read from inputs, sigmoid, additive scores.
/// `poison` lists the kv heads whose query heads are all pruned: their K
/// and V are never read (the tests fill them with NaN).
struct PruneCase {
  std::string spec;
  std::vector<int64_t> poison;
};
inline std::vector<PruneCase> pruneCases() {
  auto spec = [](const std::string &body) { return "attention pr {\n" + body + "}\n"; };
  return {
      {spec("  dtype f32\n  heads 6\n  head_dim 32\n  output lse\n  mask causal\n"
            "  compress {\n    prune heads [1, 4]\n  }\n"),
       {1, 4}},
      {spec("  dtype f32\n  heads 8\n  kv_heads 2\n  head_dim 64\n  output lse\n  mask window(20)\n"
            "  compress {\n    prune heads [0, 1, 2, 3, 5]\n  }\n"),
       {0}},
      {spec("  dtype f32\n  heads 8\n  kv_heads 4\n  head_dim 32\n  output lse\n  input doc : i32[seq_kv]\n"
            "  mask causal && doc[q_idx] == doc[kv_idx]\n  compress {\n    prune heads [1, 2, 3, 6]\n  }\n"),
       {1}},
      {spec("  dtype f32\n  heads 4\n  kv_heads 1\n  head_dim 32\n  normalize sigmoid(-log(seq_kv))\n"
            "  score_mod softcap(score, 20.0)\n  compress {\n    prune heads [0, 3]\n  }\n"),
       {}},
      {spec("  dtype f32\n  heads 3\n  head_dim 32\n  score additive(units 16)\n  output lse\n"
            "  compress {\n    prune heads [1]\n  }\n"),
       {1}},
  };
}

/// Block-sparse kernels (`sparse block B input`, each named `sp`) for the
/// backends' tests: blocks smaller and larger than the kv tiles, not
/// dividing the sequence lengths, with masks the analysis bounds, masks read
/// from inputs, GQA, sigmoid and score mods, additive scores, and pruning.
inline std::vector<std::string> sparseCases() {
  auto spec = [](const std::string &body) { return "attention sp {\n" + body + "}\n"; };
  return {
      spec("  dtype f32\n  heads 2\n  head_dim 32\n  output lse\n  mask causal\n"
           "  compress {\n    sparse block 16 input\n  }\n"),
      spec("  dtype f32\n  heads 8\n  kv_heads 2\n  head_dim 64\n  output lse\n  mask window(40)\n"
           "  compress {\n    sparse block 48 input\n  }\n"),
      spec("  dtype f32\n  heads 4\n  kv_heads 1\n  head_dim 32\n  output lse\n  input doc : i32[seq_kv]\n"
           "  mask causal && doc[q_idx] == doc[kv_idx]\n  compress {\n    sparse block 32 input\n  }\n"),
      spec("  dtype f32\n  heads 2\n  head_dim 32\n  normalize sigmoid(-log(seq_kv))\n"
           "  score_mod softcap(score, 20.0)\n  compress {\n    sparse block 8 input\n  }\n"),
      spec("  dtype f32\n  heads 3\n  head_dim 16\n  score additive(units 8)\n  output lse\n"
           "  compress {\n    sparse block 24 input\n  }\n"),
      spec("  dtype f32\n  heads 6\n  kv_heads 3\n  head_dim 32\n  output lse\n  mask causal\n"
           "  compress {\n    prune heads [1, 2]\n    sparse block 16 input\n  }\n"),
      // Top-T: the planning step, then the same kernels.
      spec("  dtype f32\n  heads 2\n  head_dim 32\n  output lse\n  mask causal\n"
           "  compress {\n    sparse block 16 top 2\n  }\n"),
      spec("  dtype f32\n  heads 8\n  kv_heads 2\n  head_dim 64\n  output lse\n  mask window(40)\n"
           "  compress {\n    sparse block 48 top 1\n  }\n"),
      spec("  dtype f32\n  heads 4\n  kv_heads 1\n  head_dim 32\n  output lse\n  input doc : i32[seq_kv]\n"
           "  mask causal && doc[q_idx] == doc[kv_idx]\n  compress {\n    sparse block 8 top 3\n  }\n"),
      spec("  dtype f32\n  heads 3\n  head_dim 16\n  normalize sigmoid(-log(seq_kv))\n"
           "  compress {\n    prune heads [0]\n    sparse block 24 top 2\n  }\n"),
  };
}

/// Linformer kernels (`low_rank seq`, each named `lf`) for the backends'
/// tests: ranks below and above the kv tiles and the sequence, masks on the
/// query side (the only ones it allows), including one that reads `seq_kv`
/// (the call's length, not the rank) and one that reads an input, GQA,
/// sigmoid with a score mod, additive scores, and pruning.
inline std::vector<std::string> linformerCases() {
  auto spec = [](const std::string &body) { return "attention lf {\n" + body + "}\n"; };
  return {
      spec("  dtype f32\n  heads 2\n  head_dim 32\n  output lse\n  compress {\n    low_rank seq rank 24\n  }\n"),
      spec("  dtype f32\n  heads 8\n  kv_heads 2\n  head_dim 64\n  output lse\n  mask q_idx < seq_kv - 2\n"
           "  compress {\n    low_rank seq rank 40\n  }\n"),
      spec("  dtype f32\n  heads 4\n  kv_heads 1\n  head_dim 32\n  output lse\n  input keep : i32[seq_q]\n"
           "  mask keep[q_idx] != 0\n  compress {\n    low_rank seq rank 150\n  }\n"),
      spec("  dtype f32\n  heads 2\n  head_dim 32\n  normalize sigmoid(-log(seq_kv))\n"
           "  score_mod softcap(score, 20.0)\n  compress {\n    low_rank seq rank 16\n  }\n"),
      spec("  dtype f32\n  heads 3\n  head_dim 16\n  score additive(units 8)\n  output lse\n"
           "  compress {\n    low_rank seq rank 8\n  }\n"),
      spec("  dtype f32\n  heads 6\n  kv_heads 3\n  head_dim 32\n  output lse\n"
           "  compress {\n    prune heads [1, 2]\n    low_rank seq rank 20\n  }\n"),
  };
}


/// Tensor i of `a` as a view into a buffer twice its size whose other
/// elements are `pad`: every stride doubled, or with `unitRows` every one but
/// the last (rows padded to twice their length, each row contiguous). The
/// elements move to their offsets under the new strides; the buffer is
/// returned (keep it alive while the tensor is used).
template <typename T>
std::vector<T> padView(KernelArgs &a, size_t i, T pad, bool unitRows) {
  attnc_tensor &t = a.tensors[i];
  int64_t n = 1, ns[8];
  for (int d = 0; d < t.ndim; ++d) n *= t.shape[d];
  for (int d = 0; d < t.ndim; ++d) ns[d] = unitRows && d == t.ndim - 1 ? 1 : t.stride[d] * 2;
  std::vector<T> big(size_t(n) * 2, pad);
  for (int64_t e = 0; e < n; ++e) {
    int64_t rest = e, from = 0, to = 0;
    for (int d = t.ndim - 1; d >= 0; --d) {
      const int64_t x = rest % t.shape[d];
      rest /= t.shape[d];
      from += x * t.stride[d], to += x * ns[d];
    }
    big[to] = static_cast<const T *>(t.data)[from];
  }
  t.data = big.data();
  for (int d = 0; d < t.ndim; ++d) t.stride[d] = ns[d];
  return big;
}

/// MLA kernels (`low_rank kv`, each named `ml`): GQA, value_dim != head_dim,
/// ranks below and above the dims, masks, sigmoid, pruning, block sparsity,
/// a decoupled RoPE part (`rope P`).
inline std::vector<std::string> mlaCases() {
  auto spec = [](const std::string &body) { return "attention ml {\n" + body + "}\n"; };
  return {
      spec("  dtype f32\n  heads 4\n  kv_heads 1\n  head_dim 32\n  output lse\n  mask causal\n"
           "  compress {\n    low_rank kv rank 24\n  }\n"),
      spec("  dtype f32\n  heads 8\n  kv_heads 2\n  head_dim 16\n  value_dim 24\n  output lse\n  mask window(20)\n"
           "  compress {\n    low_rank kv rank 40\n  }\n"),
      spec("  dtype f32\n  heads 2\n  head_dim 32\n  normalize sigmoid(-log(seq_kv))\n"
           "  score_mod softcap(score, 20.0)\n  compress {\n    low_rank kv rank 16\n  }\n"),
      spec("  dtype f32\n  heads 4\n  kv_heads 2\n  head_dim 32\n  output lse\n"
           "  compress {\n    prune heads [1]\n    low_rank kv rank 16\n  }\n"),
      spec("  dtype f32\n  heads 2\n  head_dim 32\n  output lse\n  mask causal\n"
           "  compress {\n    sparse block 16 input\n    low_rank kv rank 32\n  }\n"),
      // DeepSeek-V2's decoupled RoPE part (small): the keys' last dims straight from the latent row.
      spec("  dtype f32\n  heads 4\n  kv_heads 1\n  head_dim 48\n  value_dim 32\n  output lse\n  mask causal\n"
           "  compress {\n    low_rank kv rank 32 rope 16\n  }\n"),
      spec("  dtype f32\n  heads 4\n  kv_heads 2\n  head_dim 24\n  output lse\n  mask window(40)\n"
           "  compress {\n    prune heads [2]\n    low_rank kv rank 20 rope 8\n  }\n"),
  };
}

/// Top-T ties: K (bhsd) made of blocks of B rows that repeat with period
/// `period` blocks, so that the estimates of blocks jb and jb + period are
/// equal to the bit and the selection rests on the tie rule (lower block).
inline void repeatKBlocks(KernelArgs &a, int64_t B, int64_t period) {
  for (size_t i = 0; i < a.sig.size(); ++i) {
    if (a.sig[i].name != "k") continue;
    const attnc_tensor &t = a.tensors[i];
    const int64_t elem = static_cast<int64_t>(dsl::dtypeBytes(a.sig[i].dtype));
    for (int64_t b = 0; b < t.shape[0]; ++b)
      for (int64_t h = 0; h < t.shape[1]; ++h)
        for (int64_t s = B * period; s < t.shape[2]; ++s) {
          const int64_t dst = b * t.stride[0] + h * t.stride[1] + s * t.stride[2];
          const int64_t src = dst - B * period * t.stride[2];
          std::memcpy(a.mem[i].data() + dst * elem, a.mem[i].data() + src * elem, t.shape[3] * elem);
          for (int64_t e = 0; e < t.shape[3]; ++e) a.host[i].data[dst + e] = a.host[i].data[src + e];
        }
  }
}

/// Sets every element of head `h` of tensor `name` (all batches, positions
/// and dims) to `value`.
inline void fillHead(KernelArgs &a, const KernelDesc &d, const std::string &name, int64_t h, double value) {
  for (size_t i = 0; i < a.sig.size(); ++i) {
    if (a.sig[i].name != name) continue;
    const attnc_tensor &t = a.tensors[i];
    const bool bshd = d.layout == dsl::Layout::BSHD;
    const int64_t seq = t.shape[bshd ? 1 : 2];
    for (int64_t b = 0; b < t.shape[0]; ++b)
      for (int64_t s = 0; s < seq; ++s)
        for (int64_t e = 0; e < t.shape[3]; ++e) {
          const int64_t off = b * t.stride[0] + h * t.stride[bshd ? 2 : 1] + s * t.stride[bshd ? 1 : 2] + e;
          a.host[i].data[off] = storeAs(a.sig[i].dtype, a.mem[i].data(), off, value);
        }
    return;
  }
  FAIL("no input " << name);
}

/// Moves K and V (bhsd) to private pages and makes the pages inside the
/// slices of kv heads `heads` unreadable for the object's life (stronger than
/// NaN: a pruned row's NaN is never written out, a read of these pages ends
/// the test with SIGSEGV). A bhsd head's rows are contiguous.
class UnreadableHeads {
public:
  UnreadableHeads(KernelArgs &args, const std::vector<int64_t> &heads) {
    const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
    for (size_t a = 0; a < args.sig.size(); ++a) {
      if (args.sig[a].name != "k" && args.sig[a].name != "v") continue;
      const size_t bytes = args.mem[a].size(), len = (bytes + page - 1) / page * page;
      void *m = mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      REQUIRE(m != MAP_FAILED);
      std::memcpy(m, args.mem[a].data(), bytes);
      args.tensors[a].data = m;
      maps_.emplace_back(m, len);
      const attnc_tensor &t = args.tensors[a];
      const size_t elem = bytes / static_cast<size_t>(t.shape[0] * t.shape[1] * t.shape[2] * t.shape[3]);
      for (int64_t b = 0; b < t.shape[0]; ++b)
        for (int64_t g : heads) {
          const uintptr_t lo = reinterpret_cast<uintptr_t>(m) + static_cast<size_t>(b * t.stride[0] + g * t.stride[1]) * elem;
          const uintptr_t hi = lo + static_cast<size_t>(t.stride[1]) * elem;
          const uintptr_t plo = (lo + page - 1) / page * page, phi = hi / page * page;
          if (phi > plo) REQUIRE(mprotect(reinterpret_cast<void *>(plo), phi - plo, PROT_NONE) == 0);
        }
    }
  }
  ~UnreadableHeads() {
    for (auto [m, len] : maps_) munmap(m, len);
  }
  UnreadableHeads(const UnreadableHeads &) = delete;
  UnreadableHeads &operator=(const UnreadableHeads &) = delete;

private:
  std::vector<std::pair<void *, size_t>> maps_;
};

/// Runs case `c` through `run(plan, args)` (a backend; false with an error
/// when the call fails) and the reference, and compares them. The reference's
/// rows must include NaN rows and finite ones (else the case tests nothing).
template <typename Run>
inline std::string checkNonFinite(const NonFiniteCase &c, Run &&run) {
  Compiled comp = compileText(c.spec);
  KernelPlan plan = planOf(comp, "nf");
  const KernelDesc &d = plan.desc;
  KernelArgs args = makeArgs(d, c.batch, c.seqQ, c.seqKv, 7);
  setInputElement(args, d, c.tensor, c.b, c.h, c.s, c.value);
  auto ref = ReferenceKernel::create(plan);
  HostTensor out, lse, smax;
  std::string err;
  if (!ref->run(args.inputs(), out, &lse, err, 0, &smax)) return "reference: " + err;
  int64_t nanRows = 0, finiteRows = 0;
  for (size_t r = 0; r < lse.data.size(); ++r) {
    bool nanOut = std::isnan(out.data[r * d.valueDim]);
    if (nanOut) ++nanRows;
    else if (std::isfinite(lse.data[r])) ++finiteRows;
  }
  if (nanRows == 0) return c.what + ": the reference has no NaN row";
  if (finiteRows == 0) return c.what + ": the reference has no finite row";
  if (!run(plan, args, err)) return c.what + ": " + err;
  if (std::string bad = compareWithReference(d, args, out, lse, smax, c.seqQ); !bad.empty()) return c.what + ": " + bad;
  return "";
}

}  // namespace attnc::test
