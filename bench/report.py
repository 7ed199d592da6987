"""The benchmark report: markdown tables and the targets, as plain text.

Sections add tables and target checks to one Report; bench.py writes it to
target/bench/report.md and prints it.
"""

from dataclasses import dataclass, field


def seconds(s):
    return f"{s:.3f} s" if s < 100 else f"{s:.0f} s"


def ratio(a, b):
    """a / b as '1.23x', or '-' when either side is missing."""
    if a is None or b is None or b == 0:
        return "-"
    return f"{a / b:.2f}x"


def vs_before(case, value=lambda c: c.median):
    """A jobsplit row's figure over its --baseline row's (Case.before), or '-'."""
    before = case.before
    if before is None or not case.ok or not before.ok:
        return "-"
    return ratio(value(case), value(before))


def mib(kb):
    return f"{kb / 1024:.1f} MiB"


@dataclass
class Target:
    text: str          # the goal, e.g. "command jobs within 1.05x of the floor (per-round ratio)"
    met: object        # True, False, or None when it could not be measured
    evidence: str      # the figure that decides it

    def line(self):
        mark = {True: "met", False: "NOT met", None: "not measured"}[self.met]
        return f"- **{mark}**: {self.text} ({self.evidence})"


AFTER_BEFORE = "after / before"


@dataclass
class Table:
    title: str
    columns: list
    rows: list = field(default_factory=list)
    notes: list = field(default_factory=list)
    before: bool = False  # with --baseline: a last column, after / before

    def __post_init__(self):
        if self.before:
            self.columns = [*self.columns, AFTER_BEFORE]

    def add(self, *cells, before="-"):
        """A row; `before` fills the after / before column when the table has one."""
        if self.before:
            cells = (*cells, before)
        self.rows.append([str(c) for c in cells])

    def markdown(self):
        widths = [len(c) for c in self.columns]
        for r in self.rows:
            for i, c in enumerate(r):
                widths[i] = max(widths[i], len(c))

        def line(cells):
            return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths)) + " |"

        out = [f"### {self.title}", "", line(self.columns),
               "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
        out += [line(r) for r in self.rows]
        if self.notes:
            out.append("")
            out += [f"- {n}" for n in self.notes]
        return "\n".join(out) + "\n"


@dataclass
class Report:
    header: list = field(default_factory=list)
    sections: list = field(default_factory=list)   # (name, [Table | str])
    targets: list = field(default_factory=list)
    harness_errors: list = field(default_factory=list)

    def section(self, name):
        parts = []
        self.sections.append((name, parts))
        return parts

    def markdown(self):
        out = ["# jobsplit benchmark", ""] + self.header + [""]
        for name, parts in self.sections:
            out += [f"## {name}", ""]
            for p in parts:
                out.append(p.markdown() if isinstance(p, Table) else p + "\n")
        out += ["## Targets", ""]
        out += [t.line() for t in self.targets] or ["- (no section with a target was run)"]
        if self.harness_errors:
            out += ["", "## Harness errors", ""] + [f"- {e}" for e in self.harness_errors]
        return "\n".join(out) + "\n"
