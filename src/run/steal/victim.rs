//! Choosing what to steal: the tail block of the share with the largest estimated remaining
//! time, taken only when the thief would finish it sooner than its owner would.
//!
//! Estimates come from the other hosts' status.json (their rate) and the claims directory
//! (what is left unclaimed). They only ever decide which *unclaimed* block to take, never
//! take a claimed one over, so a wrong estimate costs time, never correctness.

use std::time::{Duration, SystemTime};

/// What is known of one share right now.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ShareView {
    /// Unclaimed block numbers, ascending.
    pub unclaimed: Vec<u64>,
    /// Jobs in the last unclaimed block (a share's last block may be short).
    pub tail_jobs: u64,
    /// The owner's jobs per second, `None` when it is not (or no longer visibly) running.
    pub rate: Option<f64>,
    /// The owner's worker threads.
    pub threads: u64,
}

/// The thief's choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Choice {
    /// Claim block `1` of share `0`.
    Steal(usize, u64),
    /// Blocks are unclaimed, but their owners will reach them sooner: look again later.
    Wait,
    /// Every block of every share is claimed.
    Nothing,
}

/// A thief steals a block only when it would finish it in under this share of the time the
/// owner would: job durations vary, and a block taken for a marginal gain ends the study late
/// as often as early (a slow thief then runs the study's last block).
pub(crate) const MARGIN: f64 = 0.75;

/// How long a status.json may go unrefreshed before its host counts as not running (it only
/// makes the host's unclaimed blocks fair game sooner; nothing it holds is touched).
pub(crate) const STALE: Duration = Duration::from_secs(10);

/// A host's rate if its status is that of a running host refreshed within [`STALE`].
pub(crate) fn live_rate(
    running: bool,
    updated_at: &str,
    rate: f64,
    now: SystemTime,
) -> Option<f64> {
    let updated = crate::output::parse_rfc3339(updated_at)?;
    let age = now.duration_since(updated).unwrap_or_default();
    (running && age < STALE && rate > 0.0).then_some(rate)
}

/// Where a share's blocks stand in its owner's run: blocks of `block` jobs, reached after
/// `before` jobs its owner runs first (its unclaimed blocks of earlier epochs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Queue {
    /// Jobs per block of the share.
    pub block: u64,
    /// Jobs its owner runs before the share's first unclaimed block.
    pub before: u64,
}

/// Picks a block for a thief running `my_rate` jobs/s (`None`: not measured yet) on
/// `my_threads` threads, with blocks of `block` jobs.
#[cfg(test)]
pub(crate) fn choose(
    shares: &[ShareView],
    block: u64,
    my_rate: Option<f64>,
    my_threads: u64,
) -> Choice {
    let queues = vec![Queue { block, before: 0 }; shares.len()];
    choose_queued(shares, &queues, my_rate, my_threads)
}

/// [`choose`] over shares each with its own block size and jobs its owner runs first
/// (`queues[j]` for `shares[j]`): the shares of every epoch of a study that grew.
pub(crate) fn choose_queued(
    shares: &[ShareView],
    queues: &[Queue],
    my_rate: Option<f64>,
    my_threads: u64,
) -> Choice {
    // The owner's remaining time for each share with something left (infinite if not running).
    let remaining = |v: &ShareView, q: &Queue| match v.rate {
        Some(r) => (q.before as f64 + v.unclaimed.len() as f64 * q.block as f64) / r,
        None => f64::INFINITY,
    };
    let Some((j, (view, q))) = shares
        .iter()
        .zip(queues)
        .enumerate()
        .filter(|(_, (v, _))| !v.unclaimed.is_empty())
        .max_by(|a, b| remaining(a.1 .0, a.1 .1).total_cmp(&remaining(b.1 .0, b.1 .1)))
    else {
        return Choice::Nothing;
    };
    let tail = *view.unclaimed.last().expect("not empty");
    let (Some(owner), Some(mine)) = (view.rate, my_rate) else {
        return Choice::Steal(j, tail);
    };
    // The owner reaches the tail after every unclaimed block before it, then runs it on one
    // of its threads; the thief would run it now on one of its own.
    let ahead = q.before as f64 + (view.unclaimed.len() - 1) as f64 * q.block as f64;
    let jobs = view.tail_jobs.max(1) as f64;
    let owner_done = ahead / owner + jobs * view.threads.max(1) as f64 / owner;
    let thief_done = jobs * my_threads.max(1) as f64 / mine;
    if thief_done < MARGIN * owner_done {
        Choice::Steal(j, tail)
    } else {
        Choice::Wait
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(unclaimed: &[u64], rate: Option<f64>) -> ShareView {
        ShareView {
            tail_jobs: 4,
            unclaimed: unclaimed.to_vec(),
            rate,
            threads: 1,
        }
    }

    #[test]
    fn the_slowest_share_loses_its_tail() {
        let shares = [view(&[5, 6, 7], Some(10.0)), view(&[2, 3, 9], Some(1.0))];
        assert_eq!(choose(&shares, 4, Some(5.0), 1), Choice::Steal(1, 9));
    }

    #[test]
    fn a_host_not_running_is_stolen_from_first() {
        let shares = [view(&[5, 6, 7], Some(1.0)), view(&[0], None)];
        assert_eq!(choose(&shares, 4, Some(5.0), 1), Choice::Steal(1, 0));
    }

    #[test]
    fn no_steal_when_the_owner_is_about_to_reach_it() {
        let shares = [view(&[7], Some(10.0))];
        assert_eq!(choose(&shares, 4, Some(1.0), 1), Choice::Wait);
        assert_eq!(choose(&shares, 4, None, 1), Choice::Steal(0, 7));
    }

    #[test]
    fn a_later_epoch_counts_what_its_owner_runs_first() {
        // Two shares of one owner's epoch 1 and another's: the same unclaimed blocks, but the
        // first owner has 40 jobs of epoch 0 to run before it.
        let shares = [view(&[0, 1], Some(1.0)), view(&[0, 1], Some(1.0))];
        let queues = [
            Queue {
                block: 4,
                before: 40,
            },
            Queue {
                block: 4,
                before: 0,
            },
        ];
        assert_eq!(
            choose_queued(&shares, &queues, Some(1.0), 1),
            Choice::Steal(0, 1)
        );
        // With nothing before, the thief waits: the owner is about to reach the tail.
        let near = [view(&[1], Some(10.0))];
        let q = [Queue {
            block: 4,
            before: 0,
        }];
        assert_eq!(choose_queued(&near, &q, Some(1.0), 1), Choice::Wait);
        let far = [Queue {
            block: 4,
            before: 400,
        }];
        assert_eq!(
            choose_queued(&near, &far, Some(1.0), 1),
            Choice::Steal(0, 1)
        );
    }

    #[test]
    fn nothing_left() {
        assert_eq!(
            choose(&[view(&[], Some(1.0))], 4, Some(1.0), 1),
            Choice::Nothing
        );
    }

    #[test]
    fn stale_status_is_not_a_rate() {
        let now = SystemTime::now();
        let fresh = crate::output::rfc3339(now);
        let old = crate::output::rfc3339(now - Duration::from_secs(60));
        assert_eq!(live_rate(true, &fresh, 2.0, now), Some(2.0));
        assert_eq!(live_rate(true, &old, 2.0, now), None);
        assert_eq!(live_rate(false, &fresh, 2.0, now), None);
    }
}
