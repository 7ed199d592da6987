"""The current job: in a persistent worker, the job being served; in a command job, the one
the ``JOBSPLIT_*`` environment describes."""

import json
import os
import random

from ._json import dumps


class _Job:
    """The job running now: ``index``, ``key``, ``seed``, ``attempt``, ``params``, ``record``,
    ``machine``, ``out``; :meth:`rng` and :meth:`result`."""

    def __init__(self):
        self._request = None
        self._fields = {}
        self._rng = None

    def _set(self, request):
        self._request = request
        self._fields = {}
        self._rng = None

    def _get(self, name, env, convert=str):
        if self._request is not None:
            return self._request.get(name)
        value = os.environ.get(env)
        if value is None:
            raise RuntimeError(
                f"jobsplit.job.{name}: no job is running (not inside jobsplit.serve() and "
                f"{env} is not set)"
            )
        return convert(value)

    @property
    def index(self):
        """The job's 0-based index in the job list."""
        return self._get("index", "JOBSPLIT_JOB_INDEX", int)

    @property
    def key(self):
        """The job's key (16 hex digits, the ``key`` column)."""
        return self._get("key", "JOBSPLIT_JOB_KEY")

    @property
    def seed(self):
        """The job's seed, an integer from 0 to 2**64-1: the same on every host and run."""
        return self._get("seed", "JOBSPLIT_SEED", int)

    @property
    def attempt(self):
        """1 for the first attempt, 2 for the first retry..."""
        return self._get("attempt", "JOBSPLIT_ATTEMPT", int)

    @property
    def machine(self):
        """This machine's name."""
        return self._get("machine", "JOBSPLIT_MACHINE")

    @property
    def out(self):
        """The job's scratch directory (not created: ``os.makedirs(job.out, exist_ok=True)``)."""
        return self._get("out", "JOBSPLIT_OUT")

    @property
    def params(self):
        """The config's ``[params]`` table, a dict."""
        if self._request is not None:
            return self._request.get("params") or {}
        return json.loads(os.environ.get("JOBSPLIT_PARAMS", "{}"))

    @property
    def record(self):
        """The job's record (a worker's job; ``None`` for a command job, which gets it in its
        command line)."""
        return self._request.get("record") if self._request is not None else None

    def rng(self):
        """The job's random generator, seeded from its seed: a ``numpy.random.Generator`` when
        numpy is installed, else a ``random.Random``. The same object for the whole job, so
        calling it twice continues one stream."""
        if self._rng is None:
            try:
                import numpy

                self._rng = numpy.random.default_rng(self.seed)
            except ImportError:
                self._rng = random.Random(self.seed)
        return self._rng

    def result(self, **fields):
        """Adds result columns. NaN and infinities are written so jobsplit reads them (cells
        ``NaN``, ``Inf``, ``-Inf``); numpy values become plain numbers. In a command job the
        fields go to ``$JOBSPLIT_RESULT``."""
        self._fields.update(fields)
        if self._request is None:
            path = os.environ.get("JOBSPLIT_RESULT")
            if not path:
                raise RuntimeError("jobsplit.result(): no job is running ($JOBSPLIT_RESULT is not set)")
            text = dumps(self._fields)
            tmp = path + ".part"
            with open(tmp, "w", encoding="utf-8") as f:
                f.write(text)
            os.replace(tmp, path)


job = _Job()


def rng():
    """``jobsplit.job.rng()``."""
    return job.rng()


def result(**fields):
    """``jobsplit.job.result(**fields)``."""
    job.result(**fields)
