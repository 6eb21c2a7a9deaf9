#!/usr/bin/env python3
"""scripts/performance_md.py on made-up runs: the peers table takes the best
of the rounds per case and peer, the roofs' best, the bars from those, and
rewrites only its own section (twice gives the same file); the x86 mode keeps
the peers' and the CUDA sections. usage: test_performance_md.py SCRIPT"""
import json
import os
import subprocess
import sys
import tempfile

script = sys.argv[1]
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)


def attnc_run(case, t, fma, read, noisy=False):
    shapes = {"A": ("f32", 1, 8, 8, 2048, 2048), "B": ("f32", 1, 8, 8, 2048, 2048),
              "C": ("bf16", 1, 32, 8, 4096, 4096), "D": ("bf16", 4, 32, 8, 1, 8192)}
    dt, B, H, Hkv, sq, skv = shapes[case]
    pairs = sq * skv if case in "AD" else sq * (sq + 1) // 2
    flops = 4.0 * B * H * 128 * pairs
    return {"kernel": "k", "dtype": dt, "batch": B, "heads": H, "kv_heads": Hkv, "head_dim": 128, "value_dim": 128,
            "seq_q": sq, "seq_kv": skv, "layout": "bhsd", "threads": 2, "isa": "avx512", "time_s": t,
            "gflops": flops / t * 1e-9, "gbs": 1.0, "fma_peak_gflops": fma, "bf16_peak_gflops": 2 * fma,
            "read_roof_gbs": read, "roofs_noisy": noisy}


def peer_run(peer, case, t):
    return {"peer": peer, "case": case, "threads": 2, "time_s": t, "gflops": 1.0, "kv_gbs": 1.0,
            "backend": "FLASH_ATTENTION", "check": "PASS", "torch": "2.15.0", "cpu_capability": "AVX512"}


with tempfile.TemporaryDirectory() as d:
    runs = os.path.join(d, "runs")
    os.mkdir(runs)

    def put(name, j):
        with open(os.path.join(runs, name + ".json"), "w") as f:
            json.dump(j, f)

    # Round 1 slower for attnc; the best of the rounds counts. Roofs: the best too.
    put("r1_A_attnc", attnc_run("A", 0.200, 200.0, 30.0))
    put("r2_A_attnc", attnc_run("A", 0.100, 230.0, 35.0, noisy=True))
    put("r1_A_sdpa", peer_run("sdpa", "A", 0.125))
    put("r2_A_sdpa", peer_run("sdpa", "A", 0.120))
    put("r1_A_flex", peer_run("flex", "A", 0.300))
    put("r1_B_attnc", attnc_run("B", 0.050, 220.0, 33.0))
    put("r1_B_sdpa", peer_run("sdpa", "B", 0.070))
    put("r1_C_attnc", attnc_run("C", 0.800, 220.0, 33.0))
    put("r1_C_sdpa", peer_run("sdpa", "C", 0.900))
    with open(os.path.join(runs, "r1_C_flex.json"), "w") as f:
        f.write("{ not json")  # a broken run is skipped, not fatal
    put("r1_D_attnc", attnc_run("D", 0.005, 220.0, 33.0))
    put("r1_D_sdpa", peer_run("sdpa", "D", 0.100))
    put("r1_D_sdpa-fold", peer_run("sdpa-fold", "D", 0.011))
    doc = os.path.join(d, "performance.md")
    with open(doc, "w") as f:
        f.write("# Performance\n\nintro\n\n## x86 against PyTorch\n\nold table\n\n## CUDA\n\ncard figures\n")
    subprocess.check_call([sys.executable, script, "--peers-section", runs, doc])
    text = open(doc).read()
    check("old table" not in text, "the old peers table is replaced")
    check("## CUDA\n\ncard figures\n" in text, "the CUDA section is kept")
    check(text.startswith("# Performance\n\nintro\n"), "the head is kept")
    check("f32 FMA peak 230 GFLOP/s" in text and "streaming read 35.0 GB/s" in text, "the best roofs")
    check("1 of 5 attnc runs flagged" in text, "noisy runs counted")
    row = next((l for l in text.splitlines() if l.startswith("| A |")), "")
    check("100.0 ms" in row and "120.0 ms" in row and "300.0 ms" in row, f"best of rounds: {row}")
    check("1.20x" in row and ">= 1.2x SDPA: met" in row, f"A vs SDPA: {row}")
    check(">= 0.75 of FMA: **not met**" in row or ">= 0.75 of FMA: met" in row, f"A's FMA bar: {row}")
    row = next((l for l in text.splitlines() if l.startswith("| B |")), "")
    check("time <= 0.55 of A's: 0.50, met" in row, f"causal vs unmasked: {row}")
    row = next((l for l in text.splitlines() if l.startswith("| C |")), "")
    check("| failed |" in row, f"a broken peer run shows as failed: {row}")
    row = next((l for l in text.splitlines() if l.startswith("| D |")), "")
    check("2.20x SDPA folded" in row and ">= 2x SDPA folded: met" in row, f"decode vs folded SDPA: {row}")
    # 4 x 8 x 8192 x 256 x 2 bytes / 5 ms = 26.8 GB/s = 0.77 of 35.0
    check("26.8 GB/s (0.77 of read)" in row and ">= 0.8 of read: **not met**" in row, f"decode read roof: {row}")
    subprocess.check_call([sys.executable, script, "--peers-section", runs, doc])
    check(open(doc).read() == text, "rewriting the section again changes nothing")
    # One subsection per CPU: another CPU's table is kept, this CPU's replaced; a section written before
    # the subsections becomes the subsection of the CPU its first line names.
    with open(doc, "w") as f:
        f.write("# Performance\n\n## x86 against PyTorch\n\nMeasured today on `Other CPU 9000`, 2 threads.\n\n"
                "| old | table |\n\n## CUDA\n\ncard figures\n")
    subprocess.check_call([sys.executable, script, "--peers-section", runs, doc])
    multi = open(doc).read()
    check("### Other CPU 9000\n\nMeasured today on `Other CPU 9000`, 2 threads.\n\n| old | table |\n" in multi,
          "an older section becomes its CPU's subsection")
    check(multi.count("\n### ") == 2 and multi.count("| A |") == 1, "this CPU's subsection added once")
    subprocess.check_call([sys.executable, script, "--peers-section", runs, doc])
    check(open(doc).read() == multi, "rerunning on this CPU replaces its own subsection only")
    with open(doc, "w") as f:
        f.write(text)

    # The x86 mode rewrites the rest and keeps the two sections.
    x86 = os.path.join(d, "x86")
    os.mkdir(x86)
    for n in ["mha_f32", "mha_f32_causal", "gqa_bf16_causal", "gqa_f32_causal", "decode_bhsd", "decode_bshd",
              "long_prefill", "long_decode"]:
        j = attnc_run("A", 0.1, 230.0, 35.0)
        j.update({"ratio_fma": 0.7, "ratio_read": 0.01, "sgemm_roof_gflops": 200.0, "openblas_core": "Zen",
                  "unfused_s": 0.3, "speedup_vs_unfused": 3.0, "kept_fraction": 1.0, "argument_bytes": 2**20,
                  "scratch_bytes": 2**10})
        with open(os.path.join(x86, n + ".json"), "w") as f:
            json.dump(j, f)
    subprocess.check_call([sys.executable, script, x86, doc])
    check("## Compression against dense" not in open(doc).read(), "no compression runs, no section")
    # A compressed run with its dense counterpart: a row with its bar.
    for n, sp in [("pruned_half", 1.9), ("pruned_half_gqa", 1.5), ("sparse_quarter", 3.5)]:
        j = attnc_run("A", 0.05, 230.0, 35.0)
        j.update({"dense_s": 0.05 * sp, "speedup_vs_dense": sp, "kept_fraction": 0.25 if "sparse" in n else 0.5})
        with open(os.path.join(x86, n + ".json"), "w") as f:
            json.dump(j, f)
    subprocess.check_call([sys.executable, script, x86, doc])
    new = open(doc).read()
    row = next((l for l in new.splitlines() if l.startswith("| pruned_half |")), "")
    check("1.90x" in row and ">= 1.8x dense: met" in row and "95.00 ms" in row, f"pruning row: {row}")
    row = next((l for l in new.splitlines() if l.startswith("| pruned_half_gqa |")), "")
    check("1.50x" in row and ">= 1.8x dense: **not met**" in row, f"pruning row, bar missed: {row}")
    row = next((l for l in new.splitlines() if l.startswith("| sparse_quarter |")), "")
    check("3.50x" in row and ">= 3x dense: met" in row and "| 0.25 |" in row, f"block-sparse row: {row}")
    check("## x86 kernels against the roofs" in new and "| mha_f32 |" in new, "the x86 tables are written")
    check("Zen" in new, "OpenBLAS's core is named")
    check(text[text.index("## x86 against PyTorch"):] in new, "the peers and CUDA sections are kept")

for f in failures:
    print("FAIL:", f)
print(f"{'FAILED' if failures else 'passed'}: performance_md.py peers section")
sys.exit(1 if failures else 0)
