//! Reopening a log.gz that does not end in whole gzip members: never a byte destroyed.
//!
//! The good prefix is the longest run of whole members from the start. Whatever follows it (a
//! member cut short by a crash, or a damaged member, with everything after it) is copied to
//! `log.gz.damaged-<time>` beside the log, synced, and only then cut from the log, so that
//! appending goes on after whole members and `zcat log.gz` reads the whole file again.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use crate::error::{Error, Result};

/// Makes `path` end in whole gzip members, setting aside what follows them. Returns a warning
/// when something was set aside.
///
/// # Errors
/// A file that does not even start like gzip (it is never touched), or an I/O error (the log
/// is then left as it was).
pub(crate) fn repair(path: &Path) -> Result<Option<String>> {
    let io = |e| Error::io(path, e);
    let (good, why) = complete_prefix(path).map_err(io)?;
    let len = std::fs::metadata(path).map_err(io)?.len();
    if good == len {
        return Ok(None);
    }
    if good == 0 && !starts_like_gzip(path).map_err(io)? {
        return Err(not_gzip(path));
    }
    let aside = set_aside(path, good)?;
    let f = super::open_output(OpenOptions::new().write(true), path)?;
    f.set_len(good).map_err(io)?;
    f.sync_all().map_err(io)?;
    Ok(Some(format!(
        "{}: the {} bytes after its first {good} are not whole gzip members ({why}): set aside, \
         byte for byte, as damaged in {}; the log goes on after the whole members",
        path.display(),
        len - good,
        aside.display()
    )))
}

/// Refuses, reading only its first bytes, a file that is not gzip at all (as [`repair`]
/// would): it is not a jobsplit log.
///
/// # Errors
/// A file that is not gzip, or one that cannot be read.
pub(crate) fn check(path: &Path) -> Result<()> {
    let io = |e| Error::io(path, e);
    let len = std::fs::metadata(path).map_err(io)?.len();
    if len > 0 && !starts_like_gzip(path).map_err(io)? {
        return Err(not_gzip(path));
    }
    Ok(())
}

fn not_gzip(path: &Path) -> Error {
    Error::damaged(
        Some(path),
        None,
        "is not a gzip file, so not a jobsplit log: move it away (it is never truncated)",
    )
}

/// Copies `path` from byte `from` on into a new `<path>.damaged-<time>` beside it, synced.
fn set_aside(path: &Path, from: u64) -> Result<PathBuf> {
    let stamp = super::rfc3339(SystemTime::now()).replace([':', '.'], "-");
    let mut n = 1;
    let (target, mut out) = loop {
        let name = match n {
            1 => format!("{}.damaged-{stamp}", path.display()),
            _ => format!("{}.damaged-{stamp}-{n}", path.display()),
        };
        let target = PathBuf::from(name);
        // Created exclusively: an existing name (or a link) is never written through.
        match OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&target)
        {
            Ok(f) => break (target, f),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && n < 1000 => n += 1,
            Err(e) => return Err(Error::io(&target, e)),
        }
    };
    let copied = (|| -> std::io::Result<()> {
        let mut src = File::open(path)?;
        src.seek(SeekFrom::Start(from))?;
        std::io::copy(&mut src, &mut out)?;
        out.flush()?;
        out.sync_all()
    })();
    if let Err(e) = copied {
        let _ = std::fs::remove_file(&target);
        return Err(Error::io(&target, e));
    }
    super::sync_dir(&target);
    Ok(target)
}

/// True if the file starts with the gzip magic bytes (or is too short to tell).
fn starts_like_gzip(path: &Path) -> std::io::Result<bool> {
    let mut head = [0u8; 2];
    let n = File::open(path)?.read(&mut head)?;
    Ok(n < 2 || head == [0x1f, 0x8b])
}

/// The length of the longest prefix of `path` made of complete gzip members, and why the
/// member after it is not one.
pub(crate) fn complete_prefix(path: &Path) -> std::io::Result<(u64, String)> {
    let mut reader = BufReader::new(File::open(path)?);
    let mut good = 0u64;
    let mut sink = [0u8; 64 * 1024];
    loop {
        if reader.fill_buf()?.is_empty() {
            return Ok((good, String::new()));
        }
        let mut counted = CountingReader {
            inner: &mut reader,
            count: 0,
        };
        let mut dec = flate2::bufread::GzDecoder::new(&mut counted);
        let failed = loop {
            match dec.read(&mut sink) {
                Ok(0) => break None,
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                    break Some("a member cut short: a crash?".to_owned())
                }
                Err(e) => break Some(format!("a damaged member: {e}")),
            }
        };
        drop(dec);
        if let Some(why) = failed {
            return Ok((good, why));
        }
        good += counted.count;
    }
}

/// A buffered reader that counts the bytes its user consumes.
struct CountingReader<'a, R> {
    inner: &'a mut R,
    count: u64,
}

impl<R: BufRead> Read for CountingReader<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count += n as u64;
        Ok(n)
    }
}

impl<R: BufRead> BufRead for CountingReader<'_, R> {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        self.inner.fill_buf()
    }
    fn consume(&mut self, amt: usize) {
        self.count += amt as u64;
        self.inner.consume(amt);
    }
}
