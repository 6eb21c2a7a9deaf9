// Helpers shared by the unit tests: compile spec text through the pipeline.
#pragma once

#include <catch2/catch.hpp>
#include <fstream>
#include <sstream>
#include <string>

#include "dsl/Sema.h"
#include "lowering/Pipeline.h"
#include "lowering/Reference.h"

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

}  // namespace attnc::test
