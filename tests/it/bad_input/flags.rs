//! Flags (and the environment variables that stand for them).

use super::{case, check_group, Case};

/// A `run` flag case.
fn flag(label: &str, extra: &[&str], needles: &[&str]) -> Case {
    case(label).run(extra).says(needles)
}

#[test]
fn flags() {
    let cases = vec![
        flag(
            "timeout 1e20",
            &["--timeout", "1e20"],
            &["--timeout", "at most"],
        ),
        flag(
            "timeout 2^64",
            &["--timeout", "18446744073709551616"],
            &["--timeout", "at most"],
        ),
        flag(
            "timeout 2^64 s",
            &["--timeout", "18446744073709551616s"],
            &["--timeout", "at most"],
        ),
        flag("timeout negative", &["--timeout=-1"], &["--timeout"]),
        flag("timeout NaN", &["--timeout", "NaN"], &["--timeout"]),
        flag("timeout inf", &["--timeout", "inf"], &["--timeout"]),
        flag(
            "timeout words",
            &["--timeout", "soon"],
            &["--timeout", "not a duration"],
        ),
        flag("timeout empty", &["--timeout", ""], &["--timeout"]),
        flag("grace 1e20", &["--grace", "1e20"], &["--grace", "at most"]),
        flag("grace negative", &["--grace=-3"], &["--grace"]),
        flag(
            "progress interval 1e20",
            &["--progress-interval", "1e20"],
            &["--progress-interval", "at most"],
        ),
        flag(
            "progress interval 0",
            &["--progress-interval", "0"],
            &["--progress-interval", "at least"],
        ),
        flag("nice -5", &["--nice", "-5"], &["--nice", "0 to 19"]),
        flag("nice=-20", &["--nice=-20"], &["--nice", "0 to 19"]),
        flag("nice 100", &["--nice", "100"], &["--nice", "0 to 19"]),
        flag("nice 20", &["--nice", "20"], &["--nice", "0 to 19"]),
        flag(
            "retries 2^32-1",
            &["--retries", "4294967295"],
            &["--retries", "0 to"],
        ),
        flag("retries 2^32", &["--retries", "4294967296"], &["--retries"]),
        flag("retries negative", &["--retries=-1"], &["--retries"]),
        flag(
            "worker-recycle 0",
            &["--worker-recycle", "0"],
            &["--worker-recycle"],
        ),
        flag("threads 0", &["--threads", "0"], &["--threads", "1 to"]),
        flag(
            "threads 10^8",
            &["--threads", "100000000"],
            &["--threads", "1 to"],
        ),
        flag(
            "threads 2^64",
            &["--threads", "18446744073709551616"],
            &["--threads"],
        ),
        flag(
            "shard 4/4",
            &["--shard", "4/4"],
            &["--shard 4/4", "below the count"],
        ),
        flag(
            "shard 0/0",
            &["--shard", "0/0"],
            &["--shard 0/0", "at least 1"],
        ),
        flag(
            "shard 0/10^11",
            &["--shard", "0/100000000000"],
            &["--shard", "at most"],
        ),
        flag("shard x", &["--shard", "x"], &["--shard", "I/N"]),
        flag(
            "shard count 10^11",
            &["--shard-count", "100000000000"],
            &["--shard-count", "at most"],
        ),
        flag(
            "shard count from the environment",
            &[],
            &["JOBSPLIT_SHARD_COUNT", "whole number"],
        ),
        flag(
            "capture unknown",
            &["--capture", "all"],
            &["--capture", "last-line"],
        ),
        flag(
            "format unknown",
            &["--format", "xml"],
            &["--format", "lines, csv or jsonl"],
        ),
        flag(
            "expect-digest mismatch",
            &["--expect-digest", "ffffffff0"],
            &["--expect-digest", "the hosts' inputs differ"],
        ),
        flag(
            "expect-digest not hex",
            &["--expect-digest", "zz"],
            &["--expect-digest"],
        ),
        flag(
            "expect-digest empty",
            &["--expect-digest", ""],
            &["--expect-digest"],
        ),
        flag("unknown flag", &["--bogus"], &["--bogus", "--help"]),
        flag(
            "fresh and keep-done",
            &["--fresh", "--keep-done"],
            &["--fresh", "--keep-done"],
        ),
        flag(
            "cmd with a NUL-free but unclosed brace",
            &["--cmd", "{#"],
            &["--cmd", "never closed"],
        ),
    ];
    let mut cases: Vec<Case> = cases;
    // `flag("shard count from the environment")` needs its variable and no --machine.
    let env_case = cases
        .iter_mut()
        .find(|c| c.label.contains("environment"))
        .unwrap();
    *env_case = case("shard count from the environment")
        .args(&["run", "--yes"])
        .env("JOBSPLIT_SHARD_COUNT", "lots")
        .env("JOB_COMPLETION_INDEX", "0")
        .says(&["JOBSPLIT_SHARD_COUNT", "whole number"]);
    for (label, name, needles) in [
        (
            "unknown machine",
            "c",
            &["unknown machine `c`", "machines: a, b"][..],
        ),
        ("misspelt machine", "aa", &["did you mean `a`"]),
        (
            "machine an escape sequence",
            "\x1b[2J",
            &["unknown machine", "\\u{1b}"],
        ),
    ] {
        cases.push(
            case(label)
                .args(&["run", "--yes", "--machine", name])
                .says(needles),
        );
    }
    cases.push(
        case("plan shard count 10^11")
            .plan(&["--shard-count", "100000000000"])
            .says(&["--shard-count", "at most"]),
    );
    cases.push(
        case("plan shard count 0")
            .plan(&["--shard-count", "0"])
            .says(&["--shard-count", "at least 1"]),
    );
    cases.push(
        case("plan unknown flag")
            .plan(&["--threads", "2"])
            .says(&["--threads"]),
    );
    check_group("flags", &cases);
}
