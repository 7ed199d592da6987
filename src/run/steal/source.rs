//! The stealing job source: workers take jobs of blocks this run holds; when none is left, the
//! source claims the next block (first what an earlier run of this machine held and did not
//! finish, then its own share from the head, then other shares' tails as a thief).

use std::collections::{HashSet, VecDeque};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

use super::blocks::Blocks;
use super::victim::{choose, live_rate, Choice, ShareView};
use crate::error::Result;
use crate::model::RunState;
use crate::output::claim::{
    claimed_blocks, read_claim, read_claim_like, ClaimRecord, Claimer, Outcome,
};
use crate::output::manifest::{Manifest, StatusFile};
use crate::output::results::{Decision, Existing};
use crate::plan::JobKeyer;
use crate::run::job_cancels::{Reach, Reacher};
use crate::run::rerun::JobSet;
use crate::run::scheduler::{JobSource, Pending};
use crate::Work;

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
}

struct State {
    queue: VecDeque<Pending>,
    resume: VecDeque<(usize, u64)>,
    next_own: u64,
    own_done: bool,
    threads_of: Vec<Option<u64>>,
    /// Blocks known claimed (won or lost here): a directory listing a network file system
    /// caches may not show them yet.
    known: Vec<HashSet<u64>>,
    /// Shares found fully claimed (claims are never removed: they stay so).
    full: Vec<bool>,
    /// The last views and when they were taken.
    cached: Option<(Instant, Vec<ShareView>)>,
    /// When a worker last found nothing worth stealing yet: the others wait without looking
    /// (a host looks about 10 times a second, whatever its threads).
    waited: Option<Instant>,
}

/// How long a thief reuses what it read of the claims and the other hosts' status (a study
/// of many hosts would otherwise list every share's claims for every block it steals).
const VIEWS_FOR: Duration = Duration::from_millis(500);

/// Blocks claimed as the workers go.
pub(crate) struct StealSource<'a> {
    blocks: Blocks<'a>,
    claimer: Claimer,
    out: PathBuf,
    me: Option<usize>,
    who: ClaimRecord,
    work: &'a Work,
    keyer: JobKeyer,
    existing: Existing,
    rerun: &'a JobSet,
    threads: u64,
    clock: Instant,
    plan_digest: String,
    held_before: HashSet<(usize, u64)>,
    /// `--steal-remote`: other shares' blocks come only as claims handed to this run.
    remote: bool,
    state: Mutex<State>,
    /// Jobs an earlier run of this machine finished in the blocks it held.
    pub(crate) skipped: u64,
    /// Jobs of those blocks whose last row is `cancelled`: not run again.
    pub(crate) cancelled_before: u64,
    pub(crate) stats: StealStats,
}

impl<'a> StealSource<'a> {
    /// A source for `who.machine` (share `me`, or `None` for a helper) over `blocks`, whose
    /// claims are in `claims`; `existing` is what this machine's results.csv already holds, and
    /// `rerun` the jobs to run again although they are ok or cancelled.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        blocks: Blocks<'a>,
        claims: PathBuf,
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
        let claimer = Claimer::new(claims);
        // What an earlier run of this machine claimed (here or on another host) comes first.
        // A machine with no earlier run (no manifest: a run writes it before its first claim)
        // holds nothing, and need not read every claim.
        let mut held = Vec::new();
        for j in (0..blocks.shares()).filter(|_| earlier) {
            let mut numbers = claimed_blocks(claimer.dir(), blocks.owner(j));
            numbers.sort_unstable();
            for b in numbers {
                let path = claimer.path(blocks.owner(j), b);
                if read_claim(&path)?.is_some_and(|c| c.machine == who.machine) {
                    held.push((j, b));
                }
            }
        }
        let mut source = StealSource {
            keyer: work.keyer(),
            plan_digest: blocks.plan_digest(),
            existing,
            rerun,
            held_before: held.iter().copied().collect(),
            remote,
            state: Mutex::new(State {
                queue: VecDeque::new(),
                resume: held.iter().copied().collect(),
                next_own: 0,
                own_done: me.is_none(),
                threads_of: vec![None; blocks.shares()],
                known: vec![HashSet::new(); blocks.shares()],
                full: vec![false; blocks.shares()],
                cached: None,
                waited: None,
            }),
            blocks,
            claimer,
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
        for &(j, b) in &held {
            let jobs = source.blocks.jobs(j, b);
            source.count_held(j, jobs.len() as u64);
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

    /// Jobs per block.
    pub(crate) fn block(&self) -> u64 {
        self.blocks.size()
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

    fn count_held(&self, j: usize, jobs: u64) {
        self.stats.claimed.fetch_add(jobs, Ordering::Relaxed);
        if Some(j) != self.me {
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
        let outcome = self.claimer.claim(&record);
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

    /// This run's jobs per second so far (`None` until it has finished a few).
    fn my_rate(&self) -> Option<f64> {
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
    fn views(&self, st: &mut State) -> (Vec<ShareView>, bool) {
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
    fn view_of(&self, st: &mut State, j: usize, now: SystemTime) -> ShareView {
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

    fn refill(&self, st: &mut State) -> Result<Refill> {
        if self.remote && self.fenced() {
            self.stats.fenced.store(true, Ordering::Relaxed);
            return Ok(Refill::Done);
        }
        if let Some((j, b)) = st.resume.pop_front() {
            self.enqueue(st, j, b);
            return Ok(Refill::Again);
        }
        if let (false, Some(j)) = (st.own_done, self.me) {
            while st.next_own < self.blocks.count(j) {
                let b = st.next_own;
                st.next_own += 1;
                if self.held_before.contains(&(j, b)) {
                    continue;
                }
                st.known[j].insert(b);
                if self.claim(j, b)? {
                    self.enqueue(st, j, b);
                    return Ok(Refill::Again);
                }
                // A thief holds it: thieves take tails, so the rest is claimed too.
                break;
            }
            st.own_done = true;
        }
        self.stats.stealing.store(true, Ordering::Relaxed);
        if self.remote {
            return Ok(self.handed(st));
        }
        if st.waited.is_some_and(|t| t.elapsed() < LOOK_AGAIN) {
            return Ok(Refill::Wait);
        }
        let (mut views, fresh) = self.views(st);
        let mut choice = choose(&views, self.blocks.size(), self.my_rate(), self.threads);
        if let (Choice::Steal(j, _), false) = (choice, fresh) {
            // Decide on the victim as it is now: since the views were read its owner (or
            // other thieves) may have claimed what made it look worth stealing from.
            views[j] = self.view_of(st, j, SystemTime::now());
            if let Some((_, cached)) = &mut st.cached {
                cached[j] = views[j].clone();
            }
            choice = choose(&views, self.blocks.size(), self.my_rate(), self.threads);
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

impl StealSource<'_> {
    /// Where this run's fences are (`fenced/` of its layout directory).
    pub(crate) fn fence_dir(&self) -> PathBuf {
        let layout = self.claimer.dir().parent().unwrap_or(self.claimer.dir());
        layout.join(crate::output::fence::FENCED_DIR)
    }

    /// `--steal-remote`: whether this machine was declared dead (it starts no other block).
    fn fenced(&self) -> bool {
        let layout = self.claimer.dir().parent().unwrap_or(self.claimer.dir());
        crate::output::fence::fenced(layout, &self.who.machine)
    }

    /// `--steal-remote`, own share claimed: takes the blocks of other shares claimed for this
    /// machine in its own claims directory (handed over after a claim on the owner's disk);
    /// with none, waits while the launcher's lease is fresh, else is done.
    fn handed(&self, st: &mut State) -> Refill {
        let layout = self.claimer.dir().parent().unwrap_or(self.claimer.dir());
        for j in (0..self.blocks.shares()).filter(|&j| Some(j) != self.me) {
            let owner = self.blocks.owner(j);
            let mut numbers = claimed_blocks(self.claimer.dir(), owner);
            numbers.sort_unstable();
            for b in numbers {
                if st.known[j].contains(&b) || self.held_before.contains(&(j, b)) {
                    continue;
                }
                // An unreadable record is being written: looked at again next time.
                let Ok(Some(c)) = read_claim(&self.claimer.path(owner, b)) else {
                    continue;
                };
                st.known[j].insert(b);
                if c.machine == self.who.machine && b < self.blocks.count(j) {
                    self.stats.claims.fetch_add(1, Ordering::Relaxed);
                    self.count_held(j, self.blocks.jobs(j, b).len() as u64);
                    self.enqueue(st, j, b);
                    return Refill::Again;
                }
            }
        }
        if super::remote::lease_open(layout) {
            Refill::Wait
        } else {
            Refill::Done
        }
    }
}

impl Reacher for StealSource<'_> {
    /// Where jobs stand for `jobs`: one pass over the plan's shares finds their blocks, then
    /// each block's claim (if any) says who holds it.
    fn reach(&self, jobs: &[u64]) -> Vec<Reach> {
        let asked: HashSet<u64> = jobs.iter().copied().collect();
        let mut found = std::collections::HashMap::new();
        for j in 0..self.blocks.shares() {
            for (pos, i) in self.blocks.share(j).iter().enumerate() {
                if asked.contains(i) {
                    found.insert(*i, (j, pos as u64 / self.blocks.size()));
                }
            }
        }
        jobs.iter()
            .map(|i| {
                let Some(&(j, b)) = found.get(i) else {
                    return Reach::Elsewhere;
                };
                if self.decide(*i).0 != Decision::Run {
                    return Reach::Ended;
                }
                match read_claim(&self.claimer.path(self.blocks.owner(j), b)) {
                    Ok(Some(c)) if c.machine == self.who.machine => Reach::Pending,
                    Ok(Some(_)) => Reach::Elsewhere,
                    // Claimed, by someone not yet known (an O_EXCL claim being written).
                    Ok(None) => Reach::Elsewhere,
                    Err(_) if Some(j) == self.me => Reach::Pending,
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
