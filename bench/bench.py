#!/usr/bin/env python3
"""jobsplit's benchmark: compares jobsplit with the tools a user would otherwise pick and
prints ratios (absolute times vary between machines; ratios within one run are what we
compare). Python 3 standard library only.

Sections (`--only a,b`):
  dispatch  command jobs, 2 slots: jobsplit vs the spawn floor, xargs, GNU parallel,
            rust-parallel, a Python Pool and a model of the Python job-splitter
  map       the library's map() vs raw rayon vs a sequential loop (examples/bench_map.rs)
  plan      `jobsplit plan` of 1M and 10M job lines vs sha256sum of the file
  merge     `jobsplit merge` of 1M rows in 10 dirs vs cat | sort
  python    2,000 short Python jobs: a process per job vs persistent workers vs
            multiprocessing.Pool(2) (bench/python_workers.py)
  uneven    3 simulated machines of speed 1, 2, 4: weighted vs equal split vs the ideal
  output    output-heavy jobs (8M short lines, --job-logs, 1 MB lines): jobsplit's log.gz vs
            xargs | gzip -1, GNU parallel | gzip -1 and the spawn floor (wall, CPU, size)
  scale     per-job cost of `true` jobs from 2,500 to 100,000; startup to the first job
  run       = dispatch,uneven

Writes target/bench/report.md and prints it. Exits non-zero only if the harness itself breaks;
a slow or failing jobsplit is a row in the report.

With --baseline PATH, every jobsplit row is measured a second time with that binary (an older
build), in the same interleaved rounds, and each table gains an after / before column.

Usage: python3 bench/bench.py [--quick] [--only SECTIONS] [--jobsplit PATH] [--crate DIR]
                              [--baseline PATH [--baseline-crate DIR]]
"""

import argparse
import datetime
import os
import platform
import sys
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import sec_dispatch  # noqa: E402
import sec_map  # noqa: E402
import sec_merge  # noqa: E402
import sec_output  # noqa: E402
import sec_plan  # noqa: E402
import sec_python  # noqa: E402
import sec_scale  # noqa: E402
import sec_uneven  # noqa: E402
from context import Ctx  # noqa: E402
from harness import LoadSampler, capture, run_once  # noqa: E402
from report import Report  # noqa: E402
from tools import Tools  # noqa: E402

SECTIONS = {
    "dispatch": ("Command-job dispatch", sec_dispatch),
    "map": ("Library map()", sec_map),
    "plan": ("Plan", sec_plan),
    "merge": ("Merge", sec_merge),
    "uneven": ("Uneven machines", sec_uneven),
    "python": ("Python jobs: persistent workers", sec_python),
    "output": ("Output-heavy jobs", sec_output),
    "scale": ("Long job lists and startup", sec_scale),
}
ALIASES = {"run": ["dispatch", "uneven"], "all": list(SECTIONS)}


def log(msg):
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def parse_args(argv):
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__.split("\n\n")[1])
    ap.add_argument("--quick", action="store_true",
                    help="smaller inputs and fewer repeats (under a minute once tools are "
                         "installed and data generated)")
    ap.add_argument("--only", default="all", help="comma-separated sections (default: all)")
    ap.add_argument("--crate", default=root,
                    help="crate to measure: its jobsplit binary and examples (default: this "
                         "repository)")
    ap.add_argument("--jobsplit", help="jobsplit binary (default: build the crate with "
                    "`cargo build --release` and use target/release/jobsplit)")
    ap.add_argument("--no-build", action="store_true",
                    help="do not run cargo build; use the binary as it is")
    ap.add_argument("--no-install", action="store_true",
                    help="do not install missing peers (their rows say not available)")
    ap.add_argument("--baseline", metavar="PATH",
                    help="a second jobsplit binary (e.g. a build of an older commit) measured "
                         "beside the first in every section; tables get an after / before "
                         "column")
    ap.add_argument("--baseline-crate", metavar="DIR",
                    help="the crate the baseline was built from, for the map section's example "
                         "(default: the git checkout holding the baseline binary)")
    ap.add_argument("--repeats", type=int, help="timed repeats per row (default 3; quick 3)")
    ap.add_argument("--out", default=os.path.join(root, "target", "bench", "report.md"))
    a = ap.parse_args(argv)
    a.root = root
    names = []
    for name in a.only.split(","):
        name = name.strip()
        if name in ALIASES:
            names += ALIASES[name]
        elif name in SECTIONS:
            names.append(name)
        else:
            ap.error(f"unknown section {name!r}; choose from "
                     f"{', '.join([*SECTIONS, *ALIASES])}")
    a.sections = [s for s in SECTIONS if s in names]
    return a


def find_jobsplit(a):
    """(path, error or None): build the crate unless told not to, then check the binary."""
    target = os.environ.get("CARGO_TARGET_DIR") or os.path.join(a.crate, "target")
    path = os.path.abspath(a.jobsplit or os.path.join(target, "release", "jobsplit"))
    if not a.jobsplit and not a.no_build:
        log("cargo build --release --bin jobsplit...")
        r = run_once(["cargo", "build", "--release", "--bin", "jobsplit"], cwd=a.crate,
                     timeout=1800)
        if r.code != 0:
            return path, f"cargo build --release failed ({r.error()})"
    if not os.access(path, os.X_OK):
        return path, f"no jobsplit binary at {path}"
    return path, None


def find_baseline(a):
    """(path, error or None, crate or None) of --baseline's binary and its crate."""
    path = os.path.abspath(a.baseline)
    error = None if os.access(path, os.X_OK) else f"no jobsplit binary at {path}"
    crate = a.baseline_crate
    if crate is None:
        top = capture(["git", "-C", os.path.dirname(path), "rev-parse", "--show-toplevel"])
        crate = top.strip() if top else None
    return path, error, crate and os.path.abspath(crate)


def describe(ctx):
    """'jobsplit 0.1.0 (PATH; crate at abc1234 + local changes)' for one variant."""
    js = ctx.jobsplit_error or (capture([ctx.jobsplit, "--version"]) or "?").strip()
    if not ctx.crate:
        return f"{js} ({ctx.jobsplit}; crate unknown)"
    git = (capture(["git", "-C", ctx.crate, "rev-parse", "--short", "HEAD"]) or "?").strip()
    dirty = capture(["git", "-C", ctx.crate, "status", "--porcelain", "--untracked-files=no"])
    return f"{js} ({ctx.jobsplit}; crate at {git}{' + local changes' if dirty else ''})"


def header(ctx, a, started):
    lines = [
        f"- {started:%Y-%m-%d %H:%M} UTC, {'quick' if a.quick else 'full'} mode, "
        f"{ctx.repeats} timed repeats, sections: {', '.join(a.sections)}",
        f"- machine: {platform.machine()}, {os.cpu_count()} cores, "
        f"load average {os.getloadavg()[0]:.2f} at start",
        f"- jobsplit: {describe(ctx)}",
    ]
    if ctx.baseline:
        lines.append(f"- baseline (the rows marked \"(before)\"): {describe(ctx.baseline)}; "
                     "after / before = this jobsplit's figure over the baseline's, measured in "
                     "the same interleaved rounds (below 1.00x: faster now)")
    load = os.getloadavg()[0]
    if load > 0.5 * (os.cpu_count() or 1):
        lines.append(f"- **warning: the machine was busy (load average {load:.2f} on "
                     f"{os.cpu_count()} cores) when the run started; ratios are noisier than "
                     "usual. Rerun on a quiet machine before drawing conclusions.**")
    if {"dispatch", "output", "scale"} & set(a.sections):
        for name in ("parallel", "rust-parallel"):
            lines.append(f"- {name}: {ctx.tools.version(name)}")
    return lines


def main(argv=None):
    a = parse_args(argv)
    started = datetime.datetime.now(datetime.timezone.utc)
    t0 = time.perf_counter()
    work = os.path.join(a.root, "target", "bench")
    os.makedirs(work, exist_ok=True)
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    jobsplit, jobsplit_error = find_jobsplit(a)
    if jobsplit_error:
        log(f"jobsplit rows will read: {jobsplit_error}")
    ctx = Ctx(root=a.root, crate=os.path.abspath(a.crate), work=work, jobsplit=jobsplit,
              jobsplit_error=jobsplit_error, quick=a.quick, repeats=a.repeats or 3,
              tools=Tools(a.root, work, install=not a.no_install, log=log), log=log)
    if a.baseline:
        ctx = ctx.with_baseline(*find_baseline(a))
    report = Report()
    report.header = header(ctx, a, started)
    for name in a.sections:
        title, module = SECTIONS[name]
        log(f"section {name}")
        parts = report.section(title)
        load = LoadSampler()
        t1 = time.perf_counter()
        try:
            module.run(ctx, parts, report.targets)
        except Exception:  # a bug in the harness: report it, go on, fail at the end
            report.harness_errors.append(f"section {name}: {traceback.format_exc()}")
            log(f"harness error in section {name}:\n{traceback.format_exc()}")
        parts.append(f"Section took {time.perf_counter() - t1:.0f} s; {load.stop()}.")
        with open(a.out, "w") as f:  # so far: a run stopped early keeps its sections
            f.write(report.markdown())
    report.header.append(f"- took {time.perf_counter() - t0:.0f} s; load average "
                         f"{os.getloadavg()[0]:.2f} at the end")
    text = report.markdown()
    with open(a.out, "w") as f:
        f.write(text)
    print(text)
    log(f"report written to {a.out}")
    return 1 if report.harness_errors else 0


if __name__ == "__main__":
    sys.exit(main())
