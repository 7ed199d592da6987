//! The kill -9 property (issue 10, "Done when"): a real `jobsplit run` killed with SIGKILL at
//! random moments (after a random delay, as soon as results.csv is being rewritten for a new
//! column, or once some rows are in), then rerun until its share is done, loses no job, writes
//! no duplicate ok row, never starts a job again once its ok row is on disk, leaves no process
//! behind, and leaves files Python's csv and gzip modules read whole.
//!
//! A kill rarely lands inside the one `write` of a row, yet it can (a fatal signal cuts a large
//! write short at a page boundary), and so can a power loss: a quarter of the kills are followed
//! by tearing the file's last row, mostly right after a line break inside a quoted
//! value (the cut that issue 10's failure 1 mistakes for a whole row). The torn row's job has no
//! ok row then, so it may run again; no other may.
//!
//! `JOBSPLIT_KILLS=100` scales it (20 kills by default); a failing case prints its seed, and
//! `JOBSPLIT_CRASH_SEED=0x...` replays that case alone (the study and the kill plan; the kill's
//! exact moment depends on timing).

use std::time::{Duration, Instant};

use crate::crash_study::{env_number, CrashStudy, Figures, Rng};
use crate::harness::{signal, wait_child};

const BASE_SEED: u64 = 0x6a6f_6273_706c_6974;

#[test]
fn kill_9_at_random_moments_loses_nothing_and_runs_nothing_twice() {
    let kills = env_number("JOBSPLIT_KILLS", 20) as usize;
    let only = std::env::var("JOBSPLIT_CRASH_SEED")
        .ok()
        .and_then(|s| u64::from_str_radix(s.trim_start_matches("0x"), 16).ok());
    let mut total = Figures::default();
    let mut during_rewrite = 0;
    let mut failures = Vec::new();
    let mut notes = Vec::new();
    let mut case = 0u64;
    while total.kills < kills {
        let seed = only.unwrap_or_else(|| Rng::new(BASE_SEED ^ case).next());
        let (figures, rewrites) = kill_case(seed, kills - total.kills, &mut failures, &mut notes);
        total.add(&figures);
        during_rewrite += rewrites;
        case += 1;
        if only.is_some() {
            break;
        }
    }
    eprintln!("kill -9 property: {total}; {during_rewrite} kills during a header rewrite");
    for note in &notes {
        eprintln!("note: {note}");
    }
    assert!(failures.is_empty(), "{total}\n{}", failures.join("\n"));
}

/// One study: one to three kills, then reruns to the end. Returns its figures and how many of
/// its kills hit a header rewrite.
fn kill_case(
    seed: u64,
    budget: usize,
    failures: &mut Vec<String>,
    notes: &mut Vec<String>,
) -> (Figures, usize) {
    let mut rng = Rng::new(seed);
    let mut cs = CrashStudy::new(&mut rng, None, 16 * 1024, 3);
    let planned = (rng.range(1, 4) as usize).min(budget);
    let (mut kills, mut tries, mut rewrites) = (0, 0, 0);
    let mut how = Vec::new();
    while kills < planned && tries < planned * 4 {
        tries += 1;
        let mode = rng.range(0, 4);
        let delay = Duration::from_millis(rng.range(0, 700));
        let rows = rng.range(1, cs.jobs) as usize;
        let mut child = cs.command().spawn().unwrap();
        let dir = cs.dir();
        let running = |child: &mut std::process::Child| child.try_wait().unwrap().is_none();
        let start = Instant::now();
        let label = match mode {
            0 => {
                while running(&mut child) && start.elapsed() < delay {
                    std::thread::sleep(Duration::from_millis(1));
                }
                format!("after {delay:?}")
            }
            1 => {
                while running(&mut child)
                    && start.elapsed() < Duration::from_secs(20)
                    && !rewriting(&dir)
                {
                    std::thread::sleep(Duration::from_micros(200));
                }
                "in a rewrite".to_owned()
            }
            // 2: once some rows are in; 3: the same, then the last row torn (below).
            _ => {
                let path = dir.join("results.csv");
                while running(&mut child)
                    && start.elapsed() < Duration::from_secs(20)
                    && crate::crash_study::ok_rows(&path).len() < rows
                {
                    std::thread::sleep(Duration::from_millis(2));
                }
                format!("after {rows} rows")
            }
        };
        if running(&mut child) {
            signal(child.id(), libc::SIGKILL);
        }
        let status = wait_child(&mut child, Duration::from_secs(30));
        if std::os::unix::process::ExitStatusExt::signal(&status) == Some(libc::SIGKILL) {
            kills += 1;
            if rewriting(&dir) {
                rewrites += 1;
            }
            let label = match mode {
                3 => format!(
                    "{label}, {}",
                    tear_last_row(&dir.join("results.csv"), &mut rng, &cs)
                ),
                _ => label,
            };
            how.push(label);
            cs.observe(&format!("kill {kills} ({})", how[how.len() - 1]));
        } else {
            // It ended before the kill: the share is done, so start the next case.
            cs.observe("a run the kill missed");
            if status.code() == Some(0) {
                break;
            }
        }
    }
    let reruns = cs.finish();
    let mut figures = cs.check_done();
    notes.extend(cs.notes.iter().map(|n| format!("case {seed:#x}: {n}")));
    figures.cases = 1;
    figures.kills = kills;
    figures.reruns = reruns;
    if !cs.violations.is_empty() {
        figures.failed_cases = 1;
        failures.push(format!(
            "case JOBSPLIT_CRASH_SEED={seed:#x} (files kept in {}; {} jobs; kills {how:?}): {}",
            cs.keep_evidence(seed).display(),
            cs.jobs,
            cs.violations.join("; ")
        ));
    }
    (figures, rewrites)
}

/// True while results.csv is being rewritten (its temporary file exists).
fn rewriting(dir: &std::path::Path) -> bool {
    std::fs::read_dir(dir).is_ok_and(|entries| {
        entries.flatten().any(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("results.csv.tmp")
        })
    })
}

/// Cuts the last row of `path` short, as a write cut by a kill or a power loss leaves it: three
/// times in four right after a line break inside a quoted value, else anywhere. Only a row the
/// killed run wrote is torn (a row seen whole before it was started is committed). Says what it
/// did.
fn tear_last_row(path: &std::path::Path, rng: &mut Rng, cs: &CrashStudy) -> String {
    let Ok(data) = std::fs::read(path) else {
        return "no file to tear".to_owned();
    };
    // Where each record starts, and the line breaks inside quotes, by one pass over the bytes.
    let (mut quoted, mut starts, mut inner) = (false, vec![0], Vec::new());
    for (at, &b) in data.iter().enumerate() {
        match b {
            b'"' => quoted = !quoted,
            b'\n' if quoted => inner.push(at + 1),
            b'\n' => starts.push(at + 1),
            _ => {}
        }
    }
    // The last whole row: from the second-to-last record start to the end (never the header).
    if quoted || starts.len() < 3 || *starts.last().unwrap_or(&0) != data.len() {
        return "nothing to tear".to_owned();
    }
    let from = starts[starts.len() - 2];
    let index = data[from..]
        .split(|&b| b == b',')
        .next()
        .unwrap_or_default();
    match std::str::from_utf8(index).ok().and_then(|i| i.parse().ok()) {
        Some(i) if cs.seen_ok(i) => return "the last row was committed before".to_owned(),
        Some(_) => {}
        None => return "no row to tear".to_owned(),
    }
    let inside: Vec<usize> = inner.into_iter().filter(|&at| at > from).collect();
    let cut = if !inside.is_empty() && rng.range(0, 4) != 0 {
        inside[rng.range(0, inside.len() as u64) as usize]
    } else {
        rng.range(from as u64 + 1, data.len() as u64) as usize
    };
    std::fs::write(path, &data[..cut]).unwrap();
    format!(
        "last row torn at byte {} of {}",
        cut - from,
        data.len() - from
    )
}
