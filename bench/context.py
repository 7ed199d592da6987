"""What every benchmark section needs: paths, mode, the tools, and the jobsplit binary."""

import csv
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

    def data_path(self, name):
        """A path under target/bench/data for cached generated inputs."""
        d = os.path.join(self.work, "data")
        os.makedirs(d, exist_ok=True)
        return os.path.join(d, name)

    def scratch(self, name):
        """A fresh empty directory under target/bench/run."""
        d = os.path.join(self.work, "run", name)
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
