// Golden diagnostics: every tests/error/<kind>.attn must produce exactly the
// `#> ` lines at its end, and every kind in the registry must have such a file.
#include <filesystem>
#include <set>

#include "TestUtil.h"
#include "dsl/Diagnostics.h"

using namespace attnc;
namespace fs = std::filesystem;

namespace {

std::string expectedOf(const std::string &text) {
  std::string out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (line.rfind("#>", 0) == 0) out += (line.size() > 3 ? line.substr(3) : std::string()) + "\n";
  return out;
}

}  // namespace

TEST_CASE("every diagnostic kind has a golden test", "[diagnostics]") {
  fs::path dir = test::sourcePath("tests/error");
  for (const dsl::DiagInfo &info : dsl::allDiagnostics()) {
    INFO("kind " << info.name);
    CHECK(fs::exists(dir / (std::string(info.name) + ".attn")));
  }
}

TEST_CASE("golden diagnostics", "[diagnostics]") {
  fs::path dir = test::sourcePath("tests/error");
  std::set<std::string> kinds;
  for (const dsl::DiagInfo &info : dsl::allDiagnostics()) kinds.insert(std::string(info.name));
  size_t files = 0;
  for (const auto &entry : fs::directory_iterator(dir)) {
    if (entry.path().extension() != ".attn") continue;
    ++files;
    std::string name = entry.path().filename().string();
    std::string kind = entry.path().stem().string();
    SECTION(name) {
      std::string text = test::readFile(entry.path().string());
      auto file = dsl::checkSource(name, text);
      // (A warning's file still compiles; an error's does not.)
      bool warning = false;
      for (const dsl::DiagInfo &info : dsl::allDiagnostics())
        if (info.name == kind) warning = info.severity == dsl::Severity::Warning;
      CHECK(file->ok() == warning);
      CHECK(file->diags->render(false) == expectedOf(text));
      // The file is named after the kind it tests, and produces it.
      REQUIRE(kinds.count(kind));
      bool found = false;
      for (const dsl::Diagnostic &d : file->diags->diagnostics()) {
        found = found || dsl::diagInfo(d.kind).name == kind;
        for (const dsl::Diagnostic &n : d.notes) found = found || dsl::diagInfo(n.kind).name == kind;
      }
      CHECK(found);
    }
  }
  CHECK(files >= dsl::allDiagnostics().size());
}

TEST_CASE("messages follow the style rules", "[diagnostics]") {
  for (const dsl::DiagInfo &info : dsl::allDiagnostics()) {
    INFO(info.name);
    std::string_view f = info.format;
    REQUIRE(!f.empty());
    CHECK(!std::isupper(static_cast<unsigned char>(f[0])));
    CHECK(f.back() != '.');
  }
}

TEST_CASE("did you mean", "[diagnostics]") {
  CHECK(dsl::editDistance("hedas", "heads") == 1);
  CHECK(dsl::editDistance("", "abc") == 3);
  CHECK(dsl::didYouMean("q_indx", {"q_idx", "kv_idx"}) == "; did you mean `q_idx`?");
  CHECK(dsl::didYouMean("zzzzzz", {"q_idx", "kv_idx"}).empty());
}
