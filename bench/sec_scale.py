"""Section: how the per-job cost holds as the job list grows, and the time to the first job.

Per-job cost: N jobs of `true` with 2 slots for N = 2,500, 10,000 and 100,000 (quick: 250,
1,000, 2,500); wall time / N, startup included. A runner that scans every job per tick or keeps
per-job state in a structure that degrades gets slower per job as N grows; the floor does not.
GNU parallel runs at the smallest N only (it takes ~5 ms a job: 100,000 would take minutes).
The largest N gets one timed round in full mode (it takes about a minute per tool).

Startup: one job, `date +%s%N > FILE`; the time from just before the tool is started to the
time the job wrote. It includes starting /bin/sh and date (~1 ms), alike for every tool.
"""

import os
import statistics
import time

from harness import Case, Unavailable, measure, run_once
from report import Table, Target, ratio, seconds, vs_before

SLOTS = 2


def run(ctx, parts, targets):
    sizes = [250, 1_000, 2_500] if ctx.quick else [2_500, 10_000, 100_000]
    machines = ctx.write_json("machines-scale.json", {"bench": {"weight": 1, "cores": 2}})
    t = Table(f"jobs of `true`, {SLOTS} slots: per-job cost as the list grows",
              ["tool", "jobs", "median", "per job", "CPU per job", "ratio to floor"],
              before=bool(ctx.baseline))
    per_job = {}
    cpu_before = []
    for n in sizes:
        jobs = ctx.data_path(f"scale-true-{n}.txt")
        with open(jobs, "w") as f:
            f.writelines("true\n" for _ in range(n))
        rows = _cases(ctx, n, jobs, machines, with_parallel=n == sizes[0])
        repeats = 1 if n == sizes[-1] and not ctx.quick else ctx.repeats
        ctx.log(f"scale: {n:,} jobs of `true` ({repeats} timed round(s))")
        measure(rows, repeats, warmup=0, timeout=1800, log=ctx.log)
        floor = rows[0] if rows[0].ok else None
        for c in rows:
            if not c.ok:
                t.add(c.tool, f"{n:,}", c.error or "not measured", "-", "-", "-")
                continue
            per_job.setdefault(c.tool, []).append((n, c.median / n))
            t.add(c.tool, f"{n:,}", seconds(c.median), f"{c.per_job_us():.0f} us",
                  f"{c.median_cpu / n * 1e6:.0f} us", ratio(c.median, floor and floor.median),
                  before=vs_before(c))
            if c.before and c.before.ok:
                cpu_before.append(f"{n:,}: {vs_before(c, lambda c: c.median_cpu)}")
    t.notes.append("per job = wall time / jobs, startup included; CPU = user + system of the "
                   "tool and its jobs")
    if cpu_before:
        t.notes.append("jobsplit's CPU time after / before: " + ", ".join(cpu_before))
    parts.append(t)
    js = per_job.get("jobsplit", [])
    if len(js) >= 2:
        growth = js[-1][1] / js[0][1]
        targets.append(Target(f"per-job cost flat from {js[0][0]:,} to {js[-1][0]:,} jobs "
                              "(within 1.2x)", growth <= 1.2,
                              f"{js[-1][1] * 1e6:.0f} us vs {js[0][1] * 1e6:.0f} us per job, "
                              f"{growth:.2f}x"))
    parts.append(startup(ctx, machines))


def _cases(ctx, n, jobs, machines, with_parallel):
    rows = []

    def add(tool, build, note=""):
        try:
            c = build()
        except Unavailable as e:
            c = ctx.unavailable_case(tool, "true", n, e)
        c.tool, c.workload, c.jobs, c.note = tool, "true", n, note
        rows.append(c)
        return c

    add("floor: spawn_floor (sh -c, pipes)",
        lambda: Case("", "", [ctx.tools.get("spawn_floor"), jobs, str(SLOTS)]))
    ctx.each_binary(lambda v: add(v.tool("jobsplit"), lambda: Case("", "", v.jobsplit_cmd(
        "run", "--jobs", jobs, "--machines", machines, "--machine", "bench",
        "--out", v.run_path("scale"), "--yes", "--quiet", "--threads", str(SLOTS)),
        cwd=ctx.work, prepare=lambda: v.scratch("scale"))))
    add(f"xargs -P{SLOTS}", lambda: Case("", "", ["xargs", "-d", "\\n", "-n1", f"-P{SLOTS}",
                                                  "/bin/sh", "-c"], stdin=jobs))
    if with_parallel:
        add(f"GNU parallel -j{SLOTS} (as a user, from bash)",
            lambda: Case("", "", [ctx.tools.get("parallel"), "--will-cite", f"-j{SLOTS}"],
                         stdin=jobs, env={"SHELL": "/bin/bash"}))
    return rows


def startup(ctx, machines):
    stamp = ctx.run_path("startup-stamp")
    jobs = ctx.data_path("startup-job.txt")
    with open(jobs, "w") as f:
        f.write(f"date +%s%N > '{stamp}'\n")
    tools = [("floor: spawn_floor", lambda: [ctx.tools.get("spawn_floor"), jobs, "1"], None)]
    for v in ctx.variants():
        tools.append((v.tool("jobsplit"), lambda v=v: v.jobsplit_cmd(
            "run", "--jobs", jobs, "--machines", machines, "--machine", "bench",
            "--out", ctx.run_path("startup"), "--yes", "--quiet", "--threads", str(SLOTS)), None))
    tools.append(("xargs", lambda: ["xargs", "-d", "\\n", "-n1", "/bin/sh", "-c"], jobs))
    tools.append(("GNU parallel (as a user, from bash)",
                  lambda: [ctx.tools.get("parallel"), "--will-cite", "-j2"], jobs))
    t = Table("startup: from launch to the first job's first instruction",
              ["tool", "median", "ratio to floor"], before=bool(ctx.baseline))
    got, argvs = {}, {}
    for name, argv_of, stdin in tools:
        try:
            argvs[name] = (argv_of(), stdin)
        except Unavailable as e:
            got[name] = f"not available: {e}"
    times = {name: [] for name in argvs}
    for r in range(1 + max(5, ctx.repeats)):  # rounds of every tool once, as measure() does
        for name, (argv, stdin) in argvs.items():
            if name in got:
                continue
            at = _first_job(ctx, name, argv, stdin, stamp)
            if isinstance(at, str):
                got[name] = at
            elif r > 0:  # the first round warms the caches
                times[name].append(at)
    for name, ts in times.items():
        got.setdefault(name, statistics.median(ts))
    floor = got.get("floor: spawn_floor")
    for name, _, _ in tools:
        v = got.get(name)
        if isinstance(v, float):
            before = got.get(ctx.baseline.tool(name)) if ctx.baseline else None
            t.add(name, f"{v * 1e3:.1f} ms", ratio(v, floor if isinstance(floor, float)
                                                  else None),
                  before=ratio(v, before) if isinstance(before, float) else "-")
        else:
            t.add(name, v or "not measured", "-")
    t.notes.append("includes starting /bin/sh and `date` for the job (about 1 ms), alike for "
                   "every tool; median of 5 runs after one warm-up, tools interleaved round "
                   "by round")
    return t


def _first_job(ctx, name, argv, stdin, stamp):
    """Seconds from starting argv to its job's stamp, or why there is none."""
    ctx.scratch("startup")
    if os.path.exists(stamp):
        os.remove(stamp)
    env = {"SHELL": "/bin/bash"} if "parallel" in name else None
    t0 = time.time_ns()
    res = run_once(argv, stdin=stdin, env=env, cwd=ctx.work, timeout=60)
    try:
        with open(stamp) as f:
            return (int(f.read().strip()) - t0) / 1e9
    except (OSError, ValueError):
        return f"no stamp ({res.error()})"
