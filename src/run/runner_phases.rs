//! The phases of a run around its workers: what it runs (its share's pending jobs or a stealing
//! source), the cancel requests it honours, what it writes about itself as it starts (the
//! manifest, log.gz's first line, the warning about jobs an earlier, killed run left running)
//! and its end (the tally, log.gz's last line, the manifest's end state).

use std::path::PathBuf;
use std::time::{Instant, SystemTime};

use super::super::job_cancels::JobCancels;
use super::super::job_source::Pending;
use super::super::pending::{to_run, ToRun};
use super::super::rundir::RunDir;
use super::super::scheduler::Shared;
use super::super::steal::source::StealSource;
use super::super::steal::Stealing;
use super::{hostname, RunSummary, Runner};
use crate::error::Result;
use crate::model::{RunState, Stream, Tally};
use crate::output::log::LogWriter;
use crate::output::manifest::{Manifest, PlannedMachine};
use crate::output::results::{Existing, ResultsWriter};
use crate::plan::ALGORITHM;
use crate::run::Event;

impl<'r> Runner<'r> {
    /// Says when the directory's earlier run, killed, left jobs running that this run ended.
    pub(super) fn warn_orphans(&self, dir: &RunDir) {
        let n = dir.orphans();
        if n == 0 {
            return;
        }
        let (jobs, again) = match n {
            1 => ("1 job".to_owned(), "it runs"),
            n => (format!("{n} jobs"), "they run"),
        };
        (self.events)(&Event::Warning(&format!(
            "ended {jobs} still running from an earlier run of {} that was killed; {again} again",
            self.opts.dir.display(),
        )));
    }

    /// Opens results.csv for this run, saying so when a row a crash tore was cut off it.
    pub(super) fn open_results(&self, dir: &RunDir) -> Result<(ResultsWriter, Existing)> {
        let (results, existing) =
            ResultsWriter::open(&dir.path().join("results.csv"), self.opts.fsync)?;
        if existing.repaired_bytes > 0 {
            let path = dir.path().join("results.csv");
            let n = existing.repaired_bytes;
            let line = format!(
                "{}: cut {n} bytes of a row torn by a crash; that job runs again",
                path.display()
            );
            (self.events)(&Event::Warning(&line));
        }
        Ok((results, existing))
    }

    /// The manifest of this run as it starts.
    pub(super) fn manifest(&self, name: &str, share: &[u64], to_run: &ToRun) -> Manifest {
        let (plan, steal) = (self.plan, self.steal.as_ref());
        let m = &plan.machines()[self.machine];
        let work = self.work;
        Manifest {
            algorithm: ALGORITHM.to_owned(),
            work_digest: plan.work_digest().hex(),
            plan_digest: plan.plan_digest().hex(),
            machine: name.to_owned(),
            weight: if share.is_empty() && steal.is_some() {
                0.0
            } else {
                m.weight_f64()
            },
            cores: match steal {
                Some(s) if s.me.is_none() => self.threads() as u64,
                _ => m.cores,
            },
            threads: self.threads() as u64,
            share: share.len() as u64,
            jobs_total: plan.jobs(),
            excluded: plan.excluded(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            hostname: hostname(),
            started_at: crate::output::rfc3339(SystemTime::now()),
            ended_at: None,
            state: RunState::Running,
            counts: Tally {
                skipped: to_run.skipped,
                cancelled: to_run.cancelled_before,
                ..Tally::default()
            },
            busy_s: 0.0,
            shard: self.opts.shard,
            first_key: Some(work.keyer().key(0, &work.jobs().job_bytes(0)).id()),
            balance: steal.map(Stealing::info),
            planned: (0..plan.machines().len())
                .map(|j| PlannedMachine {
                    machine: plan.machines()[j].name.clone(),
                    share: plan.share(j).len() as u64,
                })
                .collect(),
            payload: super::super::payload_of_this_run(),
            epochs: {
                let mut epochs = crate::output::manifest::ManifestEpoch::of(plan, self.machine);
                if steal.is_some_and(|s| s.me.is_none()) {
                    // A helper has no share of any epoch.
                    epochs.iter_mut().for_each(|e| e.share = 0);
                }
                epochs
            },
        }
    }

    /// Opens log.gz (warning about what it set aside) and writes the run's first line.
    pub(super) fn open_log(
        &self,
        dir: &RunDir,
        name: &str,
        share: &[u64],
        pending: usize,
    ) -> Result<LogWriter> {
        let (mut log, log_warning) = LogWriter::open(&dir.path().join("log.gz"))?;
        if let Some(w) = log_warning {
            (self.events)(&Event::Warning(&w));
        }
        log.line(
            SystemTime::now(),
            None,
            Stream::Event,
            &format!(
                "run started: machine {} plan {} share {} pending {} threads {}{}",
                name,
                self.plan.plan_digest().short(),
                share.len(),
                pending,
                self.threads(),
                match &self.steal {
                    Some(s) => format!(" balance steal block {} run {}", s.block(), s.who.run),
                    None => String::new(),
                }
            ),
        )?;
        log.end_member()?;
        Ok(log)
    }

    /// Ends the run once its workers have: the tally, the log's last line, the manifest's end
    /// state; the error that stopped the run, if any, comes first.
    pub(super) fn end(
        &self,
        state: &Shared<'_>,
        dir: RunDir,
        manifest: &mut Manifest,
        cancels: &JobCancels,
        ended: Ended,
    ) -> Result<RunSummary> {
        let Ended {
            interrupted,
            taken,
            before: (skipped, cancelled_before),
            clock,
            steal,
        } = ended;
        let mut counts = state.tally((skipped, cancelled_before));
        counts.not_run = (taken - skipped - cancelled_before)
            .saturating_sub(counts.with_status() - cancelled_before);
        let busy = state.busy();
        let fatal = state.take_fatal();
        let end_line = end_line(interrupted, &counts, steal.clone());
        let log_result = state.finish_results().and(state.finish_log(&end_line));
        let end_state = if interrupted || fatal.is_some() {
            RunState::Interrupted
        } else {
            RunState::Finished
        };
        manifest.busy_s = busy.as_secs_f64();
        let moved_aside = dir.moved_aside().map(PathBuf::from);
        if end_state == RunState::Finished {
            cancels.finish();
        }
        let interval = self.opts.status_interval;
        let finished = dir.finish(manifest, end_state, counts, clock, steal, interval);
        // The error that stopped the run comes first: on a full disk, writing status.json at
        // the end fails too, but it is not why the run stopped.
        if let Some(e) = fatal {
            return Err(e);
        }
        finished?;
        log_result?;
        Ok(RunSummary {
            share: taken,
            counts,
            wall: clock.elapsed(),
            busy,
            interrupted,
            moved_aside,
        })
    }

    /// The cancel requests this run honours, read once before it starts; the jobs rerun now
    /// are withdrawn from requests still waiting (they are no longer cancelled).
    pub(super) fn job_cancels<'s>(
        &self,
        dir: &RunDir,
        share: &[u64],
        pending: &[Pending],
        stealer: Option<&'s StealSource<'_>>,
    ) -> Result<JobCancels<'s>> {
        let rerun = &self.opts.rerun;
        if !rerun.is_empty() {
            crate::output::cancel_request::withdraw(dir.path(), &|i| rerun.contains(i))?;
        }
        let cancels = match stealer {
            Some(s) => JobCancels::stealing(dir.path(), s),
            None => JobCancels::new(dir.path(), share, pending.iter().map(|p| p.0)),
        };
        cancels.poll(false, &|w| (self.events)(&Event::Warning(w)));
        Ok(cancels)
    }

    /// The jobs to run (a static share's pending jobs, or a stealing run's source of blocks)
    /// and those skipped, from what `existing` (results.csv) holds.
    pub(super) fn what_to_run(
        &self,
        dir: &RunDir,
        pool: &rayon::ThreadPool,
        share: &[u64],
        existing: Existing,
    ) -> Result<(ToRun, Option<StealSource<'r>>)> {
        let rerun = &self.opts.rerun;
        let Some(s) = self.steal.as_ref() else {
            return Ok((to_run(self.work, pool, share, &existing, rerun), None));
        };
        let earlier = dir.path().join(Manifest::FILE).exists();
        let threads = self.threads() as u64;
        let source = s.source(self.plan, self.work, existing, rerun, threads, earlier)?;
        let to_run = ToRun {
            skipped: source.skipped,
            cancelled_before: source.cancelled_before,
            ..ToRun::default()
        };
        Ok((to_run, Some(source)))
    }

    /// Writes the manifest of the run as it starts; a static run then looks again for a
    /// stealing layout of its plan ([`Runner::recheck_static`]), and ends interrupted if one
    /// appeared.
    pub(super) fn start_manifest(
        &self,
        dir: RunDir,
        manifest: &mut Manifest,
        clock: Instant,
    ) -> Result<RunDir> {
        dir.write_manifest(manifest)?;
        if let (None, Err(e)) = (&self.steal, self.recheck_static()) {
            let counts = manifest.counts;
            let interval = self.opts.status_interval;
            let _ = dir.finish(
                manifest,
                RunState::Interrupted,
                counts,
                clock,
                None,
                interval,
            );
            return Err(e);
        }
        Ok(dir)
    }

    /// Refuses, before any job starts, a static run whose plan a stealing host started to
    /// balance since [`Runner::check`]: that host records its layout, then looks for static
    /// manifests of the plan; this run wrote its manifest, then looks for the layout; so of two
    /// started at once at least one sees the other and neither runs beside the other.
    fn recheck_static(&self) -> Result<()> {
        let out = self.opts.dir.parent().unwrap_or(std::path::Path::new("."));
        crate::output::layout::check(out, self.plan)
    }
}

/// The run's last log line: how it ended and its counts.
pub(super) fn end_line(
    interrupted: bool,
    counts: &Tally,
    steal: Option<crate::output::balance::StealStatus>,
) -> String {
    let mut line =
        format!(
        "run {}: ok {} failed {} timeout {} interrupted {} cancelled {} skipped {} not started {}",
        if interrupted { "interrupted" } else { "finished" },
        counts.ok,
        counts.failed,
        counts.timeout,
        counts.interrupted,
        counts.cancelled,
        counts.skipped,
        counts.not_run
    );
    if let Some(st) = steal {
        line += &format!(
            " claimed {} stolen {} claims {} claims/s {:.0}",
            st.claimed,
            st.stolen,
            st.claims,
            st.claims_per_s.unwrap_or(0.0)
        );
    }
    line
}

/// How a run's workers ended, for [`Runner::end`].
pub(super) struct Ended {
    /// Cancelled (Ctrl-C, SIGTERM).
    pub(super) interrupted: bool,
    /// Jobs of the share taken (a stealing run's claimed ones).
    pub(super) taken: u64,
    /// Jobs skipped as done, and cancelled before this run.
    pub(super) before: (u64, u64),
    /// When the run started.
    pub(super) clock: Instant,
    /// A stealing run's figures.
    pub(super) steal: Option<crate::output::balance::StealStatus>,
}

/// `--steal-remote`: says when this machine was declared dead (fenced) while it ran.
pub(super) fn warn_fenced(
    stealer: Option<&StealSource<'_>>,
    name: &str,
    events: &(dyn Fn(&Event<'_>) + Sync),
) {
    if let Some(s) = stealer.filter(|s| s.stats.fenced.load(std::sync::atomic::Ordering::Relaxed)) {
        events(&Event::Warning(&format!(
            "machine {name} was declared dead (fenced in {}): it started no other block; its unfinished jobs are rescued on the other hosts",
            s.fence_dir().display()
        )));
    }
}
