"""A model of `run --steal` on a shared OUT, on the uneven section's workload: how much of the
makespan the last block costs for a block layout (a model, not a measurement).

    python3 bench/steal_model.py [SEEDS]

Three machines of speed 1, 2 and 4 (one thread each), the section's 300 jobs (20-100 ms of work
/ speed, bench/sec_uneven.py's seeded durations) dealt to shares by weight in a random order
(split-v1 shuffles too). Each job also pays START seconds that no speed divides and GAP seconds
between jobs (what the bench measures on a quiet machine, about). The policy is that of
src/run/steal/ (source.rs, victim.rs): an owner claims its share's blocks from the head; a host
whose share is fully claimed steals the tail block of the share with the most remaining time
(unclaimed jobs / its owner's rate), when it would finish it in under 3/4 of the owner's time,
and else looks again after LOOK seconds. Rates are exact here (the real hosts estimate theirs).

It prints, per layout and weights, the mean over SEEDS job orders of makespan / ideal and of
the last-block part (bench/breakdown.py), and the claims a study takes. Layouts: blocks of B
(today's default for this study is 3), and blocks of B whose share's last T jobs are blocks
of one job (a layout whose last blocks are smaller).
"""

import heapq
import os
import random
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import breakdown  # noqa: E402
from sec_uneven import SPEEDS, job_lines  # noqa: E402

START, GAP, LOOK, MARGIN = 0.001, 0.0003, 0.1, 0.75


def cut(share, block, tail):
    """The blocks of a share: runs of `block` jobs, the last `tail` jobs one job each."""
    t = min(tail, len(share))
    body = share[:len(share) - t]
    return ([body[k:k + block] for k in range(0, len(body), block)]
            + [[i] for i in share[len(share) - t:]])


def simulate(bases, weights, block, tail, seed):
    """(makespan / ideal, {part: share of the ideal}, claims) of one study."""
    order = list(range(len(bases)))
    random.Random(seed).shuffle(order)
    total, at, blocks = sum(weights.values()), 0, {}
    for k, (m, w) in enumerate(weights.items()):
        n = len(bases) - at if k == len(weights) - 1 else round(len(bases) * w / total)
        blocks[m] = cut(order[at:at + n], block, tail)
        at += n
    head = dict.fromkeys(SPEEDS, 0)               # each share's unclaimed blocks: [head, end)
    end = {m: len(b) for m, b in blocks.items()}
    mean = sum(bases) / len(bases)
    rate = {m: 1 / (mean / s + START + GAP) for m, s in SPEEDS.items()}
    spans = {m: [] for m in SPEEDS}
    events = [(0.0, m) for m in SPEEDS]
    while events:
        t, m = heapq.heappop(events)
        if head[m] < end[m]:  # its own share first, from the head
            got, head[m] = blocks[m][head[m]], head[m] + 1
        else:
            left = [o for o in SPEEDS if head[o] < end[o]]
            if not left:
                continue
            o = max(left, key=lambda o: sum(map(len, blocks[o][head[o]:end[o]])) / rate[o])
            jobs = len(blocks[o][end[o] - 1])
            owner_done = sum(map(len, blocks[o][head[o]:end[o]])) / rate[o]
            if o != m and jobs / rate[m] >= MARGIN * owner_done:
                heapq.heappush(events, (t + LOOK, m))
                continue
            end[o] -= 1
            got = blocks[o][end[o]]
        for i in got:
            d = bases[i] / SPEEDS[m] + START
            spans[m].append((t, t + d, bases[i]))
            t += d + GAP
        heapq.heappush(events, (t, m))
    parts = breakdown.breakdown(SPEEDS, spans, sum(bases))
    claims = sum(len(b) for b in blocks.values())
    return 1 + sum(parts.values()), parts, claims


def main():
    seeds = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    _, bases = job_lines(300)
    print(f"model of --steal on a shared OUT, {len(bases)} jobs, mean over {seeds} job orders; "
          f"job start {START * 1e3:.1f} ms, gap {GAP * 1e3:.1f} ms, look again {LOOK * 1e3:.0f} ms")
    print(f"{'weights':<8} {'layout':<34} {'claims':>6} {'/ ideal':>8} {'last block':>10}")
    for name, weights in (("true", SPEEDS), ("equal", dict.fromkeys(SPEEDS, 1))):
        for block, tail in ((3, 0), (1, 0), (3, 3), (3, 12), (6, 18)):
            runs = [simulate(bases, weights, block, tail, s) for s in range(seeds)]
            label = f"blocks of {block}" + (f", last {tail} jobs single" if tail else "")
            print(f"{name:<8} {label:<34} {runs[0][2]:>6} "
                  f"{statistics.mean(r[0] for r in runs):>7.3f}x "
                  f"{statistics.mean(r[1]['last block'] for r in runs):>10.4f}")


if __name__ == "__main__":
    main()
