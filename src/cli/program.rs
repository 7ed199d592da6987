//! Whose command line this is: the `jobsplit` binary's, or a program's own built on `Splitter`,
//! which speaks in its own name (help, examples, `NAME: error:` prefixes) and hides what only
//! the jobsplit binary can use (`init`, a job list file, a command template, workers).

use std::path::Path;
use std::sync::OnceLock;

use clap::CommandFactory as _;

use super::args::Cli;

/// How a `Splitter` program presents itself.
#[derive(Debug, Clone, Default)]
pub(crate) struct Program {
    /// Its name [default: the file name it was started as].
    pub(crate) name: Option<String>,
    /// One line on what it does.
    pub(crate) about: Option<String>,
    /// Its version.
    pub(crate) version: Option<String>,
}

/// The name every line this process writes starts with.
static NAME: OnceLock<String> = OnceLock::new();

/// A `Splitter` program's own version (clap keeps names and versions as `&'static str`).
static VERSION: OnceLock<String> = OnceLock::new();

/// The running program's name: `jobsplit`, or the `Splitter` program's.
pub(crate) fn name() -> &'static str {
    NAME.get().map_or("jobsplit", String::as_str)
}

/// The file name the process was started as, if it has one.
pub(crate) fn started_as() -> Option<String> {
    std::env::args_os()
        .next()
        .as_deref()
        .and_then(|arg0| Path::new(arg0).file_name())
        .map(|name| name.to_string_lossy().into_owned())
        .filter(|name| !name.is_empty())
}

/// Records a `Splitter` program's name for the rest of the process (the first call wins).
pub(crate) fn set(program: &Program) {
    if let Some(name) = program.name.clone().or_else(started_as) {
        let _ = NAME.set(name);
    }
    if let Some(version) = &program.version {
        let _ = VERSION.set(version.clone());
    }
}

/// The clap command: jobsplit's, or reworded for a `Splitter` program (see [`set`]).
pub(crate) fn command(program: Option<&Program>) -> clap::Command {
    let Some(program) = program else {
        return Cli::command();
    };
    let name = name();
    let about = program.about.clone().unwrap_or_else(|| {
        format!("Run {name}'s jobs split across unlike machines, with no server.")
    });
    let mut cmd = Cli::command()
        .name(name)
        .bin_name(name)
        .display_name(name)
        .about(about.clone())
        .long_about(format!(
            "{about}\n\nCopy the same program, config and machines.json to every host. Each host \
             computes the same plan (shown by its digest) and runs its own share."
        ))
        .after_help(format!(
            "Examples:\n  {name} plan\n  {name} run --machine ws1\n  {name} merge out --out merged\n  {name} status out"
        ))
        .mut_args(|a| reword_arg(a, name))
        .mut_subcommands(|sub| {
            // `init` is the jobsplit binary's; the remote commands are not yet tested for a
            // program's own binary; hidden ones (remote-serve) stay hidden.
            let hide = matches!(
                sub.get_name(),
                "init" | "launch" | "watch" | "collect" | "stop" | "on" | "clean"
            ) || sub.is_hide_set();
            let examples = sub
                .get_after_help()
                .map(|h| examples_for(&h.to_string(), name));
            let sub = sub.hide(hide).mut_args(|a| reword_arg(a, name));
            match examples {
                Some(text) => sub.after_help(text),
                None => sub,
            }
        });
    if let (Some(_), Some(version)) = (&program.version, VERSION.get()) {
        cmd = cmd.version(version.as_str());
    }
    cmd
}

/// Flags for the jobsplit binary's own jobs: a program supplies its jobs and runs them itself.
const HIDDEN: [&str; 7] = [
    "jobs",
    "format",
    "command",
    "worker",
    "worker_recycle",
    "capture",
    "workdir",
];

fn reword_arg(arg: clap::Arg, name: &str) -> clap::Arg {
    let hide = HIDDEN.contains(&arg.get_id().as_str());
    let help = arg.get_help().map(|h| rename(&h.to_string(), name));
    let hidden = hide || arg.is_hide_set();
    let arg = arg.hide(hidden);
    match help {
        Some(text) => arg.help(text),
        None => arg,
    }
}

/// jobsplit's examples in `name`'s words, without those that pass a job list.
fn examples_for(text: &str, name: &str) -> String {
    rename(text, name)
        .lines()
        .filter(|l| !l.contains("--jobs"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// `text` with the program's name for jobsplit's (the config file keeps its name).
fn rename(text: &str, name: &str) -> String {
    text.replace("jobsplit.toml", "\u{0}")
        .replace("jobsplit", name)
        .replace('\u{0}', "jobsplit.toml")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_programs_command_is_valid_and_keeps_the_config_name() {
        command(Some(&Program::default())).debug_assert();
        assert_eq!(
            rename("jobsplit run -c jobsplit.toml; see `jobsplit merge`", "pi"),
            "pi run -c jobsplit.toml; see `pi merge`"
        );
    }
}
