//! Exit codes: documented in the README and stable for scripts. Each names what happened to
//! the output, so a script knows whether a rerun is safe and useful.

/// Every job ok (or the command succeeded).
pub(crate) const OK: u8 = 0;
/// Some jobs failed, timed out, or are missing from a merge.
pub(crate) const JOBS_FAILED: u8 = 1;
/// Bad input or usage: nothing was run and nothing was written.
pub(crate) const BAD_INPUT: u8 = 2;
/// The run stopped on an error after it had begun writing (a full disk, an I/O error): what it
/// recorded is kept and valid; fix the cause and rerun to resume.
pub(crate) const STOPPED: u8 = 3;
/// jobsplit's own failure (a bug): please report it.
pub(crate) const INTERNAL: u8 = 4;
/// A remote command reached some hosts and not others (unreachable, refused): what it did on
/// the others stands; run it again for the rest.
pub(crate) const SOME_HOSTS_FAILED: u8 = 5;
/// Interrupted by Ctrl-C or SIGTERM; a rerun resumes.
pub(crate) const INTERRUPTED: u8 = 130;

/// The exit code of an error that ended a command.
pub(crate) fn of(e: &anyhow::Error) -> u8 {
    match e.downcast_ref::<crate::Error>() {
        Some(crate::Error::Stopped { .. }) => STOPPED,
        Some(crate::Error::Internal { .. }) => INTERNAL,
        Some(_) => BAD_INPUT,
        // Output that could not be written (stdout on a full disk): it began writing.
        None if e.downcast_ref::<std::io::Error>().is_some() => STOPPED,
        // Every other failure of the input or the environment is a crate error; the rest is
        // ours.
        None => INTERNAL,
    }
}
