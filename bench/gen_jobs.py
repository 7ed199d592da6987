#!/usr/bin/env python3
"""Writes N realistic job lines (shell commands, about 30 bytes each) to stdout, for the plan
benchmark. Deterministic: the same N gives the same bytes on every machine.

Lines look like `./fit --seed 4821377 --n 512 -q` with a few commands and option shapes mixed,
so line lengths vary (24-38 bytes, mean ~30) and no two lines are equal.

Usage: gen_jobs.py N > jobs.txt
"""

import sys

# (template, number of distinct values for the second field); {s} is a 7-digit seed.
SHAPES = [
    "./fit --seed {s} --n {n}\n",
    "./sim -s {s} -k {n} -q\n",
    "python3 run.py {s} {n}\n",
    "./bin/solve --case c{s}-{n}\n",
]
SIZES = ["64", "128", "512", "2048", "8192"]
CHUNK = 100_000


def lines(start, stop):
    """Lines start..stop; the seed is a fixed bijection of the index, so all lines differ."""
    out = []
    for i in range(start, stop):
        seed = (i * 2_654_435_761 + 1_000_003) % 10_000_019
        out.append(SHAPES[i % 4].format(s=seed, n=SIZES[(i // 4) % 5]))
    return out


def main():
    if len(sys.argv) != 2 or not sys.argv[1].isdigit():
        sys.exit("usage: gen_jobs.py N > jobs.txt")
    n = int(sys.argv[1])
    write = sys.stdout.write
    for start in range(0, n, CHUNK):
        write("".join(lines(start, min(n, start + CHUNK))))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
