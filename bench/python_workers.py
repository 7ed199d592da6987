"""Benchmark: N short Python jobs (~1 ms of work each, numpy imported if installed) on 2 slots,
as a process per job, on jobsplit's persistent workers, and with multiprocessing.Pool(2)
(and joblib if installed). Prints wall times and ratios; never fails on speed.

    python3 bench/python_workers.py --jobsplit target/release/jobsplit [--jobs 2000] [--json]

With --json it prints one JSON line instead (`make bench`'s python section reads it): the jobs,
the import, and {"figures": {name: seconds}}.
"""

import argparse
import json
import multiprocessing
import os
import subprocess
import sys
import tempfile
import time

WORK = "sum(i * i for i in range(15000))"
IMPORT = "import numpy\n" if __import__("importlib").util.find_spec("numpy") else "import json\n"


def work(x):
    return eval(WORK) + x


WORKER = IMPORT + f"""
import json, sys
print(json.dumps({{"hello": "jobsplit-worker", "version": 1}}), flush=True)
for line in sys.stdin:
    job = json.loads(line)
    v = {WORK} + job["record"]["x"]
    print(json.dumps({{"index": job["index"], "ok": True, "result": {{"v": v}}}}), flush=True)
"""


def jobsplit_run(binary, d, jobs_file, extra):
    with open(os.path.join(d, "machines.json"), "w") as f:
        f.write('{"m": [1, 2]}')
    start = time.perf_counter()
    subprocess.run([binary, "run", "--jobs", jobs_file, "--machines", os.path.join(d, "machines.json"),
                    "--machine", "m", "--yes", "--quiet", "--out", os.path.join(d, "out")] + extra,
                   check=True, cwd=d)
    return time.perf_counter() - start


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--jobsplit", required=True)
    ap.add_argument("--jobs", type=int, default=2000)
    ap.add_argument("--json", action="store_true", help="print one JSON line of the figures")
    a = ap.parse_args()
    binary, n = os.path.abspath(a.jobsplit), a.jobs
    figures = {}
    with tempfile.TemporaryDirectory() as d:
        script = os.path.join(d, "job.py")
        with open(script, "w") as f:
            f.write(IMPORT + f"import os\nv = {WORK} + int(os.environ['JOBSPLIT_JOB_INDEX'])\n")
        with open(os.path.join(d, "jobs.txt"), "w") as f:
            f.write("".join(f"{sys.executable} {script}\n" for _ in range(n)))
        figures["process per job"] = jobsplit_run(binary, d, "jobs.txt", [])
    with tempfile.TemporaryDirectory() as d:
        with open(os.path.join(d, "w.py"), "w") as f:
            f.write(WORKER)
        with open(os.path.join(d, "jobs.jsonl"), "w") as f:
            f.write("".join(json.dumps({"x": i}) + "\n" for i in range(n)))
        figures["persistent workers"] = jobsplit_run(
            binary, d, "jobs.jsonl", ["--worker", f"{sys.executable} -u w.py"])
    start = time.perf_counter()
    with multiprocessing.Pool(2) as pool:
        pool.map(work, range(n))
    figures["multiprocessing.Pool(2)"] = time.perf_counter() - start
    try:
        import joblib

        start = time.perf_counter()
        joblib.Parallel(n_jobs=2)(joblib.delayed(work)(i) for i in range(n))
        figures["joblib(2)"] = time.perf_counter() - start
    except ImportError:
        pass
    if a.json:
        print(json.dumps({"jobs": n, "import": IMPORT.strip(), "figures": figures}))
        return
    base = figures["persistent workers"]
    print(f"{n} short Python jobs ({IMPORT.strip()}, ~1 ms each), 2 slots")
    for name, t in figures.items():
        print(f"  {name:<26}{t:8.2f} s  {t / base:6.2f}x persistent workers")


if __name__ == "__main__":
    main()
