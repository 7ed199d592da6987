//! The command-line front end: the one part of the crate that owns the terminal (prints,
//! prompts, progress bars, exit codes). The `jobsplit` binary and `Splitter::main` call it.

mod arg_values;
mod args;
mod batch_scripts;
mod cancel_cmd;
mod completions;
mod dry_run;
mod exit;
mod follow;
mod init;
mod job_source;
mod log_cmd;
mod log_format;
mod merge_cmd;
mod plan_cmd;
mod program;
mod progress;
mod remote_args;
mod remote_cmd;
mod remote_epochs;
mod remote_fence;
mod remote_launch;
mod remote_rescue;
mod remote_steal;
mod remote_study;
mod remote_view;
mod remote_watch;
mod report_cmd;
mod resolve;
mod run_args;
mod run_checks;
mod run_cmd;
mod run_epochs;
mod run_resolve;
mod run_settings;
mod sge_cmd;
mod signals;
mod slurm_cmd;
mod status_cmd;
mod term;
mod watch;

use std::process::ExitCode;

use clap::FromArgMatches as _;

use args::{Cli, Command};
pub(crate) use job_source::JobSource;
pub(crate) use program::Program;
use term::errln;

/// Runs the `jobsplit` command line and returns its exit code.
pub fn main() -> ExitCode {
    main_with(None)
}

pub(crate) fn main_with(source: Option<&dyn JobSource>) -> ExitCode {
    ExitCode::from(main_with_code(source))
}

/// Runs the command line (with a program's own jobs, if any) and returns the exit code.
pub(crate) fn main_with_code(source: Option<&dyn JobSource>) -> u8 {
    let program = source.map(JobSource::program);
    if let Some(p) = &program {
        program::set(p);
    }
    let mut cmd = program::command(program.as_ref());
    let parsed = cmd
        .clone()
        .try_get_matches()
        .and_then(|m| Cli::from_arg_matches(&m));
    let cli = match parsed {
        Ok(cli) => cli,
        Err(e) => return usage_error(&e.format(&mut cmd)),
    };
    // A panic (a bug) that gets this far is one line and exit code 4, never a hang or 101.
    let dispatched = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        dispatch(&cli, source, program.as_ref())
    }));
    let result = dispatched.unwrap_or_else(|payload| {
        Err(crate::Error::Internal {
            message: crate::run::panic_message(payload.as_ref()),
        }
        .into())
    });
    match result {
        Ok(code) => code,
        Err(e) => report(&e),
    }
}

/// Runs the command `cli` names.
fn dispatch(
    cli: &Cli,
    source: Option<&dyn JobSource>,
    program: Option<&Program>,
) -> anyhow::Result<u8> {
    match &cli.command {
        Command::Init(_) if source.is_some() => Err(crate::Error::usage(format!(
            "`init` writes a job list and a command template for the jobsplit binary, and {} \
             supplies its own jobs: write its jobsplit.toml ([params], seed) and machines.json \
             yourself",
            program::name()
        ))
        .into()),
        Command::Plan(a) => plan_cmd::run(a, source),
        Command::Run(a) => run_cmd::run(a, source),
        Command::Merge(a) => merge_cmd::run_merge(a),
        // `status --remote --watch` is refused by run_status.
        Command::Status(a) if a.watch && !a.view.remote => watch::run_watch(a),
        Command::Status(a) => status_cmd::run_status(a),
        Command::Log(a) => log_cmd::run(a),
        Command::Cancel(a) => cancel_cmd::run(a),
        Command::Report(a) => report_cmd::run(a),
        Command::SlurmScript(a) => slurm_cmd::run(a),
        Command::SgeScript(a) => sge_cmd::run(a),
        Command::Launch(a) => remote_launch::launch(a),
        Command::Watch(a) => remote_watch::watch(a),
        Command::Collect(a) => remote_cmd::collect(a),
        Command::Stop(a) => remote_cmd::stop(a),
        Command::On(a) => remote_cmd::on(a),
        Command::Clean(a) => remote_cmd::clean(a),
        Command::RemoteServe(a) => remote_cmd::serve(a),
        Command::Init(a) => init::run(a),
        Command::Completions(a) => completions::run_completions(a, program),
        Command::Man => completions::run_man(program),
    }
}

/// A command line clap refuses: `--help` and `--version` print as clap prints them; a mistake
/// is one line (clap's first paragraph, with the way to `--help`), exit 2.
fn usage_error(e: &clap::Error) -> u8 {
    use clap::error::ErrorKind;
    if matches!(
        e.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        let _ = e.print();
        return if e.use_stderr() {
            exit::BAD_INPUT
        } else {
            exit::OK
        };
    }
    // clap's first paragraph says what is wrong (a missing argument on its next lines); the
    // usage and tips after it are for --help.
    let rendered = e.render().to_string();
    let first: Vec<&str> = rendered
        .lines()
        .skip_while(|l| l.trim().is_empty())
        .take_while(|l| !l.trim().is_empty())
        .map(str::trim)
        .collect();
    let first = first.join(" ");
    let first = first.strip_prefix("error: ").unwrap_or(&first);
    let command = std::env::args_os().nth(1);
    let command = command.as_ref().map(|c| c.to_string_lossy());
    let help = match command.filter(|c| !c.starts_with('-')) {
        Some(cmd) => format!("{} {} --help", program::name(), crate::text::escape(&cmd)),
        None => format!("{} --help", program::name()),
    };
    errln!(
        "{}: error: {} (see `{help}`)",
        program::name(),
        crate::text::escape(first.trim_end())
    );
    exit::BAD_INPUT
}

/// Prints an error as one line and picks its exit code. A closed stdout (`| head`) is success.
fn report(e: &anyhow::Error) -> u8 {
    if let Some(io) = e.downcast_ref::<std::io::Error>() {
        if io.kind() == std::io::ErrorKind::BrokenPipe {
            return exit::OK;
        }
    }
    let code = exit::of(e);
    // Context first, then the error itself; a crate error already names its cause, so the
    // chain stops there instead of repeating the operating system's words.
    let mut chain: Vec<String> = Vec::new();
    for cause in e.chain() {
        chain.push(cause.to_string());
        if cause.downcast_ref::<crate::Error>().is_some() {
            break;
        }
    }
    // A value from a file may hold a line break or an escape sequence: one visible line.
    errln!(
        "{}: error: {}",
        program::name(),
        crate::text::escape(&chain.join(": "))
    );
    code
}

#[cfg(test)]
mod tests {
    #[test]
    fn cli_definition_is_valid() {
        use clap::CommandFactory as _;
        super::Cli::command().debug_assert();
    }
}
