// The CUDA backend without a GPU: generated NAME.cu files compiled as C++
// against the SIMT emulator (runtime/include/attnc_simt.h) and compared with
// the reference on every example x dtype x layout x shapes x two schedules
// (issue 4's correctness matrix), plus the host API's argument checks.
#include <algorithm>
#include <catch2/catch.hpp>

#include <filesystem>
#include <functional>
#include <limits>
#include <tuple>

#include "CudaEmu.h"
#include "TestUtil.h"
#include "lowering/reference/KernelArgs.h"
#include "lowering/cuda/ToCuda.h"

namespace attnc::test {
namespace {

struct Shape {
  int64_t batch, seqQ, seqKv;
};

struct Variant {
  std::string prefill, decode;  // schedule knobs over the defaults
};

std::unique_ptr<EmuKernel> buildCuda(const KernelPlan &plan, const Variant &v, std::string &err,
                                     std::string *schedText = nullptr) {
  const KernelDesc &desc = plan.desc;
  const cuda::Arch arch = cuda::Arch::Sm80;
  cuda::Schedule pre = cuda::defaultSchedule(desc, arch, false), dec = cuda::defaultSchedule(desc, arch, true);
  if (!cuda::parseSchedule(v.prefill, pre, err) || !cuda::parseSchedule(v.decode, dec, err)) return nullptr;
  if (!cuda::legalize(desc, arch, pre, err)) return nullptr;
  dec.mlaMaterialized = pre.mlaMaterialized;  // (one MLA form per kernel, as lowering/cuda/EmitCuda.cpp)
  if (!cuda::legalize(desc, arch, dec, err)) return nullptr;
  if (schedText) *schedText = "prefill " + pre.str() + ", decode " + dec.str();
  cuda::CudaSources src;
  if (!cuda::generate(plan, pre, dec, arch, src, err)) return nullptr;
  return EmuKernel::build(desc.name, src, err);
}

/// Builds the emulated CUDA kernel for `name` with dtype/layout overrides and
/// checks it on every shape against the reference. Returns "" or a failure.
std::string checkCuda(const Compiled &c, const std::string &name, dsl::DType dtype, dsl::Layout layout,
                      const Variant &v, const std::vector<Shape> &shapes,
                      const std::function<void(KernelArgs &)> &prepare = {}) {
  KernelPlan plan = planOf(c, name);
  KernelDesc *desc = &plan.desc;
  desc->dtype = dtype;
  desc->layout = layout;
  std::string err, sched;
  auto k = buildCuda(plan, v, err, &sched);
  if (!k) return "build: " + err;
  auto ref = ReferenceKernel::create(plan);
  for (const Shape &s : shapes) {
    KernelArgs args = makeArgs(*desc, s.batch, s.seqQ, s.seqKv, static_cast<uint32_t>(s.seqQ * 131 + s.seqKv));
    scaleProjections(args);  // (Linformer's; a no-op elsewhere)
    if (prepare) prepare(args);
    HostTensor out, lse, smax;
    if (!ref->run(args.inputs(), out, desc->outputLse ? &lse : nullptr, err, 0, &smax))
      return "reference run: " + err;
    std::vector<const attnc_tensor *> t;
    for (const attnc_tensor &a : args.tensors) t.push_back(&a);
    std::string where = fmt::format("{} {} {} [{}] B={} Sq={} Skv={}: ", name, dsl::dtypeName(dtype),
                                    layout == dsl::Layout::BSHD ? "bshd" : "bhsd", sched, s.batch, s.seqQ, s.seqKv);
    if (int rc = k->run(t); rc != ATTNC_OK) return where + fmt::format("status {}: {}", rc, k->lastError());
    if (std::string bad = compareWithReference(*desc, args, out, lse, smax, s.seqQ); !bad.empty())
      return where + bad;
  }
  return "";
}

Compiled compileExample(const std::string &name) {
  return compileText(readFile(sourcePath("examples/" + name + ".attn")));
}

/// Every example the backend accepts, as the target table says (docs/cuda.md).
std::vector<std::string> cudaExamples() {
  std::vector<std::string> out;
  for (const auto &e : std::filesystem::directory_iterator(sourcePath("examples"))) {
    if (e.path().extension() != ".attn") continue;
    if (!supportedBy("cuda", e.path().string())) continue;
    if (const char *only = std::getenv("ATTNC_CUDA_ONLY"); only && e.path().stem().string() != only) continue;
    out.push_back(e.path().stem().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

// Odd shapes: one row, one key, seq_q != seq_kv both ways, batch > 1, tails of
// every tile size, causal rows with no key (seq_q > seq_kv), decode (seq_q
// <= 16) with several kv tiles so that split-KV and the combine kernel run.
const std::vector<Shape> kShapes = {{1, 1, 1}, {1, 7, 65}, {2, 33, 17}, {1, 1, 300}, {1, 16, 129}, {1, 70, 150}};

// Two schedules per variant: the defaults, and a second one that changes the
// warp layout, the tile widths and the pipeline depth.
const std::vector<Variant> kVariants = {{"", ""}, {"wm2 wd2 mt2 n16 s1", "wm1 wn2 n16 s1 split3"}};
/// The two MLA forms, each on both schedules' shapes (the cost model would
/// pick either for the small test specs; the decode schedule follows).
const std::vector<Variant> kAbsVariants = {{"mlaabs", ""}, {"wm2 wd2 mt2 n16 s1 mlaabs", "wm1 wn2 n16 s1 split3"}};
const std::vector<Variant> kMatVariants = {{"mlamat", ""}, {"wm2 wd2 mt2 n16 s1 mlamat", "wm1 wn2 n16 s1 split3"}};

/// Every spec of `specs` (kernel `name`) x a dtype (rotating over the three)
/// x both layouts x both schedule variants, against the reference.
void checkCudaSpecs(const std::vector<std::string> &specs, const std::string &name, const std::vector<Shape> &shapes,
                    const std::function<void(KernelArgs &)> &prepare = {},
                    const std::vector<Variant> &variants = kVariants) {
  const dsl::DType dtypes[] = {dsl::DType::F16, dsl::DType::BF16, dsl::DType::F32};
  size_t i = 0;
  for (const std::string &spec : specs) {
    Compiled c = compileText(spec);
    dsl::DType t = dtypes[i++ % 3];
    for (dsl::Layout l : {dsl::Layout::BHSD, dsl::Layout::BSHD})
      for (size_t v = 0; v < variants.size(); ++v) {
        INFO(spec << dsl::dtypeName(t) << " variant " << v);
        CHECK(checkCuda(c, name, t, l, variants[v], shapes, prepare) == "");
      }
  }
}

}  // namespace

TEST_CASE("cuda emulated matrix: every example x f16/bf16 x layout x schedules", "[cuda][matrix]") {
  for (const std::string &ex : cudaExamples()) {
    Compiled c = compileExample(ex);
    const std::string name = c.comp->kernelNames().front();
    for (dsl::DType t : {dsl::DType::F16, dsl::DType::BF16})
      for (dsl::Layout l : {dsl::Layout::BHSD, dsl::Layout::BSHD})
        for (size_t v = 0; v < kVariants.size(); ++v) {
          INFO(ex << " " << dsl::dtypeName(t) << " variant " << v);
          CHECK(checkCuda(c, name, t, l, kVariants[v], kShapes) == "");
        }
  }
}

TEST_CASE("cuda emulated f32 path (SIMT FMA) on every example", "[cuda][f32]") {
  for (const std::string &ex : cudaExamples()) {
    Compiled c = compileExample(ex);
    const std::string name = c.comp->kernelNames().front();
    KernelPlan plan = planOf(c, name);
    const KernelDesc *d = &plan.desc;
    INFO(ex);
    CHECK(checkCuda(c, name, dsl::DType::F32, d->layout, kVariants[0], kShapes) == "");
  }
}

TEST_CASE("cuda emulated odd head dims, value_dim != head_dim, GQA groups", "[cuda][dims]") {
  struct K {
    int64_t heads, kvHeads, d, dv;
  };
  for (K k : {K{4, 2, 72, 40}, K{6, 1, 96, 96}, K{3, 3, 192, 136}, K{2, 2, 256, 256}, K{5, 5, 33, 20},
              K{2, 1, 512, 320}}) {
    std::string text = fmt::format("attention odd {{\n  dtype f16\n  heads {}\n  kv_heads {}\n  head_dim {}\n"
                                   "  value_dim {}\n  output lse\n  mask causal\n}}\n",
                                   k.heads, k.kvHeads, k.d, k.dv);
    Compiled c = compileText(text);
    for (dsl::DType t : {dsl::DType::BF16, dsl::DType::F32}) {
      INFO("head_dim " << k.d << " value_dim " << k.dv << " " << dsl::dtypeName(t));
      CHECK(checkCuda(c, "odd", t, dsl::Layout::BSHD, kVariants[0], {{1, 1, 70}, {2, 40, 37}}) == "");
    }
  }
}

TEST_CASE("cuda emulated: every function and operator of the language in the regions", "[cuda][ops]") {
  // Region programs are translated to C++ one instruction at a time; this
  // spec uses every function, integer wrap-around, C division and remainder
  // (negative operands, division by zero), selects, comparisons, and inputs of
  // every dtype, in score_mod and mask, and a sigmoid bias built the same way.
  const std::string ops = readFile(sourcePath("tests/unit/every_op.attn"));
  const std::string sig = R"ATTN(
attention sig_ops {
  dtype bf16
  heads 3
  head_dim 40
  input w : f32[heads, seq_kv]
  normalize sigmoid(w[h, kv_idx] - log(1.0 + seq_kv) + floor(q_idx / 3.0) * 0.1 - (kv_idx % 4 == 1 ? 0.5 : 0.0))
  score_mod softcap(score, 5.0) * 1.5
  mask window(2, 40) || sinks(3)
}
)ATTN";
  Compiled c = compileText(ops);
  {  // the mask keeps a fair share of the pairs: neither all nor none
    auto ref = ReferenceKernel::create(planOf(c, "ops"));
    KernelArgs a = makeArgs(ref->desc(), 2, 40, 37, 5);
    int64_t kept = 0;
    for (int64_t b = 0; b < 2; ++b)
      for (int64_t h = 0; h < 4; ++h) kept += ref->countKept(a.inputs(), b, h, 40, 37);
    CHECK(kept > 2 * 4 * 40 * 37 / 10);
    CHECK(kept < 2 * 4 * 40 * 37 * 9 / 10);
  }
  for (dsl::DType t : {dsl::DType::F16, dsl::DType::F32})
    for (dsl::Layout l : {dsl::Layout::BHSD, dsl::Layout::BSHD}) {
      INFO(dsl::dtypeName(t));
      CHECK(checkCuda(c, "ops", t, l, kVariants[0], {{2, 9, 23}, {1, 1, 70}, {1, 40, 37}}) == "");
    }
  Compiled cs = compileText(sig);
  for (dsl::DType t : {dsl::DType::BF16, dsl::DType::F32}) {
    INFO(dsl::dtypeName(t));
    CHECK(checkCuda(cs, "sig_ops", t, dsl::Layout::BHSD, kVariants[1], {{2, 9, 23}, {1, 1, 300}, {1, 70, 150}}) == "");
  }
}

TEST_CASE("cuda host API: argument checks before any launch", "[cuda][abi]") {
  Compiled c = compileExample("sliding_sinks");
  KernelPlan plan = planOf(c, "sliding_sinks");
  const KernelDesc *desc = &plan.desc;
  std::string err;
  auto k = buildCuda(plan, kVariants[0], err);
  REQUIRE(k);
  KernelArgs args = makeArgs(*desc, 2, 5, 40, 7);
  auto ptrs = [&](std::vector<attnc_tensor> &t) {
    std::vector<const attnc_tensor *> p;
    for (attnc_tensor &a : t) p.push_back(&a);
    return p;
  };
  std::vector<unsigned char> outBefore = args.mem[3];
  auto expectFail = [&](std::vector<attnc_tensor> t, int status, const std::string &words) {
    auto p = ptrs(t);
    int rc = k->run(p);
    CHECK(rc == status);
    CHECK_THAT(std::string(k->lastError()), Catch::Contains(words));
    CHECK(args.mem[3] == outBefore);  // out untouched
  };
  {
    auto t = args.tensors;
    auto p = ptrs(t);
    p[0] = nullptr;
    CHECK(k->run(p) == ATTNC_E_ARGUMENT);
    CHECK_THAT(std::string(k->lastError()), Catch::Contains("`q` is null"));
  }
  auto t = args.tensors;
  t[1].data = nullptr;
  expectFail(t, ATTNC_E_ARGUMENT, "`k` has a null data pointer");
  t = args.tensors;
  t[2].dtype = ATTNC_BF16;
  expectFail(t, ATTNC_E_DTYPE, "`v` must be f16, got bf16");
  t = args.tensors;
  t[0].ndim = 3;
  expectFail(t, ATTNC_E_SHAPE, "`q` must have 4 dimensions");
  t = args.tensors;
  t[0].shape[3] = 64;
  expectFail(t, ATTNC_E_SHAPE, "head_dim");
  t = args.tensors;
  t[1].shape[0] = 3;
  expectFail(t, ATTNC_E_SHAPE, "batch");
  t = args.tensors;
  t[2].shape[2] = 39;  // seq_kv of v differs from k's
  expectFail(t, ATTNC_E_SHAPE, "seq_kv");
  t = args.tensors;
  t[3].stride[3] = 2;
  expectFail(t, ATTNC_E_LAYOUT, "stride 1 in its last dimension");
  t = args.tensors;
  t[0].shape[1] = 0;
  expectFail(t, ATTNC_E_SHAPE, "(heads) must be 32, got 0");
  t = args.tensors;
  t[0].shape[2] = -1;
  expectFail(t, ATTNC_E_SHAPE, "outside 0..2^31-1");
  t = args.tensors;
  t[3].data = t[2].data;  // out over v
  expectFail(t, ATTNC_E_ARGUMENT, "`out` overlaps `v`");
  t = args.tensors;
  t[3].stride[2] = 0;  // every row of out to one place
  expectFail(t, ATTNC_E_LAYOUT, "`out` dimension 2 has stride 0");
  t = args.tensors;
  t[4].stride[0] = -1;
  expectFail(t, ATTNC_E_LAYOUT, "stride -1");
  // A good call after the failures works and clears nothing it should not.
  t = args.tensors;
  auto p = ptrs(t);
  CHECK(k->run(p) == ATTNC_OK);
}

TEST_CASE("cuda split-KV: workspace query, caller workspace, too small a workspace", "[cuda][split]") {
  Compiled c = compileExample("mqa_decode");
  KernelPlan plan = planOf(c, "mqa_decode");
  const KernelDesc *desc = &plan.desc;
  std::string err;
  auto k = buildCuda(plan, kVariants[0], err);
  REQUIRE(k);
  auto ref = ReferenceKernel::create(plan);
  const int64_t B = 1, Sq = 1, Skv = 2000;
  size_t need = k->workspaceSize(B, Sq, Skv);
  CHECK(need > 0);  // few blocks, many kv tiles: the decode splits
  CHECK(k->workspaceSize(64, 2048, 2048) == 0);  // plenty of blocks: no split
  CHECK(k->workspaceSize(0, 1, 1) == 0);
  for (size_t bytes : {need, need / 3, size_t(0)}) {
    KernelArgs args = makeArgs(*desc, B, Sq, Skv, 11);
    HostTensor out;
    REQUIRE(ref->run(args.inputs(), out, nullptr, err));
    std::vector<const attnc_tensor *> t;
    for (const attnc_tensor &a : args.tensors) t.push_back(&a);
    std::vector<unsigned char> ws(bytes + 1);
    INFO("workspace bytes " << bytes << " of " << need);
    REQUIRE(k->runWs(t, ws.data(), bytes) == ATTNC_OK);
    CHECK(compareTensors(args.output(0), out, toleranceFor(desc->dtype), "out", [](size_t) { return 0.0; }) == "");
  }
}

}  // namespace attnc::test

namespace attnc::test {

TEST_CASE("cuda host API: random malformed arguments never crash", "[cuda][abi]") {
  // Valid tensors, then one field of one tensor corrupted at random: the call
  // returns an error status before any launch, or runs when the change kept
  // the arguments valid, and then they describe memory the caller owns.
  Compiled c = compileExample("packed_docs");  // bf16 q/k/v, an i32 input, bhsd
  KernelPlan plan = planOf(c, "packed_docs");
  const KernelDesc *desc = &plan.desc;
  std::string err;
  auto k = buildCuda(plan, kVariants[0], err);
  REQUIRE(k);
  std::mt19937 rng(2026);
  int errors = 0, oks = 0;
  for (int iter = 0; iter < 200; ++iter) {
    KernelArgs a = makeArgs(*desc, 1 + iter % 2, 1 + iter % 9, 1 + iter % 13, uint32_t(iter));
    bool inBounds = corruptOne(a, rng);
    std::vector<const attnc_tensor *> p;
    for (const attnc_tensor &x : a.tensors) p.push_back(&x);
    // Strides only shrink and shapes that grow never match the other tensors,
    // so whatever the checks accept must fit the allocation.
    int rc = k->run(p);
    if (rc == ATTNC_OK) {
      ++oks;
      CHECK(inBounds);
      CHECK(std::string(k->lastError()).empty());
    } else {
      ++errors;
      CHECK(rc >= ATTNC_E_ARGUMENT);
      CHECK(rc <= ATTNC_E_LAYOUT);
      CHECK(!std::string(k->lastError()).empty());
    }
  }
  CHECK(errors > 120);  // most corruptions are invalid (x86: about 3 in 4, here 147 of 200)
  INFO("accepted " << oks);
}

TEST_CASE("cuda strided views: a spec input and q inside larger buffers", "[cuda][abi]") {
  Compiled c = compileExample("packed_docs");
  KernelPlan plan = planOf(c, "packed_docs");
  const KernelDesc *desc = &plan.desc;
  std::string err;
  auto k = buildCuda(plan, kVariants[0], err);
  REQUIRE(k);
  auto ref = ReferenceKernel::create(plan);
  KernelArgs a = makeArgs(*desc, 2, 30, 45, 77);
  // doc (argument 3) with stride 3.
  const attnc_tensor doc = a.tensors[3];
  std::vector<int32_t> big(size_t(doc.shape[0]) * 3, -7);
  for (int64_t i = 0; i < doc.shape[0]; ++i) big[i * 3] = static_cast<const int32_t *>(doc.data)[i];
  a.tensors[3].data = big.data();
  a.tensors[3].stride[0] = 3;
  // q [b, h, s, d] with rows 72 elements apart (not 16-byte multiples of 64: element loads).
  const attnc_tensor q = a.tensors[0];
  const int64_t D = q.shape[3], rows = q.shape[0] * q.shape[1] * q.shape[2];
  std::vector<uint16_t> qbig(size_t(rows) * 73 + 1, 0xffff);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t x = 0; x < D; ++x) qbig[1 + r * 73 + x] = static_cast<const uint16_t *>(q.data)[r * D + x];
  a.tensors[0].data = qbig.data() + 1;  // and 2-byte aligned only
  a.tensors[0].stride[2] = 73;
  a.tensors[0].stride[1] = 73 * q.shape[2];
  a.tensors[0].stride[0] = 73 * q.shape[2] * q.shape[1];
  std::vector<const attnc_tensor *> p;
  for (const attnc_tensor &x : a.tensors) p.push_back(&x);
  REQUIRE(k->run(p) == ATTNC_OK);
  HostTensor out;
  REQUIRE(ref->run(a.inputs(), out, nullptr, err));
  CHECK(compareTensors(a.output(0), out, toleranceFor(desc->dtype), "out", [](size_t) { return 0.0; }) == "");
}

}  // namespace attnc::test

namespace attnc::test {

TEST_CASE("cuda emulated: NaN and infinity in the inputs follow the numerics contract on every path",
          "[cuda][nonfinite]") {
  for (const NonFiniteCase &c : nonFiniteCases()) {
    for (const Variant &v : kVariants) {
      INFO(c.what << " [" << v.prefill << " / " << v.decode << "]");
      CHECK(checkNonFinite(c, [&](const KernelPlan &plan, KernelArgs &args, std::string &err) {
              auto k = buildCuda(plan, v, err);
              if (!k) return false;
              std::vector<const attnc_tensor *> t;
              for (const attnc_tensor &a : args.tensors) t.push_back(&a);
              int rc = k->run(t);
              if (rc != ATTNC_OK) err = k->lastError();
              return rc == ATTNC_OK;
            }) == "");
    }
  }
}

}  // namespace attnc::test

namespace attnc::test {

TEST_CASE("cuda empty calls: batch or seq_q 0 is a no-op, seq_kv 0 masks every row", "[cuda][empty]") {
  Compiled c = compileExample("sliding_sinks");  // f16, bhsd, value_dim 64, output lse
  KernelPlan plan = planOf(c, "sliding_sinks");
  std::string err;
  auto k = buildCuda(plan, kVariants[0], err);
  REQUIRE(k);
  for (auto [b, q, kv] : {std::tuple<int64_t, int64_t, int64_t>{0, 5, 9}, {2, 0, 9}, {0, 0, 0}, {2, 3, 0}, {1, 40, 0}}) {
    INFO("B=" << b << " Sq=" << q << " Skv=" << kv);
    KernelArgs a = makeArgs(plan.desc, b, q, kv, 3);
    std::vector<const attnc_tensor *> p;
    for (attnc_tensor &t : a.tensors) {
      if (t.shape[0] * t.shape[1] * t.shape[2] * (t.ndim == 4 ? t.shape[3] : 1) == 0) t.data = nullptr;
      p.push_back(&t);
    }
    std::vector<unsigned char> before = a.mem[3];
    int rc = k->run(p);
    INFO(k->lastError());
    REQUIRE(rc == ATTNC_OK);
    if (kv > 0 || b == 0 || q == 0) {
      CHECK(a.mem[3] == before);
      continue;
    }
    for (double x : a.output(0).data) CHECK(x == 0);
    for (double x : a.output(1).data) CHECK(x == -std::numeric_limits<double>::infinity());
  }
}

}  // namespace attnc::test

namespace attnc::test {

TEST_CASE("cuda emulated: integer bit operators agree with the reference", "[cuda][bits]") {
  for (const std::string &spec : bitOpSpecs()) {
    Compiled c = compileText(spec);
    INFO(spec);
    CHECK(checkCuda(c, "bits", dsl::DType::F16, dsl::Layout::BHSD, kVariants[0], {{1, 7, 65}, {2, 16, 300}, {1, 130, 129}}) == "");
    CHECK(checkCuda(c, "bits", dsl::DType::F32, dsl::Layout::BSHD, kVariants[1], {{1, 7, 65}, {1, 130, 129}}) == "");
  }
}

TEST_CASE("cuda emulated: the ported FlexAttention mods (examples/flex) agree with the reference", "[cuda][flex]") {
  const std::vector<std::string> examples = flexExamples();
  REQUIRE(examples.size() >= 29);  // (docs/porting.md: every section has one)
  size_t i = 0;
  for (const std::string &ex : examples) {
    INFO(ex);
    REQUIRE(supportedBy("cuda", sourcePath("examples/flex/" + ex + ".attn")));
    Compiled c = compileText(readFile(sourcePath("examples/flex/" + ex + ".attn")));
    const dsl::DType t = i % 2 ? dsl::DType::F32 : dsl::DType::F16;
    CHECK(checkCuda(c, ex, t, dsl::Layout::BHSD, kVariants[i % 2], {{1, 256, 256}, {1, 100, 130}}) == "");
    ++i;
  }
}

TEST_CASE("cuda emulated: bounded reductions agree with the reference", "[cuda][reduce]") {
  for (const std::string &spec : reductionSpecs()) {
    Compiled c = compileText(spec);
    INFO(spec);
    CHECK(checkCuda(c, "red", dsl::DType::F16, dsl::Layout::BHSD, kVariants[0], {{2, 65, 70}, {1, 128, 128}}) == "");
    CHECK(checkCuda(c, "red", dsl::DType::F32, dsl::Layout::BSHD, kVariants[1], {{1, 7, 65}}) == "");
  }
}

TEST_CASE("cuda emulated: inputs sized by expressions of the lengths agree with the reference", "[cuda][size_expr]") {
  for (const std::string &spec : sizeExprSpecs()) {
    Compiled c = compileText(spec);
    INFO(spec);
    CHECK(checkCuda(c, "sized", dsl::DType::F16, dsl::Layout::BHSD, kVariants[0], {{2, 65, 70}, {1, 17, 300}}) == "");
    CHECK(checkCuda(c, "sized", dsl::DType::F32, dsl::Layout::BSHD, kVariants[1], {{1, 1, 50}, {1, 128, 128}}) == "");
  }
}

TEST_CASE("cuda emulated: top-left mask builtins agree with the reference", "[cuda][top_left]") {
  for (const std::string &spec : topLeftSpecs()) {
    Compiled c = compileText(spec);
    INFO(spec);
    CHECK(checkCuda(c, "tl", dsl::DType::F16, dsl::Layout::BHSD, kVariants[0], {{1, 1, 50}, {1, 7, 65}, {2, 65, 7}, {1, 130, 300}}) == "");
    CHECK(checkCuda(c, "tl", dsl::DType::BF16, dsl::Layout::BSHD, kVariants[1], {{1, 7, 65}, {1, 130, 300}}) == "");
  }
}

TEST_CASE("cuda emulated: functions of language 1.1 within their accuracy bounds", "[cuda][functions]") {
  const int32_t Sq = 80;
  // f32 (the SIMT FMA path) and f16 (the mma path): the score_mod runs on
  // each one's own score fragments.
  for (const FunctionCase &fc : functionCases())
  for (const char *dtype : {"f32", "f16"}) {
    Compiled c = compileText(functionSpec(fc, dtype));
    KernelPlan plan = planOf(c, "fn");
    for (const Variant &v : kVariants) {
      INFO(fc.expr << " " << dtype);
      std::string err;
      auto k = buildCuda(plan, v, err);
      INFO(err);
      REQUIRE(k);
      KernelArgs args = makeArgs(plan.desc, 1, Sq, 3, 5);
      std::vector<const attnc_tensor *> t;
      for (const attnc_tensor &a : args.tensors) t.push_back(&a);
      REQUIRE(k->run(t) == ATTNC_OK);
      CHECK(checkFunctionLse(fc, args.output(1).data, Sq, 8, 1e-6) == "");
    }
  }
}

TEST_CASE("cuda emulated: masks whose integers wrap agree with the reference", "[cuda][wrap]") {
  for (const std::string &spec : wrapAroundSpecs()) {
    Compiled c = compileText(spec);
    INFO(spec);
    CHECK(checkCuda(c, "wrap", dsl::DType::F16, dsl::Layout::BHSD, kVariants[0], {{1, 7, 65}, {2, 16, 300}, {1, 130, 129}}) == "");
  }
}

}  // namespace attnc::test

namespace attnc::test {

TEST_CASE("cuda emulated: pruned heads are zero, the others right, on every path", "[cuda][prune]") {
  const dsl::DType dtypes[] = {dsl::DType::F16, dsl::DType::BF16, dsl::DType::F32};
  size_t i = 0;
  for (const PruneCase &pc : pruneCases()) {
    Compiled c = compileText(pc.spec);
    dsl::DType t = dtypes[i++ % 3];
    for (dsl::Layout l : {dsl::Layout::BHSD, dsl::Layout::BSHD})
      for (size_t v = 0; v < kVariants.size(); ++v) {
        INFO(pc.spec << dsl::dtypeName(t) << " variant " << v);
        CHECK(checkCuda(c, "pr", t, l, kVariants[v], {{1, 1, 1}, {2, 7, 65}, {1, 1, 300}, {1, 70, 150}}) == "");
      }
  }
}

TEST_CASE("cuda emulated: the K/V of a kv head whose query heads are all pruned are never read", "[cuda][prune]") {
  for (const PruneCase &pc : pruneCases()) {
    if (pc.poison.empty()) continue;
    Compiled c = compileText(pc.spec);
    KernelPlan plan = planOf(c, "pr");
    plan.desc.dtype = dsl::DType::BF16;
    const KernelDesc &d = plan.desc;
    std::string err;
    auto k = buildCuda(plan, kVariants[1], err);
    INFO(err);
    REQUIRE(k);
    for (int64_t seqQ : {1, 70}) {
      INFO(pc.spec << " seq_q " << seqQ);
      KernelArgs args = makeArgs(d, 2, seqQ, 150, 11);
      const double nan = std::numeric_limits<double>::quiet_NaN();
      for (int64_t g : pc.poison) {
        fillHead(args, d, "k", g, nan);
        fillHead(args, d, "v", g, nan);
      }
      for (int64_t h : d.prunedHeads) fillHead(args, d, "q", h, nan);
      auto ref = ReferenceKernel::create(plan);
      HostTensor out, lse, smax;
      REQUIRE(ref->run(args.inputs(), out, d.outputLse ? &lse : nullptr, err, 0, &smax));
      for (double x : out.data) REQUIRE(std::isfinite(x));
      UnreadableHeads guard(args, pc.poison);
      std::vector<const attnc_tensor *> t;
      for (const attnc_tensor &a : args.tensors) t.push_back(&a);
      REQUIRE(k->run(t) == ATTNC_OK);
      CHECK(compareWithReference(d, args, out, lse, smax, seqQ) == "");
    }
  }
}

}  // namespace attnc::test

namespace attnc::test {

TEST_CASE("cuda emulated: block-sparse kernels walk their tile lists, on every path", "[cuda][sparse]") {
  // Half the blocks kept, and every block of query block 1 dropped (those
  // rows are fully masked: out 0, lse -inf).
  checkCudaSpecs(sparseCases(), "sp", {{1, 1, 1}, {2, 7, 65}, {1, 1, 300}, {1, 70, 150}, {1, 40, 200}},
                 [](KernelArgs &a) { fillBlockMask(a, 0.5, static_cast<uint32_t>(a.host[0].numel()), 1); });
}

TEST_CASE("cuda block sparsity: tile lists in the workspace, the query counts them", "[cuda][sparse]") {
  Compiled c = compileText(sparseCases()[0]);
  KernelPlan plan = planOf(c, "sp");
  plan.desc.dtype = dsl::DType::F16;
  const KernelDesc *desc = &plan.desc;
  std::string err;
  auto k = buildCuda(plan, kVariants[0], err);
  REQUIRE(k);
  auto ref = ReferenceKernel::create(plan);
  for (auto [Sq, Skv] : {std::pair<int64_t, int64_t>{1, 300}, {70, 150}}) {
    const size_t need = k->workspaceSize(1, Sq, Skv);
    CHECK(need > 0);  // the lists, even without splits
    for (double density : {0.0, 0.3, 1.0}) {
      KernelArgs args = makeArgs(*desc, 1, Sq, Skv, 5);
      fillBlockMask(args, density, 9);
      HostTensor out, lse;
      REQUIRE(ref->run(args.inputs(), out, &lse, err));
      std::vector<const attnc_tensor *> t;
      for (const attnc_tensor &a : args.tensors) t.push_back(&a);
      INFO("seq_q " << Sq << " density " << density);
      std::vector<unsigned char> ws(need);
      REQUIRE(k->runWs(t, ws.data(), need) == ATTNC_OK);
      CHECK(compareTensors(args.output(0), out, toleranceFor(desc->dtype), "out", [](size_t) { return 0.0; }) == "");
      CHECK(compareTensors(args.output(1), lse, toleranceFor(desc->dtype), "lse", [](size_t) { return 0.0; }) == "");
      // Less workspace than the lists: an argument error naming the size, out untouched.
      std::vector<unsigned char> small(5);  // (every list holds a count and a tile at least: 8 bytes)
      KernelArgs again = makeArgs(*desc, 1, Sq, Skv, 5);
      t.clear();
      for (const attnc_tensor &a : again.tensors) t.push_back(&a);
      CHECK(k->runWs(t, small.data(), small.size() - 1) == ATTNC_E_ARGUMENT);
      CHECK(std::string(k->lastError()).find("tile lists") != std::string::npos);
      CHECK(std::isnan(again.output(0).data[0]));
    }
  }
}

}  // namespace attnc::test

namespace attnc::test {

TEST_CASE("cuda emulated: top-T selects the reference's blocks, ties included", "[cuda][sparse]") {
  for (const char *mask : {"", "  mask causal\n"})
    for (dsl::DType t : {dsl::DType::F16, dsl::DType::F32}) {
      Compiled c = compileText(std::string("attention tt {\n  dtype f32\n  heads 2\n  head_dim 16\n  output lse\n") +
                               mask + "  compress {\n    sparse block 8 top 2\n  }\n}\n");
      KernelPlan plan = planOf(c, "tt");
      plan.desc.dtype = t;
      auto ref = ReferenceKernel::create(plan);
      std::string err;
      auto k = buildCuda(plan, kVariants[0], err);
      INFO(err);
      REQUIRE(k);
      for (int64_t seqQ : {3, 64}) {
        KernelArgs args = makeArgs(plan.desc, 2, seqQ, 96, 21);
        repeatKBlocks(args, 8, 2);  // estimates tie exactly: the tie rule decides
        HostTensor out, lse, smax;
        REQUIRE(ref->run(args.inputs(), out, &lse, err, 0, &smax));
        std::vector<const attnc_tensor *> ptrs;
        for (const attnc_tensor &a : args.tensors) ptrs.push_back(&a);
        INFO(mask << dsl::dtypeName(t) << " seq_q " << seqQ);
        REQUIRE(k->run(ptrs) == ATTNC_OK);
        CHECK(compareWithReference(plan.desc, args, out, lse, smax, seqQ) == "");
      }
    }
}

}  // namespace attnc::test

namespace attnc::test {

TEST_CASE("cuda emulated: Linformer kernels attend over the projected keys, on every path", "[cuda][linformer]") {
  checkCudaSpecs(linformerCases(), "lf", {{1, 1, 1}, {2, 7, 65}, {1, 1, 300}, {1, 70, 150}});
}

/// A low-rank kernel's part of the workspace (bf16, B=1 Sq=70 Skv=150): the
/// query counts at least `minNeed` bytes; the caller's workspace of that size
/// gives the reference's result; `need / divisor` bytes is ATTNC_E_ARGUMENT
/// naming `what`; the arguments `views` as strided views with NaN padding
/// (`unitRows`: those whose rows must stay contiguous) give the same result;
/// no keys at all masks every row.
void checkLowRankWorkspace(const std::string &spec, const std::string &name, size_t minNeed, size_t divisor,
                           const char *what, const std::vector<std::string> &views,
                           const std::vector<std::string> &unitRows, const Variant &variant = kVariants[0]) {
  Compiled c = compileText(spec);
  KernelPlan plan = planOf(c, name);
  plan.desc.dtype = dsl::DType::BF16;
  std::string err;
  auto k = buildCuda(plan, variant, err);
  INFO(err);
  REQUIRE(k);
  auto ref = ReferenceKernel::create(plan);
  const size_t need = k->workspaceSize(1, 70, 150);
  CHECK(need >= minNeed);
  auto pointers = [](const KernelArgs &a) {
    std::vector<const attnc_tensor *> t;
    for (const attnc_tensor &x : a.tensors) t.push_back(&x);
    return t;
  };
  KernelArgs args = makeArgs(plan.desc, 1, 70, 150, 5);
  scaleProjections(args);
  HostTensor out, lse, smax;
  REQUIRE(ref->run(args.inputs(), out, &lse, err, 0, &smax));
  std::vector<unsigned char> ws(need);
  REQUIRE(k->runWs(pointers(args), ws.data(), need) == ATTNC_OK);
  CHECK(compareWithReference(plan.desc, args, out, lse, smax, 70) == "");
  KernelArgs again = makeArgs(plan.desc, 1, 70, 150, 5);
  CHECK(k->runWs(pointers(again), ws.data(), minNeed / divisor) == ATTNC_E_ARGUMENT);
  CHECK(std::string(k->lastError()).find(what) != std::string::npos);
  {
    KernelArgs view = makeArgs(plan.desc, 1, 70, 150, 5);
    scaleProjections(view);
    std::vector<std::vector<uint16_t>> bigs;
    for (size_t i = 0; i < view.sig.size(); ++i) {
      const std::string &n = view.sig[i].name;
      if (std::find(views.begin(), views.end(), n) == views.end()) continue;
      const bool rows = std::find(unitRows.begin(), unitRows.end(), n) != unitRows.end();
      bigs.push_back(padView<uint16_t>(view, i, 0x7fc0, rows));  // (bf16 NaN between)
    }
    REQUIRE(bigs.size() == views.size());
    REQUIRE(k->runWs(pointers(view), ws.data(), need) == ATTNC_OK);
    CHECK(compareWithReference(plan.desc, view, out, lse, smax, 70) == "");
  }
  // No keys at all: every row masked (docs/integration.md, "Empty calls").
  KernelArgs none = makeArgs(plan.desc, 1, 5, 0, 5);
  REQUIRE(k->run(pointers(none)) == ATTNC_OK);
  for (double x : none.output(0).data) CHECK(x == 0.0);
  for (double x : none.output(1).data) CHECK(x == -std::numeric_limits<double>::infinity());
}

TEST_CASE("cuda Linformer: projections in the workspace, the query counts them", "[cuda][linformer]") {
  // E.K and F.V of both kv heads, bf16; e_proj and f_proj as strided views.
  checkLowRankWorkspace(linformerCases()[0], "lf", 2 * 2 * 24 * 32, 2, "low_rank seq", {"e_proj", "f_proj"}, {});
}

}  // namespace attnc::test

namespace attnc::test {

TEST_CASE("cuda emulated: MLA kernels attend in the latent space, on every path", "[cuda][mla]") {
  for (const std::string &spec : mlaCases())
    REQUIRE(planOf(compileText(spec), "ml").desc.lowRank == KernelDesc::LowRank::Kv);
  checkCudaSpecs(mlaCases(), "ml", {{1, 1, 1}, {2, 7, 65}, {1, 1, 300}, {1, 70, 150}},
                 [](KernelArgs &a) { fillBlockMask(a, 0.5, static_cast<uint32_t>(a.host[0].numel()), 1); },
                 kAbsVariants);
}

TEST_CASE("cuda emulated: top-T over latent keys selects the reference's blocks", "[cuda][mla][sparse]") {
  // The plan's key means come from the keys built in f64 in the reference's
  // order (top_mean_kernel<1>), the attention stays absorbed; with a rope
  // part and GQA, all three dtypes (checkCudaSpecs rotates them).
  const std::vector<std::string> specs = {
      "attention ml {\n  dtype f32\n  heads 4\n  kv_heads 1\n  head_dim 48\n  value_dim 32\n  output lse\n"
      "  mask causal\n  compress {\n    sparse block 16 top 2\n    low_rank kv rank 32 rope 16\n  }\n}\n",
      "attention ml {\n  dtype f32\n  heads 4\n  kv_heads 2\n  head_dim 32\n  output lse\n"
      "  compress {\n    sparse block 8 top 3\n    low_rank kv rank 24\n  }\n}\n",
      "attention ml {\n  dtype f32\n  heads 2\n  head_dim 32\n  output lse\n  mask window(20)\n"
      "  compress {\n    sparse block 16 top 1\n    low_rank kv rank 40\n  }\n}\n",
  };
  checkCudaSpecs(specs, "ml", {{1, 1, 1}, {2, 7, 65}, {1, 1, 300}, {1, 70, 150}}, {}, kAbsVariants);
}

TEST_CASE("cuda emulated: additive scores over latent keys", "[cuda][mla]") {
  // k . add_wk = latent . (k_up . add_wk): mla_wk_kernel folds the key
  // projection into the latent, the values stay absorbed.
  const std::vector<std::string> specs = {
      "attention ml {\n  dtype f32\n  heads 4\n  kv_heads 2\n  head_dim 16\n  score additive(units 8)\n"
      "  output lse\n  mask causal\n  compress {\n    low_rank kv rank 24\n  }\n}\n",
      "attention ml {\n  dtype f32\n  heads 2\n  kv_heads 1\n  head_dim 24\n  value_dim 16\n"
      "  score additive(units 5)\n  output lse\n  compress {\n    low_rank kv rank 16 rope 8\n  }\n}\n",
      "attention ml {\n  dtype f32\n  heads 3\n  head_dim 16\n  score additive(units 4)\n  output lse\n"
      "  compress {\n    prune heads [1]\n    low_rank kv rank 8\n  }\n}\n",
  };
  checkCudaSpecs(specs, "ml", {{1, 1, 1}, {2, 7, 65}, {1, 1, 300}, {1, 70, 150}});
}


TEST_CASE("cuda emulated: MLA kernels build K and V from the latent tiles (materialized), on every path",
          "[cuda][mla][mat]") {
  // Every MLA case (masks, GQA, sigmoid, pruning, block sparsity, rope), then
  // top-T and additive scores over built keys.
  std::vector<std::string> specs = mlaCases();
  specs.push_back("attention ml {\n  dtype f32\n  heads 4\n  kv_heads 1\n  head_dim 48\n  value_dim 32\n  output lse\n"
                  "  mask causal\n  compress {\n    sparse block 16 top 2\n    low_rank kv rank 32 rope 16\n  }\n}\n");
  specs.push_back("attention ml {\n  dtype f32\n  heads 2\n  kv_heads 1\n  head_dim 24\n  value_dim 16\n"
                  "  score additive(units 5)\n  output lse\n  compress {\n    low_rank kv rank 16 rope 8\n  }\n}\n");
  // A rank over 512: past the absorbed form's value tiles, materialized whatever the knob.
  specs.push_back("attention ml {\n  dtype f32\n  heads 2\n  head_dim 32\n  output lse\n  mask causal\n"
                  "  compress {\n    low_rank kv rank 520\n  }\n}\n");
  checkCudaSpecs(specs, "ml", {{1, 1, 1}, {2, 7, 65}, {1, 1, 300}, {1, 70, 150}},
                 [](KernelArgs &a) { fillBlockMask(a, 0.5, static_cast<uint32_t>(a.host[0].numel()), 1); },
                 kMatVariants);
}

TEST_CASE("cuda MLA: the form by the cost model, one per kernel, each within its limits", "[cuda][mla][schedule]") {
  auto desc = [](int64_t D, int64_t Dv, int64_t R, int64_t P, dsl::DType t) {
    KernelDesc d;
    d.name = "ml", d.heads = 16, d.kvHeads = 1, d.headDim = D, d.valueDim = Dv, d.rank = R, d.ropeDim = P;
    d.dtype = t;
    d.lowRank = KernelDesc::LowRank::Kv;
    return d;
  };
  // DeepSeek's 512 + 64 over head_dim 192: absorbed (2 x 576 + 512 = 1664 per
  // pair against 2 x 192 + 128 + 512 x 256 / 64 = 2560).
  const KernelDesc ds = desc(192, 128, 512, 64, dsl::DType::BF16);
  CHECK_FALSE(cuda::mlaMaterializedCheaper(ds, 64));
  CHECK_FALSE(cuda::defaultSchedule(ds, cuda::Arch::Sm80, false).mlaMaterialized);
  CHECK_FALSE(cuda::defaultSchedule(ds, cuda::Arch::Sm80, true).mlaMaterialized);
  // A latent much wider than the heads: materialized (192 + 512 x 128 / 64 = 1216 < 1536), for both paths.
  const KernelDesc wide = desc(64, 64, 512, 0, dsl::DType::BF16);
  CHECK(cuda::mlaMaterializedCheaper(wide, 64));
  CHECK_FALSE(cuda::mlaMaterializedCheaper(wide, 16));
  CHECK(cuda::defaultSchedule(wide, cuda::Arch::Sm80, false).mlaMaterialized);
  CHECK(cuda::defaultSchedule(wide, cuda::Arch::Sm80, true).mlaMaterialized);
  // A rank over 512 fits only the materialized form, head_dim over 512 only the absorbed one.
  std::string why;
  cuda::Schedule s;
  const KernelDesc big = desc(128, 128, 768, 0, dsl::DType::F16);
  CHECK(cuda::unsupportedDims(big).empty());
  REQUIRE(cuda::legalize(big, cuda::Arch::Sm90a, s, why));
  CHECK(s.mlaMaterialized);
  const KernelDesc wideHead = desc(640, 128, 256, 0, dsl::DType::F16);
  s.mlaMaterialized = true;
  REQUIRE(cuda::legalize(wideHead, cuda::Arch::Sm90a, s, why));
  CHECK_FALSE(s.mlaMaterialized);
  CHECK_FALSE(cuda::unsupportedDims(desc(640, 128, 768, 0, dsl::DType::F16)).empty());
  // The knobs, and the shared memory of the form: latent tiles double-buffered, one K (hi + lo) and one V.
  REQUIRE(cuda::parseSchedule("mlaabs n32", s, why));
  CHECK_FALSE(s.mlaMaterialized);
  REQUIRE(cuda::parseSchedule("mlamat", s, why));
  CHECK(s.mlaMaterialized);
  CHECK(s.str().find(" mlamat") != std::string::npos);
  s = cuda::Schedule();
  s.mlaMaterialized = true;
  s.blockN = 32;
  // Q 64 x 192, K 32 x 2 x 192, V 32 x 128, latent 2 x 32 x 576, bf16 (24, 48, 16 and 72 chunks a row).
  CHECK(cuda::smemBytes(ds, s) == 64 * 24 * 16 + 32 * 48 * 16 + 32 * 16 * 16 + 2 * 32 * 72 * 16);
}

TEST_CASE("cuda MLA: latent queries and outputs in the workspace, the query counts them", "[cuda][mla]") {
  // GQA, value_dim != head_dim, a window: latent q and out of 70 rows x 8
  // heads x rank 40, bf16; latent (rows contiguous, as k's and v's), k_up and
  // v_up as strided views.
  checkLowRankWorkspace(mlaCases()[1], "ml", 2 * size_t(70) * 8 * 40 * 2, 4, "low_rank kv",
                        {"latent", "k_up", "v_up"}, {"latent"}, kAbsVariants[0]);
  // Materialized: k_up and v_up transposed, 2 kv heads x (16 + 24) x 48 (the rank padded) bf16.
  checkLowRankWorkspace(mlaCases()[1], "ml", 2 * size_t(40) * 48 * 2, 2, "low_rank kv", {"latent", "k_up", "v_up"},
                        {"latent"}, kMatVariants[1]);
}

}  // namespace attnc::test

namespace attnc::test {

TEST_CASE("cuda tuned variants: each shape bucket runs its own schedule, the rest the default policy",
          "[cuda][tuning]") {
  Compiled c = compileExample("mqa_decode");
  KernelPlan plan = planOf(c, "mqa_decode");
  const KernelDesc &desc = plan.desc;
  const cuda::Arch arch = cuda::Arch::Sm80;
  std::string err;
  cuda::Schedule pre = cuda::defaultSchedule(desc, arch, false), dec = cuda::defaultSchedule(desc, arch, true);
  REQUIRE(cuda::legalize(desc, arch, pre, err));
  dec.mlaMaterialized = pre.mlaMaterialized;
  REQUIRE(cuda::legalize(desc, arch, dec, err));
  // A decode bucket that must not split (the default splits there), and a
  // prefill bucket with another warp layout, tile width and pipeline depth.
  std::vector<cuda::TunedSchedule> tuned(2);
  tuned[0] = {1, 1, 2048, true, dec, "test: no split"};
  REQUIRE(cuda::parseSchedule("split1", tuned[0].schedule, err));
  tuned[1] = {2, 64, 128, false, pre, "test: other tiles"};
  REQUIRE(cuda::parseSchedule("wm2 wd2 mt2 n16 s1", tuned[1].schedule, err));
  for (cuda::TunedSchedule &t : tuned) REQUIRE(cuda::legalize(desc, arch, t.schedule, err));
  cuda::CudaSources src;
  REQUIRE(cuda::generate(plan, pre, dec, arch, src, err, "", tuned));
  CHECK_THAT(src.source, Catch::Contains("using Tuned0 = Tiles<"));
  CHECK_THAT(src.source, Catch::Contains("attnc_pow2(batch) == 2 && attnc_pow2(seq_q) == 64 && attnc_pow2(seq_kv) == 128"));
  CHECK_THAT(src.header, Catch::Contains("tuned, for calls whose batch, seq_q and seq_kv round up to 1, 1, 2048: decode"));
  auto k = EmuKernel::build(desc.name, src, err);
  REQUIRE(k);

  // The dispatch, seen through the workspace query: the tuned decode bucket
  // needs none (split1), its neighbours split as the default does.
  CHECK(k->workspaceSize(1, 1, 2000) == 0);
  CHECK(k->workspaceSize(1, 1, 1025) == 0);
  CHECK(k->workspaceSize(1, 1, 1000) > 0);
  CHECK(k->workspaceSize(1, 1, 2049) > 0);
  CHECK(k->workspaceSize(2, 1, 2000) > 0);

  // Every variant computes the reference's numbers: inside each bucket, on
  // its edges and outside it.
  auto ref = ReferenceKernel::create(plan);
  for (Shape s : std::vector<Shape>{{1, 1, 2000}, {1, 1, 1000}, {2, 33, 65}, {2, 64, 128}, {2, 65, 128}, {1, 40, 100}}) {
    KernelArgs args = makeArgs(desc, s.batch, s.seqQ, s.seqKv, static_cast<uint32_t>(s.seqKv));
    HostTensor out;
    REQUIRE(ref->run(args.inputs(), out, nullptr, err));
    std::vector<const attnc_tensor *> t;
    for (const attnc_tensor &a : args.tensors) t.push_back(&a);
    INFO("B=" << s.batch << " Sq=" << s.seqQ << " Skv=" << s.seqKv);
    REQUIRE(k->run(t) == ATTNC_OK);
    CHECK(compareTensors(args.output(0), out, toleranceFor(desc.dtype), "out", [](size_t) { return 0.0; }) == "");
  }
}

}  // namespace attnc::test

namespace attnc::test {

TEST_CASE("cuda cost model: split-KV pays for its combine", "[cuda][tuning]") {
  Compiled c = compileExample("mqa_decode");
  const KernelDesc desc = planOf(c, "mqa_decode").desc;
  const cuda::Arch arch = cuda::Arch::Sm80;
  cuda::Schedule dec = cuda::defaultSchedule(desc, arch, true), one = dec;
  one.maxSplits = 1;
  auto model = [&](const cuda::Schedule &s, int64_t skv) { return cuda::modelSeconds(desc, s, arch, "", 1, 1, skv); };
  // A long cache on one block: splitting fills the device, worth the combine.
  CHECK(model(dec, 131072) < 0.5 * model(one, 131072));
  // A short one: a few kv tiles do not pay for partial rows and a launch.
  CHECK(model(one, 300) < model(dec, 300));
  // One kv tile: nothing to split, the same estimate.
  CHECK(model(one, 32) == model(dec, 32));
}

}  // namespace attnc::test
