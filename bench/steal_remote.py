"""Balance with no shared disk (`run --steal-remote`, issue 21), on 3 separate ssh hosts.

    python3 bench/steal_remote.py [JOBSPLIT]    (make bench-steal-remote; root: sshd, namespaces)

Three hosts (tests/remote/sshhosts, each its own disk) of simulated speeds 1, 2 and 4, one core
each: job i sleeps base_i / the factor in its host's own ~/speed, base_i drawn from a seeded RNG
in BASE_MS (default 100-500 ms; in the job line as microseconds), JOBS jobs (default 300);
MODES (static,remote,shared), WEIGHTS (true,equal) and WATCH (watch's --interval, default 2s)
choose what runs. Each mode runs with the true weights
(1, 2, 4) and with equal ones:

- static split: `launch`, `watch`, `collect --merge`;
- --steal-remote: `launch -- --steal-remote`, `watch --interval WATCH` (it arranges the steals),
  `collect --merge`;
- --steal on a shared OUT: three `run --steal` on this machine writing one OUT (as the bench's
  uneven section; the speed comes from $JOBSPLIT_SPEED there).

The makespan is from the first job's start to the last job's end over the merged rows (the
runs' start stagger counts; shipping before the runs does not), beside the ideal (total work /
total speed), and where it goes beyond the ideal (bench/breakdown.py): each job's time beyond
its sleep (its process start, which no speed divides), each host's start after the first job,
the gaps between its jobs, and its last block (idle after its last job while another runs the
study's last jobs), each weighted by the host's speed. The claim cost is watch's own measure of its claim calls (`arranged steals:`).
A benchmark, not a test: it prints figures.
"""

import csv
import datetime
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time

import breakdown

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SH = os.path.join(REPO, "tests", "remote", "sshhosts")
SPEEDS = {"slow": 1, "mid": 2, "fast": 4}
HOSTS = {"slow": "host1", "mid": "host2", "fast": "host3"}
# base_us / speed with the shell's own arithmetic (no awk, no cat): a job costs one sh and
# one sleep process besides its sleep.
JOB = ('s=${JOBSPLIT_SPEED:-}; [ -n "$s" ] || read -r s < ~/speed\n'
       'us=$(($1 / s))\n'
       'exec sleep "$((us / 1000000)).$(printf %06d $((us % 1000000)))"\n')


def env_int(name, default):
    return int(os.environ.get(name, default))


def bases(n, lo, hi, seed=7):
    rng = random.Random(seed)
    return [rng.uniform(lo, hi) / 1000 for _ in range(n)]


def study(root, name, jobs, weights):
    d = os.path.join(root, name)
    os.makedirs(os.path.join(d, "lib"))
    with open(os.path.join(d, "jobs.txt"), "w") as f:
        f.writelines(f"{round(b * 1e6)}\n" for b in jobs)
    with open(os.path.join(d, "lib", "job.sh"), "w") as f:
        f.write(JOB)
    machines = {m: {"weight": w, "cores": 1, "ssh": HOSTS[m]} for m, w in weights.items()}
    with open(os.path.join(d, "machines.json"), "w") as f:
        json.dump(machines, f)
    with open(os.path.join(d, "jobsplit.toml"), "w") as f:
        f.write('seed = "bench"\n[jobs]\nfile = "jobs.txt"\ncommand = "sh lib/job.sh {}"\n'
                '[run]\nout = "out"\n[ship]\nfiles = ["lib/"]\n')
    return d


def sh(cmd, cwd=None, env=None, check=True, tries=1):
    for _ in range(tries):
        r = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
        if r.returncode == 0:
            break
        time.sleep(2)
    if check and r.returncode != 0:
        sys.exit(f"{' '.join(cmd)}: exit {r.returncode}\n{r.stdout}{r.stderr}")
    return r


def stamp(text):
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def makespan(results, jobs):
    """(first start to last end over a merged results.csv, where it goes beyond the ideal:
    bench/breakdown.py, as the bench's uneven section)."""
    with open(results, newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["status"] == "ok"]
    if sorted(int(r["index"]) for r in rows) != list(range(len(jobs))):
        sys.exit(f"{results}: not every job ok exactly once ({len(rows)} ok rows)")
    start = min(stamp(r["started_at"]) for r in rows)
    end = max(stamp(r["started_at"]) + float(r["duration_s"]) for r in rows)
    spans = {m: [(stamp(r["started_at"]) - start,
                  stamp(r["started_at"]) - start + float(r["duration_s"]), jobs[int(r["index"])])
                 for r in rows if r["machine"] == m] for m in SPEEDS}
    return end - start, breakdown.text(breakdown.breakdown(SPEEDS, spans, sum(jobs)))


def remote(jsb, d, jobs, steal, interval):
    """Launch, watch, collect --merge: (makespan, watch's claim line or None)."""
    extra = ["--", "--steal-remote"] if steal else []
    # (an overloaded machine's sshd now and then resets a connection: launch and collect are
    # idempotent, so they are tried again)
    sh([jsb, "launch", *extra], cwd=d, tries=3)
    w = sh([jsb, "watch", "--interval", interval], cwd=d)
    sh([jsb, "collect", "--merge", "--out", "merged"], cwd=d, tries=3)
    claims = [line for line in w.stdout.splitlines() if line.startswith("arranged steals")]
    return makespan(os.path.join(d, "merged", "results.csv"), jobs), (claims or [None])[0]


def shared(jsb, d, jobs):
    """Three `run --steal` here on one OUT: the makespan."""
    out = os.path.join(d, "shared-out")
    procs = []
    for m, s in SPEEDS.items():
        env = dict(os.environ, JOBSPLIT_SPEED=str(s))
        procs.append(subprocess.Popen(
            [jsb, "run", "--machine", m, "--out", out, "--yes", "--quiet", "--steal"],
            cwd=d, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True))
    for p in procs:
        if p.wait() != 0:
            sys.exit(f"run --steal: exit {p.returncode}: {p.stderr.read()}")
    merged = os.path.join(d, "shared-merged")
    sh([jsb, "merge", out, "--out", merged], cwd=d)
    return makespan(os.path.join(merged, "results.csv"), jobs)


def main():
    jsb = os.path.abspath(sys.argv[1] if len(sys.argv) > 1
                          else os.path.join(REPO, "target", "release", "jobsplit"))
    if os.geteuid() != 0:
        sys.exit("bench/steal_remote.py needs root (sshd, namespaces)")
    n = env_int("JOBS", 300)
    lo, hi = (int(x) for x in os.environ.get("BASE_MS", "100 500").split())
    interval = os.environ.get("WATCH", "2s")
    modes = os.environ.get("MODES", "static,remote,shared").split(",")
    base = os.environ.get("SSHHOSTS_BASE", "/tmp/sshhosts-steal-bench")
    env = dict(os.environ, SSHHOSTS_BASE=base)
    subprocess.run(["bash", os.path.join(SH, "stop.sh"), base], capture_output=True)
    sh(["bash", os.path.join(SH, "start.sh"), "3", base], env=env)
    tmp = tempfile.mkdtemp(prefix="jobsplit-bench-steal.")
    try:
        ssh = f"ssh -F {base}/client/ssh_config"
        os.environ["JOBSPLIT_SSH"] = ssh
        for m, host in HOSTS.items():
            sh([*ssh.split(), host, f"echo {SPEEDS[m]} > ~/speed"])
        jobs = bases(n, lo, hi)
        ideal = sum(jobs) / sum(SPEEDS.values())
        print(f"{n} jobs of {lo}-{hi} ms / speed on 3 hosts of speeds 1, 2, 4 (one core each), "
              f"ideal {ideal:.2f} s; watch --interval {interval}")
        print(f"{'mode':<28} {'weights':<8} {'makespan':>9} {'/ ideal':>8}  claims")
        chosen = os.environ.get("WEIGHTS", "true,equal").split(",")
        for weights_name, weights in (("true", SPEEDS), ("equal", {m: 1 for m in SPEEDS})):
            if weights_name not in chosen:
                continue
            for mode in modes:
                d = study(tmp, f"{mode}-{weights_name}", jobs, weights)
                t0 = time.perf_counter()
                if mode == "shared":
                    (span, parts), claims = shared(jsb, d, jobs), None
                    label = "--steal, shared OUT (here)"
                else:
                    (span, parts), claims = remote(jsb, d, jobs, mode == "remote", interval)
                    label = "--steal-remote" if mode == "remote" else "static split"
                wall = time.perf_counter() - t0
                print(f"{label:<28} {weights_name:<8} {span:>8.2f}s {span / ideal:>7.2f}x  "
                      f"{claims or '-'} (whole command {wall:.1f} s)", flush=True)
                print(f"{'':<38} = 1 + {parts}", flush=True)
    finally:
        subprocess.run(["bash", os.path.join(SH, "stop.sh"), base], capture_output=True)
        if os.environ.get("KEEP"):
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
