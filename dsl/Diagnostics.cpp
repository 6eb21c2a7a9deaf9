#include "dsl/Diagnostics.h"

#include <fmt/format.h>

#include <algorithm>
#include <sstream>

namespace attnc::dsl {

const std::vector<DiagInfo> &allDiagnostics() {
  static const std::vector<DiagInfo> infos = {
#define DIAG(kind, severity, format) {#kind, Severity::severity, format},
#include "dsl/Diagnostics.def"
#undef DIAG
  };
  return infos;
}

const DiagInfo &diagInfo(DiagKind kind) { return allDiagnostics()[static_cast<size_t>(kind)]; }

Diagnostic *DiagnosticEngine::report(DiagKind kind, SourceRange range, std::string message) {
  if (saturated_) return nullptr;
  Severity sev = diagInfo(kind).severity;
  if (sev == Severity::Error && errorCount_ >= errorLimit_) {
    saturated_ = true;
    ++errorCount_;
    diags_.push_back({DiagKind::too_many_errors, Severity::Error, range,
                      std::string(diagInfo(DiagKind::too_many_errors).format), {}});
    return nullptr;
  }
  if (sev == Severity::Error) ++errorCount_;
  diags_.push_back({kind, sev, range, std::move(message), {}});
  return &diags_.back();
}

namespace {

const char *severityWord(Severity s) {
  switch (s) {
  case Severity::Error: return "error";
  case Severity::Warning: return "warning";
  case Severity::Note: return "note";
  }
  return "error";
}

const char *severityColor(Severity s) {
  switch (s) {
  case Severity::Error: return "\033[1;31m";
  case Severity::Warning: return "\033[1;35m";
  case Severity::Note: return "\033[1;36m";
  }
  return "";
}

void renderOne(std::ostream &os, const SourceFile &file, const Diagnostic &d, bool color) {
  LineCol lc = file.lineCol(d.range.begin);
  const char *bold = color ? "\033[1m" : "";
  const char *reset = color ? "\033[0m" : "";
  os << bold << file.path() << ':' << lc.line << ':' << lc.column << ": " << reset
     << (color ? severityColor(d.severity) : "") << severityWord(d.severity) << ": " << reset
     << bold << d.message << reset << '\n';
  std::string_view line = file.lineText(lc.line);
  // Very long lines (a 10 MB expression) are cut around the caret.
  constexpr size_t kMaxShown = 160;
  size_t col0 = lc.column - 1;
  size_t start = 0;
  if (line.size() > kMaxShown && col0 > kMaxShown / 2) start = col0 - kMaxShown / 2;
  std::string_view shown = line.substr(std::min(start, line.size()), kMaxShown);
  // Control bytes (an escape sequence in a spec) are shown as \xNN, never
  // sent to the terminal; the caret's columns follow the escaped text.
  auto isControl = [](char ch) { return (static_cast<unsigned char>(ch) < 0x20 && ch != '\t') || ch == 0x7f; };
  auto shownWidth = [&](char ch) -> size_t { return isControl(ch) ? 4 : 1; };
  std::string escaped;
  for (char ch : shown) escaped += isControl(ch) ? fmt::format("\\x{:02x}", static_cast<unsigned char>(ch)) : std::string(1, ch);
  os << "  " << escaped << '\n';
  std::string caret;
  for (size_t i = start; i < col0 && i < line.size(); ++i)
    caret += line[i] == '\t' ? std::string(1, '\t') : std::string(shownWidth(line[i]), ' ');
  // The caret spans the range on its first line (at least one column).
  size_t lineEnd = line.size() + 1;
  size_t width = 1;
  if (d.range.end > d.range.begin) {
    size_t endCol = std::min(col0 + (d.range.end - d.range.begin), lineEnd);
    width = 0;
    for (size_t i = col0; i < endCol; ++i) width += i < line.size() ? shownWidth(line[i]) : 1;
    width = std::max<size_t>(1, width);
  }
  width = std::min(width, kMaxShown);
  os << "  " << (color ? "\033[1;32m" : "") << caret << '^' << std::string(width - 1, '~') << reset
     << '\n';
}

}  // namespace

void DiagnosticEngine::print(std::ostream &os, bool color) const {
  // In source order, whichever phase found them; the error-limit message stays last.
  std::vector<const Diagnostic *> order;
  for (const Diagnostic &d : diags_) order.push_back(&d);
  std::stable_sort(order.begin(), order.end(), [](const Diagnostic *a, const Diagnostic *b) {
    bool al = a->kind == DiagKind::too_many_errors, bl = b->kind == DiagKind::too_many_errors;
    if (al != bl) return bl;
    return a->range.begin < b->range.begin;
  });
  for (const Diagnostic *dp : order) {
    const Diagnostic &d = *dp;
    renderOne(os, file_, d, color);
    for (const Diagnostic &n : d.notes) renderOne(os, file_, n, color);
  }
}

std::string DiagnosticEngine::render(bool color) const {
  std::ostringstream os;
  print(os, color);
  return os.str();
}

size_t editDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> prev2(b.size() + 1), prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t sub = prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, sub});
      // A swap of two neighbours (`hedas`) counts as one edit.
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
        cur[j] = std::min(cur[j], prev2[j - 2] + 1);
    }
    prev2 = prev;
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::string didYouMean(std::string_view name, const std::vector<std::string_view> &candidates) {
  if (name.size() > 64) return "";
  size_t best = SIZE_MAX;
  std::string_view bestName;
  for (std::string_view c : candidates) {
    size_t d = editDistance(name, c);
    if (d < best) {
      best = d;
      bestName = c;
    }
  }
  size_t limit = std::max<size_t>(1, (std::max(name.size(), bestName.size()) + 1) / 3);
  if (bestName.empty() || best == 0 || best > limit) return "";
  return fmt::format("; did you mean `{}`?", bestName);
}

}  // namespace attnc::dsl
