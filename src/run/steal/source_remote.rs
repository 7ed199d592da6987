//! The `--steal-remote` side of the stealing source: this run's fences (a machine declared
//! dead starts no other block) and the blocks of other shares handed over to it.

use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;

use super::{Refill, State, StealSource};
use crate::output::claim::{claimed_blocks, read_claim};

impl StealSource<'_> {
    /// The layout directory of the study's first epoch: it holds the fences and the lease of
    /// every epoch.
    fn first_layout(&self) -> &Path {
        let dir = self.claimers[0].dir();
        dir.parent().unwrap_or(dir)
    }

    /// Where this run's fences are (`fenced/` of the first epoch's layout directory).
    pub(crate) fn fence_dir(&self) -> PathBuf {
        self.first_layout().join(crate::output::fence::FENCED_DIR)
    }

    /// `--steal-remote`: whether this machine was declared dead (it starts no other block).
    pub(super) fn fenced(&self) -> bool {
        self.fence_dir()
            .parent()
            .is_some_and(|layout| crate::output::fence::fenced(layout, &self.who.machine))
    }

    /// `--steal-remote`, own share claimed: a block handed over to this run (by the launcher
    /// or by this run's own steal), else one stolen from a peer (`--steal-mesh`); with none,
    /// waits while the launcher's lease is fresh or a peer's block may still be worth stealing
    /// (a follower: until its list grows), else is done.
    pub(super) fn remote_refill(&self, st: &mut State) -> Refill {
        if self.handed(st) {
            return Refill::Again;
        }
        let mesh = match self.mesh_refill(st) {
            Refill::Done => Refill::Done,
            other => return other,
        };
        // A follower waits for handed blocks as long as it follows, whatever the lease (a
        // launcher may come and hand it blocks of a later epoch), until its list grows: then
        // it runs its share of the new epoch first, and its next round takes up what was
        // handed to it since as its earlier claims.
        if self.follow {
            let list = self.work.jobs();
            let (jobs, epochs) = (self.blocks.plan().jobs(), self.chain.len());
            if st.growth.grew(list.path(), list.format(), jobs, epochs) {
                return Refill::Done;
            }
            return Refill::Wait;
        }
        if super::super::remote::lease_open(self.first_layout()) {
            Refill::Wait
        } else {
            mesh
        }
    }

    /// Takes the first block of another share (of any epoch) claimed for this machine in its
    /// own claims directories (handed over after a claim on the owner's disk); false with none.
    fn handed(&self, st: &mut State) -> bool {
        // Every epoch's other shares, each in its own epoch's claims.
        for j in (0..self.blocks.shares()).filter(|&j| Some(self.blocks.machine(j)) != self.me) {
            let claimer = self.claimer(j);
            let owner = self.blocks.owner(j);
            let mut numbers = claimed_blocks(claimer.dir(), owner);
            numbers.sort_unstable();
            for b in numbers {
                if st.taken.contains(&(j, b)) || self.held_before.contains(&(j, b)) {
                    continue;
                }
                // An unreadable record is being written: looked at again next time.
                let Ok(Some(c)) = read_claim(&claimer.path(owner, b)) else {
                    continue;
                };
                st.known[j].insert(b);
                if c.machine == self.who.machine && b < self.blocks.count(j) {
                    self.take_stolen(st, j, b);
                    return true;
                }
            }
        }
        false
    }

    /// Queues block `b` of share `j`, held by this run through a claim on its owner's disk.
    pub(super) fn take_stolen(&self, st: &mut State, j: usize, b: u64) {
        st.known[j].insert(b);
        st.taken.insert((j, b));
        self.stats.claims.fetch_add(1, Ordering::Relaxed);
        self.count_held(j, self.blocks.jobs(j, b).len() as u64);
        self.enqueue(st, j, b);
    }
}
