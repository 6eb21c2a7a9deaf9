#!/usr/bin/env bash
# Adversarial specs (tests/robustness/specs/*.attn): each says on its first
# line `# expect N`, the exit status of `attnc check` (0, or 1 with a located
# diagnostic `FILE:LINE:COL: error:`; a file without the line expects 1).
# Then every target must answer with 0, 1 or 2, never 3 (attnc's own bug) or a
# signal: `-target mlir`, `check -target x86|cuda`, and, for the specs that
# check, emission for x86 and cuda.
# Usage: run_specs.sh ATTNC WORKDIR
set -uo pipefail
attnc=$1
work=$2
here=$(cd "$(dirname "$0")" && pwd)
rm -rf "$work"
mkdir -p "$work"
failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
run() {  # run WHAT ALLOWED... -- CMD...: the exit status must be one of ALLOWED
  local what=$1 allowed=() rc
  shift
  while [ "$1" != "--" ]; do allowed+=("$1"); shift; done
  shift
  NO_COLOR=1 "$@" >"$work/out" 2>"$work/err"
  rc=$?
  for a in "${allowed[@]}"; do [ "$rc" = "$a" ] && return 0; done
  fail "$what: exit $rc (expected ${allowed[*]}): $(head -c 600 "$work/err")"
  return 1
}
for spec in "$here"/specs/*.attn; do
  name=$(basename "$spec")
  expect=$(head -c 200 "$spec" | grep -ao '# expect [0-9]' | head -1 | cut -c10)
  expect=${expect:-1}
  if run "$name: check" "$expect" -- "$attnc" check "$spec" && [ "$expect" = 1 ]; then
    grep -qE "(^|/)$name:[0-9]+:[0-9]+: error: " "$work/err" || fail "$name: no located error: $(head -c 300 "$work/err")"
    errors=$(grep -cE ": error: " "$work/err")
    [ "$errors" = 1 ] || fail "$name: one mistake, $errors errors: $(cat "$work/err")"
  fi
  run "$name: -target mlir" "$expect" -- "$attnc" "$spec" -target mlir -o "$work/ir.mlir"
  for t in x86 cuda; do run "$name: check -target $t" "$expect" 2 -- "$attnc" check "$spec" -target $t; done
  if [ "$expect" = 0 ]; then
    run "$name: -target x86" 0 2 -- "$attnc" "$spec" -target x86 -o "$work/x86"
    run "$name: -target cuda" 0 2 -- "$attnc" "$spec" -target cuda -o "$work/cuda"
  fi
  echo "ok: $name"
done
[ "$failures" = 0 ] || { echo "$failures failures" >&2; exit 1; }
