"""Running and timing commands for the benchmark: one process at a time, wall time from
`time.perf_counter`, peak RSS from `os.wait4` (the same rusage GNU time's %M reports), stderr
kept in a file so a failing tool can say why in its row.

A `Case` is one row of a table: a command, how to prepare before each run and how to check
after. `measure` runs all cases of a section in interleaved rounds (case 1, 2, 3, then 1, 2,
3 again...), so load that drifts during the run (a build next door, thermal throttling) hits
every tool alike and the ratios within one run stay fair.
"""

import os
import statistics
import subprocess
import signal
import tempfile
import threading
import time
from dataclasses import dataclass, field


class Unavailable(Exception):
    """A tool or input the row needs is missing; the message says why."""


@dataclass
class Run:
    seconds: float
    rss_kb: int
    code: int
    stderr: str
    cpu: float = 0.0  # user + system seconds of the process and the children it waited for

    def error(self):
        """One line saying why a failed run failed."""
        lines = [l for l in self.stderr.strip().splitlines() if l.strip()]
        tail = lines[-1].strip() if lines else "no message"
        return f"exit {self.code}: {tail[:200]}"


def run_once(argv, *, stdin=None, stdout=None, env=None, cwd=None, timeout=None):
    """Runs argv to completion. stdin/stdout are paths (None: /dev/null)."""
    with tempfile.TemporaryFile() as err, \
            open(stdin or os.devnull, "rb") as fin, \
            open(stdout or os.devnull, "wb") as fout:
        full_env = None if env is None else {**os.environ, **env}
        t0 = time.perf_counter()
        try:
            proc = subprocess.Popen(argv, stdin=fin, stdout=fout, stderr=err,
                                    env=full_env, cwd=cwd, start_new_session=True)
        except OSError as e:
            return Run(0.0, 0, 127, str(e))
        # A timer kills a hung tool; polling instead would add its interval to every time.
        # The child leads its own process group, so the whole tree goes (a pipeline, workers).
        timer = threading.Timer(timeout, _kill_group, (proc.pid,)) if timeout else None
        if timer:
            timer.start()
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - t0
        code = os.waitstatus_to_exitcode(status)
        proc.returncode = code  # reaped here; keep Popen from waiting again
        timed_out = timer is not None and not timer.is_alive() and code < 0
        if timer:
            timer.cancel()
        err.seek(0)
        text = err.read().decode(errors="replace")
        if timed_out:
            text += f"\ntimed out after {timeout:.0f} s"
        return Run(seconds, usage.ru_maxrss, code, text, usage.ru_utime + usage.ru_stime)


def capture(argv, timeout=60, cwd=None):
    """A short command's stdout, or None if it cannot run or fails."""
    try:
        r = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, cwd=cwd)
    except (OSError, subprocess.SubprocessError):
        return None
    return r.stdout if r.returncode == 0 else None


def _kill_group(pid):
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


class LoadSampler:
    """The machine's 1-minute load average, sampled every `every` seconds from start to stop
    (a section's figures are only as steady as the load they were taken under)."""

    def __init__(self, every=10.0):
        self.every = every
        self.samples = [os.getloadavg()[0]]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        while not self._stop.wait(self.every):
            self.samples.append(os.getloadavg()[0])

    def stop(self):
        """Stops sampling; returns one line: the load at start and end, min, median, max."""
        self._stop.set()
        self._thread.join()
        self.samples.append(os.getloadavg()[0])
        s = self.samples
        return (f"load average (1 min, every {self.every:.0f} s): {s[0]:.2f} at start, "
                f"{s[-1]:.2f} at the end, min {min(s):.2f}, median {statistics.median(s):.2f}, "
                f"max {max(s):.2f} ({os.cpu_count()} cores)")


def run_checked(argv, what, **kw):
    """Runs a setup step; raises Unavailable with its error if it fails."""
    r = run_once(argv, **kw)
    if r.code != 0:
        raise Unavailable(f"{what} failed ({r.error()})")
    return r


@dataclass
class Case:
    """One row: a tool on a workload."""
    tool: str
    workload: str
    argv: list = None
    jobs: int = 1
    stdin: str = None
    stdout: str = None
    env: dict = None
    cwd: str = None
    prepare: object = None   # callable before each run
    check: object = None     # callable after the last run; returns an error string or None
    note: str = ""
    ok_codes: tuple = (0,)   # exit codes that mean the run worked
    error: str = None        # set when the row cannot be measured
    before: object = None    # with --baseline: the baseline binary's row of this one
    is_baseline: bool = False  # this row measures the baseline binary
    times: list = field(default_factory=list)
    rss_kb: list = field(default_factory=list)
    cpu: list = field(default_factory=list)

    @property
    def ok(self):
        return self.error is None and bool(self.times)

    @property
    def median(self):
        return statistics.median(self.times)

    @property
    def median_cpu(self):
        return statistics.median(self.cpu)

    @property
    def peak_rss_kb(self):
        return max(self.rss_kb)

    def per_job_us(self):
        return self.median / self.jobs * 1e6


def measure(cases, repeats, warmup=0, timeout=None, log=print):
    """Times every runnable case `repeats` times after `warmup` untimed runs, interleaved."""
    for r in range(warmup + repeats):
        for c in cases:
            if c.error is not None:
                continue
            if c.prepare:
                c.prepare()
            run = run_once(c.argv, stdin=c.stdin, stdout=c.stdout, env=c.env, cwd=c.cwd,
                           timeout=timeout)
            if run.code not in c.ok_codes:
                c.error = run.error()
                log(f"  {c.tool} [{c.workload}]: {c.error}")
                continue
            if r >= warmup:
                c.times.append(run.seconds)
                c.rss_kb.append(run.rss_kb)
                c.cpu.append(run.cpu)
        log(f"  round {r + 1}/{warmup + repeats} done (load {os.getloadavg()[0]:.2f})")
    for c in cases:
        if c.ok and c.check:
            problem = c.check()
            if problem:
                c.error = f"ran, but {problem}"
    return cases
