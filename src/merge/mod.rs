//! `merge`: join every host's output into one, prove each job ran exactly once, report what is
//! missing and how fast each machine really was. Inputs are never modified.

mod claims;
mod discover;
pub(crate) mod epochs;
mod files;
mod inputs;
mod logs;
mod out_lock;
mod report;
mod rescue;
mod status;
mod status_table;
mod table;
mod table_write;
mod weights;

pub(crate) use discover::{find_machine_dirs, nothing_started, MachineDir};
pub(crate) use epochs::find_study_dirs;
pub(crate) use files::FilesSummary;
pub use report::Summary;
pub(crate) use report::{run_start_us, RowFigures, RunFigures};
pub(crate) use report::{MachineSummary, MergeReport};
pub use rescue::load_rescue;
pub use status::status;
pub(crate) use status::{planned_status, StatusReport};

use std::path::{Path, PathBuf};

pub(crate) use weights::suggest_weights;
use weights::{already_exists, thin_weights, write_machines};

use crate::error::{Error, Result};
use crate::output::write_atomic;

/// Options of [`merge`].
#[derive(Debug, Clone)]
pub struct MergeOptions {
    /// The output directory (created; files in it are replaced).
    pub out: PathBuf,
    /// Also write a calibrated machines file here (never overwritten).
    pub write_machines: Option<PathBuf>,
    /// Gather each job's `jobs/<index>/` files and per-job log into `out/jobs/<index>/`
    /// (`--no-files` turns it off).
    pub collect_files: bool,
}

/// Merges the machine directories under `inputs` into `opts.out`.
///
/// # Errors
/// An input without a manifest, inputs of different studies, the same machine of the same
/// plan twice, an output directory that is one of the inputs, corrupt results, a full disk.
pub fn merge(inputs: &[PathBuf], opts: &MergeOptions) -> Result<MergeReport> {
    if let Some(path) = opts.write_machines.as_deref().filter(|p| p.exists()) {
        return Err(already_exists(path));
    }
    let dirs = find_study_dirs(inputs)?;
    let (plan_digests, mut warnings) = check_runs(&dirs)?;
    // A stealing study's rows are proved by its claims before anything is written.
    let proof = claims::prove(&dirs)?;
    let out = &opts.out;
    check_out_dir(out, &dirs)?;
    let created = !out.exists();
    // One merge at a time writes into `out` (a second one waits).
    let _lock = out_lock::lock_out(out)?;
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let (_, tmp_log) =
        crate::output::create_temp(&out.join("log.gz")).map_err(|e| Error::io(out, e))?;
    // Undoes what a refused merge made: the temporary log, and `out` if it made it (only an
    // empty directory is removed).
    let undo = |e: Error| {
        let _ = std::fs::remove_file(&tmp_log);
        if created {
            let _ = std::fs::remove_dir(out);
        }
        e
    };
    let Read {
        mut table,
        stats,
        log_lines,
    } = read_all(&dirs, out, &tmp_log, threads).map_err(undo)?;
    warnings.append(&mut table.warnings);
    let (counts, missing) = table.tally();
    let balance = proof.map(|p| {
        let (b, mut w) = p.finish(&missing, &table.twice_on);
        warnings.append(&mut w);
        b
    });
    let machines = machine_summaries(&dirs, &stats, &table);
    if opts.write_machines.is_some() {
        warnings.extend(thin_weights(&machines, &dirs, &stats));
    }
    // Each job's files, from the input whose row won, into a temporary tree moved into place last.
    let collected = if opts.collect_files {
        Some(files::collect(out, &winning_dirs(&table, &dirs)).map_err(undo)?)
    } else {
        None
    };
    if let Some(c) = &collected {
        warnings.extend(c.warnings.iter().cloned());
    }
    let first = &dirs[epochs::latest(&dirs)].manifest;
    let summary = Summary {
        work_digest: first.work_digest.clone(),
        plan_digests,
        jobs_total: first.jobs_total,
        counts,
        missing: missing.len() as u64,
        duplicates: table.duplicate_count,
        machines,
        balance,
        files: collected.as_ref().map(|c| c.summary.clone()),
    };
    let duplicates = std::mem::take(&mut table.duplicates);
    let cancelled = table.cancelled(100);
    write_outputs(out, table, threads, &missing, &tmp_log, collected, &summary).inspect_err(
        |_| {
            let _ = std::fs::remove_file(&tmp_log);
        },
    )?;
    if let Some(path) = &opts.write_machines {
        write_machines(path, &summary)?;
    }
    Ok(MergeReport {
        summary,
        warnings,
        duplicates,
        log_lines,
        cancelled,
    })
}

/// The plans the runs of `dirs` ran, with warnings (logs set aside, a rescue beside the
/// original), refusing one run passed twice.
fn check_runs(dirs: &[MachineDir]) -> Result<(Vec<String>, Vec<String>)> {
    // Earlier epochs of a job list that grew are not other plans: their hosts are behind.
    let latest = &dirs[epochs::latest(dirs)].manifest;
    let mut plan_digests: Vec<String> = Vec::new();
    for d in dirs {
        let earlier = epochs::earlier_epoch_of(&d.manifest, latest);
        if !earlier && !plan_digests.contains(&d.manifest.plan_digest) {
            plan_digests.push(d.manifest.plan_digest.clone());
        }
    }
    for (i, a) in dirs.iter().enumerate() {
        for b in &dirs[..i] {
            // The same run seen twice (a copied dir, or a dir passed twice): same machine, plan
            // and start. Two runs of one plan (a rescue of a study where nothing was ok yet
            // has the original plan) are merged by key instead.
            if a.manifest.machine == b.manifest.machine
                && a.manifest.plan_digest == b.manifest.plan_digest
                && a.manifest.started_at == b.manifest.started_at
            {
                return Err(Error::output_dir(
                    Some(&a.dir),
                    None,
                    format!(
                        "the same machine twice: {} and {} are both machine `{}` of plan {} started at the same time (a copy?); pass each host's output once",
                        b.dir.display(),
                        a.dir.display(),
                        a.manifest.machine,
                        short(&a.manifest.plan_digest)
                    ),
                ));
            }
        }
    }
    let mut warnings = Vec::new();
    for d in dirs {
        warnings.extend(discover::set_aside_logs(&d.dir));
    }
    warnings.extend(epochs::behind(dirs, latest));
    if plan_digests.len() > 1 {
        warnings.push(format!(
            "{} plans of the same work (a rescue run beside the original?): merged by job key",
            plan_digests.len()
        ));
    }
    Ok((plan_digests, warnings))
}

/// What pass 1 read: the table, each input's statistics, the lines of the merged log.
struct Read {
    table: table::Table,
    stats: Vec<report::RowFigures>,
    log_lines: u64,
}

/// Pass 1 over every input's results, while another thread merges the logs into `tmp_log`;
/// the logs' warnings join the table's.
fn read_all(dirs: &[MachineDir], out: &Path, tmp_log: &Path, threads: usize) -> Result<Read> {
    let log_inputs: Vec<PathBuf> = dirs.iter().map(|d| d.dir.join("log.gz")).collect();
    let jobs = dirs[epochs::latest(dirs)].manifest.jobs_total;
    let (tables, logs) = std::thread::scope(|scope| {
        let logs = scope.spawn(|| {
            let mut w = Vec::new();
            logs::merge_logs(&log_inputs, tmp_log, &mut w).map(|n| (n, w))
        });
        let tables = read_tables(dirs, jobs, out, threads);
        let logs = logs.join().unwrap_or_else(|p| std::panic::resume_unwind(p));
        (tables, logs)
    });
    let ((mut table, stats), (log_lines, log_warnings)) = (tables?, logs?);
    table.warnings.splice(0..0, log_warnings);
    if table.duplicate_count > 0 {
        table.warnings.push(format!(
            "{} jobs have more than one ok row (run twice: overlapping plans or a copied dir?); each is kept once",
            table.duplicate_count
        ));
    }
    Ok(Read {
        table,
        stats,
        log_lines,
    })
}

/// Every job with a row, with the directory whose row won.
fn winning_dirs<'a>(table: &table::Table, dirs: &'a [MachineDir]) -> Vec<(u64, &'a Path)> {
    table
        .winners()
        .map(|(i, f)| (i, dirs[f].dir.as_path()))
        .collect()
}

/// Per machine, by name (a rescue's dirs add to the same machine), with suggested weights.
fn machine_summaries(
    dirs: &[MachineDir],
    stats: &[report::RowFigures],
    table: &table::Table,
) -> Vec<MachineSummary> {
    let credited = table.credited();
    let mut machines: Vec<MachineSummary> = Vec::new();
    for (d, st) in dirs.iter().zip(stats) {
        // The merged table's jobs are credited once, to the first directory of the machine.
        let seen = machines.iter().any(|x| x.name == d.manifest.machine);
        let figures = report::RunFigures {
            rows: *st,
            jobs: if seen {
                0
            } else {
                credited
                    .get(d.manifest.machine.as_str())
                    .copied()
                    .unwrap_or(0)
            },
        };
        MachineSummary::add_run(&mut machines, &d.manifest, figures);
    }
    suggest_weights(&mut machines);
    machines
}

/// Writes results.csv and missing.txt (through temporary files, so a failure leaves no half
/// file), moves the merged log and the collected files into place, then summary.json last.
fn write_outputs(
    out: &Path,
    table: table::Table,
    threads: usize,
    missing: &[u64],
    tmp_log: &Path,
    collected: Option<files::Collected>,
    summary: &Summary,
) -> Result<()> {
    table.write_file(&out.join("results.csv"), threads)?;
    drop(table);
    let mut missing_text = String::with_capacity(missing.len() * 8);
    for i in missing {
        missing_text += &i.to_string();
        missing_text.push('\n');
    }
    write_atomic(&out.join("missing.txt"), missing_text.as_bytes())?;
    std::fs::rename(tmp_log, out.join("log.gz")).map_err(|e| Error::io(out.join("log.gz"), e))?;
    match collected {
        Some(c) => {
            c.install(out)?;
        }
        // An earlier merge's files would no longer match this results.csv.
        None => {
            files::remove_leftovers(out)?;
            files::remove_old(out, &out.join(files::DIR))?;
        }
    }
    let mut json = serde_json::to_vec_pretty(summary).expect("serializing plain data");
    json.push(b'\n');
    write_atomic(&out.join(Summary::FILE), &json)
}

/// Reads every input's results into one table (pass 1), with per-input statistics.
fn read_tables(
    dirs: &[MachineDir],
    jobs: u64,
    scratch: &Path,
    threads: usize,
) -> Result<(table::Table, Vec<report::RowFigures>)> {
    let mut table = table::Table::new(jobs).ok_or_else(|| {
        Error::damaged(
            Some(&dirs[0].dir.join(crate::output::manifest::Manifest::FILE)),
            None,
            format!(
                "jobs_total is {jobs}: merging that many jobs needs {} GiB of memory, more than this machine gives (at most {} jobs): is the manifest corrupt?",
                jobs.saturating_mul(32) >> 30,
                table::MAX_JOBS
            ),
        )
    })?;
    let stats = table.add_dirs(dirs, scratch, threads)?;
    Ok((table, stats))
}

/// Refuses an output directory that is, holds or sits inside one of the inputs, before
/// anything is created.
fn check_out_dir(out: &Path, dirs: &[MachineDir]) -> Result<()> {
    let out_canon = crate::paths::canonical_future(out).map_err(|e| Error::io(out, e))?;
    for d in dirs {
        let Ok(c) = d.dir.canonicalize() else {
            continue;
        };
        if c.starts_with(&out_canon) || out_canon.starts_with(&c) {
            return Err(Error::output_dir(
                Some(out),
                None,
                format!(
                    "is, holds or sits inside the input {}: merge never writes into its inputs; pass another --out",
                    d.dir.display()
                ),
            ));
        }
    }
    Ok(())
}

fn short(digest: &str) -> &str {
    crate::text::short(digest)
}
