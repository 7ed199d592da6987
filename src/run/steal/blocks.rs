//! Blocks: each share of each epoch cut into runs of B_e consecutive jobs in plan order. B_e
//! comes from the epoch's jobs per core of the whole study (`ceil(sqrt(jobs per core /`
//! [`TAIL_PER_CLAIM`]`))`, see [`default_blocks`]) unless a host is told it (`[run]
//! steal_block`, `--steal-block`: then every epoch's); every host of a study must agree. A
//! study that never grew has one epoch, and its units are its machines' shares.

use std::path::Path;

use crate::plan::{EpochPlan, Plan};

/// The default block size balances two costs, as parts of the work: the claims (one per
/// block, each `c / (B x m)` for a claim of `c` and jobs of `m` on average) and the last block
/// (hosts idle while another runs it: about `B / (2 x n)` for `n` jobs per core). Their sum is
/// least at `B = sqrt(2 x n x c / m)`; for a claim that costs 1% of a mean job that is
/// `sqrt(n / 50)`, and both parts are then about `1% / B` (docs/balance.md "Blocks").
pub(crate) const TAIL_PER_CLAIM: u64 = 50;

/// How many blocks per core the default block size aimed at before `TAIL_PER_CLAIM`
/// (`ceil(jobs / (48 x cores))`): a layout an older jobsplit recorded with it keeps it.
const OLD_BLOCKS_PER_CORE: u64 = 48;

pub(crate) use crate::input::MAX_BLOCK;

#[cfg(test)]
/// The default block size of `plan` (one epoch); of its last epoch for a plan of epochs
/// ([`default_blocks`] gives every epoch's).
pub(crate) fn default_block(plan: &Plan) -> u64 {
    *default_blocks(plan).last().expect("a plan has an epoch")
}

/// The default block size of each epoch of `plan`: the least B >= 1 with
/// `B x B x TAIL_PER_CLAIM x cores >= jobs_e` (that is `ceil(sqrt(jobs_e / cores / 50))`) over
/// the epoch's jobs that are not excluded and the cores of all the plan's machines.
pub(crate) fn default_blocks(plan: &Plan) -> Vec<u64> {
    let cores = cores_of(plan);
    let of = |e: &EpochPlan| block_for(e.span.jobs.saturating_sub(e.excluded), cores);
    plan.epochs().iter().map(of).collect()
}

/// The block size of each epoch of `plan` for a run told none that shares `out`: the default
/// ([`default_blocks`]), except for an epoch whose layout in `out` records the block size of the
/// rule before (`ceil(jobs / (48 x cores))`): a study an older jobsplit started keeps it, so its
/// hosts resume and join it unchanged. Any other recorded size is left to the layout check
/// (which refuses a run of another size).
pub(crate) fn blocks_in(plan: &Plan, out: &Path) -> Vec<u64> {
    let cores = cores_of(plan);
    let recorded = crate::output::layout::recorded_blocks(out, plan);
    let epochs = plan.epochs().iter().zip(recorded);
    default_blocks(plan)
        .into_iter()
        .zip(epochs)
        .map(|(new, (e, had))| {
            let jobs = e.span.jobs.saturating_sub(e.excluded);
            let old = jobs
                .div_ceil(OLD_BLOCKS_PER_CORE.saturating_mul(cores))
                .max(1);
            match had {
                Some(b) if b == old => b,
                _ => new,
            }
        })
        .collect()
}

/// The cores of all the machines of `plan`, at least 1.
fn cores_of(plan: &Plan) -> u64 {
    plan.machines().iter().map(|m| m.cores).sum::<u64>().max(1)
}

/// The least B >= 1 with `B x B x TAIL_PER_CLAIM x cores >= jobs`, at most [`MAX_BLOCK`].
fn block_for(jobs: u64, cores: u64) -> u64 {
    let per = u128::from(TAIL_PER_CLAIM) * u128::from(cores.max(1));
    let enough = |b: u64| u128::from(b) * u128::from(b) * per >= u128::from(jobs);
    let mut b = ((jobs as f64 / per as f64).sqrt().ceil() as u64).clamp(1, MAX_BLOCK);
    while b > 1 && enough(b - 1) {
        b -= 1;
    }
    while b < MAX_BLOCK && !enough(b) {
        b += 1;
    }
    b
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

    /// Pinned sizes: the bench's uneven study (300 jobs on 3 one-core machines) gets blocks of
    /// 2 (it got 3 with 48 blocks per core), a study of 10,000 jobs on 4 cores 8 (was 53).
    #[test]
    fn the_default_block_grows_with_the_square_root_of_the_jobs_per_core() {
        let cases = [
            (300, &[1, 1, 1][..], 2),
            (150, &[1, 1, 1], 1),
            (151, &[1, 1, 1], 2),
            (10_000, &[2, 2], 8),
            (1_000_000, &[16], 36),
            (0, &[4], 1),
        ];
        for (jobs, cores, b) in cases {
            assert_eq!(
                default_block(&plan(jobs, cores)),
                b,
                "{jobs} jobs on {cores:?}"
            );
        }
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

        /// The default block is the least B with B x B x 50 x cores >= jobs.
        #[test]
        fn the_default_block_is_the_least_with_b_squared_x_50_per_core_covering_the_jobs(
            jobs in 0u64..100_000,
            c in 1u64..64,
        ) {
            let b = default_block(&plan(jobs, &[c]));
            prop_assert!(b >= 1);
            prop_assert!(b * b * TAIL_PER_CLAIM * c >= jobs);
            prop_assert!(b == 1 || (b - 1) * (b - 1) * TAIL_PER_CLAIM * c < jobs);
        }
    }
}
