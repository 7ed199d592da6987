#!/usr/bin/env python3
"""An independent reference implementation of jobsplit's split-v1 (docs/split-v1.md).

Written from the specification, with its own ChaCha20, to cross-check the Rust crate:
tests/golden.rs compares the binary's `plan --json` with what this prints.

    python3 tests/reference/split_v1.py --jobs jobs.txt --machines machines.json \
        [--format lines|csv|jsonl] [--cmd TEMPLATE] [--params JSON] [--seed S] \
        [--exclude 1,5,9] [--keys]

Prints the plan as `jobsplit plan --json` does; with --keys, a second JSON line maps each job
index to [16-hex key, seed].
"""

import argparse
import csv
import hashlib
import io
import json
import struct
import sys

MASK32 = 0xFFFFFFFF


def u64le(x):
    return struct.pack("<Q", x)


# --- ChaCha20 (RFC 8439 block function), key = 32 bytes, nonce 0, counter from 0 -----------

def _rotl(v, c):
    return ((v << c) & MASK32) | (v >> (32 - c))


def _quarter(s, a, b, c, d):
    s[a] = (s[a] + s[b]) & MASK32; s[d] = _rotl(s[d] ^ s[a], 16)
    s[c] = (s[c] + s[d]) & MASK32; s[b] = _rotl(s[b] ^ s[c], 12)
    s[a] = (s[a] + s[b]) & MASK32; s[d] = _rotl(s[d] ^ s[a], 8)
    s[c] = (s[c] + s[d]) & MASK32; s[b] = _rotl(s[b] ^ s[c], 7)


def chacha20_block(key, counter, nonce=b"\0" * 12):
    consts = [0x61707865, 0x3320646E, 0x79622D32, 0x6B206574]
    state = consts + list(struct.unpack("<8L", key)) + [counter & MASK32] + list(struct.unpack("<3L", nonce))
    w = state[:]
    for _ in range(10):
        _quarter(w, 0, 4, 8, 12); _quarter(w, 1, 5, 9, 13); _quarter(w, 2, 6, 10, 14); _quarter(w, 3, 7, 11, 15)
        _quarter(w, 0, 5, 10, 15); _quarter(w, 1, 6, 11, 12); _quarter(w, 2, 7, 8, 13); _quarter(w, 3, 4, 9, 14)
    return struct.pack("<16L", *[(w[i] + state[i]) & MASK32 for i in range(16)])


class Keystream:
    """next_u64 = the next 8 keystream bytes, little-endian."""

    def __init__(self, key):
        self.key = key
        self.counter = 0
        self.buf = b""

    def next_u64(self):
        while len(self.buf) < 8:
            self.buf += chacha20_block(self.key, self.counter)
            self.counter += 1
        x, self.buf = self.buf[:8], self.buf[8:]
        return struct.unpack("<Q", x)[0]


def bounded(rng, m):
    t = ((1 << 64) - m) % m
    while True:
        p = rng.next_u64() * m
        if (p & ((1 << 64) - 1)) >= t:
            return p >> 64


# --- canonical JSON -------------------------------------------------------------------------

def _string(s):
    out = ['"']
    for ch in s:
        o = ord(ch)
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\b":
            out.append("\\b")
        elif ch == "\f":
            out.append("\\f")
        elif o < 0x20:
            out.append("\\u%04x" % o)
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


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
        if v == int(v) and abs(v) < 1e16:
            return "%d.0" % int(v)
        return repr(v)
    if isinstance(v, str):
        return _string(v)
    if isinstance(v, list):
        return "[" + ",".join(canonical(x) for x in v) + "]"
    if isinstance(v, dict):
        items = sorted(v.items(), key=lambda kv: kv[0].encode("utf-8"))
        return "{" + ",".join(_string(k) + ":" + canonical(x) for k, x in items) + "}"
    raise TypeError(type(v))


# --- job lists ------------------------------------------------------------------------------

def _is_space(ch):
    return ch.isspace()  # Python's str.isspace agrees with Unicode White_Space for these inputs


def job_bytes(data, fmt):
    if fmt == "lines":
        text = data.decode("utf-8")
        jobs = []
        for line in text.split("\n"):
            if line.endswith("\r"):
                line = line[:-1]
            stripped = line.lstrip()
            if stripped == "" or stripped.startswith("#"):
                continue
            jobs.append(line.encode("utf-8"))
        return jobs
    if fmt == "jsonl":
        jobs = []
        for line in data.decode("utf-8").split("\n"):
            if line.endswith("\r"):
                line = line[:-1]
            if line.strip() == "":
                continue
            jobs.append(canonical(json.loads(line)).encode("utf-8"))
        return jobs
    if fmt == "csv":
        rows = list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))
        header, rows = rows[0], [r for r in rows[1:] if r]
        return [canonical(dict(zip(header, r))).encode("utf-8") for r in rows]
    raise ValueError(fmt)


# --- split-v1 -------------------------------------------------------------------------------

def plan(jobs, machines, command=None, params=None, seed=None, excluded=()):
    P = canonical({"command": command, "params": params or {}}).encode("utf-8")
    S = (seed or "").encode("utf-8")
    n = len(jobs)
    h = hashlib.sha256(b"jobsplit/work/v1\n" + u64le(n))
    for job in jobs:
        h.update(u64le(len(job)) + job + u64le(len(P)) + P)
    W = h.digest()

    h = hashlib.sha256(b"jobsplit/plan/v1\n" + W + u64le(len(machines)))
    caps = []
    for name, weight, cores in machines:
        wm = int((weight * 1e6 + 0.5) // 1)
        nb = name.encode("utf-8")
        h.update(u64le(len(nb)) + nb + u64le(wm) + u64le(cores))
        caps.append(wm * cores)
    h.update(u64le(len(S)) + S + u64le(len(excluded)))
    for i in excluded:
        h.update(u64le(i))
    D = h.digest()

    ex = set(excluded)
    perm = [i for i in range(n) if i not in ex]
    rng = Keystream(D)
    for i in range(len(perm) - 1, 0, -1):
        j = bounded(rng, i + 1)
        perm[i], perm[j] = perm[j], perm[i]

    T = sum(caps)
    L = len(perm)
    shares, before = [], 0
    for c in caps:
        lo = L * before // T
        before += c
        hi = L * before // T
        shares.append(perm[lo:hi])

    keys = {}
    for i, job in enumerate(jobs):
        k = hashlib.sha256(
            b"jobsplit/job/v1\n" + u64le(len(P)) + P + u64le(len(S)) + S + u64le(i) + u64le(len(job)) + job
        ).digest()
        keys[i] = [k[:8].hex(), Keystream(k).next_u64()]
    return W.hex(), D.hex(), shares, keys


class Pairs(list):
    """A JSON object's entries in file order."""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--jobs", required=True)
    ap.add_argument("--machines", required=True)
    ap.add_argument("--format")
    ap.add_argument("--cmd")
    ap.add_argument("--params", default="{}")
    ap.add_argument("--seed")
    ap.add_argument("--exclude", default="")
    ap.add_argument("--keys", action="store_true")
    a = ap.parse_args()
    fmt = a.format or ("csv" if a.jobs.endswith(".csv") else "jsonl" if a.jobs.endswith((".jsonl", ".ndjson")) else "lines")
    with open(a.jobs, "rb") as f:
        jobs = job_bytes(f.read(), fmt)
    with open(a.machines, "r", encoding="utf-8") as f:
        raw = json.load(f, object_pairs_hook=Pairs)
    machines, shown = [], []
    for name, v in raw:
        if isinstance(v, Pairs):
            d = dict(v)
            weight, cores = d["weight"], d["cores"]
        else:
            weight, cores = v
        machines.append((name, float(weight), int(cores)))
        shown.append((name, weight, cores))
    excluded = [int(x) for x in a.exclude.split(",") if x]
    W, D, shares, keys = plan(jobs, machines, a.cmd, json.loads(a.params), a.seed, excluded)
    out = '{"algorithm":"split-v1","work_digest":"%s","plan_digest":"%s","jobs":%d' % (W, D, len(jobs))
    if excluded:
        out += ',"excluded":%d' % len(excluded)
    parts = []
    for (name, weight, cores), share in zip(shown, shares):
        parts.append('{"name":%s,"weight":%s,"cores":%d,"jobs":[%s]}' % (
            _string(name), json.dumps(weight), cores, ",".join(map(str, share))))
    out += ',"machines":[' + ",".join(parts) + "]}"
    print(out)
    if a.keys:
        print(json.dumps(keys))


def self_test():
    # RFC 8439 2.3.2 block test vector and the all-zero-key keystream.
    key = bytes(range(32))
    nonce = bytes.fromhex("000000090000004a00000000")
    block = chacha20_block(key, 1, nonce)
    assert block[:16].hex() == "10f1e7e4d13b5915500fdd1fa32071c4", block[:16].hex()
    assert chacha20_block(b"\0" * 32, 0)[:8].hex() == "76b8e0ada0f13d90"


if __name__ == "__main__":
    self_test()
    main()
