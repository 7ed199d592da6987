//! The `jobsplit` binary: all of it lives in the library's command-line front end.

fn main() -> std::process::ExitCode {
    jobsplit::cli_main()
}
