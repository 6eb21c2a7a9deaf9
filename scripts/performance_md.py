#!/usr/bin/env python3
"""Writes docs/performance.md from the JSON of `attnc bench` runs
(scripts/bench-x86.sh). Usage: performance_md.py DIR > docs/performance.md

  performance_md.py --cuda-section [--ptxas FILE ...] [--bench MD --summary TXT]
rewrites only the `## CUDA` section of docs/performance.md in place: the
ptxas figures of tests/cuda/nvcc_check.sh and, from `scripts/gpu-check run`,
the card's correctness summary and the benchmark table against PyTorch."""
import json
import os
import platform
import subprocess
import sys
from datetime import date

CUDA_INTRO = ("The CUDA kernels (docs/cuda.md) were compiled by nvcc 13.0 on a machine without a GPU; "
              "the register and shared-memory figures below come from `ptxas -v` "
              "(`tests/cuda/nvcc_check.sh build/driver/attnc . ARCH`, run by ctest as `cuda.nvcc_ARCH`).")


def cuda_section(argv):
    import argparse
    ap = argparse.ArgumentParser()
    ap.add_argument("--cuda-section", action="store_true")
    ap.add_argument("--ptxas", nargs="*", default=[])
    ap.add_argument("--bench")
    ap.add_argument("--summary")
    ap.add_argument("--doc", default=os.path.join(os.path.dirname(__file__), "..", "docs", "performance.md"))
    a = ap.parse_args(argv)
    text = open(a.doc).read()
    head, _, rest = text.partition("## CUDA\n")
    # Keep what the previous run measured on a GPU when this run adds none.
    old_gpu = rest.split("### Measured on a GPU\n", 1)[1] if "### Measured on a GPU\n" in rest else ""
    old_ptxas = rest.split("### ptxas\n", 1)[1].split("### Measured on a GPU\n", 1)[0] if "### ptxas\n" in rest else ""
    sec = ["## CUDA\n", CUDA_INTRO + "\n"]
    sec.append("### ptxas\n")
    if a.ptxas:
        sec.append("Default schedules, per kernel: registers per thread, bytes spilled (the test fails above 0) and "
                   "dynamic shared memory per block (the build fails above the arch's limit).\n")
        sec.append("| spec | arch | kernel | registers | spills | shared memory |")
        sec.append("|---|---|---|---|---|---|")
        for f in a.ptxas:
            for line in open(f):
                parts = line.split()
                if len(parts) == 6 and parts[0] != "spec" and parts[3].isdigit():
                    sec.append(f"| {parts[0]} | {parts[1]} | {parts[2]} | {parts[3]} | {parts[4]} | "
                               f"{int(parts[5]) / 1024:.1f} KiB |" if parts[5] != "0" else
                               f"| {parts[0]} | {parts[1]} | {parts[2]} | {parts[3]} | {parts[4]} | 0 |")
        sec.append("")
    else:
        sec.append(old_ptxas.strip() + "\n")
    sec.append("### Measured on a GPU\n")
    if a.bench:
        if a.summary:
            sec.append("".join(f"- {l}" for l in open(a.summary) if l.strip()) + "\n")
        sec.append(open(a.bench).read())
    else:
        sec.append(old_gpu.strip() + "\n" if old_gpu.strip() else
                   "No GPU has been lent to a session yet: nothing is measured on a card. `scripts/gpu-check` "
                   "(docs/cuda.md) measures attnc against PyTorch SDPA and FlexAttention and writes this part.\n")
    open(a.doc, "w").write(head + "\n".join(sec).rstrip() + "\n")


if len(sys.argv) > 1 and sys.argv[1] == "--cuda-section":
    cuda_section(sys.argv[1:])
    sys.exit(0)

d = sys.argv[1]


def load(name):
    with open(os.path.join(d, name + ".json")) as f:
        return json.load(f)


def cpu():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def commit():
    try:
        return subprocess.check_output(["git", "rev-parse", "--short", "HEAD"], text=True).strip()
    except Exception:
        return "unknown"


def shape(j):
    return (f"B={j['batch']} H={j['heads']} (kv {j['kv_heads']}) D={j['head_dim']} "
            f"seq_q={j['seq_q']} seq_kv={j['seq_kv']} {j['dtype']} {j['layout']}")


def mark(ok):
    return "**met**" if ok else "**not met**"


r = {n: load(n) for n in ["mha_f32", "mha_f32_causal", "gqa_bf16_causal", "gqa_f32_causal", "decode_bhsd",
                          "decode_bshd", "long_prefill", "long_decode"]}
out = []
w = out.append
w("# Performance\n")
w(f"Measured {date.today()} at commit `{commit()}` on `{cpu()}`, {r['mha_f32']['threads']} threads, "
  f"x86 {r['mha_f32']['isa']}. Rerun with `scripts/bench-x86.sh` (it rewrites this file); one case by hand with "
  "`attnc bench SPEC --seq-q N --seq-kv M [--batch B] [--json]`, with `OPENBLAS_CORETYPE` and `OPENBLAS_L2_SIZE` "
  "unset (when set, OpenBLAS pins an AVX2 kernel and the sgemm roof is low).\n")
w("Every ratio below comes from a single `attnc bench` run: the kernel, the roofs (OpenBLAS sgemm on 2048^3; "
  "a streaming read of 512 MiB) and the unfused baseline (OpenBLAS QK^T, a softmax pass, PV, in f32) are measured "
  "in the same process, one after the other. This machine is shared and noisy: the roofs themselves move by up to "
  "2x between runs, so compare ratios, not absolute numbers, across runs. GFLOP/s count useful work only: "
  "4 x head_dim x (pairs the mask keeps) per head.\n")
w("## x86 bars (issue 3)\n")
w("| case | shape | kernel | result | bar | |")
w("|---|---|---|---|---|---|")
j = r["mha_f32"]
w(f"| f32, no mask | {shape(j)} | {j['time_s']*1e3:.1f} ms, {j['gflops']:.1f} GFLOP/s | "
  f"{j['ratio_sgemm']:.2f} x sgemm roof ({j['sgemm_roof_gflops']:.0f}) | >= 0.65 | {mark(j['ratio_sgemm'] >= 0.65)} |")
j = r["mha_f32_causal"]
w(f"| f32, causal | {shape(j)} | {j['time_s']*1e3:.1f} ms, {j['gflops']:.1f} GFLOP/s | "
  f"{j['ratio_sgemm']:.2f} x sgemm roof ({j['sgemm_roof_gflops']:.0f}) | >= 0.55 | {mark(j['ratio_sgemm'] >= 0.55)} |")
j, f = r["gqa_bf16_causal"], r["gqa_f32_causal"]
w(f"| bf16 GQA causal | {shape(j)} | {j['time_s']*1e3:.1f} ms, {j['gflops']:.1f} GFLOP/s | "
  f"f32 of the same shape: {f['gflops']:.1f} GFLOP/s ({j['gflops']/f['gflops']:.2f}x) | >= f32 | "
  f"{mark(j['gflops'] >= f['gflops'])} |")
for n, label in [("decode_bhsd", "bf16 decode, bhsd cache"), ("decode_bshd", "bf16 decode, bshd cache")]:
    j = r[n]
    w(f"| {label} | {shape(j)} | {j['time_s']*1e3:.2f} ms, {j['gbs']:.1f} GB/s | "
      f"{j['ratio_read']:.2f} x read roof ({j['read_roof_gbs']:.1f} GB/s) | >= 0.6 | {mark(j['ratio_read'] >= 0.6)} |")
w("")
w("Against the unfused OpenBLAS attention (bar: >= 3x):\n")
w("| case | fused | unfused | speed-up | |")
w("|---|---|---|---|---|")
for n in ["mha_f32", "mha_f32_causal", "gqa_bf16_causal", "decode_bhsd", "decode_bshd"]:
    j = r[n]
    if j["unfused_s"] > 0:
        w(f"| {n} | {j['time_s']*1e3:.2f} ms | {j['unfused_s']*1e3:.2f} ms | {j['speedup_vs_unfused']:.2f}x | "
          f"{mark(j['speedup_vs_unfused'] >= 3)} |")
    else:
        w(f"| {n} | {j['time_s']*1e3:.2f} ms | n/a | n/a | |")
w("")
w("## Memory (no N x M buffer anywhere)\n")
w("Scratch is the peak RSS while the kernel runs (VmHWM, reset once the arguments are in memory) minus the RSS "
  "just before it: tile buffers, split state and thread stacks, never an N x M matrix.\n")
w("| case | shape | time | arguments | scratch |")
w("|---|---|---|---|---|")
for n in ["long_prefill", "long_decode"]:
    j = r[n]
    w(f"| {n} | {shape(j)} | {j['time_s']:.2f} s | {j['argument_bytes']/2**20:.0f} MiB | "
      f"{j['scratch_bytes']/2**20:.1f} MiB |")
w("")
w("## What limits the bars not met\n")
w("- **Unmasked f32 vs unfused (>= 3x).** Without a mask both versions do the same FLOPs; the unfused one does "
  "them in two OpenBLAS sgemms near the roof and adds one pass over the N x M matrix (softmax). The fused kernel "
  "runs at about 0.8 of the roof, so its lead is the softmax pass plus the N x M traffic, about 2-2.6x here. "
  "3x would need the fused kernel above the sgemm roof. With a mask (causal) the fused kernel skips the empty "
  "tiles and the lead passes 4x.")
w("- **Decode and the read roof.** The streaming-read roof of this machine is bimodal: most runs measure "
  "34-36 GB/s, some 55-64 GB/s (same code, same buffer size; likely where the VM's pages land). The decode "
  "kernel itself is steady at 26-28 GB/s (bhsd) and 21-23 GB/s (bshd), so its ratio reads 0.6-0.8 against the "
  "first roof and 0.35-0.45 against the second. Against a 60 GB/s roof the bar is not met.")
w("- **Decode with a bshd cache.** One kv head's rows are 256 B pieces of 2 KiB rows (all heads interleaved). "
  "With one task per kv head (or `headsinner`) the kernel read about 9 GB/s against 27 GB/s for the same cache "
  "in bhsd; software prefetch did not help. The `allheads` decode tile (every query head in one tile, the kv head "
  "varying by row group) reads each kv row whole and brought it to 21-23 GB/s; rows that share a kv head share "
  "each K load with their accumulators in registers.")
w("- **Decode compute.** The decode kernel is compute-bound per core (it scales 2x from 1 to 2 threads): a "
  "profile of `attnc_<name>_decode` shows about 35% in the horizontal sums of the Q.K dot products and 35% in "
  "P.V. Tried and lost: a halving-tree reduction across rows (Halide emits odd-width shuffles), register-"
  "blocked P.V that revisits V (`pvblock`), one V load per value vector for all rows. A 4-way "
  "horizontal add (hadd) of the rows' partial sums would need x86 intrinsics below Halide's portable expressions.\n")
# The CUDA section is kept from the current file (performance_md.py --cuda-section writes it).
try:
    cur = open(os.path.join(os.path.dirname(__file__), "..", "docs", "performance.md")).read()
    cuda = "## CUDA\n" + cur.partition("## CUDA\n")[2] if "## CUDA\n" in cur else ""
except OSError:
    cuda = ""
w(cuda.rstrip() + "\n" if cuda else "## CUDA\n\nSee `performance_md.py --cuda-section`.\n")
print("\n".join(out))
