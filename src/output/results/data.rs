//! The bytes of a results file, as every reader of results.csv gets them: a name ending in
//! `.gz` is decompressed here (the one gunzip path: `merge` decompresses a `results.csv.gz`
//! input through it too), and the bytes delivered are counted so that the reader can tell a
//! last row cut short from a whole one.
//!
//! How a cut row is told apart: after the last byte, the reader is handed one extra `"` (the
//! end mark, never counted in [`Data::total`]). A row the CSV parser ended outside quotes,
//! at a line end, ends within the data; a row cut anywhere, also inside a quoted value right
//! after a line break in it, runs on into the mark, so it ends past the data.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

use crate::error::{Error, Result};

/// A results file's bytes: plain, or gunzipped (a gzip stream cut short ends the data, with
/// a warning, instead of failing).
pub(crate) struct Data {
    inner: Box<dyn Read + Send>,
    /// Bytes of the file delivered so far (the end mark not counted).
    pub(crate) total: u64,
    /// The offset just past the last byte delivered that is not a line end (`\n`, `\r`).
    pub(crate) content_end: u64,
    lenient: bool,
    cut: Option<String>,
    /// Whether to hand out the end mark after the last byte; `Some(false)` once it has been.
    mark: Option<bool>,
}

impl Data {
    /// Opens `path`, decompressing it if its name ends in `.gz`.
    ///
    /// # Errors
    /// If the file cannot be opened.
    pub(crate) fn open(path: &Path) -> Result<Data> {
        let file = File::open(path).map_err(|e| Error::io(path, e))?;
        if is_gzip_name(path) {
            let dec = flate2::read::MultiGzDecoder::new(BufReader::with_capacity(1 << 16, file));
            Ok(Data::new(Box::new(dec), true))
        } else {
            Ok(Data::new(Box::new(file), false))
        }
    }

    /// Bytes from `inner`; with `lenient`, a read error (a gzip stream cut short) ends the
    /// data instead of failing.
    pub(crate) fn new(inner: Box<dyn Read + Send>, lenient: bool) -> Data {
        Data {
            inner,
            total: 0,
            content_end: 0,
            lenient,
            cut: None,
            mark: None,
        }
    }

    /// The same data followed by the end mark.
    pub(crate) fn with_end_mark(mut self) -> Data {
        self.mark = Some(true);
        self
    }

    /// The end: nothing more, or the end mark if it is still due.
    fn end(&mut self, buf: &mut [u8]) -> usize {
        match (self.mark, buf.first_mut()) {
            (Some(true), Some(b)) => {
                *b = b'"';
                self.mark = Some(false);
                1
            }
            _ => 0,
        }
    }

    /// Why the data ended early (a gzip stream cut short), as a warning naming `path`.
    pub(crate) fn cut_warning(&self, path: &Path) -> Option<String> {
        self.cut.as_ref().map(|e| {
            format!(
                "{}: the compressed data ends early ({e}); the rows before the cut were kept",
                path.display()
            )
        })
    }
}

/// True for a name ending in `.gz`.
pub(crate) fn is_gzip_name(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "gz")
}

impl Read for Data {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.cut.is_some() || self.mark == Some(false) {
            return Ok(self.end(buf));
        }
        match self.inner.read(buf) {
            Ok(0) => Ok(self.end(buf)),
            Ok(n) => {
                if let Some(p) = buf[..n].iter().rposition(|&b| b != b'\n' && b != b'\r') {
                    self.content_end = self.total + p as u64 + 1;
                }
                self.total += n as u64;
                Ok(n)
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => Err(e),
            Err(e) if self.lenient => {
                self.cut = Some(e.to_string());
                Ok(self.end(buf))
            }
            Err(e) => Err(e),
        }
    }
}
