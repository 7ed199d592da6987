"""What every benchmark section needs: paths, mode, the tools, and the jobsplit binary.

With `--baseline PATH` a section measures two jobsplit binaries: this Ctx's and a second Ctx's
(`Ctx.baseline`, labelled "before"), which differs only in its binary, its crate and the
directory its runs write under. A section makes each jobsplit row once per binary
(`variants`, `each_binary`), so the baseline's rows sit beside the current ones in the same
interleaved rounds.
"""

import csv
import dataclasses
import glob
import hashlib
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass

from harness import Case, Unavailable, capture

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))


@dataclass
class Ctx:
    root: str          # the repository (bench/ and benches/ live here)
    crate: str         # the crate whose jobsplit and examples are measured
    work: str          # target/bench: scratch, cached data, installed tools, the report
    jobsplit: str      # path of the binary
    jobsplit_error: str  # why it cannot be used, or None
    quick: bool
    repeats: int
    tools: object
    log: object
    label: str = ""          # "" for the binary measured; "before" for the --baseline binary
    run_dir: str = "run"     # where its runs write, under `work`
    baseline: object = None  # with --baseline: the Ctx of the baseline binary

    def with_baseline(self, binary, error, crate):
        """This Ctx with a baseline binary (and the crate it was built from, or None) to
        measure beside its own."""
        before = dataclasses.replace(self, jobsplit=binary, jobsplit_error=error, crate=crate,
                                     label="before", run_dir="run-before")
        return dataclasses.replace(self, baseline=before)

    def variants(self):
        """This Ctx, then the baseline's if there is one: each jobsplit row is made once per
        variant."""
        return [self, self.baseline] if self.baseline else [self]

    def tool(self, name):
        """A row's tool name in this variant: "jobsplit" or "jobsplit (before)"."""
        return f"{name} ({self.label})" if self.label else name

    def each_binary(self, make):
        """The rows make(variant) returns for each variant; the first, measured with this
        binary, gets the baseline's row as its `before` (the after / before column)."""
        rows = [make(v) for v in self.variants()]
        if len(rows) == 2:
            rows[0].before = rows[1]
            rows[1].is_baseline = True
        return rows

    def data_path(self, name):
        """A path under target/bench/data for cached generated inputs."""
        d = os.path.join(self.work, "data")
        os.makedirs(d, exist_ok=True)
        return os.path.join(d, name)

    def in_turn(self, run_one):
        """For a section timed by a program of its own: run_one(variant) once, or with a
        baseline `repeats` rounds of each variant in turn (so load hits both alike).
        run_one returns its figures or a string saying why there are none. Returns
        {label: [figures of each round]}, or {label: why} for a variant whose run failed."""
        got = {v.label: [] for v in self.variants()}
        for _ in range(self.repeats if self.baseline else 1):
            for v in self.variants():
                if isinstance(got[v.label], list):
                    figures = run_one(v)
                    if isinstance(figures, str):
                        got[v.label] = figures
                    else:
                        got[v.label].append(figures)
        return got

    def run_path(self, name):
        """A path under target/bench/run (target/bench/run-before for the baseline)."""
        return os.path.join(self.work, self.run_dir, name)

    def scratch(self, name):
        """A fresh empty directory at run_path(name)."""
        d = self.run_path(name)
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
        return d

    def write_json(self, name, value):
        path = self.data_path(name)
        with open(path, "w") as f:
            json.dump(value, f)
        return path

    def jobsplit_cmd(self, sub, *args):
        """argv for `jobsplit SUB ARGS`, or raises Unavailable if the binary or the
        subcommand is missing."""
        if self.jobsplit_error:
            raise Unavailable(self.jobsplit_error)
        if capture([self.jobsplit, sub, "--help"]) is None:
            raise Unavailable(f"this jobsplit has no `{sub}` subcommand yet")
        return [self.jobsplit, sub, *args]

    def unavailable_case(self, tool, workload, jobs, reason):
        return Case(tool, workload, jobs=jobs, error=f"not available: {reason}")

    def python(self, script):
        """argv prefix for one of the bench/ Python scripts."""
        return [sys.executable, os.path.join(BENCH_DIR, script)]

    def generated(self, script, args, suffix=""):
        """Output of bench/SCRIPT ARGS, cached under target/bench/data keyed by the
        script's content, so editing a generator regenerates its data."""
        src = os.path.join(BENCH_DIR, script)
        with open(src, "rb") as f:
            tag = hashlib.sha256(f.read()).hexdigest()[:8]
        name = f"{os.path.splitext(script)[0]}-{'-'.join(map(str, args))}-{tag}{suffix}"
        path = self.data_path(name)
        if not os.path.exists(path):
            stem = path[:-len(tag + suffix)]
            for old in glob.glob(glob.escape(stem) + "*"):  # made by an older generator
                shutil.rmtree(old) if os.path.isdir(old) else os.remove(old)
            self.log(f"generating {name}...")
            tmp = path + ".tmp"
            shutil.rmtree(tmp, ignore_errors=True)
            if suffix:  # a file: the script writes stdout
                with open(tmp, "wb") as out:
                    subprocess.run([sys.executable, src, *map(str, args)], stdout=out,
                                   check=True)
            else:       # a directory: the script takes it as its first argument
                subprocess.run([sys.executable, src, tmp, *map(str, args)], check=True)
            os.replace(tmp, path)
        return path


def read_through(path):
    """Reads a file once so that timed runs find it in the page cache."""
    with open(path, "rb") as f:
        while f.read(1 << 22):
            pass


def count_rows(csv_path):
    """Data rows in a CSV with a header line (0 if missing); quoted newlines are handled."""
    try:
        with open(csv_path, newline="") as f:
            return max(0, sum(1 for _ in csv.reader(f)) - 1)
    except FileNotFoundError:
        return 0
