//! The epochs file of a job list that grows (docs/split-v1.md section 7.1): where each epoch
//! ends and the list digest E_e that pins its jobs, read, checked against the list, and
//! extended by one line under a lock.

use std::io::{Read as _, Seek as _, Write as _};
use std::path::{Path, PathBuf};

use super::format::Format;
use super::jobs::JobList;
use crate::error::{Error, Result};
use crate::plan::{list_digest, Digest, EpochSpan};

/// The first line of an epochs file.
const HEADER: &str = "jobsplit-epochs v1";

/// How long a run waits for another to finish recording an epoch.
const LOCK_PATIENCE: std::time::Duration = std::time::Duration::from_secs(10);

/// The epochs file of the job list at `list`: its path with `.epochs` appended.
pub(crate) fn epochs_path(list: &Path) -> PathBuf {
    let mut name = list.as_os_str().to_owned();
    name.push(".epochs");
    PathBuf::from(name)
}

/// One line of an epochs file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EpochRecord {
    /// The epoch's jobs.
    pub span: EpochSpan,
    /// E_e; `None` for a list read as one epoch with no epochs file, whose digest nothing
    /// reads unless the epoch is written to a new file ([`hashed_from_start`]): it costs a
    /// SHA-256 pass over the whole list.
    pub list_digest: Option<Digest>,
}

/// What to do with jobs after the last recorded epoch.
#[derive(Debug, Clone, Copy, Default)]
pub struct Grow {
    /// Make the finished pending jobs a new epoch (to be recorded by `record_epochs`): `run`.
    pub pending: bool,
    /// Without an epochs file: epoch 0's length, from an earlier run's output (its manifest),
    /// when the list now holds more jobs.
    pub first_epoch: Option<u64>,
}

/// How a job list is cut into epochs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Growth {
    /// Every epoch: those the file records, then any new one.
    pub epochs: Vec<EpochRecord>,
    /// How many of `epochs` the file records already.
    pub recorded: usize,
    /// Jobs after the last epoch: not in any plan yet.
    pub pending: u64,
    /// The epochs file.
    pub file: PathBuf,
}

impl Growth {
    /// The epochs' spans, in order.
    pub fn spans(&self) -> Vec<EpochSpan> {
        self.epochs.iter().map(|e| e.span).collect()
    }
}

/// Reads the list at `path` with its epochs (the list cut to the jobs of its epochs). Without an epochs file (and without
/// `grow.first_epoch` below the list's length) the list is one epoch, read exactly as
/// [`JobList::load`] reads it.
///
/// # Errors
/// As [`JobList::load`]; an epochs file that does not read; a list that no longer holds the
/// jobs its epochs record (edited, shortened): one line naming the list, the epoch and the fix.
pub fn load_growing(path: &Path, format: Format, grow: Grow) -> Result<(JobList, Growth)> {
    let file = epochs_path(path);
    let records = read_epochs(&file)?;
    if records.is_none() && grow.first_epoch.is_none() {
        return Ok(one_epoch(JobList::load(path, format)?, file));
    }
    let list = JobList::load_growing(path, format)?;
    cut(list, file, records, grow, |_| JobList::load(path, format))
}

/// The jobs a program supplies (a `Splitter`'s items) with the epochs recorded for them in
/// `file`: the same rule as [`load_growing`] for a list read from a file.
///
/// # Errors
/// As [`load_growing`].
pub(crate) fn grow_items(list: JobList, file: PathBuf, grow: Grow) -> Result<(JobList, Growth)> {
    let records = read_epochs(&file)?;
    cut(list, file, records, grow, Ok)
}

/// A list of one epoch: nothing to record, so its list digest is not computed.
fn one_epoch(list: JobList, file: PathBuf) -> (JobList, Growth) {
    let epochs = vec![EpochRecord {
        span: EpochSpan {
            first: 0,
            jobs: list.len(),
        },
        list_digest: None,
    }];
    let growth = Growth {
        epochs,
        recorded: 1,
        pending: 0,
        file,
    };
    (list, growth)
}

/// `list` cut into the epochs `records` holds (from `file`), and one more as `grow` says;
/// `whole` reads the list as one epoch when it turns out to be one (a file strictly again).
fn cut(
    mut list: JobList,
    file: PathBuf,
    records: Option<Vec<EpochRecord>>,
    grow: Grow,
    whole: impl FnOnce(JobList) -> Result<JobList>,
) -> Result<(JobList, Growth)> {
    let first_epoch = grow.first_epoch.filter(|_| records.is_none());
    if records.is_none() && first_epoch.is_none() {
        return Ok(one_epoch(whole(list)?, file));
    }
    let mut epochs = records.unwrap_or_default();
    check(&list, &epochs, &file)?;
    let recorded = epochs.len();
    if let Some(n0) = first_epoch {
        if n0 == 0 || n0 >= list.terminated() {
            return Ok(one_epoch(whole(list)?, file));
        }
        epochs = extend(&list, &epochs, n0);
    }
    let end = epochs.last().map_or(0, |e| e.span.end());
    let ready = list.terminated();
    if grow.pending && ready > end {
        epochs = extend(&list, &epochs, ready);
    }
    let end = epochs.last().map_or(0, |e| e.span.end());
    let pending = list.len() - end;
    list.truncate(end);
    let growth = Growth {
        epochs,
        recorded,
        pending,
        file,
    };
    Ok((list, growth))
}

/// `epochs` and one more epoch ending at job `end`, with its list digest.
fn extend(list: &JobList, epochs: &[EpochRecord], end: u64) -> Vec<EpochRecord> {
    let mut out = hashed(list, epochs);
    let (first, previous) = out
        .last()
        .map_or((0, None), |e| (e.span.end(), e.list_digest));
    let previous = previous.unwrap_or(Digest([0; 32]));
    let span = EpochSpan {
        first,
        jobs: end - first,
    };
    let bytes = (first..end).map(|i| list.job_bytes(i));
    out.push(EpochRecord {
        span,
        list_digest: Some(list_digest(&previous, span, bytes)),
    });
    out
}

/// `epochs` with every list digest computed (those not computed yet, in chain order).
fn hashed(list: &JobList, epochs: &[EpochRecord]) -> Vec<EpochRecord> {
    let mut previous = Digest([0; 32]);
    let mut out = Vec::with_capacity(epochs.len() + 1);
    for r in epochs {
        let digest = r.list_digest.unwrap_or_else(|| {
            let bytes = (r.span.first..r.span.end()).map(|i| list.job_bytes(i));
            list_digest(&previous, r.span, bytes)
        });
        out.push(EpochRecord {
            span: r.span,
            list_digest: Some(digest),
        });
        previous = digest;
    }
    out
}

/// `growth` to be written to a new epochs file from its first epoch on (`launch` records a
/// list read as one epoch, so that the hosts' later runs see it grow): every list digest
/// computed, none recorded.
pub(crate) fn hashed_from_start(list: &JobList, growth: Growth) -> Growth {
    Growth {
        epochs: hashed(list, &growth.epochs),
        recorded: 0,
        ..growth
    }
}

/// Refuses a list that does not reproduce every recorded epoch.
fn check(list: &JobList, records: &[EpochRecord], file: &Path) -> Result<()> {
    let path = list.path().display();
    let fix = format!(
        "a job list grows only by appending jobs at its end: restore the earlier jobs, or start a new study (move {} and the output aside)",
        file.display()
    );
    let Some(last) = records.last() else {
        return Ok(());
    };
    if list.len() < last.span.end() {
        return Err(Error::epochs(
            Some(list.path()),
            None,
            format!(
                "{path} holds {} jobs but {} records {} in {} epochs: it was shortened; {fix}",
                list.len(),
                file.display(),
                last.span.end(),
                records.len()
            ),
        ));
    }
    let mut previous = Digest([0; 32]);
    for (e, r) in records.iter().enumerate() {
        let bytes = (r.span.first..r.span.end()).map(|i| list.job_bytes(i));
        let digest = list_digest(&previous, r.span, bytes);
        if Some(digest) != r.list_digest {
            return Err(Error::epochs(
                Some(list.path()),
                list.line_of(r.span.first),
                format!(
                    "epoch {e} (jobs {} to {}) is not what {} records: the list was edited; {fix}",
                    r.span.first,
                    r.span.end() - 1,
                    file.display()
                ),
            ));
        }
        previous = digest;
    }
    Ok(())
}

/// Reads an epochs file: `None` when there is none, or when it holds no whole epoch line yet
/// (a run is writing its first lines: it was created empty under its lock, and a reader must
/// not take it for a list of no epochs). A last line without `\n` (a writer cut short) is left
/// out.
///
/// # Errors
/// An unreadable file, or a line that is not what section 7.1 specifies (naming it).
pub(crate) fn read_epochs(file: &Path) -> Result<Option<Vec<EpochRecord>>> {
    match std::fs::read(file) {
        Ok(bytes) => parse(file, &bytes).map(|r| (!r.is_empty()).then_some(r)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io(file, e)),
    }
}

fn parse(file: &Path, bytes: &[u8]) -> Result<Vec<EpochRecord>> {
    let whole = memchr::memrchr(b'\n', bytes).map_or(0, |p| p + 1);
    let text = std::str::from_utf8(&bytes[..whole])
        .map_err(|_| Error::epochs(Some(file), None, "not UTF-8: restore the epochs file"))?;
    let mut out: Vec<EpochRecord> = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let lineno = n as u64 + 1;
        let bad = |what: &str| {
            Error::epochs(
                Some(file),
                Some(lineno),
                format!("{what}: this file is written by jobsplit run; restore it from the study (never edit it)"),
            )
        };
        if n == 0 {
            if line != HEADER {
                return Err(bad(&format!("the first line must be `{HEADER}`")));
            }
            continue;
        }
        let f: Vec<&str> = line.split(' ').collect();
        let num = |s: &str| {
            s.parse::<u64>()
                .ok()
                .filter(|_| s.bytes().all(|b| b.is_ascii_digit()))
        };
        let (Some(e), Some(first), Some(jobs), Some(hex)) = (
            f.first().and_then(|s| num(s)),
            f.get(1).and_then(|s| num(s)),
            f.get(2).and_then(|s| num(s)),
            f.get(3).and_then(|s| digest_of(s)),
        ) else {
            return Err(bad("not `EPOCH FIRST JOBS DIGEST`"));
        };
        let expected_first = out.last().map_or(0, |r| r.span.end());
        if f.len() != 4 || e != out.len() as u64 || first != expected_first || jobs == 0 {
            return Err(bad(&format!(
                "expected epoch {} starting at job {expected_first} with at least one job",
                out.len()
            )));
        }
        out.push(EpochRecord {
            span: EpochSpan { first, jobs },
            list_digest: Some(hex),
        });
    }
    if whole > 0 && out.is_empty() && !text.starts_with(HEADER) {
        return Err(Error::epochs(Some(file), Some(1), "not an epochs file"));
    }
    Ok(out)
}

fn digest_of(hex: &str) -> Option<Digest> {
    let mut out = [0u8; 32];
    (hex.len() == 64 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
        .then(|| hex::decode_to_slice(hex, &mut out).ok())
        .flatten()
        .map(|()| Digest(out))
}

/// The lines of `records` from epoch `from` on, as the file holds them.
fn lines(records: &[EpochRecord], from: usize) -> String {
    let mut s = String::new();
    for (e, r) in records.iter().enumerate().skip(from) {
        s += &format!(
            "{e} {} {} {}\n",
            r.span.first,
            r.span.jobs,
            r.list_digest.map_or_else(String::new, |d| d.hex())
        );
    }
    s
}

/// What [`record_epochs`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Recorded {
    /// The file holds every epoch of the list (written now or before).
    Done,
    /// Another run changed the file since the list was read: read it again and plan again.
    Raced,
}

/// Records the epochs of `growing` that the file does not hold yet, under an exclusive lock
/// on the file, if the file still holds exactly the epochs it held when the list was read.
///
/// # Errors
/// If the file cannot be created, locked, read or written.
pub(crate) fn record_epochs(growing: &Growth) -> Result<Recorded> {
    if growing.recorded >= growing.epochs.len() {
        return Ok(Recorded::Done);
    }
    if growing.epochs[growing.recorded..]
        .iter()
        .any(|r| r.list_digest.is_none())
    {
        return Err(Error::Internal {
            message: format!(
                "an epoch of {} to record has no list digest",
                growing.file.display()
            ),
        });
    }
    let path = &growing.file;
    let io = |e| Error::io(path, e);
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .open(path)
        .map_err(io)?;
    let waited = std::time::Instant::now();
    while !crate::sys::try_lock_exclusive(&file).map_err(io)? {
        if waited.elapsed() > LOCK_PATIENCE {
            return Err(Error::locked(format!(
                "{} stays locked by another run: wait for it, then run again",
                path.display()
            )));
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes).map_err(io)?;
    let now = parse(path, &bytes)?;
    if now[..] != growing.epochs[..growing.recorded] {
        return Ok(Recorded::Raced);
    }
    // Whole lines only: a line a killed writer left cut short goes.
    let whole = memchr::memrchr(b'\n', &bytes).map_or(0, |p| p + 1);
    file.set_len(whole as u64).map_err(io)?;
    file.seek(std::io::SeekFrom::Start(whole as u64))
        .map_err(io)?;
    let mut text = if whole == 0 {
        format!("{HEADER}\n")
    } else {
        String::new()
    };
    text += &lines(&growing.epochs, growing.recorded);
    file.write_all(text.as_bytes()).map_err(io)?;
    file.sync_data().map_err(io)?;
    Ok(Recorded::Done)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cut_short_last_line_is_left_out_and_a_bad_line_is_refused() {
        let p = Path::new("j.epochs");
        let d = "ab".repeat(32);
        let text = format!("{HEADER}\n0 0 5 {d}\n1 5 2 {d}");
        let r = parse(p, text.as_bytes()).unwrap();
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].span, EpochSpan { first: 0, jobs: 5 });
        let bad = format!("{HEADER}\n0 0 5 {d}\n1 4 2 {d}\n");
        let e = parse(p, bad.as_bytes()).unwrap_err().to_string();
        assert!(e.contains("j.epochs:3"), "{e}");
        assert_eq!(
            parse(p, b"nope\n").unwrap_err().kind(),
            crate::ErrorKind::Epochs
        );
        assert_eq!(lines(&r, 0), format!("0 0 5 {d}\n"));
    }
}
