//! Tests of `config.rs`.

use super::*;
use crate::input::MAX_DURATION;

fn parse(text: &str) -> Result<Config> {
    Config::parse(Path::new("cfg/jobsplit.toml"), text)
}

#[test]
fn full_config() {
    let c = parse(
        r#"
seed = "s1"
machines = "m.json"
[jobs]
file = "jobs.csv"
command = "run {a}"
[params]
n = 3
x = { y = [1.5, "z"] }
[run]
timeout = "10m"
retries = 2
capture = "last-line"
"#,
    )
    .unwrap();
    assert_eq!(c.seed.as_deref(), Some("s1"));
    assert_eq!(c.machines, Some(PathBuf::from("cfg/m.json")));
    assert_eq!(c.jobs.file, Some(PathBuf::from("cfg/jobs.csv")));
    assert_eq!(c.params["x"]["y"][0], 1.5);
    assert_eq!(c.run.timeout, Some(Duration::from_secs(600)));
    assert_eq!(c.run.capture, Capture::LastLine);
    assert_eq!(c.run.out, PathBuf::from("cfg/out"));
}

#[test]
fn unknown_key_suggests_and_names_the_line() {
    let e = parse("[jobs]\nfiel = \"x\"\n").unwrap_err().to_string();
    assert!(
        e.starts_with("cfg/jobsplit.toml:2: unknown key `fiel`: did you mean `file`?"),
        "{e}"
    );
    let e = parse("sed = \"x\"\n").unwrap_err().to_string();
    assert!(e.contains("did you mean `seed`?"), "{e}");
}

#[test]
fn out_of_range_numbers_are_refused_not_clamped() {
    for (text, needle) in [
        ("[run]\nnice = -5\n", "nice: -5 is too small"),
        (
            "[run]\nnice = 100\n",
            "nice: 100 is too large: use at most 19",
        ),
        (
            "[run]\nretries = 4294967295\n",
            "retries: 4294967295 is too large",
        ),
        (
            "[run]\nthreads = 0\n",
            "threads: 0 is too small: use at least 1",
        ),
        ("[run]\ntimeout = 1e20\n", "timeout: 1e20 is too long"),
        (
            "[run]\ngrace = \"18446744073709551616s\"\n",
            "grace: `18446744073709551616s` is too long",
        ),
        (
            "[run]\nprogress_interval = 0.05\n",
            "progress_interval: a progress interval",
        ),
        (
            "[params]\nx = \"a\\u0000\"\n",
            "[params] x: holds a NUL byte",
        ),
    ] {
        let e = parse(text).unwrap_err();
        assert_eq!(e.kind(), crate::ErrorKind::Config, "{text}: {e}");
        let e = e.to_string();
        assert!(e.starts_with("cfg/jobsplit.toml:"), "{text}: {e}");
        assert!(e.contains(needle), "{text}: {e}");
    }
    let c =
        parse("[run]\nnice = 19\nretries = 1000\nthreads = 4096\ntimeout = \"365d\"\n").unwrap();
    assert_eq!(
        (c.run.nice, c.run.retries, c.run.threads),
        (19, 1000, Some(4096))
    );
    assert_eq!(c.run.timeout, Some(MAX_DURATION));
}

#[test]
fn bad_toml_names_the_line() {
    let e = parse("[jobs]\nfile = \n").unwrap_err().to_string();
    assert!(e.starts_with("cfg/jobsplit.toml:2: "), "{e}");
    let e = parse("[params]\nx = nan\n").unwrap_err().to_string();
    assert!(e.contains("[params] x"), "{e}");
    let e = parse("[run]\ntimeout = \"soon\"\n")
        .unwrap_err()
        .to_string();
    assert!(e.contains("not a duration"), "{e}");
}
