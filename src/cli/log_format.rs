//! How `jobsplit log` prints a line: plain (aligned, the text escaped), `--json` (one object per
//! line) or `--tsv` (a header, then tab-separated fields with the text always quoted).
//!
//! The TSV quoting is RFC 4180's with a tab for the comma: the text field is always wrapped in
//! `"` and a `"` inside it is doubled; tabs, CR, LF and backslashes stay as they are inside the
//! quotes. pandas, polars, duckdb and R's `read.delim` all read that back exactly (the other
//! fields never hold a tab, quote or line end). Escaping with backslashes instead would need each
//! reader told how, and a bare `"` at the start of a field is what made them swallow lines.

use std::io::Write;

/// One line of one job (as `--json` prints it).
#[derive(serde::Deserialize)]
pub(super) struct JobLine {
    pub(super) time: String,
    pub(super) job: u64,
    pub(super) attempt: u32,
    pub(super) stream: String,
    pub(super) text: String,
}

/// The output format picked by the flags.
#[derive(Clone, Copy)]
pub(super) enum Format {
    Plain,
    Json,
    Tsv,
}

impl Format {
    /// What comes before the first line (the TSV header).
    pub(super) fn start(self, out: &mut impl Write) -> std::io::Result<()> {
        match self {
            Format::Tsv => writeln!(out, "time\tjob\tattempt\tstream\ttext"),
            Format::Plain | Format::Json => Ok(()),
        }
    }

    pub(super) fn line(self, out: &mut impl Write, l: &JobLine) -> std::io::Result<()> {
        match self {
            Format::Json => {
                let obj = serde_json::json!({
                    "time": l.time, "job": l.job, "attempt": l.attempt,
                    "stream": l.stream, "text": l.text,
                });
                writeln!(out, "{obj}")
            }
            Format::Tsv => {
                write!(out, "{}\t{}\t{}\t{}\t", l.time, l.job, l.attempt, l.stream)?;
                write_quoted(out, &l.text)?;
                out.write_all(b"\n")
            }
            Format::Plain => writeln!(
                out,
                "{}  job {}  attempt {}  {}  {}",
                l.time,
                l.job,
                l.attempt,
                l.stream,
                crate::text::escape(&l.text)
            ),
        }
    }
}

/// `text` in double quotes, each `"` in it doubled.
fn write_quoted(out: &mut impl Write, text: &str) -> std::io::Result<()> {
    out.write_all(b"\"")?;
    let mut rest = text;
    while let Some(i) = rest.find('"') {
        out.write_all(&rest.as_bytes()[..=i])?;
        out.write_all(b"\"")?;
        rest = &rest[i + 1..];
    }
    out.write_all(rest.as_bytes())?;
    out.write_all(b"\"")
}

#[cfg(test)]
mod tests {
    use super::write_quoted;

    fn quoted(s: &str) -> String {
        let mut v = Vec::new();
        write_quoted(&mut v, s).unwrap();
        String::from_utf8(v).unwrap()
    }

    #[test]
    fn quotes_are_doubled_and_the_rest_kept() {
        assert_eq!(quoted(""), r#""""#);
        assert_eq!(quoted(r#"say "hi""#), r#""say ""hi""""#);
        assert_eq!(quoted("a\tb\\c\r"), "\"a\tb\\c\r\"");
    }
}
