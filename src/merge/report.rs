//! What a merge reports: `summary.json` ([`Summary`], per machine [`MachineSummary`]) and the
//! human table of a [`MergeReport`].

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::model::{Status, Tally};

/// Per-machine figures of a merge.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MachineSummary {
    /// The machine's name: `machine` in summary.json, as in every other JSON file (it was
    /// `name` before; that spelling is still read).
    #[serde(rename = "machine", alias = "name")]
    pub name: String,
    /// Its weight in the plan.
    pub weight: f64,
    /// Its cores in the plan.
    pub cores: u64,
    /// Jobs in the merged table credited to it (its ok rows that were kept).
    pub jobs: u64,
    /// Rows (attempts) it wrote.
    pub attempts: u64,
    /// Wall time of its runs, seconds.
    pub wall_s: f64,
    /// Sum of its attempts' durations, seconds.
    pub busy_s: f64,
    /// Ok jobs per core-second of busy time: its measured per-core speed.
    pub jobs_per_core_s: f64,
    /// The weight its measured speed suggests, on the scale of the given weights.
    pub suggested_weight: Option<f64>,
}

impl MachineSummary {
    /// A machine with its plan's weight and cores and no figures yet.
    pub fn new(name: &str, weight: f64, cores: u64) -> MachineSummary {
        MachineSummary {
            name: name.to_owned(),
            weight,
            cores,
            jobs: 0,
            attempts: 0,
            wall_s: 0.0,
            busy_s: 0.0,
            jobs_per_core_s: 0.0,
            suggested_weight: None,
        }
    }
}

/// What one machine directory's rows add to its machine's figures.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct RunFigures {
    /// Its rows.
    pub(crate) rows: RowFigures,
    /// Jobs of the merged table credited to it.
    pub(crate) jobs: u64,
}

/// What a machine directory's rows add up to (merge's pass 1 and `report` count them so).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct RowFigures {
    /// Rows (attempts) by status. Timed-out rows' busy time measures the time limit, not
    /// speed.
    pub(crate) by_status: Tally,
    /// The sum of their durations, seconds.
    pub(crate) busy_s: f64,
    /// When they ran.
    pub(crate) spans: RowSpans,
}

impl RowFigures {
    /// Adds a row: its status, its start (microseconds since the epoch) and duration;
    /// `run_start` is when the directory's last run started.
    pub(crate) fn add(
        &mut self,
        status: Status,
        start: i64,
        duration_s: f64,
        run_start: Option<i64>,
    ) {
        self.by_status.add(status);
        self.busy_s += duration_s;
        self.spans
            .add(start, start + (duration_s * 1e6) as i64, run_start);
    }
}

/// When a machine directory's rows ran, split at its manifest's `started_at`: a directory
/// whose run was killed and resumed holds the rows of earlier runs too, and its manifest times
/// the last run only.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct RowSpans {
    /// The earliest start and latest end of every row, microseconds since the epoch.
    pub(crate) all: Option<(i64, i64)>,
    /// The same of the rows that started before the last run did (earlier runs').
    pub(crate) earlier: Option<(i64, i64)>,
}

impl RowSpans {
    /// Adds a row that ran from `start` to `end` (microseconds since the epoch); `run_start`
    /// is when the directory's last run started.
    pub(crate) fn add(&mut self, start: i64, end: i64, run_start: Option<i64>) {
        let widen = |s: Option<(i64, i64)>| {
            Some(s.map_or((start, end), |(f, l)| (f.min(start), l.max(end))))
        };
        self.all = widen(self.all);
        if run_start.is_some_and(|r| start < r) {
            self.earlier = widen(self.earlier);
        }
    }
}

/// `started_at` of manifest `m`, microseconds since the epoch.
pub(crate) fn run_start_us(m: &crate::output::manifest::Manifest) -> Option<i64> {
    let t = crate::output::parse_rfc3339(&m.started_at)?;
    let d = t.duration_since(std::time::UNIX_EPOCH).ok()?;
    i64::try_from(d.as_micros()).ok()
}

impl MachineSummary {
    /// Adds the figures of a run of machine `m` (its manifest) to its entry in `machines`,
    /// making one for a machine not seen yet (a rescue's directories add to the same machine).
    /// `jobs_per_core_s` holds ok rows until [`super::suggest_weights`] divides them.
    pub(crate) fn add_run(
        machines: &mut Vec<MachineSummary>,
        m: &crate::output::manifest::Manifest,
        f: RunFigures,
    ) {
        let entry = match machines.iter().position(|x| x.name == m.machine) {
            Some(p) => &mut machines[p],
            None => {
                machines.push(MachineSummary::new(&m.machine, m.weight, m.cores));
                machines.last_mut().expect("just pushed")
            }
        };
        entry.jobs += f.jobs;
        entry.attempts += f.rows.by_status.with_status();
        entry.wall_s += wall_seconds(m, f.rows.spans);
        entry.busy_s += f.rows.busy_s;
        entry.jobs_per_core_s += f.rows.by_status.ok as f64;
    }
}

/// The wall time of a machine directory's runs: its earlier runs' rows' span (a run killed
/// and resumed), then its last run's `ended_at - started_at`, or for a run still going or
/// killed, from its start to its last row's end.
fn wall_seconds(m: &crate::output::manifest::Manifest, spans: RowSpans) -> f64 {
    let secs = |(a, b): (i64, i64)| (b.saturating_sub(a)).max(0) as f64 / 1e6;
    let earlier = spans.earlier.map_or(0.0, secs);
    let parse = crate::output::parse_rfc3339;
    if let (Some(a), Some(b)) = (parse(&m.started_at), m.ended_at.as_deref().and_then(parse)) {
        if let Ok(d) = b.duration_since(a) {
            return earlier + d.as_secs_f64();
        }
    }
    match (run_start_us(m), spans.all) {
        (Some(start), Some((_, last))) if spans.earlier.is_some() => earlier + secs((start, last)),
        (_, all) => all.map_or(0.0, secs),
    }
}

/// `summary.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// The work all inputs share.
    pub work_digest: String,
    /// The plans seen (more than one after a rescue).
    pub plan_digests: Vec<String>,
    /// Jobs in the work.
    pub jobs_total: u64,
    /// Final status counts (`not_run`: jobs with no row at all).
    #[serde(flatten, with = "crate::model::tally::merge_json")]
    pub counts: Tally,
    /// Jobs without an ok row (the lines of missing.txt).
    pub missing: u64,
    /// Extra ok rows of jobs that ran more than once.
    pub duplicates: u64,
    /// Per machine.
    pub machines: Vec<MachineSummary>,
    /// A stealing study's proof: own and stolen jobs per machine, claimed-unfinished blocks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub balance: Option<BalanceSummary>,
    /// The files collected into `jobs/` (absent with `--no-files`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub files: Option<super::FilesSummary>,
}

impl Summary {
    /// The file name.
    pub const FILE: &'static str = "summary.json";

    /// Reads `dir/summary.json`.
    ///
    /// # Errors
    /// If it is missing or malformed.
    pub fn read(dir: &Path) -> Result<Summary> {
        let path = dir.join(Self::FILE);
        let bytes = std::fs::read(&path).map_err(|e| Error::io(&path, e))?;
        serde_json::from_slice(&bytes).map_err(|e| {
            Error::damaged(
                Some(&path),
                Some(e.line() as u64),
                format!("not a merge summary ({e}): run `jobsplit merge` again"),
            )
        })
    }
}

/// What a merge found.
#[derive(Debug, Clone)]
pub struct MergeReport {
    /// The summary written to summary.json.
    pub summary: Summary,
    /// Things worth telling the user (a rescue merge, torn rows, duplicates).
    pub warnings: Vec<String>,
    /// Up to 100 duplicated jobs: index, first file, other machine.
    pub duplicates: Vec<(u64, String, String)>,
    /// Lines in the merged log.
    pub log_lines: u64,
    /// Up to 100 jobs cancelled by the user (`jobsplit cancel`), ascending: not missing, not
    /// rescued; `run --rerun` on their machine runs them again.
    pub cancelled: Vec<u64>,
}

impl MergeReport {
    /// True when every job has an ok row or was cancelled by the user.
    pub fn all_ok(&self) -> bool {
        self.summary.missing == 0
    }

    /// The human table: totals, then one row per machine.
    pub fn render_table(&self) -> String {
        let s = &self.summary;
        let c = &s.counts;
        let mut out = format!(
            "work {}: {} jobs, {} ok, {} failed, {} timeout, {} interrupted, {}{} not run{}\n",
            crate::text::escape(crate::text::short(&s.work_digest)),
            s.jobs_total,
            c.ok,
            c.failed,
            c.timeout,
            c.interrupted,
            if c.cancelled > 0 {
                format!("{} cancelled, ", c.cancelled)
            } else {
                String::new()
            },
            c.not_run,
            if s.duplicates > 0 {
                format!(", {} duplicate ok rows", s.duplicates)
            } else {
                String::new()
            }
        );
        let width = s
            .machines
            .iter()
            .map(|m| crate::text::escape(&m.name).chars().count())
            .max()
            .unwrap_or(0)
            .clamp(7, crate::text::MAX_COLUMN);
        out += &format!(
            "{:<width$}  {:>8}  {:>8}  {:>9}  {:>9}  {:>11}  {:>7}  {:>9}\n",
            "machine", "jobs", "attempts", "wall s", "busy s", "jobs/core-s", "weight", "suggested"
        );
        for m in &s.machines {
            out += &format!(
                "{:<width$}  {:>8}  {:>8}  {:>9.1}  {:>9.1}  {:>11.3}  {:>7}  {:>9}\n",
                crate::text::escape(&m.name),
                m.jobs,
                m.attempts,
                m.wall_s,
                m.busy_s,
                m.jobs_per_core_s,
                format_weight(m.weight),
                m.suggested_weight.map_or("-".into(), format_weight)
            );
        }
        if let Some(b) = &s.balance {
            let parts: Vec<String> = b
                .machines
                .iter()
                .map(|m| {
                    format!(
                        "{} {} own + {} stolen",
                        crate::text::escape(&m.name),
                        m.own,
                        m.stolen
                    )
                })
                .collect();
            out += &format!("stealing, proved by claims: {}\n", parts.join(", "));
            for f in &b.fenced {
                out += &format!(
                    "declared dead (fenced): {}, {} jobs ran twice (kept once)\n",
                    crate::text::escape(&f.machine),
                    f.ran_twice
                );
            }
        }
        out
    }
}

fn format_weight(w: f64) -> String {
    let s = format!("{w:.3}");
    s.trim_end_matches('0').trim_end_matches('.').to_owned()
}

/// summary.json's `balance`: what a stealing study's claims prove.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BalanceSummary {
    /// Per machine (helpers included): ok jobs of its own share and ok jobs it stole.
    pub machines: Vec<StealCredit>,
    /// Claims won whose jobs have no ok row (their holder died, froze or was cut off): the
    /// jobs are in missing.txt and a `--rescue` runs them.
    pub claimed_unfinished: Vec<Unfinished>,
    /// Claims written, by plan digest.
    pub claims: BTreeMap<String, u64>,
    /// Machines declared dead (fenced in a `--steal-remote` layout), with the jobs that ran
    /// both there and elsewhere (the rescue): each kept once.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fenced: Vec<FencedMachine>,
}

/// A machine declared dead, and what ran twice because of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FencedMachine {
    /// The machine.
    pub machine: String,
    /// Jobs with an ok row of it and another ok row elsewhere (each kept once).
    pub ran_twice: u64,
}

/// One machine's ok jobs, own and stolen.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StealCredit {
    /// The machine (`machine` in summary.json, as in every JSON file jobsplit writes).
    #[serde(rename = "machine", alias = "name")]
    pub name: String,
    /// Ok jobs of blocks of its own share.
    pub own: u64,
    /// Ok jobs of blocks of other machines' shares.
    pub stolen: u64,
}

/// A claimed block with jobs not ok.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Unfinished {
    /// The claim file, relative to its layout directory.
    pub claim: String,
    /// The machine holding it (empty if its record was never written).
    pub machine: String,
    /// The host that claimed it.
    pub host: String,
    /// Its jobs without an ok row.
    pub jobs: Vec<u64>,
}
