//! The library's error type: every error names the file, line or job involved, and has a
//! [`kind`](Error::kind) a caller (or a test) can match instead of its words.

use std::io;
use std::path::{Path, PathBuf};

/// A `Result` whose error is this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What kind of thing went wrong, for a caller that acts on it (and for tests that check it)
/// rather than on the words of the message, which are for people and may be reworded.
///
/// New kinds may be added: match with a `_` arm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The job list is malformed (a row, a record, a NUL byte, a byte order mark), or a
    /// program's job item cannot be written as JSON.
    JobList,
    /// The command template does not parse, or does not fit the job list (a field a record
    /// lacks, a line placeholder on records, no template for records).
    Template,
    /// The machines file, or a machine, is malformed or out of range.
    Machines,
    /// The config file (`jobsplit.toml`) is malformed or holds a value out of range.
    Config,
    /// The epochs file of a job list that grew is malformed or does not fit the list.
    Epochs,
    /// A flag, an environment variable or an argument is wrong or does not fit the others
    /// (including the arguments of a library call such as [`crate::Plan::new`], and the array
    /// variables of a cluster's job).
    Usage,
    /// A directory given to a command is not what it needs: not a directory, no output of a
    /// run in it, the same machine twice, a file in the way, a symbolic link where jobsplit
    /// writes, a file that changed while it was read.
    OutputDir,
    /// A file jobsplit writes (results.csv, a log, a manifest, a stealing layout or claim, a
    /// merge summary, a pending row) is damaged or is not jobsplit's.
    Damaged,
    /// An output directory (or a merge's inputs) holds the work of a different plan or study.
    PlanMismatch,
    /// Another run holds what this one needs: the machine's output directory, a machine name,
    /// or the epochs file of the job list.
    Locked,
    /// A remote host answered wrongly or could not be served: ssh command, shipped files, the
    /// binary for its architecture, the remote protocol.
    Remote,
    /// The operating system refused: a file could not be read or written, a process or
    /// thread could not start, the disk is full.
    Io,
    /// jobsplit's own failure, not the input's: please report it.
    Internal,
}

/// What went wrong. Every variant carries enough context (file, line, key) to print one line a
/// user can act on; [`Error::kind`] says what kind of thing it is.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Reading or writing a file failed (missing file, permission, full disk).
    #[error("{}: {}", path.display(), io_message(source))]
    #[non_exhaustive]
    Io {
        /// The file or directory involved.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },
    /// An input (job list, machines file, config, results, a flag) is malformed or does not
    /// fit. The message says what to fix.
    #[error("{}{message}", location(path.as_deref(), *line))]
    #[non_exhaustive]
    Invalid {
        /// What kind of input is at fault.
        kind: ErrorKind,
        /// The file at fault, if there is one.
        path: Option<PathBuf>,
        /// The 1-based line in that file, if known.
        line: Option<u64>,
        /// What is wrong and how to fix it.
        message: String,
    },
    /// The output directory holds the work of a different plan.
    #[error("{message}")]
    #[non_exhaustive]
    PlanMismatch {
        /// What differs and the choices the user has.
        message: String,
    },
    /// A run stopped on an error after it had begun writing its output directory (a full
    /// disk, an I/O error). What it recorded is kept and valid; a rerun resumes.
    #[error("the run stopped after it began writing {}: {source}", dir.display())]
    #[non_exhaustive]
    Stopped {
        /// The machine's output directory.
        dir: PathBuf,
        /// What went wrong.
        #[source]
        source: Box<Error>,
    },
    /// A failure that is jobsplit's own fault, not the input's: please report it.
    #[error("internal error (please report it): {message}")]
    #[non_exhaustive]
    Internal {
        /// What failed.
        message: String,
    },
}

impl Error {
    /// What kind of thing went wrong. A run that stopped after it began writing
    /// ([`Error::Stopped`]) has the kind of the error that stopped it.
    ///
    /// # Examples
    /// ```
    /// use jobsplit::{ErrorKind, Machine};
    ///
    /// let e = Machine::new("ws1", -1.0, 8).unwrap_err();
    /// assert_eq!(e.kind(), ErrorKind::Machines);
    /// ```
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Io { .. } => ErrorKind::Io,
            Error::Invalid { kind, .. } => *kind,
            Error::PlanMismatch { .. } => ErrorKind::PlanMismatch,
            Error::Stopped { source, .. } => source.kind(),
            Error::Internal { .. } => ErrorKind::Internal,
        }
    }

    /// An I/O error on `path`.
    pub(crate) fn io(path: impl Into<PathBuf>, source: io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    /// An input of `kind` at fault, in `path` (at 1-based `line` if known).
    pub(crate) fn invalid(
        kind: ErrorKind,
        path: Option<&Path>,
        line: Option<u64>,
        message: impl Into<String>,
    ) -> Self {
        Error::Invalid {
            kind,
            path: path.map(Path::to_path_buf),
            line,
            message: message.into(),
        }
    }

    /// A flag, an environment variable or an argument that is wrong ([`ErrorKind::Usage`]).
    pub(crate) fn usage(message: impl Into<String>) -> Self {
        Error::invalid(ErrorKind::Usage, None, None, message)
    }

    /// A malformed job list ([`ErrorKind::JobList`]).
    pub(crate) fn job_list(
        path: Option<&Path>,
        line: Option<u64>,
        message: impl Into<String>,
    ) -> Self {
        Error::invalid(ErrorKind::JobList, path, line, message)
    }

    /// A command template that does not parse or fit ([`ErrorKind::Template`]).
    pub(crate) fn template(
        path: Option<&Path>,
        line: Option<u64>,
        message: impl Into<String>,
    ) -> Self {
        Error::invalid(ErrorKind::Template, path, line, message)
    }

    /// A malformed machines file or machine ([`ErrorKind::Machines`]).
    pub(crate) fn machines(
        path: Option<&Path>,
        line: Option<u64>,
        message: impl Into<String>,
    ) -> Self {
        Error::invalid(ErrorKind::Machines, path, line, message)
    }

    /// A malformed config ([`ErrorKind::Config`]).
    pub(crate) fn config(
        path: Option<&Path>,
        line: Option<u64>,
        message: impl Into<String>,
    ) -> Self {
        Error::invalid(ErrorKind::Config, path, line, message)
    }

    /// A malformed or unfitting epochs file ([`ErrorKind::Epochs`]).
    pub(crate) fn epochs(
        path: Option<&Path>,
        line: Option<u64>,
        message: impl Into<String>,
    ) -> Self {
        Error::invalid(ErrorKind::Epochs, path, line, message)
    }

    /// A directory that is not what the command needs ([`ErrorKind::OutputDir`]).
    pub(crate) fn output_dir(
        path: Option<&Path>,
        line: Option<u64>,
        message: impl Into<String>,
    ) -> Self {
        Error::invalid(ErrorKind::OutputDir, path, line, message)
    }

    /// A damaged file of jobsplit's, or one that is not jobsplit's ([`ErrorKind::Damaged`]).
    pub(crate) fn damaged(
        path: Option<&Path>,
        line: Option<u64>,
        message: impl Into<String>,
    ) -> Self {
        Error::invalid(ErrorKind::Damaged, path, line, message)
    }

    /// Inputs that hold different plans or studies ([`ErrorKind::PlanMismatch`]), named by a
    /// file.
    pub(crate) fn mismatch(
        path: Option<&Path>,
        line: Option<u64>,
        message: impl Into<String>,
    ) -> Self {
        Error::invalid(ErrorKind::PlanMismatch, path, line, message)
    }

    /// Something another run holds ([`ErrorKind::Locked`]).
    pub(crate) fn locked(message: impl Into<String>) -> Self {
        Error::invalid(ErrorKind::Locked, None, None, message)
    }

    /// A remote host's failure or a bad remote request ([`ErrorKind::Remote`]).
    pub(crate) fn remote(message: impl Into<String>) -> Self {
        Error::invalid(ErrorKind::Remote, None, None, message)
    }

    /// The operating system refused something that is not a file ([`ErrorKind::Io`]): a
    /// process or a thread could not start.
    pub(crate) fn system(message: impl Into<String>) -> Self {
        Error::invalid(ErrorKind::Io, None, None, message)
    }

    /// `self` as the error of a run that had begun writing `dir`.
    pub(crate) fn stopped(self, dir: &Path) -> Self {
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
                matches!(source.raw_os_error(), Some(libc::ENOSPC | libc::EDQUOT))
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
        _ if matches!(e.raw_os_error(), Some(libc::ENOSPC | libc::EDQUOT)) => {
            "no space left on the device (free some space, then rerun: finished jobs are kept)"
                .to_owned()
        }
        _ => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_kind_is_the_constructors_and_a_stopped_run_keeps_its_causes() {
        let full = Error::io("r.csv", io::Error::from_raw_os_error(libc::ENOSPC));
        assert_eq!(full.kind(), ErrorKind::Io);
        let stopped = full.stopped(Path::new("out/ws1"));
        assert_eq!(stopped.kind(), ErrorKind::Io);
        assert!(stopped.is_disk_full());
        let locked = Error::locked("another run").stopped(Path::new("out/ws1"));
        assert_eq!(locked.kind(), ErrorKind::Locked);
        let e = Error::machines(Some(Path::new("m.json")), Some(3), "bad weight");
        assert_eq!(
            (e.kind(), e.to_string().as_str()),
            (ErrorKind::Machines, "m.json:3: bad weight")
        );
        assert_eq!(Error::usage("x").kind(), ErrorKind::Usage);
        let internal = Error::Internal {
            message: "x".into(),
        };
        assert_eq!(internal.kind(), ErrorKind::Internal);
    }
}
