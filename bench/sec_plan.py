"""Section 3: `jobsplit plan` of large job lists vs `sha256sum` of the same file.

sha256sum is the floor: it reads every byte and hashes it, the least a planner that digests the
job list must do. The file is read once before timing so both find it in the page cache.
"""

import os

from context import read_through
from harness import Case, Unavailable, measure
from report import Table, Target, mib, ratio, seconds, vs_before

# A realistic machines file for the plan: three unlike machines.
MACHINES = {"ws1": {"weight": 1, "cores": 8}, "ws2": {"weight": 2, "cores": 16},
            "gpu": {"weight": 4, "cores": 32}}


def run(ctx, parts, targets):
    sizes = [1_000_000] if ctx.quick else [1_000_000, 10_000_000]
    machines = ctx.write_json("machines-plan.json", MACHINES)
    t = Table("plan: job lines of ~29 bytes, file in page cache",
              ["tool", "jobs", "median", "per job", "peak RSS", "RSS per job beyond file",
               "ratio to jobsplit", "ratio to floor"], before=bool(ctx.baseline))
    parts.append(t)
    target = Target("plan 10M jobs <= 5 s", None,
                    "10M not run in --quick" if ctx.quick else "jobsplit not measured")
    targets.append(target)
    for n in sizes:
        jobs = ctx.generated("gen_jobs.py", [n], suffix=".txt")
        size = os.path.getsize(jobs)
        read_through(jobs)
        ctx.log(f"plan: {n:,} jobs ({size / 1e6:.0f} MB)")
        js, *rows = ctx.each_binary(lambda v: plan_case(v, n, jobs, machines))
        rows = [js, *rows, Case("floor: sha256sum", "", ["sha256sum", jobs])]
        floor = rows[-1]
        for c in rows:
            c.jobs = n
        measure(rows, ctx.repeats, warmup=1, timeout=300, log=ctx.log)
        for c in rows:
            if not c.ok:
                t.add(c.tool, f"{n:,}", c.error, "-", "-", "-", "-", "-")
                continue
            beyond = (c.peak_rss_kb * 1024 - size) / n
            t.add(c.tool, f"{n:,}", seconds(c.median), f"{c.median / n * 1e9:.0f} ns",
                  mib(c.peak_rss_kb), f"{beyond:+.1f} B",
                  ratio(c.median, js.median if js.ok else None),
                  ratio(c.median, floor.median if floor.ok else None), before=vs_before(c))
        if n == 10_000_000 and js.ok:
            target.met = js.median <= 5.0
            target.evidence = f"{js.median:.2f} s, {mib(js.peak_rss_kb)} peak"
        if js.before:
            t.notes.append(f"{n:,} jobs: peak RSS after / before "
                           f"{vs_before(js, lambda c: c.peak_rss_kb)}")
    t.notes.append(f"file sizes: {', '.join(f'{n:,} jobs' for n in sizes)} of lines from "
                   "bench/gen_jobs.py; machines: " + ", ".join(MACHINES))
    t.notes.append("RSS per job beyond file = (peak RSS - file size) / jobs; negative means "
                   "the tool never holds the whole file")


def plan_case(ctx, n, jobs, machines):
    """The row of `jobsplit plan --json` in this variant."""
    tool = ctx.tool("jobsplit plan --json")
    try:
        return Case(tool, "", ctx.jobsplit_cmd(
            "plan", "--jobs", jobs, "--machines", machines, "--json"), cwd=ctx.work)
    except Unavailable as e:
        return ctx.unavailable_case(tool, "", n, e)
