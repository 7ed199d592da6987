#!/usr/bin/env python3
"""An independent reference implementation of jobsplit's split-v1 plan (docs/split-v1.md).

Written from the specification, not from the Rust crate, with the Python 3 standard library
only (its own ChaCha20 block function, its own canonical JSON), so that a bug shared by both is
unlikely. tests/golden/generate.sh runs it to make the expected outputs that tests/golden.rs
holds the crate to.

Usage (the flags mirror `jobsplit plan --json`):

    python3 tests/reference/split_v1.py [--config jobsplit.toml] [--jobs FILE]
        [--format lines|csv|jsonl] [--cmd TEMPLATE] [--machines FILE | --shard-count N]
        [--seed TEXT] [--params JSON] [--exclude 3,7,11] [--keys FILE] [--explain]

It prints the plan exactly as `jobsplit plan --json` does (one line). Like jobsplit it reads
./jobsplit.toml (or $JOBSPLIT_CONFIG) when --config is not given; unlike jobsplit it does not
check the command template against the records, it only hashes its text. `--params` gives the
[params] table as JSON instead of through a config; `--exclude` leaves job indices out (a rescue
plan); `--keys FILE` writes the digests, the shuffled list and every job's key and seed as JSON;
`--explain` prints every intermediate value to stderr. `--self-test` only runs the built-in
checks (ChaCha20 test vectors, canonical JSON), which also run before every plan.

One file of about 750 lines on purpose (above the house's ~400): it is read against
docs/split-v1.md section by section, in the spec's order (ChaCha20, canonical JSON, the inputs,
the digests, the split), and copied and run alone with python3 as the spec's check; only the
epochs of a growing list, a later chapter of the spec, are a file of their own (epochs_v1.py).
"""

import argparse
import csv
import hashlib
import io
import json
import math
import os
import re
import struct
import sys

ALGORITHM = "split-v1"
MAX_WEIGHT = 1e6
MAX_CORES = 1 << 20
MAX_DEPTH = 127  # serde_json refuses JSON nested deeper than this
MASK32 = 0xFFFFFFFF
MASK64 = (1 << 64) - 1


class SpecError(Exception):
    """Input that split-v1 (or jobsplit) refuses."""


def u64le(x):
    return struct.pack("<Q", x)


def with_len(b):
    return u64le(len(b)) + b


# --- ChaCha20 -------------------------------------------------------------------------------
# The RFC 8439 block function. split-v1 uses key = 32 bytes, a 64-bit block counter in state
# words 12-13 starting at 0 and a zero 64-bit nonce in words 14-15 (as rand_chacha does); for
# the first 2^32 blocks this is RFC 8439 with a zero 96-bit nonce.


def _rotl(v, c):
    return ((v << c) & MASK32) | (v >> (32 - c))


def quarter_round(s, a, b, c, d):
    s[a] = (s[a] + s[b]) & MASK32
    s[d] = _rotl(s[d] ^ s[a], 16)
    s[c] = (s[c] + s[d]) & MASK32
    s[b] = _rotl(s[b] ^ s[c], 12)
    s[a] = (s[a] + s[b]) & MASK32
    s[d] = _rotl(s[d] ^ s[a], 8)
    s[c] = (s[c] + s[d]) & MASK32
    s[b] = _rotl(s[b] ^ s[c], 7)


def chacha20_block_words(key, tail):
    """One 64-byte block; `tail` is state words 12..15 (counter and nonce)."""
    state = [0x61707865, 0x3320646E, 0x79622D32, 0x6B206574]
    state += list(struct.unpack("<8L", key)) + list(tail)
    w = state[:]
    for _ in range(10):
        quarter_round(w, 0, 4, 8, 12)
        quarter_round(w, 1, 5, 9, 13)
        quarter_round(w, 2, 6, 10, 14)
        quarter_round(w, 3, 7, 11, 15)
        quarter_round(w, 0, 5, 10, 15)
        quarter_round(w, 1, 6, 11, 12)
        quarter_round(w, 2, 7, 8, 13)
        quarter_round(w, 3, 4, 9, 14)
    return struct.pack("<16L", *[(w[i] + state[i]) & MASK32 for i in range(16)])


def chacha20_block_rfc(key, counter, nonce):
    """RFC 8439 section 2.3: 32-bit counter, 96-bit nonce."""
    return chacha20_block_words(key, [counter] + list(struct.unpack("<3L", nonce)))


class Keystream:
    """split-v1's generator: next_u64 is the next 8 keystream bytes, little-endian."""

    def __init__(self, key):
        assert len(key) == 32
        self.key = key
        self.block = 0
        self.buf = b""

    def next_bytes(self, n):
        while len(self.buf) < n:
            tail = [self.block & MASK32, self.block >> 32, 0, 0]
            self.buf += chacha20_block_words(self.key, tail)
            self.block += 1
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def next_u64(self):
        return struct.unpack("<Q", self.next_bytes(8))[0]


def bounded(rng, m):
    """A uniform draw from 0..m (m >= 1): multiply and reject."""
    assert 1 <= m <= MASK64
    t = ((1 << 64) - m) % m
    while True:
        p = rng.next_u64() * m
        if (p & MASK64) >= t:
            return p >> 64


def shuffle(rng, perm):
    for i in range(len(perm) - 1, 0, -1):
        j = bounded(rng, i + 1)
        perm[i], perm[j] = perm[j], perm[i]


# --- canonical JSON -------------------------------------------------------------------------
# Values are Python None, bool, int (a JSON integer), float (a JSON float), str, list, dict.

_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def json_string(s):
    out = ['"']
    for ch in s:
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif ord(ch) < 0x20:
            out.append("\\u%04x" % ord(ch))
        else:
            out.append(ch)  # DEL, '/', and all non-ASCII as is
    out.append('"')
    return "".join(out)


def json_float(x):
    """The shortest digits that read back to x, laid out as ryu / serde_json <= 1.0.145 does."""
    if math.isnan(x) or math.isinf(x):
        raise SpecError("NaN and infinities have no JSON form")
    sign = "-" if math.copysign(1.0, x) < 0 else ""
    if x == 0:
        return sign + "0.0"
    # Python's repr is the shortest round-trip digit string, the one nearest the exact value.
    m = re.fullmatch(r"(\d+)(?:\.(\d+))?(?:e([+-]\d+))?", repr(abs(x)))
    whole, frac, e = m.group(1), m.group(2) or "", m.group(3)
    digits = (whole + frac).lstrip("0")
    exp = int(e or 0) - len(frac)
    trimmed = digits.rstrip("0")
    exp += len(digits) - len(trimmed)
    digits = trimmed
    n = len(digits)
    kk = n + exp  # 10^(kk-1) <= |x| < 10^kk
    if 0 <= exp and kk <= 16:
        body = digits + "0" * exp + ".0"
    elif 0 < kk <= 16:
        body = digits[:kk] + "." + digits[kk:]
    elif -5 < kk <= 0:
        body = "0." + "0" * (-kk) + digits
    elif n == 1:
        body = digits + "e" + str(kk - 1)
    else:
        body = digits[0] + "." + digits[1:] + "e" + str(kk - 1)
    return sign + body


def canonical(v):
    if v is None:
        return "null"
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return json_float(v)
    if isinstance(v, str):
        return json_string(v)
    if isinstance(v, list):
        return "[" + ",".join(canonical(x) for x in v) + "]"
    if isinstance(v, dict):
        items = sorted(v.items(), key=lambda kv: kv[0].encode("utf-8"))
        return "{" + ",".join(json_string(k) + ":" + canonical(x) for k, x in items) + "}"
    raise TypeError(type(v))


def canonical_bytes(v):
    return canonical(v).encode("utf-8")


# --- reading JSON as serde_json does ---------------------------------------------------------


class Pairs(list):
    """A JSON object's entries in file order (duplicates kept)."""


def _parse_int(s):
    v = int(s)
    if s == "-0":
        return -0.0  # serde_json reads the integer -0 as the float -0.0
    if -(1 << 63) <= v <= MASK64:
        return v
    return float(s)  # outside i64/u64: a double


def _parse_constant(s):
    raise SpecError("%s is not JSON" % s)


def _check(v, depth=0):
    """Refuses what serde_json refuses and Python accepts: lone surrogates, deep nesting,
    numbers beyond the largest double.

    It runs over the entries as written, duplicates included: serde_json refuses a bad string
    or a too deep value even where a later duplicate key replaces it."""
    if isinstance(v, (list, Pairs)):
        if depth >= MAX_DEPTH:
            raise SpecError("JSON nested deeper than %d levels" % MAX_DEPTH)
        for x in v:
            if isinstance(v, Pairs):
                k, x = x
                _check(k)
            _check(x, depth + 1)
    elif isinstance(v, float) and not math.isfinite(v):
        raise SpecError("a number beyond the largest double is out of range")
    elif isinstance(v, str):
        try:
            v.encode("utf-8")
        except UnicodeEncodeError:
            raise SpecError("a \\u escape of a lone surrogate is not a character")


def _to_dicts(v):
    """Pairs to dicts, the last of duplicate keys winning (as serde_json's map does)."""
    if isinstance(v, Pairs):
        return {k: _to_dicts(x) for k, x in v}
    if isinstance(v, list):
        return [_to_dicts(x) for x in v]
    return v


def parse_json(text, pairs=False):
    """Reads one JSON text as serde_json does; objects become dicts, or with `pairs` Pairs."""
    try:
        v = json.loads(
            text,
            parse_int=_parse_int,
            parse_float=float,  # correctly rounded
            parse_constant=_parse_constant,
            object_pairs_hook=Pairs,
        )
    except RecursionError:
        raise SpecError("JSON nested deeper than %d levels" % MAX_DEPTH)
    _check(v)
    return v if pairs else _to_dicts(v)


# --- job lists ------------------------------------------------------------------------------

# Unicode White_Space (PropList.txt), which is what Rust's char::is_whitespace tests.
WHITE_SPACE = (
    "\u0009\u000a\u000b\u000c\u000d\u0020\u0085\u00a0\u1680"
    "\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u2028\u2029\u202f\u205f\u3000"
)
ASCII_BLANK = b" \t\n\x0c\r"  # Rust's u8::is_ascii_whitespace: blank jsonl lines


def _split_lines(data):
    """Lines split on LF with one trailing CR stripped; a final empty piece is no line."""
    pieces = data.split(b"\n")
    if pieces and pieces[-1] == b"":
        pieces.pop()
    return [p[:-1] if p.endswith(b"\r") else p for p in pieces]


def format_of(path):
    ext = os.path.splitext(path)[1].lower()
    return {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl"}.get(ext, "lines")


def job_list(data, fmt):
    """The bytes of every job, in index order."""
    if fmt == "lines":
        try:
            data.decode("utf-8")
        except UnicodeDecodeError as e:
            raise SpecError("the job list is not UTF-8: %s" % e)
        jobs = []
        for line in _split_lines(data):
            rest = line.decode("utf-8").lstrip(WHITE_SPACE)
            if rest == "" or rest.startswith("#"):
                continue
            jobs.append(line)
    elif fmt == "jsonl":
        jobs = []
        for number, line in enumerate(_split_lines(data), 1):
            if all(b in ASCII_BLANK for b in line):
                continue
            try:
                jobs.append(canonical_bytes(parse_json(line.decode("utf-8"))))
            except (ValueError, UnicodeError, SpecError) as e:
                raise SpecError("line %d: not valid JSON: %s" % (number, e))
    elif fmt == "csv":
        text = data.decode("utf-8")
        if text.startswith("\ufeff"):
            text = text[1:]  # the csv crate drops a byte order mark
        rows = [r for r in csv.reader(io.StringIO(text, newline="")) if r]
        if not rows:
            raise SpecError("the CSV file has no header")
        header = rows[0]
        if any(h == "" for h in header) or len(set(header)) != len(header):
            raise SpecError("CSV header names must be non-empty and unique")
        jobs = []
        for row in rows[1:]:
            if len(row) != len(header):
                raise SpecError("a CSV row has %d fields, the header %d" % (len(row), len(header)))
            jobs.append(canonical_bytes(dict(zip(header, row))))
    else:
        raise SpecError("unknown format %r" % fmt)
    if not jobs:
        raise SpecError("the job list has no jobs")
    return jobs


# --- machines -------------------------------------------------------------------------------


def _is_number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def check_name(name):
    if (
        name in ("", ".", "..")
        or any(c in name for c in "/\\\0")
        or any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in name)
    ):
        raise SpecError("machine name %r cannot be a directory name" % name)


def machine(name, weight, cores):
    """(name, shown weight, weight_micro, cores) after the machines-file checks."""
    check_name(name)
    if not _is_number(weight):
        raise SpecError("machine %s: weight must be a number" % name)
    w = float(weight)
    if not (math.isfinite(w) and 0 < w <= MAX_WEIGHT):
        raise SpecError("machine %s: weight must be in (0, 1e6]" % name)
    weight_micro = math.floor(w * 1e6 + 0.5)  # IEEE double arithmetic, as specified
    if weight_micro < 1:
        raise SpecError("machine %s: weight rounds to 0 millionths" % name)
    if not (isinstance(cores, int) and not isinstance(cores, bool) and 1 <= cores <= MAX_CORES):
        raise SpecError("machine %s: cores must be an integer in 1..=2^20" % name)
    shown = str(weight) if isinstance(weight, int) else json_float(weight)
    return (name, shown, weight_micro, cores)


def load_machines(text):
    raw = parse_json(text, pairs=True)
    if not isinstance(raw, Pairs) or not raw:
        raise SpecError("the machines file must be a non-empty JSON object")
    out = []
    for name, v in raw:
        if any(m[0] == name for m in out):
            raise SpecError("machine %s appears twice" % name)
        if isinstance(v, Pairs):
            d = dict(v)
            unknown = set(d) - {"weight", "cores", "hosts"}
            if unknown or "weight" not in d or "cores" not in d:
                raise SpecError("machine %s: keys are weight, cores and hosts" % name)
            weight, cores = d["weight"], d["cores"]
            hosts = d.get("hosts", [])
            if not (isinstance(hosts, list) and all(isinstance(h, str) for h in hosts)):
                raise SpecError("machine %s: hosts must be a list of strings" % name)
        elif isinstance(v, list) and len(v) == 2:
            weight, cores = v
        else:
            raise SpecError("machine %s: write [weight, cores] or an object" % name)
        out.append(machine(name, weight, cores))
    return out


def shard_machines(count):
    if count < 1:
        raise SpecError("the shard count must be at least 1")
    return [("shard-%d" % i, "1.0", 1_000_000, 1) for i in range(count)]


# --- config ---------------------------------------------------------------------------------


def toml_to_json(v, where):
    if isinstance(v, bool) or isinstance(v, (int, str)):
        return v
    if isinstance(v, float):
        if not math.isfinite(v):
            raise SpecError("%s: %r has no JSON form" % (where, v))
        return v
    if isinstance(v, list):
        return [toml_to_json(x, where) for x in v]
    if isinstance(v, dict):
        return {k: toml_to_json(x, where) for k, x in v.items()}
    # Dates and times: jobsplit writes them as strings in TOML's own form, which this
    # reference does not reproduce.
    raise SpecError("%s: TOML dates are not supported by the reference" % where)


def load_config(path):
    import tomllib  # Python 3.11+

    with open(path, "rb") as f:
        raw = tomllib.load(f)
    base = os.path.dirname(path)
    jobs = raw.get("jobs", {})
    rel = lambda p: p if p is None or os.path.isabs(p) else os.path.join(base, p)
    params = {k: toml_to_json(v, "[params] " + k) for k, v in raw.get("params", {}).items()}
    return {
        "seed": raw.get("seed"),
        "machines": rel(raw.get("machines")),
        "file": rel(jobs.get("file")),
        "format": jobs.get("format"),
        "command": jobs.get("command"),
        "params": params,
    }


# --- split-v1 -------------------------------------------------------------------------------


def shared_part(command, params):
    """P: the canonical JSON of the template (or null) and the [params] table."""
    return canonical_bytes({"command": command, "params": params})


def work_digest(jobs, P):
    h = hashlib.sha256(b"jobsplit/work/v1\n" + u64le(len(jobs)))
    for job in jobs:
        h.update(with_len(job) + with_len(P))
    return h.digest()


def plan_digest(W, machines, S, excluded):
    h = hashlib.sha256(b"jobsplit/plan/v1\n" + W + u64le(len(machines)))
    for name, _shown, weight_micro, cores in machines:
        h.update(with_len(name.encode("utf-8")) + u64le(weight_micro) + u64le(cores))
    h.update(with_len(S) + u64le(len(excluded)))
    for i in excluded:
        h.update(u64le(i))
    return h.digest()


def bounds(machines, length):
    caps = [weight_micro * cores for _n, _s, weight_micro, cores in machines]
    total = sum(caps)
    out, before = [0], 0
    for c in caps:
        before += c
        out.append(length * before // total)
    return out


def job_key(P, S, i, job):
    return hashlib.sha256(
        b"jobsplit/job/v1\n" + with_len(P) + with_len(S) + u64le(i) + with_len(job)
    ).digest()


def plan(jobs, machines, command=None, params=None, seed=None, excluded=()):
    """Everything split-v1 computes, as a dict."""
    n = len(jobs)
    excluded = list(excluded)
    if any(b <= a for a, b in zip(excluded, excluded[1:])):
        raise SpecError("excluded indices must be ascending and unique")
    if excluded and not (0 <= excluded[0] and excluded[-1] < n):
        raise SpecError("an excluded index is out of range")
    if not machines:
        raise SpecError("the plan needs at least one machine")
    P = shared_part(command, params if params is not None else {})
    S = (seed or "").encode("utf-8")
    W = work_digest(jobs, P)
    D = plan_digest(W, machines, S, excluded)
    skip = set(excluded)
    perm = [i for i in range(n) if i not in skip]
    shuffle(Keystream(D), perm)
    cuts = bounds(machines, len(perm))
    keys = []
    for i, job in enumerate(jobs):
        k = job_key(P, S, i, job)
        keys.append({"index": i, "key": k.hex(), "seed": Keystream(k).next_u64()})
    return {
        "P": P,
        "S": S,
        "W": W,
        "D": D,
        "perm": perm,
        "bounds": cuts,
        "shares": [perm[cuts[j] : cuts[j + 1]] for j in range(len(machines))],
        "keys": keys,
    }


def plan_json(result, jobs, machines, excluded):
    """The line `jobsplit plan --json` prints."""
    out = '{"algorithm":"%s","work_digest":"%s","plan_digest":"%s","jobs":%d' % (
        ALGORITHM,
        result["W"].hex(),
        result["D"].hex(),
        len(jobs),
    )
    if excluded:
        out += ',"excluded":%d' % len(excluded)
    parts = []
    for (name, shown, _wm, cores), share in zip(machines, result["shares"]):
        parts.append(
            '{"name":%s,"weight":%s,"cores":%d,"jobs":[%s]}'
            % (json_string(name), shown, cores, ",".join(map(str, share)))
        )
    return out + ',"machines":[' + ",".join(parts) + "]}\n"


def keys_json(result, jobs):
    """Digests, the shuffled list and every job's bytes, key and seed (one job per line)."""
    head = '{"work_digest":"%s","plan_digest":"%s","P":%s,"S":%s,"perm":[%s],"bounds":[%s],"jobs":[' % (
        result["W"].hex(),
        result["D"].hex(),
        json_string(result["P"].decode("utf-8")),
        json_string(result["S"].decode("utf-8")),
        ",".join(map(str, result["perm"])),
        ",".join(map(str, result["bounds"])),
    )
    rows = [
        '{"index":%d,"bytes":%s,"key":"%s","seed":%d}'
        % (k["index"], json_string(job.decode("utf-8")), k["key"], k["seed"])
        for k, job in zip(result["keys"], jobs)
    ]
    return head + "\n" + ",\n".join(rows) + "\n]}\n"


def explain(result, jobs, machines, out):
    w = lambda s: print(s, file=out)
    w("P = %s (%d bytes)" % (result["P"].decode("utf-8"), len(result["P"])))
    w("S = %r (%d bytes)" % (result["S"].decode("utf-8"), len(result["S"])))
    w("n = %d" % len(jobs))
    for i, job in enumerate(jobs):
        w("  job %d: %s (%d bytes)" % (i, job.decode("utf-8"), len(job)))
    w("W = %s" % result["W"].hex())
    for name, shown, wm, cores in machines:
        w("  machine %s: weight %s, weight_micro %d, cores %d, c = %d" % (name, shown, wm, cores, wm * cores))
    w("D = %s" % result["D"].hex())
    w("perm = %s" % result["perm"])
    w("bounds = %s" % result["bounds"])
    for (name, *_), share in zip(machines, result["shares"]):
        w("  %s runs %s" % (name, share))
    for k in result["keys"]:
        w("  key %d: %s seed %d" % (k["index"], k["key"], k["seed"]))


# --- self test ------------------------------------------------------------------------------


def self_test():
    # RFC 8439 2.1.1: the quarter round.
    s = [0x11111111, 0x01020304, 0x9B8D6F43, 0x01234567]
    quarter_round(s, 0, 1, 2, 3)
    assert s == [0xEA2A92F4, 0xCB1CF8CE, 0x4581472E, 0x5881C4BB], [hex(x) for x in s]
    # RFC 8439 2.3.2: the block function.
    block = chacha20_block_rfc(bytes(range(32)), 1, bytes.fromhex("000000090000004a00000000"))
    assert block.hex() == (
        "10f1e7e4d13b5915500fdd1fa32071c4c7d1f4c733c068030422aa9ac3d46c4e"
        "d2826446079faa0914c2d705d98b02a2b5129cd1de164eb9cbd083e8a2503c4e"
    ), block.hex()
    # RFC 8439 A.1 test vectors 1 and 2: the all-zero key, blocks 0 and 1.
    zero = Keystream(b"\0" * 32)
    assert zero.next_bytes(64).hex() == (
        "76b8e0ada0f13d90405d6ae55386bd28bdd219b8a08ded1aa836efcc8b770dc7"
        "da41597c5157488d7724e03fb8d84a376a43b8f41518a11cc387b669b2ee6586"
    )
    assert zero.next_bytes(64).hex() == (
        "9f07e7be5551387a98ba977c732d080dcb0f29a048e3656912c6533e32ee7aed"
        "29b721769ce64e43d57133b074d839d531ed1f28510afb45ace10a1f4b794d6f"
    )
    assert Keystream(b"\0" * 32).next_u64() == 0x903DF1A0ADE0B876
    # Canonical JSON.
    cases = [
        (1.0, "1.0"), (0.1, "0.1"), (1e21, "1e21"), (1e16, "1e16"), (1e15, "1000000000000000.0"),
        (1e-5, "0.00001"), (1e-6, "1e-6"), (2.5e-7, "2.5e-7"), (-0.0, "-0.0"), (5e-324, "5e-324"),
        (123456.789, "123456.789"), (1.5e300, "1.5e300"), (0.333333, "0.333333"),
    ]
    for x, want in cases:
        assert json_float(x) == want, (x, json_float(x), want)
    v = {"\U0001f600": 1, "\uffff": 2, "z": [None, True, -0.0], "B": "\x00\x1f\x7f/\u00e9\n\""}
    assert canonical(v) == '{"B":"\\u0000\\u001f\x7f/\u00e9\\n\\"","z":[null,true,-0.0],"\uffff":2,"\U0001f600":1}'
    assert canonical(parse_json('[-0, 1E2, 18446744073709551615, -9223372036854775808]')) == (
        "[-0.0,100.0,18446744073709551615,-9223372036854775808]"
    )
    # Lines: White_Space and comments.
    data = "a\r\n\n \x0b\u3000\n# c\n\u00a0#d\nb \r\r\n\x1c\n\ufeffx\nlast".encode("utf-8")
    assert job_list(data, "lines") == [b"a", b"b \r", b"\x1c", "\ufeffx".encode(), b"last"]
    # JSON lines: the last duplicate key wins, but what serde_json refuses is refused anywhere.
    assert job_list(b'{"a": 1, "a": [2]}\n', "jsonl") == [b'{"a":[2]}']
    deep = lambda d: "[" * d + "]" * d
    assert job_list(deep(127).encode(), "jsonl") == [deep(127).encode()]
    for bad in ['"\\ud800"', '{"a": "\\udc00", "a": 1}', '{"a": 1e400, "a": 1}', deep(128)]:
        try:
            job_list(bad.encode(), "jsonl")
        except SpecError:
            continue
        raise AssertionError("accepted %s" % bad)


def canonical_vectors():
    """Test vectors for canonical JSON (tests/golden/expected/canonical.json): floats by bit
    pattern, split at 1e16 (where the exponent form starts), and JSON texts."""
    bits = lambda x: struct.unpack("<Q", struct.pack("<d", x))[0]
    picked = [
        0.0, -0.0, 1.0, -1.0, 0.1, 0.2, 0.30000000000000004, 1.5, 2.5, 0.333333, 1e-5, 1e-6,
        1.5e-5, 2.5e-7, 1e-7, 0.001234, 123456.789, 1e15, 9007199254740991.0,
        9007199254740992.0, 1234567890123456.0, 5e-324, 2.2250738585072014e-308,
        1.7976931348623157e308, 1e16, 1e21, 1e22, 1.5e300, 6.02214076e23, 12345678901234567.0,
        -1e16, 1e100,
    ]
    rng = Keystream(hashlib.sha256(b"jobsplit/canonical-vectors").digest())
    floats = list(picked)
    while len(floats) < len(picked) + 300:
        x = struct.unpack("<d", struct.pack("<Q", rng.next_u64()))[0]
        if math.isfinite(x):
            floats.append(x)
    for _ in range(300):
        floats.append(float("%de%d" % (rng.next_u64() % 100000, rng.next_u64() % 50 - 30)))
    small = [x for x in floats if abs(x) < 1e16]
    large = [x for x in floats if abs(x) >= 1e16]
    texts = [
        '"' + "".join("\\u%04x" % c for c in list(range(0x20)) + [0x7F, 0x80, 0x9F, 0xA0]) + '"',
        '"quote \\" backslash \\\\ slash \\/ /"',
        '"\\u00e9 \\u2028 \\u2029 \\ufeff \\uffff \\ud83d\\ude00 \u00e9\u4e2d"',
        '{"b": 1, "a": 2, "B": 3, "\u00e9": 4, "z": 5, "\uff5e": 6, "\U0001f600": 7, "": 8, "a\\u0000": 9, "a ": 10, "aa": 11}',
        '{"x": [1, {"d": [], "c": {}}, [null, true, false]], "w": {"z": {"y": 0}}}',
        '[0, -1, 18446744073709551615, -9223372036854775808, 9223372036854775807, -0]',
        '{"dup": 1, "dup": 2}',
        '"\\u0000"', '[]', '{}', 'null', 'true', '""',
    ]
    row = lambda a, b: "[%s,%s]" % (json_string(a), json_string(b))
    lines = ['{"floats":[']
    lines.append(",\n".join(row("%016x" % bits(x), json_float(x)) for x in small))
    lines.append('],"floats_large":[')
    lines.append(",\n".join(row("%016x" % bits(x), json_float(x)) for x in large))
    lines.append('],"values":[')
    lines.append(",\n".join(row(t, canonical(parse_json(t))) for t in texts))
    lines.append("]}")
    return "\n".join(lines) + "\n"


def main(argv=None):
    ap = argparse.ArgumentParser(description="split-v1 reference: prints `jobsplit plan --json`")
    ap.add_argument("--config", "-c")
    ap.add_argument("--jobs", "-j")
    ap.add_argument("--format", choices=["lines", "csv", "jsonl"])
    ap.add_argument("--cmd")
    ap.add_argument("--machines", "-m")
    ap.add_argument("--shard-count", type=int)
    ap.add_argument("--seed")
    ap.add_argument("--params", help="the [params] table as a JSON object")
    ap.add_argument("--exclude", default="", help="comma-separated job indices to leave out")
    ap.add_argument("--keys", metavar="FILE", help="write digests, perm and job keys as JSON")
    ap.add_argument("--explain", action="store_true", help="print every step to stderr")
    ap.add_argument("--self-test", action="store_true")
    ap.add_argument("--canonical-vectors", action="store_true", help="print canonical JSON vectors")
    ap.add_argument("--write-epochs", metavar="N0,N1,...",
                    help="write JOBS.epochs cutting the list after N0, N1, ... jobs (section 7)")
    a = ap.parse_args(argv)
    self_test()
    if a.self_test:
        print("self test ok")
        return 0
    if a.canonical_vectors:
        sys.stdout.write(canonical_vectors())
        return 0

    config_path = a.config or os.environ.get("JOBSPLIT_CONFIG")
    if config_path is None and os.path.isfile("jobsplit.toml"):
        config_path = "jobsplit.toml"
    config = load_config(config_path) if config_path else {}
    jobs_path = a.jobs or config.get("file") or "jobs.txt"
    fmt = a.format or config.get("format") or format_of(jobs_path)
    command = a.cmd if a.cmd is not None else config.get("command")
    seed = a.seed if a.seed is not None else config.get("seed")
    params = parse_json(a.params) if a.params is not None else config.get("params", {})
    if not isinstance(params, dict):
        raise SpecError("--params must be a JSON object")
    if a.shard_count is not None:
        machines = shard_machines(a.shard_count)
    else:
        with open(a.machines or config.get("machines") or "machines.json", encoding="utf-8") as f:
            machines = load_machines(f.read())
    with open(jobs_path, "rb") as f:
        jobs = job_list(f.read(), fmt)
    excluded = [int(x) for x in a.exclude.split(",") if x.strip()]

    import epochs_v1 as ev  # section 7: a list that grew

    sv = sys.modules[__name__]
    if a.write_epochs:
        ends = [int(x) for x in a.write_epochs.split(",")]
        with open(jobs_path + ".epochs", "wb") as f:
            f.write(ev.write_epochs(sv, jobs, ends))
    spans = None
    if os.path.exists(jobs_path + ".epochs"):
        with open(jobs_path + ".epochs", "rb") as f:
            spans = ev.read_epochs(sv, f.read(), jobs)
        jobs = jobs[: sum(m for _f, m in spans)]  # pending jobs are in no plan
    if spans and len(spans) > 1:
        result = ev.plan_epochs(sv, jobs, spans, machines, command, params, seed, excluded)
        sys.stdout.write(ev.plan_json(sv, result, jobs, machines, excluded))
        if a.keys:
            with open(a.keys, "w", encoding="utf-8", newline="\n") as f:
                f.write(ev.keys_json(sv, result, jobs))
        return 0
    else:
        result = plan(jobs, machines, command, params, seed, excluded)
        sys.stdout.write(plan_json(result, jobs, machines, excluded))
    if a.keys:
        with open(a.keys, "w", encoding="utf-8", newline="\n") as f:
            f.write(keys_json(result, jobs))
    if a.explain:
        explain(result, jobs, machines, sys.stderr)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except SpecError as e:
        print("split_v1.py: %s" % e, file=sys.stderr)
        sys.exit(2)
