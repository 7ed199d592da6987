"""The aarch64 build computes what the x86_64 build computes, byte for byte.

    python3 tests/aarch64/compare.py X86_64_JOBSPLIT AARCH64_JOBSPLIT

The aarch64 binary runs under qemu-aarch64-static (Debian's qemu-user-static) unless this
machine is aarch64. `make test-aarch64` builds both (make dist) and runs this. Checked, each
on both builds:

- golden: every split-v1 case of tests/golden/cases.json that the CLI can plan (`plan --json`
  equals expected/NAME.plan.json), and every job's key and seed (expected/NAME.keys.json),
  read from results.csv of a real run (a command job's $JOBSPLIT_SEED, a worker's `seed`);
- the plan of the bundled examples the binary plans: examples/sweep, examples/slurm (4
  shards), the Python Study examples/python/monte_carlo.py (JOBSPLIT_BIN set to the build).
  Not the Rust programs (examples/pi.toml, examples/deadline.toml): building examples for
  aarch64 builds every dev-dependency too (4.5 CPU-minutes); their plans and seeds come from
  the library code the binary runs;
- a small study run and merged: examples/sweep on its three machines, and the Python Study on
  its two; the merged results.csv equal, but for the columns of time (`started_at`,
  `duration_s`); and examples/python/sweep.py (`jobsplit.map()`) prints the same lines.

Prints one line per check; exits 1 at the first difference, showing it.
"""

import csv
import difflib
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
GOLDEN = os.path.join(REPO, "tests", "golden")
TIME_COLUMNS = ("started_at", "duration_s")


class Build:
    """One architecture's binaries, and how to start them."""

    def __init__(self, name, binary, work):
        self.name, self.exe = name, os.path.abspath(binary)
        self.prefix = []
        with open(self.exe, "rb") as f:
            elf_machine = int.from_bytes(f.read(20)[18:20], "little")
        if elf_machine == 183 and platform.machine() != "aarch64":  # EM_AARCH64
            self.prefix = [shutil.which("qemu-aarch64-static") or sys.exit(
                "qemu-aarch64-static is missing: apt-get install qemu-user-static")]
        # JOBSPLIT_BIN for the Python package: a script starting this build's jobsplit.
        self.bin = os.path.join(work, name, "jobsplit")
        os.makedirs(os.path.dirname(self.bin))
        with open(self.bin, "w") as f:
            f.write("#!/bin/sh\nexec %s \"$@\"\n" % " ".join(self.prefix + [self.exe]))
        os.chmod(self.bin, 0o755)

    def run(self, args, cwd=REPO, env=None, stdin=None):
        """jobsplit's stdout; a failure stops the check, showing its stderr."""
        cmd = self.prefix + [self.exe] + args
        full_env = {k: v for k, v in os.environ.items() if not k.startswith("JOBSPLIT_")}
        full_env.update(env or {})
        p = subprocess.run(cmd, cwd=cwd, env=full_env, input=stdin, capture_output=True)
        if p.returncode != 0:
            sys.exit(f"{self.name}: {' '.join(cmd)} (in {cwd}) exited {p.returncode}:\n"
                     + p.stderr.decode(errors="replace"))
        return p.stdout

    def python(self, script, args, cwd):
        env = {"JOBSPLIT_BIN": self.bin,
               "PYTHONPATH": os.pathsep.join([os.path.join(REPO, "python"), os.environ.get("PYTHONPATH", "")])}
        cmd = [sys.executable, os.path.join(REPO, script)] + args
        p = subprocess.run(cmd, cwd=cwd, env={**os.environ, **env}, capture_output=True)
        if p.returncode != 0:
            sys.exit(f"{self.name}: {' '.join(cmd)} exited {p.returncode}:\n" + p.stderr.decode(errors="replace"))
        return p.stdout


def same(what, texts, expected=None):
    """texts: {build name: bytes}; all equal (and equal to `expected` when given)."""
    if expected is not None:
        texts = {"expected": expected, **texts}
    names = list(texts)
    first = texts[names[0]]
    for name in names[1:]:
        if texts[name] != first:
            a = first.decode(errors="replace").splitlines()
            b = texts[name].decode(errors="replace").splitlines()
            diff = "\n".join(list(difflib.unified_diff(a, b, names[0], name, lineterm=""))[:40])
            sys.exit(f"DIFFERENT: {what}\n{diff}")
    print(f"same: {what} ({len(first)} bytes)")


def rows(path, drop=TIME_COLUMNS):
    """results.csv without the columns of time, as CSV bytes."""
    with open(path, newline="", encoding="utf-8") as f:
        table = list(csv.reader(f))
    keep = [i for i, name in enumerate(table[0]) if name not in drop]
    return "".join(",".join(row[i] for i in keep) + "\n" for row in table).encode()


def golden(builds, work):
    cases = json.load(open(os.path.join(GOLDEN, "cases.json"), encoding="utf-8"))
    for case in cases:
        if case.get("exclude"):
            continue  # excluded jobs are planned by the library only (a rescue in the CLI)
        name, args = case["name"], case["args"]
        expected = open(os.path.join(GOLDEN, "expected", f"{name}.plan.json"), "rb").read()
        same(f"golden {name}: plan --json",
             {b.name: b.run(["plan", "--json"] + args, cwd=GOLDEN) for b in builds}, expected)
        if case["keys"]:
            keys = json.load(open(os.path.join(GOLDEN, "expected", f"{name}.keys.json"), encoding="utf-8"))
            want = "".join(f"{j['index']},{j['key'][:16]},{j['seed']}\n" for j in keys["jobs"]).encode()
            same(f"golden {name}: every job's key and seed from a run",
                 {b.name: run_keys(b, case, os.path.join(work, b.name, name)) for b in builds}, want)


def run_keys(build, case, out):
    """index,key,seed of every job of a golden case, from results.csv of a real run as one
    shard (a job's key and seed do not depend on the machines). A case with a command template
    runs it, with `sim` and `run` on PATH printing $JOBSPLIT_SEED; one without runs on a worker
    answering each job's seed."""
    args, skip = [], False
    for a in case["args"]:
        if skip:
            skip = False
        elif a in ("--machines", "--shard-count"):
            skip = True
        else:
            args.append(a)
    shims = os.path.join(os.path.dirname(out), "shims")
    os.makedirs(shims, exist_ok=True)
    for tool in ("sim", "run"):
        with open(os.path.join(shims, tool), "w") as f:
            f.write('#!/bin/sh\necho "$JOBSPLIT_SEED"\n')
        os.chmod(os.path.join(shims, tool), 0o755)
    config = args[args.index("--config") + 1] if "--config" in args else None
    templated = "--cmd" in args or (
        config is not None and "\ncommand =" in open(os.path.join(GOLDEN, config), encoding="utf-8").read())
    extra = ["--capture", "last-line"] if templated else [
        "--worker", f"{sys.executable} -u {os.path.join(REPO, 'tests', 'aarch64', 'seed_worker.py')}"]
    build.run(["run"] + args + ["--shard", "0/1", "--out", out, "--yes", "--quiet", "--threads", "2"] + extra,
              cwd=GOLDEN, env={"PATH": shims + os.pathsep + os.environ["PATH"]})
    with open(os.path.join(out, "shard-0", "results.csv"), newline="", encoding="utf-8") as f:
        table = sorted(csv.DictReader(f), key=lambda r: int(r["index"]))
    return "".join(f"{r['index']},{r['key']},{r['result'] if templated else r['seed']}\n" for r in table).encode()


def examples(builds, work):
    for what, args in [
        ("examples/sweep", ["--config", "examples/sweep/jobsplit.toml"]),
        ("examples/slurm (4 shards)", ["--jobs", "examples/slurm/jobs.txt", "--shard-count", "4"]),
    ]:
        same(f"plan of {what}", {b.name: b.run(["plan", "--json"] + args) for b in builds})
    texts = {}
    for b in builds:
        cwd = os.path.join(work, b.name, "python-plan")
        os.makedirs(cwd)
        texts[b.name] = b.python("examples/python/monte_carlo.py", ["plan", "--json"], cwd)
    same("plan of examples/python/monte_carlo.py (a Study)", texts)


def studies(builds, work):
    sweep, study, mapped = {}, {}, {}
    for b in builds:
        out, merged = os.path.join(work, b.name, "sweep-out"), os.path.join(work, b.name, "sweep-merged")
        for m in ("ws1", "ws2", "server"):
            b.run(["run", "--config", "examples/sweep/jobsplit.toml", "--machine", m,
                               "--yes", "--quiet", "--out", out])
        b.run(["merge", out, "--out", merged])
        sweep[b.name] = rows(os.path.join(merged, "results.csv"))
        cwd = os.path.join(work, b.name, "python-study")
        os.makedirs(cwd)
        for m in ("ws1", "ws2"):
            b.python("examples/python/monte_carlo.py", ["run", "--machine", m, "--yes", "--quiet"], cwd)
        b.python("examples/python/monte_carlo.py", ["merge"], cwd)
        study[b.name] = rows(os.path.join(cwd, "merged", "results.csv"))
        mapped[b.name] = b.python("examples/python/sweep.py", [], os.path.join(work, b.name))
    same("examples/sweep run on 3 machines and merged: results.csv but its times", sweep)
    same("examples/python/monte_carlo.py run on 2 machines and merged: results.csv but its times", study)
    same("examples/python/sweep.py (jobsplit.map()): its output", mapped)


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    work = tempfile.mkdtemp(prefix="jobsplit-aarch64-")
    try:
        builds = [Build("x86_64", sys.argv[1], work), Build("aarch64", sys.argv[2], work)]
        for b in builds:
            print(f"{b.name}: {b.run(['--version']).decode().strip()} "
                  f"({' '.join(b.prefix + [b.exe])})")
        golden(builds, work)
        examples(builds, work)
        studies(builds, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print("aarch64: every check equal to x86_64")


if __name__ == "__main__":
    main()
