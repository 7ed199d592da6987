//! Blocks: each share cut into runs of B consecutive jobs in plan order. B comes from the plan
//! and the core counts (about [`BLOCKS_PER_CORE`] blocks per core of the whole study) unless a
//! host is told it (`[run] steal_block`, `--steal-block`); every host of a study must agree.

use crate::plan::Plan;

/// How many blocks per core of the study the default block size aims at: enough that the last
/// blocks are small against a share (a thief's tail is short), few enough that claims stay a
/// small part of the work.
pub const BLOCKS_PER_CORE: u64 = 48;

pub use crate::input::MAX_BLOCK;

/// The default block size of `plan`: `ceil(jobs / (BLOCKS_PER_CORE * cores))`, at least 1.
pub fn default_block(plan: &Plan) -> u64 {
    let cores: u64 = plan.machines().iter().map(|m| m.cores).sum::<u64>().max(1);
    let jobs = plan.jobs().saturating_sub(plan.excluded());
    jobs.div_ceil(BLOCKS_PER_CORE.saturating_mul(cores)).max(1)
}

/// The blocks of every share of a plan.
#[derive(Debug)]
pub struct Blocks<'p> {
    plan: &'p Plan,
    block: u64,
}

impl<'p> Blocks<'p> {
    /// Blocks of `block` jobs over `plan`'s shares.
    pub fn new(plan: &'p Plan, block: u64) -> Self {
        Blocks {
            plan,
            block: block.max(1),
        }
    }

    /// Jobs per block.
    pub fn size(&self) -> u64 {
        self.block
    }

    /// The plan's digest (64 hex digits).
    pub fn plan_digest(&self) -> String {
        self.plan.plan_digest().hex()
    }

    /// Machines (shares).
    pub fn shares(&self) -> usize {
        self.plan.machines().len()
    }

    /// The name of share `j`'s machine.
    pub fn owner(&self, j: usize) -> &'p str {
        &self.plan.machines()[j].name
    }

    /// The job indices of share `j`, in plan order.
    pub fn share(&self, j: usize) -> &'p [u64] {
        self.plan.share(j)
    }

    /// How many blocks share `j` has.
    pub fn count(&self, j: usize) -> u64 {
        (self.plan.share(j).len() as u64).div_ceil(self.block)
    }

    /// The job indices of block `b` of share `j`, in plan order.
    pub fn jobs(&self, j: usize, b: u64) -> &'p [u64] {
        let share = self.plan.share(j);
        let start = (b * self.block) as usize;
        let end = ((b + 1) * self.block).min(share.len() as u64) as usize;
        &share[start.min(end)..end]
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
