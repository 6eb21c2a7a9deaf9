// The driver's error registry (Errors.def): ids, exit statuses, messages,
// and the one function that prints them. Like the front end's diagnostics,
// each id has a golden test with its exact text (tests/cli/errors/).
#pragma once

#include <string>
#include <vector>

#include <fmt/format.h>

namespace attnc::driver {

enum class ExitKind { Usage = 2, Internal = 3 };

enum class ErrorId {
#define ATTNC_ERROR(id, exit, format) id,
#include "driver/Errors.def"
#undef ATTNC_ERROR
};

struct ErrorInfo {
  ErrorId id;
  const char *name;
  ExitKind exit;
  const char *format;
};
const ErrorInfo &errorInfo(ErrorId id);
const std::vector<ErrorInfo> &allErrors();

/// An error with its message, ready to print.
struct Error {
  ErrorId id;
  std::string message;
  int exitCode() const { return static_cast<int>(errorInfo(id).exit); }
};

template <typename... Args>
Error makeError(ErrorId id, Args &&...args) {
  return {id, fmt::format(fmt::runtime(errorInfo(id).format), std::forward<Args>(args)...)};
}

/// Prints `attnc: error[id]: message` (bold and red on a terminal unless
/// NO_COLOR is set) and returns the exit status.
int report(const Error &e);

template <typename... Args>
int report(ErrorId id, Args &&...args) {
  return report(makeError(id, std::forward<Args>(args)...));
}

}  // namespace attnc::driver
