"""Running the binary, with a progress bar for :func:`jobsplit.map` and :class:`jobsplit.Study`
runs: tqdm's, fed from the run's status.json, when tqdm is installed and someone watches (a
terminal, or a Jupyter notebook, where the binary's own output is not shown); nothing when
told to be quiet, without tqdm, or with nobody watching (a batch job, a pipe)."""

import glob
import json
import os
import signal
import subprocess
import sys
import time

#: How often the bar and the run's status.json are refreshed, in seconds.
INTERVAL = 0.2


def in_notebook():
    """Whether this Python is a Jupyter kernel (its output goes to a notebook cell)."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython and hasattr(ipython, "get_ipython") else None
    return type(shell).__name__ == "ZMQInteractiveShell"


def on_terminal():
    return sys.stderr is not None and hasattr(sys.stderr, "isatty") and sys.stderr.isatty()


def bar_class(quiet, terminal=True):
    """tqdm's bar class to show, or None: in a notebook (tqdm.auto: a widget, text without
    ipywidgets), or on a terminal when ``terminal``; never when ``quiet`` or without tqdm."""
    if quiet:
        return None
    try:
        if in_notebook():
            from tqdm.auto import tqdm
        elif terminal and on_terminal():
            from tqdm import tqdm
        else:
            return None
    except ImportError:
        return None
    return tqdm


class Bar:
    """A tqdm bar following the status.json files that ``pattern`` (a glob) names: the jobs
    ended of the share, and the failed ones."""

    def __init__(self, cls, pattern, total, desc):
        self.pattern, self.since = pattern, time.time()
        self.bar = cls(total=total, desc=desc, unit="job", dynamic_ncols=True)

    def update(self):
        for path in glob.glob(self.pattern):
            try:
                if os.path.getmtime(path) < self.since - 1:
                    continue  # an earlier run's
                with open(path, encoding="utf-8") as f:
                    status = json.load(f)
            except (OSError, ValueError):
                continue  # not written yet, or being replaced
            if status.get("share") is not None and status["share"] != self.bar.total:
                self.bar.total = status["share"]
            self.bar.n = status.get("done", 0)
            if status.get("failed"):
                self.bar.set_postfix(failed=status["failed"], refresh=False)
            self.bar.refresh()
            return

    def close(self):
        self.update()
        self.bar.close()


def run(args, bar=None):
    """Runs the binary's ``args`` with ``bar`` (a :class:`Bar`, or None) refreshed until it
    ends, passing Ctrl-C to the binary alone (it stops its workers and exits 130); returns its
    exit code."""
    old = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        process = subprocess.Popen(args, stdin=subprocess.DEVNULL)
        try:
            while True:
                try:
                    return process.wait(INTERVAL if bar else None)
                except subprocess.TimeoutExpired:
                    bar.update()
        finally:
            if bar:
                bar.close()
    finally:
        signal.signal(signal.SIGINT, old)
