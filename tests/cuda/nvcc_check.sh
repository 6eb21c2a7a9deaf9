#!/usr/bin/env bash
# Compiles the generated NAME.cu of every example with nvcc for one arch with
# `-Xptxas -v` (a `low_rank kv` example in both MLA forms: as the cost model
# picks, and with the other form's knob, shown as NAME+mat or NAME+abs), and
# fails when a kernel of a default schedule spills registers or uses a
# local-memory stack frame. Shared memory
# over the arch's limit fails the build itself (a static_assert in NAME.cu).
# Prints one line per kernel: registers, spills, dynamic shared memory.
#
#   tests/cuda/nvcc_check.sh ATTNC SOURCE_DIR ARCH [OUT_DIR]
set -euo pipefail
attnc=$1 src=$2 arch=$3
out=${4:-$(mktemp -d)}
nvcc=${NVCC:-$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)}
if [ ! -x "$nvcc" ]; then
  echo "nvcc not found (set NVCC or put the CUDA toolkit's bin on PATH)" >&2
  exit 1
fi
gpu_arch=$arch
status=0
mkdir -p "$out"
printf '%-16s %-7s %-10s %5s %8s %10s\n' spec arch kernel regs spills smem_bytes
check_one() {  # SPEC LABEL [SCHEDULE]
  local spec=$1 label=$2 name dir log pre_smem dec_smem
  name=$(basename "$spec" .attn)
  dir="$out/$label-$arch"
  "$attnc" "$spec" -target cuda --arch "$arch" ${3:+--schedule "$3"} -o "$dir"
  log="$dir/ptxas.txt"
  if ! "$nvcc" -std=c++17 -O3 -arch="$gpu_arch" -Xptxas -v -c "$dir/$name.cu" -o "$dir/$name.o" >"$log" 2>&1; then
    cat "$log" >&2
    echo "FAIL: $label does not compile for $arch" >&2
    status=1
    return
  fi
  pre_smem=$(sed -n 's/.*Prefill::kSmem == \([0-9]*\).*/\1/p' "$dir/$name.cu")
  dec_smem=$(sed -n 's/.*Decode::kSmem == \([0-9]*\).*/\1/p' "$dir/$name.cu")
  # ptxas prints, per entry: "Compiling entry function 'X'", then the stack
  # frame and spills, then "Used N registers".
  awk -v name="$label" -v arch="$arch" -v pre="$pre_smem" -v dec="$dec_smem" '
    /Compiling entry function/ {
      fn = $0; sub(/.*attention_kernelILi/, "", fn)
      if ($0 ~ /combine_kernel/) kind = "combine"; else if ($0 ~ /attention_kernelILi1ELi[2-8]E/ || $0 ~ /ILi1ELi1E/) kind = "?"; else kind = "?"
      entry = $0
    }
    /bytes stack frame/ { split($0, a, " "); stack = a[1]; sst = $0; sub(/.*bytes stack frame, /, "", sst); sub(/ bytes spill stores.*/, "", sst); spills = sst; sld = $0; sub(/.*spill stores, /, "", sld); sub(/ bytes spill loads.*/, "", sld); spills += sld }
    /Used [0-9]+ registers/ {
      regs = $0; sub(/.*Used /, "", regs); sub(/ registers.*/, "", regs)
      k = "prefill"; smem = pre
      if (entry ~ /combine_kernel/) { k = "combine"; smem = 0 }
      else if (entry ~ /prune_fill_kernel/) { k = "prunefill"; smem = 0 }
      else if (entry ~ /block_list_kernel/) { k = "blocklist"; smem = 0 }
      else if (entry ~ /top_mean_kernel/) { k = "topmean"; smem = 0 }
      else if (entry ~ /top_select_kernel/) { k = "topselect"; smem = 0 }
      else if (entry ~ /linformer_proj_kernel/) { k = "linproj"; smem = 0 }
      else if (entry ~ /mla_q_kernel/) { k = "mlaq"; smem = 0 }
      else if (entry ~ /mla_out_kernel/) { k = "mlaout"; smem = 0 }
      else if (entry ~ /mla_wk_kernel/) { k = "mlawk"; smem = 0 }
      else if (entry ~ /mla_up_kernel/) { k = "mlaup"; smem = 0 }
      else if (entry ~ /attention_kernelILi1ELi[2-8]E/) { k = "decode"; smem = dec }
      printf "%-16s %-7s %-10s %5d %8d %10d\n", name, arch, k, regs, spills, smem
      if (spills > 0 || stack > 0) { bad = 1; printf "FAIL: %s %s %s spills %d bytes (stack frame %d)\n", name, arch, k, spills, stack > "/dev/stderr" }
    }
    END { exit bad }' "$log" || status=1
}

for spec in "$src"/examples/*.attn; do
  "$attnc" check "$spec" -target cuda >/dev/null 2>&1 || { [ $? -eq 2 ] && continue; echo "$spec: does not check" >&2; exit 1; }
  name=$(basename "$spec" .attn)
  check_one "$spec" "$name"
  if grep -q "low_rank kv" "$spec"; then
    # The other MLA form too (the generated header names the one it runs).
    if grep -q "^// prefill: .*mlamat" "$out/$name-$arch/$name.cu"; then
      check_one "$spec" "$name+abs" mlaabs
    else
      check_one "$spec" "$name+mat" mlamat
    fi
  fi
done
exit $status
