"""The worker side of the protocol (docs/workers.md, version 1) in one call."""

import json
import os
import sys
import traceback

from ._job import job
from ._json import dumps

VERSION = 1


def serve(func):
    """Answers jobs from jobsplit until it closes stdin: ``func(record)`` per job, its return
    value (a dict: result columns; ``None``: only what :func:`jobsplit.result` set; anything
    else: a ``result`` column) sent back; an exception fails the job with its message, its
    traceback on stderr (log.gz). ``print`` goes to stderr too: stdout is the protocol's."""
    protocol = os.fdopen(os.dup(1), "w", buffering=1, encoding="utf-8")
    os.dup2(2, 1)  # the job's prints, also from C code, go to the log
    sys.stdout = sys.stderr
    protocol.write(dumps({"hello": "jobsplit-worker", "version": VERSION}) + "\n")
    protocol.flush()
    stdin = sys.stdin
    while True:
        line = stdin.readline()
        if not line:
            return
        request = json.loads(line)
        job._set(request)
        try:
            value = func(request.get("record"))
            fields = dict(job._fields)
            if isinstance(value, dict):
                fields.update(value)
            elif value is not None:
                fields["result"] = value
            answer = dumps({"index": request["index"], "ok": True, "result": fields})
        except Exception as e:  # the job failed; the worker goes on
            traceback.print_exc()
            sys.stderr.flush()
            message = f"{type(e).__name__}: {e}".strip().splitlines()
            answer = dumps({"index": request["index"], "ok": False, "error": " ".join(message)})
        protocol.write(answer + "\n")
        protocol.flush()
