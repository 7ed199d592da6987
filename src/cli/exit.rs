//! Exit codes: documented in the README and stable for scripts.

/// Every job ok (or the command succeeded).
pub(crate) const OK: u8 = 0;
/// Some jobs failed, timed out, or are missing from a merge.
pub(crate) const JOBS_FAILED: u8 = 1;
/// Bad input or usage: nothing was run.
pub(crate) const BAD_INPUT: u8 = 2;
/// Interrupted by Ctrl-C or SIGTERM; a rerun resumes.
pub(crate) const INTERRUPTED: u8 = 130;
