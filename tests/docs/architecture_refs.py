#!/usr/bin/env python3
"""docs/ARCHITECTURE.md names files and functions: each must exist.

Every `path/with/a/slash.ext` (or folder/) in the page is a file or folder
of the repository, and every `Name::Member` or `FunctionName` it quotes in
backticks occurs in the sources, so the walk cannot drift from the code
unnoticed.

    architecture_refs.py SOURCE_DIR
"""
import os
import re
import subprocess
import sys

src = sys.argv[1]
text = open(os.path.join(src, "docs/ARCHITECTURE.md")).read()
tracked = subprocess.run(["git", "-C", src, "ls-files"], capture_output=True, text=True,
                         check=True).stdout.split()
code = "\n".join(open(os.path.join(src, f), errors="replace").read()
                 for f in tracked if f.endswith((".h", ".cc")))
prose = re.sub(r"```.*?```", "", text, flags=re.S)  # the folder map is checked as paths only

bad = []
paths = set(re.findall(r"\b((?:[a-z_]+/)+[a-z_]*(?:\.(?:h|cc|md|sh))?)", text))
def exists(p):
    """A tracked file or folder, by its path or (ops/, raft/ in the map) the end of it."""
    return any(f == p or f.startswith(p) and p.endswith("/") or ("/" + f).endswith("/" + p) or
               ("/" + f).find("/" + p) >= 0 and p.endswith("/") for f in tracked)


for p in sorted(paths):
    if not exists(p):
        bad.append(f"no file or folder {p}")
names = set()
for quoted in re.findall(r"`([^`\n]+)`", prose):
    for n in re.findall(r"\b([A-Za-z_][A-Za-z0-9_]*(?:::[A-Za-z_][A-Za-z0-9_]*)+)", quoted):
        names.add(n)
    if re.fullmatch(r"[A-Z][A-Za-z0-9]+[a-z][A-Za-z0-9]*", quoted):  # a bare CamelCase name
        names.add(quoted)
for n in sorted(names):
    last = n.split("::")[-1]
    owner = n.split("::")[-2] if "::" in n else None
    if not re.search(r"\b" + re.escape(last) + r"\b", code):
        bad.append(f"no {n} in the sources")
    elif owner and not re.search(r"\b" + re.escape(owner) + r"\b", code):
        bad.append(f"no {owner} (of {n}) in the sources")
for b in bad:
    print("docs/ARCHITECTURE.md:", b)
print(f"{len(paths)} paths, {len(names)} names checked; {len(bad)} wrong")
sys.exit(1 if bad else 0)
