#include "driver/Errors.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>

namespace attnc::driver {

const std::vector<ErrorInfo> &allErrors() {
  static const std::vector<ErrorInfo> all = {
#define ATTNC_ERROR(id, exit, format) {ErrorId::id, #id, ExitKind::exit, format},
#include "driver/Errors.def"
#undef ATTNC_ERROR
  };
  return all;
}

const ErrorInfo &errorInfo(ErrorId id) { return allErrors()[static_cast<size_t>(id)]; }

int report(const Error &e) {
  const bool c = isatty(fileno(stderr)) && !std::getenv("NO_COLOR");
  std::cerr << (c ? "\033[1m" : "") << "attnc: " << (c ? "\033[1;31m" : "") << "error[" << errorInfo(e.id).name
            << "]: " << (c ? "\033[0m" : "") << e.message << '\n';
  return e.exitCode();
}

}  // namespace attnc::driver
