#!/usr/bin/env bash
# bf16 prefill on AMX tiles (docs/x86.md, "AMX"): a library built with the
# amx schedule has the tile products (tdpbf16ps) in its extern stages
# only, carries the prefill without AMX (NAME_prefill_noamx), and both match a
# float64 reference: the amx prefill where this CPU has AMX and the OS grants
# it, the twin forced with ATTNC_CPU_FORCE_NO_AMX. On a CPU without AMX both
# calls take the twin (said).
# Usage: amx.sh ATTNC WORKDIR
set -euo pipefail
attnc=$1
work=$2
here=$(cd "$(dirname "$0")" && pwd)
rm -rf "$work"
mkdir -p "$work"
cd "$work"
printf 'attention bd {\n  dtype bf16\n  heads 8\n  kv_heads 2\n  head_dim 64\n  mask causal\n}\n' >bd.attn
fail() { echo "FAIL: $*" >&2; exit 1; }
"$attnc" bd.attn -target x86-avx512 --schedule "amx q16 kv64" -o lib
nm lib/bd.a >symbols
grep -q "attnc_bd_prefill_noamx\$" symbols || fail "no prefill twin without AMX in the library"
grep -q "attnc_amx_qk\$" symbols && grep -q "attnc_amx_pv\$" symbols || fail "no AMX tile products in the library"
# AMX instructions in the tile-product functions (the two products, the fused
# tile) and nowhere else.
objdump -d lib/bd.a | awk '/^[0-9a-f]+ <.*>:$/ { fn = $2 } /\t(tdpbf16ps|tileloadd|tilestored|ldtilecfg) / { print fn }' |
  sort -u >amx_functions
[ -s amx_functions ] || fail "no AMX instruction in the library"
outside=$(grep -v -E '^<attnc_amx_(gemm|qk|pv|tile|config)' amx_functions || true)
[ -z "$outside" ] || fail "AMX instructions outside the tile products: $outside"
echo "ok: AMX in $(tr '\n' ' ' <amx_functions)only"
if ! grep -q avx512bw /proc/cpuinfo; then
  echo "this CPU has no AVX-512: the calls are not run (the checks above are the test here)"
  exit 0
fi
cc -std=c99 -O1 -I lib -o call "$here/call_bf16.c" lib/bd.a -lm -lpthread -ldl
./call || fail "the amx prefill (or its twin on this CPU) is off the reference"
ATTNC_CC='cc -DATTNC_CPU_FORCE_NO_AMX' "$attnc" bd.attn -target x86-avx512 --schedule "amx q16 kv64" -o twin
cc -std=c99 -O1 -I twin -o call_twin "$here/call_bf16.c" twin/bd.a -lm -lpthread -ldl
./call_twin || fail "the prefill without AMX is off the reference"
if grep -q amx_bf16 /proc/cpuinfo; then
  echo "ok: both prefills match (this CPU runs the amx one)"
else
  echo "ok: this CPU lacks AMX: both calls ran the twin"
fi
