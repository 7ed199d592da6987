//! What a thief knows of every share: what is left unclaimed, how fast its owner goes, and
//! where the share stands in its owner's run (its earlier epochs first).

use std::collections::HashSet;
use std::time::{Instant, SystemTime};

use super::super::victim::{live_rate, Queue, ShareView};
use super::{State, StealSource, VIEWS_FOR};
use crate::model::RunState;
use crate::output::claim::{claimed_blocks, read_claim_like};
use crate::output::manifest::{Manifest, StatusFile};
use std::sync::atomic::Ordering;

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

    /// Where each share's blocks stand in its owner's run: what the owner runs before them is
    /// its unclaimed blocks of earlier epochs.
    pub(super) fn queues(&self, views: &[ShareView]) -> Vec<Queue> {
        let mut before = vec![0u64; self.blocks.machines()];
        (0..self.blocks.shares())
            .map(|u| {
                let j = self.blocks.machine(u);
                let block = self.blocks.size_of(u);
                let q = Queue {
                    block,
                    before: before[j],
                };
                before[j] += views[u].unclaimed.len() as u64 * block;
                q
            })
            .collect()
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

    /// What share `u` has left unclaimed (read now), and how fast its owner goes.
    pub(super) fn view_of(&self, st: &mut State, u: usize, now: SystemTime) -> ShareView {
        if st.full[u] {
            return ShareView {
                unclaimed: Vec::new(),
                tail_jobs: 0,
                rate: None,
                threads: 1,
            };
        }
        let owner = self.blocks.owner(u);
        let j = self.blocks.machine(u);
        let mut claimed: HashSet<u64> = claimed_blocks(self.claimer(u).dir(), owner)
            .into_iter()
            .collect();
        claimed.extend(&st.known[u]);
        let unclaimed: Vec<u64> = (0..self.blocks.count(u))
            .filter(|b| !claimed.contains(b))
            .collect();
        st.full[u] = unclaimed.is_empty();
        let dir = self.out.join(owner);
        if st.threads_of[j].is_none() {
            st.threads_of[j] =
                read_claim_like::<Manifest>(&dir.join(Manifest::FILE)).map(|m| m.threads);
        }
        let rate = if Some(j) == self.me {
            self.my_rate()
        } else {
            read_claim_like::<StatusFile>(&dir.join(StatusFile::FILE))
                // Another plan's status (the original beside a rescue), or that of a host
                // that has not seen this epoch yet, says nothing of this share.
                .filter(|s| self.runs_epoch(&dir, &s.plan_digest, self.blocks.epoch(u)))
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
                .map_or(0, |&b| self.blocks.jobs(u, b).len() as u64),
            unclaimed,
            rate,
            threads: st.threads_of[j].unwrap_or(1),
        }
    }

    /// Whether the run of plan `plan_hex` in `dir` runs epoch `e` of this plan: its plan is
    /// epoch e or a later one of this study (a host that saw the list grow further: its
    /// manifest's epochs begin with this plan's).
    pub(super) fn runs_epoch(&self, dir: &std::path::Path, plan_hex: &str, e: usize) -> bool {
        if let Some(at) = self.chain.iter().position(|d| d == plan_hex) {
            return at >= e;
        }
        read_claim_like::<Manifest>(&dir.join(Manifest::FILE)).is_some_and(|m| {
            m.plan_digest == plan_hex
                && m.epochs.len() > self.chain.len()
                && m.epochs
                    .iter()
                    .zip(&self.chain)
                    .all(|(a, b)| a.plan_digest == *b)
        })
    }
}
