//! Merging the hosts' log.gz files in time order: a streaming k-way merge on the timestamp
//! that starts every line; never more than one line per input in memory.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fs::OpenOptions;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::output::log::LogReader;

struct Input {
    reader: LogReader,
    line: Vec<u8>,
}

impl Input {
    /// Reads the next whole line; false at the end (a torn tail ends it with a warning).
    fn advance(&mut self, warnings: &mut Vec<String>) -> bool {
        self.line.clear();
        match self.reader.next_line() {
            Some(l) => {
                self.line.extend_from_slice(l);
                self.line.push(b'\n');
                true
            }
            None => {
                warnings.extend(self.reader.warning().map(str::to_owned));
                false
            }
        }
    }
}

/// Merges `inputs` (log.gz files; missing ones are skipped) into `out` (an empty file the
/// caller created, never a link) as gzip members.
/// Returns the number of lines written.
pub(crate) fn merge_logs(
    inputs: &[PathBuf],
    out: &Path,
    warnings: &mut Vec<String>,
) -> Result<u64> {
    let mut readers = Vec::new();
    for path in inputs.iter().filter(|p| p.exists()) {
        readers.push(Input {
            reader: LogReader::open(path)?,
            line: Vec::new(),
        });
    }
    let mut heap = BinaryHeap::new();
    for (i, r) in readers.iter_mut().enumerate() {
        if r.advance(warnings) {
            heap.push(Reverse((stamp(&r.line), i)));
        }
    }
    let mut writer = RawLogWriter::create(out)?;
    let mut lines = 0u64;
    while let Some(Reverse((_, i))) = heap.pop() {
        writer.push(&readers[i].line)?;
        lines += 1;
        if readers[i].advance(warnings) {
            heap.push(Reverse((stamp(&readers[i].line), i)));
        }
    }
    writer.finish()?;
    Ok(lines)
}

/// The timestamp field of a log line (fixed width, so byte order is time order).
fn stamp(line: &[u8]) -> [u8; 27] {
    let mut s = [0u8; 27];
    let n = line.len().min(27);
    s[..n].copy_from_slice(&line[..n]);
    s
}

/// Writes already formatted lines as gzip members of about 1 MiB; a second thread compresses
/// and writes them while the merge goes on.
struct RawLogWriter {
    pending: Vec<u8>,
    chunks: Option<std::sync::mpsc::SyncSender<Vec<u8>>>,
    writer: Option<std::thread::JoinHandle<Result<()>>>,
}

/// Uncompressed bytes per member of a merged log.
const CHUNK: usize = 1 << 20;

impl RawLogWriter {
    fn create(path: &Path) -> Result<Self> {
        // Created empty (exclusively, never through a link) by the caller.
        let file = crate::output::open_output(OpenOptions::new().write(true).truncate(true), path)?;
        let mut file = std::io::BufWriter::new(file);
        let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<u8>>(8);
        let path = path.to_path_buf();
        let writer = std::thread::spawn(move || -> Result<()> {
            use std::io::Write as _;
            let mut deflate = flate2::Compress::new(flate2::Compression::new(MERGED_LEVEL), false);
            let mut out = Vec::with_capacity(CHUNK);
            let io = |e| Error::io(&path, e);
            for chunk in rx {
                crate::output::log::gzip_member(&mut deflate, &chunk, &mut out);
                file.write_all(&out).map_err(io)?;
            }
            file.flush().map_err(io)?;
            file.get_ref().sync_all().map_err(io)
        });
        Ok(RawLogWriter {
            pending: Vec::with_capacity(CHUNK + 4096),
            chunks: Some(tx),
            writer: Some(writer),
        })
    }

    fn push(&mut self, line: &[u8]) -> Result<()> {
        self.pending.extend_from_slice(line);
        if self.pending.len() >= CHUNK {
            self.send()?;
        }
        Ok(())
    }

    fn send(&mut self) -> Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let chunk = std::mem::replace(&mut self.pending, Vec::with_capacity(CHUNK + 4096));
        let sent = self
            .chunks
            .as_ref()
            .is_some_and(|tx| tx.send(chunk).is_ok());
        if !sent {
            // The writer stopped on an error: report it.
            return self.join();
        }
        Ok(())
    }

    fn join(&mut self) -> Result<()> {
        self.chunks = None;
        match self.writer.take() {
            Some(h) => h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)),
            None => Ok(()),
        }
    }

    fn finish(mut self) -> Result<()> {
        self.send()?;
        self.join()
    }
}

/// The compression level of merged logs: gzip's fast level, so that the merge keeps up with
/// the disk; a merged log is written once and read rarely.
const MERGED_LEVEL: u32 = 1;
