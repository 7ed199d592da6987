//! `jobsplit plan`: the plan as a table for people or JSON for scripts.

use std::io::{self, Write};

use anyhow::Result;

use super::args::PlanArgs;
use super::resolve;
use super::run_epochs::{grown_study, RUN_GROWS};
use crate::plan::{Plan, ALGORITHM};

pub(crate) fn run(args: &PlanArgs, source: Option<&dyn super::JobSource>) -> Result<u8> {
    let machines = args.shard_count.map(resolve::shard_machines).transpose()?;
    let study = match &args.rescue {
        Some(dir) => {
            let r = resolve::rescue_study(
                &args.input,
                machines.clone(),
                dir,
                source,
                resolve::DROP_DEAD,
            )?;
            let name = super::program::name();
            for note in &r.notes {
                super::term::errln!("{name}: note: {}", crate::text::escape(note));
            }
            for warning in &r.warnings {
                super::term::errln!("{name}: warning: {}", crate::text::escape(warning));
            }
            r.study
        }
        None => resolve::study_with(
            &args.input,
            machines.clone(),
            &[],
            source,
            Default::default(),
        )?,
    };
    // What the next run would record (nothing for a rescue: it plans the merged study's epochs).
    let next = match &args.rescue {
        None => as_run_would(args, machines, source, &study)?,
        Some(_) => None,
    };
    let stdout = io::stdout().lock();
    let mut out = io::BufWriter::with_capacity(1 << 16, stdout);
    if let Some(name) = &args.commands {
        if source.is_some() {
            return Err(crate::Error::usage(
                "--commands shows shell commands, and this program runs its jobs as functions",
            )
            .into());
        }
        let plan = &study.plan;
        let Some(m) = plan.machines().iter().position(|m| &m.name == name) else {
            let names: Vec<&str> = plan.machines().iter().map(|m| m.name.as_str()).collect();
            return Err(crate::Error::usage(format!(
                "--commands {}: no such machine in the plan (machines: {})",
                crate::text::escape(name),
                crate::text::escape(&names.join(", "))
            ))
            .into());
        };
        let share = plan.share(m);
        let threads = (plan.machines()[m].cores as usize).clamp(1, share.len().max(1));
        super::dry_run::write_commands(&study.work, share.iter().copied(), threads, &mut out)?;
    } else if args.json {
        pending_note(&study, next.as_ref());
        write_json(&study.plan, &mut out)?;
    } else {
        pending_note(&study, next.as_ref());
        let mut table = render_table(&study.plan);
        if let Some(next) = &next {
            table += &render_unrecorded(next);
        }
        out.write_all(table.as_bytes())?;
    }
    out.flush()?;
    Ok(super::exit::OK)
}

/// The study as `jobsplit run` would plan it now, when that differs from the recorded one:
/// the finished jobs after the last recorded epoch as a new epoch and, for a list with no
/// epochs file, epoch 0 from an earlier run's output (run's own rule, [`RUN_GROWS`] and
/// [`grown_study`]). Nothing is written: only a run records epochs. The list is read again
/// only when the run's study can differ: a list read once (a pipe) plans as a file does.
fn as_run_would(
    args: &PlanArgs,
    machines: Option<Vec<crate::input::Machine>>,
    source: Option<&dyn super::JobSource>,
    study: &resolve::Study,
) -> Result<Option<resolve::Study>> {
    let Some(growth) = &study.growth else {
        return Ok(None);
    };
    // With no job after the last epoch, RUN_GROWS reads the list as `study` was read.
    let mut next = match growth.pending {
        0 => None,
        _ => Some(resolve::study_with(
            &args.input,
            machines.clone(),
            &[],
            source,
            RUN_GROWS,
        )?),
    };
    let run = next.as_ref().unwrap_or(study);
    if run.plan.epochs().len() == 1 {
        // No epochs file: an earlier run in the output directory may show where epoch 0 ended.
        let out = run.config.run.out.clone();
        let names: Vec<String> = run.plan.machines().iter().map(|m| m.name.clone()).collect();
        for name in names {
            let run = next.as_ref().unwrap_or(study);
            let dir = out.join(name);
            if let Some(grown) = grown_study(&args.input, machines.clone(), source, run, &dir)? {
                next = Some(grown);
            }
        }
    }
    let unrecorded = |s: &resolve::Study| {
        s.growth
            .as_ref()
            .is_some_and(|g| g.recorded < g.epochs.len())
    };
    Ok(next.filter(unrecorded))
}

/// Says on stderr when jobs after the list's last epoch are not in the plan yet, and which
/// epochs the next run would record for them (`next`).
fn pending_note(study: &resolve::Study, next: Option<&resolve::Study>) {
    let name = super::program::name();
    if let Some(next) = next {
        let g = next.growth.as_ref().expect("a grown study has its growth");
        let epochs: Vec<String> = g
            .epochs
            .iter()
            .enumerate()
            .skip(g.recorded)
            .map(|(e, r)| match r.span.jobs {
                1 => format!("epoch {e} (job {})", r.span.first),
                _ => format!("epoch {e} (jobs {} to {})", r.span.first, r.span.end() - 1),
            })
            .collect();
        super::term::errln!(
            "{name}: note: not yet recorded: the next run records {} of the job list (plan {} with {})",
            epochs.join(" and "),
            next.plan.plan_digest().short(),
            if epochs.len() == 1 { "it" } else { "them" }
        );
    } else if let Some(g) = study.growth.as_ref().filter(|g| g.pending > 0) {
        super::term::errln!(
            "{name}: note: the last {} of the job list {} in no epoch yet: the next run records {}",
            super::progress::count(g.pending, "job", "jobs"),
            if g.pending == 1 { "is" } else { "are" },
            if g.pending == 1 { "it" } else { "them" },
        );
    }
}

/// The epochs the next run would record, below the table: each with its jobs, plan digest and
/// every machine's share of it, marked as not yet recorded.
fn render_unrecorded(next: &resolve::Study) -> String {
    let g = next.growth.as_ref().expect("a grown study has its growth");
    let plan = &next.plan;
    let mut s = format!(
        "\nnot yet recorded (the next run records it, plan {} with it):\n",
        plan.plan_digest().short()
    );
    s += &format!(
        "{:<5}  {:>9}  {:>9}  plan      shares\n",
        "epoch", "first", "jobs"
    );
    for (e, epoch) in plan.epochs().iter().enumerate().skip(g.recorded) {
        let shares: Vec<String> = plan
            .machines()
            .iter()
            .zip(&epoch.shares)
            .map(|(m, c)| format!("{} {c}", crate::text::escape(&m.name)))
            .collect();
        s += &format!(
            "{e:<5}  {:>9}  {:>9}  {}  {}\n",
            epoch.span.first,
            epoch.span.jobs,
            epoch.plan_digest.short(),
            shares.join(", ")
        );
    }
    s
}

/// The plan as the exact JSON documented in the README, streamed (a 10M-job plan is never
/// built as a JSON tree).
pub(crate) fn write_json(plan: &Plan, out: &mut impl Write) -> io::Result<()> {
    write!(
        out,
        r#"{{"algorithm":"{ALGORITHM}","work_digest":"{}","plan_digest":"{}","jobs":{}"#,
        plan.work_digest(),
        plan.plan_digest(),
        plan.jobs()
    )?;
    if plan.excluded() > 0 {
        write!(out, r#","excluded":{}"#, plan.excluded())?;
    }
    if plan.epochs().len() > 1 {
        write_epochs_json(plan, out)?;
    }
    out.write_all(br#","machines":["#)?;
    let mut buf = itoa::Buffer::new();
    for (j, m) in plan.machines().iter().enumerate() {
        if j > 0 {
            out.write_all(b",")?;
        }
        out.write_all(br#"{"name":"#)?;
        serde_json::to_writer(&mut *out, &m.name)?;
        write!(
            out,
            r#","weight":{},"cores":{},"jobs":["#,
            m.weight, m.cores
        )?;
        for (n, i) in plan.share(j).iter().enumerate() {
            if n > 0 {
                out.write_all(b",")?;
            }
            out.write_all(buf.format(*i).as_bytes())?;
        }
        out.write_all(b"]}")?;
    }
    out.write_all(b"]}\n")
}

/// `,"epochs":[...]` of a study that grew (docs/split-v1.md section 7.3).
fn write_epochs_json(plan: &Plan, out: &mut impl Write) -> io::Result<()> {
    out.write_all(br#","epochs":["#)?;
    for (e, epoch) in plan.epochs().iter().enumerate() {
        if e > 0 {
            out.write_all(b",")?;
        }
        write!(
            out,
            r#"{{"first":{},"jobs":{}"#,
            epoch.span.first, epoch.span.jobs
        )?;
        if epoch.excluded > 0 {
            write!(out, r#","excluded":{}"#, epoch.excluded)?;
        }
        let shares: Vec<String> = epoch.shares.iter().map(u64::to_string).collect();
        write!(
            out,
            r#","work_digest":"{}","plan_digest":"{}","shares":[{}]}}"#,
            epoch.work_digest,
            epoch.plan_digest,
            shares.join(",")
        )?;
    }
    out.write_all(b"]")
}

/// The epochs of a study that grew, one row each (nothing for one epoch).
fn render_epochs(plan: &Plan) -> String {
    if plan.epochs().len() < 2 {
        return String::new();
    }
    let mut s = format!("{:<5}  {:>9}  {:>9}  plan\n", "epoch", "first", "jobs");
    for (e, epoch) in plan.epochs().iter().enumerate() {
        s += &format!(
            "{e:<5}  {:>9}  {:>9}  {}\n",
            epoch.span.first,
            epoch.span.jobs,
            epoch.plan_digest.short()
        );
    }
    s
}

/// The plan as a table: one row per machine, with the short plan digest to compare by eye.
pub(crate) fn render_table(plan: &Plan) -> String {
    let planned = plan.jobs() - plan.excluded();
    let mut s = format!(
        "plan {}  ({ALGORITHM}, {} jobs{}{}, work {})\n",
        plan.plan_digest().short(),
        plan.jobs(),
        match plan.epochs().len() {
            1 => String::new(),
            n => format!(" in {n} epochs"),
        },
        if plan.excluded() > 0 {
            format!(", {} excluded", plan.excluded())
        } else {
            String::new()
        },
        plan.work_digest().short(),
    );
    let width = plan
        .machines()
        .iter()
        .map(|m| crate::text::escape(&m.name).chars().count())
        .max()
        .unwrap_or(0)
        .clamp("machine".len(), crate::text::MAX_COLUMN);
    s += &render_epochs(plan);
    s += &format!(
        "{:<width$}  {:>8}  {:>6}  {:>7}  {:>9}\n",
        "machine", "weight", "cores", "share", "jobs"
    );
    for (j, m) in plan.machines().iter().enumerate() {
        let jobs = plan.share(j).len();
        let share = if planned == 0 {
            0.0
        } else {
            100.0 * jobs as f64 / planned as f64
        };
        s += &format!(
            "{:<width$}  {:>8}  {:>6}  {:>6.1}%  {:>9}\n",
            crate::text::escape(&m.name),
            m.weight.to_string(),
            m.cores,
            share,
            jobs
        );
    }
    s
}
