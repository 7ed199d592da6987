//! The bytes of a results file, as every reader of results.csv gets them: a name ending in
//! `.gz` is decompressed here (the one gunzip path: `merge` decompresses a `results.csv.gz`
//! input through it too), and the bytes delivered are counted so that the reader can tell a
//! last row cut short from a whole one.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

use crate::error::{Error, Result};

/// A results file's bytes: plain, or gunzipped (a gzip stream cut short ends the data, with
/// a warning, instead of failing).
pub(crate) struct Data {
    inner: Box<dyn Read + Send>,
    /// Bytes delivered so far.
    pub(crate) total: u64,
    /// The last byte delivered.
    pub(crate) last: u8,
    lenient: bool,
    cut: Option<String>,
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
            last: 0,
            lenient,
            cut: None,
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
        if self.cut.is_some() {
            return Ok(0);
        }
        match self.inner.read(buf) {
            Ok(n) => {
                if n > 0 {
                    self.total += n as u64;
                    self.last = buf[n - 1];
                }
                Ok(n)
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => Err(e),
            Err(e) if self.lenient => {
                self.cut = Some(e.to_string());
                Ok(0)
            }
            Err(e) => Err(e),
        }
    }
}
