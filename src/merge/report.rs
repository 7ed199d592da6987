//! What a merge reports: `summary.json` ([`Summary`], per machine [`MachineSummary`]) and the
//! human table of a [`MergeReport`].

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::model::Tally;

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
    /// Rows (attempts) it holds.
    pub(crate) attempts: u64,
    /// Its ok rows.
    pub(crate) ok_rows: u64,
    /// Jobs of the merged table credited to it.
    pub(crate) jobs: u64,
    /// The sum of its attempts' durations, seconds.
    pub(crate) busy_s: f64,
    /// Its earliest start and latest end, microseconds since the epoch (none without rows).
    pub(crate) span_us: Option<(i64, i64)>,
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
        entry.attempts += f.attempts;
        entry.wall_s += wall_seconds(m, f.span_us);
        entry.busy_s += f.busy_s;
        entry.jobs_per_core_s += f.ok_rows as f64;
    }
}

/// A run's wall time: `ended_at - started_at` of its manifest, or for a run still going or
/// killed, its rows' span (first start to last end).
fn wall_seconds(m: &crate::output::manifest::Manifest, span_us: Option<(i64, i64)>) -> f64 {
    let parse = crate::output::parse_rfc3339;
    if let (Some(a), Some(b)) = (parse(&m.started_at), m.ended_at.as_deref().and_then(parse)) {
        if let Ok(d) = b.duration_since(a) {
            return d.as_secs_f64();
        }
    }
    match span_us {
        Some((first, last)) if first <= last => (last - first) as f64 / 1e6,
        _ => 0.0,
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
    pub balance: Option<super::BalanceSummary>,
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
            Error::invalid(
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
        }
        out
    }
}

fn format_weight(w: f64) -> String {
    let s = format!("{w:.3}");
    s.trim_end_matches('0').trim_end_matches('.').to_owned()
}
