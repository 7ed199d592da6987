//! log.gz: tab-separated lines `TIME\tJOB\tSTREAM\tTEXT`, written as a series of gzip members.
//!
//! Each member holds whole lines and is written to the file in one piece, so a file cut by
//! kill -9 or a power loss decompresses up to its last complete member; on the next open
//! whatever follows the whole members (a torn or damaged member, and all after it) is set
//! aside beside the log, never destroyed (`log_repair`), so `zcat` reads the whole log again.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use flate2::{Compress, Compression};

use super::gzip::STORE_BELOW;
pub(crate) use super::gzip::{gzip_member, stored_gzip_member, Member};

use super::Stamper;
use crate::error::{Error, Result};
use crate::model::Stream;

/// A member is ended by itself when its uncompressed lines reach this size.
pub(crate) const MEMBER_LIMIT: usize = 1 << 20;

/// The compression level of the logs a run writes: zlib's "fast" (deflate_fast, Huffman trees
/// fitted to each block), which compresses log lines about as well as `gzip -1` at several
/// times its speed. Level 1 (deflate_quick: fixed trees) is faster still but makes the log
/// about a third larger.
pub(crate) const LEVEL: u32 = 2;

/// Appends lines to a log.gz.
pub struct LogWriter {
    path: PathBuf,
    file: File,
    pending: Vec<u8>,
    out: Vec<u8>,
    /// One deflate state, reset for each member: building a new one per member costs far more
    /// than compressing a few lines.
    deflate: Compress,
    stamper: Stamper,
}

impl std::fmt::Debug for LogWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogWriter")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl LogWriter {
    /// Checks an existing log as [`LogWriter::open`] would refuse it, reading only the first
    /// bytes: a file that is not gzip at all is not a jobsplit log.
    ///
    /// # Errors
    /// A file that is not gzip, or one that cannot be read.
    pub fn check(path: &Path) -> Result<()> {
        super::log_repair::check(path)
    }

    /// Opens `path` for appending (creating it). A file that does not end in whole gzip
    /// members (a member torn by a crash, or a damaged one) has everything after its whole
    /// members set aside as `<path>.damaged-<time>` beside it, byte for byte, and appending goes
    /// on after them; the warning returned says so (the runner shows it).
    ///
    /// # Errors
    /// If the file cannot be read, written or truncated, or is not gzip at all (it is then
    /// never touched).
    pub fn open(path: &Path) -> Result<(LogWriter, Option<String>)> {
        super::refuse_link(path)?;
        let warning = match path.exists() {
            true => super::log_repair::repair(path)?,
            false => None,
        };
        let file = super::open_output(OpenOptions::new().create(true).append(true), path)?;
        let writer = LogWriter {
            path: path.to_path_buf(),
            file,
            pending: Vec::with_capacity(8192),
            out: Vec::new(),
            deflate: Compress::new(Compression::new(LEVEL), false),
            stamper: Stamper::default(),
        };
        Ok((writer, warning))
    }

    /// Adds one line (a `\n` inside `text` is written as a space, so a line stays a line).
    ///
    /// # Errors
    /// If ending a full member fails to write.
    pub fn line(
        &mut self,
        time: SystemTime,
        job: Option<u64>,
        stream: Stream,
        text: &str,
    ) -> Result<()> {
        self.stamper.format(time, &mut self.pending);
        push_fields(&mut self.pending, job, stream, text);
        if self.pending.len() >= MEMBER_LIMIT {
            self.end_member()?;
        }
        Ok(())
    }

    /// Adds lines already formatted (whole lines, each ending in `\n`); true when they fill
    /// the member, which the caller then ends with [`LogWriter::end_member`].
    pub(crate) fn add(&mut self, lines: &[u8]) -> bool {
        self.pending.extend_from_slice(lines);
        self.pending.len() >= MEMBER_LIMIT
    }

    /// True when lines wait for their member to end.
    pub(crate) fn has_pending(&self) -> bool {
        !self.pending.is_empty()
    }

    /// Compresses the lines added since the last member into one gzip member and writes it.
    ///
    /// # Errors
    /// A full disk or an I/O error.
    pub fn end_member(&mut self) -> Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        if self.pending.len() < STORE_BELOW {
            stored_gzip_member(&self.pending, &mut self.out);
        } else {
            gzip_member(&mut self.deflate, &self.pending, &mut self.out);
        }
        self.pending.clear();
        self.file
            .write_all(&self.out)
            .map_err(|e| Error::io(&self.path, e))
    }

    /// Writes a member built elsewhere (after the lines added here, which end their own
    /// member first), in one piece, and starts `member` afresh.
    ///
    /// # Errors
    /// A full disk or an I/O error.
    pub(crate) fn write_member(&mut self, member: &mut Member) -> Result<()> {
        self.end_member()?;
        let bytes = member.end();
        if bytes.is_empty() {
            return Ok(());
        }
        self.file
            .write_all(bytes)
            .map_err(|e| Error::io(&self.path, e))
    }

    /// Syncs the file to disk.
    pub(crate) fn sync(&self) -> Result<()> {
        self.file.sync_all().map_err(|e| Error::io(&self.path, e))
    }

    /// The file written.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Ends the last member and syncs the file.
    ///
    /// # Errors
    /// A full disk or an I/O error.
    pub fn finish(mut self) -> Result<()> {
        self.end_member()?;
        self.file.sync_all().map_err(|e| Error::io(&self.path, e))
    }

    /// Ends the last member and hands back the file and its path, to be synced later.
    ///
    /// # Errors
    /// A full disk or an I/O error.
    pub(crate) fn end(mut self) -> Result<(File, PathBuf)> {
        self.end_member()?;
        Ok((self.file, self.path))
    }
}

/// Appends `\tJOB\tSTREAM\tTEXT\n` (the fields after the time) to `out`.
pub(crate) fn push_fields(out: &mut Vec<u8>, job: Option<u64>, stream: Stream, text: &str) {
    out.push(b'\t');
    match job {
        Some(i) => out.extend_from_slice(itoa::Buffer::new().format(i).as_bytes()),
        None => out.push(b'-'),
    }
    out.push(b'\t');
    out.extend_from_slice(stream.as_str().as_bytes());
    out.push(b'\t');
    let at = out.len();
    out.extend_from_slice(text.as_bytes());
    if memchr::memchr(b'\n', text.as_bytes()).is_some() {
        for b in &mut out[at..] {
            if *b == b'\n' {
                *b = b' ';
            }
        }
    }
    out.push(b'\n');
}

/// Opens the per-job log `dir/<index>.log.gz`, creating `dir`, as [`LogWriter::open`] does
/// (with its warning).
///
/// # Errors
/// If the directory or file cannot be created.
pub(crate) fn job_log(dir: &Path, index: u64) -> Result<(LogWriter, Option<String>)> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    LogWriter::open(&dir.join(format!("{index}.log.gz")))
}

/// Streams the lines of a multi-member log.gz, one at a time. Reading never fails after
/// the open: a member cut short (a crash), damaged bytes or a file that is not gzip at all end
/// the lines early, with a [`warning`](LogReader::warning).
///
/// A member's lines are delivered only once its CRC-32 and length have been checked, so every
/// line delivered is a line of the file as written, in order: the lines of a file cut
/// anywhere are a prefix of the lines of the whole file. (A member over 2 MiB, which jobsplit
/// never writes, is delivered in parts before its check.) Memory is one member.
///
/// # Examples
/// ```no_run
/// let mut r = jobsplit::testing::LogReader::open("out/ws1/log.gz".as_ref())?;
/// while let Some(line) = r.next_line() {
///     let _fields: Vec<&[u8]> = line.splitn(4, |&b| b == b'\t').collect();
/// }
/// if let Some(w) = r.warning() {
///     eprintln!("warning: {w}");
/// }
/// # Ok::<(), jobsplit::Error>(())
/// ```
pub struct LogReader {
    path: PathBuf,
    source: Source,
    /// Checked bytes; `buf[pos..]` is not delivered yet.
    buf: Vec<u8>,
    pos: usize,
    warning: Option<String>,
}

/// Where the reader is in the file.
enum Source {
    /// Between members.
    Between(BufReader<File>),
    /// Inside a member too large to hold whole.
    Inside(Box<flate2::bufread::GzDecoder<BufReader<File>>>),
    /// At the end, or stopped at damage.
    Done,
}

/// Beyond this many bytes a member's lines are delivered before its check. jobsplit's members
/// hold at most [`MEMBER_LIMIT`] plus one line of at most 1 MiB.
const HOLD_LIMIT: usize = (2 << 20) + (64 << 10);

/// Bytes decoded per read.
const CHUNK: usize = 64 << 10;

impl std::fmt::Debug for LogReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogReader")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl LogReader {
    /// Opens `path`.
    ///
    /// # Errors
    /// If the file cannot be opened.
    pub fn open(path: &Path) -> Result<LogReader> {
        let file = File::open(path).map_err(|e| Error::io(path, e))?;
        Ok(LogReader {
            path: path.to_path_buf(),
            source: Source::Between(BufReader::with_capacity(1 << 16, file)),
            buf: Vec::new(),
            pos: 0,
            warning: None,
        })
    }

    /// The next line without its `\n`, or `None` at the end of the readable lines.
    pub fn next_line(&mut self) -> Option<&[u8]> {
        loop {
            if let Some(n) = memchr::memchr(b'\n', &self.buf[self.pos..]) {
                let line = self.pos..self.pos + n;
                self.pos += n + 1;
                return Some(&self.buf[line]);
            }
            self.buf.drain(..self.pos);
            self.pos = 0;
            if !self.fill() {
                if !self.buf.is_empty() && self.warning.is_none() {
                    self.stop("the last line has no line end");
                }
                self.buf.clear();
                return None;
            }
        }
    }

    /// Why the reading ended early, if it did.
    pub fn warning(&self) -> Option<&str> {
        self.warning.as_deref()
    }

    /// The file being read.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Decodes the next member (or the next part of a huge one) into `buf`; false at the end
    /// or at damage (a warning then says what).
    fn fill(&mut self) -> bool {
        let mut dec = match std::mem::replace(&mut self.source, Source::Done) {
            Source::Between(mut r) => match r.fill_buf() {
                Ok([]) => return false,
                Ok(_) => flate2::bufread::GzDecoder::new(r),
                Err(e) => {
                    self.stop(&e.to_string());
                    return false;
                }
            },
            Source::Inside(d) => *d,
            Source::Done => return false,
        };
        // Decoded straight into `buf`; only a member that checks out is kept there.
        let mark = self.buf.len();
        loop {
            let at = self.buf.len();
            self.buf.resize(at + CHUNK, 0);
            let read = dec.read(&mut self.buf[at..]);
            self.buf.truncate(at + read.as_ref().map_or(0, |&n| n));
            match read {
                Ok(0) => {
                    self.source = Source::Between(dec.into_inner());
                    return true;
                }
                Ok(_) if self.buf.len() - mark >= HOLD_LIMIT => {
                    self.source = Source::Inside(Box::new(dec));
                    return true;
                }
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => {
                    self.buf.truncate(mark);
                    self.stop(&e.to_string());
                    return false;
                }
            }
        }
    }

    fn stop(&mut self, why: &str) {
        self.source = Source::Done;
        self.warning = Some(format!(
            "{}: the log ends in a member cut short or damaged ({why}; a crash?): the lines before it were kept",
            self.path.display()
        ));
    }
}

/// Reads every line of a multi-member log.gz in order, calling `f` with each (without its
/// newline). A torn final member ends the reading early: the lines before it are delivered and
/// a warning is returned.
///
/// # Errors
/// If the file cannot be opened or `f` fails.
pub fn read_lines(path: &Path, mut f: impl FnMut(&str) -> Result<()>) -> Result<Option<String>> {
    let mut reader = LogReader::open(path)?;
    while let Some(line) = reader.next_line() {
        f(&String::from_utf8_lossy(line))?;
    }
    Ok(reader.warning.take())
}

#[cfg(test)]
#[path = "log_tests.rs"]
mod tests;
