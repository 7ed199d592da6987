//! Reading a job's output pipes: whole lines to the log, a line too long cut into pieces, the
//! partial last line flushed when the pipe closes.

use std::io::{self, Read};
use std::os::fd::{AsFd, BorrowedFd};

use crate::model::Stream;

/// A line longer than this is cut into pieces, so a job printing without newlines cannot
/// exhaust memory.
const MAX_LINE: usize = 1 << 20;

/// A readable pipe end.
pub(in crate::run) trait ReadFd: Read + AsFd + Send {}

impl<T: Read + AsFd + Send> ReadFd for T {}

thread_local! {
    /// Each worker's read buffer, zeroed once rather than on every read.
    static READ_BUF: std::cell::RefCell<Vec<u8>> = std::cell::RefCell::new(vec![0; 64 * 1024]);
}

/// One output pipe and its partial line.
pub(in crate::run) struct Pipe {
    reader: Option<Box<dyn ReadFd>>,
    stream: Stream,
    partial: Vec<u8>,
    max_line: usize,
}

impl Pipe {
    pub(in crate::run) fn new(reader: Option<Box<dyn ReadFd>>, stream: Stream) -> Self {
        Pipe {
            reader,
            stream,
            partial: Vec::new(),
            max_line: MAX_LINE,
        }
    }

    /// The same pipe, cutting lines at `max_line` bytes instead (a worker's answers may be
    /// long).
    pub(in crate::run) fn with_max_line(mut self, max_line: usize) -> Self {
        self.max_line = max_line;
        self
    }

    pub(in crate::run) fn is_open(&self) -> bool {
        self.reader.is_some()
    }

    /// The descriptor to poll, while open.
    pub(in crate::run) fn fd(&self) -> Option<BorrowedFd<'_>> {
        self.reader.as_ref().map(|r| r.as_fd())
    }

    /// Reads what is there (one read), sending whole lines to `log`; closes the pipe at its end.
    pub(in crate::run) fn read_some(&mut self, log: &mut dyn FnMut(Stream, &str)) {
        let Some(mut reader) = self.reader.take() else {
            return;
        };
        let open = READ_BUF.with_borrow_mut(|buf| match reader.read(buf) {
            Ok(0) => false,
            Ok(n) => {
                let mut rest = &buf[..n];
                while let Some(p) = memchr::memchr(b'\n', rest) {
                    self.partial.extend_from_slice(&rest[..p]);
                    self.emit(log);
                    rest = &rest[p + 1..];
                }
                self.partial.extend_from_slice(rest);
                if self.partial.len() >= self.max_line {
                    self.emit(log);
                }
                true
            }
            Err(e) => e.kind() == io::ErrorKind::Interrupted,
        });
        if open {
            self.reader = Some(reader);
        } else {
            self.close(log);
        }
    }

    fn emit(&mut self, log: &mut dyn FnMut(Stream, &str)) {
        let line = String::from_utf8_lossy(&self.partial);
        log(self.stream, &line);
        self.partial.clear();
    }

    /// Sends the partial line, if any, and stops reading.
    pub(in crate::run) fn close(&mut self, log: &mut dyn FnMut(Stream, &str)) {
        if !self.partial.is_empty() {
            self.emit(log);
        }
        self.reader = None;
    }
}
