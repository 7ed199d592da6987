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


def run_hosts(ctx, jobs, machines, name):
    """Runs the three machines at once; returns (makespan, {machine: seconds}) or raises
    Unavailable with the first failure."""
    out = ctx.scratch(f"uneven-{name}")
    argvs = {m: ctx.jobsplit_cmd("run", "--jobs", jobs, "--machines", machines, "--machine", m,
                                 "--out", out, "--yes", "--quiet", "--threads", "1")
             for m in SPEEDS}
    results = {}

    def one(m):
        results[m] = run_once(argvs[m], cwd=ctx.work, timeout=600)

    threads = [threading.Thread(target=one, args=(m,)) for m in SPEEDS]
    t0 = time.perf_counter()
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    makespan = time.perf_counter() - t0
    for m, r in results.items():
        if r.code != 0:
            raise Unavailable(f"jobsplit run --machine {m}: {r.error()}")
    shares = {m: share_of(os.path.join(out, m, "results.csv")) for m in SPEEDS}
    return makespan, {m: r.seconds for m, r in results.items()}, shares


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
                span, wall, shares = run_hosts(ctx, jobs, machines, name.split()[1][0])
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
        if "calibrated" in name:
            target.evidence += f"; calibrated weights: makespan {span / ideal:.2f}x ideal"
            target.met = target.met or span <= 1.10 * ideal
    t.notes.append("makespan: from starting the three runs to the last one's exit, median over "
                   f"{repeats} repeats; the ideal leaves out the per-job spawn cost")
    t.notes.append("dealt work, busiest: the sleep time the split gave its most loaded machine "
                   "(sum of base / speed over its jobs), i.e. the makespan with free spawns: "
                   "the quality of the split alone")
