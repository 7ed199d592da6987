"""Just enough TOML to write a config: strings, numbers, booleans, lists and tables."""

import json
import math
import re

_BARE = re.compile(r"^[A-Za-z0-9_-]+$")


def key(name):
    """A TOML key."""
    return name if _BARE.match(name) else _string(name)


def _string(text):
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007F")


def value(v):
    """A TOML value for a JSON-like Python value."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if not math.isfinite(v):
            raise ValueError(f"{v} has no JSON form: params must be finite numbers")
        return repr(v)
    if isinstance(v, str):
        return _string(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{key(str(k))} = {value(x)}" for k, x in v.items()) + "}"
    raise ValueError(f"a {type(v).__name__} cannot be a parameter (use str, int, float, bool, list, dict)")
