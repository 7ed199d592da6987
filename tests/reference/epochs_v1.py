"""Epochs of a job list that grows (docs/split-v1.md section 7), for the split-v1 reference.

Written from the specification with the standard library only, on the primitives of
split_v1.py (its ChaCha20, shuffle, digests and canonical JSON). split_v1.py uses it when the
job list has an epochs file beside it (JOBS.epochs), and `--write-epochs N0,N1,...` writes one.
"""

import hashlib

HEADER = b"jobsplit-epochs v1"
ZERO = bytes(32)


def list_digest(sv, previous, first, jobs):
    """E_e over `jobs` (the epoch's job bytes), chained to E_(e-1) = `previous`."""
    h = hashlib.sha256(b"jobsplit/list/v1\n" + previous + sv.u64le(first) + sv.u64le(len(jobs)))
    for job in jobs:
        h.update(sv.with_len(job))
    return h.digest()


def epoch_work_digest(sv, previous, e, first, jobs, P):
    """W_e for e >= 1, chained to W_(e-1) = `previous`."""
    h = hashlib.sha256(
        b"jobsplit/epoch/v1\n" + previous + sv.u64le(e) + sv.u64le(first) + sv.u64le(len(jobs))
    )
    for job in jobs:
        h.update(sv.with_len(job) + sv.with_len(P))
    return h.digest()


def spans_of(ends):
    """[(first, count)] of epochs ending (cumulatively) at `ends`."""
    out, first = [], 0
    for end in ends:
        if end <= first:
            raise ValueError("epoch ends must increase")
        out.append((first, end - first))
        first = end
    return out


def write_epochs(sv, jobs, ends):
    """The bytes of the epochs file of `jobs` cut at `ends`."""
    out, previous = [HEADER + b"\n"], ZERO
    for e, (first, m) in enumerate(spans_of(ends)):
        previous = list_digest(sv, previous, first, jobs[first : first + m])
        out.append(b"%d %d %d %s\n" % (e, first, m, previous.hex().encode()))
    return b"".join(out)


def read_epochs(sv, data, jobs):
    """The spans the epochs file `data` records, checked against `jobs` (section 7.1)."""
    whole = data[: data.rfind(b"\n") + 1]  # a line cut short is left out
    lines = whole.split(b"\n")[:-1]
    if not lines or lines[0] != HEADER:
        raise sv.SpecError("the epochs file does not start with %r" % HEADER)
    spans, previous, first = [], ZERO, 0
    for e, line in enumerate(lines[1:]):
        f = line.split(b" ")
        if len(f) != 4 or int(f[0]) != e or int(f[1]) != first or int(f[2]) < 1:
            raise sv.SpecError("epochs file line %d is malformed" % (e + 2))
        m = int(f[2])
        if first + m > len(jobs):
            raise sv.SpecError("the job list is shorter than its epochs")
        previous = list_digest(sv, previous, first, jobs[first : first + m])
        if previous.hex().encode() != f[3]:
            raise sv.SpecError("epoch %d does not match the job list" % e)
        spans.append((first, m))
        first += m
    return spans


def plan_epochs(sv, jobs, spans, machines, command, params, seed, excluded):
    """Everything section 7.2 computes for a list cut into `spans`, as a dict."""
    P = sv.shared_part(command, params if params is not None else {})
    S = (seed or "").encode("utf-8")
    epochs, W = [], None
    for e, (first, m) in enumerate(spans):
        mine = jobs[first : first + m]
        if e == 0:
            W = sv.work_digest(mine, P)
        else:
            W = epoch_work_digest(sv, W, e, first, mine, P)
        ex = [i for i in excluded if first <= i < first + m]
        D = sv.plan_digest(W, machines, S, ex)
        perm = [i for i in range(first, first + m) if i not in set(ex)]
        sv.shuffle(sv.Keystream(D), perm)
        cuts = sv.bounds(machines, len(perm))
        shares = [perm[cuts[j] : cuts[j + 1]] for j in range(len(machines))]
        epochs.append({"first": first, "jobs": m, "excluded": len(ex), "W": W, "D": D,
                       "perm": perm, "bounds": cuts, "shares": shares})
    keys = []
    for i, job in enumerate(jobs):
        k = sv.job_key(P, S, i, job)
        keys.append({"index": i, "key": k.hex(), "seed": sv.Keystream(k).next_u64()})
    return {
        "P": P, "S": S, "W": epochs[-1]["W"], "D": epochs[-1]["D"], "epochs": epochs,
        "shares": [sum((ep["shares"][j] for ep in epochs), []) for j in range(len(machines))],
        "keys": keys,
    }


def plan_json(sv, result, jobs, machines, excluded):
    """The line `jobsplit plan --json` prints for a study of two epochs or more (section 7.3)."""
    out = '{"algorithm":"%s","work_digest":"%s","plan_digest":"%s","jobs":%d' % (
        sv.ALGORITHM, result["W"].hex(), result["D"].hex(), len(jobs))
    if excluded:
        out += ',"excluded":%d' % len(excluded)
    parts = []
    for ep in result["epochs"]:
        s = '{"first":%d,"jobs":%d' % (ep["first"], ep["jobs"])
        if ep["excluded"]:
            s += ',"excluded":%d' % ep["excluded"]
        s += ',"work_digest":"%s","plan_digest":"%s","shares":[%s]}' % (
            ep["W"].hex(), ep["D"].hex(), ",".join(str(len(x)) for x in ep["shares"]))
        parts.append(s)
    out += ',"epochs":[' + ",".join(parts) + "]"
    machines_json = [
        '{"name":%s,"weight":%s,"cores":%d,"jobs":[%s]}'
        % (sv.json_string(name), shown, cores, ",".join(map(str, share)))
        for (name, shown, _wm, cores), share in zip(machines, result["shares"])
    ]
    return out + ',"machines":[' + ",".join(machines_json) + "]}\n"


def keys_json(sv, result, jobs):
    """Digests, each epoch's shuffled list and cuts, every job's bytes, key and seed."""
    head = '{"work_digest":"%s","plan_digest":"%s","P":%s,"S":%s,"epochs":[%s],"jobs":[' % (
        result["W"].hex(), result["D"].hex(),
        sv.json_string(result["P"].decode("utf-8")), sv.json_string(result["S"].decode("utf-8")),
        ",".join('{"perm":[%s],"bounds":[%s]}' % (",".join(map(str, ep["perm"])),
                                                 ",".join(map(str, ep["bounds"])))
                 for ep in result["epochs"]))
    rows = [
        '{"index":%d,"bytes":%s,"key":"%s","seed":%d}'
        % (k["index"], sv.json_string(job.decode("utf-8")), k["key"], k["seed"])
        for k, job in zip(result["keys"], jobs)
    ]
    return head + "\n" + ",\n".join(rows) + "\n]}\n"
