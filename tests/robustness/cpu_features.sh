#!/usr/bin/env bash
# A library whose CPU lacks a feature it was compiled for returns
# ATTNC_E_DEVICE naming the feature, at the first call, instead of dying of
# SIGILL (docs/integration.md, "CPU features"). The wrapper is compiled with
# ATTNC_CPU_FORCE_MISSING so that the check fails on any machine; without it
# the same call succeeds here.
# Usage: cpu_features.sh ATTNC WORKDIR
set -euo pipefail
attnc=$1
work=$2
here=$(cd "$(dirname "$0")" && pwd)
rm -rf "$work"
mkdir -p "$work"
cd "$work"
printf 'attention same {\n  dtype f32\n  heads 4\n  head_dim 16\n}\n' >same.attn
fail() { echo "FAIL: $*" >&2; exit 1; }
# `-target x86` is this CPU's best ISA (schedules/x86: AVX-512 with avx512f and avx512bw, else AVX2).
host=x86-avx2
if grep -qw avx512f /proc/cpuinfo && grep -qw avx512bw /proc/cpuinfo; then host=x86-avx512; fi
for isa in x86-avx2 x86; do
  ATTNC_CC='cc -DATTNC_CPU_FORCE_MISSING="\"avx512bw\""' "$attnc" same.attn -target $isa -o forced
  cc -std=c99 -DHEADS=4 -I forced -o call_forced "$here/call_same.c" forced/same.a -lm -lpthread -ldl
  if ./call_forced 2>err; then fail "$isa: the call succeeded with a missing CPU feature"; fi
  grep -q 'lacks avx512bw' err || fail "$isa: $(cat err)"
  grep -q "compiled for $([ $isa = x86 ] && echo $host || echo x86-avx2)" err || fail "$isa: $(cat err)"
  "$attnc" same.attn -target $isa -o real
  cc -std=c99 -DHEADS=4 -I real -o call_real "$here/call_same.c" real/same.a -lm -lpthread -ldl
  ./call_real || fail "$isa: the real CPU check refused this machine"
  echo "ok: $isa: $(cat err)"
done
