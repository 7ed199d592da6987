//! Blocks: each share of each epoch cut into runs of B_e consecutive jobs in plan order. B_e
//! comes from the epoch's jobs and the core counts (about [`BLOCKS_PER_CORE`] blocks per core
//! of the whole study) unless a host is told it (`[run] steal_block`, `--steal-block`: then
//! every epoch's); every host of a study must agree. A study that never grew has one epoch,
//! and its units are its machines' shares.

use crate::plan::{EpochPlan, Plan};

/// How many blocks per core of the study the default block size aims at: enough that the last
/// blocks are small against a share (a thief's tail is short), few enough that claims stay a
/// small part of the work.
pub(crate) const BLOCKS_PER_CORE: u64 = 48;

pub(crate) use crate::input::MAX_BLOCK;

/// The default block size of `plan` (one epoch): `ceil(jobs / (BLOCKS_PER_CORE * cores))`, at
/// least 1; of its last epoch for a plan of epochs ([`default_blocks`] gives every epoch's).
pub(crate) fn default_block(plan: &Plan) -> u64 {
    *default_blocks(plan).last().expect("a plan has an epoch")
}

/// The default block size of each epoch of `plan`: `ceil(jobs_e / (BLOCKS_PER_CORE * cores))`
/// over the epoch's jobs that are not excluded, at least 1 (for one epoch, the plan's).
pub(crate) fn default_blocks(plan: &Plan) -> Vec<u64> {
    let cores: u64 = plan.machines().iter().map(|m| m.cores).sum::<u64>().max(1);
    let of = |e: &EpochPlan| {
        let jobs = e.span.jobs.saturating_sub(e.excluded);
        jobs.div_ceil(BLOCKS_PER_CORE.saturating_mul(cores)).max(1)
    };
    plan.epochs().iter().map(of).collect()
}

/// One machine's share of one epoch: the unit that is cut into blocks and claimed.
#[derive(Debug, Clone, Copy)]
struct Unit {
    epoch: usize,
    machine: usize,
    /// Its jobs: `plan.share(machine)[start..end]`.
    start: usize,
    end: usize,
    block: u64,
}

/// The blocks of every share of every epoch of a plan. Units are numbered epoch after epoch,
/// machine after machine (`e * machines + j`): for a plan of one epoch, unit j is machine j's
/// share.
#[derive(Debug)]
pub(crate) struct Blocks<'p> {
    plan: &'p Plan,
    units: Vec<Unit>,
}

impl<'p> Blocks<'p> {
    /// Blocks of `block` jobs over every share of every epoch of `plan`.
    #[cfg(test)]
    pub(crate) fn new(plan: &'p Plan, block: u64) -> Self {
        Blocks::per_epoch(plan, &vec![block; plan.epochs().len()])
    }

    /// Blocks of `blocks[e]` jobs over the shares of epoch e.
    ///
    /// # Panics
    /// If `blocks` does not have one size per epoch of `plan`.
    pub(crate) fn per_epoch(plan: &'p Plan, blocks: &[u64]) -> Self {
        assert_eq!(
            blocks.len(),
            plan.epochs().len(),
            "one block size per epoch"
        );
        let k = plan.machines().len();
        let mut offset = vec![0usize; k];
        let mut units = Vec::with_capacity(k * blocks.len());
        for (e, epoch) in plan.epochs().iter().enumerate() {
            for (j, at) in offset.iter_mut().enumerate() {
                let len = epoch.shares[j] as usize;
                units.push(Unit {
                    epoch: e,
                    machine: j,
                    start: *at,
                    end: *at + len,
                    block: blocks[e].max(1),
                });
                *at += len;
            }
        }
        Blocks { plan, units }
    }

    /// The plan cut into these blocks.
    pub(crate) fn plan(&self) -> &'p Plan {
        self.plan
    }

    /// Jobs per block of unit `u`.
    pub(crate) fn size_of(&self, u: usize) -> u64 {
        self.units[u].block
    }

    /// Units: machines x epochs (the machines' shares for a plan of one epoch).
    pub(crate) fn shares(&self) -> usize {
        self.units.len()
    }

    /// Machines of the plan.
    pub(crate) fn machines(&self) -> usize {
        self.plan.machines().len()
    }

    /// The epoch of unit `u`.
    pub(crate) fn epoch(&self, u: usize) -> usize {
        self.units[u].epoch
    }

    /// The machine (its index in the plan) whose share unit `u` is.
    pub(crate) fn machine(&self, u: usize) -> usize {
        self.units[u].machine
    }

    /// The units of machine `j`, epoch after epoch.
    pub(crate) fn units_of(&self, j: usize) -> impl Iterator<Item = usize> + '_ {
        (0..self.units.len()).filter(move |&u| self.units[u].machine == j)
    }

    /// The name of unit `u`'s machine.
    pub(crate) fn owner(&self, u: usize) -> &'p str {
        &self.plan.machines()[self.units[u].machine].name
    }

    /// The job indices of unit `u`, in plan order.
    pub(crate) fn share(&self, u: usize) -> &'p [u64] {
        let unit = self.units[u];
        &self.plan.share(unit.machine)[unit.start..unit.end]
    }

    /// How many blocks unit `u` has.
    pub(crate) fn count(&self, u: usize) -> u64 {
        (self.share(u).len() as u64).div_ceil(self.units[u].block)
    }

    /// The job indices of block `b` of unit `u`, in plan order.
    pub(crate) fn jobs(&self, u: usize, b: u64) -> &'p [u64] {
        let share = self.share(u);
        let block = self.units[u].block;
        let start = (b * block) as usize;
        let end = ((b + 1) * block).min(share.len() as u64) as usize;
        &share[start.min(end)..end]
    }

    /// The unit and block of every job of the plan that `wanted` picks.
    pub(crate) fn find(
        &self,
        wanted: impl Fn(u64) -> bool,
    ) -> std::collections::HashMap<u64, (usize, u64)> {
        let mut found = std::collections::HashMap::new();
        for u in 0..self.units.len() {
            for (pos, &i) in self.share(u).iter().enumerate() {
                if wanted(i) {
                    found.insert(i, (u, pos as u64 / self.units[u].block));
                }
            }
        }
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::Machine;
    use crate::plan::{Digest, Plan};
    use proptest::prelude::*;

    fn plan(jobs: u64, cores: &[u64]) -> Plan {
        let machines: Vec<Machine> = cores
            .iter()
            .enumerate()
            .map(|(i, &c)| Machine::new(&format!("m{i}"), 1.0, c).unwrap())
            .collect();
        Plan::new(Digest([7; 32]), jobs, b"seed", machines, &[]).unwrap()
    }

    proptest! {
        /// Every job of every share is in exactly one block of that share, in plan order.
        #[test]
        fn blocks_cut_each_share_exactly(jobs in 0u64..500, block in 1u64..40, m in 1usize..4) {
            let cores: Vec<u64> = (1..=m as u64).collect();
            let p = plan(jobs, &cores);
            let b = Blocks::new(&p, block);
            for j in 0..b.shares() {
                let joined: Vec<u64> =
                    (0..b.count(j)).flat_map(|k| b.jobs(j, k).to_vec()).collect();
                prop_assert_eq!(&joined[..], p.share(j));
                for k in 0..b.count(j) {
                    prop_assert!(!b.jobs(j, k).is_empty());
                    prop_assert!(b.jobs(j, k).len() as u64 <= block);
                }
            }
        }

        /// In a plan of epochs, every job of every machine's share of every epoch is in
        /// exactly one block of that epoch's share (with its own block size), and a machine's
        /// shares, epoch after epoch, are its share of the plan.
        #[test]
        fn blocks_cut_each_epoch_share_exactly(
            sizes in proptest::collection::vec(1u64..60, 1..4),
            block in 1u64..9,
            m in 1usize..4,
        ) {
            let machines: Vec<Machine> = (0..m)
                .map(|i| Machine::new(&format!("m{i}"), 1.0 + i as f64, 1).unwrap())
                .collect();
            let mut first = 0;
            let epochs: Vec<(crate::plan::EpochSpan, Digest)> = sizes
                .iter()
                .enumerate()
                .map(|(e, &jobs)| {
                    let span = crate::plan::EpochSpan { first, jobs };
                    first += jobs;
                    (span, Digest([e as u8; 32]))
                })
                .collect();
            let p = Plan::with_epochs(&epochs, b"seed", machines, &[]).unwrap();
            let per: Vec<u64> = (0..sizes.len() as u64).map(|e| block + e).collect();
            let b = Blocks::per_epoch(&p, &per);
            prop_assert_eq!(b.shares(), m * sizes.len());
            for j in 0..m {
                let mut joined = Vec::new();
                for u in b.units_of(j) {
                    prop_assert_eq!(b.machine(u), j);
                    let span = epochs[b.epoch(u)].0;
                    for k in 0..b.count(u) {
                        let jobs = b.jobs(u, k);
                        prop_assert!(!jobs.is_empty());
                        prop_assert!(jobs.len() as u64 <= per[b.epoch(u)]);
                        prop_assert!(jobs.iter().all(|&i| i >= span.first && i < span.end()));
                        joined.extend_from_slice(jobs);
                    }
                }
                prop_assert_eq!(&joined[..], p.share(j));
            }
        }

        /// The default block gives at most BLOCKS_PER_CORE blocks per core of the study.
        #[test]
        fn the_default_block_aims_at_48_blocks_per_core(jobs in 0u64..100_000, c in 1u64..64) {
            let p = plan(jobs, &[c]);
            let b = default_block(&p);
            prop_assert!(b >= 1);
            prop_assert!(jobs.div_ceil(b) <= BLOCKS_PER_CORE * c);
        }
    }
}
