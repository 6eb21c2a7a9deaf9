#!/usr/bin/env bash
# bf16 kernels on vdpbf16ps (docs/x86.md, "bf16 dot products"): the library's
# bf16dot prefill and decode have the instruction and nothing the run-time check does not
# ask for (no AVX512-FP16, no AMX: Halide's Sapphire Rapids target would emit
# FP16's vmovw, a SIGILL on Zen 4), and both the bf16dot prefill and its
# f32-conversion twins (forced with ATTNC_CPU_FORCE_NO_BF16) match a float64
# reference, as a prefill and as a decode. On a CPU without avx512_bf16 both calls take the twin.
# Usage: bf16dot.sh ATTNC WORKDIR
set -euo pipefail
attnc=$1
work=$2
here=$(cd "$(dirname "$0")" && pwd)
rm -rf "$work"
mkdir -p "$work"
cd "$work"
printf 'attention bd {\n  dtype bf16\n  heads 8\n  kv_heads 2\n  head_dim 64\n  mask causal\n}\n' >bd.attn
fail() { echo "FAIL: $*" >&2; exit 1; }
# (noamx: on a CPU with AMX the default prefill is the amx one, tests/robustness/amx.sh.)
sched=(--schedule "noamx bf16dot")
"$attnc" bd.attn -target x86-avx512 "${sched[@]}" -o lib
n=$(objdump -d lib/bd.a | grep -c vdpbf16ps || true)
[ "$n" -gt 0 ] || fail "no vdpbf16ps in the bf16dot pipelines"
nm lib/bd.a >symbols
for f in prefill decode; do
  grep -q "attnc_bd_${f}_nobf16\$" symbols || fail "no ${f} twin without bf16dot in the library"
done
# AVX512-FP16 (vmovw, vmovsh, packed/scalar half arithmetic; F16C's two
# conversions are fine) and AMX (tile*, tdp*, ldtilecfg).
bad=$(objdump -d lib/bd.a | grep -E $'\t(vmovw|vmovsh|ldtilecfg|sttilecfg|tile[a-z0-9]*|tdp[a-z0-9]*|v[a-z0-9]*(ph|sh)) ' |
      grep -vE $'\t(vcvtph2ps|vcvtps2ph) ' || true)
[ -z "$bad" ] || fail "instructions outside x86-64-v4 + avx512bf16: $(echo "$bad" | head -3)"
echo "ok: $n vdpbf16ps, no FP16 or AMX instruction"
if ! grep -q avx512bw /proc/cpuinfo; then
  echo "this CPU has no AVX-512: the calls are not run (the checks above are the test here)"
  exit 0
fi
cc -std=c99 -O1 -I lib -o call "$here/call_bf16.c" lib/bd.a -lm -lpthread -ldl
./call || fail "the bf16dot prefill (or its twin on this CPU) is off the reference"
ATTNC_CC='cc -DATTNC_CPU_FORCE_NO_BF16' "$attnc" bd.attn -target x86-avx512 "${sched[@]}" -o twin
cc -std=c99 -O1 -I twin -o call_twin "$here/call_bf16.c" twin/bd.a -lm -lpthread -ldl
./call_twin || fail "the f32-conversion twin is off the reference"
grep -q avx512_bf16 /proc/cpuinfo && echo "ok: both prefills match (this CPU runs the bf16dot one)" ||
  echo "ok: this CPU lacks avx512_bf16: both calls ran the twin"
# Without llc-19 a bf16 kernel still compiles, without bf16 dot products, and says so.
ATTNC_LLVM_BIN=/nonexistent "$attnc" bd.attn -target x86-avx512 "${sched[@]}" -o nollc 2>warn
grep -q "warning: \`/nonexistent/llc\` not found: bf16 kernels compile without bf16 dot products" warn ||
  fail "no warning without llc: $(cat warn)"
[ "$(objdump -d nollc/bd.a | grep -c vdpbf16ps || true)" = 0 ] || fail "vdpbf16ps without llc"
cc -std=c99 -O1 -I nollc -o call_nollc "$here/call_bf16.c" nollc/bd.a -lm -lpthread -ldl
./call_nollc || fail "the kernel compiled without llc is off the reference"
echo "ok: without llc: $(cat warn)"
