"""jobsplit for Python: run a function over items with persistent workers, on one machine
(:func:`map`) or split across several (:class:`Study`), and load the merged results
(:func:`load`). numpy and pandas are used when installed, tqdm for a progress bar.

The ``jobsplit`` binary does the planning, running, resuming and merging; the wheel installs it
beside this package, which finds it there first, then through ``JOBSPLIT_BIN``, then on
``PATH`` (:func:`binary`), and speaks its worker protocol (docs/workers.md).
"""

from ._job import job, result, rng
from ._serve import serve
from ._study import JobError, JobsFailed, Study, map
from ._load import load
from ._binary import binary

__all__ = ["job", "result", "rng", "serve", "map", "Study", "load", "binary", "JobError", "JobsFailed"]
__version__ = "0.1.0"
