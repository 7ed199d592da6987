"""Section 1: command-job dispatch with 2 slots, jobsplit against the tools a user would pick.

Two workloads of N jobs: `true`, and `echo job-<i>` (a job that writes a line of output). Each
tool gets the same job file, one shell command per line, and runs every line through a shell
with 2 jobs at a time; the per-job figure is total wall time / N, so it includes startup.
"""

import os
import statistics

from context import count_rows
from harness import Case, Unavailable, measure
from report import Table, Target, ratio, seconds, vs_before

SLOTS = 2
# Rounds of the floor and jobsplit rows, the pair the 1.05x goal compares: a round of both takes
# 5 s, while the slowest tools take 15 s a round, so these two get rounds of their own after the
# shared ones.
PAIRED_ROUNDS = 11


def workloads(ctx, n):
    """(name, jobs file, arguments file or None) for each workload."""
    true_file = ctx.data_path(f"dispatch-true-{n}.txt")
    echo_file = ctx.data_path(f"dispatch-echo-{n}.txt")
    args_file = ctx.data_path(f"dispatch-echo-args-{n}.txt")
    for path, line in ((true_file, "true"), (echo_file, "echo job-{}"), (args_file, "job-{}")):
        with open(path, "w") as f:
            f.writelines(line.format(i) + "\n" for i in range(n))
    return [("true", true_file, None), ("echo", echo_file, args_file)]


def cases(ctx, n, workload, jobs, args):
    """The rows for one workload; a tool that is missing becomes a 'not available' row."""
    machines = ctx.write_json("machines-dispatch.json", {"bench": {"weight": 1, "cores": 2}})
    rows = []

    def add(tool, build, note=""):
        try:
            c = build()
        except Unavailable as e:
            c = ctx.unavailable_case(tool, workload, n, e)
        c.tool, c.workload, c.jobs, c.note = tool, workload, n, note
        rows.append(c)
        return c

    floor = ctx.tools.get
    add("floor: spawn_floor (sh -c, pipes)",
        lambda: Case("", "", [floor("spawn_floor"), jobs, str(SLOTS)]))
    if workload == "true":
        add("floor: spawn_floor --direct (no shell)",
            lambda: Case("", "", [floor("spawn_floor"), "--direct", jobs, str(SLOTS)]),
            "execs `true` itself; not a ratio base")

    def jobsplit(v, name, *extra):
        """The build of a jobsplit row in variant v (this binary or the baseline)."""
        out = v.scratch(f"dispatch-{name}")

        def build():
            argv = v.jobsplit_cmd("run", *extra, "--machines", machines, "--machine", "bench",
                                  "--out", out, "--yes", "--quiet", "--threads", str(SLOTS))
            return Case("", "", argv, cwd=ctx.work,
                        prepare=lambda: v.scratch(f"dispatch-{name}"),
                        check=lambda: _check_rows(os.path.join(out, "bench", "results.csv"), n))
        return build

    ctx.each_binary(lambda v: add(v.tool("jobsplit"), jobsplit(v, workload, "--jobs", jobs)))
    if args:
        ctx.each_binary(lambda v: add(
            v.tool("jobsplit --cmd 'echo {}'"),
            jobsplit(v, f"{workload}-cmd", "--jobs", args, "--cmd", "echo {}"),
            "job list of arguments, template form"))
    add(f"xargs -P{SLOTS}",
        lambda: Case("", "", ["xargs", "-d", "\\n", "-n1", f"-P{SLOTS}", "/bin/sh", "-c"],
                     stdin=jobs),
        "`xargs -d '\\n' -n1 -P2 /bin/sh -c < jobs`")
    add(f"GNU parallel -j{SLOTS} (as a user, from bash)",
        lambda: Case("", "", [ctx.tools.get("parallel"), "--will-cite", f"-j{SLOTS}"],
                     stdin=jobs, env={"SHELL": "/bin/bash"}),
        "`parallel -j2 < jobs` with SHELL=/bin/bash: each job runs in bash")
    if workload == "true":  # noted once: it is the slowest row to time
        add(f"GNU parallel -j{SLOTS} (fastest mode)",
            lambda: Case("", "", [ctx.tools.get("parallel"), "--will-cite", f"-j{SLOTS}", "-u"],
                         stdin=jobs, env={"PARALLEL_SHELL": "/bin/sh"}),
            "PARALLEL_SHELL=/bin/sh, -u (no output grouping)")
    add(f"rust-parallel -j{SLOTS}",
        lambda: Case("", "", [ctx.tools.get("rust-parallel"), f"-j{SLOTS}", "-s",
                              "--shell-path", "/bin/sh"], stdin=jobs),
        "`-s --shell-path /bin/sh` (its default shell is bash)")
    add(f"Python Pool({SLOTS}) + subprocess",
        lambda: Case("", "", ctx.python("pool_subprocess.py") + [jobs, str(SLOTS)]),
        "bench/pool_subprocess.py")
    model_csv = ctx.run_path(f"model-{workload}.csv")
    add("Python job-splitter (model)",
        lambda: Case("", "", ctx.python("job_splitter_model.py")
                     + [jobs, model_csv, "--workers", str(SLOTS), "--quiet"]),
        "bench/job_splitter_model.py")
    return rows


def _check_rows(csv_path, n):
    got = count_rows(csv_path)
    return None if got == n else f"{csv_path} has {got} rows, expected {n}"


def run(ctx, parts, targets):
    n = 300 if ctx.quick else 5000
    all_rows = {}
    for workload, jobs, args in workloads(ctx, n):
        ctx.log(f"dispatch: {n} jobs of `{workload}`")
        rows = cases(ctx, n, workload, jobs, args)
        # A warm-up round matters for the short quick runs; at 5,000 jobs a cold start is
        # lost in the median and the round would cost a minute.
        measure(rows, ctx.repeats, warmup=1 if ctx.quick else 0, timeout=600, log=ctx.log)
        if not ctx.quick and ctx.repeats < PAIRED_ROUNDS:
            pair = [c for c in rows if c.tool.startswith(("floor: spawn_floor (sh", "jobsplit"))]
            ctx.log(f"dispatch: {PAIRED_ROUNDS - ctx.repeats} more rounds of the floor and jobsplit")
            measure(pair, PAIRED_ROUNDS - ctx.repeats, timeout=600, log=ctx.log)
        all_rows[workload] = rows
        parts.append(table(workload, n, rows, bool(ctx.baseline)))
    targets.extend(check_targets(all_rows))


def _find(rows, prefix):
    for c in rows:
        if c.tool.startswith(prefix) and c.ok and not c.is_baseline:
            return c
    return None


def per_round(case, base):
    """The median over rounds of case's time / base's time in the same round (the rows run one
    after the other in each round): a machine that drifts between rounds moves both alike."""
    pairs = [a / b for a, b in zip(case.times, base.times) if b > 0]
    return statistics.median(pairs) if pairs else None


def table(workload, n, rows, before=False):
    t = Table(f"{n} jobs of `{workload}`, {SLOTS} slots",
              ["tool", "median", "per job", "ratio to jobsplit", "ratio to floor",
               "per-round ratio to floor", "rounds", "note"],
              before=before)
    js = _find(rows, "jobsplit")
    fl = _find(rows, "floor: spawn_floor (sh")
    for c in rows:
        if not c.ok:
            t.add(c.tool, c.error or "not measured", "-", "-", "-", "-", "-", c.note)
            continue
        paired = per_round(c, fl) if fl else None
        t.add(c.tool, seconds(c.median), f"{c.per_job_us():.0f} us",
              ratio(c.median, js.median if js else None),
              ratio(c.median, fl.median if fl else None),
              "-" if paired is None else f"{paired:.2f}x", str(len(c.times)), c.note,
              before=vs_before(c))
    t.notes.append("median of the timed rounds; tools interleaved round by round; per job = "
                   "wall time / jobs, startup included")
    t.notes.append("per-round ratio to floor: the median over rounds of the row's time over the "
                   "floor's in the same round (the figure the 1.05x goal is judged by); without "
                   f"--quick the floor and jobsplit rows get {PAIRED_ROUNDS} rounds, the others "
                   "the section's repeats")
    return t


def check_targets(all_rows):
    out = []
    floor_r, xargs_r, gnu_r, peer_r = [], [], [], []
    for workload, rows in all_rows.items():
        js, fl = _find(rows, "jobsplit"), _find(rows, "floor: spawn_floor (sh")
        xa, gp = _find(rows, "xargs"), _find(rows, "GNU parallel -j2 (as a user")
        if js and fl:
            floor_r.append((workload, per_round(js, fl)))
        peers = [c for c in rows if c.ok and not c.is_baseline
                 and not c.tool.startswith(("floor", "jobsplit"))]
        if js and peers:
            closest = min(peers, key=lambda c: c.median)
            peer_r.append((workload, (closest.tool, js.median / closest.median)))
        if js and xa:
            xargs_r.append((workload, js.median / xa.median))
        if js and gp:
            gnu_r.append((workload, gp.median / js.median))

    def verdict(pairs, ok, fmt):
        if not pairs:
            return None, "jobsplit not measured"
        return all(ok(r) for _, r in pairs), ", ".join(fmt.format(w=w, r=r) for w, r in pairs)

    out.append(Target("command jobs within 1.05x of the floor (per-round ratio)",
                      *verdict(floor_r, lambda r: r <= 1.05, "{w}: {r:.2f}x")))
    out.append(Target("ahead of every other tool",
                      *verdict(peer_r, lambda r: r[1] < 1.0,
                               "{w}: {r[1]:.2f}x the time of the fastest other, {r[0]}")))
    out.append(Target(">= 5x faster than GNU parallel (as a user runs it)",
                      *verdict(gnu_r, lambda r: r >= 5, "{w}: {r:.2f}x faster")))
    out.append(Target("not slower than xargs -P2",
                      *verdict(xargs_r, lambda r: r <= 1.0, "{w}: {r:.2f}x xargs' time")))
    return out
