//! `jobsplit run`: resolve every setting ([`super::run_resolve`]), ask (on a terminal), run this
//! machine's share with live progress, report.

use std::io::IsTerminal as _;
use std::path::Path;

use anyhow::Result;

use super::args::RunArgs;
use super::exit;
use super::progress::Reporter;
use super::run_resolve::resolve;
use super::run_settings::RunSettings;
use super::term::errln;
use super::{signals, JobSource};
use crate::input::Recorded;
use crate::plan::Plan;
use crate::run::notify::Notifier;
use crate::run::{Cancel, CommandExecutor, RunSummary, Runner, WorkerExecutor};

pub(crate) fn run(args: &RunArgs, source: Option<&dyn JobSource>) -> Result<u8> {
    if args.dry_run && source.is_some() {
        return Err(crate::Error::usage(
            "--dry-run shows shell commands, and this program runs its jobs as functions",
        )
        .into());
    }
    let Some(mut settings) = prepare(args, source, true)? else {
        return Ok(exit::OK);
    };
    // A follower catches SIGINT and SIGTERM from its first round on, so that one between
    // rounds is never lost.
    let mut follower = args
        .follow
        .then(super::follow::Follower::start)
        .transpose()?;
    loop {
        let reporter = Reporter::stderr(settings.quiet);
        let summary = execute(&settings, runner_of(&settings), source, &reporter)?;
        let code = report(&settings, &summary, &reporter);
        let Some(follower) = follower.as_mut() else {
            return Ok(code);
        };
        if summary.interrupted || follower.stopped() {
            return Ok(code);
        }
        if !settings.quiet {
            reporter.always(&format!(
                "{}: following {}: waiting for jobs appended to it (Ctrl-C or SIGTERM to stop)",
                super::program::name(),
                crate::text::escape(&settings.work.jobs().path().display().to_string())
            ));
        }
        if !super::follow::wait_for_growth(&settings, follower) {
            return Ok(code);
        }
        settings = match prepare(args, source, false)? {
            Some(s) if !follower.stopped() => s,
            _ => return Ok(code),
        };
    }
}

/// Resolves the run, checks its directory, shows it and asks (when `ask`, on a terminal), then
/// records the new epochs of a job list that grew: the settings to run, or `None` when nothing
/// runs (a dry run, or not confirmed).
fn prepare(
    args: &RunArgs,
    source: Option<&dyn JobSource>,
    ask: bool,
) -> Result<Option<RunSettings>> {
    let mut settings = resolve(args, source)?;
    let mut tries = 0;
    loop {
        if args.follow {
            super::follow::check(&settings, source.is_some())?;
        }
        settings.confirm &= ask;
        // A refusal is the one line a refused run prints; the same runner then runs, without
        // reading the directory a second time.
        runner_of(&settings).check()?;
        if args.dry_run {
            super::dry_run::run(&settings)?;
            return Ok(None);
        }
        if !confirmed(&settings)? {
            errln!("{}: not run", super::program::name());
            return Ok(None);
        }
        // New epochs of a job list that grew are recorded now that nothing refuses the run;
        // when another run recorded one first, the plan is made again from its record.
        match super::run_epochs::record(&settings)? {
            Recorded::Done => return Ok(Some(settings)),
            Recorded::Raced if tries < 5 => tries += 1,
            Recorded::Raced => {
                return Err(crate::Error::locked(
                    "other runs keep recording epochs of this job list: run again",
                )
                .into())
            }
        }
        settings = resolve(args, source)?;
    }
}

fn runner_of(settings: &RunSettings) -> Runner<'_> {
    let runner = Runner::new(
        &settings.work,
        &settings.plan,
        settings.machine,
        &settings.opts,
    );
    match &settings.steal {
        Some(steal) => runner.steal(steal),
        None => runner,
    }
}

/// Shows what will run and, on a terminal without `--yes`, asks.
fn confirmed(s: &RunSettings) -> Result<bool> {
    for warning in &s.warnings {
        errln!(
            "{}: warning: {}",
            super::program::name(),
            crate::text::escape(warning)
        );
    }
    if !s.quiet {
        for note in &s.notes {
            errln!("{}: note: {note}", super::program::name());
        }
        errln!(
            "{}: {}",
            super::program::name(),
            crate::text::escape(&s.headline)
        );
    }
    let interactive = std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
    if !interactive || !s.confirm {
        return Ok(true);
    }
    dialoguer::Confirm::new()
        .with_prompt("Compare the plan digest with the other hosts. Run this share?")
        .default(true)
        .interact()
        .map_err(|e| {
            crate::Error::usage(format!(
                "cannot read the answer ({e}): pass --yes to run without asking"
            ))
            .into()
        })
}

/// Runs the share with progress on `reporter`, stopping in order on SIGINT or SIGTERM.
fn execute(
    s: &RunSettings,
    runner: Runner<'_>,
    source: Option<&dyn JobSource>,
    reporter: &Reporter,
) -> Result<RunSummary> {
    if s.nice != 0 {
        // Every job inherits this process's priority.
        let _ = crate::sys::set_nice(s.nice);
    }
    let cancel = Cancel::new();
    let caught = signals::register()?;
    let summary = std::thread::scope(|scope| {
        let kind = signals::RunKind {
            grace: s.opts.grace,
            library: source.is_some(),
        };
        let signals = caught.watch(
            scope,
            &cancel,
            kind,
            || reporter.running(),
            |line| {
                reporter.always(&format!("{}: {line}", super::program::name()));
            },
        );
        let (stop_tx, stop_rx) = std::sync::mpsc::channel::<()>();
        scope.spawn(move || {
            while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) =
                stop_rx.recv_timeout(s.progress_interval)
            {
                reporter.tick_line();
            }
        });
        let notifier = start_notifier(s)?;
        let events = |e: &crate::run::Event<'_>| {
            reporter.on_event(e);
            if let Some(n) = &notifier {
                n.observe(e);
            }
        };
        let runner = runner.cancel(&cancel).events(&events);
        let result = run_jobs(s, &runner, source);
        drop(stop_tx);
        drop(signals);
        reporter.finish();
        if let (Some(n), Ok(summary)) = (notifier, &result) {
            n.finish(summary);
        }
        Ok::<_, anyhow::Error>(result?)
    })?;
    Ok(summary)
}

/// Starts `--notify`'s command, if one is set; its warnings go to stderr.
fn start_notifier(s: &RunSettings) -> Result<Option<Notifier>> {
    Ok(match &s.notify {
        Some(cmd) => Some(
            Notifier::start(
                cmd,
                &s.machine().name,
                s.opts.dir.clone(),
                Box::new(|w: &str| {
                    errln!(
                        "{}: warning: {}",
                        super::program::name(),
                        crate::text::escape(w)
                    );
                }),
            )
            .map_err(|e| crate::Error::system(format!("cannot start the notifier ({e})")))?,
        ),
        None => None,
    })
}

/// Runs the jobs: the library's own source, else each job in a worker (`--worker`) or as a
/// command of its own.
fn run_jobs(
    s: &RunSettings,
    runner: &Runner<'_>,
    source: Option<&dyn JobSource>,
) -> crate::Result<RunSummary> {
    match (source, &s.worker) {
        (Some(src), _) => src.run(runner),
        (None, Some(worker)) => runner.run(
            &WorkerExecutor::new(&s.work, s.machine_name(), s.opts.dir.clone(), worker)
                .recycle(s.worker_recycle)
                .grace(s.opts.grace),
        ),
        (None, None) => runner.run(
            &CommandExecutor::new(&s.work, s.machine_name(), s.opts.dir.clone(), s.capture)
                .workdir(s.workdir),
        ),
    }
}

/// The summary and the exit code.
fn report(s: &RunSettings, summary: &RunSummary, reporter: &Reporter) -> u8 {
    if let Some(old) = &summary.moved_aside {
        reporter.always(&format!(
            "{}: the earlier output was moved to {}",
            super::program::name(),
            crate::text::escape(&old.display().to_string())
        ));
    }
    if !s.quiet {
        reporter.always(&render_summary(
            &crate::text::escape(s.machine_name()),
            &s.plan,
            summary,
            &s.opts.dir,
        ));
    }
    if summary.interrupted {
        reporter.always(&format!(
            "{}: interrupted; run the same command again to resume",
            super::program::name()
        ));
        exit::INTERRUPTED
    } else if summary.all_ok() {
        exit::OK
    } else {
        exit::JOBS_FAILED
    }
}

fn render_summary(machine: &str, plan: &Plan, s: &RunSummary, dir: &Path) -> String {
    let c = &s.counts;
    let wall = s.wall.as_secs_f64();
    // A line for cancelled jobs only when there are some (`jobsplit cancel`).
    let cancelled = if c.cancelled > 0 {
        format!("\n  {:<12}{:>8}", "cancelled", c.cancelled)
    } else {
        String::new()
    };
    format!(
        "\nmachine {machine}, plan {}\n  {:<12}{:>8}\n  {:<12}{:>8}\n  {:<12}{:>8}\n  {:<12}{:>8}{cancelled}\n  {:<12}{:>8}\n  {:<12}{:>8}\n  wall {wall:.2}s, busy {:.2}s, {:.1} jobs/s\n  results: {}",
        plan.plan_digest().short(),
        "ok", c.ok,
        "failed", c.failed,
        "timeout", c.timeout,
        "interrupted", c.interrupted,
        "skipped", c.skipped,
        "not started", c.not_run,
        s.busy.as_secs_f64(),
        if wall > 0.0 { c.ran() as f64 / wall } else { 0.0 },
        crate::text::escape(&dir.join("results.csv").display().to_string()),
    )
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::time::Duration;

    use super::*;
    use crate::input::{Format, JobList, Machine};
    use crate::model::Tally;

    #[test]
    fn summary_text() {
        let list =
            JobList::from_bytes(Path::new("j.txt"), Format::Lines, b"a\nb\n".to_vec()).unwrap();
        let work = crate::Work::new(list, None, Default::default(), None).unwrap();
        let machines = vec![Machine::new("ws1", 1.0, 1).unwrap()];
        let plan = Plan::new(work.digest(), work.len(), work.seed_bytes(), machines, &[]).unwrap();
        let summary = RunSummary {
            share: 2,
            counts: Tally {
                ok: 1,
                failed: 1,
                ..Tally::default()
            },
            wall: Duration::from_secs(2),
            busy: Duration::from_secs(3),
            interrupted: false,
            moved_aside: None,
        };
        let text = render_summary("ws1", &plan, &summary, Path::new("out/ws1"));
        let text = text.replace(&plan.plan_digest().short(), "DIGEST");
        insta::assert_snapshot!(text, @r"
        machine ws1, plan DIGEST
          ok                 1
          failed             1
          timeout            0
          interrupted        0
          skipped            0
          not started        0
          wall 2.00s, busy 3.00s, 1.0 jobs/s
          results: out/ws1/results.csv
        ");
    }
}
