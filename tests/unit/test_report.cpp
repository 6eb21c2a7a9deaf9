// `attnc report` (driver/Report.cpp): its counts against numbers derived by
// hand for small specs of each transform, the accuracy runs' determinism and
// their rounding-level error at full rank.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "TestUtil.h"
#include "driver/Report.h"

namespace attnc::test {
namespace {

nlohmann::json reportOf(const std::string &body, int64_t Sq, int64_t Skv, bool accuracy = false, double density = 0.25,
                        int64_t tile = 64) {
  Compiled c = compileText("attention t {\n  dtype f32\n" + body + "}\n");
  driver::ReportOptions o;
  o.seqQ = Sq, o.seqKv = Skv;
  o.peakGflops = 1, o.bandwidthGbs = 1;  // 1 GFLOP/s and 1 GB/s: est_seconds = max(flops, bytes) / 1e9
  o.accuracy = accuracy;
  o.accuracySeq = std::max(Sq, Skv);
  o.density = density;
  o.tile = tile;
  nlohmann::json j;
  std::string err;
  INFO(err);
  REQUIRE(driver::computeReport(planOf(c, "t"), o, j, err));
  return j;
}

double num(const nlohmann::json &j, const char *k) { return j[k].get<double>(); }

}  // namespace

TEST_CASE("report: pruning counts what the kept heads do and read", "[report]") {
  // 4 heads over 2 kv heads, head_dim 16, f32, seq 32 x 32, heads 0 and 1
  // (all of kv head 0) pruned.
  // Dense: 4 heads x 1024 pairs x (2 x 16 + 2 x 16) = 262144 FLOPs; reads q
  // 32 x 4 x 16 x 4 B = 8192, k and v 32 x 2 x 16 x 4 = 4096 each; writes out
  // 8192; KV per token 2 x (16 + 16) x 4 = 256 B.
  // Compressed: 2 heads: 131072 FLOPs; q 4096, k and v of one kv head 2048
  // each; out 8192 still (pruned heads write 0); KV per token 128 B.
  auto j = reportOf("  heads 4\n  kv_heads 2\n  head_dim 16\n  compress {\n    prune heads [0, 1]\n  }\n", 32, 32);
  const auto &d = j["dense"], &c = j["compressed"];
  CHECK(num(d, "flops") == 262144);
  CHECK(num(d, "bytes_read") == 16384);
  CHECK(num(d, "bytes_written") == 8192);
  CHECK(num(d, "kv_bytes_per_token") == 256);
  CHECK(num(c, "flops") == 131072);
  CHECK(num(c, "bytes_read") == 8192);
  CHECK(num(c, "bytes_written") == 8192);
  CHECK(num(c, "kv_bytes_per_token") == 128);
  CHECK(num(c, "params") == 0);
  // One 64 x 64 tile per head: dense 4 full; compressed 2 full, 2 skipped.
  CHECK(d["tiles"]["full"] == 4);
  CHECK(c["tiles"]["full"] == 2);
  CHECK(c["tiles"]["skipped"] == 2);
  CHECK(num(c, "tile_density") == 0.5);
  // The roofline at 1 GFLOP/s and 1 GB/s: compute-bound, 262144 ns.
  CHECK(num(d, "est_seconds") == Approx(262144e-9));
  CHECK(num(j["ratio"], "flops") == 2.0);
  CHECK(j["ratio"]["params"].is_null());
}

TEST_CASE("report: block sparsity counts the kept blocks and reads the block mask", "[report]") {
  // 2 heads, head_dim 16, f32, seq 64 x 64, blocks of 16 (4 x 4 per head).
  const std::string body = "  heads 2\n  head_dim 16\n  compress {\n    sparse block 16 input\n  }\n";
  // No block kept: no work; reads q, k, v (64 x 2 x 16 x 4 = 8192 each) and
  // the block mask (2 heads x 4 x 4 bytes = 32); 32 tiles of 16, all skipped.
  auto none = reportOf(body, 64, 64, false, 0.0, 16);
  CHECK(num(none["compressed"], "flops") == 0);
  CHECK(num(none["compressed"], "bytes_read") == 3 * 8192 + 32);
  CHECK(none["compressed"]["tiles"]["skipped"] == 32);
  CHECK(none["compressed"]["tiles"]["total"] == 32);
  // Every block kept: the dense work, 2 x 4096 x 64 = 524288 FLOPs.
  auto all = reportOf(body, 64, 64, false, 1.0, 16);
  CHECK(num(all["compressed"], "flops") == 524288);
  CHECK(num(all["dense"], "flops") == 524288);
  CHECK(all["compressed"]["tiles"]["full"] == 32);
}

TEST_CASE("report: top-T counts its kept blocks and its planning step", "[report]") {
  // 1 head, head_dim 8, f32, seq 64 x 64, blocks of 16, top 1: on data with
  // locality the best block of each query block is its diagonal one, which
  // the definition keeps anyway: 4 blocks of 256 pairs, x (2 x 8 + 2 x 8) =
  // 32768 FLOPs, plus the plan: means 2 x 64 x 8 for q and for k (2048),
  // estimates 4 x 4 x 2 x 8 (256): 35072.
  auto j = reportOf("  heads 1\n  head_dim 8\n  compress {\n    sparse block 16 top 1\n  }\n", 64, 64, false, 0.25, 16);
  CHECK(num(j["compressed"], "flops") == 35072);
  CHECK(j["compressed"]["tiles"]["full"] == 4);
  CHECK(j["compressed"]["tiles"]["skipped"] == 12);
}

TEST_CASE("report: low_rank kv counts the latent, the projections and the cache row", "[report]") {
  // 2 heads, 1 kv head, head_dim 16, rank 8, f32, seq 32 x 32: absorbed on x86
  // (2 (R + P) + 2 R = 32 per pair against at least 2 (16 + 16) = 64).
  // Pairs 1024 x 2 heads x 32 = 65536, plus q through k_up and out through
  // v_up: 32 rows x 2 heads x (2 x 16 x 8 + 2 x 8 x 16) = 32768: 98304.
  // Reads q 32 x 2 x 16 x 4 = 4096, latent 32 x 8 x 4 = 1024, k_up and v_up
  // 8 x 16 x 4 = 512 each: 6144. KV per token: 8 x 4 = 32 B against 1 x
  // (16 + 16) x 4 = 128 B. Parameters: 8 x (16 + 16) = 256.
  auto j = reportOf("  heads 2\n  kv_heads 1\n  head_dim 16\n  compress {\n    low_rank kv rank 8\n  }\n", 32, 32);
  const auto &c = j["compressed"];
  CHECK(c["mla_form"] == "absorbed");
  CHECK(num(c, "flops") == 98304);
  CHECK(num(c, "bytes_read") == 6144);
  CHECK(num(c, "kv_bytes_per_token") == 32);
  CHECK(num(j["dense"], "kv_bytes_per_token") == 128);
  CHECK(num(c, "params") == 256);
  CHECK(num(j["ratio"], "kv_bytes_per_token") == 4.0);
}

TEST_CASE("report: Linformer counts R keys and the projections", "[report]") {
  // 1 head, head_dim 8, f32, seq 16 x 16, rank 4: 16 x 4 pairs x 32 = 2048,
  // plus E.K and F.V, 2 x 4 x 16 x (8 + 8) = 2048: 4096. Reads q, k, v
  // (16 x 8 x 4 = 512 each) and e_proj, f_proj (4 x 16 x 4 = 256 each).
  // Parameters: 2 x 4 x 16 = 128.
  auto j = reportOf("  heads 1\n  head_dim 8\n  compress {\n    low_rank seq rank 4\n  }\n", 16, 16);
  const auto &c = j["compressed"];
  CHECK(num(c, "flops") == 4096);
  CHECK(num(c, "bytes_read") == 2048);
  CHECK(num(c, "params") == 128);
  CHECK(num(j["dense"], "flops") == 16 * 16 * 32);
}

TEST_CASE("report: accuracy is deterministic and at rounding level at full rank", "[report]") {
  // low_rank kv at the full rank of K and V (1 kv head x (8 + 8) = 16): the
  // SVD reproduces them; Linformer at R = seq_kv: its pooling is the identity.
  auto mla = [] {
    return reportOf("  heads 2\n  kv_heads 1\n  head_dim 8\n  output lse\n  compress {\n    low_rank kv rank 16\n  }\n",
                    24, 24, true);
  };
  auto a = mla(), b = mla();
  CHECK(a["accuracy"] == b["accuracy"]);
  CHECK(num(a["accuracy"], "max_rel_err") < 1e-5);
  auto lin = reportOf("  heads 1\n  head_dim 8\n  compress {\n    low_rank seq rank 16\n  }\n", 16, 16, true);
  CHECK(num(lin["accuracy"], "max_rel_err") < 1e-12);
  // Below full rank, the error is visible, and pruning drops whole heads.
  auto low = reportOf("  heads 2\n  kv_heads 1\n  head_dim 8\n  compress {\n    low_rank kv rank 4\n  }\n", 24, 24, true);
  CHECK(num(low["accuracy"], "max_rel_err") > 1e-3);
  // Block sparsity at density 1 drops no attention mass; at 0.25 it does.
  const std::string sp = "  heads 2\n  head_dim 16\n  compress {\n    sparse block 16 input\n  }\n";
  CHECK(num(reportOf(sp, 64, 64, true, 1.0)["accuracy"], "mass_dropped") == Approx(0).margin(1e-12));
  CHECK(num(reportOf(sp, 64, 64, true, 0.25)["accuracy"], "mass_dropped") > 0.3);
}

}  // namespace attnc::test
