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
    out = os.path.join(ctx.work, "run", "uneven-w")  # the weighted run's output, kept
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


def run(ctx, parts, targets):
    n = 60 if ctx.quick else 300
    repeats = 2 if ctx.quick else ctx.repeats
    lines, bases = job_lines(n)
    jobs = ctx.data_path(f"uneven-{n}.txt")
    with open(jobs, "w") as f:
        f.writelines(lines)
    ideal = sum(bases) / sum(SPEEDS.values())
    calibrated = os.path.join(ctx.scratch("uneven-calibration"), "machines-calibrated.json")
    splits = {
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
    t = Table(f"uneven machines: {n} jobs of {BASE_MS[0]}-{BASE_MS[1]} ms / speed, "
              "speeds 1, 2, 4, one core each",
              ["split", "makespan (median)", "slow / mid / fast wall", "ratio to ideal",
               "dealt work, busiest", "its ratio to ideal"])
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
    target = Target("weighted makespan within 10% of ideal", None, "jobsplit not measured")
    targets.append(target)
    steal_target = Target("--steal makespan within 10% of ideal with either weights", None,
                          "--steal not measured")
    targets.append(steal_target)
    claim_target = Target("a claim costs under 1% of the mean job", None, "not measured")
    targets.append(claim_target)
    rates = []
    breakdowns = {}
    spans = {name: [] for name in splits}
    walls = {name: [] for name in splits}
    errors = {}
    assigned = {}
    ctx.log(f"uneven: {n} jobs, {repeats} repeats")
    for _ in range(repeats):
        for name, machines in splits.items():
            if name in errors:
                continue
            try:
                if name.startswith("jobsplit, calibrated") and not os.path.exists(machines):
                    calibrate(ctx, machines)
                steal = "--steal" in name
                span, wall, shares, rate, job_spans = run_hosts(
                    ctx, jobs, machines,
                    ("s" + name.split()[2][0]) if steal else name.split()[1][0],
                    ("--steal",) if steal else ())
                if rate:
                    rates.append(rate)
            except Unavailable as e:
                errors[name] = f"not available: {e}"
                continue
            done = sorted(i for share in shares.values() for i in share)
            if done != list(range(n)):
                errors[name] = (f"ran, but the three results.csv hold {len(done)} rows, "
                                f"not each of the {n} jobs once")
                continue
            spans[name].append(span)
            walls[name].append(wall)
            breakdowns.setdefault(name, []).append(breakdown(span, job_spans, shares, bases))
            # The split alone: the sleep each machine was dealt, without any spawn cost.
            assigned[name] = max(sum(bases[i] for i in share) / SPEEDS[m]
                                 for m, share in shares.items())
    for name in splits:
        if name in errors or not spans[name]:
            t.add(name, errors.get(name, "not measured"), "-", "-", "-", "-")
            continue
        span = statistics.median(spans[name])
        per = " / ".join(f"{statistics.median(w[m] for w in walls[name]):.2f}"
                         for m in SPEEDS)
        t.add(name, seconds(span), per + " s", ratio(span, ideal), seconds(assigned[name]),
              ratio(assigned[name], ideal))
        if "weighted" in name:
            target.evidence = (f"true weights: makespan {span / ideal:.2f}x ideal, the work "
                               f"it dealt the busiest machine {assigned[name] / ideal:.2f}x")
            target.met = span <= 1.10 * ideal
        if "--steal" in name and name in breakdowns:
            median = {k: statistics.median(p[k] for p in breakdowns[name])
                      for k in breakdowns[name][0]}
            t.notes.append(f"{name}: {span / ideal:.2f}x = 1 + " + " + ".join(
                f"{x:.3f} {k}" for k, x in median.items()) + " (medians: the parts need not "
                "add up to the median makespan)")
        if "--steal" in name:
            steal_target.evidence = ((steal_target.evidence + "; ")
                                     if steal_target.met is not None else "")
            steal_target.evidence += f"{name.split(', ')[1]}: {span / ideal:.2f}x ideal"
            steal_target.met = (steal_target.met is not False) and span <= 1.10 * ideal
        if "calibrated" in name:
            target.evidence += f"; calibrated weights: makespan {span / ideal:.2f}x ideal"
            target.met = target.met or span <= 1.10 * ideal
    if rates:
        rate = statistics.median(rates)
        mean = sum(bases) / n / statistics.mean(SPEEDS.values())
        claim_target.evidence = (f"{rate:.0f} claims/s ({1e3 / rate:.2f} ms a claim, local "
                                 f"disk) against a mean job of {mean * 1e3:.0f} ms: "
                                 f"{100 / rate / mean:.1f}% per job before blocks share it")
        claim_target.met = 1 / rate <= 0.01 * mean
        t.notes.append(f"--steal: claims per second (median of the hosts' status.json): "
                       f"{rate:.0f}")
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
              "true weights", ["split", "makespan (median)", "ratio to ideal"])
    parts.append(t)
    t.add("ideal: total work / total speed", seconds(ideal), "1.00x")
    for name, extra in (("static split", ()), ("--steal", ("--steal",))):
        spans = []
        for _ in range(repeats):
            try:
                span, _, _, _, _ = run_hosts(ctx, jobs, machines, "small" + str(len(extra)),
                                             extra)
            except Unavailable as e:
                t.add(name, f"not available: {e}", "-")
                break
            spans.append(span)
        else:
            span = statistics.median(spans)
            t.add(name, seconds(span), ratio(span, ideal))
    t.notes.append("below about 8 jobs per core a block is one job: stealing can only move "
                   "whole jobs, so neither split comes near the ideal; a difference here is "
                   "one job's length, not balancing")
