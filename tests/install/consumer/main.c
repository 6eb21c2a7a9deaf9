#include "attnc_runtime.h"

int main(void) {
  attnc_tensor t = {0};
  t.dtype = ATTNC_BF16;
  return (ATTNC_ABI_VERSION == 1 && t.dtype == 2 && ATTNC_OK == 0) ? 0 : 1;
}
