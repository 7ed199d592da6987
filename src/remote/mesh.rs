//! Self-stealing over a mesh (`run --steal-remote --steal-mesh`, docs/remote.md): a host that
//! can ssh to its peers keeps one `remote-serve session` open to each (the launcher's kind of
//! session, started by this run), looks at each peer's disk every [`LOOK_EVERY`] in the
//! background (`steal-look ... keep`: what of its share is claimed, its rate, the fences
//! there), and, once its own share is claimed whole, claims the tail blocks of the share that
//! will finish last **on its owner's disk** (`steal-claim`), then on its own: the same claims as
//! the launcher's hand-over, so the owner's disk decides between them. A fence of this machine
//! found on any peer's disk is written on its own disk at once: its run starts no other block.
//! No peer is needed for correctness: an unreachable peer is neither stolen from nor waited for.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::peers::Peer;
use super::session::Sessions;
use super::steal_serve::{ClaimAnswer, StealLook};
use super::{Host, Ssh};
use crate::error::Result;
use crate::output::claim::ClaimRecord;
use crate::output::layout::MODE_REMOTE;
use crate::run::steal::peers::{PeerClaim, PeerLook, Peers, PeersAt};

/// How often each peer's disk is looked at (its claims, rate and fences).
pub(crate) const LOOK_EVERY: Duration = Duration::from_millis(300);

/// A look older than this is not used (the peer stopped answering): its share is left alone.
const LOOK_FOR: Duration = Duration::from_secs(2);

/// How long a claim waits for the peer's session to be free (a look in progress takes a round
/// trip; one that takes longer is a peer that stopped answering).
const CLAIM_WAIT: Duration = Duration::from_millis(200);

/// How long after the start a peer not answered yet holds up the end of this run (its blocks
/// may be left to steal); after that it counts as unreachable.
const SETTLE: Duration = Duration::from_secs(3);

/// What the run and the lookers share.
struct Shared {
    ssh: Ssh,
    sessions: Sessions,
    peers: Vec<Host>,
    /// `OUT` and the layout directory under it, as every host names them.
    out: String,
    layout: String,
    /// This machine, and its own layout directory (where a fence learned is written).
    me: String,
    own_layout: std::path::PathBuf,
    looks: Mutex<Vec<Option<(Instant, StealLook)>>>,
    tried: Vec<AtomicBool>,
    fenced: AtomicBool,
    stop: AtomicBool,
    started: Instant,
}

/// The peers of this run and the threads looking at them.
pub(crate) struct Mesh {
    shared: Arc<Shared>,
    lookers: Vec<JoinHandle<()>>,
}

impl std::fmt::Debug for Mesh {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mesh")
            .field("peers", &self.shared.peers)
            .finish()
    }
}

impl Mesh {
    /// Starts looking at `peers` (this machine left out) for the run `at`.
    ///
    /// # Errors
    /// The ssh command line (`JOBSPLIT_SSH`) is bad, or no private directory could be made.
    pub(crate) fn start(peers: &[Peer], at: &PeersAt) -> Result<Mesh> {
        let peers: Vec<Host> = peers
            .iter()
            .filter(|p| p.machine != at.me)
            .map(Peer::host)
            .collect();
        let ssh = Ssh::new(std::env::var("JOBSPLIT_SSH").ok().as_deref())?;
        let shared = Arc::new(Shared {
            ssh,
            sessions: Sessions::new(&peers),
            tried: peers.iter().map(|_| AtomicBool::new(false)).collect(),
            looks: Mutex::new(vec![None; peers.len()]),
            peers,
            out: at.out.clone(),
            layout: at.layout.clone(),
            me: at.me.clone(),
            own_layout: at.own_layout.clone(),
            fenced: AtomicBool::new(false),
            stop: AtomicBool::new(false),
            started: Instant::now(),
        });
        let lookers = (0..shared.peers.len())
            .map(|i| {
                let s = Arc::clone(&shared);
                std::thread::spawn(move || s.keep_looking(i))
            })
            .collect();
        Ok(Mesh { shared, lookers })
    }
}

impl Peers for Mesh {
    fn fenced(&self) -> bool {
        self.shared.fenced.load(Ordering::Relaxed)
    }

    fn looks(&self) -> (Vec<PeerLook>, bool) {
        let s = &self.shared;
        let looks = s.looks.lock().unwrap_or_else(|e| e.into_inner());
        let fresh = looks
            .iter()
            .enumerate()
            .filter_map(|(i, l)| {
                let (at, look) = l.as_ref()?;
                let machine = &s.peers[i].machine;
                let usable = at.elapsed() < LOOK_FOR
                    && look.mode == MODE_REMOTE
                    && !look.fences.contains(machine);
                usable.then(|| PeerLook {
                    peer: i,
                    machine: machine.clone(),
                    claimed: look.claimed.clone(),
                    stolen: look.stolen.clone(),
                    rate: look.rate,
                    threads: look.threads,
                })
            })
            .collect();
        let settled =
            s.started.elapsed() >= SETTLE || s.tried.iter().all(|t| t.load(Ordering::Relaxed));
        (fresh, settled)
    }

    fn claim(&self, peer: usize, block: u64, record: &ClaimRecord) -> Option<PeerClaim> {
        let s = &self.shared;
        let h = &s.peers[peer];
        let words = [
            dir_of(h),
            s.out.clone(),
            s.layout.clone(),
            block.to_string(),
        ];
        let input = serde_json::to_string(record).expect("serializing plain data") + "\n";
        let answer =
            s.sessions
                .call_within(&s.ssh, h, "steal-claim", &words, &input, Some(CLAIM_WAIT));
        if let Err(super::Failure::Unreachable(_)) = &answer {
            // Not stolen from again before a look answers.
            s.looks.lock().unwrap_or_else(|e| e.into_inner())[peer] = None;
        }
        let a: ClaimAnswer = serde_json::from_str(answer.ok()?.lines().next()?).ok()?;
        Some(PeerClaim {
            won: a.won,
            holder: a.holder.map(|h| h.machine),
        })
    }
}

impl Drop for Mesh {
    /// Stops the lookers; one stuck in a call to a silent peer is left to end by itself.
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Relaxed);
        let deadline = Instant::now() + Duration::from_secs(1);
        for looker in std::mem::take(&mut self.lookers) {
            while !looker.is_finished() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(10));
            }
            if looker.is_finished() {
                let _ = looker.join();
            }
        }
    }
}

impl Shared {
    /// Looks at peer `i` every [`LOOK_EVERY`] until stopped.
    fn keep_looking(&self, i: usize) {
        let h = &self.peers[i];
        let words = [
            dir_of(h),
            self.out.clone(),
            self.layout.clone(),
            h.machine.clone(),
            "keep".to_owned(),
        ];
        while !self.stop.load(Ordering::Relaxed) {
            let t = Instant::now();
            let look = self
                .sessions
                .call(&self.ssh, h, "steal-look", &words, "")
                .ok()
                .and_then(|text| serde_json::from_str::<StealLook>(&text).ok());
            if let Some(look) = look {
                if look.fences.contains(&self.me) && !self.fenced.load(Ordering::Relaxed) {
                    // Kept on this disk: a relaunch, or a look of this run, sees it there too.
                    let _ = crate::output::fence::fence(&self.own_layout, &self.me);
                    self.fenced.store(true, Ordering::Relaxed);
                }
                self.looks.lock().unwrap_or_else(|e| e.into_inner())[i] = Some((t, look));
            } else {
                // A peer that does not answer is not stolen from.
                self.looks.lock().unwrap_or_else(|e| e.into_inner())[i] = None;
            }
            self.tried[i].store(true, Ordering::Relaxed);
            while t.elapsed() < LOOK_EVERY && !self.stop.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }
}

/// A host's study directory as its session names it (relative to its home).
fn dir_of(h: &Host) -> String {
    h.dir.strip_prefix("~/").unwrap_or(&h.dir).to_owned()
}
