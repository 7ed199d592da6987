#!/usr/bin/env python3
"""Writes realistic jobsplit output directories, OUT/<machine>/{results.csv,log.gz,manifest.json},
for the merge benchmark. Deterministic for a given (rows, machines, seed).

The shapes follow the crate's writers (src/output/results.rs, log.rs, manifest.rs; the user-facing
contract is docs/output-format.md). Everything that may still move sits at the top of this file:
HEADER, STATUS_*, row(), log_lines() and manifest(); adjust them there and nothing else changes.

Rows: every job index 0..ROWS-1 appears once, in exactly one machine's results.csv. The indices
are shuffled and dealt into equal shares (as a plan does), and each file lists its share in run
order, not index order, so a merge really has to sort. About 1% of jobs failed.

Usage: gen_outputs.py OUT_DIR ROWS [--machines 10] [--seed 1] [--inputs]
"""

import argparse
import gzip
import hashlib
import json
import os
import random
from datetime import datetime, timedelta, timezone

HEADER = "index,key,machine,status,exit_code,attempt,started_at,duration_s,error,value\n"
# With --inputs: each row also carries its job's inputs and command, as runs write them since
# issue 12 (docs/output-format.md, *Inputs beside results*).
HEADER_INPUTS = ("index,key,machine,status,exit_code,attempt,started_at,duration_s,error,"
                 "input_alpha,input_name,command,value\n")
STATUS_OK, STATUS_FAILED = "ok", "failed"
EPOCH = datetime(2026, 11, 23, 5, 0, 0, tzinfo=timezone.utc)


def key(index):
    """A 16-hex-digit job key (the real one comes from the plan's digest of the job line)."""
    return hashlib.blake2b(index.to_bytes(8, "little"), digest_size=8).hexdigest()


def stamp(t):
    return t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def row(index, machine, rng, started, inputs=False):
    """One results.csv line for a job; returns (line, status, duration)."""
    duration = rng.uniform(0.002, 0.05)
    if rng.random() < 0.01:
        status, code, error, value = STATUS_FAILED, 1, "exit status 1", ""
    else:
        status, code, error, value = STATUS_OK, 0, "", f"{rng.random():.6f}"
    attempt = 2 if rng.random() < 0.002 else 1
    extra = f"{index * 0.001:.3f},point-{index},python3 sim.py --alpha {index * 0.001:.3f}," if inputs else ""
    line = (f"{index},{key(index)},{machine},{status},{code},{attempt},"
            f"{stamp(started)},{duration:.6f},{error},{extra}{value}\n")
    return line, status, duration


def log_lines(index, status, started, duration):
    """log.gz lines of one job: `TIME\tJOB\tSTREAM\tTEXT`."""
    end = stamp(started + timedelta(seconds=duration))
    return (f"{stamp(started)}\t{index}\tout\tjob {index}: value computed\n"
            f"{end}\t{index}\tevent\t{status} in {duration:.6f}s\n")


def manifest(machine, machines, rows, share, counts, busy, started, finished):
    """manifest.json: what a run of one machine records about itself (src/output/manifest.rs)."""
    return {
        "algorithm": "split-v1",
        "work_digest": hashlib.sha256(f"work-{rows}".encode()).hexdigest(),
        "plan_digest": hashlib.sha256(f"plan-{rows}-{len(machines)}".encode()).hexdigest(),
        "machine": machine,
        "weight": 1.0,
        "cores": 1,
        "threads": 1,
        "share": len(share),
        "jobs_total": rows,
        "excluded": 0,
        "version": "0.1.0",
        "hostname": machine,
        "started_at": stamp(started),
        "ended_at": stamp(finished),
        "state": "finished",
        "counts": {"ok": counts[STATUS_OK], "failed": counts[STATUS_FAILED], "timeout": 0,
                   "interrupted": 0, "skipped": 0},
        "busy_s": round(busy, 6),
    }


def write_machine(out, machine, machines, rows, share, seed, inputs=False):
    rng = random.Random(f"{seed}-{machine}")
    d = os.path.join(out, machine)
    os.makedirs(d, exist_ok=True)
    t = start = EPOCH + timedelta(seconds=rng.uniform(0, 2))
    csv_lines, logs = [HEADER_INPUTS if inputs else HEADER], []
    counts = {STATUS_OK: 0, STATUS_FAILED: 0}
    for index in share:
        line, status, duration = row(index, machine, rng, t, inputs)
        csv_lines.append(line)
        logs.append(log_lines(index, status, t, duration))
        counts[status] += 1
        t += timedelta(seconds=duration)
    with open(os.path.join(d, "results.csv"), "w") as f:
        f.write("".join(csv_lines))
    with gzip.open(os.path.join(d, "log.gz"), "wt", compresslevel=1) as f:
        f.write("".join(logs))
    with open(os.path.join(d, "manifest.json"), "w") as f:
        json.dump(manifest(machine, machines, rows, share, counts, (t - start).total_seconds(),
                           start, t), f, indent=2)
        f.write("\n")


def main():
    ap = argparse.ArgumentParser(description="Write jobsplit output dirs for the merge benchmark.")
    ap.add_argument("out")
    ap.add_argument("rows", type=int)
    ap.add_argument("--machines", type=int, default=10)
    ap.add_argument("--seed", default="1")
    ap.add_argument("--inputs", action="store_true", help="rows carry input columns and the command")
    a = ap.parse_args()
    names = [f"m{j:02d}" for j in range(a.machines)]
    order = list(range(a.rows))
    random.Random(a.seed).shuffle(order)
    for j, name in enumerate(names):
        write_machine(a.out, name, names, a.rows, order[j::a.machines], a.seed, a.inputs)


if __name__ == "__main__":
    main()
