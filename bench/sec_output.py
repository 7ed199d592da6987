"""Section: output-heavy jobs, 2 slots. jobsplit keeps every line, time-stamped and gzipped, in
log.gz; what a user would otherwise do is pipe the jobs' output to `gzip -1`.

Workloads (every tool runs the same job file, one shell command per line, through /bin/sh):
  short lines  400 jobs x 20,000 lines of 12 bytes (`seq -f 'jNNN %06g' 20000`; 96 MB in all)
  job logs     the same with `--job-logs` (each job's lines also in logs/<index>.log.gz)
  1 MB lines   100 jobs x 2 lines of ~0.96 MB (`seq -s' ' 140000`, twice; 192 MB in all)

Rows: the spawn floor (captures and drains the output, writes nothing), jobsplit, `xargs -P2
/bin/sh -c < jobs | gzip -1 > out.gz`, GNU parallel `-j2 < jobs | gzip -1 > out.gz` (as a
user runs it: from bash, output grouped per job). Reported: wall time, CPU time (user + system
of the tool and every process it waited for, jobs and gzip included) and the compressed size.
jobsplit's log.gz holds more than the peers' files: each line carries its time, job and stream
(`TIME\tJOB\tSTREAM\t` is 36-40 bytes before a 12-byte line), so its size is compared with
`gzip -1` of the bare lines.
"""

import os
import subprocess

from context import count_rows
from harness import Case, Unavailable, measure
from report import Table, Target, ratio, seconds, vs_before

SLOTS = 2


def workloads(ctx):
    """(name, jobs, lines per job, job file, extra jobsplit args)."""
    short_n = 40 if ctx.quick else 400
    long_n = 10 if ctx.quick else 100
    short = ctx.data_path(f"output-short-{short_n}.txt")
    with open(short, "w") as f:
        f.writelines(f"seq -f 'j{i:03d} %06g' 20000\n" for i in range(short_n))
    long = ctx.data_path(f"output-long-{long_n}.txt")
    with open(long, "w") as f:
        f.writelines("seq -s' ' 140000; seq -s' ' 140000\n" for _ in range(long_n))
    return [
        ("short lines", short_n, 20_000, short, []),
        ("short lines, --job-logs", short_n, 20_000, short, ["--job-logs"]),
        ("1 MB lines", long_n, 2, long, []),
    ]


def cases(ctx, name, n, lines, jobs, extra):
    machines = ctx.write_json("machines-output.json", {"bench": {"weight": 1, "cores": 2}})
    slug = name.replace(" ", "-").replace(",", "").replace("--", "")
    gz = ctx.run_path(f"output-{slug}-peer.gz")
    rows = []

    def add(tool, build, note="", size=None):
        try:
            c = build()
        except Unavailable as e:
            c = ctx.unavailable_case(tool, name, n, e)
        c.tool, c.workload, c.jobs, c.note = tool, name, n, note
        c.size_of = size
        rows.append(c)
        return c

    add("floor: spawn_floor (sh -c, output drained)",
        lambda: Case("", "", [ctx.tools.get("spawn_floor"), jobs, str(SLOTS)]),
        "reads every byte, keeps none")

    def jobsplit(v):
        """jobsplit's row in variant v (this binary or the baseline)."""
        out = v.run_path(f"output-{slug}")

        def build():
            argv = v.jobsplit_cmd("run", "--jobs", jobs, *extra, "--machines", machines,
                                  "--machine", "bench", "--out", out, "--yes", "--quiet",
                                  "--threads", str(SLOTS))
            return Case("", "", argv, cwd=ctx.work, prepare=lambda: v.scratch(f"output-{slug}"),
                        check=lambda: _check(out, n, n * lines))
        return add(v.tool("jobsplit"), build, "log.gz: every line with its time, job and stream",
                   size=lambda: os.path.getsize(os.path.join(out, "bench", "log.gz")))
    ctx.each_binary(jobsplit)
    add(f"xargs -P{SLOTS} | gzip -1",
        lambda: Case("", "", ["/bin/sh", "-c", f"xargs -d '\\n' -n1 -P{SLOTS} /bin/sh -c "
                              f"< '{jobs}' | gzip -1 > '{gz}'"]),
        "bare lines, no times; lines of two jobs may be mixed mid-line", size=lambda: _size(gz))

    def parallel():
        p = ctx.tools.get("parallel")
        return Case("", "", ["/bin/sh", "-c", f"'{p}' --will-cite -j{SLOTS} < '{jobs}' "
                             f"| gzip -1 > '{gz}'"], env={"SHELL": "/bin/bash"})
    add(f"GNU parallel -j{SLOTS} | gzip -1", parallel,
        "as a user runs it (bash, output grouped per job); bare lines", size=lambda: _size(gz))
    return rows


def _size(path):
    return os.path.getsize(path) if os.path.exists(path) else None


def _check(out, jobs, lines):
    got = count_rows(os.path.join(out, "bench", "results.csv"))
    if got != jobs:
        return f"results.csv has {got} rows, expected {jobs}"
    log = os.path.join(out, "bench", "log.gz")
    r = subprocess.run(f"zcat '{log}' | cut -f3 | grep -cx out", shell=True,
                       capture_output=True, text=True)
    if r.stdout.strip() != str(lines):
        return f"log.gz has {r.stdout.strip() or '?'} output lines, expected {lines}"
    return None


def run(ctx, parts, targets):
    results = {}
    for name, n, lines, jobs, extra in workloads(ctx):
        ctx.log(f"output: {name}, {n} jobs")
        rows = cases(ctx, name, n, lines, jobs, extra)
        # The size is read after each run (the peers share one output file), so measure
        # one round at a time.
        sizes = {c.tool: [] for c in rows}
        checks = {c.tool: c.check for c in rows}  # run once, after the last round
        for c in rows:
            c.check = None
        for r in range(1 + ctx.repeats):
            measure(rows, 1, warmup=0, timeout=900, log=ctx.log)
            for c in rows:
                if r == 0:  # the first round warms the page cache: not timed
                    c.times.clear()
                    c.cpu.clear()
                    c.rss_kb.clear()
                if c.ok and c.size_of:
                    sizes[c.tool].append(c.size_of())
        for c in rows:
            problem = c.ok and checks[c.tool] and checks[c.tool]()
            if problem:
                c.error = f"ran, but {problem}"
            c.size = max(sizes[c.tool]) if sizes[c.tool] and None not in sizes[c.tool] else None
        results[name] = rows
        parts.append(table(name, n, lines, rows, bool(ctx.baseline)))
    targets.extend(check_targets(results))


def _find(rows, prefix):
    for c in rows:
        if c.tool.startswith(prefix) and c.ok and not c.is_baseline:
            return c
    return None


def table(name, n, lines, rows, before=False):
    t = Table(f"{name}: {n} jobs x {lines:,} lines, {SLOTS} slots",
              ["tool", "wall", "CPU", "size", "wall / jobsplit", "size / gzip -1", "note"],
              before=before)
    js, xa = _find(rows, "jobsplit"), _find(rows, "xargs")
    for c in rows:
        if not c.ok:
            t.add(c.tool, c.error or "not measured", "-", "-", "-", "-", c.note)
            continue
        size = f"{c.size / 1e6:.1f} MB" if c.size else "-"
        t.add(c.tool, seconds(c.median), seconds(c.median_cpu), size,
              ratio(c.median, js.median if js else None),
              ratio(c.size, xa.size if xa and c.size else None), c.note, before=vs_before(c))
    t.notes.append("median of the timed rounds (one warm-up round first); tools interleaved "
                   "round by round; CPU = user + system of the tool and its children")
    for c in rows:
        if c.before:
            t.notes.append(f"{c.tool}: CPU after / before {vs_before(c, lambda c: c.median_cpu)}"
                           f", size after / before {vs_before(c, lambda c: c.size or 0)}")
    return t


def check_targets(results):
    out = []
    short = results.get("short lines", [])
    js, xa, gp = _find(short, "jobsplit"), _find(short, "xargs"), _find(short, "GNU parallel")
    if js and xa:
        r = js.median / xa.median
        out.append(Target("output-heavy: within 1.2x of xargs -P2 | gzip -1 (wall)", r <= 1.2,
                          f"{r:.2f}x"))
        if js.size and xa.size:
            s = js.size / xa.size
            out.append(Target("output-heavy: log.gz <= 1.3x the size of gzip -1 of the lines",
                              s <= 1.3, f"{s:.2f}x"))
    else:
        out.append(Target("output-heavy: within 1.2x of xargs -P2 | gzip -1 (wall)", None,
                          "not measured"))
    if js and gp:
        out.append(Target("output-heavy: faster than GNU parallel | gzip -1",
                          js.median < gp.median, f"{gp.median / js.median:.2f}x faster"))
    return out
