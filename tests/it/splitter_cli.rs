//! A `Splitter` binary speaks in its own name (issue 13): its help, examples, error prefixes and
//! progress lines name the program, not jobsplit, and `init` (which writes a job list and a
//! command template for the jobsplit binary) is hidden and refused.

use std::path::Path;
use std::process::Command;

use crate::harness::{build_example, text, Study};

const NAME: &str = "monte_carlo_pi";

fn pi(dir: &Path, args: &[&str]) -> (Option<i32>, String, String) {
    let mut cmd = Command::new(build_example(NAME));
    crate::harness::clean_env(&mut cmd);
    let out = cmd.current_dir(dir).args(args).output().unwrap();
    (out.status.code(), text(&out.stdout), text(&out.stderr))
}

/// The words "jobsplit" in `help` other than the config file's name.
fn jobsplit_mentions(help: &str) -> Vec<&str> {
    help.lines()
        .filter(|l| l.replace("jobsplit.toml", "").contains("jobsplit"))
        .collect()
}

#[test]
fn the_help_names_the_program_and_hides_what_does_not_apply() {
    let s = Study::new();
    let (code, help, _) = pi(s.path(), &["--help"]);
    assert_eq!(code, Some(0));
    assert!(help.contains(&format!("Usage: {NAME} <COMMAND>")), "{help}");
    assert!(
        help.contains(&format!("  {NAME} run --machine ws1")),
        "{help}"
    );
    assert!(
        !help.contains("init"),
        "init is for the jobsplit binary:\n{help}"
    );
    assert_eq!(jobsplit_mentions(&help), Vec::<&str>::new(), "{help}");
    for sub in ["plan", "run", "merge", "status", "completions"] {
        let (code, help, _) = pi(s.path(), &[sub, "--help"]);
        assert_eq!(code, Some(0), "{sub}");
        assert_eq!(
            jobsplit_mentions(&help),
            Vec::<&str>::new(),
            "{sub}:\n{help}"
        );
        for flag in ["--jobs", "--cmd", "--format", "--worker ", "--capture"] {
            assert!(!help.contains(flag), "{sub} --help shows {flag}:\n{help}");
        }
    }
    let (code, version, _) = pi(s.path(), &["--version"]);
    assert_eq!(code, Some(0));
    assert!(version.starts_with(NAME), "{version}");
}

#[test]
fn errors_and_init_speak_in_the_programs_name() {
    let s = Study::new();
    let (code, out, err) = pi(s.path(), &["init", "x"]);
    assert_eq!(code, Some(2), "{out}{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.starts_with(&format!("{NAME}: error: ")), "{err}");
    assert!(err.contains("supplies its own jobs"), "{err}");
    assert!(!s.path().join("x").exists(), "init wrote files");
    let (code, _, err) = pi(s.path(), &["plan", "--jobs", "jobs.txt"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.starts_with(&format!("{NAME}: error: ")), "{err}");
    let (code, _, err) = pi(s.path(), &["plan", "--no-such-flag"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.starts_with(&format!("{NAME}: error: ")), "{err}");
    assert!(
        err.contains(&format!("(see `{NAME} plan --help`)")),
        "{err}"
    );
}
