//! `jobsplit completions SHELL` and `jobsplit man`: the shell completions and the man page,
//! written to stdout from the same clap definition the program parses with. Both name the
//! running program (a `Splitter` binary completes and documents itself, not `jobsplit`).

use std::io::Write as _;

use anyhow::Result;

use super::args::CompletionsArgs;
use super::exit;
use super::program::{started_as, Program};

/// The clap command, named as the running program: a `Splitter` program's own, else jobsplit's
/// under the name it was started as.
fn command(program: Option<&Program>) -> (clap::Command, String) {
    let name = match program {
        Some(_) => super::program::name().to_owned(),
        None => started_as().unwrap_or_else(|| "jobsplit".to_owned()),
    };
    let cmd = super::program::command(program)
        .bin_name(name.clone())
        .display_name(name.clone());
    (cmd, name)
}

pub(crate) fn run_completions(args: &CompletionsArgs, program: Option<&Program>) -> Result<u8> {
    let (mut cmd, name) = command(program);
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut cmd, name, &mut script);
    write_out(&script)
}

pub(crate) fn run_man(program: Option<&Program>) -> Result<u8> {
    let (cmd, name) = command(program);
    let man = clap_mangen::Man::new(cmd.clone());
    let mut page = Vec::new();
    man.render_title(&mut page)?;
    man.render_name_section(&mut page)?;
    man.render_synopsis_section(&mut page)?;
    man.render_description_section(&mut page)?;
    man.render_options_section(&mut page)?;
    // One page for every command: each subcommand is a section (clap_mangen's own
    // SUBCOMMANDS section would point to pages jobsplit-run(1) ... that are not installed).
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        let full = format!("{name} {}", sub.get_name());
        let sub_man = clap_mangen::Man::new(sub.clone().bin_name(full.clone()));
        let mut section = Vec::new();
        sub_man.render_synopsis_section(&mut section)?;
        sub_man.render_options_section(&mut section)?;
        sub_man.render_extra_section(&mut section)?;
        writeln!(page, ".SH \"{}\"", roff_text(&full.to_uppercase()))?;
        if let Some(about) = sub.get_long_about().or(sub.get_about()) {
            writeln!(page, "{}", roff_text(&about.to_string()))?;
        }
        // Their headings become subsections of this one.
        for line in String::from_utf8_lossy(&section).lines() {
            match line.strip_prefix(".SH ") {
                Some("EXTRA") => writeln!(page, ".SS EXAMPLES")?,
                Some(title) => writeln!(page, ".SS {title}")?,
                None => writeln!(page, "{line}")?,
            }
        }
    }
    let mut extra = Vec::new();
    man.render_extra_section(&mut extra)?;
    for line in String::from_utf8_lossy(&extra).lines() {
        match line {
            ".SH EXTRA" => writeln!(page, ".SH EXAMPLES")?,
            _ => writeln!(page, "{line}")?,
        }
    }
    man.render_version_section(&mut page)?;
    write_out(&page)
}

/// Plain text for roff: a leading `.` or `'` would be a request, `\` an escape, `-` a
/// hyphen where a minus is meant.
fn roff_text(text: &str) -> String {
    let escaped = text.replace('\\', "\\e").replace('-', "\\-");
    escaped
        .lines()
        .map(|line| {
            if line.starts_with('.') || line.starts_with('\'') {
                format!("\\&{line}")
            } else {
                line.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Writes `bytes` to stdout; a closed pipe (`| head`) is success, as everywhere.
fn write_out(bytes: &[u8]) -> Result<u8> {
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Ok(()) => Ok(exit::OK),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(exit::OK),
        Err(e) => Err(e.into()),
    }
}
