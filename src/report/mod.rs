//! `jobsplit report`: one picture of a run, from an `OUT` tree or a merged directory. The data
//! ([`Report`]) is read here through the same readers `merge` uses (machine discovery, the
//! results.csv reader, the log reader, merge's suggested weights); [`html`] renders it as one
//! self-contained page, [`markdown`] as Markdown.

pub(crate) mod html;
pub(crate) mod markdown;
mod slots;

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::error::{Error, Result};
use crate::merge::{
    find_study_dirs, run_start_us, MachineSummary, RowFigures, RunFigures, Summary,
};
use crate::model::Status;
use crate::output::log::LogReader;
use crate::output::results::{ResultsReader, FIXED};

/// At most this many failed jobs get their last log lines.
pub(crate) const MAX_FAILURES: usize = 200;
/// Last log lines kept per failed job.
pub(crate) const LOG_LINES: usize = 10;
/// Characters kept of one log line or error.
const MAX_TEXT: usize = 500;

/// Everything a report shows.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Report {
    /// The directory reported on.
    pub source: String,
    /// `"merged"` or `"out"`.
    pub kind: &'static str,
    /// Jobs in the work.
    pub jobs_total: u64,
    /// Every status's name, by its code (`rows.s`): the page names and colours them from this.
    pub statuses: Vec<&'static str>,
    /// Per machine, as merge computes it.
    pub machines: Vec<MachineSummary>,
    /// Machine names, in the order rows refer to them (`m`).
    pub machine_names: Vec<String>,
    /// The columns beyond the fixed ones (results and inputs), in file order.
    pub extra_columns: Vec<String>,
    /// Epoch of the earliest start, microseconds since the Unix epoch.
    pub t0_us: i64,
    /// The rows (attempts), column-wise.
    pub rows: Rows,
    /// Failed jobs (no ok attempt, and the last one not cancelled), with their last log lines.
    pub failures: Vec<Failure>,
    /// Failed jobs beyond [`MAX_FAILURES`], not listed.
    pub failures_left_out: u64,
    /// Warnings met while reading.
    pub warnings: Vec<String>,
}

/// Rows, column-wise (compact as JSON).
#[derive(Debug, Clone, Default, Serialize)]
pub(crate) struct Rows {
    /// Job index.
    pub i: Vec<u64>,
    /// Machine (index into `machine_names`).
    pub m: Vec<u32>,
    /// Slot on that machine (interval packing).
    pub slot: Vec<u32>,
    /// Status code ([`Status::code`]: 0 ok, 1 failed, 2 timeout, 3 interrupted, 4 cancelled).
    pub s: Vec<u32>,
    /// Attempt.
    pub a: Vec<u32>,
    /// Start, seconds after `t0_us` (ms precision).
    pub t: Vec<f64>,
    /// Duration, seconds.
    pub d: Vec<f64>,
    /// Error ("" when none).
    pub e: Vec<String>,
    /// Extra cells, per extra column.
    pub x: Vec<Vec<String>>,
}

/// A failed job.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Failure {
    /// The job.
    pub index: u64,
    /// Its last attempt's status.
    pub status: &'static str,
    /// The machine.
    pub machine: String,
    /// Attempts seen.
    pub attempt: u32,
    /// The error.
    pub error: String,
    /// Its last log lines: `stream text`.
    pub log: Vec<String>,
}

/// Reads the report data of `dir`: a merged directory (summary.json, results.csv, log.gz) or
/// an `OUT` tree / machine directory (manifests found as `merge` finds them).
///
/// # Errors
/// A directory that is neither, unreadable or malformed results.
pub(crate) fn gather(dir: &Path) -> Result<Report> {
    if !dir.is_dir() {
        return Err(Error::output_dir(
            Some(dir),
            None,
            "not a directory: pass an OUT tree written by `jobsplit run` or a directory written by `jobsplit merge`",
        ));
    }
    let mut b = Builder::default();
    let mut behind = Vec::new();
    let (kind, jobs_total, mut machines, logs) = if dir.join(Summary::FILE).is_file() {
        let summary = Summary::read(dir)?;
        b.read_results(&results_file(dir)?)?;
        (
            "merged",
            summary.jobs_total,
            summary.machines,
            vec![dir.join("log.gz")],
        )
    } else {
        let dirs = find_study_dirs(&[dir.to_path_buf()])?;
        let mut machines: Vec<MachineSummary> = Vec::new();
        for d in &dirs {
            let before = b.rows.i.len();
            b.read_results(&results_file(&d.dir)?)?;
            let mut rows = RowFigures::default();
            let run_start = run_start_us(&d.manifest);
            for r in before..b.rows.i.len() {
                let status = Status::from_code(b.rows.s[r]);
                rows.add(status, b.starts[r], b.rows.d[r], run_start);
            }
            let figures = RunFigures {
                rows,
                jobs: rows.by_status.ok,
            };
            MachineSummary::add_run(&mut machines, &d.manifest, figures);
        }
        crate::merge::suggest_weights(&mut machines);
        // A job list that grew: the latest epochs any host ran, and the hosts behind them.
        let latest = &dirs[crate::merge::epochs::latest(&dirs)].manifest;
        behind = crate::merge::epochs::behind(&dirs, latest);
        let jobs_total = latest.jobs_total;
        let logs = dirs.iter().map(|d| d.dir.join("log.gz")).collect();
        ("out", jobs_total, machines, logs)
    };
    // Machines seen in rows but not in the summary (a hand-edited file): shown without figures.
    for name in &b.machine_names {
        if !machines.iter().any(|m| &m.name == name) {
            machines.push(MachineSummary::new(name, 0.0, 0));
        }
    }
    let t0 = b.starts.iter().copied().min().unwrap_or(0);
    b.rows.t = b
        .starts
        .iter()
        .map(|&s| ((s - t0) as f64 / 1e3).round() / 1e3)
        .collect();
    b.rows.slot = slots::pack(&b.rows.m, &b.rows.t, &b.rows.d);
    let (failures, left_out) = failures(&b, &logs)?;
    let mut warnings = b.warnings;
    warnings.append(&mut behind);
    machines.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(Report {
        source: dir.display().to_string(),
        kind,
        jobs_total,
        statuses: Status::ALL.iter().map(|s| s.as_str()).collect(),
        machines: std::mem::take(&mut machines),
        machine_names: b.machine_names,
        extra_columns: b.extra_columns,
        t0_us: t0,
        rows: b.rows,
        failures,
        failures_left_out: left_out,
        warnings: std::mem::take(&mut warnings),
    })
}

fn results_file(dir: &Path) -> Result<PathBuf> {
    ["results.csv", "results.csv.gz"]
        .iter()
        .map(|f| dir.join(f))
        .find(|p| p.is_file())
        .ok_or_else(|| {
            Error::output_dir(
                Some(dir),
                None,
                "holds no results.csv: pass an OUT tree written by `jobsplit run` or a directory written by `jobsplit merge`",
            )
        })
}

#[derive(Default)]
struct Builder {
    rows: Rows,
    starts: Vec<i64>,
    machine_names: Vec<String>,
    machine_ids: HashMap<String, u32>,
    extra_columns: Vec<String>,
    warnings: Vec<String>,
}

impl Builder {
    fn read_results(&mut self, path: &Path) -> Result<()> {
        let mut r = ResultsReader::open(path)?;
        // This file's extra columns, mapped to the report's (files may differ: a column
        // another host's results lack is empty there).
        let map: Vec<usize> = r.names()[FIXED.len()..]
            .iter()
            .map(
                |name| match self.extra_columns.iter().position(|c| c == name) {
                    Some(p) => p,
                    None => {
                        self.extra_columns.push(name.clone());
                        self.rows.x.push(vec![String::new(); self.rows.i.len()]);
                        self.extra_columns.len() - 1
                    }
                },
            )
            .collect();
        while let Some(row) = r.next_row()? {
            let machine = String::from_utf8_lossy(row.machine()).into_owned();
            let next = self.machine_names.len() as u32;
            let m = *self.machine_ids.entry(machine.clone()).or_insert_with(|| {
                self.machine_names.push(machine);
                next
            });
            self.rows.i.push(row.index);
            self.rows.m.push(m);
            self.rows.s.push(row.status.code());
            self.rows.a.push(row.attempt);
            self.rows.d.push((row.duration_s * 1e3).round() / 1e3);
            self.starts.push(row.started_us);
            self.rows.e.push(cap(&String::from_utf8_lossy(row.cell(8))));
            for col in &mut self.rows.x {
                col.push(String::new());
            }
            for (k, &to) in map.iter().enumerate() {
                let cell = row.cell(FIXED.len() + k);
                if !cell.is_empty() {
                    *self.rows.x[to].last_mut().expect("pushed") =
                        cap(&String::from_utf8_lossy(cell));
                }
            }
        }
        self.warnings.extend(r.take_warnings());
        Ok(())
    }
}

/// `s` cut to [`MAX_TEXT`] characters.
fn cap(s: &str) -> String {
    match s.char_indices().nth(MAX_TEXT) {
        Some((at, _)) => format!("{}…", &s[..at]),
        None => s.to_owned(),
    }
}

/// The jobs that are not settled ([`Status::is_settled`]: a job with an ok row anywhere, or
/// whose last attempt was cancelled by the user, is not failed), the first [`MAX_FAILURES`] by
/// index with their last log lines.
fn failures(b: &Builder, logs: &[PathBuf]) -> Result<(Vec<Failure>, u64)> {
    let mut last: BTreeMap<u64, usize> = BTreeMap::new();
    let mut ok = std::collections::HashSet::new();
    for r in 0..b.rows.i.len() {
        let i = b.rows.i[r];
        if b.rows.s[r] == 0 {
            ok.insert(i);
        }
        let e = last.entry(i).or_insert(r);
        if (b.rows.a[r], b.starts[r]) >= (b.rows.a[*e], b.starts[*e]) {
            *e = r;
        }
    }
    let failed: Vec<(u64, usize)> = last
        .into_iter()
        .filter(|&(i, r)| !ok.contains(&i) && !Status::from_code(b.rows.s[r]).is_settled())
        .collect();
    let left_out = failed.len().saturating_sub(MAX_FAILURES) as u64;
    let mut lines: HashMap<u64, VecDeque<String>> = failed
        .iter()
        .take(MAX_FAILURES)
        .map(|&(i, _)| (i, VecDeque::new()))
        .collect();
    if !lines.is_empty() {
        for log in logs.iter().filter(|l| l.is_file()) {
            let mut r = LogReader::open(log)?;
            while let Some(raw) = r.next_line() {
                let mut f = raw.splitn(4, |&c| c == b'\t');
                let (Some(_), Some(job), Some(stream), Some(text)) =
                    (f.next(), f.next(), f.next(), f.next())
                else {
                    continue;
                };
                let Some(job) = std::str::from_utf8(job).ok().and_then(|j| j.parse().ok()) else {
                    continue;
                };
                if let Some(q) = lines.get_mut(&job) {
                    if q.len() == LOG_LINES {
                        q.pop_front();
                    }
                    q.push_back(cap(&format!(
                        "{} {}",
                        String::from_utf8_lossy(stream),
                        String::from_utf8_lossy(text)
                    )));
                }
            }
        }
    }
    let list = failed
        .iter()
        .take(MAX_FAILURES)
        .map(|&(index, r)| Failure {
            index,
            status: Status::from_code(b.rows.s[r]).as_str(),
            machine: b.machine_names[b.rows.m[r] as usize].clone(),
            attempt: b.rows.a[r],
            error: b.rows.e[r].clone(),
            log: lines.remove(&index).map(Vec::from).unwrap_or_default(),
        })
        .collect();
    Ok((list, left_out))
}
