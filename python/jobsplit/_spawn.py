"""``python -m jobsplit._spawn MODULE QUALNAME FILE``: a worker for :func:`jobsplit.map` that
finds the function where the calling program defined it and serves it."""

import importlib
import os
import runpy
import sys

from ._json import dumps
from ._serve import serve

#: Set while a worker imports the calling program, so a ``map()`` outside
#: ``if __name__ == "__main__":`` is refused instead of starting workers of workers.
IMPORTING = "JOBSPLIT_SPAWN_IMPORTING"


def find(module, qualname, file):
    if module == "__main__":
        os.environ[IMPORTING] = "1"
        try:
            namespace = runpy.run_path(file, run_name="__mp_main__")
        finally:
            del os.environ[IMPORTING]
        obj = namespace[qualname.split(".")[0]]
        rest = qualname.split(".")[1:]
    else:
        root = os.path.dirname(os.path.abspath(file))
        for _ in range(module.count(".")):
            root = os.path.dirname(root)
        if root not in sys.path:
            sys.path.insert(0, root)
        obj = importlib.import_module(module)
        rest = qualname.split(".")
    for part in rest:
        obj = getattr(obj, part)
    return obj


def main():
    module, qualname, file = sys.argv[1:4]
    func = find(module, qualname, file)

    def wrapped(record):
        # map() keeps the return value exactly: one `value` column holding its JSON.
        return {"value": dumps(func(record))}

    serve(wrapped)


if __name__ == "__main__":
    main()
