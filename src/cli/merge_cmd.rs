//! `jobsplit merge`.

use super::term::{errln, out, outln};
use anyhow::Result;

use super::args::MergeArgs;
use super::exit;
use crate::merge::{merge, MergeOptions};

pub(crate) fn run_merge(args: &MergeArgs) -> Result<u8> {
    let report = merge(
        &args.dirs,
        &MergeOptions {
            out: args.out.clone(),
            write_machines: args.write_machines.clone(),
            collect_files: !args.no_files,
        },
    )?;
    for w in &report.warnings {
        errln!(
            "{}: warning: {}",
            super::program::name(),
            crate::text::escape(w)
        );
    }
    if let Some(w) = crate::remote::payload_warning(&args.dirs) {
        errln!(
            "{}: warning: {}",
            super::program::name(),
            crate::text::escape(&w)
        );
    }
    for (index, first, other) in report.duplicates.iter().take(10) {
        errln!(
            "{}: job {index} is ok in {} and again on machine {}",
            super::program::name(),
            crate::text::escape(first),
            crate::text::escape(other)
        );
    }
    if args.json {
        outln!("{}", serde_json::to_string_pretty(&report.summary)?);
    } else {
        out!("{}", report.render_table());
        outln!(
            "wrote {0}/results.csv, {0}/log.gz ({1} lines), {0}/summary.json, {0}/missing.txt ({2} jobs)",
            args.out.display(),
            report.log_lines,
            report.summary.missing
        );
        if let Some(f) = report.summary.files.as_ref().filter(|f| f.jobs > 0) {
            outln!("{}", collected_line(f, &args.out));
        }
        if let Some(p) = &args.write_machines {
            outln!("wrote calibrated machines to {}", p.display());
        }
        if !report.cancelled.is_empty() {
            let c = report.summary.counts.cancelled;
            let shown: Vec<String> = report.cancelled.iter().map(u64::to_string).collect();
            outln!(
                "cancelled by the user: {} {}{} (not missing; `{} run --rerun LIST` on their machine runs them again)",
                if c == 1 { "job" } else { "jobs" },
                shown.join(", "),
                if c > shown.len() as u64 { ", ..." } else { "" },
                super::program::name()
            );
        }
        if !report.all_ok() {
            outln!(
                "to finish the missing jobs: {} run --rescue {} (with the same inputs, on any machines: drop dead ones from the machines file; preview with `plan --rescue`)",
                super::program::name(),
                args.out.display()
            );
        }
    }
    Ok(if report.all_ok() {
        exit::OK
    } else {
        exit::JOBS_FAILED
    })
}

/// The line that says what merge collected of the jobs' files.
fn collected_line(f: &crate::merge::FilesSummary, out: &std::path::Path) -> String {
    format!(
        "collected {} file{} ({}) of {} job{} into {}/jobs/ ({} linked, {} copied{}{})",
        f.files,
        if f.files == 1 { "" } else { "s" },
        super::progress::bytes(f.bytes),
        f.jobs,
        if f.jobs == 1 { "" } else { "s" },
        out.display(),
        f.linked,
        f.copied,
        if f.logs > 0 {
            format!(", {} per-job logs", f.logs)
        } else {
            String::new()
        },
        if f.symlinks > 0 {
            format!(", {} symbolic links", f.symlinks)
        } else {
            String::new()
        },
    )
}
