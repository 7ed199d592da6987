//! `jobsplit status`: how far every host has got (`--watch` refreshes it: [`super::watch`]).

use anyhow::Result;

use super::args::StatusArgs;
use super::exit;
use super::term::{out, outln};
use crate::merge::status;

/// The hosts' status; before any host has started (no manifest under the dirs), the study's
/// plan (its config and flags, as `plan` reads them) with every machine `planned`, or the error
/// saying how to get that.
pub(crate) fn status_or_plan(args: &StatusArgs) -> Result<crate::merge::StatusReport> {
    match status(&args.dirs) {
        Ok(r) => Ok(r),
        Err(_) if crate::merge::nothing_started(&args.dirs) => {
            let given = args.input.config.is_some() || args.input.machines.is_some();
            let study_here = given || std::path::Path::new(crate::input::DEFAULT_CONFIG).is_file();
            if !study_here {
                let dirs: Vec<String> = args.dirs.iter().map(|d| d.display().to_string()).collect();
                let what = if args.dirs.iter().any(|d| !d.exists()) {
                    "not a directory (yet): no host has started, or the path is wrong"
                } else {
                    "no host has started yet (no manifest.json here or below)"
                };
                return Err(crate::Error::usage(format!(
                    "{}: {what}: pass the study's config (status {} --config FILE) to list the planned machines",
                    dirs.join(", "),
                    dirs.join(" ")
                ))
                .into());
            }
            let study =
                super::resolve::study_with(&args.input, None, &[], None, Default::default())?;
            Ok(crate::merge::planned_status(&study.plan))
        }
        Err(e) => Err(e.into()),
    }
}

pub(crate) fn run_status(args: &StatusArgs) -> Result<u8> {
    if args.view.remote && args.watch {
        return Err(crate::Error::usage(
            "status --remote looks once: `jobsplit watch` follows a launched study",
        )
        .into());
    }
    if args.view.remote {
        // A launched study: each host's manifest and status.json brought here first.
        let (out, code) = super::remote_view::fetch(
            &args.view,
            &args.input,
            &args.dirs,
            super::remote_view::STATUS_FILES,
        )?;
        let mut here = StatusArgs {
            dirs: args.dirs.clone(),
            input: args.input.clone(),
            json: args.json,
            watch: false,
            interval: args.interval,
            count: args.count,
            view: args.view.clone(),
        };
        if here.dirs.is_empty() {
            here.dirs.push(out);
        }
        here.view.remote = false;
        return Ok(run_status(&here)?.max(code));
    }
    if args.watch {
        return super::watch::run_watch(args);
    }
    let report = status_or_plan(args)?;
    if args.json {
        outln!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        out!("{}", report.render_table());
        super::remote_cmd::show_payloads(&args.dirs);
    }
    Ok(exit::OK)
}
