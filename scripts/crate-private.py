#!/usr/bin/env python3
"""Makes every `pub` item the crate does not export `pub(crate)`, then drops the re-exports that
leaves unused.

The public surface is what src/lib.rs exports (and its hidden `testing` module, for tests/it);
every other `pub` is rustc's `unreachable_pub` (on in Cargo.toml's [lints]). cargo fix does not
apply that lint's suggestion (rustc marks it maybe-incorrect, and for a `pub use` list it would
hide the names still exported with the ones that are not), so this script does: it asks
`cargo check` for the warnings as JSON and writes `pub(crate)` where rustc suggests it; in a
`pub use` list that also holds exported names, it moves the unexported ones to a `pub(crate)
use` of their own. It repeats until nothing is unreachable (a re-export made crate-private can
leave the items it named unreachable), then `cargo fix` removes the imports nothing uses and
`cargo fmt` lays out what moved.

Repeatable: after merging a branch that added `pub` items, run `python3
scripts/crate-private.py` at the top of the repository. It changes nothing when nothing is
unreachable.
"""
import json
import re
import subprocess
import sys
from collections import defaultdict

# The library, the library with its unit tests (cfg(test)), and every target (tests/it,
# examples, the binary).
CHECKS = [
    ["cargo", "check", "--lib", "--message-format=json"],
    ["cargo", "check", "--lib", "--profile=test", "--message-format=json"],
    ["cargo", "check", "--all-targets", "--message-format=json"],
]


def diagnostics(cmd):
    """Each unreachable_pub warning: (file, suggestion span, its replacement, the flagged text)."""
    out = subprocess.run(cmd, capture_output=True, text=True, check=False).stdout
    found = set()
    for line in out.splitlines():
        try:
            m = json.loads(line)
        except json.JSONDecodeError:
            continue
        if m.get("reason") != "compiler-message":
            continue
        msg = m["message"]
        if (msg.get("code") or {}).get("code") != "unreachable_pub":
            continue
        primary = [s for s in msg["spans"] if s["is_primary"]]
        flagged = primary[0]["text"][0]["text"][
            primary[0]["text"][0]["highlight_start"] - 1 : primary[0]["text"][0]["highlight_end"] - 1
        ] if primary and primary[0].get("text") else ""
        for child in msg.get("children", []):
            for s in child.get("spans", []):
                if s.get("suggested_replacement") is not None:
                    found.add((s["file_name"], s["byte_start"], s["byte_end"],
                               s["suggested_replacement"], flagged))
    return found


def split_use(stmt, flagged):
    """`pub use P::{a, b, c};` with `flagged` names -> the statement(s) to write instead."""
    if "{" not in stmt:
        return "pub(crate)" + stmt[len("pub"):]
    m = re.fullmatch(r"pub use ([\w:]+)::\{(.*)\};", stmt, re.S)
    if not m:
        return None
    prefix, body = m.group(1), m.group(2)
    if "{" in body:
        return None
    leaves = [x.strip() for x in body.split(",") if x.strip()]

    def is_flagged(leaf):
        parts = leaf.split(" as ")
        return leaf in flagged or parts[0].strip() in flagged or parts[-1].strip() in flagged

    hidden = [x for x in leaves if is_flagged(x)]
    kept = [x for x in leaves if not is_flagged(x)]
    if not kept:
        return f"pub(crate) use {prefix}::{{{', '.join(hidden)}}};"
    return (f"pub use {prefix}::{{{', '.join(kept)}}};\n"
            f"pub(crate) use {prefix}::{{{', '.join(hidden)}}};")


def apply(found):
    """Writes the suggestions; returns how many places changed."""
    by_file = defaultdict(lambda: defaultdict(set))
    for f, a, b, r, flagged in found:
        by_file[f][(a, b, r)].add(flagged)
    changed = 0
    for f, edits in by_file.items():
        data = open(f, "rb").read()
        for (a, b, r), flagged in sorted(edits.items(), reverse=True):
            end = data.find(b";", b)
            rest = data[b:end + 1].decode()
            if data[a:b] == b"pub" and rest.lstrip().startswith("use ") and "\n\n" not in rest:
                stmt = "pub" + rest
                new = split_use(" ".join(stmt.split()), flagged)
                if new is None:
                    sys.exit(f"{f}: cannot split `{stmt}`: make its names crate-private by hand")
                data = data[:a] + new.encode() + data[end + 1:]
            else:
                data = data[:a] + r.encode() + data[b:]
            changed += 1
        open(f, "wb").write(data)
    return changed


def unused(cmd):
    """{(file, byte offset, name)} of every unused import `cmd` reports."""
    out = subprocess.run(cmd, capture_output=True, text=True, check=False).stdout
    found = set()
    for line in out.splitlines():
        try:
            m = json.loads(line)
        except json.JSONDecodeError:
            continue
        if m.get("reason") != "compiler-message":
            continue
        msg = m["message"]
        if (msg.get("code") or {}).get("code") != "unused_imports":
            continue
        for s in msg["spans"]:
            if s["is_primary"]:
                t = s["text"][0]
                name = t["text"][t["highlight_start"] - 1 : t["highlight_end"] - 1]
                found.add((s["file_name"], s["byte_start"], name))
    return found


USE = re.compile(rb"(?m)^([ \t]*)((?:pub(?:\([\w:]+\))? )?)use ([^;]*);")


def drop_unused_reexports():
    """Removes the imports unused in every build; those only tests use get `#[cfg(test)]`."""
    lib = unused(CHECKS[0])
    tests = unused(CHECKS[1])
    by_file = defaultdict(lambda: ({}, {}))
    for which, found in ((0, lib), (1, tests)):
        for f, at, name in found:
            by_file[f][which][at] = name
    for f, (in_lib, in_tests) in by_file.items():
        data = open(f, "rb").read()
        stmts = [m for m in USE.finditer(data)]
        for m in reversed(stmts):
            names_lib = {n for at, n in in_lib.items() if m.start() <= at < m.end()}
            names_all = {n for at, n in in_tests.items() if m.start() <= at < m.end()}
            if not names_lib and not names_all:
                continue
            indent, vis, body = (g.decode() for g in m.groups())
            body = " ".join(body.split())
            if "{" in body:
                prefix, leaves = body.split("::{", 1)
                if "{" in leaves:
                    sys.exit(f"{f}: cannot split `use {body};`: remove its unused names by hand")
                leaves = [x.strip() for x in leaves.rstrip("}").split(",") if x.strip()]
            else:
                prefix, leaves = None, [body]

            def last(leaf):
                return leaf.split(" as ")[-1].split("::")[-1].strip()

            # Unused in the test build too: gone. Unused only without tests: test-only.
            gone = [x for x in leaves if last(x) in names_all or x in names_all]
            test_only = [x for x in leaves if x not in gone
                         and (last(x) in names_lib or x in names_lib)]
            kept = [x for x in leaves if x not in gone and x not in test_only]

            def stmt(xs):
                if prefix is None:
                    return f"{indent}{vis}use {xs[0]};"
                return f"{indent}{vis}use {prefix}::{{{', '.join(xs)}}};"

            new = []
            if kept:
                new.append(stmt(kept))
            if test_only:
                new.append(f"{indent}#[cfg(test)]\n" + stmt(test_only))
            end = m.end()
            if not new and data[end:end + 1] == b"\n":
                end += 1  # the whole line goes
            data = data[:m.start()] + "\n".join(new).encode() + data[end:]
        open(f, "wb").write(data)


def main():
    for round_ in range(1, 20):
        found = set()
        for cmd in CHECKS:
            found |= diagnostics(cmd)
        if not found:
            break
        print(f"round {round_}: {apply(found)} places made crate-private", file=sys.stderr)
    else:
        sys.exit("unreachable pub items remain after 19 rounds")
    drop_unused_reexports()
    subprocess.run(["cargo", "fmt"], check=True)


if __name__ == "__main__":
    main()
