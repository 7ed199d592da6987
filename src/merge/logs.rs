//! Merging the hosts' log.gz files in time order: a streaming k-way merge on the timestamp
//! that starts every line; never more than one line per input in memory.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use flate2::read::MultiGzDecoder;

use crate::error::{Error, Result};

struct Input {
    path: PathBuf,
    reader: BufReader<MultiGzDecoder<BufReader<File>>>,
    line: Vec<u8>,
}

impl Input {
    /// Reads the next whole line; false at the end (a torn tail ends it with a warning).
    fn advance(&mut self, warnings: &mut Vec<String>) -> bool {
        self.line.clear();
        match self.reader.read_until(b'\n', &mut self.line) {
            Ok(0) => false,
            Ok(_) if self.line.ends_with(b"\n") => true,
            Ok(_) | Err(_) => {
                warnings.push(format!(
                    "{}: the log ends in a part cut short (a crash?); the lines before it were kept",
                    self.path.display()
                ));
                false
            }
        }
    }
}

/// Merges `inputs` (log.gz files; missing ones are skipped) into `out` as gzip members.
/// Returns the number of lines written.
pub(crate) fn merge_logs(
    inputs: &[PathBuf],
    out: &Path,
    warnings: &mut Vec<String>,
) -> Result<u64> {
    let mut readers = Vec::new();
    for path in inputs.iter().filter(|p| p.exists()) {
        let file = File::open(path).map_err(|e| Error::io(path, e))?;
        readers.push(Input {
            path: path.clone(),
            reader: BufReader::with_capacity(
                1 << 16,
                MultiGzDecoder::new(BufReader::with_capacity(1 << 16, file)),
            ),
            line: Vec::new(),
        });
    }
    let mut heap = BinaryHeap::new();
    for (i, r) in readers.iter_mut().enumerate() {
        if r.advance(warnings) {
            heap.push(Reverse((stamp(&r.line), i)));
        }
    }
    let _ = std::fs::remove_file(out);
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

/// Writes already formatted lines as gzip members of about 1 MiB.
struct RawLogWriter {
    path: PathBuf,
    file: std::io::BufWriter<File>,
    pending: Vec<u8>,
}

impl RawLogWriter {
    fn create(path: &Path) -> Result<Self> {
        let file = File::create(path).map_err(|e| Error::io(path, e))?;
        Ok(RawLogWriter {
            path: path.to_path_buf(),
            file: std::io::BufWriter::new(file),
            pending: Vec::with_capacity(1 << 20),
        })
    }

    fn push(&mut self, line: &[u8]) -> Result<()> {
        self.pending.extend_from_slice(line);
        if self.pending.len() >= 1 << 20 {
            self.flush_member()?;
        }
        Ok(())
    }

    fn flush_member(&mut self) -> Result<()> {
        use std::io::Write as _;
        if self.pending.is_empty() {
            return Ok(());
        }
        let mut enc = flate2::write::GzEncoder::new(&mut self.file, flate2::Compression::default());
        enc.write_all(&self.pending)
            .and_then(|()| enc.try_finish())
            .map_err(|e| Error::io(&self.path, e))?;
        self.pending.clear();
        Ok(())
    }

    fn finish(mut self) -> Result<()> {
        use std::io::Write as _;
        self.flush_member()?;
        self.file.flush().map_err(|e| Error::io(&self.path, e))?;
        self.file
            .get_ref()
            .sync_all()
            .map_err(|e| Error::io(&self.path, e))
    }
}
