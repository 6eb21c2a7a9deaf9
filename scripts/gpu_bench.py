#!/usr/bin/env python3
"""Benchmarks attnc's CUDA kernels against PyTorch on the same GPU in the
same run (scripts/gpu-check run calls it; docs/cuda.md).

For every benchmark spec in BUNDLE/bench/ (built by gpu-check: gpu.so next to
NAME.h and the .attn), on the spec's benchmark shape: attnc's NAME_cuda,
torch.nn.functional.scaled_dot_product_attention, and FlexAttention under
torch.compile, timed with CUDA events (median of 30 after 5 warm-ups), as
TFLOP/s of useful work (kept pairs only) and, for decoding, GB/s of K and V
read. attnc's output is also compared with SDPA's, an implementation
independent of attnc, and the largest difference printed.

Only masks PyTorch expresses with the same meaning are compared: none and
`causal` (attnc's causal is aligned bottom-right, kv_idx <= q + seq_kv -
seq_q; for seq_q == seq_kv that is SDPA's is_causal, for one query row it
keeps every key)."""
import argparse
import ctypes
import json
import re
import statistics
import sys
from pathlib import Path

import torch
import torch.nn.functional as F

try:
    from torch.nn.attention.flex_attention import create_block_mask, flex_attention

    flex_compiled = torch.compile(flex_attention, dynamic=False)
except Exception:  # older torch: no FlexAttention
    flex_compiled = None

# Benchmark shapes (batch, seq_q, seq_kv) per spec of tests/performance/.
SHAPES = {
    "mha_f32": (1, 2048, 2048),
    "mha_f32_causal": (1, 2048, 2048),
    "gqa_bf16_causal": (1, 4096, 4096),
    "gqa_bf16_decode": (4, 1, 8192),
    "long_causal": (1, 16384, 16384),
    "long_decode": (1, 1, 131072),
}
DTYPES = {"f32": torch.float32, "f16": torch.float16, "bf16": torch.bfloat16}
CODES = {"f32": 0, "f16": 1, "bf16": 2}


class AttncTensor(ctypes.Structure):
    _fields_ = [("data", ctypes.c_void_p), ("dtype", ctypes.c_int32), ("ndim", ctypes.c_int32),
                ("shape", ctypes.c_int64 * 4), ("stride", ctypes.c_int64 * 4)]


def view(t, dtype):
    a = AttncTensor()
    a.data = t.data_ptr()
    a.dtype = CODES[dtype]
    a.ndim = t.dim()
    for i in range(t.dim()):
        a.shape[i] = t.shape[i]
        a.stride[i] = t.stride(i)
    return a


def header_info(h):
    text = h.read_text()
    sizes = dict(kv.split("=") for kv in re.search(r"Sizes: (.*)", text).group(1).split())
    layout = re.search(r"layout (\w+)", text).group(1)
    return {k: (v if k == "dtype" else int(v)) for k, v in sizes.items()}, layout


def time_ms(fn, reps=30, warm=5):
    for _ in range(warm):
        fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(reps):
        a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        a.record()
        fn()
        b.record()
        b.synchronize()
        times.append(a.elapsed_time(b))
    return statistics.median(times)


def bench_one(d, card):
    name = d.name
    spec = (d / f"{name}.attn").read_text()
    sizes, layout = header_info(d / f"{name}.h")
    B, Sq, Skv = SHAPES.get(name, (1, 2048, 2048))
    H, Hk, D, Dv, dt = sizes["heads"], sizes["kv_heads"], sizes["head_dim"], sizes["value_dim"], sizes["dtype"]
    masks = re.findall(r"^\s*mask\s+(.*?)\s*(#.*)?$", spec, re.M)
    mask = masks[0][0] if masks else ""
    if mask not in ("", "causal") or "score_mod" in spec or "score " in spec:
        return None  # PyTorch has no same-meaning baseline here
    causal = mask == "causal" and Sq > 1
    if causal and Sq != Skv:
        return None
    tdt = DTYPES[dt]
    g = torch.Generator(device="cuda").manual_seed(0)
    shape = (lambda h, s, x: (B, s, h, x)) if layout == "bshd" else (lambda h, s, x: (B, h, s, x))
    q = torch.randn(shape(H, Sq, D), device="cuda", dtype=tdt, generator=g)
    k = torch.randn(shape(Hk, Skv, D), device="cuda", dtype=tdt, generator=g)
    v = torch.randn(shape(Hk, Skv, Dv), device="cuda", dtype=tdt, generator=g)
    out = torch.empty(shape(H, Sq, Dv), device="cuda", dtype=tdt)
    lib = ctypes.CDLL(str(d / "gpu.so"))
    fn = getattr(lib, f"{name}_cuda")
    err = getattr(lib, f"{name}_last_error")
    err.restype = ctypes.c_char_p
    args = [view(q, dt), view(k, dt), view(v, dt), view(out, dt)]
    ptrs = [ctypes.byref(a) for a in args]
    stream = ctypes.c_void_p(torch.cuda.current_stream().cuda_stream)

    def attnc():
        rc = fn(*ptrs, stream)
        if rc != 0:
            raise RuntimeError(f"{name}_cuda: status {rc}: {err().decode()}")

    # SDPA and Flex take [B, H, S, D].
    tq, tk, tv = (x.transpose(1, 2) if layout == "bshd" else x for x in (q, k, v))
    gqa = H != Hk

    def sdpa():
        return F.scaled_dot_product_attention(tq, tk, tv, is_causal=causal, enable_gqa=gqa)

    res = {"spec": name, "card": card, "batch": B, "seq_q": Sq, "seq_kv": Skv, "heads": H, "kv_heads": Hk,
           "head_dim": D, "value_dim": Dv, "dtype": dt, "layout": layout, "mask": mask or "none"}
    pairs = Sq * (Sq + 1) // 2 if causal else Sq * Skv
    flops = 2.0 * B * H * pairs * (D + Dv)
    kv_bytes = B * Hk * Skv * (D + Dv) * q.element_size()
    res["attnc_ms"] = time_ms(attnc)
    attnc()
    torch.cuda.synchronize()
    ref = sdpa()
    got = out.transpose(1, 2) if layout == "bshd" else out
    res["max_abs_diff_vs_sdpa"] = (got.float() - ref.float()).abs().max().item()
    res["sdpa_ms"] = time_ms(sdpa)
    if flex_compiled is not None:
        try:
            bm = create_block_mask(lambda b, h, qi, ki: qi >= ki, None, None, Sq, Skv) if causal else None
            flex = lambda: flex_compiled(tq, tk, tv, block_mask=bm, enable_gqa=gqa)
            res["flex_ms"] = time_ms(flex)
        except Exception as e:  # FlexAttention may not support a shape (e.g. f32 on some versions)
            res["flex_error"] = str(e).splitlines()[0][:120]
    for k_ in ("attnc", "sdpa", "flex"):
        if f"{k_}_ms" in res:
            res[f"{k_}_tflops"] = flops / (res[f"{k_}_ms"] * 1e-3) / 1e12
            res[f"{k_}_kv_gbps"] = kv_bytes / (res[f"{k_}_ms"] * 1e-3) / 1e9
    res["attnc_vs_sdpa"] = res["sdpa_ms"] / res["attnc_ms"]
    if "flex_ms" in res:
        res["attnc_vs_flex"] = res["flex_ms"] / res["attnc_ms"]
    return res


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bundle", required=True)
    ap.add_argument("--card", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--markdown", required=True)
    a = ap.parse_args()
    results = []
    for d in sorted(Path(a.bundle, "bench").iterdir()):
        if not (d / "gpu.so").exists():
            continue
        try:
            r = bench_one(d, a.card)
        except Exception as e:
            r = {"spec": d.name, "error": str(e)[:200]}
        if r:
            results.append(r)
            print(json.dumps(r))
    Path(a.out).write_text(json.dumps(results, indent=1))
    lines = [f"Measured on **{a.card}** by `scripts/gpu-check run` (torch {torch.__version__}); "
             "ratios are PyTorch's time / attnc's time in the same run (> 1: attnc faster).\n",
             "| spec | shape | attnc | SDPA | FlexAttention | attnc vs SDPA | attnc vs Flex | max diff vs SDPA |",
             "|---|---|---|---|---|---|---|---|"]
    for r in results:
        if "error" in r:
            lines.append(f"| {r['spec']} | error: {r['error']} | | | | | | |")
            continue
        decode = r["seq_q"] <= 16
        unit = (lambda k: f"{r[k + '_kv_gbps']:.0f} GB/s") if decode else (lambda k: f"{r[k + '_tflops']:.1f} TFLOP/s")
        shape = (f"B={r['batch']} H={r['heads']}/{r['kv_heads']} D={r['head_dim']} {r['seq_q']}x{r['seq_kv']} "
                 f"{r['dtype']} {r['layout']} {r['mask']}")
        flex = unit("flex") if "flex_ms" in r else r.get("flex_error", "n/a")
        lines.append(f"| {r['spec']} | {shape} | {unit('attnc')} | {unit('sdpa')} | {flex} | "
                     f"{r['attnc_vs_sdpa']:.2f}x | {r.get('attnc_vs_flex', float('nan')):.2f}x | "
                     f"{r['max_abs_diff_vs_sdpa']:.2e} |")
    Path(a.markdown).write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0 if all("error" not in r for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
