//! What a collect passes over on either side, the laptop's inventory and the host's pull alike:
//! the lock and the temporary files a run is writing, and the record of what was verified here.

/// The file in `OUT/<machine>/` here recording each file's size, time and SHA-256 as last
/// verified (JSON lines of inventory entries); never sent, never collected.
pub(super) const VERIFIED: &str = ".collected";

/// True for what a collect leaves on the host: the lock and temporary files being written.
fn not_collected(name: &str) -> bool {
    name == ".lock" || name.ends_with(".tmp") || name.contains(".tmp-")
}

/// True for the entry `name` of the directory `prefix` (empty at the machine directory's top,
/// else ending in `/`) that a collect neither lists nor sends.
pub(super) fn passed_over(prefix: &str, name: &str) -> bool {
    not_collected(name) || (prefix.is_empty() && name == VERIFIED)
}
