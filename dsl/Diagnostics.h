// Diagnostics about a spec: one registry of kinds (Diagnostics.def), an engine
// that collects them and renders them as `file:line:col: error: message`, the
// source line and a caret under the range, with notes for related places.
#pragma once

#include <fmt/format.h>

#include <cstddef>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "dsl/Source.h"

namespace attnc::dsl {

enum class Severity { Error, Warning, Note };

enum class DiagKind {
#define DIAG(kind, severity, format) kind,
#include "dsl/Diagnostics.def"
#undef DIAG
};

struct DiagInfo {
  std::string_view name;
  Severity severity;
  std::string_view format;
};

/// Every registered kind, in registry order.
const std::vector<DiagInfo> &allDiagnostics();
const DiagInfo &diagInfo(DiagKind kind);

struct Diagnostic {
  DiagKind kind;
  Severity severity;
  SourceRange range;
  std::string message;
  std::vector<Diagnostic> notes;
};

/// Collects diagnostics for one file. Stops accepting errors after a limit, so
/// that a pathological input cannot make the compiler print without bound.
class DiagnosticEngine {
public:
  explicit DiagnosticEngine(const SourceFile &file, size_t errorLimit = 50)
      : file_(file), errorLimit_(errorLimit) {}

  template <typename... Args>
  Diagnostic *error(DiagKind kind, SourceRange range, Args &&...args) {
    return report(kind, range, fmt::format(fmt::runtime(diagInfo(kind).format),
                                           std::forward<Args>(args)...));
  }

  /// Attaches a note to a diagnostic returned by error(); a null target is ignored.
  template <typename... Args>
  void note(Diagnostic *target, DiagKind kind, SourceRange range, Args &&...args) {
    if (!target) return;
    target->notes.push_back({kind, Severity::Note, range,
                             fmt::format(fmt::runtime(diagInfo(kind).format),
                                         std::forward<Args>(args)...),
                             {}});
  }

  size_t errorCount() const { return errorCount_; }
  bool hasErrors() const { return errorCount_ > 0; }
  /// True once the error limit was reached; callers should stop parsing.
  bool saturated() const { return saturated_; }
  const std::vector<Diagnostic> &diagnostics() const { return diags_; }
  const SourceFile &file() const { return file_; }

  /// Renders every diagnostic, in the order reported.
  void print(std::ostream &os, bool color) const;
  std::string render(bool color = false) const;

private:
  Diagnostic *report(DiagKind kind, SourceRange range, std::string message);

  const SourceFile &file_;
  size_t errorLimit_;
  size_t errorCount_ = 0;
  bool saturated_ = false;
  std::vector<Diagnostic> diags_;
};

/// Levenshtein distance, for "did you mean" suggestions.
size_t editDistance(std::string_view a, std::string_view b);
/// "; did you mean `x`?" for the closest candidate within a small distance, or "".
std::string didYouMean(std::string_view name, const std::vector<std::string_view> &candidates);

}  // namespace attnc::dsl
