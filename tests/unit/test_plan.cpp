// The kernel plan, the target table and the x86 policy: the seams of the
// layout (docs/architecture.md). What the pipeline exports is what every
// backend reads; what the table says is what `attnc -target` does; what the
// JIT path decides at run time is what shipped kernels decide.
#include <filesystem>

#include "TestUtil.h"
#include "driver/Roofs.h"
#include "driver/Targets.h"
#include "lowering/x86/EmitX86.h"
#include "lowering/x86/Policy.h"
#include "lowering/x86/ToHalide.h"

using namespace attnc;

TEST_CASE("the plan carries the pipeline's mask analysis, regions and source notes", "[plan]") {
  auto c = test::compileText(
      "attention a {\n dtype bf16\n heads 8\n kv_heads 2\n head_dim 64\n layout bshd\n"
      " input doc : i32[seq_kv]\n mask causal && doc[q_idx] == doc[kv_idx]\n score_mod score * 0.5\n}\n");
  KernelPlan p = test::planOf(c, "a");
  CHECK(p.desc.name == "a");
  CHECK(p.desc.dtype == dsl::DType::BF16);
  CHECK(p.desc.layout == dsl::Layout::BSHD);
  CHECK(p.desc.kvHeads == 2);
  REQUIRE(p.desc.inputs.size() == 1);
  CHECK(p.desc.inputs[0].dtype == dsl::DType::I32);
  CHECK(p.mask.kind() == "runtime");
  CHECK(p.mask.outer.str() == "[-inf, q_idx + seq_kv - seq_q]");
  CHECK(p.mask.inner.str() == "{}");
  CHECK_FALSE(p.regions.mask.empty());
  CHECK_FALSE(p.regions.scoreMod.empty());
  CHECK(p.regions.bias.empty());
  CHECK(p.notes.spec == "test.attn");
  CHECK(p.notes.mask == "test.attn:8: mask (`mask causal && doc[q_idx] == doc[kv_idx]`)");
  CHECK(p.notes.scoreMod == "test.attn:9: score_mod (`score_mod score * 0.5`)");
  CHECK(p.notes.bias.empty());
}

TEST_CASE("the plan of a kernel that does not exist is an error", "[plan]") {
  auto c = test::compileText("attention a {\n dtype f32\n heads 1\n head_dim 8\n}\n");
  KernelPlan p;
  std::string err;
  CHECK_FALSE(c.comp->plan("b", p, err));
  CHECK(err == "no kernel named `b`");
  REQUIRE(c.comp->plan("a", p, err));
  CHECK(p.mask.kind() == "none");
}

TEST_CASE("the target table: names, and which backend takes which spec", "[plan][targets]") {
  std::vector<std::string> names;
  for (const driver::Target &t : driver::targets()) names.push_back(t.name);
  CHECK(names == std::vector<std::string>{"mlir", "x86", "x86-avx2", "x86-avx512", "cuda"});
  CHECK(driver::findTarget("tpu") == nullptr);
  size_t refused = 0, examples = 0;
  for (const auto &e : std::filesystem::directory_iterator(test::sourcePath("examples"))) {
    if (e.path().extension() != ".attn") continue;
    ++examples;
    auto c = test::compileText(test::readFile(e.path().string()));
    for (const std::string &name : c.comp->kernelNames()) {
      KernelPlan p = test::planOf(c, name);
      // Every example compiles for every target.
      INFO(name);
      for (const char *t : {"mlir", "x86", "x86-avx2", "x86-avx512", "cuda"}) {
        std::string why = driver::findTarget(t)->unsupported(p);
        INFO(t << ": " << why);
        CHECK(why.empty());
        refused += !why.empty();
      }
    }
  }
  CHECK(examples >= 15);
  CHECK(refused == 0);
  // low_rank kv with additive scores: every backend (x86 materialized, CUDA
  // with the key projection folded into the latent).
  auto c = test::compileText(
      "attention a {\n  dtype f32\n  heads 2\n  head_dim 16\n  score additive(units 8)\n"
      "  compress {\n    low_rank kv rank 16\n  }\n}\n");
  KernelPlan p = test::planOf(c, "a");
  for (const char *t : {"mlir", "x86", "cuda"}) CHECK(driver::findTarget(t)->unsupported(p).empty());
}

TEST_CASE("target options are checked before anything is built", "[plan][targets]") {
  driver::TargetOptions o;
  o.arch = "sm_70";
  auto bad = driver::findTarget("cuda")->checkOptions(o);
  REQUIRE(bad);
  CHECK(bad->id == driver::ErrorId::unknown_arch);
  o.arch = "sm_90a";
  o.schedule = "wm4x";
  bad = driver::findTarget("cuda")->checkOptions(o);
  REQUIRE(bad);
  CHECK(bad->id == driver::ErrorId::bad_schedule);
  o.schedule = "q0x";
  bad = driver::findTarget("x86")->checkOptions(o);
  REQUIRE(bad);
  CHECK(bad->id == driver::ErrorId::bad_schedule);
  CHECK(bad->exitCode() == 2);
  o.schedule = "q8 kv256";
  CHECK_FALSE(driver::findTarget("x86")->checkOptions(o));
}

TEST_CASE("x86 policy: kv splits and decode threshold, one definition for JIT and shipped kernels", "[plan][policy]") {
  // batch x head tasks x q tiles tasks; 4 tasks per thread are enough.
  CHECK(attnc_x86_choose_splits(1, 8, 2048, 32, 2048, 128, 2, 16) == 1);    // 512 tasks
  CHECK(attnc_x86_choose_splits(1, 1, 1, 1, 8192, 512, 2, 16) == 8);        // decode: 1 task, 16 kv tiles, 8 per 2 threads
  CHECK(attnc_x86_choose_splits(1, 1, 1, 1, 8192, 512, 16, 4) == 4);        // at most max_splits
  CHECK(attnc_x86_choose_splits(1, 1, 1, 1, 1000, 512, 16, 64) == 2);       // at most the kv tiles
  CHECK(attnc_x86_choose_splits(1, 1, 1, 1, 100, 512, 16, 64) == 1);        // one kv tile
  // The switch by cost (Policy.h): one query always decodes; with one head
  // per kv head and 32-row prefill tiles, decode's pass per query over bf16
  // K/V (10 flop-equivalents) beats prefill's 64-flop tile up to 6 queries.
  CHECK(attnc_x86_use_decode(1, 1, 32, 2));
  CHECK(attnc_x86_use_decode(6, 1, 32, 2));
  CHECK_FALSE(attnc_x86_use_decode(7, 1, 32, 2));
  CHECK_FALSE(attnc_x86_use_decode(16, 1, 32, 2));  // seq_kv 1e6: 0.49 s decode vs 0.17 s prefill (issue 10)
  // Large groups fill decode's rows: it wins up to the cap, and never past it.
  CHECK(attnc_x86_use_decode(ATTNC_X86_DECODE_MAX_SEQ_Q, 16, 2, 2));
  CHECK_FALSE(attnc_x86_use_decode(ATTNC_X86_DECODE_MAX_SEQ_Q + 1, 16, 2, 2));
  // One query decodes, whatever the group, prefill tile and element size.
  for (int64_t g : {1, 2, 4, 8, 16, 32})
    for (int64_t qt : {1, 2, 8, 32})
      for (int64_t eb : {1, 2, 4}) CHECK(attnc_x86_use_decode(1, g, qt, eb));
  // The JIT path asks the same function with the schedule's figures.
  auto c = test::compileText(test::readFile(test::sourcePath("examples/mqa_decode.attn")));
  KernelPlan p = test::planOf(c, c.comp->kernelNames().at(0));
  x86::Schedule dec = x86::defaultSchedule(p.desc, x86::Isa::Avx2, true);
  x86::Schedule pre = x86::defaultSchedule(p.desc, x86::Isa::Avx2, false);
  const int64_t heads = dec.headsInner || dec.allHeads ? 1 : p.desc.kvHeads;
  CHECK(x86::chooseSplits(p.desc, dec, 3, 1, 5000, 2) ==
        attnc_x86_choose_splits(3, heads, 1, dec.qPerTile, 5000, dec.tileKv, 2, dec.maxSplits));
  // The shipped entry point carries the policy verbatim and calls it.
  std::string c99 = x86::wrapperSource(p.desc, pre, dec, x86::Isa::Avx2);
  std::string policy = test::readFile(test::sourcePath("lowering/x86/Policy.h"));
  CHECK(c99.find(policy) != std::string::npos);
  CHECK(c99.find(fmt::format("if (attnc_x86_use_decode(seq_q, {}, {}, 2))", p.desc.heads / p.desc.kvHeads,
                             pre.qPerTile)) != std::string::npos);
  CHECK(c99.find(fmt::format("nsplit = attnc_x86_choose_splits(batch, {}, seq_q, {}, seq_kv, {}, threads, {});",
                             heads, dec.qPerTile, dec.tileKv, dec.maxSplits)) != std::string::npos);
}

TEST_CASE("x86 policy: the lse view shares out's loops", "[plan][policy]") {
  const int64_t shape[3] = {2, 4, 9}, stride[3] = {36, 9, 1};  // lse [batch, heads, seq_q]
  int32_t ext[4], str[4];
  attnc_x86_lse_view(shape, stride, 64, /*bshd=*/0, ext, str);  // out (dv, seq, heads, batch)
  CHECK(std::vector<int32_t>(ext, ext + 4) == std::vector<int32_t>{64, 9, 4, 2});
  CHECK(std::vector<int32_t>(str, str + 4) == std::vector<int32_t>{0, 1, 9, 36});
  attnc_x86_lse_view(shape, stride, 64, /*bshd=*/1, ext, str);  // out (dv, heads, seq, batch)
  CHECK(std::vector<int32_t>(ext, ext + 4) == std::vector<int32_t>{64, 4, 9, 2});
  CHECK(std::vector<int32_t>(str, str + 4) == std::vector<int32_t>{0, 9, 1, 36});
}

TEST_CASE("x86 schedules never unroll a whole GQA group", "[plan][schedule]") {
  // heads 65536 kv_heads 1 used to unroll 65536 rows in the decode schedule
  // (a stack overflow in Halide's simplifier; 4096 took a minute to compile).
  for (int64_t group : {1, 8, 64, 4096, 65536}) {
    auto c = test::compileText(fmt::format("attention g {{ dtype f32; heads {}; kv_heads 1; head_dim 64 }}", group));
    KernelPlan p = test::planOf(c, "g");
    for (x86::Isa isa : {x86::Isa::Avx2, x86::Isa::Avx512})
      for (bool decode : {false, true}) {
        x86::Schedule s = x86::defaultSchedule(p.desc, isa, decode);
        INFO("group " << group << (decode ? " decode " : " prefill ") << s.str());
        CHECK(s.rowBlock <= 2 * x86::lanes(isa));
        CHECK(s.pvRows <= 16);
      }
  }
}

TEST_CASE("bench timing and roofs: repeated runs, disagreement, a peak from FMA chains", "[bench][roofs]") {
  int calls = 0;
  driver::Timing t = driver::timeRepeated([&] { ++calls; }, 0.0, 5);
  CHECK(t.runs == 3);  // at least 3 runs, after one warm-up
  CHECK(calls == 4);
  CHECK((t.min <= t.median && t.median <= t.max));
  driver::Roofs a, b;
  a.fma512Gflops = 100, b.fma512Gflops = 109;
  a.readGbs = b.readGbs = 20;
  CHECK_FALSE(driver::roofsDisagree(a, b));
  b.readGbs = 23;  // 13% apart
  CHECK(driver::roofsDisagree(a, b));
  b.readGbs = 20, b.bf16Gflops = 500;  // measured once only: not a disagreement
  CHECK_FALSE(driver::roofsDisagree(a, b));
  // This machine has AVX2 and FMA (every machine attnc runs on does): a peak and a bandwidth come out.
  driver::Roofs r = driver::measureRoofs(1);
  CHECK(r.fma256Gflops > 0);
  CHECK(r.readGbs > 0);
  CHECK(r.fmaPeak(256) == r.fma256Gflops);
}
