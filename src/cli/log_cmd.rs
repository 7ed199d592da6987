//! `jobsplit log DIR [JOB...]`: one job's lines, every attempt, in time order, from a machine
//! directory, an `OUT` tree or a merged directory, with attempt and stream; `--stream` keeps
//! one stream, `--attempt N` one attempt, `--failed` the attempts that failed; `--json` prints
//! one object per line, `--tsv` a table (see `log_format`).
//!
//! `--failed` keeps every attempt that ended in failure, a retried one included: debugging a
//! failure starts from why it failed, and a flaky job's failed first attempt is often the only
//! trace of the problem. With one attempt per job (no retries) that is the jobs that failed for
//! good. It reads each log twice (first to find the failed attempts, then to print their lines),
//! so memory stays bounded whatever the log's size.
//!
//! log.gz lines carry no attempt number: a failed attempt ends with an `event` line
//! `attempt N STATUS: ...`, so a job's lines in one log belong to attempt 1 until such a line,
//! then to the attempt after it.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Result;

use super::args::LogArgs;
use super::exit;
use super::log_format::{Format, JobLine};
use super::term::errln;
use crate::merge::{find_machine_dirs, Summary};
use crate::output::log::LogReader;
use crate::output::manifest::Manifest;

/// Which lines to keep.
struct Filter<'a> {
    jobs: BTreeSet<u64>,
    stream: Option<&'a str>,
    attempt: Option<u32>,
    failed: bool,
}

pub(crate) fn run(args: &LogArgs) -> Result<u8> {
    let filter = Filter {
        jobs: args.jobs.iter().copied().collect(),
        stream: args.stream.as_deref(),
        attempt: args.attempt,
        failed: args.failed,
    };
    let format = if args.json {
        Format::Json
    } else if args.tsv {
        Format::Tsv
    } else {
        Format::Plain
    };
    if args.view.remote {
        return remote(args, format);
    }
    let logs = logs_of(&args.dir)?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    format.start(&mut out)?;
    if let [log] = logs.as_slice() {
        // One log is in time order already: printed as it is read.
        read_log(log, &filter, &mut |l| format.line(&mut out, &l))?;
    } else {
        // Several are merged by time (fixed width, so byte order), a job's own lines keeping
        // their order; only the lines asked for are held.
        let mut lines = Vec::new();
        for log in &logs {
            read_log(log, &filter, &mut |l| {
                lines.push(l);
                Ok(())
            })?;
        }
        lines.sort_by(|a, b| a.time.cmp(&b.time));
        for l in &lines {
            format.line(&mut out, l)?;
        }
    }
    out.flush()?;
    Ok(exit::OK)
}

/// `log --remote`: the lines asked for, read on every host of the launched study there.
fn remote(args: &LogArgs, format: Format) -> Result<u8> {
    let mut flags: Vec<String> = args.jobs.iter().map(u64::to_string).collect();
    if let Some(s) = &args.stream {
        flags.extend(["--stream".to_owned(), s.clone()]);
    }
    if let Some(n) = args.attempt {
        flags.extend(["--attempt".to_owned(), n.to_string()]);
    }
    if args.failed {
        flags.push("--failed".to_owned());
    }
    let input = super::args::InputArgs::of_config(args.config.clone());
    let (lines, code) = super::remote_view::log_lines(&args.view, &input, &args.dir, &flags)?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    format.start(&mut out)?;
    for l in &lines {
        format.line(&mut out, l)?;
    }
    out.flush()?;
    Ok(code)
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

/// One line of a log split into its fields; None for a run event or a line that is not whole.
fn fields(raw: &str) -> Option<(&str, u64, &str, &str)> {
    let mut f = raw.splitn(4, '\t');
    let (time, job, s, text) = (f.next()?, f.next()?, f.next()?, f.next()?);
    Some((time, job.parse().ok()?, s, text))
}

/// The (job, attempt) pairs of `log` that ended in failure (an `attempt N STATUS` event).
fn failed_attempts(log: &Path, jobs: &BTreeSet<u64>) -> Result<HashSet<(u64, u32)>> {
    let mut failed = HashSet::new();
    let mut r = LogReader::open(log)?;
    while let Some(raw) = r.next_line() {
        let raw = String::from_utf8_lossy(raw);
        let Some((_, job, s, text)) = fields(&raw) else {
            continue;
        };
        if s == "event" && (jobs.is_empty() || jobs.contains(&job)) {
            if let Some(n) = ended_attempt(text) {
                failed.insert((job, n));
            }
        }
    }
    Ok(failed)
}

/// Hands the lines `filter` keeps in `log` to `sink`, in the log's order.
fn read_log(
    log: &Path,
    filter: &Filter,
    sink: &mut dyn FnMut(JobLine) -> std::io::Result<()>,
) -> Result<()> {
    if !log.is_file() {
        return Ok(());
    }
    let jobs = &filter.jobs;
    let failed = match filter.failed {
        true => Some(failed_attempts(log, jobs)?),
        false => None,
    };
    let mut r = LogReader::open(log)?;
    // Per job, the attempt its next line belongs to.
    let mut attempt: BTreeMap<u64, u32> = BTreeMap::new();
    while let Some(raw) = r.next_line() {
        let raw = String::from_utf8_lossy(raw);
        let Some((time, job, s, text)) = fields(&raw) else {
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
        let keep = filter.stream.is_none_or(|want| want == s)
            && filter.attempt.is_none_or(|want| want == this)
            && failed.as_ref().is_none_or(|f| f.contains(&(job, this)));
        if keep {
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
