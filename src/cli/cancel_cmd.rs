//! `jobsplit cancel DIR JOB...`: asks the run writing a machine directory (or the runs writing
//! the machine directories of an `OUT` tree) to stop those jobs, through request files
//! (`run::cancel_request`), and says what each run did with them.
//!
//! A run writing the directory answers within about 200 ms; the command waits for the answers
//! up to [`ANSWER_WAIT`]. Where no run is writing, the request stays, and the next run of that
//! directory records the jobs `cancelled` without starting them.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Result;

use super::args::CancelArgs;
use super::exit;
use super::term::outln;
use crate::error::Error;
use crate::merge::find_machine_dirs;
use crate::model::Status;
use crate::output::manifest::Manifest;
use crate::run::cancel_request::{read_answer, remove_answer, write_request, Answer, CANCEL_DIR};

/// How long to wait for a running run's answer (it looks every 200 ms; a loaded host is slow).
const ANSWER_WAIT: Duration = Duration::from_secs(5);

pub(crate) fn run(args: &CancelArgs) -> Result<u8> {
    let single = args.dir.join(Manifest::FILE).is_file();
    let dirs: Vec<(PathBuf, Manifest)> = if single {
        vec![(args.dir.clone(), Manifest::read(&args.dir)?)]
    } else {
        find_machine_dirs(std::slice::from_ref(&args.dir))?
            .into_iter()
            .map(|m| (m.dir, m.manifest))
            .collect()
    };
    let jobs_total = dirs[0].1.jobs_total;
    if let Some(j) = args.jobs.iter().find(|&&j| j >= jobs_total) {
        return Err(Error::usage(format!(
            "there is no job {j}: the work of {} has {jobs_total} jobs (0-{})",
            args.dir.display(),
            jobs_total.saturating_sub(1)
        ))
        .into());
    }
    let mut jobs = args.jobs.clone();
    jobs.sort_unstable();
    jobs.dedup();
    let (live, idle): (Vec<_>, Vec<_>) = dirs.into_iter().partition(|(d, _)| run_is_writing(d));

    // The runs writing now: each answers for the jobs of its share.
    let asked: Vec<(PathBuf, String, String)> = live
        .iter()
        .map(|(d, m)| Ok((d.clone(), m.machine.clone(), write_request(d, &jobs)?)))
        .collect::<crate::Result<_>>()?;
    let mut answered: Vec<Option<Vec<(u64, Answer)>>> = vec![None; asked.len()];
    let until = Instant::now() + ANSWER_WAIT;
    while answered.iter().any(Option::is_none) && Instant::now() < until {
        for (slot, (d, _, id)) in answered.iter_mut().zip(&asked) {
            if slot.is_none() {
                *slot = read_answer(d, id);
                if slot.is_some() {
                    remove_answer(d, id);
                }
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let mut taken = vec![false; jobs.len()];
    let mut unhonoured = false;
    for ((d, machine, id), answer) in asked.iter().zip(&answered) {
        let Some(answer) = answer else {
            outln!(
                "the run writing {} has not answered yet: the request {} stays, and it will be honoured",
                d.display(),
                request_path(d, id).display()
            );
            taken.iter_mut().for_each(|t| *t = true);
            continue;
        };
        for (j, a) in answer {
            let Ok(k) = jobs.binary_search(j) else {
                continue;
            };
            let what = match a {
                Answer::Stopping => "running: stopping it (SIGTERM, then SIGKILL after the run's grace period); recorded cancelled, not retried",
                Answer::NotStarted => "not started: it will not start; recorded cancelled",
                Answer::Ended => "ended already: nothing to cancel (`run --rerun` runs it again)",
                Answer::NotInShare => continue,
            };
            taken[k] = true;
            unhonoured |= *a == Answer::Ended;
            outln!("job {j} on {}: {what}", crate::text::escape(machine));
        }
    }
    // The jobs no running run holds wait for the next run of the other directories.
    let waiting: Vec<u64> = jobs
        .iter()
        .zip(&taken)
        .filter(|(_, t)| !**t)
        .map(|(j, _)| *j)
        .collect();
    if !waiting.is_empty() {
        if idle.is_empty() {
            let shown: Vec<String> = waiting.iter().map(u64::to_string).collect();
            outln!(
                "{} {} in the share of no run writing {}: nothing cancelled",
                if waiting.len() == 1 { "job" } else { "jobs" },
                shown.join(", "),
                args.dir.display()
            );
            unhonoured = true;
        }
        for (d, m) in &idle {
            // Jobs this directory's rows say ended (ok, or cancelled already): nothing to wait for.
            let ended = ended_jobs(d, &waiting);
            for j in &ended {
                outln!(
                    "job {j} on {}: ended already: nothing to cancel (`run --rerun` runs it again)",
                    crate::text::escape(&m.machine)
                );
            }
            unhonoured |= !ended.is_empty();
            let waiting: Vec<u64> = waiting
                .iter()
                .copied()
                .filter(|j| !ended.contains(j))
                .collect();
            if waiting.is_empty() {
                continue;
            }
            let id = write_request(d, &waiting)?;
            let shown: Vec<String> = waiting.iter().map(u64::to_string).collect();
            outln!(
                "no run is writing {} now: the request {} stays, and the next run there records {} {} cancelled without starting {} (if {} in its share; delete the file to withdraw it)",
                d.display(),
                request_path(d, &id).display(),
                if waiting.len() == 1 { "job" } else { "jobs" },
                shown.join(", "),
                if waiting.len() == 1 { "it" } else { "them" },
                if waiting.len() == 1 { "it is" } else { "they are" },
            );
        }
    }
    Ok(if unhonoured {
        exit::JOBS_FAILED
    } else {
        exit::OK
    })
}

/// Those of `jobs` whose last row in `dir`'s results.csv is ok or cancelled.
fn ended_jobs(dir: &Path, jobs: &[u64]) -> Vec<u64> {
    let Ok(mut reader) = crate::output::results::ResultsReader::open(&dir.join("results.csv"))
    else {
        return Vec::new();
    };
    let mut last = std::collections::HashMap::new();
    while let Ok(Some(row)) = reader.next_row() {
        if jobs.binary_search(&row.index).is_ok() {
            last.insert(row.index, row.status);
        }
    }
    let mut ended: Vec<u64> = last
        .into_iter()
        .filter(|(_, s)| matches!(s, Status::Ok | Status::Cancelled))
        .map(|(j, _)| j)
        .collect();
    ended.sort_unstable();
    ended
}

fn request_path(dir: &Path, id: &str) -> PathBuf {
    dir.join(CANCEL_DIR).join(format!("{id}.txt"))
}

/// True if a run holds the directory's lock now (the lock is taken for a moment to see).
fn run_is_writing(dir: &Path) -> bool {
    let lock = dir.join(".lock");
    let Ok(file) = crate::output::open_output(std::fs::OpenOptions::new().write(true), &lock)
    else {
        return false;
    };
    matches!(crate::sys::try_lock_exclusive(&file), Ok(false))
}
