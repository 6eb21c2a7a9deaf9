// libFuzzer target for the front end: lexer, parser and Sema on arbitrary bytes.
// Any crash, sanitizer report, hang or unbounded growth is a bug.
#include <cstddef>
#include <cstdint>
#include <string>

#include "dsl/Sema.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  auto file = attnc::dsl::checkSource("fuzz.attn", std::string(reinterpret_cast<const char *>(data), size));
  (void)file->diags->render(false);
  return 0;
}
