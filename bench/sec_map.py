"""Section 2: the library's map() over trivial closures vs raw rayon vs a sequential loop.

The crate's example `examples/bench_map.rs` does the timing in-process and prints one JSON
line: {"map_ns_per_job": .., "rayon_ns_per_job": .., "seq_ns_per_job": ..}. This section runs
it with `cargo run --release --example bench_map -- N` and tabulates the line.
"""

import json
import os
import statistics

from harness import run_once
from report import Table, Target, ratio

FIELDS = [("jobsplit::map", "map_ns_per_job"), ("raw rayon loop", "rayon_ns_per_job"),
          ("sequential loop", "seq_ns_per_job")]


def run(ctx, parts, targets):
    n = 1_000_000 if ctx.quick else 10_000_000
    t = Table(f"{n:,} trivial closures, ns per job",
              ["variant", "ns per job", "ratio to map", "ratio to rayon", "ratio to seq"],
              before=bool(ctx.baseline))
    parts.append(t)
    target = Target("map() within 2x of raw rayon", None, "not measured")
    targets.append(target)
    if not os.path.exists(os.path.join(ctx.crate, "examples", "bench_map.rs")):
        t.add("pending", "examples/bench_map.rs is not written yet", "-", "-", "-")
        return
    runs = ctx.in_turn(lambda v: run_example(v, n))
    if isinstance(runs[""], str):
        t.add("error", runs[""], "-", "-", "-")
        return
    figures = medians(runs[""])
    m, ry, sq = (figures[k] for _, k in FIELDS)
    before = runs.get(ctx.baseline.label) if ctx.baseline else None
    before = medians(before) if isinstance(before, list) else before
    for name, key in FIELDS:
        v = figures[key]
        vs = ratio(v, before[key]) if key == FIELDS[0][1] and isinstance(before, dict) else "-"
        t.add(name, f"{v:.2f}", *(f"{v / b:.2f}x" if b else "-" for b in (m, ry, sq)),
              before=vs)
        if key == FIELDS[0][1] and ctx.baseline:
            b = before[key] if isinstance(before, dict) else None
            t.add(ctx.baseline.tool(name), f"{b:.2f}" if b else before,
                  *(f"{b / x:.2f}x" if b and x else "-" for x in (m, ry, sq)))
    t.notes.append("figures as measured and printed by examples/bench_map.rs (its own repeats; "
                   f"threads: {runs[''][0].get('threads', '?')})"
                   + (f"; median of {ctx.repeats} runs, the crates in turn" if ctx.baseline
                      else ""))
    if ry:
        target.met, target.evidence = m <= 2 * ry, f"{m / ry:.2f}x rayon's ns per job"


def run_example(ctx, n):
    """The figures examples/bench_map.rs of this variant's crate prints, or why there are
    none."""
    if not ctx.crate or not os.path.exists(os.path.join(ctx.crate, "examples", "bench_map.rs")):
        return f"not available: no crate with examples/bench_map.rs ({ctx.crate})"
    ctx.log(f"map: cargo run --release --example bench_map -- {n} (in {ctx.crate})")
    out = ctx.run_path("bench_map.out")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    r = run_once(["cargo", "run", "--quiet", "--release", "--example", "bench_map", "--",
                  str(n)], cwd=ctx.crate, stdout=out, timeout=1800)
    if r.code != 0:
        return f"bench_map failed: {r.error()}"
    figures = parse_last_json(out)
    if figures is None or any(not isinstance(figures.get(k), (int, float)) for _, k in FIELDS):
        return f"bench_map printed no JSON line with {', '.join(k for _, k in FIELDS)}"
    return figures


def medians(runs):
    """{key: median} over runs of bench_map's figures (the numeric ones)."""
    return {**runs[0], **{k: statistics.median(r[k] for r in runs) for _, k in FIELDS}}


def parse_last_json(path):
    with open(path) as f:
        lines = [l.strip() for l in f if l.strip().startswith("{")]
    for line in reversed(lines):
        try:
            return json.loads(line)
        except json.JSONDecodeError:
            continue
    return None
