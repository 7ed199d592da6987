//! The config file, given to `run` and `plan`.

use super::{case, check_group, Case};

/// A config case: `jobsplit.toml` holds `text`.
fn config(label: &str, text: &str, needles: &[&str]) -> [Case; 2] {
    let mut needles = needles.to_vec();
    needles.push("jobsplit.toml");
    case(label)
        .file("jobsplit.toml", text)
        .says(&needles)
        .run_and_plan(&[])
}

#[test]
fn config_file() {
    let cases: Vec<[Case; 2]> = vec![
        config(
            "unknown top-level key",
            "sed = \"x\"\n",
            &["jobsplit.toml:1:", "did you mean `seed`"],
        ),
        config(
            "unknown [jobs] key",
            "[jobs]\nfiel = \"jobs.txt\"\n",
            &["jobsplit.toml:2:", "did you mean `file`"],
        ),
        config(
            "unknown [run] key",
            "[run]\ntimout = 3\n",
            &["jobsplit.toml:2:", "did you mean `timeout`"],
        ),
        config(
            "unknown table",
            "[runn]\n",
            &["jobsplit.toml:1:", "unknown key"],
        ),
        config("bad TOML", "[jobs]\nfile = \n", &["jobsplit.toml:2:"]),
        config(
            "seed a number",
            "seed = 5\n",
            &["jobsplit.toml:1:", "string"],
        ),
        config("machines a number", "machines = 5\n", &["jobsplit.toml:1:"]),
        config(
            "format xml",
            "[jobs]\nformat = \"xml\"\n",
            &["jobsplit.toml:2:", "lines"],
        ),
        config(
            "command never closed",
            "[jobs]\ncommand = \"echo {\"\n",
            &["[jobs] command", "never closed"],
        ),
        config(
            "command with NUL",
            "[jobs]\ncommand = \"echo \\u0000\"\n",
            &["[jobs] command", "NUL"],
        ),
        config(
            "params NaN",
            "[params]\nx = nan\n",
            &["[params] x", "finite"],
        ),
        config(
            "params infinity",
            "[params]\nx = inf\n",
            &["[params] x", "finite"],
        ),
        config(
            "params NUL in a string",
            "[params]\nname = \"a\\u0000b\"\n",
            &["[params] name", "NUL"],
        ),
        config(
            "timeout not a duration",
            "[run]\ntimeout = \"soon\"\n",
            &["jobsplit.toml:2:", "not a duration"],
        ),
        config(
            "timeout negative",
            "[run]\ntimeout = -1\n",
            &["jobsplit.toml:2:", "timeout"],
        ),
        config(
            "timeout 1e20",
            "[run]\ntimeout = 1e20\n",
            &["jobsplit.toml:2:", "at most"],
        ),
        config(
            "timeout 2^64",
            "[run]\ntimeout = 18446744073709551616\n",
            &["jobsplit.toml:2:"],
        ),
        config(
            "timeout 2^64 as text",
            "[run]\ntimeout = \"18446744073709551616s\"\n",
            &["jobsplit.toml:2:", "at most"],
        ),
        config(
            "timeout of centuries",
            "[run]\ntimeout = \"500years\"\n",
            &["jobsplit.toml:2:", "at most"],
        ),
        config(
            "grace 1e20",
            "[run]\ngrace = 1e20\n",
            &["jobsplit.toml:2:", "at most"],
        ),
        config(
            "grace negative",
            "[run]\ngrace = -0.5\n",
            &["jobsplit.toml:2:"],
        ),
        config(
            "progress_interval 1e20",
            "[run]\nprogress_interval = 1e20\n",
            &["jobsplit.toml:2:", "at most"],
        ),
        config(
            "progress_interval 0",
            "[run]\nprogress_interval = 0\n",
            &["jobsplit.toml:2:", "progress_interval"],
        ),
        config(
            "threads 0",
            "[run]\nthreads = 0\n",
            &["jobsplit.toml:2:", "threads", "1"],
        ),
        config(
            "threads negative",
            "[run]\nthreads = -1\n",
            &["jobsplit.toml:2:", "threads"],
        ),
        config(
            "threads a billion",
            "[run]\nthreads = 1000000000\n",
            &["jobsplit.toml:2:", "threads"],
        ),
        config(
            "worker_recycle 0",
            "[run]\nworker_recycle = 0\n",
            &["jobsplit.toml:2:", "worker_recycle", "never restart"],
        ),
        config(
            "retries negative",
            "[run]\nretries = -1\n",
            &["jobsplit.toml:2:", "retries"],
        ),
        config(
            "retries 2^32-1",
            "[run]\nretries = 4294967295\n",
            &["jobsplit.toml:2:", "retries"],
        ),
        config(
            "nice -5",
            "[run]\nnice = -5\n",
            &["jobsplit.toml:2:", "nice", "0 to 19"],
        ),
        config(
            "nice 100",
            "[run]\nnice = 100\n",
            &["jobsplit.toml:2:", "nice", "0 to 19"],
        ),
        config(
            "nice 20",
            "[run]\nnice = 20\n",
            &["jobsplit.toml:2:", "nice", "0 to 19"],
        ),
        config(
            "capture unknown",
            "[run]\ncapture = \"all\"\n",
            &["jobsplit.toml:2:", "last-line"],
        ),
        config(
            "job_logs a string",
            "[run]\njob_logs = \"yes\"\n",
            &["jobsplit.toml:2:"],
        ),
        config("out a number", "[run]\nout = 3\n", &["jobsplit.toml:2:"]),
    ];
    let mut all: Vec<Case> = cases.into_iter().flatten().collect();
    all.extend(
        case("config not UTF-8 bytes")
            .file("jobsplit.toml", b"seed = \"\xff\"\n")
            .says(&["jobsplit.toml", "UTF-8"])
            .run_and_plan(&[]),
    );
    all.extend(
        case("missing config")
            .says(&["other.toml", "no such file"])
            .run_and_plan(&["--config", "other.toml"]),
    );
    all.extend(
        case("config is a directory")
            .dir("c.toml")
            .says(&["c.toml"])
            .run_and_plan(&["--config", "c.toml"]),
    );
    check_group("config", &all);
}
