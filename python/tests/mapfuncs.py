"""Functions the map() tests run in workers (a module, so the workers can import them)."""

import os

import jobsplit


def square(x):
    return {"x": x, "sq": x * x, "index": jobsplit.job.index, "seed": jobsplit.job.seed,
            "pid": os.getpid(), "p": jobsplit.job.params.get("p"), "nan": float("nan")}


def picky(x):
    print("printing is fine: it goes to the log")
    if x == 3:
        raise ValueError("three is not allowed")
    return x + 0.5


def identity(item):
    """The job's index, key and seed (as text: a seed above 2**53 does not survive a double)."""
    return {"index": jobsplit.job.index, "key": jobsplit.job.key, "seed": str(jobsplit.job.seed)}
