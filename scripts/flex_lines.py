#!/usr/bin/env python3
"""Counts docs/porting.md's ports: for each `### NAME` section, the lines of
its ```python block (the FlexAttention function body, without comments and
blank lines) against the expression lines of examples/flex/NAME.attn (`let`,
`mask`, `score_mod` and their continuation lines, without comments).

  flex_lines.py [ROOT]            prints the table (Markdown)
  flex_lines.py [ROOT] --check    exits 1 if a port is longer than twice its Python,
                                  an example has no section, a section no example,
                                  or a section's spec differs from its example file
  flex_lines.py [ROOT] --write    rewrites the table in docs/porting.md"""
import os
import re
import sys

args = [a for a in sys.argv[1:] if not a.startswith("--")]
root = args[0] if args else os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
doc_path = os.path.join(root, "docs", "porting.md")
doc = open(doc_path).read()

sections = re.findall(r"^### (\w+)\n(.*?)(?=^### |\Z)", doc, re.M | re.S)
rows, problems = [], []
for name, body in sections:
    m = re.search(r"```python\n(.*?)```", body, re.S)
    if not m:
        problems.append(f"{name}: no python block")
        continue
    py = [l for l in m.group(1).splitlines() if l.strip() and not l.strip().startswith("#")]
    path = os.path.join(root, "examples", "flex", name + ".attn")
    if not os.path.exists(path):
        problems.append(f"{name}: no examples/flex/{name}.attn")
        continue
    shown = re.findall(r"```\n(.*?)```", body[m.end():], re.S)  # (after the python block)
    if not shown or shown[0] != open(path).read():
        problems.append(f"{name}: the spec in docs/porting.md differs from examples/flex/{name}.attn")
    ex, cont = 0, False
    for line in open(path):
        t = line.split("#")[0].strip()
        if not t:
            continue
        starts = t.startswith(("let ", "mask ", "score_mod "))
        if starts or cont:
            ex += 1
        cont = (starts or cont) and bool(re.search(r"(&&|\|\||[-+*/%&|^<>=,(?:])$", t))
    rows.append((name, len(py), ex))
    if ex > 2 * len(py):
        problems.append(f"{name}: {ex} lines against {len(py)} of Python")
names = {n for n, _ in sections}
for f in sorted(os.listdir(os.path.join(root, "examples", "flex"))):
    if f.endswith(".attn") and f[:-5] not in names:
        problems.append(f"examples/flex/{f}: no section in docs/porting.md")

table = ["| mod | Python lines | .attn expression lines | ratio |", "|---|---|---|---|"]
for name, p, e in rows:
    table.append(f"| [{name}](#{name.replace('_', '_')}) | {p} | {e} | {e / p:.2f} |")
text = "\n".join(table)
if "--write" in sys.argv:
    new = re.sub(r"(^\| mod \| Python lines.*?\n)(?:\|.*\n)+", "", doc, flags=re.M)
    new = new.replace("FLEX_TABLE", text) if "FLEX_TABLE" in new else re.sub(
        r"(counts them from this file.*?\n\n)", lambda m: m.group(1) + text + "\n", new, flags=re.S)
    open(doc_path, "w").write(new)
else:
    print(text)
if problems:
    print("\n".join(problems), file=sys.stderr)
    if "--check" in sys.argv:
        sys.exit(1)
