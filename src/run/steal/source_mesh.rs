//! The `--steal-mesh` side of the stealing source: once its own share is claimed whole, a run
//! steals by itself from its peers' disks ([`super::super::peers`]), choosing as a thief on a
//! shared `OUT` does ([`choose_queued`]: the tail block of the share that will finish last,
//! only while it would finish it sooner than its owner), each block claimed on its owner's disk
//! first, then on this machine's own (the hand-over the launcher would make).

use std::sync::atomic::Ordering;
use std::time::{Instant, SystemTime};

use super::super::peers::{PeerLook, Peers};
use super::super::victim::{choose_queued, Choice, Queue, ShareView};
use super::{Refill, State, StealSource};
use crate::output::claim::{read_claim, ClaimRecord, Outcome};

impl StealSource<'_> {
    /// This source, stealing by itself from the peers of `mesh` too.
    pub(crate) fn with_mesh(mut self, mesh: Option<Box<dyn Peers>>) -> Self {
        self.mesh = mesh;
        self
    }

    /// A block of a peer's share for this run: one claimed for it on its owner's disk and not
    /// yet on its own (a claim whose answer was lost, or a hand-over that did not happen),
    /// else one stolen now. `Done` with no mesh, or nothing left worth waiting for.
    pub(super) fn mesh_refill(&self, st: &mut State) -> Refill {
        let Some(mesh) = self.mesh.as_deref() else {
            return Refill::Done;
        };
        let (looks, settled) = mesh.looks();
        let shares: Vec<Option<usize>> = looks.iter().map(|l| self.share_of(&l.machine)).collect();
        for (look, j) in looks.iter().zip(&shares) {
            let Some(j) = *j else { continue };
            for (b, thief) in &look.stolen {
                if *thief == self.who.machine && self.adopt(st, j, *b) {
                    return Refill::Again;
                }
            }
        }
        let views: Vec<ShareView> = looks
            .iter()
            .zip(&shares)
            .map(|(look, j)| self.peer_view(st, *j, look))
            .collect();
        let queues = vec![
            Queue {
                block: self.block(),
                before: 0,
            };
            views.len()
        ];
        match choose_queued(&views, &queues, self.my_rate(), self.threads) {
            Choice::Steal(k, b) => {
                let j = shares[k].expect("a share with blocks left is one of the plan");
                st.known[j].insert(b);
                self.steal_from(st, mesh, looks[k].peer, j, b);
                Refill::Again
            }
            Choice::Wait => Refill::Wait,
            Choice::Nothing if settled => Refill::Done,
            Choice::Nothing => Refill::Wait,
        }
    }

    /// The share of machine `name` (a study of one epoch).
    fn share_of(&self, name: &str) -> Option<usize> {
        (0..self.blocks.shares()).find(|&j| Some(j) != self.me && self.blocks.owner(j) == name)
    }

    /// What a peer's look says of its share `j` (nothing for a machine not of the plan).
    fn peer_view(&self, st: &State, j: Option<usize>, look: &PeerLook) -> ShareView {
        let unclaimed: Vec<u64> = j.map_or_else(Vec::new, |j| {
            (0..self.blocks.count(j))
                .filter(|b| look.claimed.binary_search(b).is_err() && !st.known[j].contains(b))
                .collect()
        });
        ShareView {
            tail_jobs: match (j, unclaimed.last()) {
                (Some(j), Some(&b)) => self.blocks.jobs(j, b).len() as u64,
                _ => 0,
            },
            unclaimed,
            rate: look.rate,
            threads: look.threads.max(1),
        }
    }

    /// The claim of block `b` of share `j` for this run.
    fn record(&self, j: usize, b: u64) -> ClaimRecord {
        ClaimRecord {
            owner: self.blocks.owner(j).to_owned(),
            block: b,
            at: crate::output::rfc3339(SystemTime::now()),
            jobs: self.blocks.jobs(j, b).to_vec(),
            ..self.who.clone()
        }
    }

    /// Claims block `b` of share `j` on peer `peer`'s disk (its owner's) for this run, then on
    /// its own; a block lost there is left (its holder runs it).
    fn steal_from(&self, st: &mut State, mesh: &dyn Peers, peer: usize, j: usize, b: u64) {
        let record = self.record(j, b);
        let t = Instant::now();
        let answer = mesh.claim(peer, self.block(), &record);
        let us = t.elapsed().as_micros() as u64;
        self.stats.claim_us.fetch_add(us, Ordering::Relaxed);
        self.stats.attempts.fetch_add(1, Ordering::Relaxed);
        self.stats.peer_us.fetch_add(us, Ordering::Relaxed);
        self.stats.peer_calls.fetch_add(1, Ordering::Relaxed);
        let mine = answer.is_some_and(|a| a.won || a.holder.is_some_and(|h| h == self.who.machine));
        // An answer lost on the way may hide a claim made: the next looks find it (adopt).
        if mine {
            self.adopt(st, j, b);
        }
    }

    /// Takes up block `b` of share `j`, claimed for this machine on its owner's disk: the same
    /// claim on its own disk (won, or made already by the launcher's hand-over), then queued.
    /// False when this run holds it already or another machine's claim is on its disk.
    fn adopt(&self, st: &mut State, j: usize, b: u64) -> bool {
        if st.taken.contains(&(j, b)) || self.held_before.contains(&(j, b)) {
            return false;
        }
        if b >= self.blocks.count(j) {
            return false;
        }
        let claimer = &self.claimers[0];
        let held = match claimer.claim(&self.record(j, b)) {
            Ok(Outcome::Won) => true,
            Ok(Outcome::Lost(_)) => read_claim(&claimer.path(self.blocks.owner(j), b))
                .ok()
                .flatten()
                .is_some_and(|c| c.machine == self.who.machine),
            Err(_) => false,
        };
        if held {
            self.take_stolen(st, j, b);
        }
        held
    }
}
