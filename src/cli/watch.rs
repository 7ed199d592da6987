//! `jobsplit status --watch`: the status again every `--interval` until every host of the plan
//! has ended (or `--count` rounds). On a terminal the table is redrawn in place; otherwise each
//! round is printed as plain lines (a table and a blank line, or with `--json` one compact
//! object a line), so a log or a pipe reads it.

use std::io::IsTerminal as _;

use anyhow::Result;

use super::args::StatusArgs;
use super::exit;
use super::term::{out, outln};

/// Clears the screen and moves the cursor home.
const CLEAR: &str = "\x1b[H\x1b[2J";

pub(crate) fn run_watch(args: &StatusArgs) -> Result<u8> {
    let tty = std::io::stdout().is_terminal() && !args.json;
    let mut round = 0u64;
    loop {
        round += 1;
        let report = super::status_cmd::status_or_plan(args)?;
        if args.json {
            outln!("{}", serde_json::to_string(&report)?);
        } else if tty {
            out!("{CLEAR}{}", report.render_table());
        } else {
            out!("{}\n", report.render_table());
        }
        if report.ended || args.count.is_some_and(|n| round >= n) {
            return Ok(exit::OK);
        }
        std::thread::sleep(args.interval);
    }
}
