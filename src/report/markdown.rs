//! The report as Markdown, for a terminal or a pull request: the totals, the per-machine table
//! (throughput, busy and idle time, suggested weights), the duration spread, and the failures
//! with their error and last log lines. Every input string is escaped: control characters as
//! Rust escapes (as everywhere jobsplit prints), Markdown's punctuation with a backslash in
//! table cells (so no `|` breaks a table and no `<tag>` renders), and log lines inside a fence
//! longer than any run of `~` in them.

use std::fmt::Write as _;

use super::Report;
use crate::model::{Status, Tally};

/// The Markdown text.
pub(crate) fn render(r: &Report) -> String {
    let mut o = String::new();
    let n = r.rows.i.len();
    let _ = writeln!(o, "# jobsplit report: {}\n", cell(&r.source));
    // Attempts by status (a tally of rows, not of jobs).
    let mut attempts = Tally::default();
    for &s in &r.rows.s {
        attempts.add(Status::from_code(s));
    }
    let _ = writeln!(
        o,
        "{} jobs in the work, {n} attempts recorded: {}.\n",
        r.jobs_total,
        Status::ALL
            .iter()
            .map(|&s| format!("{} {s}", attempts.get(s)))
            .collect::<Vec<_>>()
            .join(", ")
    );
    machines(&mut o, r);
    durations(&mut o, r);
    failures(&mut o, r);
    for w in &r.warnings {
        let _ = writeln!(o, "\nwarning: {}", cell(w));
    }
    o
}

/// The per-machine table.
fn machines(o: &mut String, r: &Report) {
    *o += "## Machines\n\n";
    *o += "| machine | cores | weight | jobs ok | attempts | wall s | busy s | idle core-s | jobs/s | jobs/core-s | suggested weight |\n";
    *o += "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n";
    for m in &r.machines {
        let idle = (m.wall_s * m.cores as f64 - m.busy_s).max(0.0);
        let rate = if m.wall_s > 0.0 {
            m.jobs as f64 / m.wall_s
        } else {
            0.0
        };
        let _ = writeln!(
            o,
            "| {} | {} | {} | {} | {} | {:.1} | {:.1} | {:.1} | {:.3} | {:.3} | {} |",
            cell(&m.name),
            m.cores,
            m.weight,
            m.jobs,
            m.attempts,
            m.wall_s,
            m.busy_s,
            idle,
            rate,
            m.jobs_per_core_s,
            m.suggested_weight.map_or("-".to_owned(), |w| w.to_string())
        );
    }
}

/// The spread of the attempts' durations.
fn durations(o: &mut String, r: &Report) {
    *o += "\n## Durations\n\n";
    let mut d: Vec<f64> = r.rows.d.clone();
    d.sort_by(f64::total_cmp);
    if d.is_empty() {
        *o += "No attempts recorded.\n";
    } else {
        let q = |p: f64| d[((d.len() - 1) as f64 * p).round() as usize];
        let _ = writeln!(
            o,
            "| min | p50 | p90 | p99 | max | mean |\n|--:|--:|--:|--:|--:|--:|\n| {:.3} | {:.3} | {:.3} | {:.3} | {:.3} | {:.3} |",
            d[0],
            q(0.5),
            q(0.9),
            q(0.99),
            d[d.len() - 1],
            d.iter().sum::<f64>() / d.len() as f64
        );
    }
}

/// The failed jobs, with their error and last log lines.
fn failures(o: &mut String, r: &Report) {
    let _ = writeln!(
        o,
        "\n## Failures ({})\n",
        r.failures.len() as u64 + r.failures_left_out
    );
    if r.failures.is_empty() {
        *o += "None.\n";
    }
    for f in &r.failures {
        let _ = writeln!(
            o,
            "### job {} ({} on {}, attempt {})\n\n{}\n",
            f.index,
            f.status,
            cell(&f.machine),
            f.attempt,
            if f.error.is_empty() {
                "(no error recorded)".to_owned()
            } else {
                cell(&f.error)
            }
        );
        if !f.log.is_empty() {
            let lines: Vec<String> = f
                .log
                .iter()
                .map(|l| crate::text::escape(l).into_owned())
                .collect();
            let longest = lines
                .iter()
                .map(|l| l.split(|c| c != '~').map(str::len).max().unwrap_or(0))
                .max()
                .unwrap_or(0);
            let fence = "~".repeat(longest.max(2) + 1);
            let _ = writeln!(o, "{fence}\n{}\n{fence}\n", lines.join("\n"));
        }
    }
    if r.failures_left_out > 0 {
        let _ = writeln!(
            o,
            "… and {} more failed jobs (see results.csv).",
            r.failures_left_out
        );
    }
}

/// Text for a table cell or a paragraph: control characters escaped, Markdown punctuation
/// backslashed.
fn cell(s: &str) -> String {
    let s = crate::text::escape(s);
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(
            c,
            '\\' | '`'
                | '*'
                | '_'
                | '['
                | ']'
                | '<'
                | '>'
                | '|'
                | '#'
                | '!'
                | '~'
                | '&'
                | '('
                | ')'
        ) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::cell;

    #[test]
    fn cells_cannot_break_a_table_or_render_markup() {
        assert_eq!(cell("a|b"), "a\\|b");
        assert_eq!(cell("<img onerror=x>"), "\\<img onerror=x\\>");
        assert_eq!(cell("two\nlines"), r"two\\nlines");
    }
}
