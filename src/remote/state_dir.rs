//! The directory of jobsplit's own files in a remote study directory: what ship places there,
//! what a launched run leaves there, and what `clean` looks for.

use std::path::{Path, PathBuf};

/// The directory of jobsplit's own files in a remote study directory (the binary, the payload
/// record, each launched run's console output and process id).
pub(crate) const STATE_DIR: &str = ".jobsplit-remote";

/// The hosts' address book in [`STATE_DIR`], written by the start of a `--steal-remote` run
/// (its format: `remote::peers`).
pub(crate) const PEERS_FILE: &str = "peers.json";

/// `dir/.jobsplit-remote`.
pub(crate) fn state_dir(dir: &Path) -> PathBuf {
    dir.join(STATE_DIR)
}
