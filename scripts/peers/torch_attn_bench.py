#!/usr/bin/env python3
"""PyTorch CPU attention peers: F.scaled_dot_product_attention and compiled FlexAttention.

usage: torch_attn_bench.py --peer sdpa|sdpa-fold|flex --case A|B|C|D [--reps 3] [--threads N] [--check-only]
                           [--no-check] [--json]

Run by scripts/bench-peers.sh (the venv it makes holds PyTorch); --json prints one JSON object per run.

Cases (torch [B,H,S,D] tensors; C/D math is identical to [B,S,H,D] storage):
  A  f32  B=1 H=8          D=128 SQ=SKV=2048 dense
  B  f32  B=1 H=8          D=128 SQ=SKV=2048 causal
  C  bf16 B=1 H=32 Hkv=8   D=128 SQ=SKV=4096 causal (GQA via enable_gqa=True)
  D  bf16 B=4 H=32 Hkv=8   D=128 SQ=1 SKV=8192 decode (GQA via enable_gqa=True)
sdpa-fold (decode only): q viewed as [B, Hkv, G*SQ, D] so each kv head is read once per group.
Before timing, the same code path is checked against a float64 naive reference at a
small shape of the same case (S=128; decode SKV=256).
"""
import argparse
import json
import math
import os
import sys
import time

import torch
import torch.nn.functional as F

CASES = {
    # name: dtype, B, H, Hkv, D, SQ, SKV, causal
    "A": (torch.float32, 1, 8, 8, 128, 2048, 2048, False),
    "B": (torch.float32, 1, 8, 8, 128, 2048, 2048, True),
    "C": (torch.bfloat16, 1, 32, 8, 128, 4096, 4096, True),
    "D": (torch.bfloat16, 4, 32, 8, 128, 1, 8192, False),
}


def small(case):
    dt, B, H, Hkv, D, SQ, SKV, causal = CASES[case]
    if SQ == 1:
        return dt, B, H, Hkv, D, 1, 256, causal
    return dt, B, H, Hkv, D, 128, 128, causal


def make_inputs(spec, seed=0):
    dt, B, H, Hkv, D, SQ, SKV, causal = spec
    g = torch.Generator().manual_seed(seed)
    q = torch.randn(B, H, SQ, D, generator=g).to(dt)
    k = torch.randn(B, Hkv, SKV, D, generator=g).to(dt)
    v = torch.randn(B, Hkv, SKV, D, generator=g).to(dt)
    return q, k, v


def reference(q, k, v, causal):
    q, k, v = q.double(), k.double(), v.double()
    H, Hkv = q.shape[1], k.shape[1]
    k = k.repeat_interleave(H // Hkv, dim=1)
    v = v.repeat_interleave(H // Hkv, dim=1)
    s = (q @ k.transpose(-1, -2)) / math.sqrt(q.shape[-1])
    if causal:  # top-left aligned == bottom-right for square
        SQ, SKV = s.shape[-2:]
        mask = torch.ones(SQ, SKV, dtype=torch.bool).tril(SKV - SQ)
        s = s.masked_fill(~mask, float("-inf"))
    return torch.softmax(s, dim=-1) @ v


_flex_compiled = None


def build(peer, spec):
    """Returns fn(q,k,v)->out for this peer and case spec (block mask built once)."""
    dt, B, H, Hkv, D, SQ, SKV, causal = spec
    gqa = H != Hkv
    if peer == "sdpa":
        def fn(q, k, v):
            return F.scaled_dot_product_attention(q, k, v, is_causal=causal, enable_gqa=gqa)
        return fn
    if peer == "sdpa-fold":
        # GQA decode trick: the G=H/Hkv query heads sharing a kv head become G query rows
        # of one kv head, so each K/V block is read once per group. Valid without a mask
        # (dense, or causal with SQ=1), i.e. for decode.
        if causal and SQ != 1:
            raise ValueError("sdpa-fold is only valid for unmasked attention (decode)")
        G = H // Hkv

        def fn(q, k, v):
            o = F.scaled_dot_product_attention(q.reshape(B, Hkv, G * SQ, D), k, v)
            return o.reshape(B, H, SQ, D)
        return fn
    if peer == "flex":
        global _flex_compiled
        from torch.nn.attention.flex_attention import create_block_mask, flex_attention
        if _flex_compiled is None:
            _flex_compiled = torch.compile(flex_attention, dynamic=False)
        bm = None
        if causal:
            off = SKV - SQ

            def causal_mod(b, h, q_idx, kv_idx):
                return kv_idx <= q_idx + off
            bm = create_block_mask(causal_mod, B=None, H=None, Q_LEN=SQ, KV_LEN=SKV, device="cpu")

        def fn(q, k, v):
            return _flex_compiled(q, k, v, block_mask=bm, enable_gqa=gqa)
        return fn
    raise SystemExit(f"unknown peer {peer}")


def useful(spec):
    dt, B, H, Hkv, D, SQ, SKV, causal = spec
    off = SKV - SQ
    pairs = sum(min(SKV, max(0, i + off + 1)) for i in range(SQ)) if causal else SQ * SKV
    flops = 4.0 * B * H * D * pairs
    kvbytes = 2.0 * B * Hkv * SKV * D * torch.empty((), dtype=dt).element_size()
    return flops, kvbytes


def sdpa_backend(q, k, v, causal, gqa):
    try:
        from torch.nn.attention import SDPBackend
        return SDPBackend(torch._fused_sdp_choice(q, k, v, None, 0.0, causal, enable_gqa=gqa)).name
    except Exception as e:  # pragma: no cover
        return f"unknown({type(e).__name__})"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--peer", required=True, choices=["sdpa", "sdpa-fold", "flex"])
    ap.add_argument("--case", required=True, choices=list(CASES))
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--check-only", action="store_true")
    ap.add_argument("--no-check", action="store_true")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    case = a.case
    spec = CASES[case]
    dt, B, H, Hkv, D, SQ, SKV, causal = spec
    tag = f"torch-{a.peer} case={case} {str(dt).replace('torch.', '')} B={B} H={H} Hkv={Hkv} D={D} SQ={SQ} SKV={SKV} causal={int(causal)} threads={a.threads}"
    status = "unchecked"
    try:
        if not a.no_check:
            sspec = small(case)
            q, k, v = make_inputs(sspec, seed=1)
            out = build(a.peer, sspec)(q, k, v)
            ref = reference(q, k, v, sspec[7])
            err = (out.double() - ref).abs().max().item()
            tol = 2e-5 if dt == torch.float32 else 3e-2
            status = f"check(S={sspec[5]}x{sspec[6]}) max_abs_err={err:.2e} tol={tol:.0e} {'PASS' if err <= tol else 'FAIL'}"
            if a.check_only:
                print(f"{tag} {status}", flush=True)
                return 0 if err <= tol else 1
        q, k, v = make_inputs(spec)
        fn = build(a.peer, spec)
        t0 = time.perf_counter()
        out = fn(q, k, v)  # warm-up (includes compile for flex)
        first = time.perf_counter() - t0
        fn(q, k, v)
        best = float("inf")
        for _ in range(a.reps):
            t0 = time.perf_counter()
            out = fn(q, k, v)
            best = min(best, time.perf_counter() - t0)
        assert out.shape == (B, H, SQ, D) and torch.isfinite(out).all()
        flops, kvbytes = useful(spec)
        extra = ""
        if a.peer == "sdpa":
            extra = f" backend={sdpa_backend(q, k, v, causal, H != Hkv)}"
        if a.json:
            print(json.dumps({"peer": a.peer, "case": case, "threads": a.threads, "time_s": best,
                              "gflops": flops / best * 1e-9, "kv_gbs": kvbytes / best * 1e-9, "first_call_s": first,
                              "backend": extra.replace(" backend=", ""), "check": status,
                              "torch": torch.__version__, "cpu_capability": torch.backends.cpu.get_cpu_capability()}),
                  flush=True)
            return 0 if "FAIL" not in status else 1
        print(f"{tag} best_ms={best * 1e3:.3f} useful_GFLOPs={flops / best * 1e-9:.1f} kv_GBps={kvbytes / best * 1e-9:.1f}"
              f" first_call_s={first:.1f}{extra} {status}", flush=True)
        return 0 if "FAIL" not in status else 1
    except Exception as e:
        msg = str(e).strip().splitlines()
        if a.json:
            print(json.dumps({"peer": a.peer, "case": case, "error": f"{type(e).__name__}: {msg[0] if msg else ''}",
                              "check": status}), flush=True)
        else:
            print(f"{tag} ERROR {type(e).__name__}: {msg[0] if msg else ''} {status}", flush=True)
        import traceback
        traceback.print_exc(file=sys.stderr)
        return 3


if __name__ == "__main__":
    sys.exit(main())
