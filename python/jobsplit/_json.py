"""JSON as jobsplit reads it: NaN and infinities as the bare tokens NaN, Infinity, -Infinity
(docs/workers.md), numpy scalars and arrays as plain numbers and lists."""

import json


def _default(value):
    item = getattr(value, "item", None)  # a numpy scalar
    tolist = getattr(value, "tolist", None)  # a numpy array
    if tolist is not None and getattr(value, "shape", ()) != ():
        return tolist()
    if item is not None:
        return item()
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    raise TypeError(f"a {type(value).__name__} cannot be written as JSON")


def dumps(value):
    """One line of JSON, NaN and infinities as jobsplit's tokens."""
    return json.dumps(value, default=_default, allow_nan=True, separators=(",", ":"))
