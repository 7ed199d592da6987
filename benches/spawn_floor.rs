//! The spawn floor for command jobs: the least a job runner can do per job.
//!
//! Reads one command per line from FILE and runs them from THREADS threads (default 2). Each
//! job is `/bin/sh -c LINE` (or, with `--direct`, the line split on whitespace and executed
//! without a shell), with stdout and stderr captured through pipes and read to the end; the
//! thread waits for the child before taking the next job. Nothing else: no log, no CSV, no
//! progress. `make bench` times this and divides every other tool's time by it.
//!
//! Build: `rustc -O --edition 2021 benches/spawn_floor.rs -o target/bench/spawn_floor`
//! Usage: `spawn_floor [--direct] [--no-capture] FILE [THREADS]`
//!
//! Standard library only, so it builds with `rustc` alone and its figure does not move when
//! the crate's dependencies do.

use std::process::{Command, ExitCode, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

fn main() -> ExitCode {
    let mut direct = false;
    let mut capture = true;
    let mut positional = Vec::new();
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--direct" => direct = true,
            "--no-capture" => capture = false,
            _ => positional.push(arg),
        }
    }
    let Some(path) = positional.first() else {
        eprintln!("usage: spawn_floor [--direct] [--no-capture] FILE [THREADS]");
        return ExitCode::from(2);
    };
    let threads: usize = match positional.get(1).map(|t| t.parse()) {
        None => 2,
        Some(Ok(n)) if n > 0 => n,
        Some(_) => {
            eprintln!("spawn_floor: THREADS must be a positive integer");
            return ExitCode::from(2);
        }
    };
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("spawn_floor: {path}: {e}");
            return ExitCode::from(2);
        }
    };
    let jobs: Arc<Vec<String>> = Arc::new(
        text.lines()
            .filter(|l| !l.trim().is_empty())
            .map(str::to_owned)
            .collect(),
    );
    let next = Arc::new(AtomicUsize::new(0));
    let failed = Arc::new(AtomicUsize::new(0));

    let workers: Vec<_> = (0..threads)
        .map(|_| {
            let (jobs, next, failed) = (Arc::clone(&jobs), Arc::clone(&next), Arc::clone(&failed));
            std::thread::spawn(move || loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(line) = jobs.get(i) else { break };
                if !run(line, direct, capture) {
                    failed.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    for w in workers {
        w.join().expect("worker thread panicked");
    }
    let failed = failed.load(Ordering::Relaxed);
    if failed > 0 {
        eprintln!("spawn_floor: {failed} of {} jobs failed", jobs.len());
        return ExitCode::from(1);
    }
    ExitCode::SUCCESS
}

/// Runs one job to completion; true when it exited 0.
fn run(line: &str, direct: bool, capture: bool) -> bool {
    let mut cmd = if direct {
        let mut words = line.split_whitespace();
        let mut c = Command::new(words.next().unwrap_or("true"));
        c.args(words);
        c
    } else {
        let mut c = Command::new("/bin/sh");
        c.arg("-c").arg(line);
        c
    };
    cmd.stdin(Stdio::null());
    if capture {
        // `output()` pipes stdout and stderr and drains both before waiting.
        matches!(cmd.output(), Ok(o) if o.status.success())
    } else {
        cmd.stdout(Stdio::null()).stderr(Stdio::null());
        matches!(cmd.status(), Ok(s) if s.success())
    }
}
