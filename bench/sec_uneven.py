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
from dataclasses import dataclass, field

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
    (makespan, {machine: seconds}, {machine: indices}, claims/s, {machine: [(start, end)]}
    with times from the start) or raises Unavailable with the first failure."""
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
    shares = {m: share_of(os.path.join(out, m, "results.csv")) for m in SPEEDS}
    spans = {m: spans_of(os.path.join(out, m, "results.csv"), wall0) for m in SPEEDS}
    return makespan, {m: r.seconds for m, r in results.items()}, shares, claim_rate(out), spans


def spans_of(csv_path, wall0):
    """Each job's (start, end) in seconds from `wall0`, in start order."""
    def at(text):
        return datetime.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() - wall0
    try:
        with open(csv_path, newline="") as f:
            rows = list(csv.DictReader(f))
    except FileNotFoundError:
        return []
    return sorted((at(r["started_at"]), at(r["started_at"]) + float(r["duration_s"]))
                  for r in rows)


def breakdown(makespan, spans, shares, bases):
    """Where a makespan goes beyond the ideal, as parts of the ideal that sum to makespan /
    ideal - 1: machine m lends speed s_m for the whole makespan T; what it did not spend
    sleeping a job's base / s_m was its job start cost (a job's time beyond its sleep), its
    start (before its first job), the gaps between jobs (claims) and its end (from its last
    job's end to T: the last block, the exit)."""
    work = sum(bases)
    parts = {"job start cost": 0.0, "start": 0.0, "between jobs": 0.0, "end": 0.0}
    for m, s in SPEEDS.items():
        v = spans[m]
        if not v:
            parts["end"] += s * makespan
            continue
        busy = sum(e - b for b, e in v)
        parts["job start cost"] += s * busy - sum(bases[i] for i in shares[m])
        parts["start"] += s * max(v[0][0], 0.0)
        parts["between jobs"] += s * sum(v[k + 1][0] - v[k][1] for k in range(len(v) - 1))
        parts["end"] += s * (makespan - v[-1][1])
    return {k: x / work for k, x in parts.items()}


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


def share_of(csv_path):
    """The job indices a machine's results.csv holds."""
    try:
        with open(csv_path, newline="") as f:
            return [int(row["index"]) for row in csv.DictReader(f)]
    except FileNotFoundError:
        return []


def splits_of(ctx):
    """{row name: machines file} of the splits compared, in this variant."""
    calibrated = os.path.join(ctx.scratch("uneven-calibration"), "machines-calibrated.json")
    return {
        "jobsplit, weighted (true weights 1, 2, 4)":
            ctx.write_json("machines-uneven.json",
                           {m: {"weight": s, "cores": 1} for m, s in SPEEDS.items()}),
        # The weights `jobsplit merge --write-machines` measured from the weighted run: they
        # include each job's fixed process cost, which no machine speed divides.
        "jobsplit, calibrated (merge --write-machines)": calibrated,
        "equal split (weights 1, 1, 1)":
            ctx.write_json("machines-uneven-equal.json",
                           {m: {"weight": 1, "cores": 1} for m in SPEEDS}),
        # Work stealing over the output directory (run --steal): the hosts balance while they
        # run, so a wrong weight costs little.
        "jobsplit --steal, true weights":
            ctx.write_json("machines-uneven-steal.json",
                           {m: {"weight": s, "cores": 1} for m, s in SPEEDS.items()}),
        "jobsplit --steal, equal weights":
            ctx.write_json("machines-uneven-steal-equal.json",
                           {m: {"weight": 1, "cores": 1} for m in SPEEDS}),
    }


@dataclass
class Split:
    """One row of the uneven table: a split run by one binary (ctx), round after round."""
    ctx: object
    name: str
    machines: str
    makespans: list = field(default_factory=list)
    walls: list = field(default_factory=list)
    breakdowns: list = field(default_factory=list)
    rates: list = field(default_factory=list)
    assigned: float = None
    error: str = None

    def run_round(self, jobs, n, bases):
        ctx, name = self.ctx, self.name
        try:
            if name.startswith("jobsplit, calibrated") and not os.path.exists(self.machines):
                calibrate(ctx, self.machines)
            steal = "--steal" in name
            span, wall, shares, rate, job_spans = run_hosts(
                ctx, jobs, self.machines,
                ("s" + name.split()[2][0]) if steal else name.split()[1][0],
                ("--steal",) if steal else ())
        except Unavailable as e:
            self.error = f"not available: {e}"
            return
        if rate:
            self.rates.append(rate)
        done = sorted(i for share in shares.values() for i in share)
        if done != list(range(n)):
            self.error = (f"ran, but the three results.csv hold {len(done)} rows, not each of "
                          f"the {n} jobs once")
            return
        self.makespans.append(span)
        self.walls.append(wall)
        self.breakdowns.append(breakdown(span, job_spans, shares, bases))
        # The split alone: the sleep each machine was dealt, without any spawn cost.
        self.assigned = max(sum(bases[i] for i in share) / SPEEDS[m]
                            for m, share in shares.items())

    @property
    def makespan(self):
        return statistics.median(self.makespans) if self.makespans else None


def run(ctx, parts, targets):
    n = 60 if ctx.quick else 300
    repeats = 2 if ctx.quick else ctx.repeats
    lines, bases = job_lines(n)
    jobs = ctx.data_path(f"uneven-{n}.txt")
    with open(jobs, "w") as f:
        f.writelines(lines)
    ideal = sum(bases) / sum(SPEEDS.values())
    splits = {v.label: splits_of(v) for v in ctx.variants()}
    rows = [Split(v, name, splits[v.label][name]) for name in splits[""]
            for v in ctx.variants()]
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
    for _ in range(repeats):
        for row in rows:
            if row.error is None:
                row.run_round(jobs, n, bases)
    twins = {row.name: row for row in rows if row.ctx.label}
    for row in rows:
        before = twins.get(row.name) if not row.ctx.label else None
        tabulate(t, row, ideal, before)
    targets.extend(check_targets([row for row in rows if not row.ctx.label], ideal, bases, n))
    for v in ctx.variants():
        rates = [r for row in rows if row.ctx is v for r in row.rates]
        if rates:
            t.notes.append(f"{v.tool('--steal')}: claims per second (median of the hosts' "
                           f"status.json): {statistics.median(rates):.0f}")
    t.notes.append("where a --steal makespan goes beyond the ideal, as parts of the ideal: a job's "
                   "time beyond its sleep (its process start: no speed divides it), each run's "
                   "start before its first job, the gaps between jobs (claims), and the end "
                   "(machines idle after their last job while one runs the last block, and the "
                   "exit); each weighted by the machine's speed")
    t.notes.append("no shared disk: `make bench-steal-remote` (bench/steal_remote.py) measures "
                   "run --steal-remote on 3 separate ssh hosts beside the static split and "
                   "--steal on a shared OUT")
    t.notes.append("makespan: from starting the three runs to the last one's exit, median over "
                   f"{repeats} repeats; the ideal leaves out the per-job spawn cost")
    t.notes.append("dealt work, busiest: the sleep time the split gave its most loaded machine "
                   "(sum of base / speed over its jobs), i.e. the makespan with free spawns: "
                   "the quality of the split alone")
    small_study(ctx, parts, repeats)


def tabulate(t, row, ideal, before):
    """The row's line in the table (and the breakdown of a --steal row in the notes)."""
    name = row.ctx.tool(row.name)
    if row.error or not row.makespans:
        t.add(name, row.error or "not measured", "-", "-", "-", "-")
        return
    span = row.makespan
    per = " / ".join(f"{statistics.median(w[m] for w in row.walls):.2f}" for m in SPEEDS)
    t.add(name, seconds(span), per + " s", ratio(span, ideal), seconds(row.assigned),
          ratio(row.assigned, ideal), before=ratio(span, before and before.makespan))
    if "--steal" in row.name:
        median = {k: statistics.median(p[k] for p in row.breakdowns) for k in row.breakdowns[0]}
        t.notes.append(f"{name}: {span / ideal:.2f}x = 1 + " + " + ".join(
            f"{x:.3f} {k}" for k, x in median.items()) + " (medians: the parts need not "
            "add up to the median makespan)")


def check_targets(rows, ideal, bases, n):
    """The section's targets, from this binary's rows."""
    target = Target("weighted makespan within 10% of ideal", None, "jobsplit not measured")
    steal_target = Target("--steal makespan within 10% of ideal with either weights", None,
                          "--steal not measured")
    claim_target = Target("a claim costs under 1% of the mean job", None, "not measured")
    for row in rows:
        span = row.makespan
        if row.error or span is None:
            continue
        if "weighted" in row.name:
            target.evidence = (f"true weights: makespan {span / ideal:.2f}x ideal, the work "
                               f"it dealt the busiest machine {row.assigned / ideal:.2f}x")
            target.met = span <= 1.10 * ideal
        if "--steal" in row.name:
            steal_target.evidence = ((steal_target.evidence + "; ")
                                     if steal_target.met is not None else "")
            steal_target.evidence += f"{row.name.split(', ')[1]}: {span / ideal:.2f}x ideal"
            steal_target.met = (steal_target.met is not False) and span <= 1.10 * ideal
        if "calibrated" in row.name:
            target.evidence += f"; calibrated weights: makespan {span / ideal:.2f}x ideal"
            target.met = target.met or span <= 1.10 * ideal
    rates = [r for row in rows for r in row.rates]
    if rates:
        rate = statistics.median(rates)
        mean = sum(bases) / n / statistics.mean(SPEEDS.values())
        claim_target.evidence = (f"{rate:.0f} claims/s ({1e3 / rate:.2f} ms a claim, local "
                                 f"disk) against a mean job of {mean * 1e3:.0f} ms: "
                                 f"{100 / rate / mean:.1f}% per job before blocks share it")
        claim_target.met = 1 / rate <= 0.01 * mean
    return [target, steal_target, claim_target]


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
    for _ in range(repeats):
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
