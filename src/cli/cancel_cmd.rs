//! `jobsplit cancel DIR JOB...`: asks the run writing a machine directory (or the runs writing
//! the machine directories of an `OUT` tree) to stop those jobs, through request files
//! (`output::cancel_request`), and says what each run did with them.
//!
//! A run writing the directory answers within about 200 ms; the command waits for the answers
//! up to [`ANSWER_WAIT`], and stops waiting for a run that ends meanwhile (its directory is then
//! treated as one no run writes). Where no run is writing, the request is left only where the
//! job can still run: in the directory whose rows hold it (unless it ended there: then nothing
//! is written), else in those whose run did not finish (a finished run tried its whole share,
//! so a job it has no row of is not in it). The next run there records the job cancelled
//! without starting it.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Result;

use super::args::CancelArgs;
use super::exit;
use super::term::outln;
use crate::error::Error;
use crate::merge::find_machine_dirs;
use crate::model::{RunState, Status};
use crate::output::cancel_request::{
    read_answer, remove_answer, remove_requests, write_request, Answer, CANCEL_DIR,
};
use crate::output::manifest::Manifest;

/// How long to wait for a running run's answer (it looks every 200 ms; a loaded host is slow).
const ANSWER_WAIT: Duration = Duration::from_secs(5);

/// How often a run that has not answered is checked to be still writing.
const LOCK_CHECK: Duration = Duration::from_millis(250);

/// What came of a request left for a run that was writing.
enum Reply {
    /// The run's answer.
    Answered(Vec<(u64, Answer)>),
    /// No answer in [`ANSWER_WAIT`], and the run still writes: the request stays.
    Silent,
    /// The run ended without reading it: the request was taken back.
    RunEnded,
}

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
    // A request is never written through a link: refused before anything is written.
    for (d, _) in &dirs {
        crate::output::refuse_link(&d.join(CANCEL_DIR))?;
    }
    let mut jobs = args.jobs.clone();
    jobs.sort_unstable();
    jobs.dedup();
    let (live, mut idle): (Vec<_>, Vec<_>) = dirs.into_iter().partition(|(d, _)| run_is_writing(d));

    // The runs writing now: each answers for the jobs of its share.
    let asked: Vec<(PathBuf, String)> = live
        .iter()
        .map(|(d, _)| Ok((d.clone(), write_request(d, &jobs)?)))
        .collect::<crate::Result<_>>()?;
    let replies = wait_for_replies(&asked);
    let (taken, mut unhonoured) = say_answers(live, &asked, replies, &jobs, &mut idle);
    // The jobs no running run holds wait for the next run of a directory that can run them.
    let waiting: Vec<u64> = jobs
        .iter()
        .zip(&taken)
        .filter(|(_, t)| !**t)
        .map(|(j, _)| *j)
        .collect();
    if !waiting.is_empty() {
        unhonoured |= leave_for_next_runs(&args.dir, &idle, &waiting)?;
    }
    Ok(if unhonoured {
        exit::JOBS_FAILED
    } else {
        exit::OK
    })
}

/// Says what each run writing did with the request; a run that ended without reading it joins
/// `idle`. Returns which of `jobs` a run took (stopped, kept from starting, ended there, or
/// left with a run that has not answered) and whether one had ended already.
fn say_answers(
    live: Vec<(PathBuf, Manifest)>,
    asked: &[(PathBuf, String)],
    replies: Vec<Reply>,
    jobs: &[u64],
    idle: &mut Vec<(PathBuf, Manifest)>,
) -> (Vec<bool>, bool) {
    let mut taken = vec![false; jobs.len()];
    let mut unhonoured = false;
    for (((d, m), (_, id)), reply) in live.into_iter().zip(asked).zip(replies) {
        let answer = match reply {
            Reply::Answered(answer) => answer,
            Reply::Silent => {
                outln!(
                    "the run writing {} has not answered yet: the request {} stays, for the jobs of its share",
                    d.display(),
                    request_path(&d, id).display()
                );
                taken.iter_mut().for_each(|t| *t = true);
                continue;
            }
            Reply::RunEnded => {
                // Its rows now say what it did: as a directory no run writes.
                let m = Manifest::read(&d).unwrap_or(m);
                idle.push((d, m));
                continue;
            }
        };
        for (j, a) in answer {
            let Ok(k) = jobs.binary_search(&j) else {
                continue;
            };
            let what = match a {
                Answer::Stopping => "running: stopping it (SIGTERM, then SIGKILL after the run's grace period); recorded cancelled, not retried",
                Answer::NotStarted => "not started: it will not start; recorded cancelled",
                Answer::Ended => ENDED,
                Answer::NotInShare => continue,
            };
            taken[k] = true;
            unhonoured |= a == Answer::Ended;
            outln!("job {j} on {}: {what}", crate::text::escape(&m.machine));
        }
    }
    (taken, unhonoured)
}

const ENDED: &str = "ended already: nothing to cancel (`run --rerun` runs it again)";

/// Waits up to [`ANSWER_WAIT`] for the answer to each request of `asked`; a run that stops
/// writing without answering gets its request taken back.
fn wait_for_replies(asked: &[(PathBuf, String)]) -> Vec<Reply> {
    let mut replies: Vec<Option<Reply>> = asked.iter().map(|_| None).collect();
    let until = Instant::now() + ANSWER_WAIT;
    let mut next_check = Instant::now() + LOCK_CHECK;
    loop {
        let check = Instant::now() >= next_check;
        if check {
            next_check += LOCK_CHECK;
        }
        for (slot, (d, id)) in replies.iter_mut().zip(asked) {
            if slot.is_some() {
                continue;
            }
            // Looked at before the answer, so a run that answered and ended is not missed.
            let ended = check && !run_is_writing(d);
            if let Some(answer) = read_answer(d, id) {
                remove_answer(d, id);
                *slot = Some(Reply::Answered(answer));
            } else if ended {
                remove_requests(d, std::slice::from_ref(id));
                *slot = Some(Reply::RunEnded);
            }
        }
        if replies.iter().all(Option::is_some) || Instant::now() >= until {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    replies
        .into_iter()
        .map(|r| r.unwrap_or(Reply::Silent))
        .collect()
}

/// Leaves a request for `waiting` in the directories of `idle` (no run writes them) where the
/// job can still run, and says so; says which ended already. True when some job cannot be
/// cancelled (it ended, or no directory can run it).
fn leave_for_next_runs(
    out: &Path,
    idle: &[(PathBuf, Manifest)],
    waiting: &[u64],
) -> crate::Result<bool> {
    let last: Vec<HashMap<u64, Status>> =
        idle.iter().map(|(d, _)| last_status(d, waiting)).collect();
    let mut unhonoured = false;
    // Per idle directory: the jobs to leave a request for, and whether its rows hold them.
    let mut requests: Vec<(Vec<u64>, bool)> = vec![(Vec::new(), true); idle.len()];
    let mut nowhere = Vec::new();
    for &j in waiting {
        let holders: Vec<usize> = (0..idle.len())
            .filter(|&i| last[i].contains_key(&j))
            .collect();
        if !holders.is_empty() {
            for i in holders {
                if matches!(last[i][&j], Status::Ok | Status::Cancelled) {
                    outln!(
                        "job {j} on {}: {ENDED}",
                        crate::text::escape(&idle[i].1.machine)
                    );
                    unhonoured = true;
                } else {
                    requests[i].0.push(j);
                }
            }
            continue;
        }
        // No rows anywhere: a run that finished tried its whole share, so only an unfinished
        // one can hold the job.
        let open: Vec<usize> = (0..idle.len())
            .filter(|&i| idle[i].1.state != RunState::Finished)
            .collect();
        if open.is_empty() {
            nowhere.push(j.to_string());
        }
        for i in open {
            requests[i].0.push(j);
            requests[i].1 = false;
        }
    }
    if !nowhere.is_empty() {
        outln!(
            "{} {} in no share left to run in {}: nothing cancelled (a machine that has not started yet: cancel once its run is writing)",
            if nowhere.len() == 1 { "job" } else { "jobs" },
            nowhere.join(", "),
            out.display()
        );
        unhonoured = true;
    }
    for ((d, _), (jobs, held)) in idle.iter().zip(requests) {
        if !jobs.is_empty() {
            let id = write_request(d, &jobs)?;
            say_left(d, &id, &jobs, held);
        }
    }
    Ok(unhonoured)
}

/// Says that a request for `jobs` waits in `dir`: for jobs of its share (`held`: its rows hold
/// them), or for jobs it may hold (its run did not finish, and no rows say where they run).
fn say_left(dir: &Path, id: &str, jobs: &[u64], held: bool) {
    let one = jobs.len() == 1;
    let shown: Vec<String> = jobs.iter().map(u64::to_string).collect();
    let (them, are) = if one {
        ("it", "it is")
    } else {
        ("them", "they are")
    };
    let condition = if held {
        String::new()
    } else {
        format!(" if {are} in its share (its run did not finish, and no rows say where {them} run)")
    };
    outln!(
        "no run is writing {} now: the request {} stays, and the next run there records {} {} cancelled without starting {them}{condition} (delete the file to withdraw it)",
        dir.display(),
        request_path(dir, id).display(),
        if one { "job" } else { "jobs" },
        shown.join(", "),
    );
}

/// The status of the last row in `dir`'s results.csv of each of `jobs` that has one.
fn last_status(dir: &Path, jobs: &[u64]) -> HashMap<u64, Status> {
    let mut last = HashMap::new();
    let Ok(mut reader) = crate::output::results::ResultsReader::open(&dir.join("results.csv"))
    else {
        return last;
    };
    while let Ok(Some(row)) = reader.next_row() {
        if jobs.binary_search(&row.index).is_ok() {
            last.insert(row.index, row.status);
        }
    }
    last
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
