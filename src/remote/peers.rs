//! The hosts' address book for self-stealing over a mesh (`run --steal-remote --steal-mesh`,
//! docs/remote.md): `.jobsplit-remote/peers.json` in a host's study directory, written by
//! every `jobsplit launch -- --steal-remote` with the inventory as the launcher resolved it
//! (machine, ssh destination, study directory), so that a host can reach its peers' disks with
//! no launcher. A host reaches a peer by the same destination the launcher does: where the
//! names differ between the laptop and the hosts, edit the file (or give the hosts the same
//! ssh config).
//!
//! `{"format": "jobsplit-peers-1", "peers": [{"machine": "ws1", "ssh": "me@ws1.lab",
//! "dir": "jobsplit/study"}, ...]}`

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::Host;
use crate::error::{Error, ErrorKind, Result};

/// The format name of the file.
pub(crate) const FORMAT: &str = "jobsplit-peers-1";

/// The file's name in the study directory's `.jobsplit-remote/`.
pub(crate) use super::state_dir::PEERS_FILE as FILE;

/// One host of the study, as its peers reach it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Peer {
    /// Its machine name in the plan.
    pub machine: String,
    /// Its ssh destination.
    pub ssh: String,
    /// Its study directory (absolute, or relative to its home).
    pub dir: String,
}

#[derive(Debug, Serialize, Deserialize)]
struct PeersFile {
    format: String,
    peers: Vec<Peer>,
}

/// Where a run started in the study directory finds the file.
pub(crate) fn path() -> PathBuf {
    Path::new(super::state_dir::STATE_DIR).join(FILE)
}

/// The file's text for `hosts`.
pub(crate) fn text(hosts: &[Host]) -> String {
    let file = PeersFile {
        format: FORMAT.to_owned(),
        peers: hosts
            .iter()
            .map(|h| Peer {
                machine: h.machine.clone(),
                ssh: h.dest.clone(),
                dir: h.dir.clone(),
            })
            .collect(),
    };
    serde_json::to_string(&file).expect("serializing plain data") + "\n"
}

/// Reads the peers in `file`.
///
/// # Errors
/// A missing or unreadable file, or one that is not a peers file (one line naming the file
/// and the fix).
pub(crate) fn read(file: &Path) -> Result<Vec<Peer>> {
    let text = std::fs::read_to_string(file).map_err(|e| {
        Error::invalid(
            ErrorKind::Usage,
            Some(file),
            None,
            format!("--steal-mesh needs the hosts' address book ({e}): launch the study with `jobsplit launch -- --steal-remote --steal-mesh`, which writes it, or write it (docs/remote.md)"),
        )
    })?;
    let bad = |why: String| {
        Error::invalid(
            ErrorKind::Usage,
            Some(file),
            None,
            format!("not a peers file ({why}): expected {{\"format\": \"{FORMAT}\", \"peers\": [{{\"machine\", \"ssh\", \"dir\"}}]}} (docs/remote.md)"),
        )
    };
    let parsed: PeersFile = serde_json::from_str(&text).map_err(|e| bad(e.to_string()))?;
    if parsed.format != FORMAT {
        return Err(bad(format!(
            "format `{}`",
            crate::text::escape(&parsed.format)
        )));
    }
    if let Some(p) = parsed
        .peers
        .iter()
        .find(|p| !crate::output::fence::safe_name(&p.machine) || p.ssh.is_empty())
    {
        return Err(bad(format!(
            "machine `{}` has no usable name or ssh destination",
            crate::text::escape(&p.machine)
        )));
    }
    Ok(parsed.peers)
}

impl Peer {
    /// The peer as a host the sessions reach.
    pub(crate) fn host(&self) -> Host {
        Host {
            machine: self.machine.clone(),
            dest: self.ssh.clone(),
            dir: self.dir.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_and_read_back_and_bad_files_name_the_fix() {
        let t = tempfile::tempdir().unwrap();
        let file = t.path().join(FILE);
        let hosts = [Host {
            machine: "ws1".into(),
            dest: "me@ws1".into(),
            dir: "jobsplit/s".into(),
        }];
        std::fs::write(&file, text(&hosts)).unwrap();
        let peers = read(&file).unwrap();
        assert_eq!(peers[0].host(), hosts[0]);
        std::fs::write(&file, "{\"format\": \"x\", \"peers\": []}").unwrap();
        let e = read(&file).unwrap_err().to_string();
        assert!(e.contains("not a peers file") && e.contains(FILE), "{e}");
        let e = read(&t.path().join("none")).unwrap_err().to_string();
        assert!(
            e.contains("jobsplit launch -- --steal-remote --steal-mesh"),
            "{e}"
        );
    }
}
