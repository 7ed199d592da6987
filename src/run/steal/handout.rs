//! What `jobsplit watch` hands to the thieves of a `--steal-remote` study in one look.
//!
//! Each thief (a host whose own share is claimed whole) is kept supplied until the look after
//! next: it gets blocks while the work it holds lasts less than the `horizon` (the time to
//! the next look and the hand-over), each time the tail block of the share that will finish
//! last by its owner's observed rate, and only while it would finish that block sooner than
//! its owner would ([`MARGIN`], the rule of a thief on a shared `OUT`). Estimates only ever
//! decide which *unclaimed* block to ask for; the owner's disk decides whether it is had.

use super::victim::MARGIN;

/// A block of a share of one epoch (a unit of [`super::blocks::Blocks`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct At {
    /// The epoch.
    pub epoch: usize,
    /// The unit (a machine's share of that epoch).
    pub unit: usize,
    /// The block of the unit.
    pub block: u64,
}

/// What watch knows of one reachable host this look.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct HostView {
    /// Its share (machine index in the plan).
    pub share: usize,
    /// The unclaimed blocks of its shares, in the order its run reaches them (epoch after
    /// epoch, each ascending): a thief takes the last.
    pub unclaimed: Vec<At>,
    /// The epochs its run knows (their layouts are on its disk): a block of a later epoch is
    /// not handed to it.
    pub epochs: usize,
    /// Its jobs per second, `None` when not measured yet or not running.
    pub rate: Option<f64>,
    /// Its worker threads.
    pub threads: u64,
    /// Jobs it holds and has not ended (running, queued, or handed and not taken up yet).
    pub pending: f64,
    /// Whether it takes blocks of other shares now (it runs, and its own share is claimed
    /// whole or about to be: handed blocks wait until it is).
    pub thief: bool,
}

/// One block to claim on its owner's disk for a thief.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Handout {
    /// The thief (index into the hosts given).
    pub thief: usize,
    /// The owner (index into the hosts given).
    pub owner: usize,
    /// The block of the owner's share.
    pub at: At,
}

/// The blocks to hand out this look among `hosts`; `jobs(at)` is the number of jobs of that
/// block; `horizon` is the seconds until the blocks of the next look can arrive. A thief not
/// measured yet gets one block per thread. Each owner loses the tail of what its run reaches
/// last that the thief knows: the last unclaimed block of one of its shares, never a block
/// before an unclaimed one of the same share.
pub(crate) fn hand_out(hosts: &[HostView], jobs: impl Fn(At) -> u64, horizon: f64) -> Vec<Handout> {
    let n = hosts.len();
    let mut left: Vec<Vec<At>> = hosts.iter().map(|h| h.unclaimed.clone()).collect();
    let mut finish: Vec<f64> = (0..n)
        .map(|i| match hosts[i].rate {
            Some(r) => {
                (hosts[i].pending + left[i].iter().map(|&a| jobs(a) as f64).sum::<f64>()) / r
            }
            None => f64::INFINITY,
        })
        .collect();
    // A thief runs what it holds and what is left of its own share before any handed block.
    let mut busy: Vec<f64> = (0..n)
        .map(|i| {
            if hosts[i].rate.is_some() {
                finish[i]
            } else {
                0.0
            }
        })
        .collect();
    let mut given = vec![0u64; n];
    let mut full = vec![false; n];
    let mut out = Vec::new();
    // The last block of `v`'s that thief `t` can take (of an epoch it knows).
    let tail = |left: &[Vec<At>], v: usize, t: usize| {
        left[v].iter().rposition(|a| a.epoch < hosts[t].epochs)
    };
    loop {
        let hungry = |t: usize| {
            let h = &hosts[t];
            h.thief
                && !full[t]
                && busy[t] < horizon
                && (h.rate.is_some() || given[t] < h.threads.max(1))
        };
        let Some(t) = (0..n)
            .filter(|&t| hungry(t))
            .min_by(|&a, &b| busy[a].total_cmp(&busy[b]))
        else {
            break;
        };
        let Some((v, k)) = (0..n)
            .filter(|&v| v != t)
            .filter_map(|v| Some((v, tail(&left, v, t)?)))
            .max_by(|a, b| finish[a.0].total_cmp(&finish[b.0]))
        else {
            full[t] = true;
            continue;
        };
        let at = left[v][k];
        let size = jobs(at) as f64;
        let cost = match hosts[t].rate {
            Some(r) => size / r,
            None => horizon / hosts[t].threads.max(1) as f64,
        };
        let done = busy[t] + cost;
        if hosts[t].rate.is_some() && finish[v].is_finite() && done >= MARGIN * finish[v] {
            // Not worth it from the share that ends last: from no other share either.
            full[t] = true;
            continue;
        }
        out.push(Handout {
            thief: t,
            owner: v,
            at,
        });
        left[v].remove(k);
        busy[t] = done;
        if hosts[t].rate.is_some() {
            finish[t] = done;
        }
        given[t] += 1;
        if let Some(r) = hosts[v].rate {
            finish[v] -= size / r;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(
        share: usize,
        unclaimed: std::ops::Range<u64>,
        rate: Option<f64>,
        thief: bool,
    ) -> HostView {
        HostView {
            share,
            unclaimed: unclaimed
                .map(|block| At {
                    epoch: 0,
                    unit: share,
                    block,
                })
                .collect(),
            epochs: 1,
            rate,
            threads: 1,
            pending: 0.0,
            thief,
        }
    }

    #[test]
    fn a_thief_is_supplied_to_the_horizon_from_the_share_that_ends_last() {
        // slow: 20 blocks of 2 jobs at 1 job/s (40 s); mid: 4 blocks at 2 jobs/s (4 s).
        let hosts = [
            host(0, 0..20, Some(1.0), false),
            host(1, 6..10, Some(2.0), false),
            host(2, 0..0, Some(4.0), true),
        ];
        let got = hand_out(&hosts, |_| 2, 2.0);
        // 2 s at 4 jobs/s is 8 jobs: 4 blocks, all from slow's tail.
        let want: Vec<Handout> = (16..20)
            .rev()
            .map(|block| Handout {
                thief: 2,
                owner: 0,
                at: At {
                    epoch: 0,
                    unit: 0,
                    block,
                },
            })
            .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn a_busy_thief_gets_nothing_and_the_end_is_left_to_the_owner() {
        let mut hosts = [
            host(0, 0..20, Some(1.0), false),
            host(1, 0..0, Some(4.0), true),
        ];
        hosts[1].pending = 12.0; // 3 s of work at 4 jobs/s
        assert!(hand_out(&hosts, |_| 2, 2.0).is_empty());
        // The owner ends its last block in 2 s; the thief would end it in 0.5 s + 3 s.
        let hosts = [host(0, 0..1, Some(1.0), false), {
            let mut h = host(1, 0..0, Some(4.0), true);
            h.pending = 12.0;
            h
        }];
        assert!(hand_out(&hosts, |_| 2, 5.0).is_empty());
    }

    #[test]
    fn a_thief_not_measured_gets_a_block_per_thread_and_a_stopped_owner_is_fair_game() {
        let mut thief = host(1, 0..0, None, true);
        thief.threads = 2;
        let hosts = [host(0, 0..10, None, false), thief];
        let got = hand_out(&hosts, |_| 3, 1.0);
        assert_eq!(got.len(), 2);
        assert_eq!((got[0].at.block, got[1].at.block), (9, 8));
    }

    #[test]
    fn two_thieves_share_the_tail_and_never_the_same_block() {
        let hosts = [
            host(0, 0..6, Some(1.0), false),
            host(1, 0..0, Some(2.0), true),
            host(2, 0..0, Some(4.0), true),
        ];
        let got = hand_out(&hosts, |_| 1, 1.0);
        let mut blocks: Vec<u64> = got.iter().map(|h| h.at.block).collect();
        blocks.sort_unstable();
        blocks.dedup();
        assert_eq!(blocks.len(), got.len());
        assert!(got.iter().any(|h| h.thief == 1) && got.iter().any(|h| h.thief == 2));
        assert!(got.len() < 6, "the owner keeps its head");
    }
    #[test]
    fn a_thief_to_be_is_supplied_after_its_own_share() {
        // fast still has 2 blocks of 2 jobs of its own (1 s at 4 jobs/s): a 2 s horizon
        // leaves room for 1 s of slow's tail, 4 jobs.
        let mut fast = host(1, 3..5, Some(4.0), true);
        fast.pending = 0.0;
        let hosts = [host(0, 0..20, Some(1.0), false), fast];
        let got = hand_out(&hosts, |_| 2, 2.0);
        assert_eq!(
            got.iter()
                .map(|h| (h.owner, h.at.block))
                .collect::<Vec<_>>(),
            [(0, 19), (0, 18)]
        );
    }

    #[test]
    fn a_grown_study_loses_the_tail_of_its_latest_epoch_to_a_thief_that_knows_it() {
        // slow holds 10 blocks of epoch 0 (unit 0) and 10 of epoch 1 (unit 2).
        let at = |epoch, unit, block| At { epoch, unit, block };
        let mut slow = host(0, 0..0, Some(1.0), false);
        slow.epochs = 2;
        slow.unclaimed = (0..10)
            .map(|b| at(0, 0, b))
            .chain((0..10).map(|b| at(1, 2, b)))
            .collect();
        let mut fast = host(1, 0..0, Some(4.0), true);
        fast.epochs = 2;
        let got = hand_out(&[slow.clone(), fast.clone()], |_| 1, 1.0);
        assert_eq!(
            got.iter().map(|h| h.at).collect::<Vec<_>>(),
            [at(1, 2, 9), at(1, 2, 8), at(1, 2, 7), at(1, 2, 6)]
        );
        // A thief that has not seen epoch 1 gets the tail of epoch 0 only.
        fast.epochs = 1;
        let got = hand_out(&[slow, fast], |_| 1, 1.0);
        assert_eq!(
            got.iter().map(|h| h.at).collect::<Vec<_>>(),
            [at(0, 0, 9), at(0, 0, 8), at(0, 0, 7), at(0, 0, 6)]
        );
    }
}
