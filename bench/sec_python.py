"""Section: short Python jobs (issue 13) as a process per job vs jobsplit's persistent workers
vs multiprocessing.Pool(2) (and joblib if installed), all on 2 slots.

bench/python_workers.py does the timing (one run of each, with the release binary) and prints
one JSON line with --json; this section runs it and tabulates the line against the goals:
persistent workers >= 10x faster than a process per job, and within 1.3x of Pool(2).
"""

import json
import os
import statistics
import sys

from harness import run_once
from report import Table, Target

WORKERS = "persistent workers"
PROCESS = "process per job"
POOL = "multiprocessing.Pool(2)"


def run(ctx, parts, targets):
    n = 500 if ctx.quick else 2000
    t = Table(f"{n:,} short Python jobs (~1 ms each), 2 slots, wall seconds",
              ["variant", "seconds", "ms per job", "ratio to persistent workers"],
              before=bool(ctx.baseline))
    parts.append(t)
    speedup = Target("persistent workers >= 10x faster than a process per job", None,
                     "not measured")
    near_pool = Target("persistent workers within 1.3x of multiprocessing.Pool(2)", None,
                       "not measured")
    targets += [speedup, near_pool]
    if ctx.jobsplit_error:
        t.add("error", ctx.jobsplit_error, "-", "-")
        return
    # The script is this checkout's, whichever binary it drives.
    script = os.path.join(ctx.crate, "bench", "python_workers.py")
    runs = ctx.in_turn(lambda v: run_script(v, script, n))
    if isinstance(runs[""], str):
        t.add("error", runs[""], "-", "-")
        return
    figures = medians(runs[""])
    base = figures[WORKERS]
    before = runs.get(ctx.baseline.label) if ctx.baseline else None
    before = medians(before) if isinstance(before, list) else before
    for name, secs in figures.items():
        vs = "-"
        if isinstance(before, dict) and name in (PROCESS, WORKERS):
            vs = f"{secs / before[name]:.2f}x"
        t.add(name, f"{secs:.2f}", f"{secs * 1000 / n:.2f}", f"{secs / base:.2f}x", before=vs)
        if ctx.baseline and name in (PROCESS, WORKERS):
            if isinstance(before, dict):
                b = before[name]
                t.add(ctx.baseline.tool(name), f"{b:.2f}", f"{b * 1000 / n:.2f}",
                      f"{b / base:.2f}x")
            else:
                t.add(ctx.baseline.tool(name), before, "-", "-")
    t.notes.append(f"jobs import `{runs[''][0].get('import', '?')}` and compute ~1 ms; "
                   + (f"median of {ctx.repeats} runs each, the binaries in turn, "
                      if ctx.baseline else "one run each, ")
                   + "as measured by bench/python_workers.py (jobsplit: the release binary, "
                   "with resume, logs, results.csv and the split; Pool: none of those)")
    if isinstance(figures.get(PROCESS), (int, float)):
        ratio = figures[PROCESS] / base
        speedup.met, speedup.evidence = ratio >= 10, f"{ratio:.1f}x faster"
    if isinstance(figures.get(POOL), (int, float)) and figures[POOL] > 0:
        ratio = base / figures[POOL]
        near_pool.met, near_pool.evidence = ratio <= 1.3, f"{ratio:.2f}x Pool(2)'s time"


def run_script(ctx, script, n):
    """python_workers.py's JSON line ({"figures": {name: seconds}, "import": ..}) with this
    variant's binary, or why there is none."""
    ctx.log(f"python: {os.path.basename(script)} --jobs {n} --json ({ctx.tool('jobsplit')})")
    out = ctx.run_path("python_workers.out")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    r = run_once([sys.executable, script, "--jobsplit", ctx.jobsplit, "--jobs", str(n), "--json"],
                 cwd=ctx.work, stdout=out, timeout=3600)
    if r.code != 0:
        return f"python_workers.py failed: {r.error()}"
    data = last_json(out)
    figures = (data or {}).get("figures") or {}
    base = figures.get(WORKERS)
    if not isinstance(base, (int, float)) or base <= 0:
        return "python_workers.py printed no JSON line with the persistent workers' time"
    return data


def medians(runs):
    """{name: median seconds} over runs of python_workers.py."""
    return {name: statistics.median(r["figures"][name] for r in runs if name in r["figures"])
            for name in runs[0]["figures"]}


def last_json(path):
    with open(path) as f:
        lines = [line.strip() for line in f if line.strip().startswith("{")]
    for line in reversed(lines):
        try:
            return json.loads(line)
        except json.JSONDecodeError:
            continue
    return None
