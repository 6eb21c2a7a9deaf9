#!/usr/bin/env bash
# attnc -target cuda -o DIR, then: DIR/NAME.cu compiles with g++ as C++17
# against the SIMT emulator with only DIR on the include path, links into a
# C program that calls the host API (which must refuse a null q with a
# message), and NAME.h compiles as C99 without any CUDA header.
set -euo pipefail
attnc=$1 src=$2 dir=$3
rm -rf "$dir"
"$attnc" "$src/examples/sliding_sinks.attn" -target cuda -o "$dir"
for f in attnc_runtime.h attnc_device.cuh attnc_simt.h sliding_sinks.h sliding_sinks.cu; do
  test -s "$dir/$f" || { echo "missing $dir/$f" >&2; exit 1; }
done
cxx=${CXX:-g++}
cc=${CC:-gcc}
"$cxx" -std=c++17 -O1 -Wall -Werror -Wno-unused-function -DATTNC_SIMT_EMULATION -I "$dir" -x c++ -c "$dir/sliding_sinks.cu" -o "$dir/k.o"
cat > "$dir/main.c" <<'C'
#include <stdio.h>
#include <string.h>
#include "sliding_sinks.h"
int main(void) {
  attnc_tensor t[5];
  memset(t, 0, sizeof t);
  int rc = sliding_sinks_cuda(NULL, &t[1], &t[2], &t[3], &t[4], NULL);
  printf("status %d: %s\n", rc, sliding_sinks_last_error());
  return rc == ATTNC_E_ARGUMENT && strstr(sliding_sinks_last_error(), "`q` is null") ? 0 : 1;
}
C
"$cc" -std=c99 -Wall -Werror -I "$dir" -c "$dir/main.c" -o "$dir/main.o"
"$cxx" "$dir/main.o" "$dir/k.o" -o "$dir/main"
"$dir/main"
