#include "lowering/kernel/OutputFile.h"

#include <fstream>

namespace attnc {

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
