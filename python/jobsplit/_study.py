"""map() on one machine and Study across several: both write the items as a JSONL job list
and a config, and run the jobsplit binary with this program as its persistent worker."""

import csv
import json
import os
import shlex
import shutil
import sys
import tempfile

from . import _toml
from ._binary import binary
from ._progress import Bar, bar_class, run as _run
from ._serve import serve

csv.field_size_limit(1 << 30)

# Study's commands that drive a study over ssh from here (docs/remote.md).
REMOTE = ("launch", "watch", "collect", "stop", "clean", "on")

# The folder of ``map(..., out=DIR)``'s own files in DIR: its job list, machines file, config
# and run (``DIR/jobsplit-map/out/local/results.csv``).
MAP_DIR = "jobsplit-map"


class JobError:
    """An item whose job did not succeed: its ``index``, ``status`` and ``message``."""

    def __init__(self, index, status, message):
        self.index, self.status, self.message = index, status, message

    def __repr__(self):
        return f"JobError(index={self.index}, status={self.status!r}, message={self.message!r})"


class JobsFailed(Exception):
    """Some jobs of a :func:`map` failed: ``results`` holds every item's result, a
    :class:`JobError` in place of each failure; ``errors`` the failures."""

    def __init__(self, results):
        self.results = results
        self.errors = [r for r in results if isinstance(r, JobError)]
        first = self.errors[0]
        super().__init__(
            f"{len(self.errors)} of {len(results)} jobs failed; the first, item {first.index}: {first.message}"
        )


def _jsonl(items):
    """The job list: one item a line (jobsplit hashes each as canonical JSON)."""
    lines = []
    for i, item in enumerate(items):
        try:
            lines.append(json.dumps(item, allow_nan=False, ensure_ascii=False))
        except (TypeError, ValueError) as e:
            raise ValueError(f"item {i} cannot be a job ({e}): items must be JSON (no NaN)") from None
    return "\n".join(lines) + "\n"


def _config(seed, params, machines, worker, out, recycle=None):
    text = ""
    if seed is not None:
        text += f"seed = {_toml.value(str(seed))}\n"
    text += f"machines = {_toml.value(machines)}\n"
    if params:
        text += "[params]\n" + "".join(f"{_toml.key(k)} = {_toml.value(v)}\n" for k, v in params.items())
    text += f"[jobs]\nfile = \"items.jsonl\"\nformat = \"jsonl\"\nworker = {_toml.value(worker)}\n"
    text += f"[run]\nout = {_toml.value(out)}\n"
    if recycle:
        text += f"worker_recycle = {int(recycle)}\n"
    return text


def _write(path, text):
    """Puts ``text`` at ``path`` whole, by a rename, so that a process reading it (another
    ``python study.py plan|run`` in the same directory) sees the old file or the new one, never
    half of one; a file that already holds ``text`` is left as it is."""
    data = text.encode("utf-8")
    try:
        with open(path, "rb") as f:
            if f.read(len(data) + 1) == data:
                return
    except FileNotFoundError:
        pass
    folder = os.path.dirname(path)
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix="." + os.path.basename(path) + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def _where(func):
    module = getattr(func, "__module__", None)
    qualname = getattr(func, "__qualname__", "")
    if not module or "<" in qualname:
        raise ValueError(
            f"{func!r} cannot be found by a worker process: pass a function defined at the top "
            "level of a module or script (not a lambda or a nested function)"
        )
    if module == "__main__":
        file = getattr(sys.modules["__main__"], "__file__", None)
    else:
        file = getattr(sys.modules.get(module), "__file__", None)
    if not file:
        raise ValueError(
            f"{func.__qualname__} is defined in an interactive session: define it in a file "
            "(a script or a module) so the workers can load it"
        )
    return module, qualname, os.path.abspath(file)


def map(func, items, *, threads=None, seed=None, params=None, timeout=None, retries=0,
        recycle=None, out=None, errors="raise", python=None, quiet=False):
    """Runs ``func(item)`` over ``items`` on this machine with persistent workers and returns
    the results in item order.

    Each job sees :data:`jobsplit.job` (its index, seed, params and generator), the same as the
    jobs of a JSONL job list of the same items with the same ``seed`` and ``params``. ``out``
    keeps the run in ``out/jobsplit-map/`` (its job list and config, and results.csv and log.gz
    in ``out/jobsplit-map/out/local/``; nothing else in ``out`` is touched): a second call with
    the same ``out`` resumes. Without ``out`` the run is in a temporary directory, removed
    when map() returns. A job
    that fails raises :class:`JobsFailed` (with ``errors="return"``: a :class:`JobError` takes
    its place). ``func`` must be defined in a file, and a script's ``map()`` call sit under
    ``if __name__ == "__main__":`` (as for multiprocessing). With tqdm installed, a progress
    bar shows on a terminal and in Jupyter, unless ``quiet``.
    """
    from ._spawn import IMPORTING

    if os.environ.get(IMPORTING):
        raise RuntimeError(
            "jobsplit.map() was called while a worker loaded this script: put the call under "
            "`if __name__ == \"__main__\":`"
        )
    items = list(items)
    if not items:
        return []
    module, qualname, file = _where(func)
    threads = threads or os.cpu_count() or 1
    python = python or sys.executable
    worker = " ".join(shlex.quote(w) for w in [python, "-u", "-m", "jobsplit._spawn", module, qualname, file])
    how = dict(threads=threads, seed=seed, params=params, timeout=timeout, retries=retries,
               recycle=recycle, errors=errors, quiet=quiet)
    if out is None:
        work = tempfile.mkdtemp(prefix="jobsplit-map-")
        try:
            return _map_in(work, items, worker, **how)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    # The user's directory: map's own files go into a folder of their own, so that nothing
    # of the user's (a machines.json, a jobsplit.toml) is ever overwritten.
    return _map_in(os.path.join(os.path.abspath(out), MAP_DIR), items, worker, **how)


def _map_in(work, items, worker, *, threads, seed, params, timeout, retries, recycle, errors, quiet):
    """map() with its job list, config and run in the directory ``work``."""
    _write(os.path.join(work, "items.jsonl"), _jsonl(items))
    _write(os.path.join(work, "machines.json"), json.dumps({"local": {"weight": 1, "cores": threads}}))
    config = os.path.join(work, "jobsplit.toml")
    _write(config, _config(seed, params, "machines.json", worker, os.path.join(work, "out"), recycle))
    args = [binary(), "run", "--config", config, "--machine", "local", "--yes", "--quiet",
            "--threads", str(threads), "--retries", str(retries)]
    if timeout:
        args += ["--timeout", str(timeout)]
    cls, bar = bar_class(quiet), None
    if cls:
        args += ["--status-interval", "0.2"]
    env_path = os.pathsep.join([os.path.dirname(os.path.dirname(os.path.abspath(__file__)))]
                               + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p])
    old = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = env_path  # the workers import this very package
    try:
        if cls:
            bar = Bar(cls, os.path.join(work, "out", "local", "status.json"), len(items), "jobsplit.map")
        code = _run(args, bar)
    finally:
        if old is None:
            del os.environ["PYTHONPATH"]
        else:
            os.environ["PYTHONPATH"] = old
    if code == 130:
        raise KeyboardInterrupt
    if code not in (0, 1):
        raise RuntimeError(f"jobsplit run failed (exit code {code}); see the message above")
    last = {}
    with open(os.path.join(work, "out", "local", "results.csv"), newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            i = int(row["index"])
            if last.get(i, {}).get("status") != "ok":
                last[i] = row
    results = []
    for i in range(len(items)):
        row = last.get(i)
        if row is None:
            results.append(JobError(i, "not run", "the job did not run"))
        elif row["status"] == "ok":
            results.append(json.loads(row.get("value") or "null"))
        else:
            results.append(JobError(i, row["status"], row["error"]))
    if errors == "raise" and any(isinstance(r, JobError) for r in results):
        raise JobsFailed(results)
    return results


class Study:
    """A study: ``func`` over ``items``, split across ``machines`` (a dict as in
    machines.json, or its path). ``Study(items, func).main()`` gives the script jobsplit's
    command line: ``python study.py plan``, ``run --machine ws1``, ``status``, ``merge``.
    Every host computes the same plan: the items are a JSONL job list, so the plan digest,
    keys and seeds equal those of a JSONL job list (and the Rust ``map()``) of the same items,
    params and seed.

    The script is also its own worker: jobsplit starts it again with ``JOBSPLIT_WORKER`` set,
    and ``main()`` then serves ``func``.
    """

    def __init__(self, items, func, *, machines="machines.json", seed=None, params=None,
                 out="out", workdir=".jobsplit", recycle=None, ship=(), remote_python="python3"):
        self.items, self.func = items, func
        self.machines, self.seed, self.params = machines, seed, params or {}
        self.out, self.workdir, self.recycle = out, workdir, recycle
        self.ship, self.remote_python = list(ship), remote_python

    def write(self, script=None):
        """Writes the job list, config (and machines file) into ``workdir``; returns the config."""
        script = os.path.abspath(script or sys.argv[0])
        work = os.path.abspath(self.workdir)
        _write(os.path.join(work, "items.jsonl"), _jsonl(self.items))
        if isinstance(self.machines, dict):
            _write(os.path.join(work, "machines.json"), json.dumps(self.machines, indent=1))
            machines = "machines.json"
        else:
            machines = os.path.abspath(self.machines)
        worker = " ".join(shlex.quote(w) for w in [sys.executable, "-u", script])
        config = os.path.join(work, "jobsplit.toml")
        _write(config, _config(self.seed, self.params, machines, worker, os.path.abspath(self.out), self.recycle))
        return config

    def write_remote(self, script=None):
        """Writes the files of a study driven over ssh (``launch``, ``watch``, ``collect``...,
        docs/remote.md) and returns its config, ``workdir/remote.toml``: the same job list and
        machines (the same plan) as :meth:`write`, with every path relative, so that each host
        finds its copy. The study directory is the current one (``[ship] root``); what is
        shipped: the script itself, this package's Python files (``workdir/py/jobsplit``, which
        the script imports on a host that has no jobsplit installed) and ``ship``. The script's
        worker there is ``remote_python -u SCRIPT``, started in the host's study directory."""
        root = os.getcwd()
        script = os.path.abspath(script or sys.argv[0])
        work = os.path.abspath(self.workdir)
        for what, path in (("the script", script), ("workdir", work)):
            if os.path.relpath(path, root).split(os.sep)[0] == os.pardir:
                raise ValueError(
                    f"{what} {path} is outside the study directory {root}: run the remote commands "
                    "from the directory that holds the script (every host gets a copy of it)"
                )
        self.write(script)
        package = os.path.dirname(os.path.abspath(__file__))
        for name in sorted(os.listdir(package)):
            if name.endswith(".py"):
                with open(os.path.join(package, name), encoding="utf-8") as f:
                    _write(os.path.join(work, "py", "jobsplit", name), f.read())
        machines = "machines.json" if isinstance(self.machines, dict) else os.path.relpath(
            os.path.abspath(self.machines), work)
        rel = lambda p: os.path.relpath(p, root).replace(os.sep, "/")
        worker = "PYTHONPATH={} {} -u {}".format(
            shlex.quote(rel(os.path.join(work, "py"))), shlex.quote(self.remote_python),
            shlex.quote(rel(script)))
        out = os.path.relpath(os.path.abspath(self.out), work)
        text = _config(self.seed, self.params, machines, worker, out, self.recycle)
        files = [rel(script), rel(os.path.join(work, "py")) + "/"] + self.ship
        text += f"[ship]\nroot = {_toml.value(os.path.relpath(root, work))}\n"
        text += "files = [" + ", ".join(_toml.value(f) for f in files) + "]\n"
        config = os.path.join(work, "remote.toml")
        _write(config, text)
        return config

    def main(self, argv=None):
        """Runs jobsplit's command ``argv`` (default: the script's arguments) and exits with its
        code; in a worker, serves ``func`` instead."""
        if os.environ.get("JOBSPLIT_WORKER"):
            serve(self.func)
            sys.exit(0)
        argv = list(sys.argv[1:] if argv is None else argv)
        if not argv or argv[0] in ("-h", "--help"):
            print(f"usage: {os.path.basename(sys.argv[0])} plan | run --machine NAME | status | merge | "
                  "launch | watch | collect [--merge] | stop | clean [jobsplit options]")
            sys.exit(0 if argv else 2)
        command, rest = argv[0], argv[1:]
        bar = None
        if command == "run":
            rest, bar = self._bar(rest)
        if command in REMOTE or (command in ("status", "log", "report") and "--remote" in rest):
            args = [binary(), command, "--config", self.write_remote()] + rest
        elif command in ("plan", "run", "slurm-script"):
            args = [binary(), command, "--config", self.write()] + rest
        elif command == "merge":
            args = [binary(), "merge"] + (rest or [self.out, "--out", "merged"])
        elif command == "status":
            args = [binary(), "status"] + (rest or [self.out])
        else:
            args = [binary(), command] + rest
        sys.exit(_run(args, bar))

    def _bar(self, rest):
        """A progress bar for ``run``: in a notebook (where the binary's own bar and lines are
        not shown), with tqdm, unless ``--quiet``. Returns the arguments (made to refresh
        status.json often) and the bar, or None."""
        cls = bar_class("--quiet" in rest or "-q" in rest, terminal=False)
        if not cls:
            return rest, None
        machine, out = "*", self.out
        for i, arg in enumerate(rest):
            for flag, name in (("--machine", "machine"), ("-M", "machine"), ("--out", "out"), ("-o", "out")):
                if arg == flag and i + 1 < len(rest):
                    value = rest[i + 1]
                elif arg.startswith(flag + "="):
                    value = arg[len(flag) + 1:]
                else:
                    continue
                machine, out = (value, out) if name == "machine" else (machine, value)
        if not any(a.startswith("--status-interval") for a in rest):
            rest = rest + ["--status-interval", "0.5"]
        return rest, Bar(cls, os.path.join(os.path.abspath(out), machine, "status.json"), None, "jobsplit run")
