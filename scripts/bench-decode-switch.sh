#!/usr/bin/env bash
# The x86 decode/prefill switch (lowering/x86/Policy.h) against measurement:
# for seq_q = 1..MAX, times the kernel with each variant forced (attnc bench
# --variant, best of its rounds, the two variants interleaved, best of ROUNDS
# such pairs) and prints which one the policy picks and how much slower the
# pick is than the faster variant (1.00 = the policy picked the faster one).
# Usage: scripts/bench-decode-switch.sh [SEQ_KV=262144] [MAX=20] [ROUNDS=2] [SPEC...]
# Default specs: one head, head_dim 64, bf16 (the shape of issue 10's report)
# and examples/llama3_8b.attn (GQA 32/8, head_dim 128, bf16).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
attnc=${ATTNC:-$root/build/driver/attnc}
skv=${1:-262144}
max=${2:-20}
rounds=${3:-2}
shift $(($# < 3 ? $# : 3))
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
specs=("$@")
if [ ${#specs[@]} -eq 0 ]; then
  printf 'attention one_head {\n  dtype bf16\n  heads 1\n  head_dim 64\n}\n' >"$tmp/one_head.attn"
  specs=("$tmp/one_head.attn" "$root/examples/llama3_8b.attn")
fi
ms() {  # ms SPEC SEQ_Q [--variant V]: the kernel's best time in ms, and its schedule
  "$attnc" bench "$1" --seq-q "$2" --seq-kv "$skv" --no-roofs --no-baseline --json "${@:3}" |
    python3 -c 'import json,sys; j=json.load(sys.stdin); print(j["time_s"] * 1e3, j["schedule"].split()[0])'
}
for spec in "${specs[@]}"; do
  echo "== $(basename "$spec") seq_kv $skv ($(nproc) threads)"
  printf '%6s %12s %12s %8s %10s\n' seq_q decode_ms prefill_ms policy pick/best
  for q in $(seq 1 "$max"); do
    d=1e99 p=1e99
    for _ in $(seq "$rounds"); do
      read -r dn _ < <(ms "$spec" "$q" --variant decode)
      read -r pn _ < <(ms "$spec" "$q" --variant prefill)
      d=$(python3 -c "print(min($d, $dn))")
      p=$(python3 -c "print(min($p, $pn))")
    done
    read -r _ sched < <(ms "$spec" "$q")
    pick=$([ "$sched" = q1 ] && echo decode || echo prefill)
    python3 -c "d=$d; p=$p; pick='$pick'; t=d if pick=='decode' else p
print(f'{$q:6d} {d:12.3f} {p:12.3f} {pick:>8s} {t/min(d,p):10.2f}')"
  done
done
