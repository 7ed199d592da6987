"""Section 5: uneven machines, simulated on one host.

Three machines of true speed 1, 2 and 4 (one core each). Each job has a base duration drawn
from a seeded RNG by job index; the job line looks its machine up in $JOBSPLIT_MACHINE (set
by jobsplit for command jobs) and sleeps base / speed. The three `jobsplit run --machine X`
runs start together (they sleep, so 2 real cores suffice) and the makespan is the slowest
one's wall time. jobsplit's weighted split (machines file with the true weights) is compared
with an equal split (weights all 1) and the ideal, total work / total speed.

Each job also pays one process spawn (~0.5-1 ms here) that no speed divides; base durations
of 20-100 ms keep that a few percent of the fastest machine's jobs. The ideal ignores it.
"""

import csv
import datetime
import json
import os
import random
import statistics
import threading
import time

import breakdown
from harness import Unavailable, run_once
from report import Table, Target, ratio, seconds

SPEEDS = {"slow": 1, "mid": 2, "fast": 4}
BASE_MS = (20, 100)


def job_lines(n, seed=7):
    """(lines, base durations in seconds): job i sleeps base_i / speed of its machine."""
    rng = random.Random(seed)
    bases = [rng.uniform(*BASE_MS) / 1000 for _ in range(n)]
    lines = []
    for b in bases:
        arms = " ".join(f"{m}) exec sleep {b / s:.6f};;" for m, s in SPEEDS.items())
        lines.append(f"case $JOBSPLIT_MACHINE in {arms} "
                     "*) echo \"unknown machine '$JOBSPLIT_MACHINE'\" >&2; exit 3;; esac\n")
    return lines, bases


def run_hosts(ctx, jobs, machines, name, extra=()):
    """Runs the three machines at once (with `extra` run arguments, e.g. --steal); returns
    (makespan, {machine: seconds}, {machine: [(start, end, index)]} with times from the
    start, claims/s) or raises Unavailable with the first failure."""
    out = ctx.scratch(f"uneven-{name}")
    argvs = {m: ctx.jobsplit_cmd("run", "--jobs", jobs, "--machines", machines, "--machine", m,
                                 "--out", out, "--yes", "--quiet", "--threads", "1", *extra)
             for m in SPEEDS}
    results = {}

    def one(m):
        results[m] = run_once(argvs[m], cwd=ctx.work, timeout=600)

    threads = [threading.Thread(target=one, args=(m,)) for m in SPEEDS]
    t0 = time.perf_counter()
    wall0 = time.time()
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    makespan = time.perf_counter() - t0
    for m, r in results.items():
        if r.code != 0:
            raise Unavailable(f"jobsplit run --machine {m}: {r.error()}")
    spans = {m: spans_of(os.path.join(out, m, "results.csv"), wall0) for m in SPEEDS}
    return makespan, {m: r.seconds for m, r in results.items()}, spans, claim_rate(out)


def spans_of(csv_path, wall0):
    """Each job's (start, end, index), seconds from `wall0`, in start order."""
    def at(text):
        return datetime.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() - wall0
    try:
        with open(csv_path, newline="") as f:
            rows = list(csv.DictReader(f))
    except FileNotFoundError:
        return []
    return sorted((at(r["started_at"]), at(r["started_at"]) + float(r["duration_s"]),
                   int(r["index"])) for r in rows)


def parts_of(makespan, spans, bases):
    """Where a makespan goes beyond the ideal (bench/breakdown.py), from the jobs' spans."""
    return breakdown.breakdown(SPEEDS, {m: [(b, e, bases[i]) for b, e, i in v]
                                        for m, v in spans.items()}, sum(bases), makespan)


def claim_rate(out):
    """The median claims per second the stealing hosts measured (status.json), or None."""
    rates = []
    for m in SPEEDS:
        try:
            with open(os.path.join(out, m, "status.json")) as f:
                st = json.load(f).get("steal") or {}
        except (OSError, ValueError):
            continue
        if st.get("claims_per_s"):
            rates.append(st["claims_per_s"])
    return statistics.median(rates) if rates else None


def per_job_cost(ctx, n):
    """Seconds a job of `exec sleep 0` costs when the spawn floor runs it on one thread: the
    process start every job pays on top of its sleep, whatever the machine's speed."""
    try:
        floor = ctx.tools.get("spawn_floor")
    except Unavailable:
        return None
    jobs = ctx.data_path(f"uneven-cost-{n}.txt")
    with open(jobs, "w") as f:
        f.writelines("exec sleep 0\n" for _ in range(n))
    r = run_once([floor, jobs, "1"], cwd=ctx.work, timeout=600)
    return r.seconds / n if r.code == 0 else None


def calibrate(ctx, path):
    """Merges the weighted run's output and writes the weights it measured to `path`."""
    out = ctx.run_path("uneven-w")  # the weighted run's output, kept
    merged = ctx.scratch("uneven-calibration-merged")
    r = run_once(ctx.jobsplit_cmd("merge", out, "--out", merged, "--write-machines", path),
                 cwd=ctx.work, timeout=600)
    if not os.path.exists(path):
        raise Unavailable(f"jobsplit merge --write-machines: {r.error()}")


def splits_of(ctx):
    """The splits the section compares: name -> machines file."""
    calibrated = os.path.join(ctx.scratch("uneven-calibration"), "machines-calibrated.json")
    true = {m: {"weight": s, "cores": 1} for m, s in SPEEDS.items()}
    equal = {m: {"weight": 1, "cores": 1} for m in SPEEDS}
    return {
        "jobsplit, weighted (true weights 1, 2, 4)": ctx.write_json("machines-uneven.json", true),
        # The weights `jobsplit merge --write-machines` measured from the weighted run: they
        # include each job's fixed process cost, which no machine speed divides.
        "jobsplit, calibrated (merge --write-machines)": calibrated,
        "equal split (weights 1, 1, 1)": ctx.write_json("machines-uneven-equal.json", equal),
        # Work stealing over the output directory (run --steal): the hosts balance while they
        # run, so a wrong weight costs little.
        "jobsplit --steal, true weights": ctx.write_json("machines-uneven-steal.json", true),
        "jobsplit --steal, equal weights":
            ctx.write_json("machines-uneven-steal-equal.json", equal),
    }


class Runs:
    """What the repeats of one split measured."""

    def __init__(self):
        self.spans, self.walls, self.parts, self.loads = [], [], [], []
        self.assigned = None
        self.error = None

    def median_run(self):
        """The index of the run whose makespan is the median (the lower one of two)."""
        order = sorted(range(len(self.spans)), key=self.spans.__getitem__)
        return order[(len(order) - 1) // 2]


def measure(rows, jobs, bases, repeats):
    """Runs every row (variant, split name, machines file) `repeats` times, interleaved:
    ({row name: Runs}, {variant label: [claims/s]})."""
    n = len(bases)
    runs = {ctx.tool(name): Runs() for ctx, name, _ in rows}
    rates = {ctx.label: [] for ctx, _, _ in rows}
    for _ in range(repeats):
        for ctx, name, machines in rows:
            r = runs[ctx.tool(name)]
            if r.error:
                continue
            load = os.getloadavg()[0]
            try:
                if name.startswith("jobsplit, calibrated") and not os.path.exists(machines):
                    calibrate(ctx, machines)
                steal = "--steal" in name
                span, wall, spans, rate = run_hosts(
                    ctx, jobs, machines,
                    ("s" + name.split()[2][0]) if steal else name.split()[1][0],
                    ("--steal",) if steal else ())
                if rate:
                    rates[ctx.label].append(rate)
            except Unavailable as e:
                r.error = f"not available: {e}"
                continue
            done = sorted(i for v in spans.values() for _, _, i in v)
            if done != list(range(n)):
                r.error = (f"ran, but the three results.csv hold {len(done)} rows, "
                           f"not each of the {n} jobs once")
                continue
            r.spans.append(span)
            r.walls.append(wall)
            r.loads.append(load)
            r.parts.append(parts_of(span, spans, bases))
            # The split alone: the sleep each machine was dealt, without any spawn cost.
            r.assigned = max(sum(bases[i] for _, _, i in v) / SPEEDS[m]
                             for m, v in spans.items())
    return runs, rates


def run(ctx, parts, targets):
    n = 60 if ctx.quick else 300
    repeats = 2 if ctx.quick else ctx.repeats
    lines, bases = job_lines(n)
    jobs = ctx.data_path(f"uneven-{n}.txt")
    with open(jobs, "w") as f:
        f.writelines(lines)
    ideal = sum(bases) / sum(SPEEDS.values())
    splits = {v.label: splits_of(v) for v in ctx.variants()}
    rows = [(v, name, splits[v.label][name]) for name in splits[""] for v in ctx.variants()]
    t = Table(f"uneven machines: {n} jobs of {BASE_MS[0]}-{BASE_MS[1]} ms / speed, "
              "speeds 1, 2, 4, one core each",
              ["split", "makespan (median)", "slow / mid / fast wall", "ratio to ideal",
               "dealt work, busiest", "its ratio to ideal"], before=bool(ctx.baseline))
    parts.append(t)
    t.add("ideal: total work / total speed", seconds(ideal), "-", "1.00x", seconds(ideal),
          "1.00x")
    cost = per_job_cost(ctx, 100 if ctx.quick else 300)
    if cost is not None:
        # The best any static split can do when every job also pays `cost` that no machine
        # speed divides: machine m runs n_m jobs in n_m * (mean base / s_m + cost) = T.
        mean = sum(bases) / n
        bound = n / sum(1 / (mean / s + cost) for s in SPEEDS.values())
        t.add(f"bound with the measured per-job process cost ({cost * 1e3:.2f} ms)",
              seconds(bound), "-", ratio(bound, ideal), "-", "-")
    ctx.log(f"uneven: {n} jobs, {repeats} repeats")
    runs, rates = measure(rows, jobs, bases, repeats)
    for name, r in runs.items():
        if r.error or not r.spans:
            t.add(name, r.error or "not measured", "-", "-", "-", "-")
            continue
        span = statistics.median(r.spans)
        per = " / ".join(f"{statistics.median(w[m] for w in r.walls):.2f}" for m in SPEEDS)
        before = runs.get(ctx.baseline.tool(name)) if ctx.baseline else None
        t.add(name, seconds(span), per + " s", ratio(span, ideal), seconds(r.assigned),
              ratio(r.assigned, ideal), before=ratio(span, statistics.median(before.spans))
              if before and before.spans and not before.error else "-")
    mine = {name: runs[name] for name in splits[""]}  # the targets judge this binary
    targets += judge(mine, ideal, rates[""], sum(bases) / n / statistics.mean(SPEEDS.values()),
                     t)
    loads = [x for r in runs.values() for x in r.loads]
    if loads:
        t.notes.append(f"load average (1 min) as each run started: median "
                       f"{statistics.median(loads):.2f} ({min(loads):.2f} to {max(loads):.2f}) "
                       f"on {os.cpu_count()} cores; "
                       "the ideal is the jobs' work alone, so a busy machine shows as job start "
                       "cost")
    t.notes.append("where a --steal makespan goes beyond the ideal, as parts of the ideal that add "
                   "up (bench/breakdown.py): a job's time beyond its sleep (job start cost: no "
                   "speed divides it), each run's start before its first job, the gaps between "
                   "its jobs (claims, a thief's waits), the last block (machines idle after their "
                   "last job while another runs the study's last jobs) and the exit (from the "
                   "last job's end to the last run's exit); each weighted by the machine's speed")
    t.notes.append("no shared disk: `make bench-steal-remote` (bench/steal_remote.py) measures "
                   "run --steal-remote on 3 separate ssh hosts beside the static split and "
                   "--steal on a shared OUT")
    t.notes.append("makespan: from starting the three runs to the last one's exit, median over "
                   f"{repeats} repeats; the ideal leaves out the per-job spawn cost")
    t.notes.append("dealt work, busiest: the sleep time the split gave its most loaded machine "
                   "(sum of base / speed over its jobs), i.e. the makespan with free spawns: "
                   "the quality of the split alone")
    small_study(ctx, parts, repeats)


def judge(runs, ideal, rates, mean, t):
    """The section's targets, and the --steal breakdown notes on table `t`."""
    target = Target("weighted makespan within 10% of ideal", None, "jobsplit not measured")
    steal = Target("--steal makespan within 7% of ideal with either weights (issue 21)", None,
                   "--steal not measured")
    claim = Target("a claim costs under 1% of the mean job", None, "not measured")
    for name, r in runs.items():
        if r.error or not r.spans:
            continue
        span = statistics.median(r.spans)
        if "weighted" in name:
            target.evidence = (f"true weights: makespan {span / ideal:.2f}x ideal, the work "
                               f"it dealt the busiest machine {r.assigned / ideal:.2f}x")
            target.met = span <= 1.10 * ideal
        if "calibrated" in name and target.met is not None:
            target.evidence += f"; calibrated weights: makespan {span / ideal:.2f}x ideal"
            target.met = target.met or span <= 1.10 * ideal
        if "--steal" not in name:
            continue
        k = r.median_run()
        p = r.parts[k]
        t.notes.append(f"{name}, the median run (load {r.loads[k]:.2f}): "
                       f"{r.spans[k] / ideal:.3f}x = {breakdown.text(p)}; without the job "
                       f"start cost {breakdown.beyond_start_cost(p):.3f}x")
        steal.evidence = (steal.evidence + "; ") if steal.met is not None else ""
        steal.evidence += (f"{name.split(', ')[1]}: {span / ideal:.2f}x ideal, "
                           f"{breakdown.beyond_start_cost(p):.2f}x without the job start cost")
        steal.met = (steal.met is not False) and span <= 1.07 * ideal
    if rates:
        rate = statistics.median(rates)
        claim.evidence = (f"{rate:.0f} claims/s ({1e3 / rate:.2f} ms a claim, local "
                          f"disk) against a mean job of {mean * 1e3:.0f} ms: "
                          f"{100 / rate / mean:.1f}% per job before blocks share it")
        claim.met = 1 / rate <= 0.01 * mean
        t.notes.append(f"--steal: claims per second (median of the hosts' status.json): "
                       f"{rate:.0f}")
    return [target, steal, claim]


def small_study(ctx, parts, repeats):
    """A study stealing cannot help: 12 jobs on 3 one-core machines (4 per core), true
    weights: the static split is already as good as blocks of one job can make it."""
    n = 12
    lines, bases = job_lines(n, seed=8)
    jobs = ctx.data_path(f"uneven-small-{n}.txt")
    with open(jobs, "w") as f:
        f.writelines(lines)
    ideal = sum(bases) / sum(SPEEDS.values())
    machines = ctx.write_json("machines-uneven-small.json",
                              {m: {"weight": s, "cores": 1} for m, s in SPEEDS.items()})
    t = Table(f"uneven machines, a study too small to steal: {n} jobs (4 per core), "
              "true weights", ["split", "makespan (median)", "ratio to ideal"],
              before=bool(ctx.baseline))
    parts.append(t)
    t.add("ideal: total work / total speed", seconds(ideal), "1.00x")
    rows = [(v, name, extra) for name, extra in (("static split", ()), ("--steal", ("--steal",)))
            for v in ctx.variants()]
    spans = {v.tool(name): [] for v, name, _ in rows}
    for _ in range(repeats):  # interleaved: every row once a round
        for v, name, extra in rows:
            if isinstance(spans[v.tool(name)], list):
                try:
                    spans[v.tool(name)].append(run_hosts(
                        v, jobs, machines, "small" + str(len(extra)), extra)[0])
                except Unavailable as e:
                    spans[v.tool(name)] = f"not available: {e}"
    for v, name, _ in rows:
        span = spans[v.tool(name)]
        if isinstance(span, str):
            t.add(v.tool(name), span, "-")
            continue
        span = statistics.median(span)
        before = spans.get(ctx.baseline.tool(name)) if ctx.baseline and v is ctx else None
        t.add(v.tool(name), seconds(span), ratio(span, ideal),
              before=ratio(span, statistics.median(before))
              if isinstance(before, list) and before else "-")
    t.notes.append("below about 8 jobs per core a block is one job: stealing can only move "
                   "whole jobs, so neither split comes near the ideal; a difference here is "
                   "one job's length, not balancing")
