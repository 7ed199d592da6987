//! `jobsplit log DIR [JOB...]`: one job's lines, every attempt, in time order, from a machine
//! directory, an `OUT` tree or a merged directory, with attempt and stream; `--stream` keeps
//! one stream, `--json` prints one object per line.
//!
//! log.gz lines carry no attempt number: a failed attempt ends with an `event` line
//! `attempt N STATUS: ...`, so a job's lines in one log belong to attempt 1 until such a line,
//! then to the attempt after it.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Result;

use super::args::LogArgs;
use super::exit;
use super::term::errln;
use crate::merge::{find_machine_dirs, Summary};
use crate::output::log::LogReader;
use crate::output::manifest::Manifest;

/// One line of one job.
struct JobLine {
    time: String,
    job: u64,
    attempt: u32,
    stream: String,
    text: String,
}

pub(crate) fn run(args: &LogArgs) -> Result<u8> {
    let jobs: BTreeSet<u64> = args.jobs.iter().copied().collect();
    let logs = logs_of(&args.dir)?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let stream = args.stream.as_deref();
    if let [log] = logs.as_slice() {
        // One log is in time order already: printed as it is read.
        read_log(log, &jobs, stream, &mut |l| print(&mut out, &l, args.json))?;
    } else {
        // Several are merged by time (fixed width, so byte order), a job's own lines keeping
        // their order; only the lines asked for are held.
        let mut lines = Vec::new();
        for log in &logs {
            read_log(log, &jobs, stream, &mut |l| {
                lines.push(l);
                Ok(())
            })?;
        }
        lines.sort_by(|a, b| a.time.cmp(&b.time));
        for l in &lines {
            print(&mut out, l, args.json)?;
        }
    }
    out.flush()?;
    Ok(exit::OK)
}

fn print(out: &mut impl std::io::Write, l: &JobLine, json: bool) -> std::io::Result<()> {
    if json {
        let obj = serde_json::json!({
            "time": l.time, "job": l.job, "attempt": l.attempt, "stream": l.stream, "text": l.text,
        });
        writeln!(out, "{obj}")
    } else {
        writeln!(
            out,
            "{}  job {}  attempt {}  {}  {}",
            l.time,
            l.job,
            l.attempt,
            l.stream,
            crate::text::escape(&l.text)
        )
    }
}

/// The logs to read: DIR's own log.gz for a machine or merged directory, else those of the
/// machine directories below it (a merged directory among them is passed over, as merge does).
fn logs_of(dir: &Path) -> Result<Vec<PathBuf>> {
    if dir.join(Manifest::FILE).is_file() || dir.join(Summary::FILE).is_file() {
        return Ok(vec![dir.join("log.gz")]);
    }
    Ok(find_machine_dirs(&[dir.to_path_buf()])?
        .into_iter()
        .map(|m| m.dir.join("log.gz"))
        .collect())
}

/// Hands the lines of `jobs` (every job when empty) in `log` to `sink`, in the log's order.
fn read_log(
    log: &Path,
    jobs: &BTreeSet<u64>,
    stream: Option<&str>,
    sink: &mut dyn FnMut(JobLine) -> std::io::Result<()>,
) -> Result<()> {
    if !log.is_file() {
        return Ok(());
    }
    let mut r = LogReader::open(log)?;
    // Per job, the attempt its next line belongs to.
    let mut attempt: BTreeMap<u64, u32> = BTreeMap::new();
    while let Some(raw) = r.next_line() {
        let raw = String::from_utf8_lossy(raw);
        let mut f = raw.splitn(4, '\t');
        let (Some(time), Some(job), Some(s), Some(text)) = (f.next(), f.next(), f.next(), f.next())
        else {
            continue;
        };
        let Ok(job) = job.parse::<u64>() else {
            continue; // a run event (`-`)
        };
        if !jobs.is_empty() && !jobs.contains(&job) {
            continue;
        }
        let current = attempt.entry(job).or_insert(1);
        let mut this = *current;
        if s == "event" {
            if let Some(n) = ended_attempt(text) {
                this = n;
                *current = n.saturating_add(1);
            }
        }
        if stream.is_none_or(|want| want == s) {
            sink(JobLine {
                time: time.to_owned(),
                job,
                attempt: this,
                stream: s.to_owned(),
                text: text.to_owned(),
            })?;
        }
    }
    if let Some(w) = r.warning() {
        errln!("warning: {}", crate::text::escape(w));
    }
    Ok(())
}

/// N in the event line `attempt N STATUS: ERROR` that ends a failed attempt.
fn ended_attempt(text: &str) -> Option<u32> {
    text.strip_prefix("attempt ")?
        .split(' ')
        .next()?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::ended_attempt;

    #[test]
    fn reads_the_attempt_a_failure_event_ends() {
        assert_eq!(ended_attempt("attempt 3 failed: exit code 1: why"), Some(3));
        assert_eq!(
            ended_attempt("attempt 12 timeout: timed out after 2.0s"),
            Some(12)
        );
        assert_eq!(ended_attempt("poll failed: EINTR"), None);
        assert_eq!(ended_attempt("attempt x failed"), None);
    }
}
