"""Where a makespan goes beyond the ideal, for the benchmarks of uneven machines (the bench's
uneven section, sec_uneven.py, and bench/steal_remote.py).

Machine m of speed s_m lends s_m units of work per second for the whole makespan T; the ideal
is the study's work (each job's base duration, its sleep at speed 1) over the total speed, so

    T / ideal - 1 = (sum over m of s_m * T  -  work) / work

and every second a machine did not spend on its jobs' work is one of these parts (each
weighted by the machine's speed, as parts of the ideal; they add up exactly):

- job start cost: a job's time beyond its work (its process start and exit: no speed divides
  it, so it grows with the machine's load);
- host start: from the makespan's start to the machine's first job (the run's own start);
- between jobs: the gaps between a machine's jobs (claims, results rows, a thief's waits);
- last block: from the machine's last job's end to the last job's end of the study (idle
  while another machine runs the study's last block); a machine that ran no job is idle here
  for the whole makespan;
- exit: from the last job's end of the study to T (the last run's exit), when T is measured
  to the runs' exit.
"""

PARTS = ("job start cost", "host start", "between jobs", "last block", "exit")


def breakdown(speeds, spans, work, makespan=None):
    """The parts of the ideal by which a makespan exceeds it.

    speeds: {machine: speed}; spans: {machine: [(start, end, job work)]}, times in seconds from
    the makespan's start, job work in seconds at speed 1; work: the study's total work;
    makespan: T, or None when it ends at the last job's end (no exit part).
    Returns {part: share of the ideal} in the order of PARTS; the parts sum to T / ideal - 1.
    """
    ends = [v[-1][1] for v in (sorted(x) for x in spans.values() if x)]
    last = max(ends, default=0.0)
    end = last if makespan is None else makespan
    parts = dict.fromkeys(PARTS, 0.0)
    for m, s in speeds.items():
        v = sorted(spans.get(m) or [])
        if not v:
            parts["last block"] += s * last
            parts["exit"] += s * (end - last)
            continue
        parts["job start cost"] += sum(s * (e - b) - w for b, e, w in v)
        parts["host start"] += s * v[0][0]
        parts["between jobs"] += s * sum(v[k + 1][0] - v[k][1] for k in range(len(v) - 1))
        parts["last block"] += s * (last - v[-1][1])
        parts["exit"] += s * (end - last)
    if makespan is None:
        del parts["exit"]
    return {k: x / work for k, x in parts.items()}


def text(parts):
    """'1 + 0.051 job start cost + 0.004 host start + ...'."""
    return "1 + " + " + ".join(f"{x:.3f} {k}" for k, x in parts.items())


def beyond_start_cost(parts):
    """1 + every part but the job start cost: the ratio to the ideal had starting a job cost
    nothing (what balancing and the runs themselves add)."""
    return 1 + sum(x for k, x in parts.items() if k != "job start cost")
