//! The command-line front end: the one part of the crate that owns the terminal (prints,
//! prompts, progress bars, exit codes). The `jobsplit` binary and `Splitter::main` call it.

mod args;
mod exit;
mod init;
mod plan_cmd;
mod resolve;

use std::process::ExitCode;

use clap::Parser as _;

use args::{Cli, Command};

/// Runs the `jobsplit` command line and returns its exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Plan(a) => plan_cmd::run(a),
        Command::Init(a) => init::run(a),
    };
    ExitCode::from(match result {
        Ok(code) => code,
        Err(e) => report(&e),
    })
}

/// Prints an error as one line and picks its exit code. A closed stdout (`| head`) is success.
fn report(e: &anyhow::Error) -> u8 {
    if let Some(io) = e.downcast_ref::<std::io::Error>() {
        if io.kind() == std::io::ErrorKind::BrokenPipe {
            return exit::OK;
        }
    }
    let code = match e.downcast_ref::<crate::Error>() {
        Some(crate::Error::Interrupted) => exit::INTERRUPTED,
        _ => exit::BAD_INPUT,
    };
    let chain: Vec<String> = e.chain().map(ToString::to_string).collect();
    eprintln!("jobsplit: error: {}", chain.join(": "));
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
