//! `jobsplit report DIR -o report.html` / `--markdown`: the report of a run (see
//! [`crate::report`]), written whole through a temporary file, so a refused or failed report
//! leaves nothing behind.

use std::io::Write as _;

use anyhow::Result;

use super::args::ReportArgs;
use super::exit;
use super::term::errln;

pub(crate) fn run(args: &ReportArgs) -> Result<u8> {
    if !args.markdown && args.out.is_none() {
        return Err(crate::Error::usage(
            "report writes HTML to a file: pass -o report.html (or --markdown for stdout)",
        )
        .into());
    }
    if let Some(out) = &args.out {
        if out.is_dir() {
            return Err(crate::Error::invalid(
                Some(out),
                None,
                "is a directory: pass a file name to -o, such as report.html",
            )
            .into());
        }
    }
    let mut code = exit::OK;
    if args.view.remote {
        // A launched study: each host's manifest, status.json and results.csv brought here.
        let input = super::args::InputArgs::of_config(args.config.clone());
        code = super::remote_view::fetch(
            &args.view,
            &input,
            std::slice::from_ref(&args.dir),
            super::remote_view::REPORT_FILES,
        )?
        .1;
    }
    let report = crate::report::gather(&args.dir)?;
    for w in &report.warnings {
        errln!("warning: {}", crate::text::escape(w));
    }
    let text = if args.markdown {
        crate::report::markdown::render(&report)
    } else {
        crate::report::html::render(&report)
    };
    match &args.out {
        Some(out) => crate::output::write_atomic(out, text.as_bytes())?,
        None => {
            let stdout = std::io::stdout();
            let mut o = stdout.lock();
            o.write_all(text.as_bytes())?;
            o.flush()?;
        }
    }
    Ok(code)
}
