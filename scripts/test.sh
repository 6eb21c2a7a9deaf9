#!/usr/bin/env bash
# Builds attnc and runs every test: the ctest suite (unit, golden, IR, CLI),
# the unit tests again under AddressSanitizer + UBSan, and the front-end
# fuzzer for $ATTNC_FUZZ_SECONDS (default 60) from a corpus of the examples.
# Installs what it needs first (Debian packages), so a fresh machine works.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
jobs=$(nproc)
start=$(date +%s)

bash scripts/install-deps.sh

echo "== build (release)"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j "$jobs"

echo "== ctest"
(cd build && ctest -j "$jobs" --output-on-failure)

echo "== unit tests and the generated kernels' C ABI under AddressSanitizer and UBSan"
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DATTNC_SANITIZE=ON >/dev/null
cmake --build build-asan -j "$jobs" --target attnc_unit_tests attnc attnc_aot_tests
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
build-asan/tests/attnc_unit_tests
build-asan/tests/attnc_aot_tests

echo "== fuzzing the front end (libFuzzer, clang-19)"
fuzz=build/fuzz
mkdir -p "$fuzz/corpus"
cp examples/*.attn tests/error/*.attn "$fuzz/corpus/"
if [ ! -x "$fuzz/fuzz_frontend" ] || [ -n "$(find dsl tests/fuzz -newer "$fuzz/fuzz_frontend" -name '*.[ch]*' | head -1)" ]; then
  clang++-19 -std=c++20 -O1 -g -fsanitize=fuzzer,address,undefined -I. \
    tests/fuzz/fuzz_frontend.cpp dsl/Source.cpp dsl/Diagnostics.cpp dsl/Lexer.cpp dsl/Parser.cpp dsl/Sema.cpp \
    -lfmt -o "$fuzz/fuzz_frontend"
fi
# -rss_limit_mb and -timeout make unbounded memory or a hang a failure.
"$fuzz/fuzz_frontend" "$fuzz/corpus" -max_total_time="${ATTNC_FUZZ_SECONDS:-60}" -max_len=65536 \
  -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 2>"$fuzz/log" || { tail -50 "$fuzz/log"; exit 1; }
grep -E 'stat::number_of_executed_units' "$fuzz/log" || true

echo "== all tests passed in $(( $(date +%s) - start )) s"
