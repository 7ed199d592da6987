//! The stealing job source: workers take jobs of blocks this run holds; when none is left, the
//! source claims the next block (first what an earlier run of this machine held and did not
//! finish, then its own share of each epoch from the head, then other shares' tails as a
//! thief). A share here is one machine's share of one epoch (a unit of [`Blocks`]).

use std::collections::{HashSet, VecDeque};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

use super::blocks::Blocks;
use super::victim::{choose_queued, Choice, ShareView};
use crate::error::Result;
use crate::output::claim::{claimed_blocks, read_claim, ClaimRecord, Claimer, Outcome};
use crate::output::results::{Decision, Existing};
use crate::plan::JobKeyer;
use crate::run::job_cancels::{Reach, Reacher};
use crate::run::job_source::{JobSource, Pending};
use crate::run::rerun::JobSet;
use crate::Work;

#[path = "source_mesh.rs"]
mod steal_mesh;
#[path = "source_remote.rs"]
mod steal_remote;
#[path = "source_views.rs"]
mod views;

/// How long a thief waits before it looks again when no block is worth stealing yet.
const LOOK_AGAIN: Duration = Duration::from_millis(100);

/// What a stealing run has done so far (for status.json, the log and the summary).
#[derive(Debug, Default)]
pub(crate) struct StealStats {
    /// Jobs in the blocks this run holds (those of an earlier run of this machine included).
    pub(crate) claimed: AtomicU64,
    /// Of those, jobs of other machines' shares.
    pub(crate) stolen: AtomicU64,
    /// Claims won.
    pub(crate) claims: AtomicU64,
    /// Claim attempts (won or lost) and their total time in microseconds.
    pub(crate) attempts: AtomicU64,
    pub(crate) claim_us: AtomicU64,
    /// Jobs handed to workers.
    pub(crate) handed: AtomicU64,
    /// True once this run's own share is fully claimed.
    pub(crate) stealing: AtomicBool,
    /// `--steal-remote`: true once the run found its machine fenced (declared dead).
    pub(crate) fenced: AtomicBool,
    /// `--steal-mesh`: claim calls made on peers' disks, and their total time in microseconds.
    pub(crate) peer_calls: AtomicU64,
    pub(crate) peer_us: AtomicU64,
}

struct State {
    queue: VecDeque<Pending>,
    resume: VecDeque<(usize, u64)>,
    /// The position in `own` of the share claimed from its head now, and its next block.
    own_at: usize,
    next_own: u64,
    own_done: bool,
    /// Per machine.
    threads_of: Vec<Option<u64>>,
    /// Blocks known claimed (won or lost here): a directory listing a network file system
    /// caches may not show them yet.
    known: Vec<HashSet<u64>>,
    /// Shares found fully claimed (claims are never removed: they stay so).
    full: Vec<bool>,
    /// `--steal-remote`: blocks of other shares this run took up (handed over or stolen).
    taken: HashSet<(usize, u64)>,
    /// The last views and when they were taken.
    cached: Option<(Instant, Vec<ShareView>)>,
    /// When a worker last found nothing worth stealing yet: the others wait without looking
    /// (a host looks about 10 times a second, whatever its threads).
    waited: Option<Instant>,
    /// `--steal-remote --follow`: the job list, watched while waiting for handed blocks.
    growth: crate::input::GrowthWatch,
}

/// How long a thief reuses what it read of the claims and the other hosts' status (a study
/// of many hosts would otherwise list every share's claims for every block it steals).
const VIEWS_FOR: Duration = Duration::from_millis(500);

/// Blocks claimed as the workers go.
pub(crate) struct StealSource<'a> {
    blocks: Blocks<'a>,
    /// The claims of each epoch.
    claimers: Vec<Claimer>,
    /// This machine's shares, epoch after epoch (none for a helper).
    own: Vec<usize>,
    out: PathBuf,
    me: Option<usize>,
    who: ClaimRecord,
    work: &'a Work,
    keyer: JobKeyer,
    existing: Existing,
    rerun: &'a JobSet,
    threads: u64,
    clock: Instant,
    /// The plan digests D_0 .. D_last of the plan's epochs.
    chain: Vec<String>,
    held_before: HashSet<(usize, u64)>,
    /// `--steal-remote`: other shares' blocks come only as claims handed to this run.
    remote: bool,
    /// `--follow`: waiting for handed blocks ends when the job list grows (the next round
    /// runs the new epoch first).
    pub(super) follow: bool,
    /// `--steal-mesh`: the peers this run steals from by itself.
    mesh: Option<Box<dyn super::peers::Peers>>,
    state: Mutex<State>,
    /// Jobs an earlier run of this machine finished in the blocks it held.
    pub(crate) skipped: u64,
    /// Jobs of those blocks whose last row is `cancelled`: not run again.
    pub(crate) cancelled_before: u64,
    pub(crate) stats: StealStats,
}

impl<'a> StealSource<'a> {
    /// A source for `who.machine` (machine `me`, or `None` for a helper) over `blocks`, whose
    /// claims are in `claims` (one directory per epoch); `existing` is what this machine's
    /// results.csv already holds, and `rerun` the jobs to run again although they are ok or
    /// cancelled.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        blocks: Blocks<'a>,
        claims: Vec<PathBuf>,
        chain: Vec<String>,
        out: PathBuf,
        me: Option<usize>,
        who: ClaimRecord,
        work: &'a Work,
        existing: Existing,
        rerun: &'a JobSet,
        threads: u64,
        earlier: bool,
        remote: bool,
    ) -> Result<Self> {
        let claimers: Vec<Claimer> = claims.into_iter().map(Claimer::new).collect();
        // What an earlier run of this machine claimed (here or on another host) comes first.
        // A machine with no earlier run (no manifest: a run writes it before its first claim)
        // holds nothing, and need not read every claim.
        let mut held = Vec::new();
        for u in (0..blocks.shares()).filter(|_| earlier) {
            let claimer = &claimers[blocks.epoch(u)];
            let mut numbers = claimed_blocks(claimer.dir(), blocks.owner(u));
            numbers.sort_unstable();
            for b in numbers {
                let path = claimer.path(blocks.owner(u), b);
                if read_claim(&path)?.is_some_and(|c| c.machine == who.machine) {
                    held.push((u, b));
                }
            }
        }
        let own: Vec<usize> = me.map_or_else(Vec::new, |j| blocks.units_of(j).collect());
        let machines = blocks.machines();
        let mut source = StealSource {
            keyer: work.keyer(),
            chain,
            existing,
            rerun,
            held_before: held.iter().copied().collect(),
            remote,
            follow: false,
            mesh: None,
            state: Mutex::new(State {
                queue: VecDeque::new(),
                resume: held.iter().copied().collect(),
                own_at: 0,
                next_own: 0,
                own_done: me.is_none(),
                threads_of: vec![None; machines],
                known: vec![HashSet::new(); blocks.shares()],
                full: vec![false; blocks.shares()],
                taken: HashSet::new(),
                cached: None,
                waited: None,
                growth: crate::input::GrowthWatch::new(),
            }),
            blocks,
            claimers,
            own,
            out,
            me,
            who,
            work,
            threads,
            clock: Instant::now(),
            skipped: 0,
            cancelled_before: 0,
            stats: StealStats::default(),
        };
        for &(u, b) in &held {
            let jobs = source.blocks.jobs(u, b);
            source.count_held(u, jobs.len() as u64);
            for &i in jobs {
                match source.decide(i).0 {
                    Decision::Run => {}
                    Decision::SkipOk => source.skipped += 1,
                    Decision::SkipCancelled => source.cancelled_before += 1,
                }
            }
        }
        Ok(source)
    }

    /// Jobs per block of the latest epoch.
    pub(crate) fn block(&self) -> u64 {
        self.blocks.size_of(self.blocks.shares() - 1)
    }

    /// The claims of share `u`'s epoch.
    fn claimer(&self, u: usize) -> &Claimer {
        &self.claimers[self.blocks.epoch(u)]
    }

    fn key(&self, i: u64) -> crate::plan::JobKey {
        self.keyer.key(i, &self.work.jobs().job_bytes(i))
    }

    /// The one resume decision for job `i`, and its key.
    fn decide(&self, i: u64) -> (Decision, crate::plan::JobKey) {
        let key = self.key(i);
        let decision = self.existing.decide(&key.id(), self.rerun.contains(i));
        (decision, key)
    }

    fn count_held(&self, u: usize, jobs: u64) {
        self.stats.claimed.fetch_add(jobs, Ordering::Relaxed);
        if Some(self.blocks.machine(u)) != self.me {
            self.stats.stolen.fetch_add(jobs, Ordering::Relaxed);
        }
    }

    /// Queues the jobs of block `b` of share `j` the resume decision runs.
    fn enqueue(&self, st: &mut State, j: usize, b: u64) {
        for &i in self.blocks.jobs(j, b) {
            if let (Decision::Run, key) = self.decide(i) {
                let attempts = self.existing.attempts_of(&key.id());
                st.queue.push_back((i, key, attempts));
            }
        }
    }

    /// Claims block `b` of share `j`: true if this run now holds it.
    fn claim(&self, j: usize, b: u64) -> Result<bool> {
        let record = ClaimRecord {
            owner: self.blocks.owner(j).to_owned(),
            block: b,
            at: crate::output::rfc3339(SystemTime::now()),
            jobs: self.blocks.jobs(j, b).to_vec(),
            ..self.who.clone()
        };
        let t = Instant::now();
        let outcome = self.claimer(j).claim(&record);
        self.stats
            .claim_us
            .fetch_add(t.elapsed().as_micros() as u64, Ordering::Relaxed);
        self.stats.attempts.fetch_add(1, Ordering::Relaxed);
        let won = outcome? == Outcome::Won;
        if won {
            self.stats.claims.fetch_add(1, Ordering::Relaxed);
            self.count_held(j, record.jobs.len() as u64);
        }
        Ok(won)
    }

    fn refill(&self, st: &mut State) -> Result<Refill> {
        if self.remote && (self.mesh.as_ref().is_some_and(|m| m.fenced()) || self.fenced()) {
            self.stats.fenced.store(true, Ordering::Relaxed);
            return Ok(Refill::Done);
        }
        if let Some((j, b)) = st.resume.pop_front() {
            self.enqueue(st, j, b);
            return Ok(Refill::Again);
        }
        if !st.own_done {
            while let Some(&u) = self.own.get(st.own_at) {
                let b = st.next_own;
                st.next_own += 1;
                if b >= self.blocks.count(u) {
                    (st.own_at, st.next_own) = (st.own_at + 1, 0);
                    continue;
                }
                if self.held_before.contains(&(u, b)) {
                    continue;
                }
                st.known[u].insert(b);
                if self.claim(u, b)? {
                    self.enqueue(st, u, b);
                    return Ok(Refill::Again);
                }
                // A thief holds it: thieves take the tails of each epoch's shares, so the
                // rest of this one is claimed too; on to this machine's share of the next.
                (st.own_at, st.next_own) = (st.own_at + 1, 0);
            }
            st.own_done = true;
        }
        self.stats.stealing.store(true, Ordering::Relaxed);
        if self.remote {
            return Ok(self.remote_refill(st));
        }
        if st.waited.is_some_and(|t| t.elapsed() < LOOK_AGAIN) {
            return Ok(Refill::Wait);
        }
        let (mut views, fresh) = self.views(st);
        let mut choice = choose_queued(&views, &self.queues(&views), self.my_rate(), self.threads);
        if let (Choice::Steal(j, _), false) = (choice, fresh) {
            // Decide on the victim as it is now: since the views were read its owner (or
            // other thieves) may have claimed what made it look worth stealing from.
            views[j] = self.view_of(st, j, SystemTime::now());
            if let Some((_, cached)) = &mut st.cached {
                cached[j] = views[j].clone();
            }
            choice = choose_queued(&views, &self.queues(&views), self.my_rate(), self.threads);
        }
        match choice {
            Choice::Steal(j, b) => {
                st.known[j].insert(b);
                if self.claim(j, b)? {
                    self.enqueue(st, j, b);
                }
                Ok(Refill::Again)
            }
            Choice::Wait => {
                // Look afresh next time: the blocks waited for are being claimed by others.
                st.cached = None;
                st.waited = Some(Instant::now());
                Ok(Refill::Wait)
            }
            Choice::Nothing => Ok(Refill::Done),
        }
    }
}

impl Reacher for StealSource<'_> {
    /// Where jobs stand for `jobs`: one pass over the plan's shares finds their blocks, then
    /// each block's claim (if any) says who holds it.
    fn reach(&self, jobs: &[u64]) -> Vec<Reach> {
        let asked: HashSet<u64> = jobs.iter().copied().collect();
        let found = self.blocks.find(|i| asked.contains(&i));
        jobs.iter()
            .map(|i| {
                let Some(&(j, b)) = found.get(i) else {
                    return Reach::Elsewhere;
                };
                if self.decide(*i).0 != Decision::Run {
                    return Reach::Ended;
                }
                match read_claim(&self.claimer(j).path(self.blocks.owner(j), b)) {
                    Ok(Some(c)) if c.machine == self.who.machine => Reach::Pending,
                    Ok(Some(_)) => Reach::Elsewhere,
                    // Claimed, by someone not yet known (an O_EXCL claim being written).
                    Ok(None) => Reach::Elsewhere,
                    Err(_) if Some(self.blocks.machine(j)) == self.me => Reach::Pending,
                    Err(_) => Reach::Unclaimed,
                }
            })
            .collect()
    }
}

enum Refill {
    Again,
    Wait,
    Done,
}

impl JobSource for StealSource<'_> {
    fn next(&self, stopped: &dyn Fn() -> bool) -> Result<Option<Pending>> {
        loop {
            if stopped() {
                return Ok(None);
            }
            let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(p) = st.queue.pop_front() {
                self.stats.handed.fetch_add(1, Ordering::Relaxed);
                return Ok(Some(p));
            }
            match self.refill(&mut st)? {
                Refill::Again => {}
                Refill::Done => return Ok(None),
                Refill::Wait => {
                    drop(st);
                    std::thread::sleep(LOOK_AGAIN);
                }
            }
        }
    }
}
