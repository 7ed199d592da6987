#!/usr/bin/env python3
"""The plain Python peer for `make bench`: what a user writes in five minutes.

`multiprocessing.Pool(N).map` over the job lines, each job one
`subprocess.run(line, shell=True, capture_output=True)`. No progress, no CSV.

Usage: pool_subprocess.py JOBS_FILE [WORKERS]
"""

import multiprocessing
import subprocess
import sys


def run(cmd):
    return subprocess.run(cmd, shell=True, capture_output=True).returncode


def main():
    workers = int(sys.argv[2]) if len(sys.argv) > 2 else 2
    with open(sys.argv[1]) as f:
        jobs = [line.rstrip("\n") for line in f if line.strip()]
    with multiprocessing.Pool(workers) as pool:
        codes = pool.map(run, jobs)
    return 1 if any(codes) else 0


if __name__ == "__main__":
    sys.exit(main())
