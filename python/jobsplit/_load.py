"""Reading results back: a pandas DataFrame with the right dtypes, or a list of dicts."""

import csv
import datetime
import glob
import os

FIXED = ["index", "key", "machine", "status", "exit_code", "attempt", "started_at", "duration_s", "error"]
TEXT = FIXED + ["command"]


def _kind(name):
    """The group of a column after the fixed ones: inputs, the command, results (the order of
    results.csv's header; docs/output-format.md)."""
    if name == "input" or name.startswith("input_"):
        return 0
    return 1 if name == "command" else 2


def _files(path):
    if os.path.isfile(path):
        return [path]
    for candidate in (os.path.join(path, "results.csv"), os.path.join(path, "merged", "results.csv")):
        if os.path.isfile(candidate):
            return [candidate]
    found = sorted(glob.glob(os.path.join(path, "*", "results.csv")))
    if not found:
        raise FileNotFoundError(f"{path}: no results.csv in it, in merged/ or in its machine directories")
    return found


def _number(text):
    try:
        return int(text)
    except ValueError:
        return float(text)  # NaN, Inf, -Inf included


def _numeric(values):
    """The column as numbers when every non-empty cell is one, else None."""
    out = []
    for v in values:
        if v == "":
            out.append(None)
            continue
        try:
            out.append(_number(v))
        except ValueError:
            return None
    return out


def _time(text):
    return datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc)


def load(path="merged"):
    """Loads the results in ``path`` (a merge output, a machine's directory, an ``out``
    directory of several machines, or a results.csv).

    With pandas installed: a DataFrame, ``started_at`` a UTC datetime, ``exit_code`` a nullable
    integer, ``index`` and ``attempt`` integers, ``duration_s`` a float, each input column
    (``input_<field>``, ``input``) and result column numeric when every value in it is a number
    (``NaN``, ``Inf``, ``-Inf`` included), else text; ``command`` text. Columns of several
    files are joined by name: fixed, then inputs, the command, results.
    Without pandas: a list of dicts with the same conversions (``None`` for empty cells of
    numeric columns).
    """
    header, rows = [], []
    for file in _files(path):
        with open(file, newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            for name in reader.fieldnames or []:
                if name not in header:
                    header.append(name)
            rows.extend(reader)
    rest = [n for n in header if n not in FIXED]
    header = [n for n in header if n in FIXED] + sorted(rest, key=_kind)  # a stable sort
    columns = {name: [row.get(name) or "" for row in rows] for name in header}
    converted = {}
    for name, cells in columns.items():
        if name in ("index", "attempt"):
            converted[name] = [int(c) for c in cells]
        elif name == "exit_code":
            converted[name] = [int(c) if c else None for c in cells]
        elif name == "duration_s":
            converted[name] = [float(c) for c in cells]
        elif name == "started_at":
            converted[name] = [_time(c) for c in cells]
        elif name in TEXT:
            converted[name] = cells
        else:
            numbers = _numeric(cells)
            converted[name] = cells if numbers is None else numbers
    try:
        import pandas
    except ImportError:
        return [{name: converted[name][i] for name in header} for i in range(len(rows))]
    frame = pandas.DataFrame({name: converted[name] for name in header})
    if "exit_code" in frame:
        frame["exit_code"] = pandas.array(converted["exit_code"], dtype="Int64")
    if "started_at" in frame:
        frame["started_at"] = pandas.to_datetime(frame["started_at"], utc=True)
    for name in header:
        if name not in TEXT and converted[name] is not columns[name]:
            frame[name] = pandas.to_numeric(pandas.Series(converted[name], dtype="object"), errors="coerce")
    return frame
