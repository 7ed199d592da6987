//! Cancelling single jobs of a running share (`jobsplit cancel`): the run reads the requests in
//! its machine directory ([`crate::output::cancel_request`]) about every 200 ms; a running job gets its
//! own [`Cancel`] raised (its executor stops it as for a time limit: SIGTERM, the grace period,
//! SIGKILL; a library job's `ctx.is_cancelled()` turns true) and is recorded `cancelled`; a job
//! not started yet is never started and is recorded `cancelled` when its turn comes. Neither is
//! retried.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use super::cancel::Cancel;
use crate::output::cancel_request::{remove_requests, scan, write_answer, Answer};

/// How often the run looks for new requests: a request is picked up within this (plus the
/// time to read the directory), well within a second.
pub(crate) const POLL: Duration = Duration::from_millis(200);

/// What the scheduler does with a job it is about to start.
pub(crate) enum Begin {
    /// Run it; this is its own cancellation.
    Run(Arc<Cancel>),
    /// It was cancelled before it started: record it `cancelled`, do not run it.
    Cancelled,
}

/// Where a job stands for a stealing run, whose jobs are not known in advance: the blocks it
/// holds and those it may still claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reach {
    /// This run holds it, or may claim it as its own: it will not start here.
    Pending,
    /// Its last row here is ok or cancelled.
    Ended,
    /// Another machine holds it.
    Elsewhere,
    /// Unclaimed and of another share: its owner answers; should this run steal it, it does
    /// not start here either.
    Unclaimed,
}

/// Tells a stealing run's cancellations where jobs stand ([`Reach`], one per job asked).
pub(crate) trait Reacher: Sync {
    /// Where each of `jobs` stands, in order.
    fn reach(&self, jobs: &[u64]) -> Vec<Reach>;
}

/// Which jobs a run may start.
enum Scope<'a> {
    /// A static run: its share and the jobs it may start, both ascending.
    List { share: Vec<u64>, pending: Vec<u64> },
    /// A stealing run: asked as requests come.
    Steal(&'a dyn Reacher),
}

/// The jobs of this run asked to be cancelled, and the running jobs' own cancellations.
pub(crate) struct JobCancels<'a> {
    dir: PathBuf,
    scope: Scope<'a>,
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    /// Requests read (by id): not read again.
    seen: HashSet<String>,
    /// Files passed over (not plain files, too large): warned about once.
    warned: HashSet<PathBuf>,
    /// Jobs asked to be cancelled that have not been recorded yet.
    requested: HashSet<u64>,
    running: HashMap<u64, Arc<Cancel>>,
    /// Per pending job (by position in `pending`): it ended in this run.
    ended: Vec<bool>,
    /// The jobs a stealing run ended.
    ended_here: HashSet<u64>,
}

impl<'a> JobCancels<'a> {
    /// The cancellations of a run of `share` in `dir`, which may start `pending`.
    pub(crate) fn new(dir: &Path, share: &[u64], pending: impl Iterator<Item = u64>) -> Self {
        let mut share = share.to_vec();
        share.sort_unstable();
        let mut pending: Vec<u64> = pending.collect();
        pending.sort_unstable();
        let inner = Inner {
            ended: vec![false; pending.len()],
            ..Inner::default()
        };
        JobCancels {
            dir: dir.to_path_buf(),
            scope: Scope::List { share, pending },
            inner: Mutex::new(inner),
        }
    }

    /// The cancellations of a stealing run in `dir`, which asks `reacher` where jobs stand.
    pub(crate) fn stealing(dir: &Path, reacher: &'a dyn Reacher) -> Self {
        JobCancels {
            dir: dir.to_path_buf(),
            scope: Scope::Steal(reacher),
            inner: Mutex::new(Inner::default()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Called as a job is taken: run it (with its own cancellation), or not at all.
    pub(crate) fn begin(&self, index: u64) -> Begin {
        let mut inner = self.lock();
        // Asking an empty set still hashes the key: most runs have no request.
        if !inner.requested.is_empty() && inner.requested.remove(&index) {
            return Begin::Cancelled;
        }
        let cancel = Arc::new(Cancel::new());
        inner.running.insert(index, Arc::clone(&cancel));
        Begin::Run(cancel)
    }

    /// Called once a job taken with [`JobCancels::begin`] is recorded for good.
    pub(crate) fn end(&self, index: u64) {
        let mut inner = self.lock();
        inner.running.remove(&index);
        if !inner.requested.is_empty() {
            inner.requested.remove(&index);
        }
        match &self.scope {
            Scope::List { pending, .. } => {
                if let Ok(p) = pending.binary_search(&index) {
                    inner.ended[p] = true;
                }
            }
            Scope::Steal(_) => {
                inner.ended_here.insert(index);
            }
        }
    }

    /// Reads the requests not read yet and stops the running jobs they name; with `answer`,
    /// answers each (the first look, as the run starts, does not: those requests were left
    /// while no run was writing, and nobody waits for their answer). A file passed over
    /// (not a plain file, too large) is told to `warn` once.
    pub(crate) fn poll(&self, answer: bool, warn: &dyn Fn(&str)) {
        // The directory is read without the lock held: jobs start and end meanwhile.
        let seen = self.lock().seen.clone();
        let found = scan(&self.dir, &|id| seen.contains(id));
        {
            let mut inner = self.lock();
            for p in found.passed_over {
                if inner.warned.insert(p.path.clone()) {
                    warn(&p.to_string());
                }
            }
        }
        for r in found.requests {
            if self.lock().seen.contains(&r.id) {
                continue;
            }
            // A stealing run reads the claims (outside the lock: the workers need it).
            let reach = match &self.scope {
                Scope::Steal(reacher) => Some(reacher.reach(&r.jobs)),
                Scope::List { .. } => None,
            };
            let mut inner = self.lock();
            let answers: Vec<(u64, Answer)> = r
                .jobs
                .iter()
                .enumerate()
                .map(|(k, &j)| (j, self.take(&mut inner, j, reach.as_ref().map(|r| r[k]))))
                .collect();
            // An answer that cannot be written is only the asker's loss (it says no run took
            // the request); the run goes on with the cancellation.
            if answer {
                let _ = write_answer(&self.dir, &r.id, &answers);
            }
            inner.seen.insert(r.id);
        }
    }

    /// Takes the request for job `index` (`reach`: where it stands, for a stealing run).
    fn take(&self, inner: &mut Inner, index: u64, reach: Option<Reach>) -> Answer {
        if let Some(cancel) = inner.running.get(&index) {
            cancel.stop();
            return Answer::Stopping;
        }
        let (share, pending) = match &self.scope {
            Scope::List { share, pending } => (share, pending),
            Scope::Steal(_) if inner.ended_here.contains(&index) => return Answer::Ended,
            Scope::Steal(_) => {
                return match reach.unwrap_or(Reach::Elsewhere) {
                    Reach::Pending => {
                        inner.requested.insert(index);
                        Answer::NotStarted
                    }
                    Reach::Unclaimed => {
                        inner.requested.insert(index);
                        Answer::NotInShare
                    }
                    Reach::Ended => Answer::Ended,
                    Reach::Elsewhere => Answer::NotInShare,
                };
            }
        };
        match pending.binary_search(&index) {
            Ok(p) if !inner.ended[p] => {
                inner.requested.insert(index);
                Answer::NotStarted
            }
            Ok(_) => Answer::Ended,
            Err(_) if share.binary_search(&index).is_ok() => Answer::Ended,
            Err(_) => Answer::NotInShare,
        }
    }

    /// Polls every [`POLL`] until `done` is set.
    pub(crate) fn watch(&self, done: &(Mutex<bool>, Condvar), warn: &dyn Fn(&str)) {
        let mut finished = done.0.lock().unwrap_or_else(|p| p.into_inner());
        while !*finished {
            let (guard, _) = done
                .1
                .wait_timeout(finished, POLL)
                .unwrap_or_else(|p| p.into_inner());
            finished = guard;
            if *finished {
                return;
            }
            drop(finished);
            self.poll(true, warn);
            finished = done.0.lock().unwrap_or_else(|p| p.into_inner());
        }
    }

    /// The run finished its share: every request it read was honoured, so they are removed
    /// (requests that came after the last look stay for the next run).
    pub(crate) fn finish(&self) {
        let ids: Vec<String> = self.lock().seen.drain().collect();
        remove_requests(&self.dir, &ids);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::cancel_request::read_requests;
    use crate::output::cancel_request::{read_answer, write_request};

    #[test]
    fn running_jobs_stop_and_waiting_ones_never_start() {
        let tmp = tempfile::tempdir().unwrap();
        let c = JobCancels::new(tmp.path(), &[1, 2, 3, 4, 9], [2, 3, 4].into_iter());
        let Begin::Run(two) = c.begin(2) else {
            panic!("job 2 was not cancelled")
        };
        let id = write_request(tmp.path(), &[2, 3, 1, 7]).unwrap();
        c.poll(true, &|w| panic!("{w}"));
        assert!(two.is_cancelled());
        assert_eq!(
            read_answer(tmp.path(), &id).unwrap(),
            [
                (2, Answer::Stopping),
                (3, Answer::NotStarted),
                (1, Answer::Ended),
                (7, Answer::NotInShare)
            ]
        );
        c.end(2);
        assert!(matches!(c.begin(3), Begin::Cancelled));
        c.end(3);
        assert!(matches!(c.begin(4), Begin::Run(_)));
        c.end(4);
        // Read once: a second look changes nothing.
        c.poll(true, &|w| panic!("{w}"));
        assert!(matches!(c.begin(3), Begin::Run(_)));
        let late = write_request(tmp.path(), &[4]).unwrap();
        c.poll(true, &|w| panic!("{w}"));
        assert_eq!(
            read_answer(tmp.path(), &late).unwrap(),
            [(4, Answer::Ended)]
        );
        c.finish();
        assert!(read_requests(tmp.path()).is_empty());
    }
}
