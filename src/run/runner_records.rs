//! What a run writes about itself as it starts and ends: its manifest as it starts, log.gz's
//! first and last lines, and the warning about jobs an earlier, killed run left running.

use std::time::SystemTime;

use super::super::pending::ToRun;
use super::super::rundir::RunDir;
use super::super::steal::Stealing;
use super::{hostname, Runner};
use crate::error::Result;
use crate::model::{RunState, Stream, Tally};
use crate::output::log::LogWriter;
use crate::output::manifest::{Manifest, PlannedMachine};
use crate::plan::ALGORITHM;
use crate::run::Event;

impl Runner<'_> {
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
            epochs: crate::output::manifest::ManifestEpoch::of(plan, self.machine),
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
                    Some(s) => format!(" balance steal block {} run {}", s.block, s.who.run),
                    None => String::new(),
                }
            ),
        )?;
        log.end_member()?;
        Ok(log)
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
