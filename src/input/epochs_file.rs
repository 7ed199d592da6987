//! The epochs file of a job list that grows (docs/split-v1.md section 7.1), its codec: where
//! each epoch ends and the list digest E_e that pins its jobs, read, and extended by lines
//! under a lock. How a list is cut into epochs and checked against them: `epochs.rs`.

use std::io::{Read as _, Seek as _, Write as _};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::plan::{Digest, EpochSpan};

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
    /// reads unless the epoch is written to a new file (`epochs::hashed_from_start`): it costs a
    /// SHA-256 pass over the whole list.
    pub list_digest: Option<Digest>,
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

/// What recording epochs did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Recorded {
    /// The file holds every epoch of the list (written now or before).
    Done,
    /// Another run changed the file since the list was read: read it again and plan again.
    Raced,
}

/// Appends the lines of `epochs` from `recorded` on to the epochs file at `path`, under an
/// exclusive lock on it, if it still holds exactly `epochs[..recorded]`.
///
/// # Errors
/// If the file cannot be created, locked, read or written.
pub(super) fn append(path: &Path, epochs: &[EpochRecord], recorded: usize) -> Result<Recorded> {
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
    if now[..] != epochs[..recorded] {
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
    text += &lines(epochs, recorded);
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
