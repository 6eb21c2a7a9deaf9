#!/usr/bin/env python3
"""attnc tune -target cuda into a database, then a CUDA compile with it
(docs/tuning.md, "CUDA"):

  check_tune_cuda.py ATTNC SPEC DECODE_SPEC OUT_DIR [NVCC]

- two shapes in two buckets (a prefill and a decode) tune into one database,
  each entry with how "cost model" (no GPU here) and the cost model's times;
- the compile carries one variant per bucket: a `TunedN` instantiation and a
  dispatch on the call's rounded-up shape in NAME.cu, and NAME.h says which
  schedule runs for which bucket and where it came from;
- --schedule on the command line overrides the database (no variants);
- an entry whose schedule text no longer parses gives one warning and is
  left out (the rest of the database still applies);
- with NVCC given, the tuned NAME.cu compiles for sm_80;
- the measured path on the SIMT emulator (DECODE_SPEC, a small decode
  shape): candidates built, checked against the reference and timed, an
  injected wrong candidate rejected and never stored, the plot, the entry
  (how "measured (SIMT emulator)") used by a compile, and outranked there by
  a cost-model entry of the same bucket; `--measure gpu` without a GPU is an
  error, not a silent fallback;
- --export-job writes a job that runs without attnc (its run.sh, here on
  the emulator), and --import-job checks its results and stores the winner;
  importing it for another spec is an error."""
import json
import os
import re
import shutil
import subprocess
import sys

attnc, spec, dspec, out = sys.argv[1:5]
nvcc = sys.argv[5] if len(sys.argv) > 5 else ""
shutil.rmtree(out, ignore_errors=True)
os.makedirs(out)
db = os.path.join(out, "db.json")
name = os.path.splitext(os.path.basename(spec))[0]


def run(*args, ok=True):
    p = subprocess.run([attnc, *args], capture_output=True, text=True)
    if ok and p.returncode != 0:
        sys.exit(f"{args}: exit {p.returncode}\n{p.stdout}\n{p.stderr}")
    return p


for sq, skv in ((1000, 1000), (1, 3000)):
    t = run("tune", spec, "-target", "cuda", "--arch", "sm_80", "--seq-q", str(sq), "--seq-kv", str(skv),
            "--ptxas", "0", "--db", db)
    assert "ranked by the cost model (not timed)" in t.stderr, t.stderr
entries = json.load(open(db))["entries"]
assert len(entries) == 2, entries
got = {(e["bucket"]["seq_q"], e["bucket"]["seq_kv"]): e for e in entries}
assert set(got) == {(1024, 1024), (1, 4096)}, got
assert got[(1024, 1024)]["variant"] == "prefill" and got[(1, 4096)]["variant"] == "decode", got
assert all(e["how"] == "cost model" and e["target"] == "cuda-sm_80" for e in entries), entries

d = os.path.join(out, "tuned")
c = run(spec, "-target", "cuda", "--arch", "sm_80", "--db", db, "-o", d, "--explain")
cu = open(os.path.join(d, name + ".cu")).read()
h = open(os.path.join(d, name + ".h")).read()
for i, (bucket, e) in enumerate(sorted(got.items(), key=lambda kv: kv[1]["variant"] == "decode")):
    assert re.search(r"using Tuned\d = Tiles<", cu), cu[-3000:]
    cond = f"attnc_pow2(batch) == 1 && attnc_pow2(seq_q) == {bucket[0]} && attnc_pow2(seq_kv) == {bucket[1]}"
    assert cu.count(cond) == 2, f"dispatch for {bucket} (the entry and the workspace size):\n{cond}"
    line = f"round up to 1, {bucket[0]}, {bucket[1]}: {e['variant']} \"{e['schedule']}\" (tuning database {db}"
    assert line in h, f"{line}\nnot in the header:\n{h}"
    assert "cost model" in h
assert "tuned, for calls" in c.stderr, c.stderr  # --explain

# The command line's schedule wins: no variants.
d2 = os.path.join(out, "override")
run(spec, "-target", "cuda", "--arch", "sm_80", "--db", db, "-o", d2, "--schedule", "n64")
assert "Tuned0" not in open(os.path.join(d2, name + ".cu")).read()

# An entry that no longer parses: one warning, the other entry still used.
j = json.load(open(db))
for e in j["entries"]:
    if e["variant"] == "prefill":
        e["schedule"] = "wm4 bogus7"
json.dump(j, open(db, "w"))
d3 = os.path.join(out, "stale")
s = run(spec, "-target", "cuda", "--arch", "sm_80", "--db", db, "-o", d3)
assert s.stderr.count("warning") == 1 and "not usable here" in s.stderr, s.stderr
cu3 = open(os.path.join(d3, name + ".cu")).read()
assert "Tuned0" in cu3 and "Tuned1" not in cu3 and "attnc_pow2(seq_q) == 1 &&" in cu3, cu3[-2000:]

if nvcc and os.path.exists(nvcc):
    p = subprocess.run([nvcc, "-std=c++17", "-O1", "-arch=sm_80", "-c", os.path.join(d, name + ".cu"), "-o",
                        os.path.join(d, name + ".o")], capture_output=True, text=True)
    assert p.returncode == 0, p.stdout + p.stderr
    print("nvcc: the tuned source compiles for sm_80")
# ---- Measured on the SIMT emulator.
edb = os.path.join(out, "emu.json")
plot = os.path.join(out, "emu.svg")
dname = os.path.splitext(os.path.basename(dspec))[0]
t = run("tune", dspec, "-target", "cuda", "--arch", "sm_80", "--measure", "emulator", "--seq-q", "1", "--seq-kv",
        "300", "--budget", "20", "--db", edb, "--inject-wrong-candidate", "--plot", plot, "--explain")
assert "timed on the SIMT emulator" in t.stderr, t.stderr
m = re.search(r"rejected: (.*) \(injected wrong\): wrong against the reference", t.stdout)
assert m, t.stdout
assert re.search(r"^best ", t.stdout, re.M) and "explain: the cost model estimated" in t.stdout, t.stdout
svg = open(plot).read()
assert 'class="rejected"' in svg and 'class="winner"' in svg and "(injected)" in svg, svg
[e] = json.load(open(edb))["entries"]
assert e["how"] == "measured (SIMT emulator)" and e["machine"] == "SIMT emulator", e
assert e["bucket"] == {"batch": 1, "seq_q": 1, "seq_kv": 512} and e["variant"] == "decode", e
assert e["candidates"] >= 3 and e["seconds"] > 0 and e["default_seconds"] > 0, e
d4 = os.path.join(out, "emu-tuned")
run(dspec, "-target", "cuda", "--arch", "sm_80", "--db", edb, "-o", d4)
h4 = open(os.path.join(d4, dname + ".h")).read()
assert f'round up to 1, 1, 512: decode "{e["schedule"]}"' in h4 and "measured (SIMT emulator)" in h4, h4
# A cost-model entry of the same bucket outranks the emulator's.
run("tune", dspec, "-target", "cuda", "--arch", "sm_80", "--measure", "model", "--seq-q", "1", "--seq-kv", "300",
    "--ptxas", "0", "--db", edb)
assert len(json.load(open(edb))["entries"]) == 2
run(dspec, "-target", "cuda", "--arch", "sm_80", "--db", edb, "-o", d4)
h4 = open(os.path.join(d4, dname + ".h")).read()
assert h4.count("tuned, for calls") == 1 and "cost model" in h4 and "SIMT emulator" not in h4, h4
# No GPU here: --measure gpu says so and fails.
g = run("tune", dspec, "-target", "cuda", "--arch", "sm_80", "--measure", "gpu", "--seq-q", "1", "--seq-kv", "300",
        "--db", edb, ok=False)
if subprocess.run("nvidia-smi -L", shell=True, capture_output=True).returncode != 0:
    assert g.returncode != 0 and "--measure gpu: no GPU here" in g.stderr, g.stderr
# ---- An exported job, run by its own script, imported.
job = os.path.join(out, "job")
x = run("tune", dspec, "-target", "cuda", "--arch", "sm_80", "--measure", "emulator", "--seq-q", "1", "--seq-kv",
        "300", "--budget", "20", "--export-job", job, "--inject-wrong-candidate")
assert os.path.exists(os.path.join(job, "run.sh")) and os.path.exists(os.path.join(job, "tune.json")), x.stdout
r = subprocess.run(["sh", os.path.join(job, "run.sh")], capture_output=True, text=True)
assert r.returncode == 0 and "shape-0: 12 timings, 6 checks run" in r.stdout, r.stdout + r.stderr
idb = os.path.join(out, "imported.json")
i = run("tune", dspec, "-target", "cuda", "--import-job", job, "--db", idb)
assert re.search(r"rejected: .* \(injected wrong\): wrong against the reference", i.stdout), i.stdout
[e] = json.load(open(idb))["entries"]
assert e["how"] == "measured (SIMT emulator)" and e["bucket"]["seq_kv"] == 512, e
w = run("tune", spec, "-target", "cuda", "--import-job", job, "--db", idb, ok=False)
assert w.returncode != 0 and "is for `" + dname + "`" in w.stderr, w.stderr
# A job that has not run, and a damaged tune.json: errors that say so, never a crash.
job2 = os.path.join(out, "job-not-run")
run("tune", dspec, "-target", "cuda", "--arch", "sm_80", "--measure", "emulator", "--seq-q", "1", "--seq-kv", "300",
    "--budget", "20", "--export-job", job2)
n = run("tune", dspec, "-target", "cuda", "--import-job", job2, "--db", idb, ok=False)
assert n.returncode == 2 and "error[tune_failed]" in n.stderr and "has not run" in n.stderr, n.stderr
for text in ("", "{", '{"format": "attnc-cuda-tune-job", "version": 1, "kernel": 3}', "[]"):
    open(os.path.join(job2, "tune.json"), "w").write(text)
    n = run("tune", dspec, "-target", "cuda", "--import-job", job2, "--db", idb, ok=False)
    assert n.returncode == 2 and "error[tune_failed]" in n.stderr and "tune.json" in n.stderr, (text, n.stderr)
assert len(json.load(open(idb))["entries"]) == 1
print("ok")
