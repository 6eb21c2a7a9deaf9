#!/usr/bin/env python3
"""Writes docs/performance.md from the JSON of `attnc bench` runs.

  performance_md.py DIR [DOC]
rewrites docs/performance.md (or DOC) from scripts/bench-x86.sh's runs in DIR, keeping
the sections the two modes below write.

  performance_md.py --peers-section DIR [DOC]
rewrites only the `## x86 against PyTorch` section, from the runs of
scripts/bench-peers.sh in DIR (attnc, SDPA and FlexAttention per round).

  performance_md.py --cuda-section [--ptxas FILE ...] [--bench MD --summary TXT]
rewrites only the `## CUDA` section of docs/performance.md in place: the
ptxas figures of tests/cuda/nvcc_check.sh and, from `scripts/gpu-check run`,
the card's correctness summary and the benchmark table against PyTorch."""
import json
import re
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
                   "dynamic shared memory per block (the build fails above the arch's limit). The helper kernels a "
                   "spec never launches (block lists, top-T plan, Linformer projections, pruned-head fill, MLA projections: their "
                   "bodies compile away to 4 registers) are left out.\n")
        sec.append("| spec | arch | kernel | registers | spills | shared memory |")
        sec.append("|---|---|---|---|---|---|")
        for f in a.ptxas:
            for line in open(f):
                parts = line.split()
                helpers = ("blocklist", "topmean", "topselect", "linproj", "prunefill", "mlaq", "mlaout", "mlawk", "mlaup")
                if len(parts) == 6 and parts[2] in helpers and parts[3].isdigit() and int(parts[3]) <= 4:
                    continue
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


DOC = os.path.join(os.path.dirname(__file__), "..", "docs", "performance.md")
PEERS_HEAD = "## x86 against PyTorch\n"
PEERS_NONE = ("Not measured yet: `scripts/bench-peers.sh` (it installs PyTorch from PyPI into a venv) runs attnc, "
              "PyTorch's SDPA and FlexAttention side by side and writes this section.\n")
PEERS_INTRO = ("One subsection per CPU that `scripts/bench-peers.sh` ran on (it rewrites its own CPU's and keeps the "
               "others): the bars of issue 11 hold on Intel and AMD alike.\n")



def peers_section(argv):
    d = argv[1]
    runs = {}
    for f in sorted(os.listdir(d)):
        if not f.endswith(".json"):
            continue
        _, case, peer = f[:-5].split("_", 2)
        try:
            j = json.load(open(os.path.join(d, f)))
        except (OSError, ValueError):
            continue
        runs.setdefault((case, peer), []).append(j)

    def best(case, peer):
        ok = [j for j in runs.get((case, peer), []) if "time_s" in j]
        return min(ok, key=lambda j: j["time_s"]) if ok else None

    ours = [j for (c, p), js in runs.items() if p == "attnc" for j in js]
    fma = max(j["fma_peak_gflops"] for j in ours)
    bf16 = max(j.get("bf16_peak_gflops", 0) for j in ours)
    read = max(j["read_roof_gbs"] for j in ours)
    noisy = sum(1 for j in ours if j.get("roofs_noisy"))
    nrounds = max(len(js) for js in runs.values())
    a0 = ours[0]
    torch_info = next((j for (c, p), js in runs.items() if p != "attnc" for j in js if "torch" in j), {})
    w = []
    w.append(f"Measured {date.today()} at commit `{commit()}` on `{cpu()}`, {a0['threads']} threads, by "
             f"`scripts/bench-peers.sh` (best of {nrounds} interleaved rounds: attnc, SDPA, FlexAttention, then "
             f"the next case). PyTorch {torch_info.get('torch', '?')} from PyPI "
             f"(CPU capability {torch_info.get('cpu_capability', '?')}); each peer was first checked against a "
             "float64 reference on a small shape of its case. attnc runs x86 "
             f"{a0['isa']}. Physical roofs of the run (the best of its measures): f32 FMA peak {fma:.0f} GFLOP/s, "
             + (f"bf16 dot (vdpbf16ps) peak {bf16:.0f} GFLOP/s, " if bf16 > 0 else "no avx512_bf16, ")
             + f"streaming read {read:.1f} GB/s; {noisy} of {len(ours)} attnc runs flagged their roofs noisy "
             "(>10% apart before and after the kernel). GFLOP/s count useful work, 2 x (head_dim + value_dim) x kept pairs per "
             "head; GB/s are K and V bytes over the time.\n")
    w.append("| case | shape | attnc | PyTorch SDPA | FlexAttention | attnc vs SDPA | bars (issue 11) |")
    w.append("|---|---|---|---|---|---|---|")
    shapes = {"A": "f32 B1 H8 D128 seq 2048, no mask", "B": "f32 B1 H8 D128 seq 2048, causal",
              "C": "bf16 B1 H32/kv8 D128 seq 4096, causal (bshd)", "D": "bf16 decode B4 H32/kv8 D128 seq_kv 8192"}

    def kv_gbs(j):  # attnc's K and V bytes over the time, as the peers count them
        nbytes = {"f32": 4, "bf16": 2, "f16": 2}[j["dtype"]]
        return j["batch"] * j["kv_heads"] * j["seq_kv"] * (j["head_dim"] + j["value_dim"]) * nbytes / j["time_s"] * 1e-9

    def cell(j, decode):
        if j is None:
            return "failed"
        if decode:
            gb = j["kv_gbs"] if "kv_gbs" in j else kv_gbs(j)
            return f"{j['time_s'] * 1e3:.2f} ms, {gb:.1f} GB/s ({gb / read:.2f} of read)"
        return f"{j['time_s'] * 1e3:.1f} ms, {j['gflops']:.0f} GFLOP/s ({j['gflops'] / fma:.2f} of FMA)"

    def met(ok):
        return "met" if ok else "**not met**"

    for c in "ABCD":
        a, sd, fx = best(c, "attnc"), best(c, "sdpa"), best(c, "flex")
        dec = c == "D"
        vs = f"{sd['time_s'] / a['time_s']:.2f}x" if a and sd else "n/a"
        bars = []
        if a and c == "A":
            bars.append(f">= 0.75 of FMA: {met(a['gflops'] / fma >= 0.75)}")
        if a and c == "B" and best("A", "attnc"):
            t = a["time_s"] / best("A", "attnc")["time_s"]
            bars.append(f"time <= 0.55 of A's: {t:.2f}, {met(t <= 0.55)}")
        if a and sd and c in "ABC":
            bars.append(f">= 1.2x SDPA: {met(sd['time_s'] / a['time_s'] >= 1.2)}")
        if a and c == "C":
            bars.append(f"above the f32 FMA peak: {met(a['gflops'] > fma)}")
        if a and c == "D":
            fold = best("D", "sdpa-fold")
            bars.append(f">= 0.8 of read: {met(kv_gbs(a) / read >= 0.8)}")
            if fold:
                vs += f" ({fold['time_s'] / a['time_s']:.2f}x SDPA folded: {cell(fold, True)})"
                bars.append(f">= 2x SDPA folded: {met(fold['time_s'] / a['time_s'] >= 2)}")
        w.append(f"| {c} | {shapes[c]} | {cell(a, dec)} | {cell(sd, dec)} | {cell(fx, dec)} | {vs} | "
                 f"{'; '.join(bars)} |")
    sd = best("A", "sdpa")
    if sd:
        w.append(f"\nSDPA's backend: {sd.get('backend', '?')}. Per-round numbers: the JSON files in "
                 "`BUILD/bench-peers/`.\n")
    doc = argv[2] if len(argv) > 2 else DOC
    text = open(doc).read() if os.path.exists(doc) else "# Performance\n"
    head, _, rest = text.partition(PEERS_HEAD)
    if not _:  # no section yet: before ## CUDA
        head, _, cuda = text.partition("## CUDA\n")
        body, rest = "", ("## CUDA\n" + cuda if _ else "")
    else:
        body, rest = (rest[:rest.index("\n## ")], rest[rest.index("\n## "):]) if "\n## " in rest else (rest, "")
    # One subsection per CPU (the bars hold on Intel and AMD alike): this run replaces its own CPU's
    # subsection and keeps the others. A section from before the subsections is one, named by its "on `CPU`".
    subs = {}
    if "\n### " in "\n" + body:
        for part in ("\n" + body).split("\n### ")[1:]:
            name, _, txt = part.partition("\n")
            subs[name.strip()] = txt.strip()
    elif re.search(r" on `([^`]+)`", body):  # (a body that names no CPU is replaced)
        subs[re.search(r" on `([^`]+)`", body).group(1)] = body.strip()
    subs[cpu()] = "\n".join(w).strip()
    sec = [PEERS_INTRO] + [f"### {name}\n\n{txt}\n" for name, txt in subs.items()]
    open(doc, "w").write(head.rstrip() + "\n\n" + PEERS_HEAD + "\n" + "\n".join(sec).rstrip() + "\n" +
                         ("\n" + rest.strip() + "\n" if rest.strip() else ""))


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


# Compressed specs scripts/bench-x86.sh runs (tests/performance/NAME.attn) and their bars.
COMPRESSION_RUNS = ["pruned_half", "pruned_half_gqa", "sparse_quarter", "topk_eighth"]
COMPRESSION_BARS = {"pruned_half": (">= 1.8x dense", 1.8), "pruned_half_gqa": (">= 1.8x dense", 1.8),
                    "sparse_quarter": (">= 3x dense", 3.0), "topk_eighth": (">= 4x dense, planning included", 4.0)}


def x86_doc(d, doc):
    def load(name):
        with open(os.path.join(d, name + ".json")) as f:
            return json.load(f)

    r = {n: load(n) for n in ["mha_f32", "mha_f32_causal", "gqa_bf16_causal", "gqa_f32_causal", "decode_bhsd",
                              "decode_bshd", "long_prefill", "long_decode"]}
    timed = [j for n, j in r.items() if not n.startswith("long")]
    fma = max(j["fma_peak_gflops"] for j in timed)
    read = max(j["read_roof_gbs"] for j in timed)
    bf16 = max(j.get("bf16_peak_gflops", 0) for j in timed)
    out = []
    w = out.append
    w("# Performance\n")
    w(f"Measured {date.today()} at commit `{commit()}` on `{cpu()}`, {r['mha_f32']['threads']} threads, "
      f"x86 {r['mha_f32']['isa']}. Rerun with `scripts/bench-x86.sh` (it rewrites this file but for the sections "
      "of the other scripts); one case by hand with `attnc bench SPEC --seq-q N --seq-kv M [--batch B] [--json]`.\n")
    w("Ratios are to physical roofs measured by `attnc bench` in the same process, before and after the kernel "
      "(`driver/Roofs.h`, docs/x86.md): the f32 FMA peak of the kernel's vector width (register-only FMA chains on "
      "every thread), the bf16 dot-product peak where the CPU has avx512_bf16 (the compute roof of kernels that run on "
      "vdpbf16ps, `bf16dot`), the streaming-read bandwidth. "
      f"The best roofs of this run: FMA {fma:.0f} GFLOP/s, "
      + (f"bf16 dot {bf16:.0f} GFLOP/s, " if bf16 > 0 else "")
      + f"read {read:.1f} GB/s. OpenBLAS's sgemm and the unfused attention are baselines, with the core type "
      "OpenBLAS chose. These machines are shared and noisy: `noisy` marks a run whose roofs moved more than 10% "
      "between before and after its kernel. GFLOP/s count useful work only: 2 x (head_dim + value_dim) x (pairs the mask "
      "keeps) per head; GB/s, the bytes of q, k, v and out once.\n")
    w("## x86 kernels against the roofs\n")
    w("| case | shape | kernel | of f32 FMA peak | of its compute roof | of read roof | sgemm baseline | |")
    w("|---|---|---|---|---|---|---|---|")
    for n in ["mha_f32", "mha_f32_causal", "gqa_bf16_causal", "gqa_f32_causal", "decode_bhsd", "decode_bshd"]:
        j = r[n]
        sg = (f"{j['sgemm_roof_gflops']:.0f} GFLOP/s ({j.get('openblas_core', '?')})"
              if j.get("sgemm_roof_gflops", 0) > 0 else "n/a")
        flags = ", ".join(f for f, on in [("noisy", j.get("roofs_noisy")),
                                          ("measurement error", j.get("measurement_error"))] if on)
        w(f"| {n} | {shape(j)} | {j['time_s']*1e3:.2f} ms, {j['gflops']:.1f} GFLOP/s, {j['gbs']:.1f} GB/s | "
          f"{j['ratio_fma']:.2f} | {j.get('ratio_compute', j['ratio_fma']):.2f} ({j.get('compute_roof', 'f32 FMA')}) | "
          f"{j['ratio_read']:.2f} | {sg} | {flags} |")
    w("")
    j, c = r["mha_f32"], r["mha_f32_causal"]
    w(f"Causal against unmasked, same shape: {c['time_s'] / j['time_s']:.2f} of the time "
      f"({c['kept_fraction']:.2f} of the pairs kept; bar <= 0.55). "
      f"bf16 against f32, GQA causal seq 4096: {r['gqa_bf16_causal']['gflops'] / r['gqa_f32_causal']['gflops']:.2f}x.\n")
    w("Against the unfused attention (OpenBLAS QK^T, a softmax pass, PV, in f32):\n")
    w("| case | fused | unfused | speed-up |")
    w("|---|---|---|---|")
    for n in ["mha_f32", "mha_f32_causal", "gqa_bf16_causal", "decode_bhsd", "decode_bshd"]:
        j = r[n]
        if j["unfused_s"] > 0:
            w(f"| {n} | {j['time_s']*1e3:.2f} ms | {j['unfused_s']*1e3:.2f} ms | {j['speedup_vs_unfused']:.2f}x |")
        else:
            w(f"| {n} | {j['time_s']*1e3:.2f} ms | n/a | n/a |")
    w("")
    # Compression against dense (issue 12): optional runs, each with its dense counterpart.
    comp = []
    for n in COMPRESSION_RUNS:
        try:
            comp.append((n, load(n)))
        except OSError:
            pass
    if comp:
        w("## Compression against dense\n")
        w("`attnc bench` on a spec with a `compress` block also times the same spec without it (its own default "
          "schedule), interleaved with the compressed kernel (dense, compressed, dense; best of each). GFLOP/s "
          "count the computed heads only.\n")
        w("| case | shape | compressed | pairs kept | dense | speed-up | bar |")
        w("|---|---|---|---|---|---|---|")
        for n, j in comp:
            bar, need = COMPRESSION_BARS.get(n, ("", 0))
            sp = j.get("speedup_vs_dense", 0)
            verdict = (f"{bar}: met" if sp >= need else f"{bar}: **not met**") if bar else ""
            w(f"| {n} | {shape(j)} | {j['time_s']*1e3:.2f} ms, {j['gflops']:.1f} GFLOP/s | "
              f"{j.get('kept_fraction', 1):.2f} | {j.get('dense_s', 0)*1e3:.2f} ms | {sp:.2f}x | {verdict} |")
        w("")
    # Linformer's break-even and MLA decode (issue 12): optional runs.
    lin = []
    for n in [8192, 4096, 2048, 1024]:
        try:
            lin.append((n, load(f"linformer_256_{n}")))
        except OSError:
            pass
    if lin:
        w("## Linformer (rank 256) against dense, by sequence length\n")
        w("`tests/performance/linformer_256.attn` (f32, 8 heads, head_dim 64), seq_q = seq_kv, the projections E.K "
          "and F.V included in the time.\n")
        w("| seq | Linformer | dense | speed-up |")
        w("|---|---|---|---|")
        for n, j in sorted(lin):
            w(f"| {n} | {j['time_s']*1e3:.2f} ms | {j.get('dense_s', 0)*1e3:.2f} ms | {j.get('speedup_vs_dense', 0):.2f}x |")
        above = [n for n, j in sorted(lin) if j.get("speedup_vs_dense", 0) >= 1.0]
        w("")
        w(f"Break-even: {'between ' + str(max([n for n, j in lin if n < min(above)], default=0)) + ' and ' + str(min(above)) if above else 'above the longest run'} "
          "(the shortest measured length at which Linformer is faster, and the one before it).\n")
    try:
        mla, mha = load("mla_decode"), load("mha_decode_32")
    except OSError:
        mla = mha = None
    if mla and mha:
        heads, rank, rope = mla["heads"], mla.get("rank", 0), mla.get("rope", 0)
        # attnc bench counts 2 (head_dim + value_dim) per pair and head; absorbed MLA does 2 (rank + rope)
        # for the scores and 2 rank for the values.
        work = 2 * (rank + rope) + 2 * rank
        real = mla["gflops"] * (work / (2 * (mla["head_dim"] + mla["value_dim"])) if rank else 1)
        fma = max(mla.get("fma_peak_gflops", 0), 1e-9)
        w("## MLA decode (absorbed) against a dense MHA decode\n")
        w(f"`tests/performance/mla_decode.attn`: {heads} heads sharing one latent row of {rank}"
          + (f" + {rope} (rope)" if rope else "") + " per token (bf16), "
          "against `tests/performance/mha_decode_32.attn` (32 heads x 128, K and V). Batch 4, seq_kv 8192, one query.\n")
        w("| kernel | kv bytes per token | time | of read roof | of f32 FMA peak (work the kernel does) |")
        w("|---|---|---|---|---|")
        w(f"| MLA absorbed | {mla.get('kv_bytes_per_token', 0):.0f} | {mla['time_s']*1e3:.2f} ms | {mla['ratio_read']:.2f} | "
          f"{real / fma:.2f} ({real:.0f} GFLOP/s: {work} per pair and head) |")
        w(f"| dense MHA | {mha.get('kv_bytes_per_token', 0):.0f} | {mha['time_s']*1e3:.2f} ms | {mha['ratio_read']:.2f} | "
          f"{mha['ratio_fma']:.2f} |")
        ratio_b = mha.get('kv_bytes_per_token', 0) / max(mla.get('kv_bytes_per_token', 1), 1)
        # The roofline: the work over the best compute roof against the latent's bytes over the read roof.
        flops = real * 1e9 * mla["time_s"]
        nbytes = mla.get("kv_bytes_per_token", 0) * mla["batch"] * mla["seq_kv"]
        peak = max(mla.get("bf16_peak_gflops", 0), fma) * 1e9
        read = max(mla.get("read_roof_gbs", 0), 1e-9) * 1e9
        ceiling = (nbytes / read) / (flops / peak) if flops > 0 else 0
        w("")
        w(f"Bytes per token: {ratio_b:.1f}x fewer with the latent; time: MLA at {mla['time_s'] / mha['time_s']:.2f}x "
          f"the dense decode's. With {heads} heads on one latent, absorbed MLA does {flops / max(nbytes, 1):.0f} FLOP "
          f"per byte of latent it reads: {flops / 1e9:.1f} GFLOP take at least {flops / peak * 1e3:.1f} ms at this "
          f"CPU's best compute roof ({peak / 1e9:.0f} GFLOP/s) where reading the {nbytes / 1e6:.1f} MB takes "
          f"{nbytes / read * 1e3:.2f} ms, so no kernel can pass {ceiling:.3f} of the read roof here (bar >= 0.6: "
          f"{'met' if mla['ratio_read'] >= 0.6 else 'not met'}; a GPU's compute-to-bandwidth ratio is what it fits).\n")
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
    # The other scripts' sections are kept from the current file.
    try:
        cur = open(doc).read()
    except OSError:
        cur = ""
    for h, none in [(PEERS_HEAD, PEERS_NONE), (TUNE_HEAD, TUNE_NONE),
                    ("## CUDA\n", "See `performance_md.py --cuda-section`.\n")]:
        if h == TUNE_HEAD and h not in cur:
            continue  # (written by --tune-section only once bench-tune.sh has run)
        body = cur.split(h, 1)[1] if h in cur else none
        if h != "## CUDA\n" and "\n## " in body:
            body = body[:body.index("\n## ")]
        w(h + "\n" + body.strip() + "\n")
    return "\n".join(out)


TUNE_HEAD = "## Tuning (x86)\n"
TUNE_NONE = "Not measured yet: `scripts/bench-tune.sh`.\n"


def tune_section(argv):
    """--tune-section SUMMARY.jsonl [DOC]: the tuned schedules against the
    default and Halide's autoschedulers (attnc tune --summary), one run."""
    import json
    summary = argv[1]
    doc = argv[2] if len(argv) > 2 else DOC
    rows = [json.loads(l) for l in open(summary) if l.strip()]
    out = [TUNE_HEAD]
    cpu = rows[0].get("cpu", "") if rows else ""
    import datetime
    when = datetime.datetime.utcnow().strftime("%Y-%m-%d")
    out.append(f"Measured {when} on `{cpu}`, every core, budget 60 s per shape. " if cpu else "")
    out.append(f"`scripts/bench-tune.sh` ({len(rows)} shapes of the benchmarks above): `attnc tune` on each, its "
               "candidates built, checked against the reference and timed interleaved in one run (best of rounds), "
               "into a scratch database. The default is the heuristic schedule, timed in the same rounds; Halide 14's "
               "autoschedulers (Adams2019, Li2018, Mullapudi2016) schedule the same algorithm (its analyzable form, "
               "docs/tuning.md) for the shape and are timed in the same rounds; the column gives the best of them and "
               "the tuned schedule's speed-up over it.\n")
    out.append("| case | shape | default | tuned | tuned vs default | best autoscheduler | tuning time | tuned schedule |")
    out.append("|---|---|---|---|---|---|---|---|")
    errors = {}
    for r in rows:
        g = lambda t: r["useful_flops"] / t / 1e9
        autos = {k: v for k, v in r["autoschedulers"].items() if "seconds" in v}
        for k, v in r["autoschedulers"].items():
            if "error" in v:
                errors.setdefault(k, v["error"])
        best_auto = (min(autos.items(), key=lambda kv: kv[1]["seconds"]) if autos else None)
        auto_txt = (f"{best_auto[0]}: {best_auto[1]['seconds'] * 1e3:.2f} ms (tuned "
                    f"{best_auto[1]['seconds'] / r['tuned_s']:.1f}x faster)" if best_auto else
                    ("none built" if r["autoschedulers"] else "n/a (decode)"))
        out.append(f"| {r['case'] if 'case' in r else r['kernel']} | B{r['batch']} seq_q {r['seq_q']} seq_kv "
                   f"{r['seq_kv']} ({r['variant']}) | {r['default_s'] * 1e3:.2f} ms ({g(r['default_s']):.0f} GFLOP/s) | "
                   f"{r['tuned_s'] * 1e3:.2f} ms ({g(r['tuned_s']):.0f} GFLOP/s, {g(r['tuned_s']) / r['roof_gflops']:.2f} "
                   f"of roof) | {r['default_s'] / r['tuned_s']:.2f}x | {auto_txt} | {r['tune_s']:.0f} s "
                   f"({r['built']} built, {r['rejected']} rejected of {r['space']}) | `{r['tuned_schedule']}` |")
    out.append("")
    if errors:
        out.append("Autoschedulers that gave no running kernel on some shape (reported by `attnc tune` as "
                   "rejected candidates, with Halide's message):\n")
        for k, e in sorted(errors.items()):
            out.append(f"- {k}: {' '.join(e.split()).replace('|', '/')}")
        out.append("")
    sec = "\n".join(out) + "\n"
    text = open(doc).read()
    if TUNE_HEAD in text:
        head, _, rest = text.partition(TUNE_HEAD)
        rest = rest[rest.index("\n## "):] if "\n## " in rest else ""
        text = head + sec + rest.lstrip("\n")
    else:
        head, mid, rest = text.partition("## CUDA\n")
        text = head + sec + "\n" + mid + rest
    open(doc, "w").write(text)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--tune-section":
        tune_section(sys.argv[1:])
        sys.exit(0)
    if len(sys.argv) > 1 and sys.argv[1] == "--cuda-section":
        cuda_section(sys.argv[1:])
    elif len(sys.argv) > 1 and sys.argv[1] == "--peers-section":
        peers_section(sys.argv[1:])
    elif len(sys.argv) in (2, 3):
        doc = sys.argv[2] if len(sys.argv) == 3 else DOC
        text = x86_doc(sys.argv[1], doc)  # reads the current file's other sections first
        open(doc, "w").write(text)
    else:
        sys.exit(__doc__)
