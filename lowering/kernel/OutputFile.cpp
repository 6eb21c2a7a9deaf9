#include "lowering/kernel/OutputFile.h"

#include <fstream>

namespace attnc {

bool makeOutputDir(const std::string &dir, std::string &error) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    error = "cannot create `" + dir + "`: " + ec.message();
    return false;
  }
  return true;
}

bool writeTextFile(const std::filesystem::path &path, const std::string &text, std::string &error) {
  std::ofstream f(path, std::ios::binary);
  f << text;
  f.close();
  if (!f) {
    error = "cannot write `" + path.string() + "`";
    return false;
  }
  return true;
}

}  // namespace attnc
