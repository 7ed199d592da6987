#!/usr/bin/env python3
"""A stand-in for the execution model of the original Python job-splitter (the tool jobsplit
replaces), used by `make bench` as a peer row.

It is not that program: it reproduces the parts of its execution model that set its cost per
command job, as recorded in shared/PERF-NOTES.md, and nothing else:

- a `multiprocessing.Pool` of N worker processes (2 in the benchmark);
- one task per job, submitted with `apply_async` (one pickled message to a worker and one back
  per job, no chunking);
- in the worker, one `subprocess.run(cmd, shell=True, capture_output=True)` per job: a
  `/bin/sh -c` child with stdout and stderr captured;
- a progress loop in the parent that wakes every `--interval` seconds and asks every job's
  handle for its state (`AsyncResult.ready()`, plus the result's status once ready) to count
  done and failed jobs, then prints a progress line. This scan is O(jobs) per tick, which is
  why the original got slower per job as the list grew;
- the results (index, command, status, exit code, started_at, duration, stdout) collected in
  memory and written to one CSV at the end, in job order.

Not modelled: the original's planning and hashing across machines, retries, its log files and
its configuration parsing; they are either outside the timed dispatch loop or specific to it.

Usage: job_splitter_model.py JOBS_FILE OUT_CSV [--workers 2] [--interval 0.05] [--quiet]
"""

import argparse
import csv
import multiprocessing
import subprocess
import sys
import time
from datetime import datetime, timezone

DONE, FAILED = "done", "failed"


def run_job(index, cmd):
    """Runs one job in a pool worker and returns its result row."""
    started = datetime.now(timezone.utc)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, shell=True, capture_output=True, text=True)
    duration = time.perf_counter() - t0
    return {
        "index": index,
        "command": cmd,
        "status": DONE if proc.returncode == 0 else FAILED,
        "exit_code": proc.returncode,
        "started_at": started.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "duration_s": f"{duration:.6f}",
        "stdout": proc.stdout.strip(),
    }


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("jobs")
    ap.add_argument("out_csv")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--interval", type=float, default=0.05,
                    help="seconds between progress scans")
    ap.add_argument("--quiet", action="store_true", help="scan but do not print progress")
    args = ap.parse_args(argv)

    with open(args.jobs) as f:
        jobs = [line.rstrip("\n") for line in f if line.strip()]

    results = [None] * len(jobs)

    def on_done(row):
        results[row["index"]] = row

    with multiprocessing.Pool(args.workers) as pool:
        pending = []
        for i, cmd in enumerate(jobs):
            pending.append(pool.apply_async(run_job, (i, cmd), callback=on_done))
        while True:
            # The progress loop: every tick looks at every job.
            finished = failed = 0
            for i, p in enumerate(pending):
                if p.ready():
                    finished += 1
                    row = results[i]  # the callback runs before ready() turns true
                    if row is not None and row["status"] == FAILED:
                        failed += 1
            if not args.quiet:
                print(f"\r{finished}/{len(jobs)} done, {failed} failed",
                      end="", file=sys.stderr, flush=True)
            if finished == len(jobs):
                break
            time.sleep(args.interval)
        for p in pending:
            p.get()  # re-raise a worker's exception, as the original did
    if not args.quiet:
        print(file=sys.stderr)

    fields = ["index", "command", "status", "exit_code", "started_at", "duration_s", "stdout"]
    with open(args.out_csv, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fields)
        w.writeheader()
        w.writerows(results)
    return 1 if any(r["status"] == FAILED for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
