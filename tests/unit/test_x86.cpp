// The x86 backend against the reference: every example spec the backend
// accepts x dtype x layout x shapes x schedules (issue 3's correctness matrix).
#include <algorithm>
#include <catch2/catch.hpp>
#include <cstring>
#include <filesystem>
#include <functional>
#include <numeric>

#include "lowering/reference/KernelArgs.h"
#include "TestUtil.h"
#include "lowering/x86/ToHalide.h"

namespace attnc::test {
namespace {

struct Shape {
  int64_t batch, seqQ, seqKv;
};

/// Builds the x86 kernel for `name` in `c` with dtype/layout overrides and
/// checks it on every shape against the reference. Returns "" or a failure.
std::string checkX86(const Compiled &c, const std::string &name, dsl::DType dtype, dsl::Layout layout,
                     const x86::Schedule &sched, const std::vector<Shape> &shapes, int threads = 2,
                     const std::function<void(KernelArgs &)> &prepare = {}) {
  KernelPlan plan = planOf(c, name);
  KernelDesc *desc = &plan.desc;
  desc->dtype = dtype;
  desc->layout = layout;
  std::string err;
  auto k = x86::HalideKernel::create(plan, sched, x86::hostIsa(), err);
  if (!k) return "create: " + err;
  auto ref = ReferenceKernel::create(plan);
  for (const Shape &s : shapes) {
    KernelArgs args = makeArgs(*desc, s.batch, s.seqQ, s.seqKv, static_cast<uint32_t>(s.seqQ * 131 + s.seqKv));
    scaleProjections(args);  // (Linformer's; a no-op elsewhere)
    if (prepare) prepare(args);
    HostTensor out, lse, smax;
    if (!ref->run(args.inputs(), out, desc->outputLse ? &lse : nullptr, err, 0, &smax))
      return "reference run: " + err;
    if (!k->run(args.tensors, threads, 0, err)) return "run: " + err;
    std::string where = fmt::format("{} {} {} [{}] B={} Sq={} Skv={}: ", name, dsl::dtypeName(dtype),
                                    layout == dsl::Layout::BSHD ? "bshd" : "bhsd", k->schedule().str(), s.batch,
                                    s.seqQ, s.seqKv);
    if (std::string bad = compareWithReference(*desc, args, out, lse, smax, s.seqQ); !bad.empty())
      return where + bad;
  }
  return "";
}

/// Every spec of `specs` (kernel `name`) x a dtype (rotating over the three)
/// x both layouts x prefill and decode, default schedules (with `knobs` on
/// top, legalized), against the reference.
void checkX86Specs(const std::vector<std::string> &specs, const std::string &name, const std::vector<Shape> &shapes,
                   const std::function<void(KernelArgs &)> &prepare = {}, const std::string &knobs = "") {
  const dsl::DType dtypes[] = {dsl::DType::F32, dsl::DType::BF16, dsl::DType::F16};
  size_t i = 0;
  for (const std::string &spec : specs) {
    Compiled c = compileText(spec);
    KernelPlan plan = planOf(c, name);
    dsl::DType t = dtypes[i++ % 3];
    for (dsl::Layout l : {dsl::Layout::BHSD, dsl::Layout::BSHD})
      for (bool decode : {false, true}) {
        KernelDesc d = plan.desc;
        d.dtype = t;
        d.layout = l;
        INFO(spec << dsl::dtypeName(t) << (decode ? " decode" : " prefill") << " " << knobs);
        x86::Schedule s = x86::defaultSchedule(d, x86::hostIsa(), decode);
        std::string err;
        REQUIRE(x86::parseSchedule(knobs, s, err));
        x86::legalize(s, d, x86::hostIsa());
        CHECK(checkX86(c, name, t, l, s, shapes, 2, prepare) == "");
      }
  }
}

/// Each spec (kernel `name`) with the default prefill and decode schedules
/// against the reference.
void checkX86Defaults(const std::vector<std::string> &specs, const std::string &name, dsl::DType t, dsl::Layout l,
                      const std::vector<Shape> &shapes) {
  for (const std::string &spec : specs) {
    Compiled c = compileText(spec);
    KernelPlan plan = planOf(c, name);
    for (bool decode : {false, true}) {
      INFO(spec << (decode ? " decode" : " prefill"));
      CHECK(checkX86(c, name, t, l, x86::defaultSchedule(plan.desc, x86::hostIsa(), decode), shapes) == "");
    }
  }
}

}  // namespace

const std::vector<Shape> kShapes = {{1, 1, 1}, {1, 7, 65}, {3, 65, 7}, {1, 1, 1000}, {2, 16, 300}, {1, 130, 129}};

/// Every example the backend accepts, as the target table says (compress specs are refused, see docs/x86.md).
std::vector<std::string> x86Examples() {
  std::vector<std::string> out;
  for (const auto &e : std::filesystem::directory_iterator(sourcePath("examples"))) {
    if (e.path().extension() != ".attn") continue;
    if (!supportedBy("x86", e.path().string())) continue;
    if (const char *only = std::getenv("ATTNC_X86_ONLY"); only && e.path().stem().string() != only) continue;
    out.push_back(e.path().stem().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

TEST_CASE("x86 matrix: every example x dtype x layout against the reference", "[x86][matrix]") {
  for (const std::string &ex : x86Examples()) {
    Compiled c = compileText(readFile(sourcePath("examples/" + ex + ".attn")));
    for (const std::string &name : c.comp->kernelNames()) {
      KernelPlan dPlan = planOf(c, name);
      const KernelDesc *d = &dPlan.desc;
      for (dsl::DType t : {dsl::DType::F32, dsl::DType::F16, dsl::DType::BF16})
        for (dsl::Layout l : {dsl::Layout::BHSD, dsl::Layout::BSHD}) {
          for (bool decode : {false, true}) {
            x86::Schedule s = x86::defaultSchedule(*d, x86::hostIsa(), decode);
            INFO(ex << " " << dsl::dtypeName(t) << (decode ? " decode" : " prefill"));
            CHECK(checkX86(c, name, t, l, s, kShapes) == "");
          }
        }
    }
  }
}

TEST_CASE("x86 matrix: non-default schedules", "[x86][matrix]") {
  for (const std::string &ex : x86Examples()) {
    Compiled c = compileText(readFile(sourcePath("examples/" + ex + ".attn")));
    for (const std::string &name : c.comp->kernelNames()) {
      KernelPlan dPlan = planOf(c, name);
      const KernelDesc *d = &dPlan.desc;
      std::vector<x86::Schedule> cands = x86::candidateSchedules(*d, x86::hostIsa(), false);
      REQUIRE(cands.size() >= 3);
      for (size_t i = 1; i < cands.size(); i += 2) {
        INFO(ex << " " << cands[i].str());
        CHECK(checkX86(c, name, dsl::DType::F32, d->layout, cands[i], kShapes) == "");
      }
    }
  }
}

TEST_CASE("x86 matrix: P.V with rows in vector lanes (pvlanes)", "[x86][matrix]") {
  // f32, and bf16 converted to f32 (the twin of a bf16dot prefill), both layouts.
  for (const std::string &ex : x86Examples()) {
    Compiled c = compileText(readFile(sourcePath("examples/" + ex + ".attn")));
    for (const std::string &name : c.comp->kernelNames()) {
      KernelPlan dPlan = planOf(c, name);
      for (dsl::DType t : {dsl::DType::F32, dsl::DType::BF16}) {
        KernelDesc d = dPlan.desc;
        d.dtype = t;
        x86::Schedule s = x86::defaultSchedule(d, x86::hostIsa(), false);
        std::string err;
        REQUIRE(x86::parseSchedule("pvlanes nobf16dot", s, err));
        std::vector<std::string> notes = x86::legalize(s, d, x86::hostIsa());
        INFO(ex << " " << dsl::dtypeName(t) << " " << s.str());
        CHECK(s.pvLanes);
        // One layout per dtype (the P.V tile reads the V copy, not the layout).
        dsl::Layout l = t == dsl::DType::F32 ? dsl::Layout::BHSD : dsl::Layout::BSHD;
        CHECK(checkX86(c, name, t, l, s, kShapes) == "");
      }
    }
  }
}

TEST_CASE("x86 matrix: bf16 prefill on AMX tiles (amx)", "[x86][matrix][amx]") {
  // Every example whose dims allow the tile products, both layouts, with
  // 32-multiple tiles. Without AMX here the JIT runs the library's twin (f32
  // products): checked too, and said.
  if (x86::hostIsa() != x86::Isa::Avx512) {
    // AMX tiles are an AVX-512 kernel (and so is its f32 twin): on an
    // AVX2-only CPU there is nothing to run, and the legalizer must turn the
    // knob off and say why.
    WARN("this CPU has no AVX-512: the amx kernels cannot run here; checking that the legalizer refuses them");
    Compiled c = compileText(readFile(sourcePath("examples/llama3_8b.attn")));
    KernelDesc d = planOf(c, "llama3_8b").desc;
    d.dtype = dsl::DType::BF16;
    x86::Schedule s = x86::defaultSchedule(d, x86::Isa::Avx2, false);
    s.amx = true;
    const std::vector<std::string> notes = x86::legalize(s, d, x86::Isa::Avx2);
    CHECK_FALSE(s.amx);
    CHECK(std::any_of(notes.begin(), notes.end(), [](const std::string &n) { return n == "amx -> off (AVX-512 only)"; }));
    return;
  }
  if (!x86::hostHasAmx()) WARN("this CPU has no AMX (or the OS refused it): the amx tests check the f32 twin only");
  int tested = 0;
  for (const std::string &ex : x86Examples()) {
    Compiled c = compileText(readFile(sourcePath("examples/" + ex + ".attn")));
    for (const std::string &name : c.comp->kernelNames()) {
      KernelPlan dPlan = planOf(c, name);
      KernelDesc d = dPlan.desc;
      d.dtype = dsl::DType::BF16;
      x86::Schedule s = x86::defaultSchedule(d, x86::hostIsa(), false);
      const int group = static_cast<int>(d.tileGroup());
      s.qPerTile = 32 / std::gcd(32, group) * (group < 32 ? 2 : 1);
      s.tileKv = 64;
      s.amx = true;
      x86::legalize(s, d, x86::hostIsa());
      if (!s.amx) continue;  // (dims not multiples of 32, additive scores, low rank: legalize says why)
      ++tested;
      for (dsl::Layout l : {dsl::Layout::BHSD, dsl::Layout::BSHD}) {
        INFO(ex << " " << s.str());
        CHECK(checkX86(c, name, dsl::DType::BF16, l, s, kShapes) == "");
      }
    }
  }
  CHECK(tested >= (std::getenv("ATTNC_X86_ONLY") ? 1 : 5));
}

}  // namespace attnc::test

namespace attnc::test {

TEST_CASE("x86 head dims that are not powers of two and value_dim != head_dim", "[x86]") {
  struct Case {
    int d, dv, heads, kv;
    const char *mask;
  };
  for (Case k : {Case{72, 40, 4, 2, "causal"}, Case{192, 192, 2, 1, "window(20)"}, Case{96, 72, 6, 3, "causal"}}) {
    std::string text = fmt::format("attention odd {{\n  dtype f32\n  heads {}\n  kv_heads {}\n  head_dim {}\n"
                                   "  value_dim {}\n  output lse\n  mask {}\n}}\n",
                                   k.heads, k.kv, k.d, k.dv, k.mask);
    Compiled c = compileText(text);
    KernelPlan dPlan = planOf(c, "odd");
      const KernelDesc *d = &dPlan.desc;
    for (dsl::DType t : {dsl::DType::F32, dsl::DType::BF16})
      for (dsl::Layout l : {dsl::Layout::BHSD, dsl::Layout::BSHD})
        for (bool decode : {false, true}) {
          INFO("head_dim " << k.d << " value_dim " << k.dv << " " << dsl::dtypeName(t) << (decode ? " decode" : ""));
          CHECK(checkX86(c, "odd", t, l, x86::defaultSchedule(*d, x86::hostIsa(), decode),
                         {{1, 1, 50}, {2, 9, 33}, {1, 40, 40}}) == "");
        }
  }
}


TEST_CASE("x86: every function and operator of the language in the regions", "[x86][ops]") {
  // The same spec as the CUDA backend's test (test_cuda.cpp): every function,
  // integer wrap-around, C division and remainder, inputs of every dtype.
  const std::string ops = readFile(sourcePath("tests/unit/every_op.attn"));
  // ATTNC_OPS_SPEC=FILE runs another spec named `ops` instead (to bisect a failure).
  Compiled c = compileText(std::getenv("ATTNC_OPS_SPEC") ? readFile(std::getenv("ATTNC_OPS_SPEC")) : ops);
  for (bool decode : {false, true}) {
    KernelPlan dPlan = planOf(c, "ops");
      const KernelDesc *d = &dPlan.desc;
    x86::Schedule s = x86::defaultSchedule(*d, x86::hostIsa(), decode);
    for (dsl::DType t : {dsl::DType::F16, dsl::DType::F32}) {
      INFO(dsl::dtypeName(t) << (decode ? " decode" : " prefill"));
      CHECK(checkX86(c, "ops", t, dsl::Layout::BSHD, s, {{2, 9, 23}, {1, 1, 70}, {1, 40, 37}}) == "");
    }
  }
}

}  // namespace attnc::test

namespace attnc::test {

TEST_CASE("x86: NaN and infinity in the inputs follow the numerics contract on every path", "[x86][nonfinite]") {
  for (const NonFiniteCase &c : nonFiniteCases()) {
    INFO(c.what);
    CHECK(checkNonFinite(c, [&](const KernelPlan &plan, KernelArgs &args, std::string &err) {
            auto k = x86::HalideKernel::create(plan, x86::defaultSchedule(plan.desc, x86::hostIsa(), c.seqQ <= 16),
                                               x86::hostIsa(), err);
            return k && k->run(args.tensors, 2, c.nsplit, err);
          }) == "");
  }
}

}  // namespace attnc::test

namespace attnc::test {

TEST_CASE("x86: integer bit operators agree with the reference", "[x86][bits]") {
  checkX86Defaults(bitOpSpecs(), "bits", dsl::DType::F32, dsl::Layout::BHSD, {{1, 7, 65}, {2, 16, 300}, {1, 130, 129}});
}

TEST_CASE("x86: the ported FlexAttention mods (examples/flex) agree with the reference", "[x86][flex]") {
  const std::vector<std::string> examples = flexExamples();
  REQUIRE(examples.size() >= 29);  // (docs/porting.md: every section has one)
  size_t i = 0;
  for (const std::string &ex : examples) {
    INFO(ex);
    REQUIRE(supportedBy("x86", sourcePath("examples/flex/" + ex + ".attn")));
    Compiled c = compileText(readFile(sourcePath("examples/flex/" + ex + ".attn")));
    KernelPlan plan = planOf(c, ex);
    const dsl::DType t = i++ % 2 ? dsl::DType::F32 : dsl::DType::BF16;
    for (bool decode : {false, true}) {
      x86::Schedule s = x86::defaultSchedule(plan.desc, x86::hostIsa(), decode);
      CHECK(checkX86(c, ex, t, dsl::Layout::BHSD, s, {{1, 256, 256}, {2, 1, 200}, {1, 100, 130}}) == "");
    }
  }
}

TEST_CASE("x86: bounded reductions agree with the reference", "[x86][reduce]") {
  checkX86Defaults(reductionSpecs(), "red", dsl::DType::BF16, dsl::Layout::BHSD, {{1, 1, 50}, {2, 65, 70}, {1, 128, 128}});
}

TEST_CASE("x86: inputs sized by expressions of the lengths agree with the reference", "[x86][size_expr]") {
  checkX86Defaults(sizeExprSpecs(), "sized", dsl::DType::BF16, dsl::Layout::BHSD,
                   {{1, 1, 50}, {2, 65, 70}, {1, 128, 128}, {1, 17, 300}});
}

TEST_CASE("x86: top-left mask builtins agree with the reference", "[x86][top_left]") {
  checkX86Defaults(topLeftSpecs(), "tl", dsl::DType::BF16, dsl::Layout::BSHD,
                   {{1, 1, 50}, {1, 7, 65}, {2, 65, 7}, {1, 130, 300}});
}

TEST_CASE("x86: functions of language 1.1 within their accuracy bounds", "[x86][functions]") {
  const int32_t Sq = 80;
  for (const FunctionCase &fc : functionCases())
  for (const char *dtype : {"f32", "bf16"}) {  // (bf16: the bf16-dot prefill path)
    Compiled c = compileText(functionSpec(fc, dtype));
    KernelPlan plan = planOf(c, "fn");
    for (bool decode : {false, true}) {
      INFO(fc.expr << " " << dtype << (decode ? " decode" : " prefill"));
      std::string err;
      auto k = x86::HalideKernel::create(plan, x86::defaultSchedule(plan.desc, x86::hostIsa(), decode), x86::hostIsa(), err);
      INFO(err);
      REQUIRE(k);
      KernelArgs args = makeArgs(plan.desc, 1, Sq, 3, 5);
      REQUIRE(k->run(args.tensors, 2, 0, err));
      CHECK(checkFunctionLse(fc, args.output(1).data, Sq, 8, 1e-6) == "");
    }
  }
}

TEST_CASE("x86: masks whose integers wrap agree with the reference", "[x86][wrap]") {
  for (const std::string &spec : wrapAroundSpecs()) {
    Compiled c = compileText(spec);
    KernelPlan plan = planOf(c, "wrap");
    for (bool decode : {false, true}) {
      INFO(spec << (decode ? " decode" : " prefill"));
      CHECK(checkX86(c, "wrap", dsl::DType::F32, dsl::Layout::BHSD,
                     x86::defaultSchedule(plan.desc, x86::hostIsa(), decode), {{1, 7, 65}, {2, 16, 300}, {1, 130, 129}}) == "");
    }
  }
}

}  // namespace attnc::test

namespace attnc::test {

TEST_CASE("x86: pruned heads are zero, the others right, on every path", "[x86][prune]") {
  std::vector<std::string> specs;
  for (const PruneCase &pc : pruneCases()) {
    REQUIRE(!planOf(compileText(pc.spec), "pr").desc.headTable.empty());
    specs.push_back(pc.spec);
  }
  checkX86Specs(specs, "pr", {{1, 1, 1}, {2, 7, 65}, {1, 1, 300}, {1, 130, 129}});
}

TEST_CASE("x86: the K/V of a kv head whose query heads are all pruned are never read", "[x86][prune]") {
  for (const PruneCase &pc : pruneCases()) {
    if (pc.poison.empty()) continue;
    Compiled c = compileText(pc.spec);
    KernelPlan plan = planOf(c, "pr");
    const KernelDesc &d = plan.desc;
    for (bool decode : {false, true}) {
      INFO(pc.spec << (decode ? " decode" : " prefill"));
      const int64_t seqQ = decode ? 1 : 70, seqKv = 150;
      KernelArgs args = makeArgs(d, 2, seqQ, seqKv, 11);
      const double nan = std::numeric_limits<double>::quiet_NaN();
      for (int64_t g : pc.poison) {
        fillHead(args, d, "k", g, nan);
        fillHead(args, d, "v", g, nan);
      }
      for (int64_t h : d.prunedHeads) fillHead(args, d, "q", h, nan);
      auto ref = ReferenceKernel::create(plan);
      HostTensor out, lse, smax;
      std::string err;
      REQUIRE(ref->run(args.inputs(), out, d.outputLse ? &lse : nullptr, err, 0, &smax));
      for (double x : out.data) REQUIRE(std::isfinite(x));
      auto k = x86::HalideKernel::create(plan, x86::defaultSchedule(d, x86::hostIsa(), decode), x86::hostIsa(), err);
      REQUIRE(k);
      // A read of a poisoned head's K or V ends the test with SIGSEGV.
      UnreadableHeads guard(args, pc.poison);
      REQUIRE(k->run(args.tensors, 2, 0, err));
      CHECK(compareWithReference(d, args, out, lse, smax, seqQ) == "");
    }
  }
}

}  // namespace attnc::test

namespace attnc::test {

TEST_CASE("x86: block-sparse kernels visit the kept blocks only, on every path", "[x86][sparse]") {
  const dsl::DType dtypes[] = {dsl::DType::F32, dsl::DType::BF16, dsl::DType::F16};
  size_t i = 0;
  for (const std::string &spec : sparseCases()) {
    Compiled c = compileText(spec);
    KernelPlan plan = planOf(c, "sp");
    const int64_t B = plan.desc.sparseBlock;
    REQUIRE(B > 0);
    dsl::DType t = dtypes[i++ % 3];
    // Half the blocks kept, and every block of query block 1 dropped (those
    // rows are fully masked: out 0, lse -inf).
    auto prepare = [&](KernelArgs &a) { fillBlockMask(a, 0.5, static_cast<uint32_t>(a.host[0].numel()), 1); };
    for (dsl::Layout l : {dsl::Layout::BHSD, dsl::Layout::BSHD})
      for (bool decode : {false, true}) {
        KernelDesc d = plan.desc;
        d.dtype = t;
        d.layout = l;
        x86::Schedule s = x86::defaultSchedule(d, x86::hostIsa(), decode);
        // The default tiles divide the block: a kept tile lies in one block.
        CHECK(B % s.tileKv == 0);
        CHECK(B % s.qPerTile == 0);
        INFO(spec << dsl::dtypeName(t) << (decode ? " decode" : " prefill"));
        CHECK(checkX86(c, "sp", t, l, s, {{1, 1, 1}, {2, 7, 65}, {1, 1, 300}, {1, 130, 129}, {1, 40, 200}}, 2,
                       prepare) == "");
      }
    // Tiles that do not divide the block (a tile over two blocks, or a kv
    // tile wider than the block) stay right, over every block they touch.
    for (const char *knobs : {"q5 kv16", "q3 kv128", "q1 kv40"}) {
      x86::Schedule s = x86::defaultSchedule(plan.desc, x86::hostIsa(), false);
      std::string err;
      REQUIRE(x86::parseSchedule(knobs, s, err));
      x86::legalize(s, plan.desc, x86::hostIsa());
      INFO(spec << knobs);
      CHECK(checkX86(c, "sp", dsl::DType::F32, plan.desc.layout, s, {{2, 7, 65}, {1, 130, 129}}, 2, prepare) == "");
    }
  }
}

TEST_CASE("x86: a block mask that keeps nothing masks every row", "[x86][sparse]") {
  Compiled c = compileText(sparseCases()[0]);
  KernelPlan plan = planOf(c, "sp");
  for (bool decode : {false, true}) {
    const int64_t seqQ = decode ? 1 : 40;
    KernelArgs args = makeArgs(plan.desc, 1, seqQ, 100, 3);
    fillBlockMask(args, 0.0, 1);
    std::string err;
    auto k = x86::HalideKernel::create(plan, x86::defaultSchedule(plan.desc, x86::hostIsa(), decode), x86::hostIsa(), err);
    REQUIRE(k);
    REQUIRE(k->run(args.tensors, 2, 0, err));
    HostTensor out = args.output(0), lse = args.output(1);
    for (double x : out.data) CHECK(x == 0.0);
    for (double x : lse.data) CHECK(x == -std::numeric_limits<double>::infinity());
  }
}

}  // namespace attnc::test

namespace attnc::test {

TEST_CASE("x86: top-T selects the reference's blocks, ties included, the same on any thread count", "[x86][sparse]") {
  // Blocks of K repeat every 2 blocks: estimates tie exactly, and only the
  // tie rule (lower block first) decides which are kept.
  for (const char *mask : {"", "  mask causal\n"}) {
    Compiled c = compileText(std::string("attention tt {\n  dtype f32\n  heads 2\n  head_dim 16\n  output lse\n") +
                             mask + "  compress {\n    sparse block 8 top 2\n  }\n}\n");
    KernelPlan plan = planOf(c, "tt");
    auto ref = ReferenceKernel::create(plan);
    for (bool decode : {false, true}) {
      const int64_t seqQ = decode ? 3 : 64, seqKv = 96;
      KernelArgs args = makeArgs(plan.desc, 2, seqQ, seqKv, 21);
      repeatKBlocks(args, 8, 2);
      HostTensor out, lse, smax;
      std::string err;
      REQUIRE(ref->run(args.inputs(), out, &lse, err, 0, &smax));
      auto k = x86::HalideKernel::create(plan, x86::defaultSchedule(plan.desc, x86::hostIsa(), decode), x86::hostIsa(), err);
      REQUIRE(k);
      std::vector<std::vector<unsigned char>> results;
      for (int threads : {1, 2, 3}) {
        for (size_t a = args.sig.size() - 2; a < args.sig.size(); ++a) std::fill(args.mem[a].begin(), args.mem[a].end(), 0xff);
        REQUIRE(k->run(args.tensors, threads, 0, err));
        INFO(mask << (decode ? " decode" : " prefill") << ", " << threads << " threads");
        CHECK(compareWithReference(plan.desc, args, out, lse, smax, seqQ) == "");
        results.push_back(args.mem[args.sig.size() - 2]);
      }
      CHECK(results[0] == results[1]);
      CHECK(results[0] == results[2]);
    }
  }
}

}  // namespace attnc::test

namespace attnc::test {

TEST_CASE("x86: Linformer kernels attend over the projected keys, on every path", "[x86][linformer]") {
  for (const std::string &spec : linformerCases()) REQUIRE(planOf(compileText(spec), "lf").desc.lowRank == KernelDesc::LowRank::Seq);
  checkX86Specs(linformerCases(), "lf", {{1, 1, 1}, {2, 7, 65}, {1, 1, 300}, {1, 130, 129}});
}

}  // namespace attnc::test

namespace attnc::test {

TEST_CASE("x86: MLA (low_rank kv, absorbed) matches the reference on every path", "[x86][mla]") {
  for (const std::string &spec : mlaCases()) REQUIRE(planOf(compileText(spec), "ml").desc.lowRank == KernelDesc::LowRank::Kv);
  checkX86Specs(mlaCases(), "ml", {{1, 1, 1}, {2, 7, 65}, {1, 1, 300}, {1, 130, 129}});
}

TEST_CASE("x86: MLA materialized (mlamat) matches the reference on every path", "[x86][mla]") {
  // K and V tiles built from the latent rows, both forms of every MLA case.
  checkX86Specs(mlaCases(), "ml", {{1, 1, 1}, {2, 7, 65}, {1, 1, 300}, {1, 130, 129}}, {}, "mlamat");
  // What only the materialized form runs: additive scores and top-T, the
  // default schedule picks it (legalize would too).
  const std::vector<std::string> only = {
      "attention ml {\n  dtype f32\n  heads 4\n  kv_heads 2\n  head_dim 16\n  score additive(units 8)\n"
      "  output lse\n  mask causal\n  compress {\n    low_rank kv rank 24\n  }\n}\n",
      "attention ml {\n  dtype f32\n  heads 4\n  kv_heads 1\n  head_dim 48\n  value_dim 32\n  output lse\n"
      "  mask causal\n  compress {\n    sparse block 16 top 2\n    low_rank kv rank 32 rope 16\n  }\n}\n",
  };
  for (const std::string &spec : only)
    for (bool decode : {false, true})
      CHECK(x86::defaultSchedule(planOf(compileText(spec), "ml").desc, x86::hostIsa(), decode).mlaMaterialized);
  checkX86Specs(only, "ml", {{1, 1, 1}, {2, 7, 65}, {1, 1, 300}, {1, 130, 129}});
}

TEST_CASE("x86: Halide's autoschedulers schedule the analyzable form, whose numbers are the reference's",
          "[x86][autoschedule]") {
  // (The rivals of `attnc tune`: the same algorithm in its one-chain form,
  // scheduled by Halide for the shape it runs. Every autoscheduler on a mask
  // that reads an input; one each, rotating, on the others. An autoscheduler
  // may also emit a schedule Halide refuses: Adams2019 unrolls topk_sparse's
  // kv-tile loop at this shape, "Can only unroll for loops over a constant
  // extent"; `attnc tune` reports such a rival as not built.)
  struct Case {
    std::string example;
    std::vector<std::string> schedulers;
  };
  const std::vector<Case> cases = {{"packed_docs", {"Adams2019", "Li2018", "Mullapudi2016"}},
                                   {"sigmoid_attn", {"Li2018"}},
                                   {"mla_latent", {"Mullapudi2016"}},
                                   {"alibi", {"Adams2019"}},
                                   {"topk_sparse", {"Li2018"}}};
  const Shape s{2, 48, 80};
  for (const Case &cs : cases) {
    Compiled c = compileText(readFile(sourcePath("examples/" + cs.example + ".attn")));
    const std::string name = c.comp->kernelNames().front();
    KernelPlan plan = planOf(c, name);
    plan.desc.dtype = dsl::DType::F32;
    for (const std::string &as : cs.schedulers) {
      INFO(cs.example << " " << as);
      std::string err;
      auto k = x86::HalideKernel::createAutoscheduled(plan, as, x86::hostIsa(), s.batch, s.seqQ, s.seqKv, 2, err);
      INFO(err);
      REQUIRE(k);
      const bool jitted = k->jitCompile(err);
      INFO(err);
      REQUIRE(jitted);
      KernelArgs args = makeArgs(plan.desc, s.batch, s.seqQ, s.seqKv, 17);
      scaleProjections(args);
      HostTensor out, lse, smax;
      auto ref = ReferenceKernel::create(plan);
      REQUIRE(ref->run(args.inputs(), out, plan.desc.outputLse ? &lse : nullptr, err, 0, &smax));
      REQUIRE(k->run(args.tensors, 2, 0, err));
      CHECK(compareWithReference(plan.desc, args, out, lse, smax, s.seqQ) == "");
    }
  }
}

TEST_CASE("x86 MLA: the cost model picks the form by the work per pair", "[x86][mla][schedule]") {
  auto desc = [](int64_t heads, int64_t D, int64_t Dv, int64_t R, int64_t P) {
    KernelDesc d;
    d.heads = heads, d.kvHeads = 1, d.headDim = D, d.valueDim = Dv, d.rank = R, d.ropeDim = P;
    d.lowRank = KernelDesc::LowRank::Kv;
    return d;
  };
  // DeepSeek's 512 + 64 over head_dim 192: absorbed (2176 per pair) beats
  // materialized at 64 rows (640 + 2 x 512 x 256 / 64 = 4736) and at 128 (2688).
  CHECK_FALSE(x86::mlaMaterializedCheaper(desc(16, 192, 128, 512, 64), 64));
  CHECK_FALSE(x86::mlaMaterializedCheaper(desc(16, 192, 128, 512, 64), 128));
  // A latent much wider than the heads: materialized (256 + 2 x 512 x 128 / 128 = 1280 < 2048).
  CHECK(x86::mlaMaterializedCheaper(desc(16, 64, 64, 512, 0), 128));
  CHECK_FALSE(x86::mlaMaterializedCheaper(desc(16, 64, 64, 512, 0), 16));
}

}  // namespace attnc::test
