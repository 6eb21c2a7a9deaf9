// A spec file held in memory, and positions in it.
// Every AST node and diagnostic refers to text by byte offsets into one SourceFile;
// line and column are computed only when a message is printed.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace attnc::dsl {

/// A half-open byte range [begin, end) in a SourceFile.
struct SourceRange {
  uint32_t begin = 0;
  uint32_t end = 0;
};

struct LineCol {
  uint32_t line = 1;    // 1-based
  uint32_t column = 1;  // 1-based, in bytes
};

class SourceFile {
public:
  SourceFile(std::string path, std::string text);

  const std::string &path() const { return path_; }
  std::string_view text() const { return text_; }
  LineCol lineCol(uint32_t offset) const;
  /// The text of a 1-based line, without its newline.
  std::string_view lineText(uint32_t line) const;
  std::string_view slice(SourceRange r) const;

private:
  std::string path_;
  std::string text_;
  std::vector<uint32_t> lineStarts_;
};

}  // namespace attnc::dsl
