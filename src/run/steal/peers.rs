//! What a `--steal-remote` run needs of its peers' disks to steal by itself and learn its
//! fences there (`--steal-mesh`, docs/remote.md): their looks and a claim on one of them. The
//! run only decides what to ask for; the transport (ssh sessions to the peers) is provided from
//! above, by `remote::mesh`, through [`StartPeers`].

use std::path::PathBuf;
use std::sync::Arc;

use crate::error::Result;
use crate::output::claim::ClaimRecord;

/// What the last look at one peer's disk said of its share.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PeerLook {
    /// The peer (an index for [`Peers::claim`]).
    pub peer: usize,
    /// Its machine name.
    pub machine: String,
    /// The blocks of its share claimed on its disk, ascending.
    pub claimed: Vec<u64>,
    /// The blocks of its share claimed there for other machines: (block, machine).
    pub stolen: Vec<(u64, String)>,
    /// Its jobs per second while it runs (`None`: not running, or not measured yet).
    pub rate: Option<f64>,
    /// Its worker threads (0: not known).
    pub threads: u64,
}

/// The answer of a claim made on a peer's disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PeerClaim {
    /// The claim there names this run.
    pub won: bool,
    /// The machine whose claim holds the block otherwise, if readable.
    pub holder: Option<String>,
}

/// A run's peers, looked at in the background.
pub(crate) trait Peers: Send + Sync {
    /// Whether a peer's disk fences this machine (the fence is then on its own disk too).
    fn fenced(&self) -> bool;
    /// The peers looked at lately whose disk runs this study's layout and does not fence them;
    /// and whether every peer was tried once (else one not answered yet may still have blocks).
    fn looks(&self) -> (Vec<PeerLook>, bool);
    /// Claims `record`'s block on peer `peer`'s disk (its owner's) in blocks of `block` jobs;
    /// `None` when the peer could not be asked, or refused.
    fn claim(&self, peer: usize, block: u64, record: &ClaimRecord) -> Option<PeerClaim>;
}

/// Where a run's peers are looked at: this machine, `OUT` and the layout directory under it
/// as every host names them, and this machine's own layout directory (where a fence learned
/// from a peer is written).
#[derive(Debug, Clone)]
pub(crate) struct PeersAt {
    pub me: String,
    pub out: String,
    pub layout: String,
    pub own_layout: PathBuf,
}

/// What starts a run's peers.
pub(crate) type StartFn = dyn Fn(&PeersAt) -> Result<Box<dyn Peers>> + Send + Sync;

/// Starts a run's peers (`--steal-mesh`), given from above.
#[derive(Clone)]
pub(crate) struct StartPeers(pub Arc<StartFn>);

impl std::fmt::Debug for StartPeers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StartPeers")
    }
}

impl PartialEq for StartPeers {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for StartPeers {}
