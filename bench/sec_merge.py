"""Section 4: `jobsplit merge` of many machines' output dirs vs `cat | sort` of their CSVs.

The floor concatenates the 10 results.csv files and sorts them by job index
(`LC_ALL=C sort -t, -k1,1n`), which is the core of a merge without any checking of manifests,
keys or duplicates. The dirs come from bench/gen_outputs.py (cached).
"""

import glob
import os

from context import read_through
from harness import Case, Unavailable, measure
from report import Table, mib, ratio, seconds

MACHINES = 10


def run(ctx, parts, targets):
    rows = 100_000 if ctx.quick else 1_000_000
    src = ctx.generated("gen_outputs.py", [rows, "--machines", MACHINES])
    dirs = sorted(glob.glob(os.path.join(src, "*", "")))
    dirs = [d.rstrip("/") for d in dirs]
    for d in dirs:
        read_through(os.path.join(d, "results.csv"))
    out = os.path.join(ctx.work, "run", "merged")
    ctx.log(f"merge: {rows:,} rows in {len(dirs)} dirs")

    def fresh():
        ctx.scratch("merged")

    try:
        js = Case("jobsplit merge", "", ctx.jobsplit_cmd("merge", *dirs, "--out", out),
                  cwd=ctx.work, prepare=fresh,
                  check=lambda: None if os.listdir(out) else f"{out} is empty")
    except Unavailable as e:
        js = ctx.unavailable_case("jobsplit merge", "", rows, e)
    csvs = " ".join(os.path.join(d, "results.csv") for d in dirs)
    floor = Case("floor: cat | sort -t, -k1,1n", "",
                 ["/bin/sh", "-c", f"cat {csvs} | LC_ALL=C sort -t, -k1,1n > {out}/merged.csv"],
                 prepare=fresh)
    for c in (js, floor):
        c.jobs = rows
    measure([js, floor], ctx.repeats, warmup=1, timeout=300, log=ctx.log)

    t = Table(f"merge: {rows:,} rows in {len(dirs)} output dirs",
              ["tool", "median", "per row", "peak RSS", "ratio to jobsplit", "ratio to floor"])
    for c in (js, floor):
        if not c.ok:
            t.add(c.tool, c.error, "-", "-", "-", "-")
            continue
        t.add(c.tool, seconds(c.median), f"{c.median / rows * 1e9:.0f} ns", mib(c.peak_rss_kb),
              ratio(c.median, js.median if js.ok else None),
              ratio(c.median, floor.median if floor.ok else None))
    size = sum(os.path.getsize(os.path.join(d, "results.csv")) for d in dirs)
    t.notes.append(f"input: {size / 1e6:.0f} MB of results.csv from bench/gen_outputs.py "
                   "(shares shuffled as a plan deals them; each file in run order)")
    t.notes.append("the jobsplit row gets the machine dirs as arguments: "
                   "`jobsplit merge DIR... --out M`")
    parts.append(t)
