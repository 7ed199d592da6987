"""Section 4: `jobsplit merge` of many machines' output dirs vs `cat | sort` of their CSVs.

The floor concatenates the 10 results.csv files and sorts them by job index
(`LC_ALL=C sort -t, -k1,1n`), which is the core of a merge without any checking of manifests,
keys or duplicates. The dirs come from bench/gen_outputs.py (cached).
"""

import glob
import os

from context import count_rows, read_through
from harness import Case, Unavailable, measure
from report import Table, mib, ratio, seconds, vs_before

MACHINES = 10


def run(ctx, parts, targets):
    rows = 100_000 if ctx.quick else 1_000_000
    src = ctx.generated("gen_outputs.py", [rows, "--machines", MACHINES])
    dirs = sorted(glob.glob(os.path.join(src, "*", "")))
    dirs = [d.rstrip("/") for d in dirs]
    for d in dirs:
        read_through(os.path.join(d, "results.csv"))
    floor_out = ctx.run_path("merged-floor")
    ctx.log(f"merge: {rows:,} rows in {len(dirs)} dirs")

    js, *before = ctx.each_binary(lambda v: merge_case(v, dirs, rows))
    csvs = " ".join(os.path.join(d, "results.csv") for d in dirs)
    logs = " ".join(os.path.join(d, "log.gz") for d in dirs)
    sort_csv = f"cat {csvs} | LC_ALL=C sort -t, -k1,1n > {floor_out}/results.csv"
    floor = Case("floor: cat | sort -t, -k1,1n", "", ["/bin/sh", "-c", sort_csv],
                 prepare=lambda: ctx.scratch("merged-floor"))
    # What jobsplit merge also does: every log line, merged in time order, gzipped again.
    with_logs = Case("floor + logs: ... ; zcat | sort | gzip", "", [
        "/bin/sh", "-c", f"{sort_csv} && zcat {logs} | LC_ALL=C sort -s -t'\t' -k1,1 "
        f"| gzip > {floor_out}/log.gz"], prepare=lambda: ctx.scratch("merged-floor"))
    cases = [js, *before, floor, with_logs]
    measure(cases, ctx.repeats, warmup=1, timeout=300, log=ctx.log)

    t = Table(f"merge: {rows:,} rows in {len(dirs)} output dirs",
              ["tool", "median", "per row", "peak RSS", "ratio to jobsplit", "ratio to floor"],
              before=bool(ctx.baseline))
    for c in cases:
        if not c.ok:
            t.add(c.tool, c.error, "-", "-", "-", "-")
            continue
        t.add(c.tool, seconds(c.median), f"{c.median / rows * 1e9:.0f} ns", mib(c.peak_rss_kb),
              ratio(c.median, js.median if js.ok else None),
              ratio(c.median, floor.median if floor.ok else None), before=vs_before(c))
    if js.before:
        t.notes.append(f"peak RSS after / before: {vs_before(js, lambda c: c.peak_rss_kb)}")
    size = sum(os.path.getsize(os.path.join(d, "results.csv")) for d in dirs)
    t.notes.append(f"input: {size / 1e6:.0f} MB of results.csv from bench/gen_outputs.py "
                   "(shares shuffled as a plan deals them; each file in run order)")
    t.notes.append("jobsplit merge also merges every log.gz in time order and writes "
                   "summary.json and missing.txt; the second floor adds the logs")
    t.notes.append("`jobsplit merge DIR... --out M`; it exits 1 because about 1% of the "
                   "generated jobs failed, as in a real study")
    parts.append(t)


def merge_case(ctx, dirs, rows):
    """The row of `jobsplit merge DIR... --out M` in this variant."""
    tool, out = ctx.tool("jobsplit merge"), ctx.run_path("merged")
    try:
        return Case(tool, "", ctx.jobsplit_cmd("merge", *dirs, "--out", out), cwd=ctx.work,
                    prepare=lambda: ctx.scratch("merged"), ok_codes=(0, 1),
                    check=lambda: check_merged(out, rows))
    except Unavailable as e:
        return ctx.unavailable_case(tool, "", rows, e)


def check_merged(out, rows):
    got = count_rows(os.path.join(out, "results.csv"))
    return None if got == rows else f"merged results.csv has {got} rows, expected {rows}"
