#!/usr/bin/env python3
"""attnc tune end to end (docs/tuning.md):

  check_tune.py ATTNC SPEC OUT_DIR

- a tune with a wrong candidate injected rejects it and never stores it;
- the database then holds the winner for the shape's bucket;
- a compile with that database carries the tuned variant for that bucket
  only (its header says so), and `attnc bench` uses it for that bucket and
  the heuristic for another;
- a corrupt database gives one warning and the heuristic;
- Halide's three autoschedulers run as rivals: built, checked, timed in the
  same rounds, reported in the table and the summary, never stored."""
import json
import os
import re
import shutil
import subprocess
import sys

attnc, spec, out = sys.argv[1:4]
shutil.rmtree(out, ignore_errors=True)
os.makedirs(out)
db = os.path.join(out, "db.json")


def run(*args, ok=True):
    p = subprocess.run([attnc, *args], capture_output=True, text=True)
    if ok and p.returncode != 0:
        sys.exit(f"{args}: exit {p.returncode}\n{p.stdout}\n{p.stderr}")
    return p


t = run("tune", spec, "--seq-q", "64", "--seq-kv", "64", "--budget", "4", "--no-autoschedulers", "--seed", "3",
        "--threads", "2", "--db", db, "--inject-wrong-candidate")
m = re.search(r"^rejected: (.*) \(injected wrong\): wrong against the reference", t.stdout, re.M)
assert m, f"the injected candidate was not rejected:\n{t.stdout}"
injected = m.group(1)
entries = json.load(open(db))["entries"]
assert len(entries) == 1, entries
e = entries[0]
assert e["bucket"] == {"batch": 1, "seq_q": 64, "seq_kv": 64}, e["bucket"]
assert e["schedule"] != injected, "the wrong candidate was stored"
assert e["variant"] == "prefill" and e["how"] == "measured" and e["seconds"] > 0

c = run(spec, "-target", "x86", "-o", os.path.join(out, "k"), "--db", db)
header = open(os.path.join(out, "k", "tuned_kernel.h")).read()
assert "round up to 1, 64, 64: prefill \"" + e["schedule"] + "\"" in header, header
assert header.count("tuned, for calls") == 1, header

b = run("bench", spec, "--seq-q", "64", "--seq-kv", "64", "--db", db, "--no-baseline", "--no-roofs", "--json")
assert "tuning database" in json.loads(b.stdout)["schedule_source"], b.stdout
b = run("bench", spec, "--seq-q", "300", "--seq-kv", "300", "--db", db, "--no-baseline", "--no-roofs", "--json")
assert json.loads(b.stdout)["schedule_source"] == "heuristic", b.stdout

open(db, "w").write('{"format": "attnc-tuning-db", "version": 1, "entries": [')  # truncated
c = run(spec, "-target", "x86", "-o", os.path.join(out, "k2"), "--db", db)
warnings = [l for l in c.stderr.splitlines() if "warning" in l]
assert len(warnings) == 1 and "ignoring the tuning database" in warnings[0], c.stderr
assert "tuned, for calls" not in open(os.path.join(out, "k2", "tuned_kernel.h")).read()
# The autoschedulers as rivals (their chatter kept out of attnc's output).
summary = os.path.join(out, "summary.jsonl")
t = run("tune", spec, "--seq-q", "64", "--seq-kv", "96", "--budget", "6", "--seed", "3", "--threads", "2",
        "--db", db, "--summary", summary)
autos = json.loads(open(summary).read().splitlines()[-1])["autoschedulers"]
assert sorted(autos) == ["Adams2019", "Li2018", "Mullapudi2016"], autos
assert all(v.get("seconds", 0) > 0 for v in autos.values()), autos
for name in autos:
    assert re.search(r"^\s+\(" + name + r"\)\s+[0-9.]+ ms .* autoscheduler$", t.stdout, re.M), t.stdout
assert "Pass 0 of" not in t.stdout + t.stderr and "Cache (block)" not in t.stdout + t.stderr, t.stdout + t.stderr
assert all(not x["schedule"].startswith("(") for x in json.load(open(db))["entries"])
print("tune ok: stored", e["schedule"], "| rejected", injected)
