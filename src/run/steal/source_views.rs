//! What a stealing source sees of every share when it looks for a block to steal: the blocks
//! left unclaimed there and how fast the share's owner goes ([`ShareView`]).

use std::collections::HashSet;
use std::sync::atomic::Ordering;
use std::time::{Instant, SystemTime};

use super::super::victim::{live_rate, ShareView};
use super::{State, StealSource, VIEWS_FOR};
use crate::model::RunState;
use crate::output::claim::{claimed_blocks, read_claim_like};
use crate::output::manifest::{Manifest, StatusFile};

impl StealSource<'_> {
    /// This run's jobs per second so far (`None` until it has finished a few).
    pub(super) fn my_rate(&self) -> Option<f64> {
        let done = self
            .stats
            .handed
            .load(Ordering::Relaxed)
            .saturating_sub(self.threads);
        let t = self.clock.elapsed().as_secs_f64();
        (done > 0 && t > 0.0).then(|| done as f64 / t)
    }

    /// What every share has left unclaimed, and how fast its owner goes, and whether that
    /// was read just now (not reused from the last [`VIEWS_FOR`]).
    pub(super) fn views(&self, st: &mut State) -> (Vec<ShareView>, bool) {
        if let Some((at, views)) = &st.cached {
            if at.elapsed() < VIEWS_FOR {
                let mut views = views.clone();
                for (v, known) in views.iter_mut().zip(&st.known) {
                    v.unclaimed.retain(|b| !known.contains(b));
                }
                return (views, false);
            }
        }
        let now = SystemTime::now();
        let views: Vec<ShareView> = (0..self.blocks.shares())
            .map(|j| self.view_of(st, j, now))
            .collect();
        st.cached = Some((Instant::now(), views.clone()));
        (views, true)
    }

    /// What share `j` has left unclaimed (read now), and how fast its owner goes.
    pub(super) fn view_of(&self, st: &mut State, j: usize, now: SystemTime) -> ShareView {
        if st.full[j] {
            return ShareView {
                unclaimed: Vec::new(),
                tail_jobs: 0,
                rate: None,
                threads: 1,
            };
        }
        let owner = self.blocks.owner(j);
        let mut claimed: HashSet<u64> = claimed_blocks(self.claimer.dir(), owner)
            .into_iter()
            .collect();
        claimed.extend(&st.known[j]);
        let unclaimed: Vec<u64> = (0..self.blocks.count(j))
            .filter(|b| !claimed.contains(b))
            .collect();
        st.full[j] = unclaimed.is_empty();
        let dir = self.out.join(owner);
        if st.threads_of[j].is_none() {
            st.threads_of[j] =
                read_claim_like::<Manifest>(&dir.join(Manifest::FILE)).map(|m| m.threads);
        }
        let rate = if Some(j) == self.me {
            self.my_rate()
        } else {
            read_claim_like::<StatusFile>(&dir.join(StatusFile::FILE))
                // Another plan's status (the original beside a rescue) says nothing.
                .filter(|s| s.plan_digest == self.plan_digest)
                .and_then(|s| {
                    live_rate(
                        s.state == RunState::Running,
                        &s.updated_at,
                        s.rate_per_s,
                        now,
                    )
                })
        };
        ShareView {
            tail_jobs: unclaimed
                .last()
                .map_or(0, |&b| self.blocks.jobs(j, b).len() as u64),
            unclaimed,
            rate,
            threads: st.threads_of[j].unwrap_or(1),
        }
    }
}
