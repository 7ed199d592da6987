//! The library's error type: every error names the file, line or job involved.

use std::io;
use std::path::{Path, PathBuf};

/// A `Result` whose error is this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong. Every variant carries enough context (file, line, key) to print one line a
/// user can act on.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Reading or writing a file failed (missing file, permission, full disk).
    #[error("{}: {}", path.display(), io_message(source))]
    Io {
        /// The file or directory involved.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },
    /// An input (job list, machines file, config, results) is malformed. The message says what
    /// to fix.
    #[error("{}{message}", location(path.as_deref(), *line))]
    Invalid {
        /// The file at fault, if there is one.
        path: Option<PathBuf>,
        /// The 1-based line in that file, if known.
        line: Option<u64>,
        /// What is wrong and how to fix it.
        message: String,
    },
    /// The output directory holds the work of a different plan.
    #[error("{message}")]
    PlanMismatch {
        /// What differs and the choices the user has.
        message: String,
    },
    /// A run stopped on an error after it had begun writing its output directory (a full
    /// disk, an I/O error). What it recorded is kept and valid; a rerun resumes.
    #[error("the run stopped after it began writing {}: {source}", dir.display())]
    Stopped {
        /// The machine's output directory.
        dir: PathBuf,
        /// What went wrong.
        #[source]
        source: Box<Error>,
    },
    /// A failure that is jobsplit's own fault, not the input's: please report it.
    #[error("internal error (please report it): {message}")]
    Internal {
        /// What failed.
        message: String,
    },
}

impl Error {
    /// An I/O error on `path`.
    pub fn io(path: impl Into<PathBuf>, source: io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    /// A malformed input in `path` (at 1-based `line` if known).
    pub fn invalid(path: Option<&Path>, line: Option<u64>, message: impl Into<String>) -> Self {
        Error::Invalid {
            path: path.map(Path::to_path_buf),
            line,
            message: message.into(),
        }
    }

    /// A malformed input not tied to a file (a flag, an environment variable).
    pub fn usage(message: impl Into<String>) -> Self {
        Error::invalid(None, None, message)
    }

    /// `self` as the error of a run that had begun writing `dir`.
    pub fn stopped(self, dir: &Path) -> Self {
        match self {
            e @ Error::Stopped { .. } => e,
            e => Error::Stopped {
                dir: dir.to_path_buf(),
                source: Box::new(e),
            },
        }
    }

    /// True when the disk (or quota) is full.
    pub fn is_disk_full(&self) -> bool {
        match self {
            Error::Io { source, .. } => {
                matches!(
                    source.raw_os_error(),
                    Some(libc::ENOSPC) | Some(libc::EDQUOT)
                )
            }
            Error::Stopped { source, .. } => source.is_disk_full(),
            _ => false,
        }
    }
}

fn location(path: Option<&Path>, line: Option<u64>) -> String {
    match (path, line) {
        (Some(p), Some(l)) => format!("{}:{l}: ", p.display()),
        (Some(p), None) => format!("{}: ", p.display()),
        (None, Some(l)) => format!("line {l}: "),
        (None, None) => String::new(),
    }
}

fn io_message(e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::NotFound => "no such file or directory (check the path)".to_owned(),
        io::ErrorKind::PermissionDenied => "permission denied".to_owned(),
        _ if matches!(e.raw_os_error(), Some(libc::ENOSPC) | Some(libc::EDQUOT)) => {
            "no space left on the device (free some space, then rerun: finished jobs are kept)"
                .to_owned()
        }
        _ => e.to_string(),
    }
}
