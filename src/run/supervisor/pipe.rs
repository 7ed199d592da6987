//! A supervised process's pipes: its output read line by line (a line too long cut into
//! pieces, the partial last line flushed when the pipe closes), its stdin written without ever
//! blocking.

use std::fs::File;
use std::io::{self, Read};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use crate::model::Stream;

/// A line longer than this is cut into pieces, so a job printing without newlines cannot
/// exhaust memory.
const MAX_LINE: usize = 1 << 20;

thread_local! {
    /// Each worker's read buffer, zeroed once rather than on every read.
    static READ_BUF: std::cell::RefCell<Vec<u8>> = std::cell::RefCell::new(vec![0; 64 * 1024]);
}

/// One output pipe and its partial line.
pub(super) struct Pipe {
    reader: Option<File>,
    stream: Stream,
    partial: Vec<u8>,
    max_line: usize,
}

impl Pipe {
    pub(super) fn new(reader: Option<OwnedFd>, stream: Stream) -> Self {
        Pipe {
            reader: reader.map(File::from),
            stream,
            partial: Vec::new(),
            max_line: MAX_LINE,
        }
    }

    /// The same pipe, cutting lines at `max_line` bytes instead.
    pub(super) fn with_max_line(mut self, max_line: usize) -> Self {
        self.max_line = max_line;
        self
    }

    pub(super) fn is_open(&self) -> bool {
        self.reader.is_some()
    }

    /// The descriptor to poll, while open.
    pub(super) fn fd(&self) -> Option<BorrowedFd<'_>> {
        self.reader.as_ref().map(|r| r.as_fd())
    }

    /// Reads what is there (one read), sending whole lines to `log`; closes the pipe at its end.
    pub(super) fn read_some(&mut self, log: &mut dyn FnMut(Stream, &str)) {
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
    pub(super) fn close(&mut self, log: &mut dyn FnMut(Stream, &str)) {
        if !self.partial.is_empty() {
            self.emit(log);
        }
        self.reader = None;
    }
}

/// A process's stdin, non-blocking, and the bytes still to be written to it: a process that does
/// not read its stdin can never block the thread that supervises it.
pub(super) struct Feed {
    stdin: Option<File>,
    pending: Vec<u8>,
    written: usize,
    /// Close stdin once `pending` is written.
    close_after: bool,
}

impl Feed {
    pub(super) fn new(stdin: Option<OwnedFd>) -> Feed {
        let stdin = stdin
            .filter(|s| crate::sys::set_nonblocking(s.as_fd()).is_ok())
            .map(File::from);
        Feed {
            stdin,
            pending: Vec::new(),
            written: 0,
            close_after: false,
        }
    }

    /// Queues `bytes`.
    pub(super) fn push(&mut self, bytes: &[u8]) {
        if self.stdin.is_some() {
            self.pending.extend_from_slice(bytes);
        }
    }

    /// Closes stdin once what is queued is written (at once if nothing is).
    pub(super) fn close_when_written(&mut self) {
        self.close_after = true;
        self.settle();
    }

    /// Closes stdin now, dropping what is queued.
    pub(super) fn close(&mut self) {
        self.stdin = None;
        self.pending.clear();
        self.written = 0;
    }

    /// The descriptor to poll for writing, while bytes wait.
    pub(super) fn fd(&self) -> Option<BorrowedFd<'_>> {
        let waiting = self.written < self.pending.len();
        self.stdin.as_ref().filter(|_| waiting).map(AsFd::as_fd)
    }

    /// Writes what fits now. A reader that is gone closes stdin (the wait for the process
    /// finds out why).
    pub(super) fn write_some(&mut self) {
        use std::io::Write as _;
        let Some(stdin) = self.stdin.as_mut() else {
            return;
        };
        while self.written < self.pending.len() {
            match stdin.write(&self.pending[self.written..]) {
                Ok(0) => break,
                Ok(n) => self.written += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(_) => {
                    self.close();
                    return;
                }
            }
        }
        self.settle();
    }

    fn settle(&mut self) {
        if self.written >= self.pending.len() {
            self.pending.clear();
            self.written = 0;
            if self.close_after {
                self.stdin = None;
            }
        }
    }
}
