#!/usr/bin/env python3
"""Checks conf/grafana/amlfs-dashboard.json and the metric names of the alert rules.

  check_dashboard.py SRC_DIR TMP_DIR

- the dashboard parses, has the DS_PROMETHEUS data source variable, and every
  panel (rows aside) has a unique id, a gridPos and at least one target with a
  PromQL expression on ${DS_PROMETHEUS};
- every metric name in its expressions and variable queries, and in
  conf/prometheus/amlfs-alerts.yml, is one docs/OBSERVABILITY.md lists
  (histograms also as NAME_bucket, NAME_sum, NAME_count);
- every expression parses as PromQL: with Grafana's variables replaced, they
  go into a rules file in TMP_DIR that `promtool check rules` reads.

Prints one line per problem and exits 1 if there is any.
"""
import json
import os
import re
import subprocess
import sys

# What a Grafana variable stands for when the expressions are parsed.
VARIABLES = {
    "__rate_interval": "5m",
    "__interval": "1m",
    "__range": "1h",
    "ost": ".*",
    "client": ".*",
    "jobid": ".*",
    "instance": ".*",
}
METRIC = re.compile(r"\b(?:amlfs|process)_[a-z0-9_]+\b")
HISTOGRAM_SUFFIXES = ("_bucket", "_sum", "_count")


def catalog(doc_path):
    """Metric names in the tables of docs/OBSERVABILITY.md, histogram series included."""
    names, histograms = set(), set()
    with open(doc_path, encoding="utf-8") as f:
        for line in f:
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if not line.startswith("|") or len(cells) < 2:
                continue
            found = re.findall(r"`((?:amlfs|process)_[A-Za-z0-9_]+)", cells[0])
            for name in found:
                expanded = ([name.replace("ROLE", r) for r in ("mds", "ost")]
                            if "ROLE" in name else [name])
                names.update(expanded)
                if cells[1] == "histogram":
                    histograms.update(expanded)
    for h in histograms:
        names.update(h + s for s in HISTOGRAM_SUFFIXES)
    return names


def main():
    src, tmp = sys.argv[1], sys.argv[2]
    problems = []
    doc = os.path.join(src, "docs/OBSERVABILITY.md")
    dash_path = os.path.join(src, "conf/grafana/amlfs-dashboard.json")
    rules_path = os.path.join(src, "conf/prometheus/amlfs-alerts.yml")

    known = catalog(doc)
    if len(known) < 20:
        print(f"check_dashboard: found only {len(known)} metric names in {doc}")
        return 1

    def check_names(text, where):
        for name in METRIC.findall(text):
            if name not in known:
                problems.append(f"{where}: unknown metric {name} (not in docs/OBSERVABILITY.md)")

    try:
        with open(dash_path, encoding="utf-8") as f:
            dash = json.load(f)
    except (OSError, ValueError) as e:
        print(f"check_dashboard: {dash_path}: {e}")
        return 1

    variables = dash.get("templating", {}).get("list", [])
    if not any(v.get("name") == "DS_PROMETHEUS" and v.get("type") == "datasource"
               for v in variables):
        problems.append("dashboard: no data source variable DS_PROMETHEUS")
    for v in variables:
        if v.get("type") == "query":
            q = v.get("query")
            q = q.get("query", "") if isinstance(q, dict) else (q or "")
            check_names(q, f'dashboard variable "{v.get("name")}"')

    panels = []
    for p in dash.get("panels", []):
        panels.append(p)
        panels.extend(p.get("panels", []))  # a collapsed row holds its panels
    ids = set()
    records = []
    for p in panels:
        where = f'dashboard panel {p.get("id")} "{p.get("title")}"'
        if p.get("id") in ids:
            problems.append(f"{where}: id used twice")
        ids.add(p.get("id"))
        if "gridPos" not in p:
            problems.append(f"{where}: no gridPos")
        if p.get("type") == "row":
            continue
        targets = p.get("targets") or []
        if not targets:
            problems.append(f"{where}: no targets")
        for t in targets:
            expr = t.get("expr", "")
            tw = f'{where} target {t.get("refId")}'
            if not expr.strip():
                problems.append(f"{tw}: empty expr")
                continue
            if (t.get("datasource") or p.get("datasource") or {}).get("uid") != "${DS_PROMETHEUS}":
                problems.append(f"{tw}: data source is not ${{DS_PROMETHEUS}}")
            check_names(expr, tw)
            unknown = [v for v in re.findall(r"\$\{?(\w+)", expr) if v not in VARIABLES]
            if unknown:
                problems.append(f"{tw}: unknown variable ${unknown[0]}")
                continue
            promql = re.sub(r"\$\{?(\w+)\}?", lambda m: VARIABLES[m.group(1)], expr)
            records.append({"record": f"dashboard:panel_{p.get('id')}:{t.get('refId')}",
                            "expr": promql})

    with open(rules_path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.lstrip().startswith("#"):
                check_names(line, f"amlfs-alerts.yml:{n}")

    # JSON is YAML: promtool reads the expressions as recording rules.
    parsed = os.path.join(tmp, "dashboard-exprs.json")
    with open(parsed, "w", encoding="utf-8") as f:
        json.dump({"groups": [{"name": "dashboard", "rules": records}]}, f, indent=1)
    r = subprocess.run(["promtool", "check", "rules", parsed], capture_output=True, text=True)
    if r.returncode != 0:
        for line in (r.stdout + r.stderr).splitlines():
            if line.strip() and "Checking" not in line:
                problems.append(f"dashboard PromQL: {line.strip()}")

    for line in problems:
        print(line)
    if problems:
        return 1
    print(f"dashboard: {len(panels)} panels, {len(records)} expressions; "
          f"metric names checked against {len(known)} catalogued series")
    return 0


if __name__ == "__main__":
    sys.exit(main())
