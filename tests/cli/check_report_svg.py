#!/usr/bin/env python3
"""attnc report --plot: the SVG is well-formed XML with one rectangle per
tile, classed as the JSON counts them (one head: the map is all of it).

  check_report_svg.py ATTNC SPEC OUT_DIR"""
import collections
import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET

attnc, spec, out = sys.argv[1:4]
os.makedirs(out, exist_ok=True)
svg = os.path.join(out, "report.svg")
run = subprocess.run([attnc, "report", spec, "--seq-q", "100", "--seq-kv", "120", "--peak-gflops", "1",
                      "--bandwidth", "1", "--density", "0.5", "--plot", svg, "--json"],
                     capture_output=True, text=True, check=True)
rep = json.loads(run.stdout)
root = ET.parse(svg).getroot()  # raises on malformed XML
ns = "{http://www.w3.org/2000/svg}"
assert root.tag == ns + "svg", root.tag
count = collections.Counter(r.get("class") for r in root.iter(ns + "rect"))
d, c = rep["dense"]["tiles"], rep["compressed"]["tiles"]
for cls in ("empty", "skipped", "partial", "full"):
    want = d[cls] + c[cls]
    got = count.get("tile " + cls, 0)
    assert got == want, f"{cls}: {got} rectangles, the JSON counts {want}"
    assert count.get("legend " + cls, 0) == 1, f"legend of {cls}"
assert sum(v for k, v in count.items() if k.startswith("tile ")) == d["total"] + c["total"]
assert c["skipped"] > 0 and d["empty"] > 0, "the test spec should show skipped and empty tiles"
print(f"report svg: {dict(count)}")
