// IR golden tests: every example's IR after every pipeline step, checked
// against tests/ir/<example>.mlir. ATTNC_UPDATE_GOLDEN=1 rewrites the files.
#include <cstdlib>
#include <filesystem>

#include "TestUtil.h"

using namespace attnc;
namespace fs = std::filesystem;

TEST_CASE("IR of every example after every step", "[ir]") {
  bool update = std::getenv("ATTNC_UPDATE_GOLDEN") != nullptr;
  fs::path examples = test::sourcePath("examples");
  size_t count = 0;
  for (const auto &entry : fs::directory_iterator(examples)) {
    if (entry.path().extension() != ".attn") continue;
    ++count;
    std::string name = entry.path().stem().string();
    SECTION(name) {
      auto file = dsl::checkSource(entry.path().filename().string(), test::readFile(entry.path().string()));
      REQUIRE(file->ok());
      std::string err;
      auto comp = Compilation::fromChecked(*file, err);
      REQUIRE(comp);
      std::ostringstream trace;
      PipelineOptions opts;
      opts.printAfterAll = true;
      REQUIRE(comp->run(opts, &trace, err));
      fs::path golden = test::sourcePath("tests/ir/" + name + ".mlir");
      if (update) {
        std::ofstream(golden) << trace.str();
      } else {
        INFO("golden " << golden << " (ATTNC_UPDATE_GOLDEN=1 rewrites it)");
        REQUIRE(fs::exists(golden));
        CHECK(trace.str() == test::readFile(golden.string()));
      }
    }
  }
  CHECK(count >= 12);
}

TEST_CASE("the pipeline is deterministic", "[ir]") {
  std::string text = test::readFile(test::sourcePath("examples/t5_bias.attn"));
  auto a = test::compileText(text), b = test::compileText(text);
  CHECK(a.comp->printIR(true) == b.comp->printIR(true));
}

TEST_CASE("locations point into the spec", "[ir]") {
  auto c = test::compileText("attention a {\n dtype f32\n heads 4\n head_dim 64\n mask causal\n}\n");
  std::string ir = c.comp->printIR(true);
  CHECK(ir.find("test.attn\":5:7") != std::string::npos);
}

TEST_CASE("pipeline steps are listed in order", "[ir]") {
  CHECK(pipelineSteps() == std::vector<std::string>{"mlirgen", "expand-builtins", "canonicalize", "mask-analysis", "plan-heads"});
}
