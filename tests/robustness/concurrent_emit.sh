#!/usr/bin/env bash
# Concurrent and interrupted emission into one output directory
# (docs/integration.md, "The output directory"):
#  1. N runs of one spec and of a different spec with the same kernel name
#     (heads 4 vs 8) into one DIR, at once: every run exits 0, and DIR ends with
#     one run's complete output (NAME.h and NAME.cu / NAME.a of the same spec);
#  2. a run killed (SIGTERM, SIGINT) part-way leaves the previous outputs intact
#     and no staging directory behind;
#  3. a run that fails part-way writes nothing.
# Usage: concurrent_emit.sh ATTNC WORKDIR
set -euo pipefail
attnc=$1
here=$(cd "$(dirname "$0")" && pwd)
work=$2
rm -rf "$work"
mkdir -p "$work"
cd "$work"
spec() {  # spec FILE HEADS
  cat >"$1" <<SPEC
attention same {
  dtype f32
  heads $2
  head_dim 16
  mask causal
}
SPEC
}
spec h4.attn 4
spec h8.attn 8
fail() { echo "FAIL: $*" >&2; exit 1; }

check_dir() {  # check_dir DIR EXT: the header and the kernel describe one spec
  local d=$1 ext=$2 hh kh
  [ -f "$d/same.h" ] && [ -f "$d/same.$ext" ] && [ -f "$d/attnc_runtime.h" ] || fail "$d: missing outputs: $(ls -A "$d")"
  ls -A "$d" | grep -q '^\.attnc-tmp-' && fail "$d: a staging directory was left behind"
  hh=$(grep -o 'heads [0-9]*' "$d/same.h" | head -1)
  if [ "$ext" = cu ]; then
    kh=$(grep -o 'heads [0-9]*' "$d/same.cu" | head -1)
    [ "$hh" = "$kh" ] || fail "$d: same.h says '$hh', same.cu says '$kh'"
  else
    # Link the library with a caller built from the header's shapes: the
    # kernel's own argument checks reject a header of the other spec.
    local h=${hh#heads }
    cc -std=c99 -O1 -DHEADS="$h" -I "$d" -o "$d/call" "$here/call_same.c" "$d/same.a" -lm -lpthread -ldl \
      || fail "$d: cannot link same.a"
    "$d/call" || fail "$d: same.h (heads $h) and same.a disagree"
  fi
}

for target in cuda x86; do
  ext=cu; [ $target = x86 ] && ext=a
  n=4; [ $target = x86 ] && n=3
  d=$work/$target
  pids=()
  for i in $(seq $n); do
    s=h4.attn; [ $((i % 2)) = 0 ] && s=h8.attn
    "$attnc" $s -target $target -o "$d" 2>"err.$target.$i" & pids+=($!)
  done
  # The same spec twice at once, too.
  "$attnc" h4.attn -target $target -o "$d" 2>"err.$target.same" & pids+=($!)
  for p in "${pids[@]}"; do wait "$p" || fail "a concurrent $target run failed: $(cat err.$target.*)"; done
  check_dir "$d" $ext
  echo "ok: $((n + 1)) concurrent $target runs into one directory"
done

# 2. Interrupted runs leave the previous outputs as they were.
d=$work/x86
cp -a "$d" before
for sig in TERM INT; do
  "$attnc" h8.attn -target x86 -o "$d" 2>/dev/null & pid=$!
  # Wait until it has started staging (the directory exists), then kill it part-way.
  for _ in $(seq 200); do ls -A "$d" | grep -q '^\.attnc-tmp-' && break; sleep 0.05; done
  sleep 0.5
  kill -$sig $pid
  wait $pid && fail "a run killed with SIG$sig exited 0"
  for f in same.h same.a attnc_runtime.h; do cmp -s "before/$f" "$d/$f" || fail "SIG$sig changed $f"; done
  ls -A "$d" | grep -q '^\.attnc-tmp-' && fail "SIG$sig left a staging directory behind"
  echo "ok: SIG$sig part-way leaves the previous outputs intact"
done

# 3. A failure part-way writes nothing (here the C compiler fails, after the Halide objects were made).
cp -a "$d" before2
ATTNC_CC=false "$attnc" h8.attn -target x86 -o "$d" 2>err.cc && fail "ATTNC_CC=false exited 0"
grep -q 'C compiler' err.cc || fail "ATTNC_CC=false: $(cat err.cc)"
for f in same.h same.a attnc_runtime.h; do cmp -s "before2/$f" "$d/$f" || fail "a failed run changed $f"; done
ls -A "$d" | grep -q '^\.attnc-tmp-' && fail "a failed run left a staging directory behind"
echo "ok: a run that fails part-way leaves the previous outputs intact"
